"""Pure numerics: one module per algorithmic step. Never imports Qt, h5py or cnmf_gui.io."""

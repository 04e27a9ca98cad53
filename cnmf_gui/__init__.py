"""cnmf_gui: motion correction, CNMF demixing, deconvolution and curation of calcium imaging.

The package is layered (see DESIGN.md): ``engine`` holds the numerics and never imports Qt or
file libraries; ``io`` reads movies and writes session files; ``session`` holds the state of a
running app; ``gui`` shows it.
"""

__version__ = "0.1.0"

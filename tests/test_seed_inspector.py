"""The PNR x correlation inspector: moving the sliders changes the kept seeds live, and the
thresholds chosen go to the session's parameters."""

from __future__ import annotations

import numpy as np

from cnmf_gui.params import PipelineParams
from cnmf_gui.synthetic.one_photon import make_one_photon_movie


def test_sliders_change_the_kept_seeds(qtbot, tmp_path):
    from cnmf_gui.gui.seed_inspector import SeedInspector
    from cnmf_gui.session import Session
    from cnmf_gui.session.onephoton import SeedInspectorModel

    synth = make_one_photon_movie(n_frames=300, shape=(64, 64), n_neurons=6, motion_px=0.0, seed=5)
    path = tmp_path / "m.npy"
    np.save(path, synth.movie)
    session = Session(PipelineParams().replace("init", neuron_radius=5.0, min_corr=0.8, min_pnr=8.0))
    session.open_movie(str(path), frame_rate=20.0)
    dialog = SeedInspector(SeedInspectorModel(session))
    qtbot.addWidget(dialog)
    before = len(dialog.kept)
    assert before >= 4
    d = np.hypot(*(dialog.kept[:, None, :] - synth.centers[None]).transpose(2, 0, 1))
    assert (d.min(axis=0) < 5).mean() >= 0.8                       # the cells have seeds
    dialog.pnr_slider.setValue(dialog.pnr_slider.maximum())       # nothing passes the top PNR
    qtbot.waitUntil(lambda: len(dialog.kept) == 0, timeout=2000)
    assert "0 seeds" in dialog.label.text()
    dialog.pnr_slider.setValue(int(8.0 * 10))
    qtbot.waitUntil(lambda: len(dialog.kept) == before, timeout=2000)
    corr = dialog.model.correlation[dialog.kept[:, 0], dialog.kept[:, 1]]
    step = int(np.median(corr) * 1000) + 1                          # above half of the seeds' values
    dialog.corr_slider.setValue(step)
    qtbot.waitUntil(lambda: 0 < len(dialog.kept) < before, timeout=2000)
    assert np.all(dialog.model.correlation[dialog.kept[:, 0], dialog.kept[:, 1]] >= step / 1000)
    dialog.apply()
    assert session.params.init.min_corr == step / 1000 and session.params.init.min_pnr == 8.0

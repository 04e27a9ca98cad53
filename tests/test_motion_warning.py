"""The user is told when registration could not be trusted (CLI and motion QC panel)."""

import numpy as np
import pytest

from cnmf_gui.cli import main
from cnmf_gui.engine.motion.metrics import reliability_warning
from tests.conftest import data_file


def test_reliability_warning_thresholds():
    assert reliability_warning({"template_trusted_fraction": 1.0, "unreliable_fraction": 0.0}) is None
    assert "not possible" in reliability_warning({"template_trusted_fraction": 0.25})
    assert "35%" in reliability_warning({"template_trusted_fraction": 1.0, "unreliable_fraction": 0.35})
    assert reliability_warning({}) is None
    assert reliability_warning({"template_trusted_fraction": 1.0, "predicted_precision": [0.02, 0.02]}) is None
    text = reliability_warning({"predicted_precision": [0.25, 0.25], "temporal_bin": 13})
    assert "uncertain" in text and "0.25 px" in text and "13 frames" in text


def test_a_static_movie_without_fine_texture_is_told_uncertain(tmp_path, capsys):
    """Issue 12: such a movie once got shifts of 15 px without a word."""
    rng = np.random.default_rng(0)
    r, c = np.mgrid[:64, :64]
    glow = 200 + 30 * np.exp(-((r - 30) ** 2 + (c - 34) ** 2) / (2 * 25.0 ** 2))
    np.save(tmp_path / "haze.npy", rng.poisson(np.broadcast_to(glow, (600, 64, 64))).astype(np.uint16))
    assert main(["motion", str(tmp_path / "haze.npy"), "--out", str(tmp_path / "c.h5")]) == 0
    assert "warning: motion estimates are uncertain" in capsys.readouterr().err


@pytest.mark.realdata
def test_motion_verb_warns_on_the_noisy_allen_snippet(tmp_path, capsys):
    src = data_file("small/allen/792757260_test_data.h5")
    out = tmp_path / "corrected.h5"
    assert main(["motion", f"{src}:/input_frames", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: registration not possible" in err
    assert out.exists()


def test_motion_qc_panel_shows_the_warning(qtbot):
    from cnmf_gui.app import configure_pyqtgraph
    from cnmf_gui.gui.motion_qc import MotionQC
    from cnmf_gui.results import MotionResult
    from cnmf_gui.session import Session
    from cnmf_gui.synthetic import make_session

    configure_pyqtgraph()
    data, synth = make_session(n_frames=40, shape=(32, 32), n_neurons=2)
    T = 40
    data.motion = MotionResult(
        shifts=np.zeros((T, 2), np.float32), template=np.zeros((32, 32), np.float32),
        metrics={"corr_before": np.zeros(T), "corr_after": np.zeros(T), "bad_frames": np.ones(T, bool),
                 "template_trusted_fraction": 0.0, "unreliable_fraction": 1.0})
    session = Session()
    panel = MotionQC(session)
    qtbot.addWidget(panel)
    session.set_data(data, movie=synth.movie)
    assert panel.summary.text().startswith("WARNING: registration not possible")


def test_motion_qc_panel_marks_and_counts_flagged_frames(qtbot):
    import pyqtgraph as pg

    from cnmf_gui.app import configure_pyqtgraph
    from cnmf_gui.gui.motion_qc import MotionQC
    from cnmf_gui.results import MotionResult
    from cnmf_gui.session import Session
    from cnmf_gui.synthetic import make_session

    configure_pyqtgraph()
    data, synth = make_session(n_frames=40, shape=(32, 32), n_neurons=2)
    T = 40
    flagged = np.zeros(T, bool)
    flagged[[5, 17, 30]] = True
    data.motion = MotionResult(
        shifts=np.zeros((T, 2), np.float32), template=np.zeros((32, 32), np.float32),
        metrics={"corr_before": np.zeros(T), "corr_after": np.zeros(T), "bad_frames": flagged,
                 "flagged_frames": flagged, "n_flagged": 3.0})
    session = Session()
    panel = MotionQC(session)
    qtbot.addWidget(panel)
    session.set_data(data, movie=synth.movie)
    assert "3 flagged frames" in panel.summary.text()
    marks = [item for plot, item in panel._items
             if plot is panel.shift_plot and isinstance(item, pg.ScatterPlotItem)]
    assert len(marks) == 2
    assert sorted(marks[0].data["x"].tolist()) == [5 / 30, 17 / 30, 1.0]

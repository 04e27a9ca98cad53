"""File > Import results and File > Export NWB in the window, used as a user would (menu, dialogs)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import tifffile

from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401

DATA = Path(__file__).parent / "data" / "suite2p_plane0"


def _movie(tmp_path):
    from cnmf_gui.synthetic.legacy import make_movie

    kwargs = json.loads((DATA / "movie.json").read_text())["kwargs"]
    kwargs["shape"] = tuple(kwargs["shape"])
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, make_movie(**kwargs).movie)
    return path


def test_import_suite2p_then_export_nwb_from_the_menu(qtbot, window, answers, monkeypatch, tmp_path):
    from cnmf_gui.gui import dialogs, interop_ops

    w = window
    movie = _movie(tmp_path)
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: str(DATA))
    monkeypatch.setattr(dialogs, "choose_file", lambda *a, **k: str(movie))
    answers.push(interop_ops.SUITE2P)
    with qtbot.waitSignal(w.worker.finished, timeout=60000):
        w.acts["import_results"].trigger()
    s = w.session
    assert s.n_components == 11 and int((s.components.status == 1).sum()) == 9
    assert json.loads(s.data.curation_log[-1])["tool"] == "suite2p"
    assert w.table.table.model().rowCount() == 11  # the component table shows them
    assert s.dirty and s.movie is not None
    # Curate one, then File > Export NWB (no metadata file).
    s.reject([int(s.ids[0])])
    out = tmp_path / "out.nwb"
    monkeypatch.setattr(dialogs, "choose_save", lambda *a, **k: str(out))
    answers.push("Export without")
    assert w.acts["export_nwb"].isEnabled()
    with qtbot.waitSignal(w.worker.finished, timeout=60000):
        w.acts["export_nwb"].trigger()
    import pynwb

    with pynwb.NWBHDF5IO(str(out), "r") as io:
        ps = io.read().processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]
        assert len(ps) == 8  # the 9 accepted minus the one rejected here
        np.testing.assert_array_equal(ps["component_id"][:], s.ids[s.components.status == 1])


def test_import_of_a_wrong_movie_is_one_dialog(qtbot, window, answers, monkeypatch, tmp_path):
    from cnmf_gui.gui import dialogs, interop_ops

    w = window
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, np.zeros((300, 32, 32), np.uint16))
    shown = []
    monkeypatch.setattr(w, "show_error", lambda title, message, details="": shown.append(message))
    monkeypatch.setattr(dialogs, "choose_folder", lambda *a, **k: str(DATA))
    monkeypatch.setattr(dialogs, "choose_file", lambda *a, **k: str(other))
    before = w.session.components
    answers.push(interop_ops.SUITE2P)
    w.acts["import_results"].trigger()
    qtbot.waitUntil(lambda: not w.worker.busy and bool(shown), timeout=30000)
    assert "frame size 64 x 64" in shown[0] and "\n" not in shown[0]
    assert w.session.components is before

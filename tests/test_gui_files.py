"""Files from the window: save, autosave recovery on the next open, bad files, the screenshot verb."""

from __future__ import annotations

import pytest
from PyQt6.QtCore import Qt

from cnmf_gui.session import find_recovery, recovery_path_for
from tests.test_gui_support import answers, no_dangling_threads, synthetic, window  # noqa: F401


def test_ctrl_s_saves_and_clears_unsaved_changes(qtbot, window, tmp_path):
    w = window
    w.session.path = tmp_path / "s.h5"
    w.session.select([2])
    qtbot.keyClick(w.table.table, Qt.Key.Key_R)
    assert w.session.dirty
    with qtbot.waitSignal(w.worker.finished, timeout=20000):
        qtbot.keyClick(w.table.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert (tmp_path / "s.h5").exists() and not w.session.dirty
    assert not w.windowTitle().startswith("*") and "*" not in w.windowTitle()


def test_autosave_is_offered_when_the_session_is_opened_again(qtbot, window, answers, tmp_path):
    w = window
    path = tmp_path / "s.h5"
    w.session.save(path)
    w.session.select([1])
    qtbot.keyClick(w.table.table, Qt.Key.Key_R)
    w.autosave_now()          # what the 2 s timer does after an edit
    assert w.autosaver.flush()
    assert find_recovery(path) == recovery_path_for(path)
    # The program "crashes" (nothing asks about the unsaved edit, the recovery file stays) and
    # the session is opened again; the user restores.
    w.session.set_dirty(False)
    answers.push("Restore")
    assert w.open_path(path)
    assert answers.asked[-1] == "Recover unsaved work?"
    assert w.session.status_of(1) == -1 and w.session.dirty


def test_a_bad_file_shows_an_error_and_keeps_the_session(qtbot, window, tmp_path):
    w = window
    bad = tmp_path / "broken.tif"
    bad.write_bytes(b"not a tiff at all")
    n = w.session.n_components
    assert not w.open_path(bad)
    assert w.error_dialog is not None and "broken.tif" in w.error_dialog.text()
    w.error_dialog.close()
    assert w.session.n_components == n


def test_screenshot_verb_writes_a_png_and_refuses_bad_input(qtbot, tmp_path, capsys):
    from PyQt6.QtGui import QImage

    from cnmf_gui.cli import main
    from cnmf_gui.io import save_session
    data, _ = synthetic(tmp_path)
    session_file = tmp_path / "s.h5"
    save_session(data, session_file)
    out = tmp_path / "shot.png"
    assert main(["screenshot", str(session_file), "--out", str(out), "--view", "correlation",
                 "--size", "900", "600"]) == 0
    image = QImage(str(out))
    assert not image.isNull() and image.width() >= 900
    assert main(["screenshot", str(tmp_path / "missing.h5"), "--out", str(out)]) == 2
    assert "missing.h5" in capsys.readouterr().err
    assert main(["screenshot", str(session_file), "--out", str(out), "--view", "corrected"]) == 2
    assert "not available" in capsys.readouterr().err

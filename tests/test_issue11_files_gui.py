"""Issue 11, "Why" in the window: nothing curated overwritten silently, the session beside a
movie offered (with its frame rate and parameters), an unknown frame rate asked once, the "*"
cleared by undo back to the saved state, views' subscriptions released, partial results shown.
Each failed on the main before the session package."""

from __future__ import annotations

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from cnmf_gui.io import load_session
from cnmf_gui.params import PipelineParams
from cnmf_gui.session import Session, default_session_path
from tests.test_gui_support import answers, no_dangling_threads, synthetic, window  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def movie_with_curated_session(tmp_path):
    """A movie without a frame rate (.npy) and, beside it, a curated session at 12.5 Hz."""
    data, synth = synthetic(tmp_path)
    movie = tmp_path / "movie.npy"
    np.save(movie, synth.movie)
    data.movie_path = str(movie)
    data.frame_rate = 12.5
    data.params = PipelineParams(frame_rate=12.5).replace("init", neuron_radius=5.0)
    s = Session()
    s.set_data(data, movie=synth.movie)
    s.reject([1])
    beside = default_session_path(movie)
    s.save(beside)
    return movie, beside


def test_rerun_over_a_curated_session_asks_before_saving_and_keeps_ids_retired(
        qtbot, window, answers, monkeypatch, movie_with_curated_session):
    from cnmf_gui.gui import dialogs

    movie, beside = movie_with_curated_session
    before = beside.read_bytes()
    w = window
    rates = []
    monkeypatch.setattr(dialogs, "ask_number", lambda *a, **k: rates.append(a[1]) or 30.0, raising=False)
    monkeypatch.setattr(dialogs, "choose_save", lambda parent, title, default, pattern: default)
    assert w.open_path(movie)                      # "Open the movie only" (the cautious answer)
    assert "Open the saved session?" in answers.asked and w.session.path is None
    assert any("frame rate unknown" in line for line in w.log_view.lines())
    with qtbot.waitSignal(w.worker.finished, timeout=60000):
        qtbot.keyClick(w.table.table, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert rates == ["Frame rate unknown"] and w.session.frame_rate == 30.0
    assert w.ensure_frame_rate() and len(rates) == 1          # asked once
    assert w.session.n_components > 0 and int(w.session.ids.min()) > 5   # 0..5 stay retired
    qtbot.keyClick(w.table.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert answers.asked[-1] == "Replace curated session?"   # answered Cancel
    assert beside.read_bytes() == before and w.session.dirty
    # Asked again, the user replaces it: the new file says which ids were used before.
    answers.push("Replace")
    with qtbot.waitSignal(w.worker.finished, timeout=20000):
        qtbot.keyClick(w.table.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = load_session(beside)
    assert np.array_equal(saved.components.ids, w.session.ids) and not w.session.dirty


def test_opening_a_movie_offers_its_session_with_frame_rate_and_parameters(
        qtbot, window, answers, movie_with_curated_session):
    movie, beside = movie_with_curated_session
    w = window
    answers.push("Open session")
    assert w.open_path(movie)
    s = w.session
    assert s.path == beside and s.frame_rate == 12.5 and s.params.init.neuron_radius == 5.0
    assert s.status_of(1) == -1 and s.is_user_decided(1)


def test_undo_back_to_the_saved_state_clears_the_unsaved_mark(qtbot, window, tmp_path):
    w = window
    w.session.path = tmp_path / "s.h5"
    w.session.select([2])
    qtbot.keyClick(w.table.table, Qt.Key.Key_R)
    with qtbot.waitSignal(w.worker.finished, timeout=20000):
        qtbot.keyClick(w.table.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert "*" not in w.windowTitle()
    w.session.select([3])
    qtbot.keyClick(w.table.table, Qt.Key.Key_R)
    assert "*" in w.windowTitle()
    qtbot.keyClick(w.table.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "*" not in w.windowTitle() and not w.session.dirty
    qtbot.keyClick(w.table.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert "*" in w.windowTitle()                 # before the save: unsaved again
    qtbot.keyClick(w.table.table, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert "*" not in w.windowTitle()


def test_closing_the_window_releases_every_subscription(qtbot, window):
    w = window
    s = w.session
    assert s.events.count() > 10
    w._closing_ok = True
    w.shutdown()
    assert s.events.count() == 0
    s.select([1])                                  # no view is called any more
    s.reject()


def test_a_jobs_partial_result_reaches_the_session_and_the_view_while_it_runs(qtbot, window):
    from cnmf_gui.progress import hand_over

    w = window
    A = w.session.components.A
    seen = []
    w.session.subscribe("partial", seen.append)

    def job(progress):
        hand_over(progress, {"footprints": A[:, :2]})
        return "done"
    with qtbot.waitSignal(w.worker.finished, timeout=20000):
        assert w.start_job("Finding components", job)
    assert len(seen) == 1 and seen[0]["footprints"].shape[1] == 2
    assert w.session.partial is seen[0]
    drawn = sum(len(m) for m in w.movie_view.left_contours.members.values())
    assert drawn == 2


def test_autosave_is_due_soon_after_a_pause_and_never_later_than_the_bound():
    from cnmf_gui.session import AutosaveSchedule

    plan = AutosaveSchedule(delay_s=2.0, max_delay_s=10.0)
    assert plan.changed(100.0) == pytest.approx(2.0)
    # Edits every second keep pushing "2 s after the last" until the 10 s bound wins.
    waits = [plan.changed(100.0 + t) for t in range(1, 10)]
    assert waits[:7] == pytest.approx([2.0] * 7) and waits[8] == pytest.approx(1.0)
    plan.done()
    assert plan.changed(500.0) == pytest.approx(2.0)


def test_a_parameter_change_alone_is_autosaved(qtbot, window, tmp_path):
    from cnmf_gui.session import find_recovery

    w = window
    w.session.path = tmp_path / "s.h5"
    w.session.save(w.session.path)
    w.session.set_param("init", "neuron_radius", 6.0)
    qtbot.waitUntil(lambda: find_recovery(w.session.path) is not None, timeout=8000)
    assert w.autosaver.flush()
    assert load_session(find_recovery(w.session.path)).params.init.neuron_radius == 6.0


def test_the_first_save_of_a_movies_session_asks_where_and_autosave_stays_out_of_its_folder(
        qtbot, window, monkeypatch, tmp_path):
    from cnmf_gui.gui import dialogs

    w = window
    w.session.data.movie_path = str(tmp_path / "readonly" / "movie.npy")
    assert w.session.path is None
    w.session.reject([1])
    w.autosave_now()
    assert w.autosaver.flush()
    rec = w.session.recovery_path()
    assert rec.exists() and (tmp_path / "home") in rec.parents
    assert not (tmp_path / "readonly").exists()               # nothing written beside the raw data
    offered = []
    chosen = tmp_path / "mine.h5"
    monkeypatch.setattr(dialogs, "choose_save", lambda parent, title, default, pattern:
                        offered.append(default) or str(chosen))
    with qtbot.waitSignal(w.worker.finished, timeout=20000):
        qtbot.keyClick(w.table.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert offered == [str(tmp_path / "readonly" / "movie.cnmf.h5")]
    assert chosen.exists() and w.session.path == chosen
    assert not rec.exists()                                    # saved: the autosave is gone


def test_a_recovery_file_is_offered_even_when_the_session_was_touched_and_ignoring_keeps_it(
        qtbot, window, answers, tmp_path):
    import os

    from cnmf_gui.session import find_recovery, recovery_path_for

    w = window
    path = tmp_path / "s.h5"
    w.session.save(path)
    w.session.reject([1])
    w.autosave_now()
    assert w.autosaver.flush()
    w.session.set_dirty(False)                           # the program "crashes"
    later = path.stat().st_mtime + 100
    os.utime(path, (later, later))                       # a backup tool touches the session
    assert find_recovery(path) == recovery_path_for(path)
    assert w.open_path(path)                             # "Ignore" (the cautious answer)
    assert answers.asked[-1] == "Recover unsaved work?"
    w.session.accept([2])
    w.autosave_now()                                     # must not overwrite the crash's work
    assert w.autosaver.flush()
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("s.h5.recovery-") and p.suffix == ".h5"]
    assert len(kept) == 1 and load_session(kept[0]).components.status[1] == -1
    # its journal went with it, under the same stamp
    assert (kept[0].parent / (kept[0].name + ".journal")).is_file()
    assert load_session(recovery_path_for(path)).components.status[2] == 1


def test_a_failed_autosave_is_told_in_the_window(qtbot, window, tmp_path):
    w = window
    w.session.path = tmp_path / "s.h5"

    def full_disk(data, path):
        raise OSError(28, "No space left on device")
    w.autosaver._writer = full_disk
    w.session.reject([1])
    w.autosave_now()
    assert w.autosaver.flush()
    qtbot.waitUntil(lambda: any("autosave" in line and "No space" in line for line in w.log_view.lines()),
                    timeout=5000)


def test_a_second_demo_offers_the_saved_demo_session_instead_of_starting_over(
        qtbot, window, answers, monkeypatch, movie_with_curated_session):
    from cnmf_gui.session import jobs

    movie, beside = movie_with_curated_session
    w = window
    monkeypatch.setattr(jobs, "make_demo", lambda *a, **k: (lambda progress: movie))
    answers.push("Open session")
    assert w.run_demo()
    qtbot.waitUntil(lambda: w.session.path == beside, timeout=10000)
    assert "Open the saved session?" in answers.asked and w.session.status_of(1) == -1
    assert not w.worker.busy and not w.session.dirty        # its curation is not run over


def test_menus_buttons_and_shortcuts_follow_one_enable_rule(qtbot, window):
    from cnmf_gui.session.actions import ACTIONS

    w = window
    s = w.session
    for selection in ((), (1,), (1, 2)):
        s.select(selection)
        for row in ACTIONS:
            rule = bool(row.enabled(s))
            assert w.acts[row.id].isEnabled() == rule, (row.id, selection)
            if row.id in w.curation.buttons:
                assert w.curation.buttons[row.id].isEnabled() == rule, (row.id, selection)
            if row.shortcut:
                assert w.acts[row.id].shortcut().toString() == row.shortcut


def test_rerunning_the_pipeline_over_saved_curation_asks_first(qtbot, window, answers, tmp_path):
    w = window
    w.session.reject([1])
    w.session.save(tmp_path / "s.h5")
    assert not w.session.dirty
    assert not w.run_pipeline()                     # asked; the cautious answer keeps the curation
    assert answers.asked[-1] == "Replace results?" and not w.worker.busy

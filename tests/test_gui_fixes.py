"""Regression tests for defects found in review, driven through the window as a user would."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.io import load_session, save_session
from cnmf_gui.session import recovery_path_for
from tests.test_gui_support import answers, no_dangling_threads, synthetic, window  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def status_on_disk(path, component_id):
    comps = load_session(path).components
    return int(comps.status[list(comps.ids).index(component_id)])


def test_edits_made_while_a_save_runs_stay_unsaved(qtbot, window, tmp_path):
    w = window
    path = tmp_path / "s.h5"
    w.session.path = path
    w.session.reject([2])
    assert w.save()                      # the worker writes the snapshot taken now
    w.session.reject([4])                # the user keeps curating before the save ends
    assert w.worker.wait_idle(20)
    assert status_on_disk(path, 2) == -1 and status_on_disk(path, 4) == 0
    assert w.session.dirty and w.windowTitle().endswith("* - cnmf-gui")
    # The later edit is autosaved and its recovery file survives the finished save.
    w.autosave_now()
    assert w.autosaver.flush()
    assert recovery_path_for(path).exists()
    # A save with nothing changed meanwhile makes the session clean and drops the recovery file.
    assert w.save()
    assert w.worker.wait_idle(20)
    assert not w.session.dirty and status_on_disk(path, 4) == -1
    assert not recovery_path_for(path).exists()


def second_session_file(tmp_path):
    folder = tmp_path / "b"
    folder.mkdir()
    data_b, _ = synthetic(folder, seed=11)
    save_session(data_b, folder / "b.h5")
    return folder / "b.h5"


def test_opening_another_file_asks_to_cancel_the_running_job(qtbot, window, tmp_path, answers):
    w = window
    path_b = second_session_file(tmp_path)
    before = load_session(path_b).components
    assert w.rerun_deconvolution(ids=None, epsilon=0.5)       # a job on the open session
    answers.push("Keep working")
    assert not w.open_path(path_b)                             # refused: the job goes on
    assert answers.asked == ["A job is running"] and w.session.path is None
    # The job may end (and make the session dirty) before the cancel lands: then discard it too.
    answers.push("Cancel job and open", "Discard")
    assert w.open_path(path_b)
    assert not w.worker.busy and w.session.path == path_b
    assert w.worker.wait_idle(20)
    np.testing.assert_array_equal(w.session.components.C, before.C)
    assert dict(w.session.curation.state.overrides) == {} and w.session.data.curation_log == []


def test_a_result_that_finishes_after_another_load_is_dropped(qtbot, window, tmp_path):
    w = window
    path_b = second_session_file(tmp_path)
    before = load_session(path_b).components
    messages = []
    w.session.subscribe("message", messages.append)
    assert w.rerun_deconvolution(ids=None, epsilon=0.5)
    w.session.open(path_b)                                     # replaced without the window asking
    assert w.worker.wait_idle(20)
    np.testing.assert_array_equal(w.session.components.S, before.S)
    assert w.session.data.curation_log == [] and not w.session.dirty
    assert any("result dropped" in m for m in messages)


def rerun_and_wait(qtbot, w, button):
    from PyQt6.QtCore import Qt
    with qtbot.waitSignal(w.worker.finished, timeout=30000):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_override_survives_rerun_all_and_does_not_follow_the_selection(qtbot, window):
    w = window
    s, panel = w.session, w.deconv
    s.select([1])
    panel.override_value.setValue(0.4)                 # ticks the override box
    assert panel.override.isChecked()
    rerun_and_wait(qtbot, w, panel.rerun_selected)
    assert s.epsilon_override(1) == 0.4
    for other in ([2], [1, 2], []):
        s.select(other)
        assert not panel.override.isChecked()
        assert panel.override_value.value() == pytest.approx(s.params.deconvolution.epsilon)
    panel.epsilon.setValue(0.2)
    rerun_and_wait(qtbot, w, panel.rerun_all)
    assert s.epsilon_override(1) == 0.4
    assert np.allclose(s.components.epsilon[s.indices_of([0, 1])], [0.2, 0.4])
    s.select([1, 2])
    rerun_and_wait(qtbot, w, panel.rerun_selected)     # box unticked, no new value
    assert s.epsilon_override(1) == 0.4
    s.select([1])
    assert panel.override.isChecked() and panel.override_value.value() == pytest.approx(0.4)
    panel.override.setChecked(False)                   # the user turns the override off
    rerun_and_wait(qtbot, w, panel.rerun_selected)
    assert s.epsilon_override(1) is None
    assert s.components.epsilon[s.index_of(1)] == pytest.approx(0.2)


def test_autosave_of_a_session_started_from_a_movie_is_offered_on_reopen(qtbot, window, tmp_path, answers):
    w = window
    s = w.session
    movie = tmp_path / "rec.npy"
    np.save(movie, w.synth.movie)
    data = s.snapshot()
    assert w.open_path(movie)
    data.movie_path = str(movie)
    s.apply_pipeline_result(data)                 # as after "Run pipeline"
    s.reject([s.ids[1]])
    w.autosave_now()                              # what the autosave timer does
    assert w.autosaver.flush() and s.recovery_path().exists()
    rejected = int(s.ids[1])
    s.set_dirty(False)                            # the program "crashes": nothing asks
    answers.push("Restore")
    assert w.open_path(movie)
    assert "Recover unsaved work?" in answers.asked
    assert s.status_of(rejected) == -1 and s.dirty
    assert s.save_target() == tmp_path / "rec.cnmf.h5" and s.movie is not None


def test_screenshot_never_asks_even_with_a_recovery_file(qtbot, tmp_path, monkeypatch):
    from cnmf_gui.gui import dialogs
    from cnmf_gui.gui.screenshot import render

    def no_questions(*args, **kwargs):
        raise AssertionError(f"screenshot asked a question: {args[1:3]}")
    monkeypatch.setattr(dialogs, "ask", no_questions)
    data, _ = synthetic(tmp_path)
    path = tmp_path / "shot.h5"
    save_session(data, path)
    save_session(data, recovery_path_for(path))     # an autosave newer than the session: a crash
    out = tmp_path / "shot.png"
    render(path, out, size=(800, 600))
    assert out.stat().st_size > 0
    assert recovery_path_for(path).exists()          # the cautious answer keeps it for the user


def test_demo_and_open_ask_before_discarding_unsaved_curation(qtbot, window, tmp_path, answers, monkeypatch):
    from cnmf_gui.session import jobs
    w = window
    movie = tmp_path / "demo.npy"
    np.save(movie, np.zeros((20, 16, 16), np.float32))
    monkeypatch.setattr(jobs, "make_demo", lambda *a, **k: (lambda progress: movie))
    monkeypatch.setattr(w, "run_pipeline", lambda: True)
    w.session.reject([1])
    assert not w.run_demo()                         # unscripted: "Cancel"
    assert not w.open_path(movie)
    assert answers.asked == ["Unsaved changes"] * 2
    assert not w.worker.busy and w.session.status_of(1) == -1 and w.session.dirty
    answers.push("Discard")
    assert w.run_demo()
    assert w.worker.wait_idle(20)
    assert answers.asked == ["Unsaved changes"] * 3  # asked once, not again when the demo opens
    assert w.session.data.movie_path == str(movie.resolve()) and not w.session.dirty


@pytest.mark.parametrize("argv", [["demo"], ["open"]])
def test_window_verbs_without_a_display_fail_with_one_line_instead_of_hanging(argv):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    code = f"from cnmf_gui.cli import main; raise SystemExit(main({argv!r}))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "no display" in done.stderr and "DISPLAY" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_frame_rate_from_the_params_panel_reaches_time_axes_and_exports(qtbot, window):
    w = window
    s = w.session
    s.select([0])
    field = w.params_panel.frame_rate
    field.setValue(10.0)
    field.editingFinished.emit()                       # what leaving the field does
    assert s.data.frame_rate == 10.0 and s.frame_rate == 10.0 and s.dirty
    x, _ = w.traces.curve_data(0, "C")
    assert x[-1] == pytest.approx((s.n_frames - 1) / 10.0)
    assert s.snapshot().frame_rate == 10.0             # CSV time_s = frame / frame_rate


def test_worker_shutdown_waits_for_a_job_slower_than_its_timeout(qtbot):
    import time

    from cnmf_gui.gui.worker import Worker
    worker = Worker()
    ended = []

    def slow(progress):                       # no checkpoint: cancelling cannot stop it early
        time.sleep(0.6)
        ended.append(True)
    assert worker.start("slow", slow)
    assert worker.shutdown(timeout_s=0.1)
    assert ended == [True] and not worker.thread.isRunning()

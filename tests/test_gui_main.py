"""The main window driven as a user would: clicks on the image, keys, buttons, menus (offscreen)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from tests.test_gui_support import (answers, no_dangling_threads, requires, strongest_pixel,  # noqa: F401
                                    window)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def click_component(qtbot, w, component_id, modifier=Qt.KeyboardModifier.NoModifier):
    row, col = strongest_pixel(w.synth, w.session, component_id)
    pos = w.movie_view.widget_pos(row, col)
    qtbot.mouseClick(w.movie_view.graphics.viewport(), Qt.MouseButton.LeftButton, modifier, pos)


def test_click_on_a_footprint_selects_it_in_table_and_traces(qtbot, window):
    w = window
    click_component(qtbot, w, 4)
    assert w.session.selection == (4,)
    assert w.table.selected_ids() == [4]
    x, y = w.traces.curve_data(4, "C")
    assert len(x) == w.session.n_frames
    # Ctrl+click adds a second component; the traces stack both.
    click_component(qtbot, w, 1, Qt.KeyboardModifier.ControlModifier)
    assert set(w.session.selection) == {1, 4}
    assert w.table.selected_ids() == [1, 4]
    assert w.traces.curve_data(1, "F") is not None and w.traces.curve_data(4, "F") is not None
    # A click on empty background (a pixel no footprint covers) clears the selection.
    H, W = w.session.image_shape
    empty = next((r, c) for r in range(H) for c in range(W) if w.session.component_at(r + 0.5, c + 0.5) is None)
    qtbot.mouseClick(w.movie_view.graphics.viewport(), Qt.MouseButton.LeftButton,
                     pos=w.movie_view.widget_pos(empty[0] + 0.5, empty[1] + 0.5))
    assert w.session.selection == ()


def test_table_selection_drives_the_session_and_arrow_keys_move(qtbot, window):
    w = window
    w.table.table.selectRow(2)
    assert w.session.selection == (int(w.session.ids[2]),)
    w.table.table.setFocus()
    qtbot.keyClick(w.table.table, Qt.Key.Key_Down)
    assert w.session.selection == (int(w.session.ids[3]),)


def test_reject_key_recolours_contour_and_ctrl_z_restores(qtbot, window):
    w = window
    click_component(qtbot, w, 2)
    assert w.movie_view.contour_status(2) == 0
    qtbot.keyClick(w.table.table, Qt.Key.Key_R)
    assert w.session.status_of(2) == -1
    assert w.movie_view.contour_status(2) == -1
    assert w.table.text(2, "status").startswith("rejected")
    assert w.session.dirty and w.windowTitle().endswith("* - cnmf-gui")
    qtbot.keyClick(w.table.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert w.session.status_of(2) == 0
    assert w.movie_view.contour_status(2) == 0
    qtbot.keyClick(w.table.table, Qt.Key.Key_Z,
                   Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert w.session.status_of(2) == -1
    qtbot.keyClick(w.table.table, Qt.Key.Key_A)
    assert w.session.status_of(2) == 1 and w.movie_view.contour_status(2) == 1


def test_thresholds_never_overwrite_user_decisions(qtbot, window):
    w = window
    w.session.select([0])
    qtbot.keyClick(w.table.table, Qt.Key.Key_R)
    w.curation.spins["min_snr"].setValue(0.0)
    w.curation.spins["min_r_value"].setValue(-1.0)
    qtbot.mouseClick(w.curation.buttons["thresholds"], Qt.MouseButton.LeftButton)
    status = w.session.components.status
    assert status[w.session.index_of(0)] == -1
    assert np.all(np.delete(status, w.session.index_of(0)) == 1)


@requires("cnmf_gui.engine", "deconvolve")
def test_merge_two_components_makes_one_with_a_new_id(qtbot, window):
    w = window
    before = set(int(i) for i in w.session.ids)
    click_component(qtbot, w, 1)
    click_component(qtbot, w, 3, Qt.KeyboardModifier.ControlModifier)
    qtbot.mouseClick(w.curation.buttons["merge"], Qt.MouseButton.LeftButton)
    after = set(int(i) for i in w.session.ids)
    new = after - before
    assert after == (before - {1, 3}) | new and len(new) == 1
    (new_id,) = new
    assert new_id == max(before) + 1
    assert w.session.selection == (new_id,)
    assert w.movie_view.contour_status(new_id) is not None
    assert w.table.row_of(new_id) >= 0
    qtbot.keyClick(w.table.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert set(int(i) for i in w.session.ids) == before


@requires("cnmf_gui.engine", "deconvolve_many")
def test_rerun_with_larger_epsilon_changes_spikes_not_statuses(qtbot, window):
    w = window
    s = w.session
    s.select([0, 1])
    s.accept()
    s.select([2])
    s.reject()
    status = s.components.status.copy()
    S_before = s.components.S.copy()
    w.deconv.epsilon.setValue(0.5)
    with qtbot.waitSignal(w.worker.finished, timeout=30000):
        qtbot.mouseClick(w.deconv.rerun_all, Qt.MouseButton.LeftButton)
    assert np.array_equal(s.components.status, status)
    assert np.allclose(s.components.epsilon, 0.5)
    assert not np.allclose(s.components.S, S_before)
    qtbot.keyClick(w.table.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert np.array_equal(s.components.S, S_before)


@requires("cnmf_gui.engine", "deconvolve")
def test_live_preview_follows_the_override_slider(qtbot, window):
    w = window
    w.session.select([0])
    seen = []
    w.session.subscribe("preview", lambda cid, res: seen.append((cid, res)))
    w.deconv.slider.setValue(80)
    qtbot.waitUntil(lambda: any(r is not None for _, r in seen), timeout=5000)
    assert w.traces.preview_curves


def test_export_csv_writes_exactly_the_accepted_components(qtbot, window, tmp_path):
    w = window
    s = w.session
    s.select([1, 4])
    s.accept()
    s.select([0])
    s.reject()
    out = tmp_path / "export"
    out.mkdir()
    with qtbot.waitSignal(w.worker.finished, timeout=30000):
        assert w.export_csv(False, folder=str(out))
    with open(out / "traces_C.csv", newline="") as fh:
        header = next(csv.reader(fh))
    assert header[:2] == ["frame", "time_s"]
    assert [int(h) for h in header[2:]] == [1, 4]


def test_failing_job_shows_an_error_and_the_window_lives_on(qtbot, window, monkeypatch):
    from cnmf_gui.session import jobs
    w = window

    def broken(session):
        def job(progress):
            raise RuntimeError("the engine broke")
        return job
    monkeypatch.setattr(jobs, "run_pipeline", broken)
    with qtbot.waitSignal(w.worker.failed, timeout=10000):
        assert w.run_pipeline()
    box = w.error_dialog
    assert box is not None and box.isVisible()
    assert "the engine broke" in box.text() and "RuntimeError" in box.detailedText()
    box.close()
    w.activateWindow()  # the user clicks back into the window
    qtbot.waitUntil(w.isActiveWindow, timeout=2000)
    # Still alive: curation and another job work.
    w.session.select([3])
    qtbot.keyClick(w.table.table, Qt.Key.Key_R)
    assert w.session.status_of(3) == -1
    assert not w.worker.busy


def test_pipeline_run_can_be_cancelled(qtbot, window, monkeypatch):
    from cnmf_gui.session import jobs
    from cnmf_gui.progress import checkpoint
    w = window
    ids_before = w.session.ids.copy()

    def slow(session):
        def job(progress):
            import time
            for i in range(1000):
                checkpoint(progress, i / 1000, "working")
                time.sleep(0.005)
            return None
        return job
    monkeypatch.setattr(jobs, "run_pipeline", slow)
    assert w.run_pipeline()
    assert w.cancel_button.isVisible()
    qtbot.waitUntil(lambda: w.progress.value() > 0, timeout=5000)
    with qtbot.waitSignal(w.worker.cancelled, timeout=5000):
        qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
    assert not w.worker.busy and not w.cancel_button.isVisible()
    assert np.array_equal(w.session.ids, ids_before)


def test_space_plays_and_pauses(qtbot, window):
    w = window
    start = w.session.frame
    qtbot.keyClick(w.table.table, Qt.Key.Key_Space)
    assert w.movie_view.playing
    qtbot.waitUntil(lambda: w.session.frame > start + 2, timeout=5000)
    qtbot.keyClick(w.table.table, Qt.Key.Key_Space)
    assert not w.movie_view.playing


def test_every_view_renders(qtbot, window):
    w = window
    for name in w.session.available_views():
        w.movie_view.set_view(name)
        assert w.movie_view.left_image.image is not None, name


def test_clicking_the_traces_seeks_the_movie(qtbot, window):
    w = window
    w.session.select([0])
    w.traces.plot.getPlotItem().setXRange(0, w.session.time_of(w.session.n_frames - 1), padding=0)
    qtbot.wait(10)
    seconds = w.session.time_of(120)
    pos = w.traces.widget_pos_of_time(seconds)
    qtbot.mouseClick(w.traces.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)
    assert abs(w.session.frame - 120) <= 2


def test_parameter_out_of_range_is_refused_with_a_message(qtbot, window):
    w = window
    editor = w.params_panel.editors[("cnmf", "merge_threshold")]
    before = w.session.params
    w.params_panel._apply("deconvolution", "noise_range", [0.4, 0.3])
    assert "noise_range" in w.params_panel.error.text()
    assert w.session.params == before
    assert editor.maximum() == 1.0 and editor.minimum() == 0.0
    editor.setValue(0.7)
    editor.editingFinished.emit()
    assert w.session.params.cnmf.merge_threshold == 0.7


def test_closing_with_unsaved_changes_asks_and_can_be_cancelled(qtbot, window, answers):
    w = window
    w.session.select([0])
    w.session.reject()
    answers.push("Cancel")
    w.close()
    assert w.isVisible() and answers.asked == ["Unsaved changes"]


def test_new_results_with_motion_leave_the_raw_view_for_the_corrected_one(qtbot, window):
    """Footprints live in corrected coordinates: after a run, the user sees outlines, not a bare raw movie."""
    import dataclasses

    from cnmf_gui.results import MotionResult

    view = window.movie_view
    view.set_view("raw")
    data = window.session.data
    T, H, W = data.movie_shape
    motion = MotionResult(shifts=np.zeros((T, 2), np.float32), template=np.zeros((H, W), np.float32))
    window.session.set_data(dataclasses.replace(data, motion=motion), movie=window.synth.movie)
    assert view.view == "corrected"
    assert view.left_contours.selected.isVisible() or any(c.isVisible() for c in view.left_contours.curves.values())
    view.set_view("raw")  # the user may still choose raw; outlines are then hidden and the tooltip says why
    assert not any(c.isVisible() for c in view.left_contours.curves.values())
    assert "motion-corrected" in view.contours_box.toolTip()

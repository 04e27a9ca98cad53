"""Run > Online (live) in the window (issue 14 item 4): components appear while frames arrive, an
accept during the run is kept, Stop leaves a normal session that saves and reopens."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import tifffile
from PyQt6.QtCore import Qt

from cnmf_gui.gui import online_panel
from cnmf_gui.params import PipelineParams
from cnmf_gui.session import Session
from cnmf_gui.synthetic import make_movie
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def test_live_run_shows_components_keeps_an_accept_and_stops_into_a_session(qtbot, window, answers, tmp_path):  # noqa: F811
    synth = make_movie(n_frames=900, shape=(48, 48), n_neurons=6, seed=5)
    m = synth.movie
    counts = np.round((m - m.min()) / (m.max() - m.min()) * 3000).astype(np.int16)
    folder = tmp_path / "acq"
    folder.mkdir()
    stop_writing = threading.Event()

    def writer():
        for i, f in enumerate(counts):
            if stop_writing.is_set():
                return
            tifffile.imwrite(folder / f"f_{i:05d}.tif", f)
            time.sleep(0.01)

    w = window
    s = w.session
    params = PipelineParams.from_dict({"motion": {"enabled": False}, "init": {"neuron_radius": 4.0},
                                       "online": {"init_frames": 80, "update_every": 60}, "frame_rate": 30.0})
    s.set_params(params)
    seen = []
    handle = s.subscribe("data", lambda: seen.append((s.n_frames, s.n_components)))
    th = threading.Thread(target=writer)
    th.start()
    try:
        answers.push("Discard")                   # the window's previous session
        assert online_panel.start(w, folder, follow=True, until_idle=None, poll=0.01)
        # components appear while it runs, with the newest frame in the movie view
        qtbot.waitUntil(lambda: w.online_run.base_id is not None and s.n_components > 0 and w.worker.busy,
                        timeout=60000)
        assert s.movie is not None and s.frame == s.n_frames - 1
        frames_then = s.n_frames
        target = int(s.ids[0])
        s.select([target])
        qtbot.keyClick(w, Qt.Key.Key_A)           # accept, as the user would, during the run
        assert s.status_of(target) == 1 and s.is_user_decided(target)
        # more frames arrive and the decision stays
        qtbot.waitUntil(lambda: s.n_frames > frames_then + 30, timeout=60000)
        assert w.worker.busy and s.status_of(target) == 1
        assert s.components.C.shape[1] == s.n_frames          # the traces grow
        # the microscope pauses (no frame arrives any more), then Stop (Cancel job): the run
        # ends while it waits, into a normal session
        stop_writing.set()
        th.join()
        qtbot.wait(300)
        assert w.worker.busy
        qtbot.mouseClick(w.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not w.worker.busy, timeout=60000)
    finally:
        stop_writing.set()
        th.join()
        handle.release()
    assert len({n for n, _ in seen}) >= 3                      # several partial results were shown
    assert s.status_of(target) == 1
    n_frames = s.n_frames
    assert n_frames > frames_then
    path = tmp_path / "live.h5"
    s.save(path)
    again = Session()
    again.open_session(path)
    assert again.n_frames == n_frames and again.status_of(target) == 1
    assert again.n_components == s.n_components
    lines = [json.loads(x) for x in again.data.curation_log]
    assert any(str(target) in json.dumps(x) for x in lines[1:])  # the accept is in the log

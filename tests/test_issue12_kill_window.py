"""Issue 12: edits made in the window survive ``kill -9``, every one of them, with their undo.

A window in another process makes 20 edits with the mouse and keyboard and is killed with
SIGKILL right after the last one (no time for an autosave after it). Reopening the session
offers the unsaved work back; restoring it gives the 20 edits, and undo takes them back one by
one to the saved file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cnmf_gui.io import load_session
from cnmf_gui.session import Session, recovery_for_open
from tests.test_gui_support import answers, no_dangling_threads, synthetic, window  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
N_EDITS = 20


def kill_after_edits(tmp_path, interval_s: float):
    """Save a session, let a window in a child process edit it, SIGKILL it after the last edit.

    Returns (session path, statuses the child showed last, statuses in the saved file).
    """
    data, _ = synthetic(tmp_path)
    path = tmp_path / "s.h5"
    s = Session()
    s.set_data(data)
    s.save(path)
    saved = load_session(path).components.status.copy()
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", CNMF_GUI_HOME=str(tmp_path / "home"),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    child = subprocess.Popen([sys.executable, "-m", "tests.crash_child", str(path), str(N_EDITS),
                              str(interval_s), str(tmp_path / "settings.ini")],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        deadline = time.monotonic() + 120 + N_EDITS * interval_s
        shown = None
        for line in child.stdout:
            if line.startswith("done "):
                shown = json.loads(line[5:])
                break
            assert time.monotonic() < deadline, "the window did not finish its edits"
        assert shown is not None, "the window ended before its edits were done"
        os.kill(child.pid, signal.SIGKILL)          # at once: the last edits are not autosaved
    finally:
        child.kill()
        child.wait(30)
    assert child.returncode == -signal.SIGKILL
    return path, np.array(shown), saved


def test_twenty_edits_then_kill_9_are_all_restored_with_their_undo(tmp_path):
    path, shown, saved = kill_after_edits(tmp_path, interval_s=0.3)
    assert np.array_equal(load_session(path).components.status, saved)   # nothing was saved
    assert recovery_for_open(path) is not None                            # offered back
    s = Session()
    s.open(path, use_recovery=True)
    assert s.dirty
    assert np.array_equal(s.components.status, shown)
    undone = 0
    while s.undo():
        undone += 1
    assert undone == N_EDITS
    assert np.array_equal(s.components.status, saved)


def test_the_window_offers_the_killed_windows_edits_and_restores_them(tmp_path, window, answers):
    path, shown, _ = kill_after_edits(tmp_path, interval_s=0.05)
    answers.push("Restore")
    assert window.open_path(path)
    assert answers.asked[-1] == "Recover unsaved work?"
    assert np.array_equal(window.session.components.status, shown)
    assert window.session.dirty and window.windowTitle().endswith("*") or window.session.dirty
    # Saving makes it whole: the autosave and its journal are gone.
    window.session.save(path)
    assert recovery_for_open(path) is None
    assert np.array_equal(load_session(path).components.status, shown)

"""Issue 12: nothing on stderr that is not a problem: a closed pipe, Qt's platform notes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def env():
    return dict(os.environ, QT_QPA_PLATFORM="offscreen",
                PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def test_info_into_a_reader_that_leaves_early_is_quiet(tmp_path):
    movie = tmp_path / "m.npy"
    np.save(movie, np.zeros((5, 8, 8), np.float32))
    # `cnmf-gui info m.npy | head -0`: the reader closes the pipe before the first line.
    r, w = os.pipe()
    os.close(r)
    proc = subprocess.run([sys.executable, "-m", "cnmf_gui", "info", str(movie)], cwd=ROOT, env=env(),
                          stdout=w, stderr=subprocess.PIPE, text=True, timeout=120)
    os.close(w)
    assert proc.returncode == 0 and proc.stderr == ""


def test_a_screenshot_prints_no_qt_platform_notes(tmp_path):
    from cnmf_gui.session import Session
    from tests.test_gui_support import synthetic
    data, _ = synthetic(tmp_path)
    s = Session()
    s.set_data(data)
    s.save(tmp_path / "s.h5")
    proc = subprocess.run([sys.executable, "-m", "cnmf_gui", "screenshot", str(tmp_path / "s.h5"),
                           "--out", str(tmp_path / "shot.png")], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert (tmp_path / "shot.png").stat().st_size > 1000

"""Smoke test of a built bundle: ``--version`` and ``screenshot`` of a small synthetic session.

Usage: python installers/smoke_test.py PATH/TO/cnmf-gui
Runs offscreen; exits non-zero on the first failure; prints start-up times and bundle size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(cmd, env):
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    dt = time.perf_counter() - t0
    if res.returncode != 0:
        print(f"FAILED: {' '.join(map(str, cmd))}\n{res.stdout}\n{res.stderr}", file=sys.stderr)
        sys.exit(1)
    return res, dt


def main(exe: str) -> None:
    from cnmf_gui.io import save_session
    from cnmf_gui.synthetic import make_session

    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        env["CNMF_GUI_HOME"] = str(Path(tmp) / "home")
        res, dt = _run([exe, "--version"], env)
        print(f"--version: {res.stdout.strip()} in {dt:.2f} s")
        session, _ = make_session(n_frames=100, shape=(64, 64), n_neurons=6, folder=tmp)
        session_path = Path(tmp) / "smoke.h5"
        save_session(session, session_path)
        png = Path(tmp) / "smoke.png"
        res, dt = _run([exe, "screenshot", str(session_path), "--out", str(png)], env)
        if not png.is_file() or png.stat().st_size < 1000:
            print("FAILED: screenshot wrote no image", file=sys.stderr)
            sys.exit(1)
        print(f"screenshot of a session (start, open, render, save, quit): {dt:.2f} s, {png.stat().st_size} bytes")
    print("smoke test passed")


if __name__ == "__main__":
    main(sys.argv[1])

"""Motion accuracy on movies nobody tuned for, with suite2p on the same movies in the same run.

Run as ``python -m benchmarks.motion_sweep [--seeds 2] [--frames 2000] [--only A B] [--no-suite2p]``.

Movies come from :func:`cnmf_gui.synthetic.make_realistic_movie` (motion by resampling a
finer scene, not a Fourier shift; bleaching, bursts, neuropil, shot noise), over a grid of
conditions modelled on issue 10 (A: 60 cells r 4-6.5 px, rigid 3 px; B: 90 cells, 10 photons
per unit, 1.5 px non-rigid on top of 1.5 px rigid; C: 160 small dense cells, 4 photons, 4 px;
D: 7 Hz; E: strong bleaching and frequent bursts; F: 8 px motion), several seeds each, plus
two resampled scenes with edge bursts (:mod:`tests.motion_scenes`). Prints one row per
condition and seed: rigid shift RMSE, worst frame and frames more than 0.5 px off (after
removing the median offset: the template's position is arbitrary), for cnmf_gui's defaults and
for suite2p's rigid and non-rigid registration (the rigid estimate of the non-rigid run is the
mean of its block shifts; the better of the two is suite2p's figure), and the frames we flagged.

suite2p runs through ``benchmarks/motion_suite2p.py`` in ``/work/venv-s2p`` (or
``$SUITE2P_PYTHON``); it is skipped where absent.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from cnmf_gui.engine.motion import estimate_motion
from cnmf_gui.params import MotionParams

CONDITIONS = {
    "A": dict(),
    "B": dict(n_cells=90, photons_per_unit=10.0, motion_px=1.5, nonrigid_px=1.5),
    "C": dict(n_cells=160, radius_range=(3.0, 5.0), photons_per_unit=4.0, motion_px=4.0),
    "D": dict(frame_rate=7.0),
    "E": dict(bleach=0.6, firing_rate=1.0),
    "F": dict(motion_px=8.0),
}
SCENES = {"S1": dict(bursts=True, bleach=1.0), "S2": dict(bursts=True, bleach=1.0, static=True)}


def errors(estimate, truth) -> tuple[float, float, int]:
    """RMSE, worst frame and frames over 0.5 px, after removing the median offset."""
    d = np.asarray(estimate, float) - np.asarray(truth, float)
    d -= np.median(d, axis=0)
    e = np.hypot(d[:, 0], d[:, 1])
    return float(np.sqrt((e ** 2).mean())), float(e.max()), int((e > 0.5).sum())


def suite2p_python() -> Path | None:
    for p in (os.environ.get("SUITE2P_PYTHON"), "/work/venv-s2p/bin/python", "/work/venv-peers/bin/python"):
        if p and Path(p).exists():
            return Path(p)
    return None


def run_suite2p(python: Path, movie: np.ndarray, folder: Path) -> dict:
    """suite2p's rigid shifts from its rigid and its non-rigid run, {mode: (T, 2)}."""
    path = folder / "movie.npy"
    np.save(path, movie.astype(np.float32))
    script = Path(__file__).with_name("motion_suite2p.py")
    out = {}
    for mode in ("rigid", "nonrigid"):
        res = subprocess.run([str(python), str(script), mode, str(path)], capture_output=True, text=True)
        lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
        if res.returncode != 0 or not lines:
            continue
        s = np.asarray(json.loads(lines[-1])["shifts"], float)
        out[mode] = s if mode == "rigid" else s.reshape(len(s), -1, 2).mean(axis=1)
    path.unlink()
    return out


def movies(names, seeds, frames):
    from cnmf_gui.synthetic import make_realistic_movie

    for name in names:
        for seed in range(seeds):
            if name in CONDITIONS:
                sm = make_realistic_movie(n_frames=frames, seed=seed, **CONDITIONS[name])
                yield name, seed, np.asarray(sm.movie, np.float32), np.asarray(sm.shifts, float)
            else:
                from tests.motion_scenes import resampled_movie

                movie, truth = resampled_movie(n_frames=min(frames, 400), seed=seed, **SCENES[name])
                yield name, seed, movie, truth


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--frames", type=int, default=2000)
    ap.add_argument("--only", nargs="+", choices=sorted(CONDITIONS) + sorted(SCENES))
    ap.add_argument("--no-suite2p", action="store_true")
    ap.add_argument("--keep", type=Path, help="also save each movie and its truth there (NPZ), to compare versions")
    args = ap.parse_args(argv)
    python = None if args.no_suite2p else suite2p_python()
    names = args.only or list(CONDITIONS) + list(SCENES)
    print(f"{'cond':4s} {'seed':>4s} | {'ours RMSE':>9s} {'worst':>6s} {'>0.5':>5s} {'flag':>5s} {'s':>5s} | "
          f"{'s2p RMSE':>8s} {'worst':>6s} {'>0.5':>5s} ({'rigid':>5s} {'nonrig':>6s})")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, seed, movie, truth in movies(names, args.seeds, args.frames):
            if args.keep is not None:
                args.keep.mkdir(parents=True, exist_ok=True)
                np.savez(args.keep / f"{name}_{seed}.npz", movie=movie, shifts=truth)
            t0 = time.perf_counter()
            r = estimate_motion(movie, MotionParams(pc_metric=False))
            secs = time.perf_counter() - t0
            ours = errors(r.shifts, truth)
            flagged = int(r.metrics.get("n_flagged", 0))
            s2p = {}
            if python is not None:
                s2p = {k: errors(v, truth) for k, v in run_suite2p(python, movie, Path(tmp)).items()}
            best = min(s2p.values(), key=lambda e: e[0]) if s2p else (np.nan, np.nan, -1)
            rig = s2p.get("rigid", (np.nan,))[0]
            nr = s2p.get("nonrigid", (np.nan,))[0]
            print(f"{name:4s} {seed:4d} | {ours[0]:9.3f} {ours[1]:6.2f} {ours[2]:5d} {flagged:5d} {secs:5.1f} | "
                  f"{best[0]:8.3f} {best[1]:6.2f} {best[2]:5d} ({rig:5.3f} {nr:6.3f})", flush=True)
            rows.append((ours, best))
    worst = max(o[1] for o, _ in rows) if rows else float("nan")
    beaten = sum(o[0] <= b[0] for o, b in rows if np.isfinite(b[0]))
    compared = sum(np.isfinite(b[0]) for _, b in rows)
    print(f"worst frame over all movies: {worst:.2f} px; RMSE at or below suite2p's on {beaten} of {compared}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""End-to-end wall time against suite2p, in the same run: from a raw moving movie on disk to traces.

Run from the repository root::

    python -m benchmarks.end_to_end              # 128 x 128 x 2000 and 512 x 512 x 1000
    python -m benchmarks.end_to_end --large      # also 512 x 512 x 3000
    python -m benchmarks.end_to_end --no-suite2p # ours only

For each case a synthetic movie with rigid motion (``cnmf_gui.synthetic.make_movie(...,
motion="rigid", max_shift=3)``; sizes, densities and seeds of benchmarks/cnmf.py's cases) is
written to a TIFF as int16 counts (what a microscope delivers; one common scale, so no tool's
result depends on it), and both tools run on that same file, each as a fresh process, one after
the other:

- ours: ``cnmf-gui run MOVIE.tif --out S.h5 --fs 30`` (defaults: rigid motion correction, CNMF,
  deconvolution, evaluation, dF/F, session file written);
- suite2p 1.1.0 in ``/work/venv-peers`` (or ``$CNMF_GUI_PEERS_PYTHON``; skipped when absent):
  ``run_s2p`` on the folder holding the TIFF, registration on and non-rigid off, detection,
  extraction, deconvolution and classification on (benchmarks/e2e_suite2p.py).

Wall time is that of the whole process (interpreter start, imports, reading the TIFF, writing
results): what a user waits for; each process's peak resident set is printed as well. Both
tools first run once, untimed, on a small movie, so that compiled caches (numba, torch) and the
page cache of the libraries are warm for both. suite2p
runs with its default registration metrics (they need >= 1500 frames); the table also gives the
ratio against suite2p without them (its wall time minus its own ``registration_metrics`` time).

Accuracy, as benchmarks/cnmf.py scores it (tests/cnmf_scoring.py: footprints matched one to one
by cosine >= 0.5; median correlation of matched traces with the true calcium): our accepted
components; suite2p's ROIs with their neuropil-corrected F, all of them (as benchmarks/cnmf.py
scores suite2p) and, on a second row, only those its classifier calls cells. Each tool registers to its
own template, whose position differs from the motion-free truth by a constant offset; the true
footprints are moved by that offset (the median of the tool's correction minus the true one)
before matching, so a tool is not penalised for where its template sits.

Timings are of a shared machine (the load average is printed): compare the ratios within one
run, not absolute seconds across runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import scipy.sparse as sp

from benchmarks.cnmf import CASES as CNMF_CASES
from benchmarks.cnmf import _peer_python, score_suite2p
from benchmarks.motion import rigid_rmse
from tests.cnmf_scoring import score

ROOT = Path(__file__).resolve().parents[1]
FRAME_RATE = 30.0
NEURON_RADIUS = 4.0     # make_movie's default; suite2p gets the diameter
TAU_DECAY = 0.5         # make_movie's default; suite2p's ``tau``
MOTION = dict(motion="rigid", max_shift=3.0)

CASES = {
    "128x128x2000": dict(CNMF_CASES["128x128x2000"], **MOTION),
    "512x512x1000": dict(CNMF_CASES["512x512x3000"], n_frames=1000, **MOTION),
}
LARGE = {"512x512x3000": dict(CNMF_CASES["512x512x3000"], **MOTION)}
WARM_UP = dict(n_frames=400, shape=(96, 96), n_neurons=12, seed=7, **MOTION)


def write_case(spec: dict, folder: Path) -> SimpleNamespace:
    """Make the movie, write it as ``folder/movie/movie.tif`` (int16), return its truth.

    Returns
    -------
    SimpleNamespace
        ``tiff`` (path), ``footprints`` (K, H, W) float32 in motion-free coordinates,
        ``traces`` and ``spikes`` (K, T), ``shifts`` (T, 2): the true rigid correction.
    """
    import tifffile

    from cnmf_gui.synthetic import make_movie

    synth = make_movie(**spec)
    # int16 counts, as a microscope writes them; suite2p reads integers, and the scale is common
    scale = 20000.0 / max(float(np.abs(synth.movie).max()), 1e-9)
    frames = np.round(synth.movie * scale).astype(np.int16)
    truth = SimpleNamespace(footprints=synth.footprints, traces=synth.traces, spikes=synth.spikes,
                            shifts=np.asarray(synth.shifts, float), n_neurons=synth.n_neurons)
    del synth
    (folder / "movie").mkdir(parents=True)
    truth.tiff = folder / "movie" / "movie.tif"
    tifffile.imwrite(truth.tiff, frames, photometric="minisblack", bigtiff=frames.nbytes > 2**31)
    truth.raw_mb = frames.nbytes / 2**20
    return truth


def truth_for(truth: SimpleNamespace, estimated_shifts) -> tuple[SimpleNamespace, np.ndarray]:
    """The truth in a tool's template coordinates, and the offset used.

    A tool's aligned frame is the motion-free frame shifted by ``d = correction - true
    correction`` (constant up to estimation error), so the true footprints are shifted by the
    median ``d`` (linear interpolation; same shift convention as cnmf_gui.synthetic).
    """
    from scipy import ndimage

    est = np.asarray(estimated_shifts, float).reshape(-1, 2)
    offset = np.median(est - truth.shifts, axis=0)
    feet = truth.footprints
    if np.abs(offset).max() > 0.05:
        feet = ndimage.shift(feet, (0.0, offset[0], offset[1]), order=1, mode="constant")
    return SimpleNamespace(footprints=feet, n_neurons=truth.n_neurons, traces=truth.traces,
                           spikes=truth.spikes), offset


# A small launcher starts each tool and reports its wall time and peak resident set. A child's
# ru_maxrss starts from the resident set of the process that forked it (Linux carries the high
# water mark across fork and exec), and this process holds the truth and the scoring arrays, so
# the tool is started from a launcher of a few MB instead.
_LAUNCHER = """
import json, os, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
with open(sys.argv[1], "w") as fh:
    json.dump({"wall_s": wall, "code": os.waitstatus_to_exitcode(status),
               "peak_mb": usage.ru_maxrss / 1024}, fh)
"""


def timed_process(cmd: list[str], log: Path) -> dict:
    """Run ``cmd`` with stdout/stderr to ``log``.{out,err}; wall seconds, exit code, peak RSS (MB)."""
    load = os.getloadavg()[0]
    with open(f"{log}.out", "w") as out, open(f"{log}.err", "w") as err:
        subprocess.run([sys.executable, "-c", _LAUNCHER, f"{log}.json", *cmd], cwd=ROOT, stdout=out,
                       stderr=err, check=True)
    run = json.loads(Path(f"{log}.json").read_text())
    run.update(load_before=load, load_after=os.getloadavg()[0], stdout=Path(f"{log}.out").read_text(),
               stderr=Path(f"{log}.err").read_text())
    return run


def _failure(tool: str, run: dict) -> dict:
    lines = (run["stderr"] or run["stdout"]).strip().splitlines()
    return {"tool": tool, "error": lines[-1] if lines else f"exit code {run['code']}", **run}


def _ours_command(tiff: Path, session: Path) -> list[str]:
    exe = Path(sys.executable).with_name("cnmf-gui")
    head = [str(exe)] if exe.exists() else [sys.executable, "-m", "cnmf_gui"]
    return head + ["run", str(tiff), "--out", str(session), "--fs", str(FRAME_RATE)]


def _stage_times(stdout: str) -> dict:
    """The 'stage timings:' block that ``cnmf-gui run`` prints ("  <stage>  <seconds> s")."""
    times, inside = {}, False
    for line in stdout.splitlines():
        if line.startswith("stage timings:"):
            inside = True
            continue
        parts = line.split()
        if inside and len(parts) >= 3 and parts[-1] == "s":
            try:
                times[" ".join(parts[:-2])] = float(parts[-2])
            except ValueError:
                pass
    return times


def run_ours(truth: SimpleNamespace, folder: Path) -> dict:
    from cnmf_gui.io import load_session

    session = folder / "ours.h5"
    run = timed_process(_ours_command(truth.tiff, session), folder / "ours")
    if run["code"] != 0:
        return _failure("cnmf_gui", run)
    data = load_session(session)
    shifts = data.motion.shifts if data.motion is not None else np.zeros_like(truth.shifts)
    moved, offset = truth_for(truth, shifts)
    res = {"tool": "cnmf_gui", **run, "offset": offset, "shift_rmse": rigid_rmse(shifts, truth.shifts),
           "stages": _stage_times(run["stdout"]), "n_components": data.components.n_components}
    res.update(score(data.components, moved))
    res["all"] = score(data.components, moved, accepted_only=False)
    return res


def run_suite2p(peer: str, truth: SimpleNamespace, folder: Path, name: str) -> dict:
    work = folder / "s2p"
    work.mkdir()
    out = work / "suite2p.npz"
    cmd = [peer, str(ROOT / "benchmarks" / "e2e_suite2p.py"), str(truth.tiff.parent), str(work), str(out),
           str(FRAME_RATE), str(2 * NEURON_RADIUS), str(TAU_DECAY)]
    run = timed_process(cmd, folder / "s2p")
    if run["code"] != 0:
        return _failure("suite2p", run)
    info = json.loads(run["stdout"].strip().splitlines()[-1])
    shifts = np.load(out)["shifts"]
    moved, offset = truth_for(truth, shifts)
    # score_suite2p reads the truth from work/truth.npz: write it in the tool's coordinates
    H, W = moved.footprints.shape[1:]
    A = sp.csc_matrix(moved.footprints.reshape(moved.n_neurons, H * W).T)
    np.savez(work / "truth.npz", data=A.data, indices=A.indices, indptr=A.indptr, shape=np.array(A.shape),
             traces=truth.traces, spikes=truth.spikes, H=H, W=W)
    res = score_suite2p(str(work), name, {"stages": info["plane_times"]})
    res["cells"] = _score_iscell(work, name)
    res.update({"tool": "suite2p", **run, "offset": offset, "shift_rmse": rigid_rmse(shifts, truth.shifts),
                "own_s": info["seconds"]})
    res["wall_no_regmetrics_s"] = run["wall_s"] - info["plane_times"].get("registration_metrics", 0.0)
    return res


def _score_iscell(work: Path, name: str) -> dict:
    """The same score on the ROIs suite2p's classifier calls cells (a folder score_suite2p reads)."""
    rois = dict(np.load(work / "suite2p.npz"))
    keep = rois["iscell"].astype(bool)
    starts = np.concatenate([[0], np.cumsum(rois["counts"])])
    pix = np.concatenate([np.arange(starts[k], starts[k + 1]) for k in np.nonzero(keep)[0]]
                         or [np.zeros(0, int)])
    sub = work / "iscell"
    sub.mkdir()
    np.savez(sub / "suite2p.npz", ypix=rois["ypix"][pix], xpix=rois["xpix"][pix], lam=rois["lam"][pix],
             counts=rois["counts"][keep], F=rois["F"][keep], spks=rois["spks"][keep])
    os.link(work / "truth.npz", sub / "truth.npz")
    return score_suite2p(str(sub), name, {"stages": {}})


def warm_up(peer: str | None, root: Path) -> None:
    """One untimed run of each tool on a small movie: compiled caches and page cache are warm."""
    folder = root / "warm"
    truth = write_case(WARM_UP, folder)
    ours = timed_process(_ours_command(truth.tiff, folder / "ours.h5"), folder / "ours")
    note = f"ours {ours['wall_s']:.1f} s (exit {ours['code']})"
    if peer:
        (folder / "s2p").mkdir()
        s2p = timed_process([peer, str(ROOT / "benchmarks" / "e2e_suite2p.py"), str(truth.tiff.parent),
                             str(folder / "s2p"), str(folder / "s2p.npz"), str(FRAME_RATE),
                             str(2 * NEURON_RADIUS), str(TAU_DECAY)], folder / "s2p")
        note += f", suite2p {s2p['wall_s']:.1f} s (exit {s2p['code']})"
    print(f"warm-up on {WARM_UP['shape'][0]}x{WARM_UP['shape'][1]}x{WARM_UP['n_frames']} (untimed): {note}")


def _print_details(name: str, res: dict) -> None:
    print(f"\n== {name}  {res['tool']}")
    if "error" in res:
        print(f"  failed: {res['error']}")
        return
    print(f"  wall {res['wall_s']:.1f} s   peak resident {res['peak_mb']:.0f} MB   "
          f"load average {res['load_before']:.2f} -> {res['load_after']:.2f}")
    print(f"  F1 {res['f1']:.3f}  precision {res['precision']:.3f}  recall {res['recall']:.3f}  "
          f"({res['n_found']} scored of {res['n_components']}, {res['n_true']} true)   "
          f"trace corr {res['trace_corr']:.3f}  spike corr {res['spike_corr']:.3f}")
    if "all" in res:
        a = res["all"]
        print(f"  (all components, accepted or not: F1 {a['f1']:.3f}, trace corr {a['trace_corr']:.3f})")
    if "cells" in res:
        c = res["cells"]
        print(f"  (only the {c['n_found']} ROIs its classifier calls cells: F1 {c['f1']:.3f}, precision "
              f"{c['precision']:.3f}, recall {c['recall']:.3f}, trace corr {c['trace_corr']:.3f})")
    print(f"  shift RMSE {res['shift_rmse']:.3f} px (constant offset removed); template offset "
          f"[{res['offset'][0]:+.2f}, {res['offset'][1]:+.2f}] px applied to the truth before matching")
    if res.get("own_s") is not None:
        print(f"  run_s2p itself {res['own_s']:.1f} s; without registration metrics "
              f"{res['wall_no_regmetrics_s']:.1f} s wall")
    for stage, sec in res.get("stages", {}).items():
        print(f"    {stage:<24} {sec:8.2f} s")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also 512 x 512 x 3000")
    parser.add_argument("--no-suite2p", action="store_true", help="skip the suite2p comparison")
    parser.add_argument("--only", help="run this case only (e.g. 128x128x2000)")
    parser.add_argument("--tmp", help="folder for the movies and outputs (default: a temporary one)")
    args = parser.parse_args(argv)
    cases = dict(CASES, **(LARGE if args.large else {}))
    if args.only:
        cases = {args.only: dict(CASES, **LARGE)[args.only]}
    peer = None if args.no_suite2p else _peer_python()
    print(f"{os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.2f} "
          f"(a shared machine: compare ratios within this run)")
    if peer is None:
        print("suite2p: not installed in the peers' environment (or --no-suite2p): skipped")
    rows = []
    with tempfile.TemporaryDirectory(prefix="cnmf_e2e_", dir=args.tmp) as tmp:
        warm_up(peer, Path(tmp))
        for name, spec in cases.items():
            folder = Path(tmp) / name
            truth = write_case(spec, folder)
            print(f"\n{name}: {truth.n_neurons} neurons, rigid motion up to {spec['max_shift']:.0f} px, "
                  f"TIFF {truth.raw_mb:.0f} MB (int16)")
            ours = run_ours(truth, folder)
            _print_details(name, ours)
            s2p = run_suite2p(peer, truth, folder, name) if peer else None
            if s2p is not None:
                _print_details(name, s2p)
            rows.append((name, ours, s2p))
            del truth
    print("\nmovie          tool       wall (s)  ours/suite2p  (w/o regmetrics)     F1  trace corr")
    for name, ours, s2p in rows:
        for res in (ours, s2p):
            if res is None:
                continue
            if "error" in res:
                print(f"{name:<14} {res['tool']:<9}  failed: {res['error']}")
                continue
            ratio = ratio2 = ""
            if res is ours and s2p is not None and "error" not in s2p:
                ratio = f"{ours['wall_s'] / s2p['wall_s']:.2f}"
                ratio2 = f"{ours['wall_s'] / s2p['wall_no_regmetrics_s']:.2f}"
            print(f"{name:<14} {res['tool']:<9} {res['wall_s']:9.1f}  {ratio:>12}  {ratio2:>16}  "
                  f"{res['f1']:5.3f}  {res['trace_corr']:10.3f}")
            if "cells" in res:
                c = res["cells"]
                print(f"{name:<14} {'  (iscell ROIs only)':<47}  {c['f1']:5.3f}  {c['trace_corr']:10.3f}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

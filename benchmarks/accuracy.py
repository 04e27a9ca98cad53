"""Accuracy sweep: cnmf-gui and suite2p on the same realistic synthetic movies, in the same run.

Run from the repository root::

    python -m benchmarks.accuracy                 # every row, 3 seeds
    python -m benchmarks.accuracy --quick         # a few rows, 1 seed (well under 20 min)
    python -m benchmarks.accuracy --rows A,snr3 --seeds 2
    python -m benchmarks.accuracy --rows A --first-seed 2 --seeds 2 --merge OLD/results.json
    python -m benchmarks.accuracy --cache DIR     # reuse movies and suite2p's output (accuracy_cache.py)

Movies come from ``cnmf_gui.synthetic.make_realistic_movie`` (a continuous scene resampled
under motion, photon noise; not the engine's model). The rows vary one factor at a time around
a base condition (movie A of issue 10: 160 x 192 x 2000, 60 cells of radius 4-6.5 px, rigid
motion up to 3 px, 30 Hz, GCaMP6f, 10 photons per unit), plus the issue's movies B and C.
Each movie is written as an int16 TIFF (photon counts times a fixed gain of 8, as a detector
with an ADC would write them), then, each as a fresh process on that file:

- ours exactly as a user would run it: ``python -m cnmf_gui run MOVIE.tif --out S.h5 --fs F``
  (defaults, only --fs), the session read back with ``cnmf_gui.io.load_session``;
- suite2p 1.1.0 (``/work/venv-s2p``, or ``$CNMF_GUI_PEERS_PYTHON``; skipped when absent)
  through benchmarks/e2e_suite2p.py: its defaults (non-rigid registration on, registration
  metrics off: they change no result), with the true fs, tau (the indicator's decay) and
  diameter (twice the mean radius).

Both are scored by benchmarks/scoring.py: shift RMSE after removing the template offset, worst
frame, frames off by > 0.5 px; F1 of accepted components (ours: status 1; suite2p: its
classifier's cells) and of all components; median r of C and F with the true calcium, and of S
(suite2p: spks) with the true spikes (2-frame sums); wall time of the whole process. One table
(mean over seeds) is printed and everything, per seed, goes to ``OUT/results.json``; each
movie's folder keeps both tools' outputs and per-frame shift errors (``--keep-movies`` keeps
the TIFFs too) for diagnosis. Timings are of a shared machine: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.accuracy_cache import fetch_movie, fetch_suite2p, store_movie, store_suite2p, suite2p_key
from benchmarks.cnmf import _peer_python
from benchmarks.end_to_end import timed_process
from benchmarks.scoring import (detection_scores, match_components, shift_errors, trace_scores,
                                truth_in_template)

ROOT = Path(__file__).resolve().parents[1]
S2P_PYTHON = "/work/venv-s2p/bin/python"
ADC_GAIN = 8.0

BASE = dict(n_frames=2000, shape=(160, 192), n_cells=60, radius_range=(4.0, 6.5), photons_per_unit=10.0,
            motion_px=3.0, nonrigid_px=0.0, frame_rate=30.0, indicator="GCaMP6f")
ROWS = {
    "A": ("issue movie A (base)", {}),
    "B": ("issue movie B: 90 cells, non-rigid 1.5 px", dict(n_cells=90, nonrigid_px=1.5)),
    "C": ("issue movie C: 160 cells r 3-5, 4 ph/unit, 4 px", dict(n_cells=160, radius_range=(3.0, 5.0),
                                                                 photons_per_unit=4.0, motion_px=4.0)),
    "snr3": ("3 photons/unit", dict(photons_per_unit=3.0)),
    "snr30": ("30 photons/unit", dict(photons_per_unit=30.0)),
    "sparse": ("30 cells", dict(n_cells=30)),
    "dense": ("120 cells", dict(n_cells=120)),
    "small": ("radius 3-4.5 px", dict(radius_range=(3.0, 4.5))),
    "large": ("radius 7-10 px, 35 cells", dict(radius_range=(7.0, 10.0), n_cells=35)),
    "still": ("no motion", dict(motion_px=0.0)),
    "motion6": ("rigid 6 px", dict(motion_px=6.0)),
    "nonrigid": ("rigid 3 + non-rigid 2 px", dict(nonrigid_px=2.0)),
    "fps7": ("7.5 Hz, GCaMP6s", dict(frame_rate=7.5, indicator="GCaMP6s")),
    "fps15": ("15 Hz", dict(frame_rate=15.0)),
    "6s": ("GCaMP6s", dict(indicator="GCaMP6s")),
    "8m": ("GCaMP8m", dict(indicator="GCaMP8m")),
}
QUICK = ["A", "B", "C", "snr3", "large", "fps7", "motion6"]


def spec_for(row: str, seed: int) -> dict:
    return dict(BASE, **ROWS[row][1], seed=seed)


def write_movie(spec: dict, folder: Path, cache: Path | None = None):
    """Make the movie, write ``folder/movie/movie.tif`` (int16) and ``truth.npz``; return the truth.

    With ``cache``, a movie of the same spec and generator is copied from it instead of made
    (``make_s`` is then 0), and a new one is stored in it.
    """
    import tifffile

    from cnmf_gui.synthetic import make_realistic_movie

    if cache is not None and fetch_movie(cache, spec, folder):
        with np.load(folder / "truth.npz") as z:
            truth = {k: z[k] for k in z.files}
        truth["frame_rate"] = float(truth["frame_rate"])
        truth["make_s"] = 0.0
        return truth

    t0 = time.perf_counter()
    synth = make_realistic_movie(**spec)
    make_s = time.perf_counter() - t0
    frames = np.clip(np.round(synth.movie * ADC_GAIN), -32768, 32767).astype(np.int16)
    (folder / "movie").mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(folder / "movie" / "movie.tif", frames, photometric="minisblack")
    truth = dict(footprints=synth.footprints, traces=synth.traces, spikes=synth.spikes,
                 shifts=synth.shifts.astype(float), active=synth.active, radii=synth.radii,
                 frame_rate=synth.frame_rate, make_s=make_s)
    np.savez_compressed(folder / "truth.npz", **{k: v for k, v in truth.items() if k != "make_s"})
    if cache is not None:
        store_movie(cache, spec, folder)
    return truth


def _score(truth: dict, shifts, A, n_all: int, accepted: np.ndarray, traces: dict) -> dict:
    """Motion, detection (accepted and all) and trace scores of one tool's output."""
    motion = shift_errors(shifts, truth["shifts"])
    feet = truth_in_template(truth["footprints"], motion["offset"])
    pairs_all, _ = match_components(A, feet, truth["radii"])
    pairs_acc, _ = match_components(A[:, accepted], feet, truth["radii"])
    res = {"shift": {k: v for k, v in motion.items() if k != "errors"},
           "all": detection_scores(pairs_all, n_all, truth["active"]),
           "accepted": detection_scores(pairs_acc, len(accepted), truth["active"])}
    sub = {k: (v[accepted] if v is not None else None) for k, v in traces.items()}
    res.update(trace_scores(pairs_acc, truth["active"], truth["traces"], truth["spikes"], **sub))
    res["_errors"] = motion["errors"]
    return res


def run_ours(truth: dict, folder: Path) -> dict:
    from cnmf_gui.io import load_session

    session = folder / "ours.h5"
    cmd = [sys.executable, "-m", "cnmf_gui", "run", str(folder / "movie" / "movie.tif"), "--out", str(session),
           "--fs", f"{truth['frame_rate']:g}"]
    run = timed_process(cmd, folder / "ours")
    if run["code"] != 0:
        lines = (run["stderr"] or run["stdout"]).strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {run['code']}", "wall_s": run["wall_s"]}
    data = load_session(session)
    comps = data.components
    T = truth["traces"].shape[1]
    shifts = data.motion.shifts if data.motion is not None else np.zeros((T, 2))
    accepted = np.nonzero(np.asarray(comps.status) == 1)[0]
    res = _score(truth, shifts, comps.A.tocsc(), comps.n_components, accepted,
                 {"C": np.asarray(comps.C), "F": np.asarray(comps.F), "S": np.asarray(comps.S)})
    res.update(wall_s=run["wall_s"], peak_mb=run["peak_mb"],
               status_counts={str(s): int(n) for s, n in zip(*np.unique(comps.status, return_counts=True))})
    return res


def run_suite2p(peer: str, truth: dict, spec: dict, folder: Path, cache: Path | None = None) -> dict:
    """suite2p on the movie, or its cached output on a movie of the same bytes (``cache``).

    suite2p's output depends only on the movie and its arguments, not on our code, so a re-run
    of the sweep after an engine change reuses it; ``cached`` says so in the result.
    """
    import scipy.sparse as sp

    from cnmf_gui.synthetic import INDICATORS

    work = folder / "s2p"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    out = work / "suite2p.npz"
    diameter = float(np.round(2 * np.mean(spec["radius_range"])))
    tau = INDICATORS[spec["indicator"]]["tau_decay"]
    s2p_args = [f"{truth['frame_rate']:g}", f"{diameter:g}", f"{tau:g}", "--no-regmetrics", "--nonrigid"]
    cmd = [peer, str(ROOT / "benchmarks" / "e2e_suite2p.py"), str(folder / "movie"), str(work), str(out),
           *s2p_args]
    key = suite2p_key(folder / "movie" / "movie.tif", s2p_args) if cache is not None else None
    run = fetch_suite2p(cache, key, out) if key else None
    if run is not None:
        run.update(code=0, cached=True)
    else:
        run = timed_process(cmd, folder / "s2p")
        if run["code"] == 0 and key:
            store_suite2p(cache, key, out, run)
    if run["code"] != 0:
        lines = (run["stderr"] or run["stdout"]).strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {run['code']}", "wall_s": run["wall_s"]}
    rois = np.load(out)
    K = len(rois["counts"])
    H, W = truth["footprints"].shape[1:]
    cols = np.repeat(np.arange(K), rois["counts"])
    A = sp.csc_matrix((rois["lam"], (rois["ypix"] * W + rois["xpix"], cols)), shape=(H * W, K))
    cells = np.nonzero(rois["iscell"])[0]
    res = _score(truth, rois["shifts"], A, K, cells, {"F": rois["F"], "S": rois["spks"]})
    shutil.rmtree(work / "suite2p", ignore_errors=True)     # its binary copy of the movie
    res.update(wall_s=run["wall_s"], peak_mb=run["peak_mb"], cached=bool(run.get("cached")))
    return res


def run_movie(row: str, seed: int, root: Path, peer: str | None, keep: bool, cache: Path | None = None) -> dict:
    folder = root / f"{row}-s{seed}"
    spec = spec_for(row, seed)
    truth = write_movie(spec, folder, cache / "movies" if cache else None)
    result = {"row": row, "seed": seed, "spec": {k: v for k, v in spec.items()},
              "n_cells": int(len(truth["active"])), "n_active": int(truth["active"].sum()),
              "make_s": truth["make_s"], "ours": run_ours(truth, folder)}
    if peer:
        result["suite2p"] = run_suite2p(peer, truth, spec, folder, cache / "suite2p" if cache else None)
    errs = {k: result[k].pop("_errors") for k in ("ours", "suite2p") if k in result and "_errors" in result[k]}
    np.savez(folder / "shift_errors.npz", **errs)
    if not keep:
        shutil.rmtree(folder / "movie", ignore_errors=True)
    return result


COLUMNS = [("RMSE", lambda r: r["shift"]["rmse"], "{:6.3f}"), ("worst", lambda r: r["shift"]["worst"], "{:6.2f}"),
           (">0.5", lambda r: r["shift"]["n_over_half"], "{:5.0f}"),
           ("F1acc", lambda r: r["accepted"]["f1"], "{:5.3f}"), ("F1all", lambda r: r["all"]["f1"], "{:5.3f}"),
           ("acc/all", lambda r: None, ""), ("r(C)", lambda r: r.get("r_C", np.nan), "{:5.3f}"),
           ("r(F)", lambda r: r.get("r_F", np.nan), "{:5.3f}"), ("r(S)", lambda r: r.get("r_S", np.nan), "{:5.3f}"),
           ("time", lambda r: r["wall_s"], "{:5.0f}")]


def _mean(results, tool, fn):
    vals = [fn(r[tool]) for r in results if tool in r and "error" not in r[tool]]
    vals = [v for v in vals if v is not None and not np.isnan(v)]
    return float(np.mean(vals)) if vals else float("nan")


def table(results: list[dict], rows: list[str]) -> str:
    """One line per row and tool: means over seeds."""
    head = f"{'row':<9} {'tool':<8}" + "".join(f" {c:>7}" for c, _, _ in COLUMNS)
    lines = [head, "-" * len(head)]
    for row in rows:
        rs = [r for r in results if r["row"] == row]
        for tool in ("ours", "suite2p"):
            if not any(tool in r for r in rs):
                continue
            ok = [r for r in rs if tool in r and "error" not in r[tool]]
            if not ok:
                lines.append(f"{row:<9} {tool:<8} failed: {rs[0][tool]['error']}")
                continue
            cells = []
            for name, fn, fmt in COLUMNS:
                if name == "acc/all":
                    n_acc = np.mean([r[tool]["accepted"]["n_found"] for r in ok])
                    n_all = np.mean([r[tool]["all"]["n_found"] for r in ok])
                    cells.append(f" {n_acc:3.0f}/{n_all:<3.0f}")
                    continue
                v = _mean(ok, tool, fn)
                cells.append(" " + (fmt.format(v) if not np.isnan(v) else "   - ").rjust(7))
            lines.append(f"{row:<9} {tool:<8}" + "".join(cells))
    return "\n".join(lines)


def markdown(results: list[dict], rows: list[str]) -> str:
    """The same table as :func:`table`, as Markdown (ours and suite2p on one line per row)."""
    names = [c for c, _, _ in COLUMNS if c != "acc/all"]
    head = "| row | condition | " + " | ".join(f"{c} ours / s2p" for c in names) + " |"
    lines = [head, "|" + " --- |" * (2 + len(names))]
    for row in rows:
        rs = [r for r in results if r["row"] == row]
        cells = []
        for name, fn, fmt in COLUMNS:
            if name == "acc/all":
                continue
            pair = []
            for tool in ("ours", "suite2p"):
                ok = [r for r in rs if tool in r and "error" not in r[tool]]
                v = _mean(ok, tool, fn) if ok else float("nan")
                pair.append(fmt.format(v).strip() if not np.isnan(v) else "-")
            cells.append(" / ".join(pair))
        lines.append(f"| {row} | {ROWS[row][0]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return obj


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"rows {','.join(QUICK)}, 1 seed")
    parser.add_argument("--rows", help=f"comma-separated rows of {','.join(ROWS)}")
    parser.add_argument("--seeds", type=int, help="seeds per row (default 3; 1 with --quick)")
    parser.add_argument("--first-seed", type=int, default=1,
                        help="first seed (default 1): --first-seed 2 --seeds 2 adds seeds 2 and 3 "
                             "to a run of seed 1")
    parser.add_argument("--merge", nargs="*", default=[],
                        help="results.json files of earlier runs whose rows join this table")
    parser.add_argument("--no-suite2p", action="store_true", help="ours only")
    parser.add_argument("--out", help="folder for the movies' outputs and results.json "
                                      "(default: /work/scratch/accuracy-<time> or ./accuracy-<time>)")
    parser.add_argument("--keep-movies", action="store_true", help="keep each TIFF")
    parser.add_argument("--cache", help="folder caching the movies and suite2p's output on each (keyed by "
                                        "the spec and generator source, and by the movie's bytes): a re-run "
                                        "after an engine change reuses both")
    args = parser.parse_args(argv)
    rows = args.rows.split(",") if args.rows else (QUICK if args.quick else list(ROWS))
    bad = [r for r in rows if r not in ROWS]
    if bad:
        print(f"accuracy: unknown row {bad[0]!r} (rows: {', '.join(ROWS)})", file=sys.stderr)
        return 2
    n_seeds = args.seeds or (1 if args.quick else 3)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    base = Path("/work/scratch") if Path("/work/scratch").is_dir() else Path.cwd()
    out = Path(args.out) if args.out else base / f"accuracy-{stamp}"
    out.mkdir(parents=True, exist_ok=True)
    peer = None
    if not args.no_suite2p:
        peer = S2P_PYTHON if os.path.exists(S2P_PYTHON) else _peer_python()
        if peer is None:
            print("suite2p: no peers' environment found: skipped")
    import subprocess

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    print(f"{len(rows)} rows x {n_seeds} seeds at commit {commit}; outputs in {out}; "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    for row in rows:
        for seed in range(args.first_seed, args.first_seed + n_seeds):
            t0 = time.perf_counter()
            res = run_movie(row, seed, out, peer, args.keep_movies, Path(args.cache) if args.cache else None)
            res["commit"] = commit
            results.append(res)
            brief = {t: (res[t].get("error") or f"RMSE {res[t]['shift']['rmse']:.3f} F1 {res[t]['accepted']['f1']:.3f}")
                     for t in ("ours", "suite2p") if t in res}
            print(f"  {row} seed {seed}: {brief} ({time.perf_counter() - t0:.0f} s)", flush=True)
            (out / "results.json").write_text(json.dumps(_jsonable(results), indent=1))
    for path in args.merge:
        results = json.loads(Path(path).read_text()) + results
        rows += [r["row"] for r in results if r["row"] not in rows]
    rows = [r for r in ROWS if r in rows]
    print()
    print("Mean over seeds. RMSE/worst in px (template offset removed), >0.5 = frames off by more "
          "than 0.5 px; F1acc: ours status 1, suite2p iscell; acc/all: components; r(C), r(F): "
          "median r with true calcium; r(S): with true spikes (2-frame sums); time: wall s.")
    for row in rows:
        print(f"  {row}: {ROWS[row][0]}")
    print(table(results, rows))
    (out / "table.md").write_text(markdown(results, rows) + "\n")
    print(f"\nresults: {out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

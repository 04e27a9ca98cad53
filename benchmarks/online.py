"""Online CNMF against the batch pipeline, on the same movies in the same run (issue 14).

Run from the repository root::

    nice python -m benchmarks.online                 # sweep: 128x128x1500 and 256x256x1500
    nice python -m benchmarks.online --large         # also 512x512x3000 at 30 Hz (minutes, ~8 GB)
    nice python -m benchmarks.online --only large    # only the 512x512 movie
    git archive OLD cnmf_gui | tar -x -C /tmp/old    # an older version of the package...
    nice python -m benchmarks.online --reference /tmp/old --skip batch --only large   # ...against this one

Each movie comes from :func:`cnmf_gui.synthetic.make_realistic_movie` (rigid motion, neuropil,
bleaching, photon noise; cells at the generator's default density, 30 Hz), written as a uint16
TIFF (what a microscope delivers). Then, each in a fresh process, one after the other:

- online: ``FrameStream(TIFF)`` (the file read page by page as if live) into
  :func:`cnmf_gui.engine.online.run_online` with default parameters: frames per second end to
  end (reading, initialisation and every frame: T / wall time) and after initialisation,
  per-frame latency (median, 99th percentile), and the process's resident memory sampled every
  100 frames, printed against frames processed beside the bytes the traces (F, C, S: K x T
  float32, with the store's doubling) account for;
- batch: :func:`cnmf_gui.engine.pipeline.run_pipeline` on the same TIFF (wall time, peak memory);
- with ``--reference DIR``: the same online worker with the ``cnmf_gui`` package found in DIR (an
  older version, e.g. from ``git archive``), right after this version's, so that speed and
  accuracy changes are measured in the same run (``--skip batch`` leaves the batch out).

Speed on a shared machine: beside wall-clock figures, the online worker measures the CPU time of
its own thread per frame (what a frame costs, whatever else runs), and every 10th frame the
wall and CPU time of a plain single-threaded ``rfft2`` + ``irfft2`` of that frame (one FFT
registration's transforms), so fps and latency are also given as ratios to that FFT measured
at the same moments.

With ``--cache DIR`` the movies, their truth and each worker's result are kept in DIR; ``--reuse
batch`` then takes the batch results from there (printed with the time they were made) and runs
only the online worker again (the batch pipeline takes most of an hour at 512 x 512 here).

Both are scored by ``benchmarks/scoring.py`` against the truth: rigid-shift RMSE, F1 of the
accepted components, median r of C and F with the true calcium and of S with the true spikes.
Goals (issue 14): >= 60 fps end to end at 512x512 on this 2-core machine, median latency < 20 ms,
flat memory apart from the traces, F1 within 0.03 and r(C) within 0.01 of batch. Timings are of a
shared machine: compare within one run.
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

import numpy as np

MOVIES = {
    "small": dict(n_frames=1500, shape=(128, 128), n_cells=32),
    "medium": dict(n_frames=1500, shape=(256, 256), n_cells=128),
    "large": dict(n_frames=3000, shape=(512, 512), n_cells=512),
}


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def peak_mb() -> float:
    """Peak resident memory of this process (VmHWM: unlike ru_maxrss, not inherited from the
    parent that generated the movie)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _save_result(data, path: Path) -> None:
    c = data.components
    np.savez(path, A_data=c.A.data, A_indices=c.A.indices, A_indptr=c.A.indptr, A_shape=np.array(c.A.shape),
             C=c.C, F=c.F, S=c.S, status=c.status,
             shifts=data.motion.shifts if data.motion is not None else np.zeros((c.C.shape[1], 2)))


def worker_online(movie: str, out: str) -> None:
    from cnmf_gui.engine.online import run_online
    from cnmf_gui.io.frame_stream import FrameStream
    from cnmf_gui.params import PipelineParams

    import scipy.fft as sfft
    samples, ref_wall, ref_cpu = [], [], []
    stream = FrameStream(movie)

    def sampled():
        for i, frame in enumerate(stream):
            if i % 100 == 0:
                samples.append((i, rss_mb()))
            if i % 10 == 0:
                a, ca = time.perf_counter(), time.thread_time()
                sfft.irfft2(sfft.rfft2(frame), s=frame.shape)
                ref_wall.append(time.perf_counter() - a)
                ref_cpu.append(time.thread_time() - ca)
            yield frame

    import cnmf_gui
    t0 = time.perf_counter()
    outcome = run_online(sampled(), PipelineParams(frame_rate=30.0))
    wall = time.perf_counter() - t0
    data = outcome.data
    _save_result(data, Path(out).with_suffix(".npz"))
    K, T = data.components.C.shape
    lat = np.asarray(outcome.latency) * 1e3
    cpu = np.asarray(outcome.cpu) * 1e3
    ref_w, ref_c = float(np.median(ref_wall)) * 1e3, float(np.median(ref_cpu)) * 1e3
    Path(out).write_text(json.dumps({
        "wall": wall, "fps_end_to_end": T / wall, "fps_after_init": outcome.fps, "init_s": outcome.init_seconds,
        "latency_median_ms": float(np.median(lat)), "latency_p99_ms": float(np.percentile(lat, 99)),
        "cpu_mean_ms": float(cpu.mean()), "cpu_median_ms": float(np.median(cpu)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)), "ref_wall_ms": ref_w, "ref_cpu_ms": ref_c,
        "load": os.getloadavg()[0],
        "rss": samples, "K": K, "T": T, "trace_mb_per_frame": 3 * K * 4 / 2 ** 20, "peak_mb": peak_mb(),
        "stopped": outcome.stopped, "code": str(Path(cnmf_gui.__file__).resolve().parents[1])}))


def worker_batch(movie: str, out: str) -> None:
    from cnmf_gui.engine.pipeline import run_pipeline
    from cnmf_gui.io import open_movie
    from cnmf_gui.params import PipelineParams

    t0 = time.perf_counter()
    m = open_movie(movie)
    data = run_pipeline(m, PipelineParams(frame_rate=30.0))
    wall = time.perf_counter() - t0
    _save_result(data, Path(out).with_suffix(".npz"))
    T = data.components.C.shape[1]
    Path(out).write_text(json.dumps({"wall": wall, "fps_end_to_end": T / wall, "peak_mb": peak_mb(),
                                     "K": int(data.components.n_components)}))


def _score(truth, res: Path) -> dict:
    import scipy.sparse as sp

    from benchmarks.scoring import (detection_scores, match_components, shift_errors, trace_scores,
                                    truth_in_template)
    z = np.load(res)
    A = sp.csc_matrix((z["A_data"], z["A_indices"], z["A_indptr"]), shape=tuple(z["A_shape"]))
    acc = np.flatnonzero(z["status"] == 1)
    motion = shift_errors(z["shifts"], truth["shifts"])
    feet = truth_in_template(truth["footprints"], motion["offset"])
    pairs, _ = match_components(A[:, acc], feet, truth["radii"])
    out = {"shift_rmse": motion["rmse"], **detection_scores(pairs, len(acc), truth["active"])}
    tr = trace_scores(pairs, truth["active"], truth["traces"], truth["spikes"],
                      C=z["C"][acc], F=z["F"][acc], S=z["S"][acc])
    out.update({k: v for k, v in tr.items() if not k.endswith("_all")})
    return out


def make_movie(name: str, folder: Path, seed: int) -> tuple[Path, dict]:
    import pickle

    import tifffile

    from cnmf_gui.synthetic import make_realistic_movie
    path = folder / f"{name}_seed{seed}.tif"
    truth_path = path.with_suffix(".truth.pkl")
    if path.exists() and truth_path.exists():          # kept by an earlier run with --cache
        return path, pickle.loads(truth_path.read_bytes())
    spec = MOVIES[name]
    synth = make_realistic_movie(frame_rate=30.0, seed=seed, **spec)
    tifffile.imwrite(path, np.clip(np.round(synth.movie), 0, 65535).astype(np.uint16))
    truth = {"footprints": synth.footprints, "traces": synth.traces, "spikes": synth.spikes,
             "shifts": synth.shifts, "radii": synth.radii, "active": synth.spike_counts.sum(axis=1) > 0}
    del synth
    truth_path.write_bytes(pickle.dumps(truth))
    return path, truth


def _run_worker(kind: str, movie: Path, folder: Path, reuse: bool = False, code: str | None = None) -> dict:
    """Run one worker in a fresh process; ``kind`` "reference" is the online worker with the
    ``cnmf_gui`` package of the folder ``code`` (this file's worker code, that package)."""
    out = folder / f"{movie.stem}.{kind}.json"
    if reuse and out.exists() and out.with_suffix(".npz").exists():
        res = json.loads(out.read_text())
        res["reused"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(out.stat().st_mtime))
        return res
    root = str(Path(__file__).resolve().parents[1])
    path = root if code is None else os.pathsep.join([str(Path(code).resolve()), root])
    worker = "online" if kind == "reference" else kind
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", worker, str(movie), str(out)],
                   check=True, env={**os.environ, "PYTHONPATH": path})
    return json.loads(out.read_text())


def run_movie(name: str, folder: Path, seed: int, reuse=(), reference: str | None = None, skip=()) -> dict:
    movie, truth = make_movie(name, folder, seed)
    res = {"movie": name, "shape": MOVIES[name]}
    kinds = ["online"] + (["reference"] if reference else []) + ["batch"]
    for kind in kinds:
        if kind in skip:
            continue
        res[kind] = _run_worker(kind, movie, folder, reuse=kind in reuse, code=reference if kind == "reference" else None)
        res[kind]["score"] = _score(truth, folder / f"{movie.stem}.{kind}.npz")
    return res


def report(res: dict) -> str:
    cols = [k for k in ("online", "reference", "batch") if k in res]
    other = "batch" if "batch" in res else ("reference" if "reference" in res else None)
    T, H, W = res["shape"]["n_frames"], *res["shape"]["shape"]
    lines = [f"\n== {res['movie']}: {H}x{W}x{T} at 30 Hz, {res['shape']['n_cells']} cells =="]
    if "reference" in res:
        lines.append(f"reference: the package in {res['reference'].get('code', '?')}")
    lines.append(f"{'':26}" + "".join(f"{c:>11}" for c in cols) + (f"{'online - ' + other:>19}" if other else ""))
    rows = [("fps end to end", "fps_end_to_end", "{:11.1f}"), ("fps after initialisation", "fps_after_init", "{:11.1f}"),
            ("initialisation s", "init_s", "{:11.1f}"), ("CPU ms/frame mean", "cpu_mean_ms", "{:11.2f}"),
            ("CPU ms/frame median", "cpu_median_ms", "{:11.2f}"), ("CPU ms/frame p99", "cpu_p99_ms", "{:11.1f}"),
            ("latency ms median", "latency_median_ms", "{:11.2f}"), ("latency ms p99", "latency_p99_ms", "{:11.1f}"),
            ("peak memory MB", "peak_mb", "{:11.0f}"), ("components", "K", "{:11.0f}")]
    scores = [("shift RMSE px", "shift_rmse", "{:11.3f}"), ("F1 accepted", "f1", "{:11.3f}"),
              ("precision", "precision", "{:11.3f}"), ("recall", "recall", "{:11.3f}"), ("r(C)", "r_C", "{:11.3f}"),
              ("r(F)", "r_F", "{:11.3f}"), ("r(S) spikes", "r_S", "{:11.3f}")]
    for label, key, fmt in rows + scores:
        vals = [(res[c]["score"] if (label, key, fmt) in scores else res[c]).get(key) for c in cols]
        if all(v is None for v in vals):
            continue
        cells = "".join(fmt.format(v) if v is not None else f"{'-':>11}" for v in vals)
        if other and vals[0] is not None and vals[cols.index(other)] is not None:
            cells += fmt.replace("11", "19").format(vals[0] - vals[cols.index(other)])
        lines.append(f"{label:26}" + cells)
    for kind in cols:
        if res[kind].get("reused"):
            lines.append(f"{kind} results reused from {res[kind]['reused']} (same movie, --cache)")
    for kind in ("online", "reference"):
        on = res.get(kind)
        if on is None or "ref_cpu_ms" not in on:
            continue
        lines.append(f"{kind}: CPU per frame mean {on['cpu_mean_ms']:.2f} ms (= {1e3 / on['cpu_mean_ms']:.0f} fps on a "
                     f"core of its own); an FFT round trip (rfft2+irfft2 of a frame) {on['ref_cpu_ms']:.2f} ms CPU, "
                     f"{on['ref_wall_ms']:.2f} ms wall -> CPU per frame / FFT {on['cpu_mean_ms'] / on['ref_cpu_ms']:.1f}, "
                     f"median latency / FFT wall {on['latency_median_ms'] / on['ref_wall_ms']:.1f}; "
                     f"load {on['load']:.1f} at its end")
        rss = on["rss"]
        if len(rss) > 3:
            (f0, m0), (f1, m1) = rss[len(rss) // 4], rss[-1]
            traces = (f1 - f0) * on["trace_mb_per_frame"]
            lines.append(f"{kind}: memory (RSS MB) vs frames processed: "
                         + ", ".join(f"{f}:{m:.0f}" for f, m in rss[::max(1, len(rss) // 8)]))
            lines.append(f"{kind}: growth from frame {f0} to {f1}: {m1 - m0:.1f} MB, of which traces (F, C, S: K x T "
                         f"float32) {traces:.1f} MB; the rest {m1 - m0 - traces:.1f} MB")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--large", action="store_true", help="also the 512x512x3000 movie")
    ap.add_argument("--only", choices=sorted(MOVIES), action="append", help="only these movies")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folder", help="where to write movies (default: a temporary folder)")
    ap.add_argument("--cache", help="keep movies, truth and results in this folder (and reuse the movies)")
    ap.add_argument("--reuse", choices=["batch", "online", "reference"], action="append", default=[],
                    help="with --cache: take these workers' results from the cache when present")
    ap.add_argument("--reference", metavar="DIR",
                    help="also run the online worker with the cnmf_gui package in DIR (an older version)")
    ap.add_argument("--skip", choices=["batch"], action="append", default=[], help="leave this worker out")
    ap.add_argument("--json", help="write all results here")
    ap.add_argument("--worker", nargs=3, metavar=("KIND", "MOVIE", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        kind, movie, out = args.worker
        (worker_online if kind == "online" else worker_batch)(movie, out)
        return 0
    names = args.only or (["small", "medium"] + (["large"] if args.large else []))
    results = []
    if args.reuse and not args.cache:
        ap.error("--reuse needs --cache")
    if args.reference and not (Path(args.reference) / "cnmf_gui" / "__init__.py").is_file():
        ap.error(f"--reference {args.reference}: no cnmf_gui package in that folder")
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(args.cache) if args.cache else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            res = run_movie(name, folder, args.seed, reuse=args.reuse, reference=args.reference, skip=args.skip)
            results.append(res)
            print(report(res), flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of CNMF on synthetic movies with known truth: accuracy, time per stage, memory.

Run from the repository root::

    python -m benchmarks.cnmf            # 128 x 128 x 2000 and 512 x 512 x 3000
    python -m benchmarks.cnmf --quick    # 128 x 128 x 2000 only
    python -m benchmarks.cnmf --only 512x512x3000
    python -m benchmarks.cnmf --only 256x256x2000   # the same density, in minutes

Each movie runs in its own process, so the peak memory is that run's alone: the movie is made,
the peak resident set is reset (Linux ``clear_refs``), and the whole pipeline (CNMF,
deconvolution, evaluation, dF/F; no motion) runs on the movie held in memory. Printed:
F1, precision, recall (footprints matched one to one by cosine >= 0.5) of the accepted
components, median correlation of matched traces with the true calcium and of deconvolved
activity with the true spikes, wall time per stage, and peak memory (movie included) relative
to the raw movie's size. When suite2p is installed in ``/work/venv-peers`` (or
``$CNMF_GUI_PEERS_PYTHON``), the same numbers for suite2p on the same movie, in the same run.
Timings are of a shared machine: compare ratios within one run, not across runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time

CASES = {
    "128x128x2000": dict(n_frames=2000, shape=(128, 128), n_neurons=40, seed=101),
    "512x512x3000": dict(n_frames=3000, shape=(512, 512), n_neurons=600, seed=102),
    # the density of the others (one neuron per ~430 px), at a size that runs in minutes
    "256x256x2000": dict(n_frames=2000, shape=(256, 256), n_neurons=150, seed=103),
}


def _rss_peak_bytes() -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _rss_now() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run_case(name: str, save: str | None = None) -> dict:
    """One case in this process; returns the numbers as a dict.

    With ``save`` (a folder), the movie and its truth are written there for the peer run.
    """
    import numpy as np

    from cnmf_gui.cli.verb_run import StageClock
    from cnmf_gui.engine.pipeline import run_pipeline
    from cnmf_gui.params import PipelineParams
    from cnmf_gui.synthetic import make_movie
    from tests.cnmf_scoring import score

    # warm up: imports, numba caches and LLVM are a fixed cost, not the movie's (a movie large
    # enough that components are found, so the kernels after initialisation compile too)
    warm = make_movie(n_frames=300, shape=(64, 64), n_neurons=6, seed=1)
    run_pipeline(warm.movie, PipelineParams(frame_rate=30.0).replace("motion", enabled=False))
    del warm
    t0 = time.perf_counter()
    synth = make_movie(**CASES[name])
    t_make = time.perf_counter() - t0
    raw_bytes = synth.movie.nbytes
    params = PipelineParams(frame_rate=synth.frame_rate).replace("motion", enabled=False)
    # whole field: on two cores, patches (cnmf.patch_size) cost three times as long for the same
    # result (measured on 512 x 512 x 600: 63 s vs 19 s); they are for fields that do not fit
    # keep only what scoring needs, so the peak measures the pipeline, not the generator
    gc.collect()
    before = _rss_now()
    reset = _reset_peak()
    progress = StageClock()
    t0, cpu0 = time.perf_counter(), time.process_time()
    data = run_pipeline(synth.movie, params, progress=progress)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = _rss_peak_bytes() if reset else None
    result = {"case": name, "tool": "cnmf_gui", "make_s": t_make, "wall_s": wall, "cpu_s": cpu,
              "stages": progress.seconds, "raw_mb": raw_bytes / 2**20,
              "rss_before_mb": before / 2**20,
              "peak_mb": None if peak is None else peak / 2**20,
              "peak_ratio": None if peak is None else peak / raw_bytes,
              "extra_ratio": None if peak is None else (peak - before) / raw_bytes,
              "n_components": data.components.n_components}
    result.update(score(data.components, synth))
    result["all"] = score(data.components, synth, accepted_only=False)
    del data
    if save:
        np.save(os.path.join(save, "movie.npy"), synth.movie)
        A = synth.footprints_sparse
        np.savez(os.path.join(save, "truth.npz"), data=A.data, indices=A.indices, indptr=A.indptr,
                 shape=np.array(A.shape), traces=synth.traces, spikes=synth.spikes,
                 frame_rate=synth.frame_rate, H=synth.movie.shape[1], W=synth.movie.shape[2])
    return result


def score_suite2p(folder: str, name: str, info: dict) -> dict:
    """Score suite2p's ROIs (all of them, as suite2p reports them) against the saved truth."""
    from types import SimpleNamespace

    import numpy as np
    import scipy.sparse as sp

    from tests.cnmf_scoring import score

    truth = np.load(os.path.join(folder, "truth.npz"))
    out = np.load(os.path.join(folder, "suite2p.npz"))
    H, W = int(truth["H"]), int(truth["W"])
    K = len(out["counts"])
    cols = np.repeat(np.arange(K), out["counts"])
    A = sp.csc_matrix((out["lam"], (out["ypix"] * W + out["xpix"], cols)), shape=(H * W, K))
    comps = SimpleNamespace(A=A, C=out["F"], S=out["spks"], status=np.ones(K, int), n_components=K)
    feet = sp.csc_matrix((truth["data"], truth["indices"], truth["indptr"]), shape=tuple(truth["shape"]))
    synth = SimpleNamespace(footprints=feet.T.toarray().reshape(-1, H, W), n_neurons=feet.shape[1],
                            traces=truth["traces"], spikes=truth["spikes"])
    res = {"case": name, "tool": "suite2p (all ROIs)", "stages": info["stages"],
           "wall_s": sum(info["stages"].values()), "cpu_s": info.get("cpu_s"), "n_components": K}
    res.update(score(comps, synth))
    return res


def _peer_python() -> str | None:
    exe = os.environ.get("CNMF_GUI_PEERS_PYTHON", "/work/venv-peers/bin/python")
    return exe if os.path.exists(exe) else None


def _print(res: dict) -> None:
    print(f"\n== {res['case']}  ({res['tool']})")
    if "error" in res:
        print(f"  failed: {res['error']}")
        return
    print(f"  F1 {res['f1']:.3f}   precision {res['precision']:.3f}   recall {res['recall']:.3f}   "
          f"({res['n_found']} accepted of {res.get('n_components', res['n_found'])}, {res['n_true']} true)")
    if "all" in res:
        a = res["all"]
        print(f"  (all components: F1 {a['f1']:.3f}, precision {a['precision']:.3f}, recall {a['recall']:.3f})")
    print(f"  median trace corr {res['trace_corr']:.3f}   median spike corr {res['spike_corr']:.3f}")
    cpu = f", CPU {res['cpu_s']:.1f} s (all threads)" if res.get("cpu_s") is not None else ""
    print(f"  wall {res['wall_s']:.1f} s{cpu}  (movie generation {res.get('make_s', 0):.1f} s, not counted)")
    for stage, sec in res.get("stages", {}).items():
        print(f"    {stage:<22} {sec:7.2f} s")
    if res.get("peak_ratio") is not None:
        print(f"  memory: raw movie {res['raw_mb']:.0f} MB; peak resident {res['peak_mb']:.0f} MB = "
              f"{res['peak_ratio']:.2f}x the raw movie (interpreter and libraries included); "
              f"movie plus what the run added: {1 + res['extra_ratio']:.2f}x (goal <= 1.5x)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the small movie only")
    parser.add_argument("--no-suite2p", action="store_true", help="skip the suite2p comparison")
    parser.add_argument("--only", choices=list(CASES), help="this movie alone")
    parser.add_argument("--case", help=argparse.SUPPRESS)        # child mode
    parser.add_argument("--save", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case, args.save)))
        return 0
    names = [args.only] if args.only else ["128x128x2000"] if args.quick else list(CASES)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    peer = None if args.no_suite2p else _peer_python()
    if peer is None:
        print("suite2p: not installed in the peers' environment (or --no-suite2p): skipped")
    for name in names:
        with tempfile.TemporaryDirectory(prefix="cnmf_bench_") as folder:
            cmd = [sys.executable, "-m", "benchmarks.cnmf", "--case", name]
            if peer:
                cmd += ["--save", folder]
            proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
            if proc.returncode != 0:
                res = {"case": name, "tool": "cnmf_gui", "error": proc.stderr.strip().splitlines()[-1:]}
            else:
                res = json.loads(proc.stdout.strip().splitlines()[-1])
            _print(res)
            if peer is None or "error" in res:
                continue
            proc = subprocess.run([peer, os.path.join(root, "benchmarks", "cnmf_suite2p.py"),
                                   os.path.join(folder, "movie.npy"), os.path.join(folder, "suite2p.npz"),
                                   "30", str(2 * CASES[name].get("neuron_radius", 4.0)), "0.5"],
                                  cwd=root, capture_output=True, text=True)
            if proc.returncode != 0:
                print(f"  suite2p failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            s2p = score_suite2p(folder, name, json.loads(proc.stdout.strip().splitlines()[-1]))
            _print(s2p)
            print(f"  time ratio cnmf_gui / suite2p (detection to deconvolution, no registration): "
                  f"wall {res['wall_s'] / max(s2p['wall_s'], 1e-9):.2f}", end="")
            if res.get("cpu_s") and s2p.get("cpu_s"):
                # on a shared machine CPU time is the steadier measure of the work each does
                print(f", CPU {res['cpu_s'] / max(s2p['cpu_s'], 1e-9):.2f}", end="")
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

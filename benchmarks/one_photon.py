"""One-photon benchmark (issue 13): cnmf_gui's CNMF-E path against Minian 2.0.2 on synthetic
miniscope movies with ground truth, in one run.

    python -m benchmarks.one_photon [--movies easy hard large] [--cache DIR] [--minian-python PY]
                                    [--minian-cached] [--reuse] [--two-photon] [--ceilings]

For each movie (made once by :mod:`benchmarks.one_photon_movies` and cached): ``cnmf-gui run
--preset one-photon`` as a child process (motion correction included; the neuron radius is
estimated), timed, its peak resident memory from the kernel (``wait4``); Minian on its notebook
defaults with 2 dask workers through ``benchmarks/minian_runner.py`` under its own Python (cached:
one run per movie), peak memory summed over its process tree. Both scored by
``benchmarks/scoring.py``: footprints matched one to one, recall / precision / F1 on what each tool
keeps (cnmf_gui: accepted components; Minian: its final units), median trace r (C with the true
calcium) and spike r (S with the true spikes, 2-frame sums), after removing each tool's template
offset. ``--two-photon`` adds cnmf_gui with its two-photon defaults as a reference row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

from benchmarks.one_photon_movies import MOVIES, ensure_movie
from benchmarks.scoring import detection_scores, match_components, shift_errors, trace_scores, truth_in_template

DEFAULT_CACHE = os.path.join(os.environ.get("TMPDIR", "/tmp"), "cnmf_gui_onephoton")
MINIAN_PYTHON = "/work/venv-minian/bin/python"


def _child(cmd, env=None):
    """Run ``cmd``; (seconds, peak RSS bytes of the child, return code)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, usage.ru_maxrss * 1024, proc.returncode, out


def _score(A, C, S, shifts, synth) -> dict:
    K = A.shape[1]
    motion = shift_errors(shifts, synth.shifts) if shifts is not None else None
    offset = motion["offset"] if motion is not None else [0.0, 0.0]
    feet = truth_in_template(synth.footprints, offset)
    pairs, _ = match_components(A, feet, synth.radii)
    out = detection_scores(pairs, K, synth.active)
    out.update({k: v for k, v in trace_scores(pairs, synth.active, synth.traces, synth.spikes, C=C, S=S).items()
                if not k.endswith("_all")})
    out["motion_rmse"] = motion["rmse"] if motion is not None else float("nan")
    return out


def run_cnmf_gui(movie_path, synth, workdir, preset, reuse=False):
    import json

    from cnmf_gui.io import load_session

    out = os.path.join(workdir, f"cnmf_gui_{preset}_{os.path.basename(movie_path)}.h5")
    stamp = out + ".json"            # time and memory of the run that wrote ``out``
    if reuse and os.path.exists(out) and os.path.exists(stamp):
        with open(stamp) as fh:
            record = json.load(fh)
        seconds, peak = record["seconds"], record["peak_bytes"]
    else:
        for old in (out, stamp):
            if os.path.exists(old):
                os.remove(old)
        env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        cmd = [sys.executable, "-m", "cnmf_gui", "run", movie_path, "--out", out, "--fs", "20", "--quiet"]
        if preset:
            cmd += ["--preset", preset]
        seconds, peak, code, text = _child(cmd, env)
        if code != 0:
            raise RuntimeError(f"cnmf-gui run failed ({code}): {text[-2000:]}")
        with open(stamp, "w") as fh:
            json.dump({"seconds": seconds, "peak_bytes": peak}, fh)
    data = load_session(out)
    comps = data.components
    keep = np.nonzero(comps.status == 1)[0]
    shifts = data.motion.shifts if data.motion is not None else None
    row = _score(comps.A[:, keep], comps.C[keep], comps.S[keep], shifts, synth)
    row.update(units=int(comps.n_components), seconds=seconds, peak_gb=peak / 2**30)
    return row


def run_minian(movie_path, synth, cache, python, cached_only=False):
    name = os.path.splitext(os.path.basename(movie_path))[0]
    result = os.path.join(cache, f"minian_{name.replace('onep_', '')}.npz")
    if not os.path.exists(result):
        if cached_only or not os.path.exists(python):
            return None
        work = os.path.join(cache, f"minian_{name}")
        os.makedirs(work, exist_ok=True)
        runner = os.path.join(os.path.dirname(os.path.abspath(__file__)), "minian_runner.py")
        # at the benchmark's own priority (run the whole benchmark under nice): a Minian niced
        # further than cnmf_gui would get less of a loaded machine and its time ratio would flatter us
        seconds, _, code, text = _child([python, runner, movie_path, result, work])
        if code != 0 or not os.path.exists(result):
            print(f"minian failed on {name}: {text[-1500:]}", file=sys.stderr)
            return None
    z = np.load(result)
    A = z["A"]
    K, H, W = A.shape
    A = A.reshape(K, H * W).T
    shifts = z["shifts"].reshape(-1, 2)
    # Minian's motion is the displacement it measured; ours the correction: pick the sign that fits
    best = None
    for sign in (1.0, -1.0):
        row = _score(A, z["C"], z["S"], sign * shifts, synth)
        if best is None or row["motion_rmse"] < best["motion_rmse"]:
            best = row
    best.update(units=int(K), seconds=float(z["seconds"]), peak_gb=float(z["peak_bytes"]) / 2**30)
    return best


def _line(movie, tool, r):
    return (f"| {movie} | {tool} | {r['units']} | {r['recall']:.2f} | {r['precision']:.2f} | {r['f1']:.2f} | "
            f"{r['r_C']:.3f} | {r['r_S']:.3f} | {r['seconds']:.0f} s | {r['peak_gb']:.2f} GB | {r['motion_rmse']:.2f} px |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--movies", nargs="+", default=["easy", "hard"], choices=sorted(MOVIES))
    ap.add_argument("--cache", default=DEFAULT_CACHE, help="folder for the movies and Minian's results")
    ap.add_argument("--minian-python", default=MINIAN_PYTHON)
    ap.add_argument("--two-photon", action="store_true", help="also cnmf_gui with its two-photon defaults")
    ap.add_argument("--reuse", action="store_true",
                    help="score cnmf_gui's sessions already in --cache (with their recorded time and memory) "
                         "instead of running it again")
    ap.add_argument("--ceilings", action="store_true",
                    help="also where cnmf_gui's spike r is lost (benchmarks/one_photon_ceilings.py)")
    ap.add_argument("--minian-cached", action="store_true",
                    help="only Minian results already in --cache (a Minian run takes hours on 2 cores)")
    args = ap.parse_args(argv)
    print("| movie | tool | units | recall | precision | F1 | trace r | spike r | time | peak memory | motion RMSE |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    ceilings = []
    for name in args.movies:
        path, synth = ensure_movie(args.cache, name)
        ours = run_cnmf_gui(path, synth, args.cache, "one-photon", reuse=args.reuse)
        print(_line(name, "cnmf_gui one-photon", ours), flush=True)
        if args.ceilings:
            from benchmarks.one_photon_ceilings import ceiling_line, spike_ceilings
            session = os.path.join(args.cache, f"cnmf_gui_one-photon_{os.path.basename(path)}.h5")
            ceilings.append(ceiling_line(name, spike_ceilings(session, synth)))
        if args.two_photon:
            print(_line(name, "cnmf_gui two-photon defaults", run_cnmf_gui(path, synth, args.cache, None, reuse=args.reuse)), flush=True)
        theirs = run_minian(path, synth, args.cache, args.minian_python, cached_only=args.minian_cached)
        if theirs is None:
            why = "no cached result" if args.minian_cached else f"no {args.minian_python}"
            print(f"| {name} | Minian 2.0.2 | not run ({why}) | | | | | | | | |")
            continue
        print(_line(name, "Minian 2.0.2", theirs))
        print(f"|  | ratio (Minian / cnmf_gui) | | | | | | | time {theirs['seconds'] / ours['seconds']:.1f}x | "
              f"memory {theirs['peak_gb'] / ours['peak_gb']:.1f}x | |", flush=True)
    for line in ceilings:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())

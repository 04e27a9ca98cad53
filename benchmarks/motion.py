"""Motion-correction benchmark: speed, memory and accuracy on 512 x 512 frames.

Run as ``python -m benchmarks.motion [--frames 1000] [--size 512] [--gb 2] [--no-suite2p]``.
Prints, all measured in this run on this machine:

1. frames per second of ``estimate_motion`` (estimate plus apply plus QC, one pass) for rigid
   and piecewise-rigid correction, as ratios to the goals (200 and 100 fps) and to a reference
   measured in the same run (one batched ``rfft2`` of the same frames: the floor any FFT
   registration pays);
2. peak anonymous memory while correcting a memory-mapped ``.npy`` movie larger than the chunk
   budget (``--gb``), relative to one chunk and to the movie's size;
3. RMS shift error against the known truth of synthetic movies (``cnmf_gui.synthetic``), rigid
   and non-rigid (patch shifts against the true field averaged over each patch);
4. on a low-SNR synthetic movie (read noise 5x the spike size): shift RMSE with the automatic
   temporal bin against single frames, and the share of frames flagged unreliable;
5. where suite2p is installed (here or in ``/work/venv-peers``, run through a subprocess), its
   registration time and error on the same movies.

Timings are wall-clock on a shared machine: compare ratios, not absolute numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from cnmf_gui.engine.motion import estimate_motion
from cnmf_gui.engine.motion.piecewise import make_patch_grid
from cnmf_gui.params import MotionParams

PEERS_PYTHON = Path("/work/venv-peers/bin/python")


def rigid_rmse(estimate, truth) -> float:
    """RMS distance after removing the constant offset (the template's position is arbitrary)."""
    d = np.asarray(estimate, float) - np.asarray(truth, float)
    d -= d.mean(axis=0)
    return float(np.sqrt((d ** 2).sum(axis=1).mean()))


def patch_truth(sm, grid) -> np.ndarray:
    """True correction averaged over each patch, (T, gy, gx, 2), frame by frame (no T*H*W*2 array)."""
    ps = grid.size
    out = np.empty((sm.movie.shape[0], len(grid.row_starts), len(grid.col_starts), 2))
    for t in range(sm.movie.shape[0]):
        f = sm.shift_field_at(t)
        for i, a in enumerate(grid.row_starts):
            for j, b in enumerate(grid.col_starts):
                out[t, i, j] = f[a:a + ps, b:b + ps].mean(axis=(0, 1))
    return out


def fluctuation_rmse(error) -> float:
    e = np.asarray(error, float)
    e = e - e.mean(axis=0)
    return float(np.sqrt((e ** 2).sum(axis=-1).mean()))


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def fft_reference(movie) -> float:
    """CPU seconds per frame of one batched float32 rfft2 over the movie (single thread)."""
    import scipy.fft as sfft

    n = min(len(movie), 256)
    x = np.asarray(movie[:n], np.float32)
    sfft.rfft2(x[:8])
    t0 = time.process_time()
    sfft.rfft2(x)
    return (time.process_time() - t0) / n


def speed(movie, label: str) -> dict:
    T = len(movie)
    estimate_motion(movie[:32], MotionParams(pc_metric=False))  # compile the numba kernels
    out = {}
    ref = fft_reference(movie)
    cores = os.cpu_count() or 1
    for name, params, goal in (("rigid", MotionParams(), 200), ("piecewise-rigid", MotionParams(pw_rigid=True), 100)):
        cpu0 = time.process_time()
        result, dt = timed(estimate_motion, movie, params)
        cpu = time.process_time() - cpu0
        fps = T / dt
        # CPU time summed over our threads: what the work costs, whatever else the machine runs.
        capacity = T / (cpu / cores)
        out[name] = fps
        print(f"  {name:16s} {fps:7.1f} frames/s wall ({fps / goal:.2f} x the goal of {goal}); "
              f"CPU {1e3 * cpu / T:.2f} ms/frame = {capacity:.0f} frames/s on {cores} idle cores "
              f"({capacity / goal:.2f} x goal); one frame costs {cpu / T / ref:.1f} x a single-thread rfft2 "
              f"of it  [{label}]")
    return out


class AnonPeak:
    """Samples the process's anonymous resident memory (RssAnon) in a thread; file-backed pages of a
    memory-mapped movie are the page cache, not our memory, and are left out."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    @staticmethod
    def now() -> int:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1]) * 1024
        return 0

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            time.sleep(self.interval)

    def __enter__(self):
        self.base = self.now()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.now())


def memory(frames, gb: float, folder: Path) -> None:
    """Peak memory while correcting a memory-mapped movie of ``gb`` GB built by repeating ``frames``."""
    T0, H, W = frames.shape
    T = int(gb * 2 ** 30 / (H * W * 4))
    path = folder / "big.npy"
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(T, H, W))
    for s in range(0, T, T0):
        mm[s:min(s + T0, T)] = frames[:min(T0, T - s)]
    mm.flush()
    del mm
    p = MotionParams()
    code = (
        "import numpy as np, json, sys, time\n"
        "from benchmarks.motion import AnonPeak\n"
        "from cnmf_gui.engine.motion import estimate_motion\n"
        "from cnmf_gui.params import MotionParams\n"
        f"movie = np.load({str(path)!r}, mmap_mode='r')\n"
        "estimate_motion(np.array(movie[:16]), MotionParams(pc_metric=False))\n"
        "with AnonPeak() as peak:\n"
        "    t0 = time.perf_counter(); estimate_motion(movie, MotionParams()); dt = time.perf_counter() - t0\n"
        "print(json.dumps({'base': peak.base, 'peak': peak.peak, 'seconds': dt}))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1])
    path.unlink()
    if res.returncode != 0:
        print("  memory run failed:", res.stderr.strip().splitlines()[-1:])
        return
    info = json.loads(res.stdout.strip().splitlines()[-1])
    extra = info["peak"] - info["base"]
    chunk_bytes = p.chunk_frames * H * W * 4
    movie_bytes = T * H * W * 4
    print(f"  movie {movie_bytes / 2 ** 30:.2f} GB ({T} frames, memory-mapped .npy), chunk {p.chunk_frames} frames "
          f"= {chunk_bytes / 2 ** 20:.0f} MB")
    print(f"  peak extra anonymous memory {extra / 2 ** 20:.0f} MB = {extra / chunk_bytes:.1f} chunks = "
          f"{extra / movie_bytes:.3f} x the movie;  {T / info['seconds']:.0f} frames/s from disk")


def accuracy(sm_rigid, sm_nonrigid) -> dict:
    out = {}
    r = estimate_motion(sm_rigid.movie, MotionParams())
    out["rigid"] = rigid_rmse(r.shifts, sm_rigid.shifts)
    print(f"  rigid            shift RMSE {out['rigid']:.3f} px (goal <= 0.1)")
    H, W = sm_nonrigid.movie.shape[1:]
    p = MotionParams(pw_rigid=True)
    r = estimate_motion(sm_nonrigid.movie, p)
    truth = patch_truth(sm_nonrigid, make_patch_grid((H, W), p.patch_size, p.patch_overlap))
    out["piecewise"] = fluctuation_rmse(r.shifts_pw - truth)
    out["piecewise_rigid_only"] = fluctuation_rmse(
        estimate_motion(sm_nonrigid.movie, MotionParams()).shifts[:, None, None, :] - truth)
    print(f"  piecewise-rigid  patch shift RMSE {out['piecewise']:.3f} px (goal <= 0.2; "
          f"rigid correction alone: {out['piecewise_rigid_only']:.3f} px)")
    return out


def low_snr() -> None:
    """Low-SNR registration: automatic temporal bins against single frames, on a noisy movie."""
    from cnmf_gui.synthetic import make_movie

    sm = make_movie(n_frames=300, shape=(128, 128), n_neurons=25, motion="rigid", max_shift=4.0, seed=3,
                    noise=5.0)
    for label, params in (("automatic bin", MotionParams(pc_metric=False)),
                          ("single frames", MotionParams(pc_metric=False, temporal_bin=1))):
        r = estimate_motion(sm.movie, params)
        m = r.metrics
        print(f"  {label:14s} bin {m['temporal_bin']:3.0f}: shift RMSE {rigid_rmse(r.shifts, sm.shifts):.3f} px "
              f"(motion sd {np.sqrt((sm.shifts.var(axis=0)).sum()):.2f} px); predicted sd "
              f"{m['predicted_precision'].max():.3f} px/axis; unreliable frames {m['unreliable_fraction']:.0%}")


def suite2p(folder: Path, sm_rigid, sm_nonrigid) -> None:
    """suite2p's registration time and error on the same movies, in its own environment."""
    script = Path(__file__).with_name("motion_suite2p.py")
    python = None
    try:
        import suite2p  # noqa: F401
        python = sys.executable
    except ImportError:
        if PEERS_PYTHON.exists():
            python = str(PEERS_PYTHON)
    if python is None:
        print("  suite2p not installed (here or in /work/venv-peers): skipped")
        return
    for name, sm in (("rigid", sm_rigid), ("nonrigid", sm_nonrigid)):
        path = folder / f"{name}.npy"
        np.save(path, sm.movie)
        res = subprocess.run([python, str(script), name, str(path)], capture_output=True, text=True)
        path.unlink()
        if res.returncode != 0:
            print(f"  suite2p {name}: failed: {(res.stderr.strip().splitlines() or ['?'])[-1]}")
            continue
        info = json.loads(res.stdout.strip().splitlines()[-1])
        T, H, W = sm.movie.shape
        theirs = np.asarray(info["shifts"])
        p = MotionParams(pw_rigid=(name == "nonrigid"))
        ours, ours_dt = timed(estimate_motion, sm.movie, p)
        if name == "rigid":
            err = rigid_rmse(theirs, sm.shifts)
            our_err = rigid_rmse(ours.shifts, sm.shifts)
            what = "shift RMSE"
        else:
            # Each method against the true field at its own block / patch centres.
            cy = np.round(info["block_centers_y"]).astype(int)
            cx = np.round(info["block_centers_x"]).astype(int)
            oc = np.round(ours.patch_centers).astype(int)
            truth_theirs = np.empty(theirs.shape)
            truth_ours = np.empty(ours.shifts_pw.shape)
            for t in range(T):
                f = sm.shift_field_at(t)
                truth_theirs[t] = f[cy[:, None], cx[None, :]]
                truth_ours[t] = f[oc[..., 0], oc[..., 1]]
            err = fluctuation_rmse(theirs - truth_theirs)
            our_err = fluctuation_rmse(ours.shifts_pw - truth_ours)
            what = "block/patch shift RMSE at the centres"
        print(f"  {name:9s} suite2p {info['seconds']:6.1f} s ({T / info['seconds']:5.0f} frames/s), {what} {err:.3f} px"
              f" | ours {ours_dt:5.1f} s ({T / ours_dt:5.0f} frames/s), {our_err:.3f} px"
              f" | ours is {info['seconds'] / ours_dt:.1f}x faster, error ratio {our_err / max(err, 1e-9):.2f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=1000, help="frames for the speed runs")
    ap.add_argument("--size", type=int, default=512, help="frame side, px")
    ap.add_argument("--truth-frames", type=int, default=200, help="frames of each synthetic movie with truth")
    ap.add_argument("--gb", type=float, default=2.0, help="size of the memory-mapped movie (0 = skip)")
    ap.add_argument("--no-suite2p", action="store_true")
    ap.add_argument("--only", nargs="+", choices=("speed", "accuracy", "lowsnr", "memory", "suite2p"),
                    help="run only these parts")
    args = ap.parse_args(argv)
    parts = set(args.only or ("speed", "accuracy", "lowsnr", "memory", "suite2p"))
    if args.no_suite2p:
        parts.discard("suite2p")
    from cnmf_gui.synthetic import make_movie

    S = args.size
    n_neurons = int(30 * (S / 128) ** 2 / 2)
    print(f"motion benchmark: {S} x {S} frames, {os.cpu_count()} cores (shared machine: timings are noisy)")
    t0 = time.perf_counter()
    sm_rigid = None
    if parts - {"lowsnr"}:
        sm_rigid = make_movie(n_frames=args.truth_frames, shape=(S, S), n_neurons=n_neurons, motion="rigid",
                              max_shift=5.0, seed=11)
    sm_nonrigid = None
    if parts & {"accuracy", "suite2p"}:
        sm_nonrigid = make_movie(n_frames=args.truth_frames, shape=(S, S), n_neurons=n_neurons, motion="nonrigid",
                                 max_shift=3.0, deformation=1.5, seed=12)
    print(f"(synthetic movies made in {time.perf_counter() - t0:.0f} s)")

    if "speed" in parts:
        print("speed (estimate + apply + QC in one pass):")
        reps = int(np.ceil(args.frames / args.truth_frames))
        movie = np.concatenate([sm_rigid.movie] * reps)[:args.frames]
        speed(movie, f"{len(movie)} frames")
        del movie
    if "accuracy" in parts:
        print("accuracy against the synthetic truth:")
        accuracy(sm_rigid, sm_nonrigid)
    if "lowsnr" in parts:
        print("low SNR (128 x 128, noise 5x the spike size):")
        low_snr()
    with tempfile.TemporaryDirectory(dir="/work" if os.path.isdir("/work") else None) as tmp:
        if args.gb > 0 and "memory" in parts:
            print("memory (out of core):")
            memory(sm_rigid.movie, args.gb, Path(tmp))
        if "suite2p" in parts:
            print("suite2p on the same movies:")
            suite2p(Path(tmp), sm_rigid, sm_nonrigid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

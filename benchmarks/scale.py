"""Memory and time of ``run`` as the recording grows, and patches on dask against the whole field.

Run from the repository root (big files: several GB each, written to --dir and deleted after)::

    nice python -m benchmarks.scale                      # 1024 x 1024 x 1000 / 2000 / 4000 frames
    nice python -m benchmarks.scale --frames 1000,2000 --size 512
    nice python -m benchmarks.scale --patches            # 1024 x 1024 x 2000: whole field, 1 and 2 workers
    nice python -m benchmarks.scale --big                # also a movie larger than RAM (when disk allows)
    python -m benchmarks.scale --big --frames ""         # that alone (it reuses a kept 1000-frame movie)

Each movie is written on disk in chunks (uint16 .npy: rigid motion, ~1 neuron per 2,500 px,
AR(1) calcium, a slow background, Gaussian noise), then ``cnmf-gui``'s pipeline runs on it in
its own process (session.open_movie + run_pipeline, as ``cnmf-gui run``), while a thread samples
that process's anonymous resident memory (RssAnon in /proc/self/status: what the run allocated,
not the movie's pages in the file cache) every 50 ms. Printed per run: wall time, peak anonymous
memory, the part that the K x T traces explain (K components x T frames x 8 float64 arrays), the
peak per stage, and the ratios the issue asks for: peak(4000) / peak(1000) apart from K x T, and
peak(4000) / movie size.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.environ.get("CNMF_GUI_SCALE_DIR", "/work/scratch/scale")


# ------------------------------------------------------------------------------------------------
# the movie, written in chunks
# ------------------------------------------------------------------------------------------------
def write_movie(path: str, n_frames: int, size: int, seed: int = 0, chunk: int = 50) -> dict:
    """A synthetic uint16 movie of shape (n_frames, size, size) written chunk by chunk to ``path``."""
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    pad = 4
    H = W = size + 2 * pad
    K = max(1, size * size // 2500)
    radius = 4.0
    centres = rng.uniform(pad + 8, size + pad - 8, (K, 2))
    yy, xx = np.mgrid[-10:11, -10:11]
    rows, cols, vals = [], [], []
    for k, (r, c) in enumerate(centres):
        rr, cc = np.round(r).astype(int) + yy, np.round(c).astype(int) + xx
        g = np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * (radius / 1.5) ** 2))
        keep = (g > 0.05) & (rr >= 0) & (rr < H) & (cc >= 0) & (cc < W)
        rows.append(rr[keep] * W + cc[keep])
        cols.append(np.full(keep.sum(), k))
        vals.append(g[keep])
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(H * W, K))
    g_ar = np.exp(-1 / (30 * 0.4))
    spikes = rng.poisson(0.02, (K, n_frames)).astype(np.float32)
    calcium = np.zeros_like(spikes)
    level = np.zeros(K, np.float32)
    for t in range(n_frames):
        level = g_ar * level + spikes[:, t]
        calcium[:, t] = level
    amplitude = rng.uniform(150, 300, K).astype(np.float32)
    vignette = (1.0 - 0.3 * ((np.mgrid[0:H, 0:W] - H / 2) ** 2).sum(0) / (H * H / 2)).astype(np.float32)
    base = 300.0 * vignette
    shifts = np.clip(np.cumsum(rng.integers(-1, 2, (n_frames, 2)), axis=0) // 4, -pad, pad)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint16, shape=(n_frames, size, size))
    for a in range(0, n_frames, chunk):
        b = min(a + chunk, n_frames)
        act = np.asarray((A @ (calcium[:, a:b] * amplitude[:, None])).T, np.float32).reshape(b - a, H, W)
        drift = np.float32(1.0 + 0.05 * np.sin(np.arange(a, b) / 300.0))[:, None, None]
        frames = act + base * drift
        frames += rng.standard_normal(frames.shape, dtype=np.float32) * 25.0
        for i in range(b - a):
            dy, dx = shifts[a + i]
            out[a + i] = np.clip(frames[i, pad + dy:pad + dy + size, pad + dx:pad + dx + size], 0, 65535)
    out.flush()
    del out
    return {"n_neurons": K, "bytes": n_frames * size * size * 2}


BLOCK = 1000


def write_long_movie(path: str, n_frames: int, block_path: str, chunk: int = 100) -> None:
    """A movie of ``n_frames`` frames made of a shorter movie played forwards, backwards, forwards...

    Drawing a movie larger than RAM frame by frame took hours on a loaded machine; copying a
    1000-frame movie is bound by the disk. Playing every other copy backwards keeps the traces
    and the motion continuous where copies meet.
    """
    src = np.load(block_path, mmap_mode="r")
    L, H, W = src.shape
    out = np.lib.format.open_memmap(path, mode="w+", dtype=src.dtype, shape=(n_frames, H, W))
    for a in range(0, n_frames, chunk):
        b = min(a + chunk, n_frames)
        t = np.arange(a, b)
        k, r = t // L, t % L
        idx = np.where(k % 2 == 0, r, L - 1 - r)
        out[a:b] = src[idx]
    out.flush()
    del out


# ------------------------------------------------------------------------------------------------
# one run, in a child process
# ------------------------------------------------------------------------------------------------
def _rss_anon() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("RssAnon:"):
                return int(line.split()[1]) * 1024
    return 0


class _Sampler:
    """Samples RssAnon every 50 ms; keeps the peak overall and per stage (progress message prefix)."""

    def __init__(self):
        self.stage = "open"
        self.peak = 0
        self.per_stage: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            time.sleep(0.05)

    def sample(self):
        v = _rss_anon()
        self.peak = max(self.peak, v)
        self.per_stage[self.stage] = max(self.per_stage.get(self.stage, 0), v)

    def report(self, fraction, message=""):
        self.sample()
        stage = message.split(":", 1)[0].strip() or self.stage
        if stage != self.stage:
            # a long run shows where it is (the parent passes stderr through)
            print(f"  {time.strftime('%H:%M:%S')} {stage} (peak so far {self.peak / 2**30:.2f} GB)",
                  file=sys.stderr, flush=True)
        self.stage = stage

    def cancel_requested(self):
        return False

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.sample()


def child(movie: str, params_json: str) -> dict:
    sys.path.insert(0, ROOT)
    from cnmf_gui.params import PipelineParams
    from cnmf_gui.session import Session

    params = PipelineParams.from_dict(json.loads(params_json))
    session = Session(params)
    base = _rss_anon()
    with _Sampler() as sampler:
        t0 = time.perf_counter()
        session.open_movie(movie)
        session.run_pipeline(progress=sampler)
        wall = time.perf_counter() - t0
        sampler.stage = "done"
    comps = session.data.components
    session.close_movie()
    T = int(comps.C.shape[1])
    return {"wall_s": wall, "peak_anon": sampler.peak, "start_anon": base, "K": int(comps.n_components),
            "T": T, "per_stage": sampler.per_stage,
            # C, S, F, dff, their float64 copies in the review and deconvolution: ~8 K x T arrays
            "kxt_bytes": int(comps.n_components) * T * 8 * 8}


def run_child(movie: str, params: dict) -> dict:
    code = ("import json, sys; sys.path.insert(0, %r); from benchmarks.scale import child; "
            "print('RESULT', json.dumps(child(%r, %r)))" % (ROOT, movie, json.dumps(params)))
    env = dict(os.environ, PYTHONPATH=ROOT, QT_QPA_PLATFORM="offscreen")
    done = subprocess.run(["nice", sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"run failed (exit status {done.returncode}; its messages are above)")


# ------------------------------------------------------------------------------------------------
def _gb(v: float) -> str:
    return f"{v / 2**30:6.2f} GB"


def _movie(folder, T, size, keep_existing=True):
    path = os.path.join(folder, f"scale_{T}x{size}x{size}.npy")
    if not (keep_existing and os.path.exists(path)):
        t = time.perf_counter()
        try:
            write_movie(path + ".tmp.npy", T, size)
        except BaseException:    # interrupted: no half-written movie left on the shared disk
            if os.path.exists(path + ".tmp.npy"):
                os.remove(path + ".tmp.npy")
            raise
        os.replace(path + ".tmp.npy", path)
        print(f"  wrote {path} ({_gb(os.path.getsize(path))}) in {time.perf_counter() - t:.0f} s", flush=True)
    return path


def memory_table(folder, frames, size, params, keep):
    rows = []
    for T in frames:
        path = _movie(folder, T, size)
        r = run_child(path, params)
        r["T"], r["movie_bytes"] = T, os.path.getsize(path)
        rows.append(r)
        stages = ", ".join(f"{k} {v / 2**30:.2f}" for k, v in r["per_stage"].items())
        print(f"{size}x{size}x{T}: wall {r['wall_s']:7.1f} s  peak anon {_gb(r['peak_anon'])}  "
              f"(K={r['K']}, K x T part {_gb(r['kxt_bytes'])}, movie {_gb(r['movie_bytes'])})\n"
              f"    per stage (GB): {stages}", flush=True)
        if not keep:
            os.remove(path)
    if len(rows) >= 2:
        a, b = rows[0], rows[-1]
        grow = (b["peak_anon"] - b["kxt_bytes"]) / max(1, a["peak_anon"] - a["kxt_bytes"])
        print(f"peak({b['T']}) / peak({a['T']}) apart from K x T: {grow:.2f}  (goal <= 1.2)")
        print(f"peak({b['T']}) / movie size: {b['peak_anon'] / b['movie_bytes']:.2f}  (goal < 0.3)")
    return rows


def patch_table(folder, size, T, params, keep):
    path = _movie(folder, T, size)
    side = size // 2 + 16          # a 2 x 2 grid with the default 16 px overlap
    runs = [("whole field", {}),
            (f"{side} px patches, 1 worker", {"patch_size": side, "n_workers": 1}),
            (f"{side} px patches, 2 workers", {"patch_size": side, "n_workers": 2})]
    ref = None
    for name, cnmf in runs:
        p = json.loads(json.dumps(params))
        p.setdefault("cnmf", {}).update(cnmf)
        r = run_child(path, p)
        ref = ref or r["wall_s"]
        print(f"{size}x{size}x{T} {name:<28}: wall {r['wall_s']:7.1f} s ({r['wall_s'] / ref:.2f}x whole field), "
              f"K={r['K']}, peak anon {_gb(r['peak_anon'])}", flush=True)
    if not keep:
        os.remove(path)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", default="1000,2000,4000")
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--dir", default=DEFAULT_DIR, help="where the movies are written (and deleted)")
    ap.add_argument("--patches", action="store_true", help="whole field vs patches on 1 and 2 workers "
                                                           "(2000 frames)")
    ap.add_argument("--patch-frames", type=int, default=2000, help="frames of the --patches movie")
    ap.add_argument("--big", action="store_true", help="also a movie larger than this machine's RAM")
    ap.add_argument("--keep", action="store_true", help="keep the movies for the next run")
    ap.add_argument("--no-motion", action="store_true")
    args = ap.parse_args(argv)
    os.makedirs(args.dir, exist_ok=True)
    params = {"frame_rate": 30.0}
    if args.no_motion:
        params["motion"] = {"enabled": False}
    if args.patches:
        patch_table(args.dir, args.size, args.patch_frames, params, args.keep)
        return 0
    frames = [int(v) for v in args.frames.split(",") if v.strip()]     # --frames "" with --big: the big run alone
    if frames:
        memory_table(args.dir, frames, args.size, params, args.keep)
    if args.big:
        big_run(args.dir, args.size, params, args.keep)
    return 0


def big_run(folder, size, params, keep=False):
    """A movie larger than RAM (and at least 26 GB), when the disk has room for it and 30% to spare."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    need = max(int(ram * 1.1), 26 * 2**30)
    T = int(np.ceil(need / (size * size * 2) / 100) * 100)
    free = shutil.disk_usage(folder).free
    if free < need * 1.3:
        print(f"larger-than-RAM run skipped: it needs {_gb(need)} on {folder}, {_gb(free)} free")
        return
    path = os.path.join(folder, f"scale_{T}x{size}x{size}.npy")
    block = os.path.join(folder, f"scale_{BLOCK}x{size}x{size}.npy")
    block_existed = os.path.exists(block)
    t = time.perf_counter()
    try:
        write_long_movie(path, T, _movie(folder, BLOCK, size))
        if not (block_existed or keep):
            os.remove(block)
    except BaseException:
        if os.path.exists(path):
            os.remove(path)
        raise
    print(f"  wrote {path} ({_gb(os.path.getsize(path))}) in {time.perf_counter() - t:.0f} s", flush=True)
    try:
        r = run_child(path, params)
        stages = ", ".join(f"{k} {v / 2**30:.2f}" for k, v in r["per_stage"].items())
        print(f"{size}x{size}x{T} ({_gb(os.path.getsize(path))}, RAM {_gb(ram)}): wall {r['wall_s']:.0f} s, "
              f"peak anon {_gb(r['peak_anon'])} ({r['peak_anon'] / os.path.getsize(path):.3f}x the movie), "
              f"K={r['K']}, K x T part {_gb(r['kxt_bytes'])}\n    per stage (GB): {stages}", flush=True)
    finally:
        os.remove(path)


if __name__ == "__main__":
    sys.exit(main())

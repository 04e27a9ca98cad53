"""Memory that does not grow with the recording (issue 16): CNMF keeps O(pixels x components +
components x frames) plus a few chunks, never O(pixels x frames).

The movie is rendered lazily frame by frame (never held whole), so what tracemalloc sees at its
peak is what the pipeline itself kept. Tripling the number of frames may add the K x T traces
and nothing of the size of the movie.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.pipeline import run_cnmf
from cnmf_gui.engine.streaming import iter_chunks, release_freed_memory
from cnmf_gui.params import PipelineParams

SIDE = 96
K = 6


class LazyMovie:
    """K Gaussian neurons with AR(1) calcium on a flat background; frame t's noise is seeded by t,
    so any slicing gives the same pixels and nothing of size (T, H, W) ever exists."""

    def __init__(self, n_frames: int, seed: int = 5):
        rng = np.random.default_rng(seed)
        self.shape = (n_frames, SIDE, SIDE)
        self.dtype = np.dtype(np.float32)
        self.frame_rate = 30.0
        yy, xx = np.mgrid[:SIDE, :SIDE]
        centres = rng.uniform(15, SIDE - 15, (K, 2))
        feet = [np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / (2 * 2.5 ** 2)) for r, c in centres]
        self.A = sp.csr_matrix(np.array([f.ravel() * (f.ravel() > 0.05) for f in feet]).T)
        spikes = rng.poisson(0.03, (K, n_frames))
        self.C = np.zeros((K, n_frames))
        level = np.zeros(K)
        for t in range(n_frames):
            level = 0.93 * level + spikes[:, t]
            self.C[:, t] = level
        self.seed = seed

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        T = self.shape[0]
        idx = np.arange(T)[key]
        idx = np.atleast_1d(idx)
        act = np.asarray(self.A @ (30.0 * self.C[:, idx])).T.reshape(len(idx), SIDE, SIDE)
        noise = np.stack([np.random.default_rng([self.seed, int(t)]).standard_normal((SIDE, SIDE))
                          for t in idx])
        frames = (100.0 + act + 3.0 * noise).astype(np.float32)
        return frames[0] if np.ndim(np.arange(T)[key]) == 0 else frames


def _peak_bytes(n_frames: int) -> tuple[int, int]:
    movie = LazyMovie(n_frames)
    params = PipelineParams(frame_rate=30.0).replace("cnmf", chunk_frames=120)
    tracemalloc.start()
    try:
        comps, _, _ = run_cnmf(movie, params)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, comps.n_components


def test_cnmf_memory_does_not_grow_with_the_movie():
    short, long_ = 1000, 3000
    peak_short, k_short = _peak_bytes(short)
    peak_long, k_long = _peak_bytes(long_)
    assert k_short >= K - 1 and k_long >= K - 1
    growth = peak_long - peak_short
    movie_growth = SIDE * SIDE * (long_ - short) * 4          # the extra frames as float32
    # K x T arrays (C, S, F, dF/F, statistics, float64 copies...): a few dozen of them
    traces_growth = 40 * max(k_long, K) * (long_ - short) * 8
    print(f"peak {peak_short / 2**20:.1f} -> {peak_long / 2**20:.1f} MB, movie grew {movie_growth / 2**20:.0f} MB")
    assert growth < 0.1 * movie_growth, (growth, movie_growth)
    assert growth < traces_growth + 4 * 2**20, (growth, traces_growth)


def test_release_freed_memory_is_safe_to_call_anywhere():
    for _ in range(3):
        release_freed_memory()
    # and every pass over a movie ends with it without changing what the pass saw
    movie = np.arange(40 * 8 * 8, dtype=np.float32).reshape(40, 8, 8)
    total = sum(float(frames.sum()) for _, frames in iter_chunks(movie, 7))
    assert total == float(movie.sum())

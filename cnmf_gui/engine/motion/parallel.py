"""Spreading batches of frames over threads.

FFTs (scipy.fft), matrix products (BLAS, capped at one thread each by the caller) and the
numba kernels all release the GIL, so plain threads use every core without copying frames
to other processes.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# Pixels per batch: large enough for efficient batched FFTs, small enough that a batch's
# spectra (8 bytes per pixel) stay near the caches (16 frames of 512 x 512).
BATCH_PIXELS = 2 ** 22


def default_workers() -> int:
    """Threads to use: one per core (at most 8)."""
    return max(1, min(os.cpu_count() or 1, 8))


def batch_size(frame_pixels: int) -> int:
    """Frames per batch for frames of ``frame_pixels`` pixels."""
    return max(1, BATCH_PIXELS // max(int(frame_pixels), 1))


def map_batches(func, n_items: int, batch: int, n_workers: int, pool=None) -> list:
    """``[func(start, stop) for each batch]`` over ``range(n_items)``, run on threads.

    Parameters
    ----------
    func : callable(start, stop)
    n_items : int
    batch : int
        Items per call.
    n_workers : int
        Threads (ignored when ``pool`` is given).
    pool : ThreadPoolExecutor, optional
        Reused across calls when given.

    Returns
    -------
    list
        Results in batch order.
    """
    bounds = list(range(0, n_items, max(1, batch))) + [n_items]
    pairs = [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    if len(pairs) <= 1 or (pool is None and n_workers <= 1):
        return [func(a, b) for a, b in pairs]
    if pool is not None:
        return [f.result() for f in [pool.submit(func, a, b) for a, b in pairs]]
    with ThreadPoolExecutor(max_workers=min(n_workers, len(pairs))) as own:
        return [f.result() for f in [own.submit(func, a, b) for a, b in pairs]]


def parallel_map(func, n_items: int, n_workers: int) -> list:
    """Split ``range(n_items)`` into ``n_workers`` contiguous parts and map ``func`` over them."""
    n_workers = max(1, min(int(n_workers), n_items))
    bounds = np.linspace(0, n_items, n_workers + 1).astype(int)
    return map_batches(func, n_items, int(bounds[1] - bounds[0]) if n_items else 1, n_workers)

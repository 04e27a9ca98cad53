"""The template's raw material: an even sample of frames, and a sharp seed image from it.

The seed is the frame whose best-matching ``k`` frames correlate most with it, averaged with
them: frames from a still moment resemble each other, so the seed is sharp even when the movie
moves a lot (a plain mean of a moving movie is blurred).

References
----------
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. Journal of Neuroscience Methods 291:83-94.
"""

from __future__ import annotations

import math

import numpy as np

from cnmf_gui.engine.motion.metrics import bin_frames
from cnmf_gui.engine.motion.parallel import batch_size
from cnmf_gui.engine.motion.sample import mean_image

SEED_NEIGHBOURS = 20


def read_frames(movie, indices) -> np.ndarray:
    """Frames ``indices`` (sorted, unique) of a movie that only promises slicing.

    Consecutive indices are read as one slice, so a dense sample costs one read.

    Returns
    -------
    ndarray of shape (len(indices), H, W), the movie's dtype
    """
    indices = np.asarray(indices, np.int64)
    if len(indices) == 0:
        return np.zeros((0,) + tuple(movie.shape[1:]), np.float32)
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    runs = np.split(indices, breaks)
    first = np.asarray(movie[int(runs[0][0]):int(runs[0][-1]) + 1])
    if len(runs) == 1:
        return first
    # Filled in place: a list of parts and their concatenation would hold the sample twice.
    out = np.empty((len(indices),) + first.shape[1:], first.dtype)
    out[:len(first)] = first
    at = len(first)
    for r in runs[1:]:
        out[at:at + len(r)] = np.asarray(movie[int(r[0]):int(r[-1]) + 1])
        at += len(r)
    return out


def sample_indices(n_frames: int, n_sample: int) -> np.ndarray:
    """``n_sample`` frame indices spread evenly over ``range(n_frames)`` (unique, sorted)."""
    n_sample = max(1, min(int(n_sample), int(n_frames)))
    return np.unique(np.round(np.linspace(0, n_frames - 1, n_sample)).astype(np.int64))


def _binned(frames: np.ndarray, target: int = 64) -> np.ndarray:
    """Frames averaged in square bins so the longer side is about ``target`` px; (n, P) float32."""
    n, H, W = frames.shape
    b = max(1, int(math.ceil(max(H, W) / target)))
    if H // b == 0 or W // b == 0:
        b = 1
    # A batch at a time: ``frames`` may be a compact stack read as float32 in batches.
    step = batch_size(H * W)
    return np.concatenate([bin_frames(frames[a:a + step], b).reshape(-1, (H // b) * (W // b))
                           for a in range(0, n, step)] or [np.zeros((0, (H // b) * (W // b)), np.float32)])


def correlate_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with ``b`` (or each pair of rows of a and b).

    Rows with no variance get 0, never NaN.

    Parameters
    ----------
    a : ndarray of shape (n, P)
    b : ndarray of shape (P,) or (n, P)

    Returns
    -------
    ndarray of shape (n,), float64
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    num = (a * b).sum(axis=-1)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def calm_frames(frames: np.ndarray, usable: np.ndarray, window: int = 0) -> np.ndarray:
    """Frames of a time-ordered sample no brighter than is usual for their time, (n,) bool.

    A burst of activity makes frames bright and very much alike (the same few cells dominate
    them), so the most mutually similar frames are often a burst: a template seeded there is
    the burst's pattern, against which the resting frames register badly. The brightness
    trend (bleaching, slow changes) is the running median over ``window`` sample frames (0: a
    quarter of the sample, at least 9, so that a burst spanning many sample frames of a short
    movie does not become the trend); frames at or below the median excess over it are calm.
    """
    from scipy.ndimage import median_filter

    idx = np.flatnonzero(usable)
    calm = np.zeros(len(frames), bool)
    if len(idx) < 3:
        calm[idx] = True
        return calm
    step = batch_size(int(np.prod(frames.shape[1:])))
    b = np.concatenate([frames[idx[a:a + step]].mean(axis=(1, 2), dtype=np.float64)
                        for a in range(0, len(idx), step)])
    size = window if window > 0 else max(9, len(b) // 4)
    excess = b - median_filter(b, size=min(size, len(b)), mode="nearest")
    calm[idx[excess <= np.median(excess)]] = True
    return calm


def seed_template(frames: np.ndarray, usable: np.ndarray, k: int = SEED_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the most mutually similar calm frames of a sample (see :func:`calm_frames`).

    Parameters
    ----------
    frames : ndarray of shape (n, H, W), float32, finite, or a FrameStack
    usable : ndarray of shape (n,), bool
    k : int
        Neighbours averaged with the seed frame.

    Returns
    -------
    template : ndarray of shape (H, W), float32
    members : ndarray of shape (m,), int64
        The frames averaged.
    """
    idx = np.flatnonzero(usable)
    if len(idx) == 0:
        members = np.arange(len(frames))
        return (mean_image(frames, members) if len(frames) else np.zeros(frames.shape[1:], np.float32)), members
    if len(idx) <= 2:
        return frames[idx].mean(axis=0), idx
    idx = np.flatnonzero(calm_frames(frames, usable))
    z = _binned(frames)[idx].astype(np.float64)
    z -= z.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(z, axis=1)
    z /= np.where(norm > 0, norm, 1.0)[:, None]
    corr = z @ z.T
    k = min(k, len(idx))
    top = -np.sort(-corr, axis=1)[:, :k]
    seed = int(np.argmax(top.mean(axis=1)))
    members = idx[np.argsort(-corr[seed])[:k]]
    return frames[members].mean(axis=0), np.sort(members)

"""Temporal averaging for registering noisy movies.

When single frames are too noisy to register (see :mod:`~cnmf_gui.engine.motion.snr`), the
movie is cut into bins of ``n`` consecutive frames on a fixed grid (bin ``k`` holds frames
``k n`` to ``k n + n - 1``), each bin's mean is registered (noise variance divided by ``n``),
and the shifts are interpolated linearly between bin centres to every frame. The template is
built from some of the same bins. Averaging comes before the peak search: smoothing noisy
single-frame shifts after it cannot undo peaks that noise put in the wrong place.

Bins rather than a running mean: a bin that is part of the template can be registered against
the template without its own contribution, exactly (a running mean overlaps several template
bins, and frames then lock onto the position the template gave their own noise).

References
----------
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. J Neurosci Methods 291:83-94.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.motion.prep import clean_frames


def bin_means(frames: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Means of the usable frames of consecutive bins of ``n`` frames (the last may be shorter).

    Parameters
    ----------
    frames : ndarray of shape (m, H, W)
        Frames starting on a bin boundary.
    n : int

    Returns
    -------
    means : ndarray of shape (ceil(m / n), H, W), float32
    counts : ndarray of shape (ceil(m / n),), int64
        Usable frames in each bin (0: the bin is unusable).
    """
    m = frames.shape[0]
    nb = -(-m // n)
    clean, unusable, _ = clean_frames(frames)
    means = np.zeros((nb,) + frames.shape[1:], np.float32)
    counts = np.zeros(nb, np.int64)
    for k in range(nb):
        good = np.flatnonzero(~unusable[k * n:(k + 1) * n]) + k * n
        counts[k] = len(good)
        if len(good):
            acc = np.zeros(frames.shape[1:], np.float64)
            for i in good:
                acc += clean[i]
            means[k] = acc / len(good)
    return means, counts


def bin_centres(bins: np.ndarray, n: int, n_frames: int) -> np.ndarray:
    """Frame time (float) of the centre of bins ``bins`` of ``n`` frames in a movie of ``n_frames``."""
    start = np.asarray(bins, np.int64) * n
    stop = np.minimum(start + n, n_frames)
    return 0.5 * (start + stop - 1)


def template_bins(n_frames: int, n: int, budget: int) -> np.ndarray:
    """Indices of whole bins of ``n`` frames spread evenly over a movie, for the template.

    About ``budget`` frames in all (``MotionParams.template_frames``), but at least 8 bins
    when the movie has them, so the template still sees the whole recording.
    """
    n = max(int(n), 1)
    available = max(n_frames // n, 1)
    runs = min(max(budget // n, 8), available)
    return np.unique(np.round(np.linspace(0, available - 1, runs)).astype(np.int64))


def read_bins(movie, bins: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Means of the usable frames of bins ``bins`` of a movie (bin k = frames k n to k n + n - 1).

    Returns
    -------
    means : ndarray of shape (len(bins), H, W), float32
    counts : ndarray of shape (len(bins),), int64
    """
    T, H, W = (int(s) for s in movie.shape)
    means = np.zeros((len(bins), H, W), np.float32)
    counts = np.zeros(len(bins), np.int64)
    for i, k in enumerate(bins):
        s = int(k) * n
        m, c = bin_means(np.asarray(movie[s:min(s + n, T)]), n)
        means[i], counts[i] = m[0], c[0]
    return means, counts

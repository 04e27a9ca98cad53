"""Correlation and peak-to-noise images of the spatially high-pass filtered movie, in one pass.

CNMF-E finds neurons of a one-photon movie where the movie, after a spatial filter that removes
the smooth out-of-focus background, is both locally correlated (a neuron's pixels move together)
and has large peaks compared with its noise. Both images are sums over frames, so they are
accumulated chunk by chunk: the movie is never held (CaImAn's ``correlation_pnr`` holds it and
subsamples frames to fit in memory). The noise level and the resting level of each filtered
pixel come from the first frames (the median and the median absolute difference of successive
frames); values below three noise levels are set to zero before correlating, as in CNMF-E, so
that noise alone does not correlate neighbouring pixels.

References
----------
Zhou P. et al. (2018) eLife 7:e28728 (Methods: "Initialization").
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import ndimage

from cnmf_gui.engine.streaming import iter_chunks, movie_shape
from cnmf_gui.progress import checkpoint

__all__ = ["CorrPNR", "highpass", "correlation_pnr", "filter_sigmas"]

#: First frames the noise and resting level are measured on.
NOISE_FRAMES = 200
#: Filtered values below this many noise levels do not enter the correlation image.
NOISE_CUT = 3.0


def filter_sigmas(neuron_radius: float) -> tuple[float, float]:
    """Widths (px) of the difference of Gaussians that passes somata of ``neuron_radius``."""
    r = max(float(neuron_radius), 1.0)
    return max(r / 2.0, 0.7), 0.75 * r


def highpass(frames: np.ndarray, neuron_radius: float) -> np.ndarray:
    """Spatial band-pass of each frame: a soma-sized Gaussian minus a broader one.

    Parameters
    ----------
    frames : ndarray of shape (n, H, W)
    neuron_radius : float
        px.

    Returns
    -------
    ndarray of shape (n, H, W), float32
    """
    s1, s2 = filter_sigmas(neuron_radius)
    x = np.asarray(frames, np.float32)
    return (ndimage.gaussian_filter(x, (0, s1, s1), mode="nearest")
            - ndimage.gaussian_filter(x, (0, s2, s2), mode="nearest"))


@dataclass
class CorrPNR:
    """The two images CNMF-E seeds from, each (H, W).

    Attributes
    ----------
    correlation : mean correlation of each filtered pixel with its 8 neighbours
    pnr : peak of the filtered trace (above its resting level) over its noise level
    noise : noise level of the filtered movie
    baseline : resting level of the filtered movie (median of its first frames)
    """

    correlation: np.ndarray
    pnr: np.ndarray
    noise: np.ndarray
    baseline: np.ndarray


# neighbour offsets whose products are accumulated; the other four are their mirror images
_NEIGHBOURS = ((0, 1), (1, -1), (1, 0), (1, 1))


@numba.njit(parallel=True, cache=True, nogil=True)
def _accumulate(X, s1, s2, cross, peak):
    n, H, W = X.shape
    for i in numba.prange(H):
        for t in range(n):
            for j in range(W):
                x = X[t, i, j]
                s1[i, j] += x
                s2[i, j] += x * x
                if x > peak[i, j]:
                    peak[i, j] = x
                if x == 0.0:
                    continue
                if j + 1 < W:
                    cross[0, i, j] += x * X[t, i, j + 1]
                if i + 1 < H:
                    if j - 1 >= 0:
                        cross[1, i, j] += x * X[t, i + 1, j - 1]
                    cross[2, i, j] += x * X[t, i + 1, j]
                    if j + 1 < W:
                        cross[3, i, j] += x * X[t, i + 1, j + 1]


def _first_chunk_levels(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    base = np.median(Z, axis=0)
    d = np.diff(Z, axis=0)
    noise = np.median(np.abs(d), axis=0) / (0.6745 * np.sqrt(2.0)) if len(d) else np.ones(Z.shape[1:])
    return base.astype(np.float32), np.maximum(noise, 1e-6 * max(float(noise.max(initial=0)), 1e-12)).astype(np.float32)


def correlation_pnr(movie, neuron_radius: float, *, chunk_frames: int = 500, progress=None) -> CorrPNR:
    """Correlation and peak-to-noise images of the high-pass filtered movie, one streaming pass.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    neuron_radius : float
        Typical soma radius, px (sets the filter, :func:`filter_sigmas`).
    chunk_frames : int
    progress : Progress, optional

    Returns
    -------
    CorrPNR

    References
    ----------
    Zhou P. et al. (2018) eLife 7:e28728.
    """
    T, H, W = movie_shape(movie)
    s1 = np.zeros((H, W))
    s2 = np.zeros((H, W))
    cross = np.zeros((4, H, W))
    peak = np.zeros((H, W), np.float32)
    # resting level and noise of the filtered movie from its first frames (read twice: a few
    # hundred frames, so the images do not depend on the chunk length)
    base, noise = _first_chunk_levels(highpass(np.asarray(movie[:min(T, NOISE_FRAMES)], np.float32),
                                               neuron_radius))
    for start, frames in iter_chunks(movie, chunk_frames):
        Z = highpass(frames, neuron_radius)
        Z -= base
        Z[Z < NOISE_CUT * noise] = 0.0
        _accumulate(Z, s1, s2, cross, peak)
        checkpoint(progress, (start + len(frames)) / T, f"correlation and PNR: frame {start + len(frames)}/{T}")
    mean = s1 / T
    sd = np.sqrt(np.maximum(s2 / T - mean ** 2, 0.0))
    total = np.zeros((H, W))
    count = np.zeros((H, W))
    for (dr, dc), S in zip(_NEIGHBOURS, cross):
        # pixel (i, j) with (i + dr, j + dc): the valid block of each
        r0, r1 = 0, H - dr
        c0, c1 = max(0, -dc), W - max(0, dc)
        a = (slice(r0, r1), slice(c0, c1))
        b = (slice(r0 + dr, r1 + dr), slice(c0 + dc, c1 + dc))
        cov = S[a] / T - mean[a] * mean[b]
        den = sd[a] * sd[b]
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(den > 0, cov / den, 0.0)
        total[a] += r
        total[b] += r
        count[a] += 1
        count[b] += 1
    corr = (total / np.maximum(count, 1)).astype(np.float32)
    pnr = (peak / noise).astype(np.float32)
    return CorrPNR(correlation=corr, pnr=pnr, noise=noise, baseline=base)

"""Summary images and per-pixel noise, in one streaming pass over the movie.

The mean, maximum, local correlation and peak-to-noise images summarise a movie for the eye and
for seeding components; the per-pixel noise level (from the high-frequency band of each pixel's
power spectrum) sets the scale of every later threshold.

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299 (noise from the power spectral density).
Smith S. L. & Hausser M. (2010) Parallel processing of visual space by neighboring neurons in
mouse visual cortex. Nat Neurosci 13:1144-1149 (the local correlation image).
Zhou P. et al. (2018) Efficient and accurate extraction of in vivo calcium signals from
microendoscopic video data. eLife 7:e28728 (the peak-to-noise image).
"""

from __future__ import annotations

import numba
import numpy as np

from cnmf_gui.engine.streaming import iter_chunks, movie_shape
from cnmf_gui.progress import checkpoint
from cnmf_gui.results import SummaryImages

# the four neighbour offsets (row, col) whose pairs, counted from both ends, give all 8 neighbours
_OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))
# chunks shorter than this give a poor periodogram; they are folded into the previous estimate
_MIN_NOISE_FRAMES = 32


def _pair_views(img: np.ndarray, dr: int, dc: int):
    """Views (first, second) of an (..., H, W) array such that second[i] is first[i]'s neighbour."""
    H, W = img.shape[-2:]
    r0, r1 = slice(0, H - dr), slice(dr, H)
    if dc >= 0:
        c0, c1 = slice(0, W - dc), slice(dc, W)
    else:
        c0, c1 = slice(-dc, W), slice(0, W + dc)
    return img[..., r0, c0], img[..., r1, c1]


@numba.njit(parallel=True, cache=True, nogil=True)
def _accumulate_moments(x, offset, s1, s2, cross, peak):  # pragma: no cover (compiled)
    """One pass over a chunk: running max, sums of x - offset, of its squares and of its
    products with the right, lower, lower-right and lower-left neighbours.

    x (n, H, W) float32; offset (H, W) float32; s1, s2 (H, W) float64; cross (4, H, W) float64
    indexed by the first pixel of each pair; peak (H, W) float32. Rows run in parallel (each
    writes only its own row); sums are float64 throughout.
    """
    n, H, W = x.shape
    for i in numba.prange(H):
        for t in range(n):
            for j in range(W):
                v = x[t, i, j]
                if v > peak[i, j]:
                    peak[i, j] = v
                d = np.float64(v - offset[i, j])
                s1[i, j] += d
                s2[i, j] += d * d
                if j + 1 < W:
                    cross[0, i, j] += d * (x[t, i, j + 1] - offset[i, j + 1])
                if i + 1 < H:
                    cross[1, i, j] += d * (x[t, i + 1, j] - offset[i + 1, j])
                    if j + 1 < W:
                        cross[2, i, j] += d * (x[t, i + 1, j + 1] - offset[i + 1, j + 1])
                    if j >= 1:
                        cross[3, i, j] += d * (x[t, i + 1, j - 1] - offset[i + 1, j - 1])


def _cross_as_pairs(cross: np.ndarray) -> list[np.ndarray]:
    """The (4, H, W) sums by first pixel as the arrays of :func:`_pair_views`' first views."""
    return [cross[0, :, :-1], cross[1, :-1, :], cross[2, :-1, :-1], cross[3, :-1, 1:]]


def pixel_noise(chunk: np.ndarray, noise_range=(0.25, 0.5), method: str = "logmexp") -> np.ndarray:
    """Noise standard deviation of every pixel of one chunk, from its power spectrum.

    Parameters
    ----------
    chunk : ndarray of shape (n, H, W)
    noise_range : (float, float)
        Band of the spectrum, as fractions of the sampling rate, that holds only noise.
    method : str
        How the band is averaged ("mean", "median", "logmexp").

    Returns
    -------
    ndarray of shape (H, W)
    """
    from cnmf_gui.engine.noise import estimate_noise

    return np.asarray(estimate_noise(chunk, noise_range=noise_range, method=method, axis=0))


def compute_summary(movie, *, chunk_frames: int = 500, noise_range=(0.25, 0.5),
                    noise_method: str = "logmexp", progress=None) -> tuple[SummaryImages, np.ndarray]:
    """Mean, max, local-correlation and peak-to-noise images and per-pixel noise, in one pass.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        Read in chunks of ``chunk_frames``; never copied whole.
    chunk_frames : int
        Frames per chunk.
    noise_range, noise_method
        Passed to the per-pixel noise estimate (see :func:`pixel_noise`).
    progress : Progress, optional

    Returns
    -------
    summary : SummaryImages
        ``mean``, ``max``, ``correlation`` (mean Pearson correlation of each pixel with its 8
        neighbours) and ``pnr`` ((max - mean) / noise), each (H, W) float32.
    noise : ndarray of shape (H, W), float32
        Per-pixel noise standard deviation: the spectral estimate of each chunk, combined as the
        root of the length-weighted mean of the variances (a Welch-style average).
    """
    T, H, W = movie_shape(movie)
    offset = None
    s1 = np.zeros((H, W))
    s2 = np.zeros((H, W))
    peak = np.full((H, W), -np.inf, dtype=np.float32)
    cross_full = np.zeros((4, H, W))
    noise_var = np.zeros((H, W))
    noise_weight = 0.0
    # Chunks shorter than _MIN_NOISE_FRAMES (large frames: 8 frames of 1024 x 1024) are
    # gathered until they make one periodogram; a short tail is used only if nothing else was.
    short: list[np.ndarray] = []

    def add_noise(block):
        nonlocal noise_weight
        n = block.shape[0]
        # by blocks of rows: a spectrum takes several times its block's memory
        rows = max(1, (2 * 2**20) // (4 * n * W))
        for r0 in range(0, H, rows):
            sn = pixel_noise(block[:, r0:r0 + rows], noise_range, noise_method)
            noise_var[r0:r0 + rows] += n * sn.astype(np.float64) ** 2
        noise_weight += n

    for start, frames in iter_chunks(movie, chunk_frames):
        if offset is None:
            # subtracting a provisional mean keeps the sums of products well conditioned
            offset = frames.mean(axis=0, dtype=np.float64).astype(np.float32)
        # one compiled pass for the max and all the moments (was seven array passes and a
        # centred copy of the chunk: half of this stage's time)
        _accumulate_moments(np.ascontiguousarray(frames, dtype=np.float32), offset, s1, s2, cross_full, peak)
        n = frames.shape[0]
        if n >= _MIN_NOISE_FRAMES or T < _MIN_NOISE_FRAMES:
            if n >= 4:
                add_noise(frames)
        else:
            short.append(frames)
            if sum(len(f) for f in short) >= _MIN_NOISE_FRAMES:
                add_noise(np.concatenate(short))
                short = []
        checkpoint(progress, (start + n) / T, f"summary images: frame {start + n}/{T}")
    if noise_weight == 0 and short and sum(len(f) for f in short) >= 4:
        add_noise(np.concatenate(short))
    noise = np.sqrt(noise_var / noise_weight) if noise_weight > 0 else np.zeros((H, W))

    mean_x = s1 / T
    var = np.maximum(s2 / T - mean_x ** 2, 0.0)
    std = np.sqrt(var)
    corr_sum = np.zeros((H, W))
    count = np.zeros((H, W))
    for acc, (dr, dc) in zip(_cross_as_pairs(cross_full), _OFFSETS):
        ma, mb = _pair_views(mean_x, dr, dc)
        sa, sb = _pair_views(std, dr, dc)
        denom = sa * sb
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.where(denom > 0, (acc / T - ma * mb) / denom, 0.0)
        for view in _pair_views(corr_sum, dr, dc):
            view += r
        for view in _pair_views(count, dr, dc):
            view += 1.0
    correlation = corr_sum / np.maximum(count, 1.0)
    mean = offset.astype(np.float64) + mean_x
    with np.errstate(invalid="ignore", divide="ignore"):
        pnr = np.where(noise > 0, (peak - mean) / noise, 0.0)
    summary = SummaryImages(mean=mean.astype(np.float32), max=peak,
                            correlation=np.clip(correlation, -1, 1).astype(np.float32),
                            pnr=pnr.astype(np.float32))
    return summary, noise.astype(np.float32)

"""Initialisation of CNMF: greedy detection of neuron-sized blobs.

The movie is filtered in space with a Gaussian the size of a soma, binned in time (to keep the
working copy small), its per-pixel median removed and its global background fluctuations
regressed out. Then, greedily, the pixel with the most energy above its noise seeds a
component: a rank-1 non-negative factorisation of the window around it gives a footprint and a
trace, which are subtracted before the next pick. Detection stops after a target number of
components, or automatically once seeds no longer pass the quality thresholds (peak-to-noise
of the seed's filtered trace and local correlation of the raw movie around it).

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299 (greedy initialisation, Methods).
Zhou P. et al. (2018) Efficient and accurate extraction of in vivo calcium signals from
microendoscopic video data. eLife 7:e28728 (stopping by correlation and peak-to-noise).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.engine.streaming import chunk_length, iter_chunks, movie_shape
from cnmf_gui.errors import ParameterError
from cnmf_gui.progress import checkpoint

#: Upper bound, in bytes, of the filtered, binned working copy of the movie.
WORKING_BYTES = 2**30
#: Frames kept (after binning) for initialisation: binning beyond this loses nothing useful.
TARGET_FRAMES = 500
#: Side, in pixels, of the coarse movie used to initialise the background.
BACKGROUND_GRID = 32
#: Energy-to-noise below which no pixel can seed a component.
MIN_ENERGY = 1.5
#: Consecutive rejected seeds after which the automatic search gives up.
MAX_REJECTIONS = 200


@dataclass
class InitResult:
    """Initial footprints, traces and background of CNMF.

    Attributes
    ----------
    A : scipy.sparse.csc_matrix of shape (H*W, K)
        Non-negative footprints (on the filtered movie, so blurred by the seed filter).
    C : ndarray of shape (K, T)
        Non-negative traces at the full frame rate (piecewise constant over each bin).
    centers : ndarray of shape (K, 2)
        [row, col] of each component's seed pixel.
    f : ndarray of shape (nb, T)
        Initial temporal background.
    tsub : int
        Frames averaged into each bin of the working copy.
    """

    A: sp.csc_matrix
    C: np.ndarray
    centers: np.ndarray
    f: np.ndarray
    tsub: int


def _gaussian_kernel(sigma: float) -> np.ndarray:
    half = max(1, int(math.ceil(3 * sigma)))
    x = np.arange(-half, half + 1)
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / k.sum()


def _disk_mask(radius: float) -> np.ndarray:
    h = int(math.floor(radius))
    y, x = np.mgrid[-h:h + 1, -h:h + 1]
    return y ** 2 + x ** 2 <= radius ** 2


def _stamp(image: np.ndarray, disk: np.ndarray, r: int, c: int) -> None:
    """Set ``image`` True on ``disk`` centred at (r, c), clipped to the frame."""
    h = disk.shape[0] // 2
    H, W = image.shape
    r0, r1, c0, c1 = max(r - h, 0), min(r + h + 1, H), max(c - h, 0), min(c + h + 1, W)
    image[r0:r1, c0:c1] |= disk[r0 - r + h:r1 - r + h, c0 - c + h:c1 - c + h]


def choose_tsub(T: int, n_pixels: int) -> int:
    """Frames per bin of the working copy: keeps about TARGET_FRAMES bins within WORKING_BYTES."""
    by_frames = math.ceil(T / TARGET_FRAMES)
    by_bytes = math.ceil(T * n_pixels * 4 / WORKING_BYTES)
    return int(max(1, by_frames, by_bytes))


def _bin_time(frames: np.ndarray, tsub: int) -> np.ndarray:
    n = frames.shape[0] // tsub * tsub
    if n == frames.shape[0]:
        return frames.reshape(-1, tsub, *frames.shape[1:]).mean(axis=1)
    head = frames[:n].reshape(-1, tsub, *frames.shape[1:]).mean(axis=1) if n else frames[:0]
    return np.concatenate([head, frames[n:].mean(axis=0, keepdims=True)])


def binned_chunks(movie, tsub: int, chunk_frames: int):
    """Yield ``(first_bin, bins)``: the movie's means over consecutive bins of ``tsub`` frames.

    ``bins`` is float32 of shape (m, H, W); the last bin holds the frames that remain (fewer than
    ``tsub``). Chunks are read as :func:`iter_chunks` sizes them, which for large frames may be
    fewer frames than a bin or not a multiple of it: a bin that straddles chunks is summed across
    them (one frame of memory), so the bins do not depend on the chunk size (float32 sums, as the
    means of whole chunks; bit for bit the same bins where the chunks hold whole bins).
    """
    partial, count, next_bin = None, 0, 0
    for _, frames in iter_chunks(movie, chunk_frames):
        i = 0
        if count:
            i = min(tsub - count, frames.shape[0])
            partial += frames[:i].sum(axis=0)
            count += i
            if count < tsub:
                continue
            yield next_bin, (partial / tsub)[None]
            next_bin, partial, count = next_bin + 1, None, 0
        full = (frames.shape[0] - i) // tsub * tsub
        if full:
            bins = _bin_time(frames[i:i + full], tsub)
            yield next_bin, bins
            next_bin += bins.shape[0]
        if i + full < frames.shape[0]:
            partial = frames[i + full:].sum(axis=0)
            count = frames.shape[0] - i - full
    if count:
        yield next_bin, (partial / count)[None]


def _block_reduce(frames: np.ndarray, factor: int) -> np.ndarray:
    """Mean over factor x factor blocks of each frame (edges padded by the edge mean)."""
    n, H, W = frames.shape
    h, w = math.ceil(H / factor), math.ceil(W / factor)
    out = np.zeros((n, h, w), np.float32)
    counts = np.zeros((h, w), np.float32)
    for i in range(factor):
        for j in range(factor):
            part = frames[:, i::factor, j::factor]
            out[:, :part.shape[1], :part.shape[2]] += part
            counts[:part.shape[1], :part.shape[2]] += 1
    return out / counts


def _nmf(Y: np.ndarray, rank: int, n_iter: int = 50, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Small non-negative factorisation Y (n, m) ~ W (n, rank) H (rank, m) by HALS."""
    rng = np.random.default_rng(seed)
    n, m = Y.shape
    Wt = np.empty((n, rank))
    Wt[:, 0] = Y.mean(axis=1)
    Wt[:, 1:] = rng.random((n, rank - 1)) * Y.mean()
    Ht = np.maximum(np.linalg.lstsq(Wt, Y, rcond=None)[0], 1e-12)
    for _ in range(n_iter):
        WtY, WtW = Wt.T @ Y, Wt.T @ Wt
        for i in range(rank):
            Ht[i] = np.maximum(Ht[i] + (WtY[i] - WtW[i] @ Ht) / max(WtW[i, i], 1e-12), 0)
        YHt, HHt = Y @ Ht.T, Ht @ Ht.T
        for i in range(rank):
            Wt[:, i] = np.maximum(Wt[:, i] + (YHt[:, i] - Wt @ HHt[:, i]) / max(HHt[i, i], 1e-12), 0)
    return Wt, Ht


def _rank1(patch: np.ndarray, c0: np.ndarray, n_iter: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Rank-1 non-negative factorisation patch (T', m) ~ c (T',) a (m,), starting from c0."""
    c = np.maximum(c0, 0).astype(np.float64)
    a = np.zeros(patch.shape[1])
    for _ in range(n_iter):
        cc = c @ c
        if cc <= 0:
            return a, c
        a = np.maximum(patch.T @ c / cc, 0)
        aa = a @ a
        if aa <= 0:
            return a, c
        c = np.maximum(patch @ a / aa, 0)
    return a, c


def initialize(movie, noise: np.ndarray, correlation: np.ndarray, *, neuron_radius: float = 4.0,
               n_components: int = 0, min_corr: float = 0.3, min_pnr: float = 5.0,
               max_components: int = 2000, seeds=None, n_background: int = 1,
               chunk_frames: int = 500, progress=None) -> InitResult:
    """Greedy initialisation of footprints, traces and background.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        Read once, in chunks.
    noise : ndarray of shape (H, W)
        Per-pixel noise standard deviation (see :func:`cnmf_gui.engine.summary.compute_summary`).
    correlation : ndarray of shape (H, W)
        Local correlation image of the movie.
    neuron_radius : float
        Typical soma radius, px; sets the seed filter (sigma = radius / 2) and the window.
    n_components : int
        Components to find (0: stop automatically by ``min_corr`` and ``min_pnr``).
    min_corr, min_pnr : float
        A seed is kept when the local correlation near it is at least ``min_corr`` and the
        peak of its filtered trace is at least ``min_pnr`` times that trace's noise.
    max_components : int
        Upper bound on components.
    seeds : sequence of (row, col), optional
        When given, one component is initialised at each of these centres and nothing else is
        searched for.
    n_background : int
        Rank of the background, nb.
    chunk_frames : int
        Frames per chunk while reading.
    progress : Progress, optional

    Returns
    -------
    InitResult
    """
    T, H, W = movie_shape(movie)
    P = H * W
    if neuron_radius * 2 > max(H, W) or neuron_radius > min(H, W):
        raise ParameterError(f"parameter init.neuron_radius = {neuron_radius} px is larger than the "
                             f"frame ({H} x {W} px): expected a radius of a few pixels")
    sigma = max(neuron_radius / 2.0, 0.5)
    kernel = _gaussian_kernel(sigma)
    tsub = choose_tsub(T, P)
    n_bins = math.ceil(T / tsub)
    factor = max(1, math.ceil(max(H, W) / BACKGROUND_GRID))

    # ---- one pass: filtered, binned working copy Z and a coarse copy for the background
    Z = np.empty((n_bins, H, W), np.float32)
    coarse = []
    n = max(tsub, chunk_length(movie, chunk_frames) // tsub * tsub)
    for first, binned in binned_chunks(movie, tsub, n):
        coarse.append(_block_reduce(binned, factor))
        # zero padding (not reflection) keeps the filtered noise's variance exactly computable
        filt = ndimage.correlate1d(binned, kernel, axis=1, mode="constant")
        ndimage.correlate1d(filt, kernel, axis=2, mode="constant", output=filt)
        Z[first:first + filt.shape[0]] = filt
        checkpoint(progress, 0.4 * (first + filt.shape[0]) / n_bins, "initialisation: filtering")
    coarse = np.concatenate(coarse).reshape(n_bins, -1)

    # noise of each pixel of Z: the filter's weights squared, applied to the variance
    var_z = ndimage.correlate1d(noise.astype(np.float64) ** 2, kernel ** 2, axis=0, mode="constant")
    var_z = ndimage.correlate1d(var_z, kernel ** 2, axis=1, mode="constant") / tsub
    sd_z = np.sqrt(np.maximum(var_z, 1e-12 * max(var_z.max(), 1e-30))).astype(np.float32)

    # ---- remove the static part (median) and the global fluctuations (background) from Z
    rows_per = max(1, (16 * 2**20) // max(1, n_bins * W * 4))
    for r0 in range(0, H, rows_per):
        block = Z[:, r0:r0 + rows_per]
        block -= np.median(block, axis=0)
    nb = int(n_background)
    if nb > 0 and n_bins > 1:
        _, f_bins = _nmf(coarse.T.astype(np.float64), nb)
    else:
        f_bins = np.ones((max(nb, 0), n_bins))
    if nb > 0 and n_bins > 2:
        fc = f_bins - f_bins.mean(axis=1, keepdims=True)
        gram = fc @ fc.T
        if np.all(np.isfinite(gram)) and np.linalg.matrix_rank(gram) == nb:
            proj = np.linalg.solve(gram, fc).astype(np.float32)          # (nb, n_bins)
            Zf = Z.reshape(n_bins, P)
            step = max(1, (16 * 2**20) // (4 * n_bins))   # pixels per block: ~16 MB temporaries
            for r0 in range(0, P, step):
                blk = Zf[:, r0:r0 + step]
                blk -= fc.T.astype(np.float32) @ (proj @ blk)
    # The model above assumes noise independent from pixel to pixel; interpolation (motion
    # correction) and many detectors correlate neighbouring pixels' noise, which the filter then
    # does not average away. The filtered movie's own spectrum measures what is really there.
    if n_bins >= 32:
        from cnmf_gui.engine.summary import pixel_noise
        # small blocks: the spectrum of a block takes several times the block's memory
        rows_fft = max(1, (2 * 2**20) // max(1, n_bins * W * 4))
        for r0 in range(0, H, rows_fft):
            measured = pixel_noise(Z[:, r0:r0 + rows_fft])
            np.maximum(sd_z[r0:r0 + rows_fft], measured, out=sd_z[r0:r0 + rows_fft])
    checkpoint(progress, 0.5, "initialisation: searching for neurons")

    # ---- greedy search
    Zf = Z.reshape(n_bins, P)
    rho = (np.einsum("tij,tij->ij", Z, Z) / n_bins / sd_z ** 2).astype(np.float64)
    half = int(math.ceil(2 * neuron_radius))
    supp = int(max(1, round(neuron_radius / 2)))
    corr_local = ndimage.maximum_filter(correlation, size=2 * supp + 1)
    # a found neuron blocks a disk of 0.75 radius: neighbours' centres are at least ~1 radius away
    taken = _disk_mask(max(1.0, 0.75 * neuron_radius))
    footprints, traces, centers = [], [], []
    blocked = np.zeros((H, W), bool)

    def take(r, c):
        r0, r1 = max(r - half, 0), min(r + half + 1, H)
        c0, c1 = max(c - half, 0), min(c + half + 1, W)
        patch = Z[:, r0:r1, c0:c1].reshape(n_bins, -1).astype(np.float64)
        a, trace = _rank1(patch, Z[:, r, c])
        if not np.any(a > 0) or not np.any(trace > 0):
            return False
        Z[:, r0:r1, c0:c1] -= np.outer(trace, a).reshape(n_bins, r1 - r0, c1 - c0).astype(np.float32)
        sub = Z[:, r0:r1, c0:c1]
        rho[r0:r1, c0:c1] = np.einsum("tij,tij->ij", sub, sub) / n_bins / sd_z[r0:r1, c0:c1] ** 2
        # what a rank-1 fit leaves near its seed is not another neuron (centres are >= r apart)
        _stamp(blocked, taken, r, c)
        rr, cc = np.meshgrid(np.arange(r0, r1), np.arange(c0, c1), indexing="ij")
        keep = a > 0
        footprints.append(((rr.ravel() * W + cc.ravel())[keep], a[keep]))
        traces.append(trace)
        centers.append((r, c))
        return True

    if seeds is not None:
        seeds = np.asarray(seeds, dtype=float).reshape(-1, 2)
        for i, (r, c) in enumerate(seeds):
            ri, ci = int(round(r)), int(round(c))
            if not (0 <= ri < H and 0 <= ci < W):
                raise ParameterError(f"seed {i} at (row {r}, col {c}) is outside the {H} x {W} frame")
            take(ri, ci)
    else:
        target = min(n_components, max_components) if n_components > 0 else max_components
        rejections = 0
        while len(traces) < target and rejections < MAX_REJECTIONS:
            idx = int(np.argmax(np.where(blocked, -np.inf, rho)))
            if blocked.flat[idx] or not rho.flat[idx] >= MIN_ENERGY:
                break
            r, c = divmod(idx, W)
            pnr = float(Z[:, r, c].max() / sd_z[r, c])
            ok = n_components > 0 or (pnr >= min_pnr and corr_local[r, c] >= min_corr)
            if not (ok and take(r, c)):
                # block the rejected seed's neighbourhood so the search moves on
                blocked[max(r - supp, 0):r + supp + 1, max(c - supp, 0):c + supp + 1] = True
                rejections += 1
            else:
                rejections = 0
            if len(traces) % 10 == 0:
                checkpoint(progress, 0.5 + 0.5 * min(len(traces) / max(target, 1), 1.0),
                           f"initialisation: {len(traces)} components")
    del Z, Zf

    K = len(traces)
    if K:
        rows = np.concatenate([p for p, _ in footprints])
        vals = np.concatenate([v for _, v in footprints])
        cols = np.repeat(np.arange(K), [len(p) for p, _ in footprints])
        A = sp.csc_matrix((vals, (rows, cols)), shape=(P, K))
        C = np.repeat(np.asarray(traces), tsub, axis=1)[:, :T]
    else:
        A = sp.csc_matrix((P, 0))
        C = np.zeros((0, T))
    f = np.repeat(f_bins, tsub, axis=1)[:, :T] if nb > 0 else np.zeros((0, T))
    checkpoint(progress, 1.0, f"initialisation: {K} components")
    return InitResult(A=A, C=C, centers=np.asarray(centers, float).reshape(-1, 2), f=f, tsub=tsub)

"""One-photon initialisation (CNMF-E): seeds from the correlation and PNR images, then each
seed's footprint by regression with its local background removed.

Three streaming passes, never holding the movie:

1. the correlation and PNR images of the high-pass filtered movie (:mod:`.images`);
2. at each seed (:func:`.seeds.select_seeds`), its filtered trace (a 3 x 3 mean) and the raw
   trace of a ring around it (the local background); seeds within a neuron diameter whose
   traces are one cell's are merged, the better one kept;
3. the raw movie in a window around each seed, regressed on [the seed's trace, the traces of
   the seeds nearby, the local background, 1]: the seed trace's coefficient at each pixel is
   its footprint, with the background (and the overlapping neighbours) taken out first.

References
----------
Zhou P. et al. (2018) eLife 7:e28728 (Methods: "Initialization").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.engine.onephoton.images import CorrPNR, correlation_pnr, highpass
from cnmf_gui.engine.onephoton.seeds import select_seeds
from cnmf_gui.engine.streaming import iter_chunks, movie_shape
from cnmf_gui.progress import SubProgress, checkpoint

log = logging.getLogger("cnmf_gui.engine")

__all__ = ["OnePhotonInit", "initialize_onephoton"]

#: Seeds closer than this many radii whose traces correlate above SAME_CELL are one neuron.
SAME_CELL = 0.8


@dataclass
class OnePhotonInit:
    """Initial footprints and traces, and the images they came from.

    Attributes
    ----------
    A : csc_matrix of shape (H*W, K), unit-norm columns
    C : ndarray of shape (K, T)
    images : CorrPNR
    seeds : ndarray of shape (K, 2), int
    """

    A: sp.csc_matrix
    C: np.ndarray
    images: CorrPNR
    seeds: np.ndarray


def _window(r, c, half, H, W):
    return max(r - half, 0), min(r + half + 1, H), max(c - half, 0), min(c + half + 1, W)


def _ring_mask(radius_in, radius_out):
    R = int(np.ceil(radius_out))
    yy, xx = np.mgrid[-R:R + 1, -R:R + 1]
    d = np.hypot(yy, xx)
    return (d >= radius_in) & (d <= radius_out), R


def _seed_traces(movie, seeds, neuron_radius, chunk_frames, progress):
    """Filtered 3 x 3 trace at each seed and the raw mean on a ring around it, (n, T) each."""
    T, H, W = movie_shape(movie)
    n = len(seeds)
    c = np.zeros((n, T), np.float32)
    bg = np.zeros((n, T), np.float32)
    ring, R = _ring_mask(2.0 * neuron_radius, 3.0 * neuron_radius)
    pad = int(np.ceil(3 * neuron_radius)) + 2
    for start, frames in iter_chunks(movie, chunk_frames):
        Z = highpass(frames, neuron_radius)
        P = np.pad(frames, ((0, 0), (pad, pad), (pad, pad)), mode="constant", constant_values=np.nan)
        m = frames.shape[0]
        for k, (r, col) in enumerate(seeds):
            r0, r1, c0, c1 = _window(r, col, 1, H, W)
            c[k, start:start + m] = Z[:, r0:r1, c0:c1].mean(axis=(1, 2))
            block = P[:, r + pad - R:r + pad + R + 1, col + pad - R:col + pad + R + 1][:, ring]
            bg[k, start:start + m] = np.nanmean(block, axis=1)
        checkpoint(progress, (start + m) / T, "initialisation: seed traces")
    return c, bg


def _same_cell(seeds, c, neuron_radius):
    """Keep the first (best) of seeds that are one cell: near each other, traces alike."""
    keep = np.ones(len(seeds), bool)
    if len(seeds) < 2:
        return keep
    z = c - c.mean(axis=1, keepdims=True)
    z /= np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)
    d = np.hypot(*(seeds[:, None, :] - seeds[None, :, :]).transpose(2, 0, 1))
    for k in range(len(seeds)):
        if not keep[k]:
            continue
        near = np.nonzero(keep & (d[k] < 2.0 * neuron_radius) & (np.arange(len(seeds)) > k))[0]
        if len(near):
            same = near[(z[near] @ z[k]) > SAME_CELL]
            keep[same] = False
    return keep


def _footprints(movie, seeds, c, bg, neuron_radius, chunk_frames, progress):
    """Regression of each seed's window on [c_k, neighbours' c, bg_k, 1] -> footprint of c_k."""
    T, H, W = movie_shape(movie)
    half = int(np.ceil(2.0 * neuron_radius))
    n = len(seeds)
    d = np.hypot(*(seeds[:, None, :] - seeds[None, :, :]).transpose(2, 0, 1))
    regs, stats, windows = [], [], []
    for k, (r, col) in enumerate(seeds):
        nbrs = np.nonzero((d[k] < 2 * half) & (np.arange(n) != k))[0]
        X = np.vstack([c[k], c[nbrs], bg[k], np.ones(T, np.float32)]).astype(np.float64)   # (q, T)
        regs.append(X)
        win = _window(r, col, half, H, W)
        windows.append(win)
        stats.append(np.zeros(((win[1] - win[0]) * (win[3] - win[2]), X.shape[0])))
    for start, frames in iter_chunks(movie, chunk_frames):
        m = frames.shape[0]
        for k in range(n):
            r0, r1, c0, c1 = windows[k]
            Y = frames[:, r0:r1, c0:c1].reshape(m, -1).astype(np.float64)
            stats[k] += Y.T @ regs[k][:, start:start + m].T
        checkpoint(progress, (start + m) / T, "initialisation: footprints")
    cols, rows_out, vals_out, keep = [], [], [], []
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    for k in range(n):
        X = regs[k]
        G = X @ X.T
        G += 1e-9 * np.trace(G) / len(G) * np.eye(len(G))
        coef = np.linalg.solve(G, stats[k].T)                       # (q, pixels)
        r0, r1, c0, c1 = windows[k]
        a = np.maximum(coef[0], 0.0).reshape(r1 - r0, c1 - c0)
        r, col = seeds[k]
        within = (yy[r0 - r + half:r1 - r + half, c0 - col + half:c1 - col + half] ** 2
                  + xx[r0 - r + half:r1 - r + half, c0 - col + half:c1 - col + half] ** 2) <= (1.6 * neuron_radius) ** 2
        a = np.where(within, a, 0.0)
        if a.max() <= 0:
            continue
        lab, _ = ndimage.label(a > 0.2 * a.max())
        centre = lab[r - r0, col - c0] or lab.flat[np.argmax(a)]
        a = np.where(lab == centre, a, 0.0)
        pr, pc = np.nonzero(a)
        if len(pr) < 3:
            continue
        v = a[pr, pc]
        nrm = float(np.linalg.norm(v))
        rows_out.append((pr + r0) * W + (pc + c0))
        vals_out.append(v / nrm)
        cols.append(len(cols))
        keep.append(k)
        # c_k in units of the movie at a unit-norm footprint
        c[k] *= nrm
    K = len(keep)
    if K == 0:
        return sp.csc_matrix((H * W, 0)), np.zeros((0, T)), np.zeros(0, int)
    indptr = np.r_[0, np.cumsum([len(x) for x in rows_out])]
    A = sp.csc_matrix((np.concatenate(vals_out), np.concatenate(rows_out), indptr), shape=(H * W, K))
    A.sort_indices()
    return A, c[keep].astype(float), np.asarray(keep, int)


def initialize_onephoton(movie, neuron_radius: float, *, min_corr: float = 0.8, min_pnr: float = 10.0,
                         max_components: int = 2000, seeds=None, chunk_frames: int = 500,
                         progress=None) -> OnePhotonInit:
    """Footprints and traces of the neurons of a one-photon movie (CNMF-E's initialisation).

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    neuron_radius : float
        px.
    min_corr, min_pnr : float
        Thresholds on the correlation and PNR images for a seed.
    max_components : int
    seeds : sequence of (row, col), optional
        Use these instead of searching.
    chunk_frames : int
    progress : Progress, optional

    Returns
    -------
    OnePhotonInit
    """
    T, H, W = movie_shape(movie)
    images = correlation_pnr(movie, neuron_radius, chunk_frames=chunk_frames,
                             progress=SubProgress(progress, 0.0, 0.4, "correlation and PNR"))
    if seeds is None:
        pts = select_seeds(images.correlation, images.pnr, min_corr, min_pnr, neuron_radius,
                           max_seeds=max_components)
    else:
        pts = np.clip(np.round(np.asarray(seeds, float).reshape(-1, 2)).astype(int), 0, [H - 1, W - 1])
    if len(pts) == 0:
        return OnePhotonInit(sp.csc_matrix((H * W, 0)), np.zeros((0, T)), images, pts)
    c, bg = _seed_traces(movie, pts, neuron_radius, chunk_frames, SubProgress(progress, 0.4, 0.7))
    if seeds is None:
        keep = _same_cell(pts, c, neuron_radius)
        pts, c, bg = pts[keep], c[keep], bg[keep]
    A, C, kept = _footprints(movie, pts, c, bg, neuron_radius, chunk_frames, SubProgress(progress, 0.7, 1.0))
    log.info("one-photon initialisation: %d seeds, %d components", len(pts), A.shape[1])
    return OnePhotonInit(A, C, images, pts[kept])

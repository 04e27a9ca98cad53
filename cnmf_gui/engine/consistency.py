"""Spatial consistency (r_value) of footprints: the movie averaged over each component's transients.

For every component the movie is summed over its transient frames on its bounding box (grown by
a margin), one pass over the movie in chunks. Those sums are the only per-component state, so a
pass holds ``sum(box sizes)`` float64 values: small for somata, but up to pixels x components
when footprints have stray pixels far from their cell (a box then spans most of the field; a
1024 x 1024 x 13,400 run with 369 such components held 8.3 GB, 24 bytes per box pixel, before
the boxes were kept as rectangles and the sums bounded). When the boxes together exceed
:data:`SUMS_BYTES`, the components are split into consecutive groups, one pass over the movie
each; every component's sums are accumulated in the same chunks and order as in one pass, so the
result does not depend on the split.

References
----------
Giovannucci A. et al. (2019) CaImAn an open source tool for scalable calcium imaging data
analysis. eLife 8:e38173 (spatial footprint consistency as an acceptance criterion).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.streaming import chunk_length, iter_chunks, movie_shape
from cnmf_gui.progress import checkpoint

#: A frame is part of a transient when the denoised trace is above this fraction of its peak.
TRANSIENT_FRACTION = 0.3
#: At most this many frames (the strongest) are averaged per component.
MAX_TRANSIENT_FRAMES = 200
#: Bytes of transient sums (float64, one per box pixel) one pass over the movie may hold.
SUMS_BYTES = 512 * 2**20


def transient_frames(c: np.ndarray) -> np.ndarray:
    """Frames of a denoised trace's transients (at most MAX_TRANSIENT_FRAMES, strongest first)."""
    if c.size == 0 or c.max() <= 0:
        return np.zeros(0, int)
    frames = np.nonzero(c >= TRANSIENT_FRACTION * c.max())[0]
    if len(frames) > MAX_TRANSIENT_FRAMES:
        frames = frames[np.argsort(-c[frames], kind="stable")[:MAX_TRANSIENT_FRAMES]]
    return np.sort(frames)


def _boxes(A: sp.csc_matrix, shape, margin: int) -> np.ndarray:
    """Each footprint's bounding box grown by ``margin``, shape (K, 4): rows r0:r1, columns c0:c1
    (all zero for an empty footprint)."""
    H, W = shape
    boxes = np.zeros((A.shape[1], 4), int)
    for k in range(A.shape[1]):
        pix = A.indices[A.indptr[k]:A.indptr[k + 1]]
        if len(pix):
            r, c = np.divmod(pix, W)
            boxes[k] = (max(r.min() - margin, 0), min(r.max() + margin + 1, H),
                        max(c.min() - margin, 0), min(c.max() + margin + 1, W))
    return boxes


def _box_pixels(box, W: int) -> np.ndarray:
    """Flat indices of a box's pixels, row by row, shape (n,)."""
    r0, r1, c0, c1 = box
    return (np.arange(r0, r1)[:, None] * W + np.arange(c0, c1)[None, :]).ravel()


def _groups(sizes: np.ndarray, budget: int) -> list[np.ndarray]:
    """Consecutive components whose sizes add up to at most ``budget`` (at least one each)."""
    groups, start, total = [], 0, 0
    for k, n in enumerate(sizes):
        if k > start and total + n > budget:
            groups.append(np.arange(start, k))
            start, total = k, 0
        total += n
    if len(sizes):
        groups.append(np.arange(start, len(sizes)))
    return groups


def spatial_consistency(movie, A: sp.csc_matrix, C: np.ndarray, mean_image: np.ndarray,
                        b: np.ndarray | None = None, f: np.ndarray | None = None, *,
                        margin: int = 3, demixed: bool = False, chunk_frames: int = 500,
                        progress=None):
    """r_value: correlation of each footprint with the movie during its transients.

    The correlation is taken over the footprint's bounding box grown by ``margin`` pixels, so
    the pixels just outside the footprint (where it is zero) count too: a footprint that is
    only noise fitted to its own trace correlates well on its support but not with its
    surroundings.

    Its demixed variant first removes what the other components' own activity adds there over
    those frames (their footprints times their traces' departure from their means), as the
    background's is: a cell whose neighbour fires with it (shared bursts, dense fields) keeps
    its consistency, which the plain r_value gives away to the neighbour's light.

    Memory: a chunk of the movie, the K x T traces, and at most :data:`SUMS_BYTES` of sums
    (more passes over the movie when the boxes need more).

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    A : csc_matrix of shape (H*W, K)
    C : ndarray of shape (K, T)
    mean_image : ndarray of shape (H, W)
        The movie's mean, subtracted so only what lights up during the transients remains.
    b, f : ndarrays of shape (H*W, nb) and (nb, T), optional
        Background, whose fluctuation over the transient frames is removed too.
    margin : int
        Pixels added around each footprint's bounding box.
    demixed : bool
        Also return the demixed variant.

    Returns
    -------
    r : ndarray of shape (K,)
        NaN where a component has no transient or a flat footprint.
    r_demixed : ndarray of shape (K,), only when ``demixed``
    """
    T, H, W = movie_shape(movie)
    A = sp.csc_matrix(A)
    A.sort_indices()
    K = A.shape[1]
    boxes = _boxes(A, (H, W), margin)
    frames = [transient_frames(C[k]) for k in range(K)]
    sizes = np.array([(r1 - r0) * (c1 - c0) if len(frames[k]) else 0
                      for k, (r0, r1, c0, c1) in enumerate(boxes)], np.int64)
    groups = _groups(sizes, max(1, SUMS_BYTES // 8))
    mean_flat = np.asarray(mean_image, float).ravel()
    rows = A.tocsr() if demixed else None
    C = np.asarray(C, float)
    r = np.full(K, np.nan)
    r_dem = np.full(K, np.nan)
    n_chunk = chunk_length(movie, chunk_frames)
    starts = np.arange(0, T + n_chunk, n_chunk)
    for i, group in enumerate(groups):
        group = group[sizes[group] > 0]
        if not len(group):
            continue
        sums = {k: np.zeros(sizes[k]) for k in group}
        # where each component's transient frames fall in the chunks, found once per pass (a
        # search per component and chunk was a third of this pass's time at K = 864)
        bounds = {k: np.searchsorted(frames[k], starts) for k in group}
        for j, (start, chunk) in enumerate(iter_chunks(movie, chunk_frames)):
            n = chunk.shape[0]
            for k in group:
                lo, hi = bounds[k][j], bounds[k][j + 1]
                if hi > lo:
                    sel = frames[k][lo:hi] - start
                    r0, r1, c0, c1 = boxes[k]
                    sums[k] += chunk[sel, r0:r1, c0:c1].reshape(len(sel), -1).sum(axis=0)
            where = f" (pass {i + 1}/{len(groups)})" if len(groups) > 1 else ""
            checkpoint(progress, (i + (start + n) / T) / len(groups),
                       f"evaluation: frame {start + n}/{T}{where}")
        for k in group:
            _correlate(k, sums.pop(k), frames[k], _box_pixels(boxes[k], W), A, C, mean_flat,
                       b, f, rows, r, r_dem)
    return (r, r_dem) if demixed else r


def _correlate(k, sums, fr, box, A, C, mean_flat, b, f, rows, r, r_dem) -> None:
    """r[k] (and r_dem[k] when ``rows``, A as CSR, is given) from the sums over its transients."""
    pix = A.indices[A.indptr[k]:A.indptr[k + 1]]
    a = np.zeros(len(box))
    a[np.searchsorted(box, pix)] = A.data[A.indptr[k]:A.indptr[k + 1]]
    if np.count_nonzero(a) < 3 or not np.std(a) > 0:
        return
    img = sums / len(fr) - mean_flat[box]
    if b is not None and f is not None and b.shape[1]:
        img -= b[box] @ (f[:, fr].mean(axis=1) - f.mean(axis=1))
    if np.std(img) > 0:
        r[k] = np.corrcoef(a, img)[0, 1]
    if rows is not None:
        near = rows[box].tocsc()
        others = np.setdiff1d(np.flatnonzero(np.diff(near.indptr)), [k])
        if len(others):
            img = img - near[:, others] @ (C[others][:, fr].mean(axis=1) - C[others].mean(axis=1))
        if np.std(img) > 0:
            r_dem[k] = np.corrcoef(a, img)[0, 1]

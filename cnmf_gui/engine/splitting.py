"""Splitting a component that covers two cells: rank-2 NMF of its data on its own support.

What the component explains plus what is left of the movie there, ``R = Y - A C - b f + a c``
(every other component and the background stay subtracted), is restricted to the component's
support and factorised as ``R ~ u_1 c_1 + u_2 c_2`` with non-negative footprints (each kept to
one connected blob) by a few HALS sweeps. The two parts start from two seed points: the user's
clicks, or, automatically, the support's strongest pixel and the strong pixel whose activity
correlates least with it. Static offsets (resting fluorescence, texture) are not activity: a low
per-pixel quantile is removed before the factorisation and the final traces are projections of
the whole residual, so they carry the same baseline and noise as any raw trace ``F``.

References
----------
Pnevmatikakis et al., "Simultaneous denoising, deconvolution, and demixing of calcium imaging
data", Neuron 89(2), 2016 (the model Y = A C + b f + E).
Cichocki & Phan, "Fast local algorithms for large scale nonnegative matrix and tensor
factorizations", IEICE Trans. 92(3), 2009 (HALS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.movie_window import read_window
from cnmf_gui.engine.seeding import _largest_blob, window_columns


@dataclass
class SplitFit:
    """The two parts of a split component.

    Attributes
    ----------
    footprints : ndarray of shape (H*W, 2)
        Unit-L2-norm footprints, pixel index ``row * W + col`` like ``A``; their supports lie
        inside the split component's support and do not overlap.
    traces : ndarray of shape (2, T)
        Raw traces (``F``: calcium, resting level and noise, in footprint units).
    seeds : ndarray of shape (2, 2), int
        The (row, col) each part grew from.
    """

    footprints: np.ndarray
    traces: np.ndarray
    seeds: np.ndarray


def _near(rows, cols, point, radius=1.5):
    return (rows - point[0]) ** 2 + (cols - point[1]) ** 2 <= radius ** 2


def auto_seeds(R_act: np.ndarray, weights: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Two seed pixels for a split: the strongest one, and the strong one least like it.

    Parameters
    ----------
    R_act : ndarray of shape (P, T)
        Activity of the support's pixels (offsets removed).
    weights : ndarray of shape (P,)
        The component's footprint on them.
    rows, cols : ndarray of shape (P,)
        Their positions.

    Returns
    -------
    ndarray of shape (2, 2), int: (row, col) of each seed.
    """
    first = int(np.argmax(weights))
    ref = R_act[_near(rows, cols, (rows[first], cols[first]))].mean(axis=0)
    Rc = R_act - R_act.mean(axis=1, keepdims=True)
    ref = ref - ref.mean()
    corr = Rc @ ref / (np.linalg.norm(Rc, axis=1) * np.linalg.norm(ref) + 1e-12)
    strong = weights >= 0.1 * weights[first]
    # Far from the first seed as well as unlike it: a pixel beside it is the same cell.
    dist = np.hypot(rows - rows[first], cols - cols[first])
    score = np.where(strong & (dist >= 2.0), (1.0 - corr) * np.sqrt(weights / weights[first]), -np.inf)
    if not np.isfinite(score).any():
        raise ValueError("the component is too small to split")
    second = int(np.argmax(score))
    return np.array([[rows[first], cols[first]], [rows[second], cols[second]]], int)


def split_component(movie, A, C, k: int, seeds=None, b=None, f=None, n_iter: int = 30) -> SplitFit:
    """Split component ``k`` in two (see the module).

    Parameters
    ----------
    movie : array of shape (T, H, W)
        Motion-corrected movie (a memmap is fine: only the component's bounding box is read).
    A : sparse matrix of shape (H*W, K)
        Footprints, pixel index ``row * W + col``.
    C : ndarray of shape (K, T)
        Traces in the model's units (``Y ~ A C + b f``).
    k : int
        Column of the component to split.
    seeds : array of shape (2, 2), optional
        (row, col) of the two cells (clicks); chosen automatically when None. Each must lie on
        the component's support (or within 2 px of it).
    b : ndarray of shape (H*W, nb), optional
    f : ndarray of shape (nb, T), optional
        Background.
    n_iter : int
        HALS sweeps.

    Returns
    -------
    SplitFit
    """
    T, H, W = movie.shape
    A = sp.csc_matrix(A)
    C = np.asarray(C, float)
    a_full = A[:, k].toarray().ravel()
    support = np.flatnonzero(a_full > 0)
    if support.size < 4:
        raise ValueError("the component is too small to split")
    rows_all, cols_all = np.divmod(support, W)
    r0, r1, c0, c1 = rows_all.min(), rows_all.max() + 1, cols_all.min(), cols_all.max() + 1
    h, w = r1 - r0, c1 - c0
    win_rows, win_cols = np.mgrid[r0:r1, c0:c1]
    win_idx = (win_rows * W + win_cols).ravel()
    Y = read_window(movie, (0, T), (r0, r1), (c0, c1)).astype(float).reshape(T, -1).T   # (P_w, T)
    A_w = window_columns(A, win_idx)
    # Only the component's own pixels enter the fit (both parts live on its support), so the
    # rest of its bounding box is never computed on.
    m = np.flatnonzero(A_w[:, k] > 0)
    A_m = A_w[m]
    present = np.flatnonzero(A_m.any(axis=0))
    R = Y[m] - A_m[:, present] @ C[present] + np.outer(A_m[:, k], C[k])
    if b is not None and f is not None and np.asarray(b).size:
        R -= np.asarray(b, float)[win_idx[m]] @ np.asarray(f, float)
    R_act = R - np.percentile(R, 20, axis=1, keepdims=True)
    prow, pcol = win_rows.ravel()[m], win_cols.ravel()[m]
    if seeds is None:
        seeds = auto_seeds(R_act, A_m[:, k], prow, pcol)
    seeds = np.asarray(seeds, int).reshape(2, 2)
    if np.array_equal(seeds[0], seeds[1]):
        raise ValueError("the two split points are the same pixel")
    # Each part starts as the seed neighbourhood's activity and the pixels that follow it.
    P = m.size
    U = np.zeros((P, 2))
    Ct = np.zeros((2, T))
    for j, point in enumerate(seeds):
        near = _near(prow, pcol, point)
        if not near.any():
            dist = np.hypot(prow - point[0], pcol - point[1])
            if dist.min() > 2.0:
                raise ValueError(f"point {point[0]},{point[1]} is not on the component's footprint")
            near = dist <= dist.min() + 0.5
        Ct[j] = np.maximum(R_act[near].mean(axis=0), 0)
    for j in range(2):
        U[:, j] = np.maximum(R_act @ Ct[j], 0)
    # Start each pixel in the part it correlates with most: two cells do not share pixels at first.
    owner = np.argmax(U, axis=1)
    for j in range(2):
        U[owner != j, j] = 0
    # A third, unconstrained term on the whole support takes the neuropil and any activity shared
    # by every pixel there, which would otherwise grow one part into a halo around both cells.
    U = np.column_stack([U, np.full(P, 1.0 / np.sqrt(max(P, 1)))])
    Ct = np.vstack([Ct, np.maximum(np.median(R_act, axis=0), 0) * np.sqrt(max(P, 1))])
    img = np.zeros(h * w)
    for _ in range(n_iter):
        UtR, UtU = U.T @ R_act, U.T @ U
        for j in range(3):
            if UtU[j, j] > 0:
                Ct[j] = np.maximum(Ct[j] + (UtR[j] - UtU[j] @ Ct) / UtU[j, j], 0)
        RCt, CCt = R_act @ Ct.T, Ct @ Ct.T
        for j in range(3):
            if CCt[j, j] > 0:
                U[:, j] = np.maximum(U[:, j] + (RCt[:, j] - U @ CCt[:, j]) / CCt[j, j], 0)
                if j < 2:
                    img[:] = 0
                    img[m] = U[:, j]
                    U[:, j] = _largest_blob(img, h, w, (int(seeds[j][0]) - r0, int(seeds[j][1]) - c0))[m]
    neuropil = U[:, 2].copy()
    U = U[:, :2]
    # A pixel belongs to the part that explains more of it: the two footprints do not overlap.
    owner = np.argmax(U * np.sqrt(np.diag(Ct[:2] @ Ct[:2].T))[None], axis=1)
    for j in range(2):
        U[owner != j, j] = 0
    norms = np.linalg.norm(U, axis=0)
    if np.any(norms == 0):
        raise ValueError("no second cell found in this component: nothing to split")
    U = U / norms
    # Raw traces: least squares of the whole residual (offsets included) on the two footprints.
    # The neuropil term stays in the fit so it does not leak into the traces.
    both = np.column_stack([U, neuropil]) if neuropil.any() else U
    traces = np.linalg.lstsq(both, R, rcond=None)[0][:2]
    full = np.zeros((H * W, 2))
    full[win_idx[m]] = U
    return SplitFit(footprints=full, traces=traces, seeds=seeds)

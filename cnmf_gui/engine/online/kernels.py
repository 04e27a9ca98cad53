"""Per-frame numerical kernels of online CNMF (numba): demixing and statistics updates."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def demix_frame(AtA, Aty, c, n_sweeps):
    """Non-negative least squares of one frame on [A b] by HALS sweeps, warm-started.

    Block-coordinate descent on ``min ||y - [A b] c||^2, c >= 0`` from the previous frame's
    values (Giovannucci et al. 2017): consecutive frames differ little, so a few sweeps
    converge.

    Parameters
    ----------
    AtA : ndarray of shape (M, M)
        ``[A b]^T [A b]``.
    Aty : ndarray of shape (M,)
        ``[A b]^T y``.
    c : ndarray of shape (M,)
        Start values; overwritten with the solution.
    n_sweeps : int
    """
    M = c.shape[0]
    for _ in range(n_sweeps):
        for k in range(M):
            d = AtA[k, k]
            if d <= 0.0:
                c[k] = 0.0
                continue
            acc = Aty[k]
            for j in range(M):
                acc -= AtA[k, j] * c[j]
            v = c[k] + acc / d
            c[k] = v if v > 0.0 else 0.0
    return c


@njit(cache=True, nogil=True)
def add_masked_products2(U, V, indptr, indices, y, c, w):
    """``U[q] += y[p] c[k]`` and ``V[q] += y[p] w[k]`` in one pass over the masks (y gathered once)."""
    K = indptr.shape[0] - 1
    for k in range(K):
        ck = c[k]
        wk = w[k]
        if wk == 0.0:
            if ck == 0.0:
                continue
            for q in range(indptr[k], indptr[k + 1]):
                U[q] += y[indices[q]] * ck
            continue
        for q in range(indptr[k], indptr[k + 1]):
            v = y[indices[q]]
            U[q] += v * ck
            V[q] += v * wk


@njit(cache=True, nogil=True)
def masked_products(Y, c, indices):
    """``sum_t Y[t, indices] c[t]``: one new component's ``Y c^T`` on its mask from a buffer."""
    out = np.zeros(indices.shape[0])
    for t in range(Y.shape[0]):
        ct = c[t]
        if ct == 0.0:
            continue
        for q in range(indices.shape[0]):
            out[q] += Y[t, indices[q]] * ct
    return out

"""Per-frame numerical kernels of online CNMF (numba): demixing and statistics updates."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def demix_frame(AtA, Aty, c, n_sweeps, grad):
    """Non-negative least squares of one frame on [A b] by HALS sweeps, warm-started.

    Block-coordinate descent on ``min ||y - [A b] c||^2, c >= 0`` from the previous frame's
    values (Giovannucci et al. 2017): consecutive frames differ little, so a few sweeps
    converge. The gradient ``grad = Aty - AtA c`` is kept up to date as coordinates move, so a
    coordinate that stays at zero (most of them in any one frame) costs O(1) instead of O(M);
    the iterates are those of the plain sweep.

    Parameters
    ----------
    AtA : ndarray of shape (M, M)
        ``[A b]^T [A b]`` (symmetric).
    Aty : ndarray of shape (M,)
        ``[A b]^T y``.
    c : ndarray of shape (M,)
        Start values; overwritten with the solution.
    n_sweeps : int
    grad : ndarray of shape (M,)
        Overwritten with ``Aty - AtA c`` at the solution (``[A b]^T`` of the residual).
    """
    M = c.shape[0]
    for k in range(M):
        grad[k] = Aty[k]
    for j in range(M):
        cj = c[j]
        if cj != 0.0:
            for k in range(M):
                grad[k] -= AtA[j, k] * cj
    for _ in range(n_sweeps):
        for k in range(M):
            d = AtA[k, k]
            if d <= 0.0:
                v = 0.0
            else:
                v = c[k] + grad[k] / d
                if v < 0.0:
                    v = 0.0
            delta = v - c[k]
            if delta != 0.0:
                c[k] = v
                for j in range(M):
                    grad[j] -= AtA[k, j] * delta
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


@njit(cache=True, nogil=True)
def csr_matvec64(indptr, indices, data, y, out):
    """``out = M y`` for a CSR matrix (float32 values), accumulated in float64.

    One frame's footprint products ``A^T y`` sum a few hundred pixels of values in the
    thousands: float64 accumulation keeps ``A^T y - A^T A c`` (the raw trace) exact enough.
    """
    for k in range(indptr.shape[0] - 1):
        acc = 0.0
        for q in range(indptr[k], indptr[k + 1]):
            acc += np.float64(data[q]) * np.float64(y[indices[q]])
        out[k] = acc
    return out


@njit(cache=True, nogil=True)
def residual_into(out, y, b, cb, indptr, indices, data, c):
    """``out = y - b cb - A c`` with A in CSC (P, K); only components with ``c > 0`` are visited
    (after the non-negative demixing most are zero in any one frame)."""
    P = y.shape[0]
    nb = cb.shape[0]
    for p in range(P):
        v = y[p]
        for j in range(nb):
            v -= b[p, j] * cb[j]
        out[p] = v
    for k in range(indptr.shape[0] - 1):
        ck = c[k]
        if ck == 0.0:
            continue
        for q in range(indptr[k], indptr[k + 1]):
            out[indices[q]] -= data[q] * ck
    return out


@njit(cache=True, nogil=True)
def accumulate_frame(y, ysum, vmax, Ub, cb, copy_to):
    """One pass over a frame: ``ysum += y``, ``vmax = max(vmax, y)``, ``Ub += y cb^T`` and a copy
    of y into the ring buffer slot ``copy_to`` (all (P,) or (P, nb)), without temporaries."""
    nb = cb.shape[0]
    for p in range(y.shape[0]):
        v = y[p]
        ysum[p] += v
        if v > vmax[p]:
            vmax[p] = v
        for j in range(nb):
            Ub[p, j] += v * cb[j]
        copy_to[p] = v


@njit(cache=True, nogil=True)
def add_outer_sparse(V, c):
    """``V += c c^T`` visiting only the non-zero entries of c (most are zero in one frame)."""
    nz = np.flatnonzero(c)
    for a in range(nz.shape[0]):
        i = nz[a]
        ci = c[i]
        for b in range(nz.shape[0]):
            j = nz[b]
            V[i, j] += ci * c[j]


@njit(cache=True, nogil=True)
def dense_products64(Bt, y, out):
    """``out = Bt y`` for a dense (nb, P) float32 matrix, accumulated in float64: the background's
    product with a frame sums P values in the thousands (float32 sums lose several digits)."""
    for j in range(Bt.shape[0]):
        acc = 0.0
        for p in range(Bt.shape[1]):
            acc += np.float64(Bt[j, p]) * np.float64(y[p])
        out[j] = acc
    return out

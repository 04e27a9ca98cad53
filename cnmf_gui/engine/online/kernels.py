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
    (after the non-negative demixing most are zero in any one frame). Online, all of them are
    binned: y, b and A (P = the binned grid's pixels)."""
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
def accumulate_frame(y, ysum, vmax, Ub, cb, copy_to, width, bin, ybin):
    """One pass over a frame: ``ysum += y``, ``vmax = max(vmax, y)``, ``Ub += y cb^T``, a copy of
    y into the ring buffer slot ``copy_to`` (all (P,) or (P, nb)), and ``ybin`` (Pb,) = the
    frame binned (mean of ``bin`` x ``bin`` pixels of a frame ``width`` px wide; pixels beyond
    the last whole bin are left out), without temporaries."""
    nb = cb.shape[0]
    H = y.shape[0] // width
    hb = H // bin
    wb = width // bin
    for q in range(ybin.shape[0]):
        ybin[q] = 0.0
    for r in range(H):
        binned_row = r < hb * bin
        q0 = (r // bin) * wb
        p0 = r * width
        for c in range(width):
            p = p0 + c
            v = y[p]
            ysum[p] += v
            if v > vmax[p]:
                vmax[p] = v
            for j in range(nb):
                Ub[p, j] += v * cb[j]
            copy_to[p] = v
        if binned_row:
            # the bins of this row: a separate pass over its pixels (cached), without a division
            # per pixel
            for cbin in range(wb):
                acc = np.float32(0.0)
                for dc in range(bin):
                    acc += y[p0 + cbin * bin + dc]
                ybin[q0 + cbin] += acc
    inv = np.float32(1.0 / (bin * bin))
    for q in range(ybin.shape[0]):
        ybin[q] *= inv


@njit(cache=True, nogil=True)
def dense_products64(Bt, y, out):
    """``out = Bt y`` for a dense (nb, P) float32 matrix, accumulated in float64: the background's
    product with a frame sums P values in the thousands (float32 sums lose several digits)."""
    P = Bt.shape[1]
    m = P - P % 4
    for j in range(Bt.shape[0]):
        # four partial sums: one chain of dependent additions ran at a quarter of the speed
        a0 = a1 = a2 = a3 = 0.0
        for p in range(0, m, 4):
            a0 += np.float64(Bt[j, p]) * np.float64(y[p])
            a1 += np.float64(Bt[j, p + 1]) * np.float64(y[p + 1])
            a2 += np.float64(Bt[j, p + 2]) * np.float64(y[p + 2])
            a3 += np.float64(Bt[j, p + 3]) * np.float64(y[p + 3])
        for p in range(m, P):
            a0 += np.float64(Bt[j, p]) * np.float64(y[p])
        out[j] = (a0 + a1) + (a2 + a3)
    return out


@njit(cache=True, nogil=True)
def add_masked_block(U, V, indptr, indices, Y, slots, c_ring, w_ring):
    """``U[q] += sum_j Y[s_j, p] c_ring[s_j, k]`` and the same for V with ``w_ring``, over the
    ring slots ``s_j`` of a block of frames (p = indices[q], k the column of entry q).

    Added frame by frame, every entry of U and V (float64, megabytes at 512 x 512) was read
    and written once per frame; here once per block, and a frame's pixels
    are read where the neighbouring entries read them (the masks' pixels are sorted).
    """
    K = indptr.shape[0] - 1
    n = slots.shape[0]
    cj = np.empty(n)
    wj = np.empty(n)
    for k in range(K):
        for j in range(n):              # component k's values in the block, gathered once
            cj[j] = c_ring[slots[j], k]
            wj[j] = w_ring[slots[j], k]
        for q in range(indptr[k], indptr[k + 1]):
            p = indices[q]
            au = 0.0
            aw = 0.0
            for j in range(n):
                v = np.float64(Y[slots[j], p])
                au += v * cj[j]
                aw += v * wj[j]
            U[q] += au
            V[q] += aw


@njit(cache=True, nogil=True)
def column_products64(indptr, indices, data, dense, cols, out):
    """``out[k] = sum_q data[q] dense[indices[q]]`` over the entries of column k, for the
    columns ``cols`` only (the others are left as they are), accumulated in float64."""
    for i in range(cols.shape[0]):
        k = cols[i]
        acc = 0.0
        for q in range(indptr[k], indptr[k + 1]):
            acc += np.float64(data[q]) * np.float64(dense[indices[q]])
        out[k] = acc
    return out

"""Spatial update of CNMF: non-negative footprints by HALS on sufficient statistics.

Given traces C (K, T) and background f (nb, T), the footprints A (P, K) and the spatial
background b (P, nb) minimise ||Y - A C - b f||_F^2 with A, b >= 0, each footprint restricted to
a dilated neighbourhood of its current support. The movie enters only through Y C^T on each
footprint's neighbourhood and Y f^T, accumulated over chunks; the updates themselves are exact
block coordinate descent (hierarchical alternating least squares) on those statistics.

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299 (spatial update restricted to dilated supports).
Cichocki A. & Phan A.-H. (2009) Fast local algorithms for large scale nonnegative matrix and
tensor factorizations. IEICE Trans Fundamentals E92-A(3):708-721 (HALS).
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.engine.streaming import iter_chunks, movie_shape
from cnmf_gui.progress import checkpoint


# ----------------------------------------------------------------------------------------------
# Neighbourhoods
# ----------------------------------------------------------------------------------------------


def _disk(radius: float) -> np.ndarray:
    r = int(math.floor(radius))
    y, x = np.mgrid[-r:r + 1, -r:r + 1]
    return (y ** 2 + x ** 2) <= radius ** 2 + 1e-9


def dilate_supports(A: sp.csc_matrix, shape: tuple[int, int], radius: float) -> sp.csc_matrix:
    """Pattern of the pixels within ``radius`` px of each footprint's support.

    Parameters
    ----------
    A : csc_matrix of shape (H*W, K)
    shape : (H, W)
    radius : float
        Dilation radius, px (0: the support itself).

    Returns
    -------
    csc_matrix of shape (H*W, K), float64 with ones on each neighbourhood, sorted indices
    """
    H, W = shape
    A = sp.csc_matrix(A)
    A.sort_indices()
    disk = _disk(radius) if radius >= 1 else np.ones((1, 1), bool)
    pad = disk.shape[0] // 2
    cols, rows_out = [], []
    for k in range(A.shape[1]):
        seg = slice(A.indptr[k], A.indptr[k + 1])
        pix = A.indices[seg][A.data[seg] > 0]
        if len(pix) == 0:
            rows_out.append(np.zeros(0, np.int64))
            continue
        r, c = np.divmod(pix, W)
        r0, c0 = max(r.min() - pad, 0), max(c.min() - pad, 0)
        r1, c1 = min(r.max() + pad + 1, H), min(c.max() + pad + 1, W)
        box = np.zeros((r1 - r0, c1 - c0), bool)
        box[r - r0, c - c0] = True
        if pad:
            box = ndimage.binary_dilation(box, structure=disk)
        br, bc = np.nonzero(box)
        rows_out.append(((br + r0) * W + (bc + c0)).astype(np.int64))
    indptr = np.r_[0, np.cumsum([len(x) for x in rows_out])].astype(np.int64)
    indices = np.concatenate(rows_out) if rows_out else np.zeros(0, np.int64)
    M = sp.csc_matrix((np.ones(len(indices)), indices, indptr), shape=A.shape)
    M.sort_indices()
    return M


def restrict(A: sp.csc_matrix, masks: sp.csc_matrix) -> np.ndarray:
    """Values of A on the pattern of ``masks``, in CSC order (zero where A has no value).

    Parameters
    ----------
    A : csc_matrix of shape (P, K)
    masks : csc_matrix of shape (P, K), sorted indices

    Returns
    -------
    ndarray of shape (nnz(masks),)
        Values of A outside the pattern are dropped: they are outside the neighbourhood.
    """
    P = masks.shape[0]
    A = sp.csc_matrix(A)
    mask_keys = np.repeat(np.arange(masks.shape[1], dtype=np.int64), np.diff(masks.indptr)) * P \
        + masks.indices
    a_keys = np.repeat(np.arange(A.shape[1], dtype=np.int64), np.diff(A.indptr)) * P + A.indices
    out = np.zeros(masks.nnz)
    where = np.searchsorted(mask_keys, a_keys)
    ok = where < len(mask_keys)
    ok[ok] = mask_keys[where[ok]] == a_keys[ok]
    out[where[ok]] = A.data[ok]
    return out


# ----------------------------------------------------------------------------------------------
# Sufficient statistics, accumulated over chunks
# ----------------------------------------------------------------------------------------------


#: Pixels per block of :func:`_masked_products`: a block's frames (n x 128 float32) stay in cache.
_PIXEL_BLOCK = 128


@numba.njit(parallel=True, cache=True, nogil=True)
def _masked_products(Y, Cc, row_ptr, row_comp, row_pos, out):
    """out[q] += sum_t Y[t, p] Cc[k, t] for every pattern entry q = (p, k).

    Y (n, P) float32, frames as rows; Cc (K, n) float32; the pattern by pixel (CSR): pixel p's
    entries are row_ptr[p]:row_ptr[p + 1], each with its component row_comp and its position
    row_pos in ``out`` (CSC order). Blocks of pixels run in parallel: each block's frames are
    copied pixel-major once, so a pixel's n values are contiguous and are read once for all the
    components whose neighbourhood holds it (reading each footprint's box frame by frame missed
    the cache: 1.5x slower at 512 x 512). Each entry is summed over t in frame order, skipping
    frames where its trace is zero, as before: the sums are bit-identical.
    """
    n, P = Y.shape
    B = _PIXEL_BLOCK
    for blk in numba.prange((P + B - 1) // B):
        p0 = blk * B
        p1 = min(P, p0 + B)
        if row_ptr[p1] == row_ptr[p0]:
            continue
        tile = np.empty((p1 - p0, n), np.float32)
        for t in range(n):
            for p in range(p0, p1):
                tile[p - p0, t] = Y[t, p]
        for p in range(p0, p1):
            values = tile[p - p0]
            for e in range(row_ptr[p], row_ptr[p + 1]):
                ck = Cc[row_comp[e]]
                q = row_pos[e]
                s = out[q]
                for t in range(n):
                    c = ck[t]
                    if c == 0.0:
                        continue
                    s += values[t] * c
                out[q] = s


def _pattern_by_pixel(masks: sp.csc_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row_ptr, row_comp, row_pos): the CSC pattern ``masks`` by pixel, each entry with its
    position in CSC order (int64 arrays of lengths P + 1, nnz, nnz)."""
    order = sp.csc_matrix((np.arange(masks.nnz, dtype=np.int64), masks.indices, masks.indptr),
                          shape=masks.shape).tocsr()
    order.sort_indices()
    return (order.indptr.astype(np.int64), order.indices.astype(np.int64),
            order.data.astype(np.int64))


def pixel_statistics(movie, C: np.ndarray, f: np.ndarray, masks: sp.csc_matrix, *,
                     chunk_frames: int = 500, progress=None) -> tuple[np.ndarray, np.ndarray]:
    """Y C^T on each footprint's neighbourhood and Y f^T, streaming the movie once.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    C : ndarray of shape (K, T)
    f : ndarray of shape (nb, T)
    masks : csc_matrix of shape (H*W, K)
        Neighbourhood pattern (see :func:`dilate_supports`), sorted indices.

    Returns
    -------
    U : ndarray of shape (nnz(masks),)
        (Y C^T)[p, k] for every pattern entry, in CSC order.
    Ub : ndarray of shape (H*W, nb)
        Y f^T.
    """
    T, H, W = movie_shape(movie)
    U = np.zeros(masks.nnz)
    Ub = np.zeros((H * W, f.shape[0]))
    by_pixel = _pattern_by_pixel(masks) if C.shape[0] else None
    for start, frames in iter_chunks(movie, chunk_frames):
        n = frames.shape[0]
        Y = frames.reshape(n, H * W)
        if C.shape[0]:
            _masked_products(Y, np.ascontiguousarray(C[:, start:start + n], dtype=np.float32),
                             *by_pixel, U)
        if f.shape[0]:
            Ub += (f[:, start:start + n].astype(np.float32) @ Y).T
        checkpoint(progress, (start + n) / T, f"spatial statistics: frame {start + n}/{T}")
    return U, Ub


# ----------------------------------------------------------------------------------------------
# HALS
# ----------------------------------------------------------------------------------------------


@numba.njit(cache=True, nogil=True)
def _hals_components(data, indptr, indices, U, V, bterm, nbr_ptr, nbr_idx, stamp, pos):
    """One Gauss-Seidel sweep over the footprints (each on its own neighbourhood)."""
    K = len(indptr) - 1
    for k in range(K):
        vkk = V[k, k]
        a0, a1 = indptr[k], indptr[k + 1]
        if vkk <= 0 or a1 == a0:
            for q in range(a0, a1):
                data[q] = 0.0
            continue
        for q in range(a0, a1):
            stamp[indices[q]] = k
            pos[indices[q]] = q - a0
        acc = np.zeros(a1 - a0)
        for m in range(nbr_ptr[k], nbr_ptr[k + 1]):
            j = nbr_idx[m]
            if j == k:
                continue
            v = V[j, k]
            if v == 0.0:
                continue
            for q in range(indptr[j], indptr[j + 1]):
                p = indices[q]
                if stamp[p] == k:
                    acc[pos[p]] += v * data[q]
        for q in range(a0, a1):
            val = (U[q] - acc[q - a0] - bterm[q]) / vkk
            data[q] = val if val > 0.0 else 0.0
        for q in range(a0, a1):
            stamp[indices[q]] = -1


def update_spatial(A_vals: np.ndarray, masks: sp.csc_matrix, b: np.ndarray, C: np.ndarray,
                   f: np.ndarray, U: np.ndarray, Ub: np.ndarray, *, n_sweeps: int = 5,
                   update_background: bool = True) -> tuple[sp.csc_matrix, np.ndarray]:
    """Footprints and spatial background by HALS on sufficient statistics.

    Parameters
    ----------
    A_vals : ndarray of shape (nnz(masks),)
        Current footprints on the mask pattern (see :func:`restrict`).
    masks : csc_matrix of shape (P, K)
        Neighbourhood of each footprint; values outside it stay zero.
    b : ndarray of shape (P, nb)
        Current spatial background.
    C, f : ndarrays of shape (K, T) and (nb, T)
    U, Ub : outputs of :func:`pixel_statistics` for these C and f.
    n_sweeps : int
        Passes over all footprints and background components.
    update_background : bool

    Returns
    -------
    A : csc_matrix of shape (P, K)
        New footprints on the mask pattern (explicit zeros removed).
    b : ndarray of shape (P, nb)
    """
    P, K = masks.shape
    nb = f.shape[0]
    data = np.array(A_vals, dtype=np.float64)
    V = C @ C.T
    Wcf = C @ f.T                               # (K, nb)
    Vb = f @ f.T                                # (nb, nb)
    indptr = masks.indptr.astype(np.int64)
    indices = masks.indices.astype(np.int64)
    col_of = np.repeat(np.arange(K), np.diff(indptr))
    pattern = masks.astype(bool).astype(np.float64)
    overlap = (pattern.T @ pattern).tocsr()
    overlap.sort_indices()
    nbr_ptr = overlap.indptr.astype(np.int64)
    nbr_idx = overlap.indices.astype(np.int64)
    stamp = np.full(P, -1, np.int64)
    pos = np.zeros(P, np.int64)
    b = np.array(b, dtype=np.float64, copy=True)
    for _ in range(n_sweeps):
        # background first: starting from b = 0, the footprints would otherwise soak it up
        if nb and update_background:
            A = sp.csc_matrix((data, indices, indptr), shape=(P, K))
            AW = A @ Wcf                          # (P, nb)
            for i in range(nb):
                if Vb[i, i] <= 0:
                    continue
                rest = b @ Vb[:, i] - b[:, i] * Vb[i, i]
                b[:, i] = np.maximum((Ub[:, i] - AW[:, i] - rest) / Vb[i, i], 0.0)
        bterm = (b[indices] * Wcf[col_of]).sum(axis=1) if nb else np.zeros(len(indices))
        _hals_components(data, indptr, indices, U, V, bterm, nbr_ptr, nbr_idx, stamp, pos)
    A = sp.csc_matrix((data, indices, indptr), shape=(P, K))
    A.eliminate_zeros()
    return A, b


# ----------------------------------------------------------------------------------------------
# Cleaning
# ----------------------------------------------------------------------------------------------


def clean_footprints(A: sp.csc_matrix, shape: tuple[int, int], *, min_fraction: float = 0.1,
                     min_pixels: int = 3) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray]:
    """Keep each footprint's connected piece around its peak; drop empty ones; unit L2 norm.

    Parameters
    ----------
    A : csc_matrix of shape (H*W, K)
    shape : (H, W)
    min_fraction : float
        Pixels below this fraction of the footprint's peak are set to zero (noise at the rim).
    min_pixels : int
        Footprints with fewer pixels are removed.

    Returns
    -------
    A : csc_matrix of shape (H*W, K'), unit-norm columns
    norms : ndarray of shape (K',)
        The norm each kept column had (multiply its trace by it to keep A C unchanged).
    keep : ndarray of shape (K',), int
        Indices of the kept components.
    """
    H, W = shape
    A = sp.csc_matrix(A)
    A.sort_indices()
    eight = np.ones((3, 3), bool)
    cols_idx, cols_val, keep, norms = [], [], [], []
    for k in range(A.shape[1]):
        seg = slice(A.indptr[k], A.indptr[k + 1])
        pix, val = A.indices[seg], A.data[seg]
        if len(val) == 0 or val.max() <= 0:
            continue
        sel = val >= min_fraction * val.max()
        pix, val = pix[sel], val[sel]
        r, c = np.divmod(pix, W)
        r0, c0 = r.min(), c.min()
        box = np.zeros((r.max() - r0 + 1, c.max() - c0 + 1))
        box[r - r0, c - c0] = val
        labels, n_lab = ndimage.label(box > 0, structure=eight)
        if n_lab > 1:
            peak = np.unravel_index(np.argmax(box), box.shape)
            box[labels != labels[peak]] = 0.0
        br, bc = np.nonzero(box)
        if len(br) < min_pixels:
            continue
        v = box[br, bc]
        nrm = float(np.sqrt(v @ v))
        cols_idx.append((br + r0) * W + (bc + c0))
        cols_val.append(v / nrm)
        keep.append(k)
        norms.append(nrm)
    K = len(keep)
    if K == 0:
        return sp.csc_matrix((H * W, 0)), np.zeros(0), np.zeros(0, int)
    indptr = np.r_[0, np.cumsum([len(x) for x in cols_idx])]
    out = sp.csc_matrix((np.concatenate(cols_val), np.concatenate(cols_idx), indptr), shape=(H * W, K))
    out.sort_indices()
    return out, np.asarray(norms), np.asarray(keep, int)

"""Merging components that are one neuron: overlapping footprints with correlated traces.

Two components are merged when their footprints overlap and their traces correlate above a
threshold; groups are the connected pieces of that graph. The merged component is not an
average: it is the best rank-1 non-negative approximation a c^T of what the group explains
together, sum_k a_k (c_k + r_k) (traces plus, optionally, their residuals), found by
alternating non-negative least squares without ever forming the (pixels x frames) matrix.

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299 (merging of overlapping, correlated components).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def find_merge_groups(A: sp.csc_matrix, C: np.ndarray, threshold: float,
                      duplicate_overlap: float = 1.0) -> list[np.ndarray]:
    """Groups of two or more components to merge.

    Parameters
    ----------
    A : csc_matrix of shape (P, K)
        Footprints.
    C : ndarray of shape (K, T)
        Traces.
    threshold : float
        Pearson correlation of traces above which overlapping components are merged.
    duplicate_overlap : float
        Cosine similarity of footprints at or above which two components are one neuron
        whatever their traces (two copies of a neuron split its transients between them, so
        their traces need not correlate); 1 disables it.

    Returns
    -------
    list of int ndarrays, each sorted, of length >= 2
    """
    K = A.shape[1]
    if K < 2:
        return []
    A = sp.csc_matrix(A, dtype=float)
    overlap = sp.triu(A.T @ A, k=1).tocoo()
    overlap.eliminate_zeros()
    if overlap.nnz == 0:
        return []
    i, j = overlap.row, overlap.col
    norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=0)).ravel())
    cosine = overlap.data / np.maximum(norms[i] * norms[j], 1e-300)
    Cc = C - C.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(Cc, axis=1)
    norm[norm == 0] = np.inf
    Cn = Cc / norm[:, None]
    corr = np.empty(len(i))
    step = max(1, 2**24 // max(C.shape[1], 1))
    for s in range(0, len(i), step):
        corr[s:s + step] = np.einsum("ij,ij->i", Cn[i[s:s + step]], Cn[j[s:s + step]])
    edge = (corr > threshold) | (cosine >= duplicate_overlap)
    if not np.any(edge):
        return []
    graph = sp.coo_matrix((np.ones(edge.sum()), (i[edge], j[edge])), shape=(K, K))
    n, labels = connected_components(graph, directed=False)
    groups = [np.nonzero(labels == g)[0] for g in range(n)]
    return [g for g in groups if len(g) > 1]


def merge_refit(A_sub: sp.spmatrix, C_sub: np.ndarray, *, residual: np.ndarray | None = None,
                n_iter: int = 30, tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Rank-1 non-negative refit of the union of merged components.

    Finds a >= 0, c >= 0 minimising ||A_sub D - a c^T||_F with D = C_sub (+ residual), by
    alternating non-negative least squares on the factors (A_sub D is never formed).

    Parameters
    ----------
    A_sub : sparse matrix of shape (P, k)
        Footprints of the components being merged.
    C_sub : ndarray of shape (k, T)
        Their traces.
    residual : ndarray of shape (k, T), optional
        Their residual traces (raw trace minus denoised trace); when given, the refit uses the
        data the components explain, noise included, rather than their denoised traces.
    n_iter : int
        Largest number of alternations.
    tol : float
        Stop when the footprint changes by less than this (relative).

    Returns
    -------
    a : ndarray of shape (P,)
        Merged footprint, unit L2 norm.
    c : ndarray of shape (T,)
        Merged trace, in the units of ``a``.

    References
    ----------
    Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299.
    """
    A_sub = sp.csc_matrix(A_sub, dtype=float)
    D = np.asarray(C_sub, dtype=float)
    if D.ndim != 2 or D.shape[0] != A_sub.shape[1]:
        raise ValueError(f"C_sub must have shape ({A_sub.shape[1]}, T), got {D.shape}")
    if residual is not None:
        residual = np.asarray(residual, dtype=float)
        if residual.shape != D.shape:
            raise ValueError(f"residual must have shape {D.shape}, got {residual.shape}")
        D = D + residual
    P, T = A_sub.shape[0], D.shape[1]
    # only the union of the supports can be non-zero: work on those rows
    rows = np.unique(A_sub.indices)
    if len(rows) == 0:
        return np.zeros(P), np.zeros(T)
    B = sp.csr_matrix(A_sub[rows])                    # (m, k)
    Bt = sp.csr_matrix(B.T)
    # start from the sum of the footprints: the group's pixels, weighted as the fit saw them
    a = np.asarray(B.sum(axis=1)).ravel()
    c = np.maximum(D.T @ (Bt @ a), 0)
    for _ in range(n_iter):
        cc = c @ c
        if cc <= 0:
            break
        a_new = np.maximum(B @ (D @ c) / cc, 0)
        aa = a_new @ a_new
        if aa <= 0:
            break
        c = np.maximum(D.T @ (Bt @ a_new) / aa, 0)
        diff = a_new - a
        change = np.sqrt(diff @ diff / aa)
        a = a_new
        if change < tol:
            break
    nrm = np.sqrt(a @ a)
    if nrm <= 0 or not np.any(c > 0):
        return np.zeros(P), np.zeros(T)
    a = a / nrm
    c = np.maximum(D.T @ (Bt @ a), 0)                # least-squares trace for the unit footprint
    out = np.zeros(P)
    out[rows] = a
    return out, c

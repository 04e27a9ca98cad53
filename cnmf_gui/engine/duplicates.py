"""Components that are not cells of their own: duplicates of a cell and fragments of one.

CNMF can leave two components on one soma (the greedy initialisation seeds it twice, or a
merge that needed the traces to correlate did not happen because the two split the cell's
transients between them) and small pieces of a soma or of its neighbourhood whose activity is
the soma's. A person curating rejects both; this module finds them so the automatic status can
say so ("duplicate of 91", "fragment of 12").

- Duplicate: two components share one cell. Their shapes overlap by at least
  ``DUPLICATE_OVERLAP`` of the smaller one and their centres are within one soma radius. The
  one with the lower SNR is the duplicate, whatever the traces (they may be anti-correlated),
  unless the stronger one is not eligible (rejected for its own faults).
- Fragment: a component smaller than a soma, within ``FRAGMENT_REACH`` soma radii of a larger
  component whose trace correlates with its own at ``FRAGMENT_CORRELATION`` or more: its
  activity is not clearly its own.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.footprints import SHAPE_FRACTION, centroids

#: Fraction of the smaller shape lying in the other one above which two components share a cell.
DUPLICATE_OVERLAP = 0.5
#: Pearson correlation of traces above which a small neighbour's activity is the larger one's.
FRAGMENT_CORRELATION = 0.6
#: Centres further apart than this many soma radii are never one cell.
FRAGMENT_REACH = 1.5


def _shapes(A: sp.csc_matrix) -> sp.csc_matrix:
    """Binary (P, K) matrix of each footprint's shape (pixels at or above SHAPE_FRACTION of its peak)."""
    A = sp.csc_matrix(A, dtype=float)
    peaks = np.zeros(A.shape[1])
    for k in range(A.shape[1]):
        seg = A.data[A.indptr[k]:A.indptr[k + 1]]
        peaks[k] = seg.max() if len(seg) else np.inf
    cols = np.repeat(np.arange(A.shape[1]), np.diff(A.indptr))
    keep = A.data >= SHAPE_FRACTION * peaks[cols]
    return sp.csc_matrix((np.ones(int(keep.sum())), (A.indices[keep], cols[keep])), shape=A.shape)


def _trace_correlation(C: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    Cc = C - C.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(Cc, axis=1)
    norm[norm == 0] = np.inf
    Cn = Cc / norm[:, None]
    return np.einsum("ij,ij->i", Cn[i], Cn[j]) if len(i) else np.zeros(0)


def find_duplicates(A: sp.csc_matrix, C: np.ndarray, snr: np.ndarray, shape: tuple[int, int],
                    neuron_radius: float, *, eligible: np.ndarray | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Which components duplicate another one's cell, and which are fragments of a larger one.

    Parameters
    ----------
    A : csc_matrix of shape (H*W, K)
        Footprints.
    C : ndarray of shape (K, T)
        Traces (denoised or raw).
    snr : ndarray of shape (K,)
        The stronger of two duplicates is the one with the higher SNR.
    shape : (H, W)
    neuron_radius : float
        Soma radius, px.
    eligible : ndarray of shape (K,) bool, optional
        Components that can be the cell another one duplicates or is a fragment of (e.g. not
        rejected for other reasons); all by default.

    Returns
    -------
    duplicate_of, fragment_of : ndarray of shape (K,), float
        Index of the component each one duplicates (or is a fragment of); NaN for none. Chains
        are resolved: the index always points at a component that is itself neither.
    """
    A = sp.csc_matrix(A, dtype=float)
    K = A.shape[1]
    duplicate_of = np.full(K, np.nan)
    fragment_of = np.full(K, np.nan)
    if K < 2:
        return duplicate_of, fragment_of
    eligible = np.ones(K, bool) if eligible is None else np.asarray(eligible, bool)
    S = _shapes(A)
    area = np.asarray(S.sum(axis=0)).ravel()
    shared = sp.triu(S.T @ S, k=1).tocoo()
    i, j, common = shared.row, shared.col, shared.data
    cent = centroids(A, shape)
    r = float(neuron_radius)
    disc = np.pi * r * r
    snr = np.nan_to_num(np.asarray(snr, float), nan=-np.inf)

    # duplicates: large shared part of the smaller shape, centres within a radius
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = common / np.maximum(np.minimum(area[i], area[j]), 1)
    dist = np.linalg.norm(cent[i] - cent[j], axis=1)
    dup = (frac >= DUPLICATE_OVERLAP) & (dist <= r)
    # eligible and strongest first, so that a component is only ever a duplicate of one kept
    # component, and one rejected for its own faults never holds the cell
    order = np.lexsort((-snr, ~eligible))
    rank = np.empty(K, int)
    rank[order] = np.arange(K)
    pairs = sorted(((min(rank[a], rank[b]), a, b) for a, b in zip(i[dup], j[dup])))
    for _, a, b in pairs:
        keep, drop = (a, b) if rank[a] < rank[b] else (b, a)
        if np.isnan(duplicate_of[keep]) and np.isnan(duplicate_of[drop]) and eligible[keep]:
            duplicate_of[drop] = keep

    # fragments: smaller than a soma, near a larger eligible component with the same activity
    near = _near_pairs(cent, FRAGMENT_REACH * r)
    if len(near):
        cand_i, cand_j = near[:, 0], near[:, 1]
        # orient each pair small -> large
        swap = area[cand_i] > area[cand_j]
        small = np.where(swap, cand_j, cand_i)
        large = np.where(swap, cand_i, cand_j)
        ok = (area[small] < disc) & (area[small] < area[large]) & eligible[large]
        ok &= np.isnan(duplicate_of[small]) & np.isnan(duplicate_of[large])
        small, large = small[ok], large[ok]
        corr = _trace_correlation(np.asarray(C, float), small, large)
        hit = corr >= FRAGMENT_CORRELATION
        best = {}
        for s_, l_, c_ in zip(small[hit], large[hit], corr[hit]):
            if s_ not in best or c_ > best[s_][1]:
                best[s_] = (l_, c_)
        for s_, (l_, _) in best.items():
            fragment_of[s_] = l_
        # a component that is itself a fragment cannot hold fragments: point them at its host
        for s_ in list(best):
            host = fragment_of[s_]
            seen = {s_}
            while not np.isnan(host) and not np.isnan(fragment_of[int(host)]) and int(host) not in seen:
                seen.add(int(host))
                host = fragment_of[int(host)]
            fragment_of[s_] = host if int(host) != s_ else np.nan
    return duplicate_of, fragment_of


def _near_pairs(cent: np.ndarray, reach: float) -> np.ndarray:
    """Pairs (i < j) of centres within ``reach`` px, shape (n, 2)."""
    from scipy.spatial import cKDTree

    ok = np.all(np.isfinite(cent), axis=1)
    idx = np.flatnonzero(ok)
    if len(idx) < 2:
        return np.zeros((0, 2), int)
    pairs = cKDTree(cent[idx]).query_pairs(reach, output_type="ndarray")
    return idx[pairs] if len(pairs) else np.zeros((0, 2), int)

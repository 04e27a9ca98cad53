"""One scorer for every tool in benchmarks/accuracy.py: motion, detection, traces and spikes
against a synthetic movie's truth. Tools are scored the same way from plain arrays, so no tool's
own conventions decide its score.

- Motion: each tool registers to its own template, whose position differs from the motion-free
  truth by a constant; that offset (the median of estimate minus truth, robust to gross
  failures) is removed, then per frame the error is the length of the remaining 2-vector.
- Detection: footprints are matched one to one (Hungarian assignment on cosine similarity)
  among pairs with cosine >= 0.5 whose centroids are within the true cell's radius (at least
  2.5 px), after moving the true footprints by the tool's template offset. Recall counts active
  cells only (a silent cell never fires: no activity-based method can be asked to find it);
  precision counts a component matched to any true cell, silent or not, as correct.
- Traces: Pearson r of matched (active) pairs with the true calcium; spikes: r with the true
  spike train, both summed over 2-frame windows (a one-frame timing offset is forgiven).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.optimize import linear_sum_assignment

__all__ = ["shift_errors", "truth_in_template", "match_components", "detection_scores",
           "trace_scores", "corr"]

MIN_COSINE = 0.5
MIN_CENTROID_PX = 2.5


def shift_errors(estimate, truth) -> dict:
    """Rigid-shift error after removing the constant template offset.

    Parameters
    ----------
    estimate, truth : array_like of shape (T, 2)
        Corrections [dy, dx] per frame (cnmf_gui's convention).

    Returns
    -------
    dict
        ``offset`` (2,), ``rmse`` (RMS of the per-frame error length, px), ``worst`` (px),
        ``worst_frame``, ``n_over_half`` (frames off by > 0.5 px), ``errors`` (T,).
    """
    est = np.asarray(estimate, float).reshape(-1, 2)
    tru = np.asarray(truth, float).reshape(-1, 2)
    offset = np.median(est - tru, axis=0)
    err = np.linalg.norm(est - tru - offset, axis=1)
    return {"offset": offset.tolist(), "rmse": float(np.sqrt(np.mean(err ** 2))) if len(err) else 0.0,
            "worst": float(err.max(initial=0.0)), "worst_frame": int(np.argmax(err)) if len(err) else -1,
            "n_over_half": int((err > 0.5).sum()), "errors": err}


def truth_in_template(footprints: np.ndarray, offset) -> np.ndarray:
    """The true footprints (K, H, W) moved by a tool's template offset (linear interpolation)."""
    offset = np.asarray(offset, float)
    if np.abs(offset).max(initial=0.0) <= 0.05:
        return footprints
    return ndimage.shift(footprints, (0.0, offset[0], offset[1]), order=1, mode="constant")


def _centroids(M: np.ndarray, H: int, W: int) -> np.ndarray:
    """Weighted centroids [row, col] of the columns of M (H*W, K); NaN for empty columns."""
    w = np.clip(M, 0, None)
    tot = w.sum(axis=0)
    rr, cc = np.divmod(np.arange(H * W), W)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.column_stack([rr @ w / tot, cc @ w / tot])


def match_components(A_found, footprints_true: np.ndarray, radii) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matches between found and true footprints.

    Parameters
    ----------
    A_found : sparse or dense (H*W, K)
    footprints_true : ndarray of shape (N, H, W)
    radii : array_like of shape (N,)
        True soma radii, px (the centroid tolerance).

    Returns
    -------
    pairs : ndarray of shape (M, 2), int
        (found index, true index).
    cosine : ndarray of shape (M,)
    """
    N, H, W = footprints_true.shape
    A = A_found.toarray() if hasattr(A_found, "toarray") else np.asarray(A_found, float)
    A = np.clip(A.reshape(H * W, -1), 0, None)
    if A.shape[1] == 0 or N == 0:
        return np.zeros((0, 2), int), np.zeros(0)
    truth = footprints_true.reshape(N, H * W).T.astype(float)
    cos = (A / np.maximum(np.linalg.norm(A, axis=0), 1e-12)).T @ (
        truth / np.maximum(np.linalg.norm(truth, axis=0), 1e-12))
    dist = np.linalg.norm(_centroids(A, H, W)[:, None, :] - _centroids(truth, H, W)[None, :, :], axis=2)
    tol = np.maximum(np.asarray(radii, float), MIN_CENTROID_PX)[None, :]
    ok = (cos >= MIN_COSINE) & (dist <= tol)
    rows, cols = linear_sum_assignment(-np.where(ok, cos, -1.0))
    keep = ok[rows, cols]
    return np.column_stack([rows[keep], cols[keep]]), cos[rows[keep], cols[keep]]


def detection_scores(pairs: np.ndarray, n_found: int, active: np.ndarray) -> dict:
    """Precision, recall (active cells) and F1 of a matching."""
    active = np.asarray(active, bool)
    hit_active = int(active[pairs[:, 1]].sum()) if len(pairs) else 0
    precision = len(pairs) / n_found if n_found else 0.0
    recall = hit_active / active.sum() if active.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {"n_found": int(n_found), "n_matched": int(len(pairs)), "n_active": int(active.sum()),
            "n_silent_found": int(len(pairs) - hit_active), "precision": precision, "recall": recall,
            "f1": f1}


def corr(a, b) -> float:
    """Pearson correlation of two 1-D arrays (0 when either is constant)."""
    a = np.asarray(a, float) - np.mean(a)
    b = np.asarray(b, float) - np.mean(b)
    d = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / d) if d > 0 else 0.0


def _two_frame_sum(x):
    x = np.asarray(x, float)
    return x[:-1] + x[1:] if len(x) > 1 else x


def trace_scores(pairs: np.ndarray, active: np.ndarray, true_calcium: np.ndarray, true_spikes: np.ndarray,
                 **found) -> dict:
    """Median correlations of matched active pairs.

    Parameters
    ----------
    pairs : ndarray of shape (M, 2)
    active : ndarray of shape (N,), bool
    true_calcium, true_spikes : ndarray of shape (N, T)
    **found : ndarray of shape (K, T)
        Named traces of the tool's components: ``C`` and ``F`` are compared with the calcium,
        ``S`` with the spikes (2-frame sums).

    Returns
    -------
    dict
        ``r_<name>`` (median) and ``r_<name>_all`` (list) per given trace.
    """
    sel = [(i, j) for i, j in pairs if active[j]]
    out = {}
    for name, X in found.items():
        if X is None:
            continue
        if name == "S":
            rs = [corr(_two_frame_sum(X[i]), _two_frame_sum(true_spikes[j])) for i, j in sel]
        else:
            rs = [corr(X[i], true_calcium[j]) for i, j in sel]
        out[f"r_{name}"] = float(np.median(rs)) if rs else float("nan")
        out[f"r_{name}_all"] = rs
    return out

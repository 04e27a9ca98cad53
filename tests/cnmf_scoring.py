"""Scoring CNMF results against a synthetic movie's truth (shared by tests and the benchmark).

Footprints are matched one to one by cosine similarity (Hungarian assignment, pairs below 0.5
are not matches); F1, precision and recall count matches; traces and spikes of matched pairs are
compared by Pearson correlation with the true calcium and the true spikes.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment


def match_footprints(A_found, footprints_true, min_cosine: float = 0.5):
    """Pairs (found index, true index) matched one to one by footprint cosine similarity.

    Parameters
    ----------
    A_found : sparse or dense (H*W, K)
    footprints_true : ndarray of shape (N, H, W)
    """
    A = A_found.toarray() if hasattr(A_found, "toarray") else np.asarray(A_found)
    truth = footprints_true.reshape(len(footprints_true), -1).T
    if A.shape[1] == 0 or truth.shape[1] == 0:
        return np.zeros((0, 2), int)
    An = A / np.maximum(np.linalg.norm(A, axis=0), 1e-12)
    Tn = truth / np.maximum(np.linalg.norm(truth, axis=0), 1e-12)
    cos = An.T @ Tn
    rows, cols = linear_sum_assignment(-cos)
    keep = cos[rows, cols] >= min_cosine
    return np.column_stack([rows[keep], cols[keep]])


def _corr(a, b):
    a = a - a.mean()
    b = b - b.mean()
    d = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / d) if d > 0 else 0.0


def score(components, synth, *, accepted_only: bool = True) -> dict:
    """F1, precision, recall, median trace and spike correlation of a CNMF result.

    Parameters
    ----------
    components : Components
    synth : SyntheticMovie
    accepted_only : bool
        Score only components with status 1 (what a user would keep without curating).
    """
    sel = np.nonzero(components.status == 1)[0] if accepted_only else np.arange(components.n_components)
    pairs = match_footprints(components.A[:, sel], synth.footprints)
    n_found, n_true, n_match = len(sel), synth.n_neurons, len(pairs)
    precision = n_match / n_found if n_found else 0.0
    recall = n_match / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    tc = [_corr(components.C[sel[i]], synth.traces[j]) for i, j in pairs]
    sc = [_corr(components.S[sel[i]], synth.spikes[j]) for i, j in pairs]
    return {"n_found": n_found, "n_true": n_true, "f1": f1, "precision": precision, "recall": recall,
            "trace_corr": float(np.median(tc)) if tc else float("nan"),
            "spike_corr": float(np.median(sc)) if sc else float("nan")}

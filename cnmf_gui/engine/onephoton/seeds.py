"""Seeds of one-photon neurons: pixels where both the correlation and the PNR image are high.

Kept separate from the images so that a window can call it live while the user moves the two
thresholds (the PNR x correlation inspector).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["select_seeds"]


def select_seeds(correlation: np.ndarray, pnr: np.ndarray, min_corr: float, min_pnr: float,
                 neuron_radius: float, *, max_seeds: int = 2000, min_distance: float | None = None) -> np.ndarray:
    """Greedy seeds: the best pixel (correlation x PNR) first, each blocking a disc around it.

    Parameters
    ----------
    correlation, pnr : ndarray of shape (H, W)
        From :func:`cnmf_gui.engine.onephoton.images.correlation_pnr`.
    min_corr, min_pnr : float
        A pixel can seed when both images reach these thresholds.
    neuron_radius : float
        px.
    max_seeds : int
    min_distance : float, optional
        Closest two seeds may be, px (default: one neuron radius, so overlapping cells can each
        have one).

    Returns
    -------
    ndarray of shape (n, 2), int
        [row, col] of each seed, best first.
    """
    corr = np.asarray(correlation, float)
    pnr = np.asarray(pnr, float)
    H, W = corr.shape
    d = float(neuron_radius) if min_distance is None else float(min_distance)
    ok = (corr >= min_corr) & (pnr >= min_pnr)
    if not ok.any():
        return np.zeros((0, 2), int)
    score = np.where(ok, corr * pnr, 0.0)
    # local maxima only (within a quarter radius): a neuron's flank is not a seed of its own
    size = max(3, 2 * int(max(1, round(neuron_radius / 4))) + 1)
    peaks = ok & (score >= ndimage.maximum_filter(score, size=size))
    rows, cols = np.nonzero(peaks)
    order = np.argsort(-score[rows, cols], kind="stable")
    rows, cols = rows[order], cols[order]
    kept: list[tuple[int, int]] = []
    blocked = np.zeros((H, W), bool)
    R = int(np.ceil(d))
    yy, xx = np.mgrid[-R:R + 1, -R:R + 1]
    disc = yy ** 2 + xx ** 2 < d ** 2
    for r, c in zip(rows, cols):
        if blocked[r, c]:
            continue
        kept.append((int(r), int(c)))
        if len(kept) >= max_seeds:
            break
        r0, r1 = max(r - R, 0), min(r + R + 1, H)
        c0, c1 = max(c - R, 0), min(c + R + 1, W)
        blocked[r0:r1, c0:c1] |= disc[r0 - r + R:r1 - r + R, c0 - c + R:c1 - c + R]
    return np.asarray(kept, int).reshape(-1, 2)

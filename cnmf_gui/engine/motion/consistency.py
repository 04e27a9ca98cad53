"""Frames whose shift or brightness disagrees with their neighbours in time.

The brain moves smoothly at imaging rates, so a frame whose shift differs from the frames on
*both* sides of it and from the midpoint of the two (by more than the movie's own
frame-to-frame scatter) was most likely put
at the wrong peak: a burst of activity matched to other cells, a repeating structure, a
noise peak. Such a frame is registered again with the search restricted to a window around
where its neighbours say it is (:func:`~cnmf_gui.engine.motion.rigid.register_near`):

- if the best lag in that window is inside it, stands out of the noise and is placed
  precisely, it replaces the free estimate ("re-estimated");
- otherwise the frame is **flagged**: it keeps its free estimate when that peak was trusted
  (a real twitch the neighbours did not share), else its shift is interpolated from trusted
  neighbours.

A step (the brain settles at a new position) agrees with one side, so it is not an outlier.

A frame whose mean brightness jumps away from *both* neighbours in the same direction by far
more than the movie's frame-to-frame scatter (a blank frame, a flash of light) is flagged as
well, and its shift interpolated: what little structure it holds is not trusted to place it.
"""

from __future__ import annotations

import numpy as np

# Trusted frames on each side whose median is a frame's neighbourhood.
NEIGHBOURS = 5
# A shift disagrees with a side when it is further than this from its median: the larger of
# MIN_TOLERANCE px and TOLERANCE_SDS robust sd of the movie's disagreements.
MIN_TOLERANCE = 1.0
TOLERANCE_SDS = 5.0
# A brightness jump away from both neighbours larger than BRIGHTNESS_SDS robust sd of the
# frame-to-frame changes and BRIGHTNESS_FRACTION of the neighbours' level.
BRIGHTNESS_SDS = 10.0
BRIGHTNESS_FRACTION = 0.2


def _robust_sd(x: np.ndarray) -> float:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(1.4826 * np.median(np.abs(x - np.median(x)))) if len(x) else 0.0


def side_medians(shifts: np.ndarray, ok: np.ndarray, context: np.ndarray | None = None, k: int = NEIGHBOURS):
    """Median shift of the ``k`` nearest ``ok`` entries before and after each entry.

    Parameters
    ----------
    shifts : ndarray of shape (n, 2)
    ok : ndarray of shape (n,), bool
        Entries that may serve as neighbours.
    context : ndarray of shape (m, 2), optional
        Trusted shifts just before the first entry (the end of the previous chunk).

    Returns
    -------
    left, right : ndarray of shape (n, 2), float64
        NaN where fewer than 2 neighbours exist on that side.
    """
    shifts = np.asarray(shifts, float)
    ctx = np.zeros((0, 2)) if context is None else np.asarray(context, float).reshape(-1, 2)
    pool = np.concatenate([ctx, shifts[ok]])
    pos = np.concatenate([np.full(len(ctx), -1, np.int64), np.flatnonzero(ok)])
    n = len(shifts)
    left = np.full((n, 2), np.nan)
    right = np.full((n, 2), np.nan)
    for i in range(n):
        before = np.searchsorted(pos, i, side="left")   # pool entries strictly before i
        after = np.searchsorted(pos, i, side="right")
        lo = pool[max(before - k, 0):before]
        hi = pool[after:after + k]
        if len(lo) >= 2:
            left[i] = np.median(lo, axis=0)
        if len(hi) >= 2:
            right[i] = np.median(hi, axis=0)
    return left, right


def find_outliers(shifts: np.ndarray, ok: np.ndarray, context: np.ndarray | None = None):
    """Entries whose shift disagrees with the neighbours on both sides.

    Parameters
    ----------
    shifts : ndarray of shape (n, 2)
    ok : ndarray of shape (n,), bool
        Entries with a trusted free estimate (only these are tested and used as neighbours).
    context : ndarray of shape (m, 2), optional
        See :func:`side_medians`.

    Returns
    -------
    outlier : ndarray of shape (n,), bool
    expected : ndarray of shape (n, 2)
        Where the neighbours put each entry (mean of the two sides' medians, or the one side's).
    reach : ndarray of shape (n,), int
        Half-width (px) of a search window around ``expected`` that holds both sides.
    tolerance : float
        Disagreement (px) beyond which a side disagrees.
    """
    shifts = np.asarray(shifts, float)
    ok = np.asarray(ok, bool)
    left, right = side_medians(shifts, ok, context)
    both = np.isfinite(left[:, 0]) & np.isfinite(right[:, 0])
    expected = np.where(np.isfinite(left), left, right)
    expected[both] = 0.5 * (left[both] + right[both])
    dev = np.abs(shifts - expected).max(axis=1)
    tol = max(MIN_TOLERANCE, TOLERANCE_SDS * _robust_sd(dev[ok & both]) if (ok & both).sum() >= 8 else 0.0)
    with np.errstate(invalid="ignore"):
        far_left = np.abs(shifts - left).max(axis=1) > tol
        far_right = np.abs(shifts - right).max(axis=1) > tol
        one_sided = ~both & np.isfinite(expected[:, 0]) & (dev > 2.0 * tol)
    # Far from both sides and from the line between them (a fast but smooth movement is not).
    outlier = ok & ((both & far_left & far_right & (dev > tol)) | one_sided)
    gap = np.where(both, 0.5 * np.abs(left - right).max(axis=1), 0.0)
    reach = np.ceil(np.nan_to_num(gap) + tol).astype(np.int64) + 1
    return outlier, expected, reach, tol


def brightness_outliers(brightness: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Frames whose mean jumps away from both neighbours in the same direction (blank, flashed).

    Parameters
    ----------
    brightness : ndarray of shape (n,)
        Mean of each frame.
    usable : ndarray of shape (n,), bool

    Returns
    -------
    ndarray of shape (n,), bool
    """
    b = np.asarray(brightness, float)
    n = len(b)
    out = np.zeros(n, bool)
    idx = np.flatnonzero(usable)
    if len(idx) < 5:
        return out
    v = b[idx]
    up = v[1:-1] - v[:-2]
    down = v[1:-1] - v[2:]
    jump = np.where(np.sign(up) == np.sign(down), np.sign(up) * np.minimum(np.abs(up), np.abs(down)), 0.0)
    scale = _robust_sd(np.diff(v))
    level = np.abs(0.5 * (v[:-2] + v[2:]))
    big = (np.abs(jump) > BRIGHTNESS_SDS * scale) & (np.abs(jump) > BRIGHTNESS_FRACTION * np.maximum(level, 1e-12))
    out[idx[1:-1][big]] = True
    return out


def settle_outliers(state, raw: np.ndarray, shifts: np.ndarray, pw, snr: np.ndarray, loc: np.ndarray,
                    median: np.ndarray, trusted: np.ndarray, context: np.ndarray | None):
    """Re-estimate, in place, the shifts of trusted frames that disagree with their neighbours.

    Parameters
    ----------
    state : FramePass
    raw : ndarray of shape (n, H, W)
        The chunk's frames.
    shifts, pw, snr, loc : the chunk's free estimates (changed in place)
    median : ndarray of shape (n,)
        Median correlation of each frame's free search window.
    trusted : ndarray of shape (n,), bool
        Frames whose free estimate is trusted (changed in place: a frame whose re-estimate
        fails and whose free peak was not trusted becomes untrusted).
    context : ndarray of shape (m, 2) or None
        Trusted shifts at the end of the previous chunk.

    Returns
    -------
    reestimated : ndarray of shape (n,), bool
        Frames whose shift now comes from the constrained search.
    flagged : ndarray of shape (n,), bool
        Frames that disagreed with their neighbours and could not be settled near them.
    """
    n = len(shifts)
    reestimated = np.zeros(n, bool)
    flagged = np.zeros(n, bool)
    outlier, expected, reach, _ = find_outliers(shifts, trusted, context)
    at = np.flatnonzero(outlier)
    if len(at) == 0:
        return reestimated, flagged
    for r in np.unique(reach[at]):
        sel = at[reach[at] == r]
        new, new_pw, new_snr, new_loc, edge = state.register_near(raw[sel], expected[sel], int(r), median[sel])
        good = ~edge & ~state.untrusted(new_snr, new_loc)
        # A constrained peak that is not trusted, or that wants out of its window: the frame
        # really differs from its neighbours (a twitch) or cannot be placed. Flag it.
        ok = sel[good]
        shifts[ok] = new[good]
        snr[ok] = new_snr[good]
        loc[ok] = new_loc[good]
        if pw is not None:
            pw[ok] = new_pw[good]
        reestimated[ok] = True
        flagged[sel[~good]] = True
    return reestimated, flagged


def context_tail(shifts: np.ndarray, trusted: np.ndarray, previous: np.ndarray | None) -> np.ndarray | None:
    """The last ``NEIGHBOURS`` trusted shifts, after those of earlier chunks (for the next chunk)."""
    tail = np.asarray(shifts, float)[np.asarray(trusted, bool)]
    if previous is not None:
        tail = np.concatenate([previous, tail])
    return tail[-NEIGHBOURS:] if len(tail) else previous


__all__ = ["find_outliers", "brightness_outliers", "settle_outliers", "context_tail", "side_medians",
           "MIN_TOLERANCE", "NEIGHBOURS"]

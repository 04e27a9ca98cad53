"""dF/F of raw traces with a running-percentile baseline.

F0 is a low percentile of F in a sliding window (slow drifts and bleaching follow it, transients
do not); dF/F = (F - F0) / (F0 + B0), where B0 is the same running percentile of the background
fluorescence under the footprint (what a region-of-interest average would have included).

References
----------
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299 (dF/F of demixed traces, with the
background under each footprint in the denominator).
Jia H. et al. (2011) In vivo measurement of cortical impulse responses to inputs with two-photon
calcium imaging. Nat Protoc 6(1):28-35 (running-percentile baselines).
"""

from __future__ import annotations

import numpy as np

#: Baseline evaluations per window; F0 is interpolated linearly between them.
_POINTS_PER_WINDOW = 20


def running_percentile(X: np.ndarray, window: int, q: float) -> np.ndarray:
    """Percentile ``q`` of each row of X in a centred sliding window of ``window`` frames.

    Evaluated every ``window / 20`` frames and linearly interpolated in between (a percentile
    of a long window barely moves from one frame to the next).

    Parameters
    ----------
    X : ndarray of shape (K, T)
    window : int
        Window length in frames (>= T or <= 0: one percentile over the whole trace).
    q : float
        Percentile, 0 to 100.

    Returns
    -------
    ndarray of shape (K, T)
    """
    X = np.atleast_2d(np.asarray(X, float))
    K, T = X.shape
    if T == 0 or K == 0:
        return np.zeros_like(X)
    if window <= 0 or window >= T:
        return np.repeat(np.percentile(X, q, axis=1)[:, None], T, axis=1)
    step = max(1, window // _POINTS_PER_WINDOW)
    centres = np.unique(np.r_[np.arange(0, T, step), T - 1])
    half = window // 2
    values = np.empty((K, len(centres)))
    for i, t in enumerate(centres):
        a, b = max(0, t - half), min(T, t + half + 1)
        values[:, i] = np.percentile(X[:, a:b], q, axis=1)
    out = np.empty((K, T))
    frames = np.arange(T)
    for k in range(K):
        out[k] = np.interp(frames, centres, values[k])
    return out


def compute_dff(F: np.ndarray, *, frame_rate: float = 30.0, quantile: float = 8.0,
                window_s: float = 30.0, background: np.ndarray | None = None) -> np.ndarray:
    """dF/F of each raw trace.

    Parameters
    ----------
    F : ndarray of shape (K, T)
        Raw traces (denoised trace plus residual, in the footprint's units).
    frame_rate : float
        Hz.
    quantile : float
        Percentile of the running baseline, 0 to 100.
    window_s : float
        Window of the running baseline, s (0: the whole trace).
    background : ndarray of shape (K, T), optional
        Background fluorescence under each footprint, same units as F; its running percentile
        is added to the denominator.

    Returns
    -------
    ndarray of shape (K, T)
        Where the denominator is not positive it is floored at 1 % of the trace's range, so the
        result stays finite.
    """
    F = np.atleast_2d(np.asarray(F, float))
    window = int(round(window_s * frame_rate)) if window_s > 0 else 0
    F0 = running_percentile(F, window, quantile)
    denom = F0.copy()
    if background is not None:
        denom += running_percentile(np.atleast_2d(background), window, quantile)
    span = (F.max(axis=1, keepdims=True) - F.min(axis=1, keepdims=True)) if F.shape[1] else 0
    floor = np.maximum(0.01 * span, 1e-12)
    return (F - F0) / np.maximum(denom, floor)

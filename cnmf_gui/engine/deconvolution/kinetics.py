"""Calcium kinetics: AR coefficients <-> time constants, and refinement of g by the fit.

References
----------
Pnevmatikakis et al. (2016), Neuron 89(2):285-299 (AR(p) model of calcium: the kernel is a
difference of exponentials with the roots of the AR polynomial as per-frame decay factors).
Friedrich, Zhou & Paninski (2017), PLoS Comput Biol 13(3):e1005423 (refining the kinetics by
fitting the deconvolved events).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from cnmf_gui.engine.noise import MAX_ROOT, ar_roots


#: Defaults tied to time rather than frames: the autocovariance lags used for g span this many
#: seconds, and drifts slower than this window are removed before estimating g.
LAGS_SECONDS = 0.2
DETREND_SECONDS = 3.0
#: The rise is at least this many times faster than the decay (r <= d^RISE_RATIO): true of
#: every published indicator (GCaMP6f ~8x, GCaMP6s ~9x, jGCaMP8 ~25x, OGB-1 far more). Without
#: it, short or smoothed traces were fitted with a double root (rise = decay).
RISE_RATIO = 4.0


def rate_defaults(frame_rate: float) -> dict:
    """``lags`` and ``detrend_window`` (frames) for estimating g at a frame rate in Hz."""
    return {"lags": max(5, int(round(LAGS_SECONDS * frame_rate))),
            "detrend_window": max(3, int(round(DETREND_SECONDS * frame_rate)))}


def g_to_tau(g, frame_rate: float) -> tuple[float, float]:
    """Decay and rise time constants (seconds) of AR coefficients g.

    Returns (tau_decay, tau_rise); tau_rise is 0 for AR(1) and NaN where a root is not a real
    number in (0, 1).
    """
    roots = ar_roots(g)
    if roots.size == 0:
        return 0.0, 0.0
    vals = []
    for r in roots:
        if abs(np.imag(r)) > 1e-12 or not 0.0 < np.real(r) < 1.0:
            vals.append(np.nan if np.real(r) != 0 else 0.0)
        else:
            vals.append(-1.0 / (frame_rate * np.log(np.real(r))))
    vals = sorted(vals, key=lambda v: -np.inf if np.isnan(v) else v, reverse=True)
    return float(vals[0]), float(vals[1]) if len(vals) > 1 else 0.0


def tau_to_g(tau_decay: float, tau_rise: float, frame_rate: float) -> np.ndarray:
    """AR coefficients from time constants in seconds (tau_rise = 0 gives AR(1))."""
    d = np.exp(-1.0 / (tau_decay * frame_rate))
    if tau_rise <= 0:
        return np.array([d])
    r = np.exp(-1.0 / (tau_rise * frame_rate))
    return np.array([d + r, -d * r])


def _roots_to_g(roots) -> np.ndarray:
    return -np.real(np.poly(roots))[1:]


def refine_g(y, g, support_fit, p: int) -> np.ndarray:
    """AR coefficients that minimise the residual of a fit on a fixed, sparse spike support.

    Parameters
    ----------
    y : ndarray of shape (T,)
        Scaled trace.
    g : ndarray of shape (p,)
        Starting coefficients.
    support_fit : callable(g) -> float
        Residual sum of squares of the unpenalised fit on the (thresholded) spike support.
    p : int

    Returns
    -------
    ndarray of shape (p,)
        Refined coefficients, real roots in [0, MAX_ROOT].
    """
    roots = np.sort(np.clip(np.real(ar_roots(g)), 0.0, MAX_ROOT))[::-1]
    if p == 1:
        res = optimize.minimize_scalar(lambda d: support_fit(np.array([d])),
                                       bounds=(0.0, MAX_ROOT), method="bounded",
                                       options={"xatol": 1e-5})
        return np.array([res.x])

    # AR(2): the decay d and the rise as a fraction of d^RISE_RATIO, as in the spectral fit.
    # Free roots drifted to a double root (rise = decay) on a third of the sweep's GCaMP6f
    # traces, a kernel with no sharp onset that spread each spike over several frames.
    d0, r0 = float(roots[0]), float(roots[1]) if roots.size > 1 else 0.0
    frac0 = min(max(r0 / d0 ** RISE_RATIO, 0.0), 1.0) if d0 > 0 else 0.0

    def roots_of(x):
        d = min(max(float(x[0]), 0.0), MAX_ROOT)
        return d, d ** RISE_RATIO * min(max(float(x[1]), 0.0), 1.0)

    def cost(x):
        return support_fit(_roots_to_g(roots_of(x)))

    res = optimize.minimize(cost, np.array([d0, frac0]), method="Nelder-Mead",
                            options={"xatol": 1e-5, "fatol": 1e-9, "maxiter": 200})
    return _roots_to_g(roots_of(res.x))

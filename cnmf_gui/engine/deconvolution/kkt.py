"""Optimality certificate of a deconvolution: the KKT residuals, solver-independent.

For the solution (c, b, lam) of the noise-constrained problem, with r = y - b - c and
w = G^{-T} r (r filtered backwards through the calcium kernel), optimality is exactly:

- primal: s = G c >= 0 and ||r|| = theta (or < theta with c = 0);
- dual: w_t <= lam at every frame, and w_t = lam wherever s_t > 0;
- baseline: sum(r) = 0 for a free b (<= 0 when b = 0 is at its bound).

References
----------
Boyd, S. & Vandenberghe, L. (2004). Convex Optimization, section 5.5.3 (KKT conditions).
"""

from __future__ import annotations

import numpy as np
from scipy import signal


def kkt_residuals(y, c, b: float, g, lam: float, theta: float, *, baseline: str = "nonneg") -> dict:
    """Relative violations of each optimality condition (all ~0 at the exact optimum).

    Parameters
    ----------
    y, c : ndarray of shape (T,)
    b, lam, theta : float
    g : ndarray of shape (p,)
    baseline : {"free", "nonneg", "fixed"}

    Returns
    -------
    dict with keys ``spikes_negative`` (most negative s over max s), ``constraint``
    (||r|| / theta - 1), ``dual`` (max(w - lam) / lam), ``complementarity`` (max |w - lam| / lam
    on frames with s > 1e-9 max s) and ``baseline`` (|sum r| / (sqrt(T) ||r||), when it applies).
    """
    y = np.asarray(y, float)
    c = np.asarray(c, float)
    g = np.atleast_1d(np.asarray(g, float))
    r = y - b - c
    s = signal.lfilter(np.concatenate([[1.0], -g]), [1.0], c) if g.size else c.copy()
    w = signal.lfilter([1.0], np.concatenate([[1.0], -g]), r[::-1])[::-1] if g.size else r.copy()
    smax = max(float(np.max(np.abs(s))), 1e-300)
    out = {
        "spikes_negative": max(0.0, -float(s.min())) / smax,
        "constraint": float(np.linalg.norm(r)) / theta - 1.0,
    }
    if np.isfinite(lam) and lam > 0:
        on = s > 1e-9 * smax
        out["dual"] = max(0.0, float(np.max(w - lam))) / lam
        out["complementarity"] = float(np.max(np.abs(w[on] - lam))) / lam if on.any() else 0.0
    rnorm = max(float(np.linalg.norm(r)), 1e-300)
    if baseline == "free" or (baseline == "nonneg" and b > 0):
        out["baseline"] = abs(float(r.sum())) / (np.sqrt(r.size) * rnorm)
    return out

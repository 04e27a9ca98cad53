"""One trace, already checked: choose the exact solver, handle c = 0, apply s_min.

The trace is divided by a scale (its noise level) before solving, so the solvers' tolerances
are relative; everything is scaled back on the way out.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_FREE, MODE_NONNEG, STATUS_OPTIMAL, solve_ar1
from cnmf_gui.engine.deconvolution.ar2 import STATUS_INFEASIBLE, solve_banded
from cnmf_gui.engine.noise import MAX_ROOT, ar_roots

MAX_ITER = 200


def baseline_mode(baseline: str, b) -> tuple[int, float]:
    """Solver mode and fixed baseline from the user's ``baseline`` and ``b``."""
    if b is not None:
        return MODE_FIXED, float(b)
    if baseline == "zero":
        return MODE_FIXED, 0.0
    return (MODE_FREE, 0.0) if baseline == "free" else (MODE_NONNEG, 0.0)


def zero_baseline(y: np.ndarray, mode: int, b_fixed: float) -> float:
    """The best baseline when c = 0."""
    if mode == MODE_FIXED:
        return b_fixed
    m = float(np.mean(y))
    return max(m, 0.0) if mode == MODE_NONNEG else m


def _support_fit(y, g1, g2, active, mode, b_fixed, c, s):
    """Least-squares fit with spikes only on ``active`` (no penalty); returns b."""
    _, b, _, _ = solve_banded(y, g1, g2, 0.0, mode, b_fixed, active, 1, 0.0, c, s)
    return b


def threshold(y, g, mode, b_fixed, s, s_min):
    """Minimum spike size: refit without the L1 penalty on the convex solution's support,
    dropping spikes below ``s_min`` (in each cluster of nearby spikes only the smallest per
    round, so an event spread over a few frames merges instead of vanishing).

    Returns c, s, b of the thresholded fit (arrays of shape (T,)).

    References
    ----------
    Friedrich, Zhou & Paninski (2017), PLoS Comput Biol 13(3):e1005423 (thresholded OASIS:
    spikes either zero or at least s_min).
    """
    T = y.size
    g1 = float(g[0]) if len(g) > 0 else 0.0
    g2 = float(g[1]) if len(g) > 1 else 0.0
    active = (s > 0).astype(np.uint8)
    c = np.empty(T)
    s_out = np.empty(T)
    b = b_fixed
    for _ in range(T + 1):
        b = _support_fit(y, g1, g2, active, mode, b_fixed, c, s_out)
        on = np.flatnonzero(active)
        small = on[s_out[on] < s_min]
        if small.size == 0:
            break
        # Clusters: runs of support frames closer than 3 frames.
        cluster = np.concatenate([[0], np.cumsum(np.diff(on) > 2)])
        pos = np.searchsorted(on, small)
        cl = cluster[pos]
        order = np.lexsort((s_out[small], cl))
        first = np.concatenate([[True], cl[order][1:] != cl[order][:-1]])
        active[small[order][first]] = 0
    s_out[active == 0] = 0.0
    return c, s_out, b


def solve_scaled(y, g, theta, mode, b_fixed, s_min=0.0, start=None):
    """Exact noise-constrained deconvolution of one scaled trace.

    Parameters
    ----------
    y : ndarray of shape (T,), float64
    g : ndarray of shape (p,), p in {0, 1, 2}, stable
    theta : float
    mode : int
    b_fixed : float
    s_min : float
        Absolute minimum spike size (0: convex solution only).
    start : (float, float), optional
        (lam, b) to start the AR(1) lambda iteration from, e.g. a similar trace's solution.
        Only the number of iterations depends on it, not the result.

    Returns
    -------
    c, s : ndarray of shape (T,)
    b, lam : float
    status : str
    iterations : int
    """
    T = y.size
    theta2 = theta * theta
    b0 = zero_baseline(y, mode, b_fixed)
    r0 = y - b0
    if float(r0 @ r0) <= theta2:
        return np.zeros(T), np.zeros(T), b0, np.inf, "zero", 0
    c = np.empty(T)
    s = np.empty(T)
    p = len(g)
    lam0, b_start = (0.0, float(np.mean(y))) if start is None else (float(start[0]), float(start[1]))
    if not (np.isfinite(lam0) and lam0 >= 0 and np.isfinite(b_start)):
        lam0, b_start = 0.0, float(np.mean(y))
    use_pav = p == 0 or (p == 1 and g[0] >= 0.0)
    if use_pav:
        gg = float(g[0]) if p else 0.0
        lam, b, it, st = solve_ar1(y, gg, theta2, mode, b_fixed, lam0, b_start, MAX_ITER, c, s)
        if start is not None and (st != STATUS_OPTIMAL or (
                lam > 0 and abs(float(np.sum((y - b - c) ** 2)) / theta2 - 1.0) > 1e-6)):
            # A borrowed starting point that did not lead to the constrained optimum: start
            # from the neutral point instead.
            lam, b, it2, st = solve_ar1(y, gg, theta2, mode, b_fixed, 0.0, float(np.mean(y)),
                                        MAX_ITER, c, s)
            it += it2
    else:
        # Warm start: spike frames of the exact AR(1) solution with the slower root.
        roots = np.real(ar_roots(g))
        gw = float(np.clip(roots.max(), 0.0, MAX_ROOT))
        _, b_w, it1, _ = solve_ar1(y, gw, theta2, mode, b_fixed, 0.0, b_start, MAX_ITER, c, s)
        active = (s > 0).astype(np.uint8)
        g1 = float(g[0])
        g2 = float(g[1]) if p > 1 else 0.0
        lam, b, it, st = solve_banded(y, g1, g2, theta2, mode, b_fixed, active, MAX_ITER, -1.0, c, s)
        it += it1
    status = "optimal"
    if st == STATUS_INFEASIBLE or (st == STATUS_OPTIMAL and
                                   float(np.sum((y - b - c) ** 2)) > theta2 * (1 + 1e-9)):
        # No c meets the constraint. AR(1): the pools at lam = 0 are the closest fit. AR(2): a
        # feasible fit at lam = 0 (see ar2.STATUS_INFEASIBLE).
        status = "infeasible"
        lam = 0.0
        st = STATUS_OPTIMAL
    if st != STATUS_OPTIMAL:
        raise RuntimeError(f"deconvolution did not converge (status {st}, {it} iterations)")
    np.maximum(s, 0.0, out=s)
    if s_min > 0.0:
        c, s, b = threshold(y, g, mode, b_fixed, s, s_min)
        status = "thresholded"
    return c, s, float(b), float(lam), status, int(it)

"""One trace, already checked: choose the exact solver, handle c = 0, apply s_min.

The trace is divided by a scale (its noise level) before solving, so the solvers' tolerances
are relative; everything is scaled back on the way out. :func:`solve_kernel` does the whole
solve in one compiled call (scaling, the c = 0 test, AR(1) or warm-started AR(2), the
feasibility check): around a solve of ~30 us at T = 3000, NumPy temporaries and checks had
cost as much again.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_FREE, MODE_NONNEG, STATUS_OPTIMAL, solve_ar1
from cnmf_gui.engine.deconvolution.ar2 import STATUS_INFEASIBLE, solve_banded
from cnmf_gui.engine.noise import MAX_ROOT

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


#: Codes of :func:`solve_kernel`'s outcome.
CODE_OPTIMAL = 0
CODE_ZERO = 1
CODE_INFEASIBLE = 2
CODE_CONSTANT = 3
CODE_FAILED = 4
_STATUS = {CODE_OPTIMAL: "optimal", CODE_ZERO: "zero", CODE_INFEASIBLE: "infeasible"}


@njit(cache=True, nogil=True)
def _slow_root(g1, g2, p):
    """The slower decay factor of the AR(p <= 2) kernel, clipped to [0, MAX_ROOT] (the real
    part for complex roots, as np.real(np.roots(...)).max() gives)."""
    if p < 2:
        r = g1 if p == 1 else 0.0
    else:
        disc = g1 * g1 + 4.0 * g2
        r = 0.5 * (g1 + np.sqrt(disc)) if disc >= 0.0 else 0.5 * g1
    return min(max(r, 0.0), MAX_ROOT)


@njit(cache=True, nogil=True)
def _rss(ys, b, c):
    acc = 0.0
    for t in range(ys.shape[0]):
        r = ys[t] - b - c[t]
        acc += r * r
    return acc


@njit(cache=True, nogil=True)
def solve_kernel(y, scale, g1, g2, p, theta, mode, b_fixed, lam0, b_start, has_start,
                 max_iter, c, s):
    """The whole exact solve of one trace divided by ``scale``, in one compiled call.

    Parameters
    ----------
    y : ndarray of shape (T,), float64
        Trace in its own units; the solve works on ``ys = y / scale``.
    scale : float > 0
    g1, g2 : float
        AR coefficients (unused beyond ``p``), stable.
    p : int in {0, 1, 2}
    theta : float
        Bound on the residual norm, in units of ``ys``.
    mode, b_fixed : int, float
        Baseline mode (``ar1.MODE_*``) and the fixed baseline in units of ``ys``.
    lam0, b_start : float
        (lam, b) of a similar trace to start the AR(1) lambda iteration (when ``has_start``).
    c, s : ndarray of shape (T,)
        Outputs, in units of ``ys``.

    Returns
    -------
    ys : ndarray of shape (T,)
    b, lam : float, in units of ``ys``
    code : int
        CODE_OPTIMAL, CODE_ZERO, CODE_INFEASIBLE, CODE_CONSTANT (y constant: nothing solved,
        c and s untouched) or CODE_FAILED (no convergence; ``st`` says why).
    st : int
        The solver's own status.
    iterations : int
    """
    T = y.shape[0]
    ys = np.empty(T)
    lo = y[0]
    hi = y[0]
    sum_y = 0.0
    for t in range(T):
        v = y[t]
        lo = min(lo, v)
        hi = max(hi, v)
        v = v / scale
        ys[t] = v
        sum_y += v
    if lo == hi:
        return ys, 0.0, 0.0, CODE_CONSTANT, STATUS_OPTIMAL, 0
    theta2 = theta * theta
    mean = sum_y / T
    b0 = b_fixed
    if mode == MODE_FREE:
        b0 = mean
    elif mode == MODE_NONNEG:
        b0 = max(mean, 0.0)
    acc = 0.0
    for t in range(T):
        r = ys[t] - b0
        acc += r * r
    if acc <= theta2:
        for t in range(T):
            c[t] = 0.0
            s[t] = 0.0
        return ys, b0, np.inf, CODE_ZERO, STATUS_OPTIMAL, 0
    if not has_start or not (np.isfinite(lam0) and lam0 >= 0.0 and np.isfinite(b_start)):
        has_start = False
        lam0 = 0.0
        b_start = mean
    if p == 2 and g2 == 0.0:
        p = 1  # AR(2) with g2 = 0 is AR(1), with the same initial condition s_1 = c_1 - g1 c_0
    if p == 0 or (p == 1 and g1 >= 0.0):
        gg = g1 if p == 1 else 0.0
        lam, b, it, st = solve_ar1(ys, gg, theta2, mode, b_fixed, lam0, b_start, max_iter, c, s)
        if has_start and (st != STATUS_OPTIMAL or (
                lam > 0.0 and abs(_rss(ys, b, c) / theta2 - 1.0) > 1e-6)):
            # A borrowed starting point that did not lead to the constrained optimum: start
            # from the neutral point instead.
            lam, b, it2, st = solve_ar1(ys, gg, theta2, mode, b_fixed, 0.0, mean, max_iter, c, s)
            it += it2
    else:
        # Warm start: spike frames of the exact AR(1) solution with the slower root. Measured
        # against an empty start (benchmark traces, g = 0.95/0.6, after the AR(1) speed-up):
        # 1.3x faster at T = 3e3 and 1e5, a tie at 1e6 (both ~20 active-set passes on some
        # traces), so it is used at every length.
        _, _, it1, _ = solve_ar1(ys, _slow_root(g1, g2, p), theta2, mode, b_fixed, 0.0,
                                 b_start, max_iter, c, s)
        active = np.empty(T, np.uint8)
        for t in range(T):
            active[t] = 1 if s[t] > 0.0 else 0
        lam, b, it, st = solve_banded(ys, g1, g2 if p > 1 else 0.0, theta2, mode, b_fixed,
                                      active, max_iter, -1.0, c, s)
        it += it1
    code = CODE_OPTIMAL
    if st == STATUS_INFEASIBLE or (st == STATUS_OPTIMAL and
                                   _rss(ys, b, c) > theta2 * (1.0 + 1e-9)):
        # No c meets the constraint. AR(1): the pools at lam = 0 are the closest fit. AR(2): a
        # feasible fit at lam = 0 (see ar2.STATUS_INFEASIBLE).
        code = CODE_INFEASIBLE
        lam = 0.0
        st = STATUS_OPTIMAL
    if st != STATUS_OPTIMAL:
        return ys, b, lam, CODE_FAILED, st, it
    for t in range(T):
        if s[t] < 0.0:
            s[t] = 0.0
    return ys, b, lam, code, st, it


def solve_scaled(y, g, theta, mode, b_fixed, s_min=0.0, start=None, scale=1.0):
    """Exact noise-constrained deconvolution of one trace divided by ``scale``.

    Parameters
    ----------
    y : ndarray of shape (T,), float64
        The trace; it is solved as ``y / scale``, and everything below is in those units.
    g : ndarray of shape (p,), p in {0, 1, 2}, stable
    theta : float
    mode : int
    b_fixed : float
    s_min : float
        Absolute minimum spike size (0: convex solution only).
    start : (float, float), optional
        (lam, b) to start the AR(1) lambda iteration from, e.g. a similar trace's solution.
        Only the number of iterations depends on it, not the result.
    scale : float > 0

    Returns
    -------
    c, s : ndarray of shape (T,)
    b, lam : float
    status : str
        As ``DeconvResult.status``, or "constant" when y is constant (nothing solved: c = 0
        and the baseline are for the caller to set in the trace's units).
    iterations : int
    """
    T = y.size
    p = len(g)
    g1 = float(g[0]) if p > 0 else 0.0
    g2 = float(g[1]) if p > 1 else 0.0
    lam0, b_start = (0.0, 0.0) if start is None else (float(start[0]), float(start[1]))
    c = np.empty(T)
    s = np.empty(T)
    ys, b, lam, code, st, it = solve_kernel(y, float(scale), g1, g2, p, float(theta), mode,
                                            float(b_fixed), lam0, b_start, start is not None,
                                            MAX_ITER, c, s)
    if code == CODE_CONSTANT:
        # Left to the caller, which knows the trace in its own units (a constant trace with
        # sn = 0 has no usable scale).
        return c, s, 0.0, 0.0, "constant", 0
    if code == CODE_FAILED:
        raise RuntimeError(f"deconvolution did not converge (status {st}, {it} iterations)")
    status = _STATUS[code]
    if s_min > 0.0 and code != CODE_ZERO:
        c, s, b = threshold(ys, g, mode, b_fixed, s, s_min)
        status = "thresholded"
    return c, s, float(b), float(lam), status, int(it)

"""Exact penalised AR(2) solve at a fixed lambda by Lawson-Hanson steps (numba): the
monotone fallback of the active-set solver when its primal-dual updates cycle.

References
----------
Lawson, C. L. & Hanson, R. J. (1974). Solving Least Squares Problems, ch. 23 (NNLS).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cnmf_gui.engine.deconvolution.ar2_kernels import (_WL, _WY, _W1, _X, _Z, _directions,
                                                       _lam_b, _max_violation, _primal)


@njit(cache=True, nogil=True)
def _lawson_hanson(y, g1, g2, active, lam, mode, b_fixed, b, wk, idx, sums, c, s, max_steps):
    """Exact penalised solve at fixed lam by Lawson-Hanson steps from the given set.

    Block variant: all frames violating w_t <= lam enter together; those whose amplitude comes
    out non-positive leave again before the line search; if none is left, the single largest
    violator enters alone (the classical step, which always makes progress). Every accepted
    step lowers the objective, so the method cannot cycle. The baseline is re-optimised with
    every fit (one more unconstrained unknown), giving the joint optimum over c and b at this
    lam. Returns (ok, b); ok is False if a banded system was singular.
    """
    T = y.shape[0]
    x = wk[_X]
    z = wk[_Z]
    new = np.zeros(T, np.uint8)
    # Feasibility: drop spike frames whose amplitude is not positive until none is left.
    for _ in range(T + 1):
        if not _directions(active, g1, g2, wk, idx, sums):
            return False, b
        lam, b = _lam_b(sums, T, mode, b_fixed, 0.0, lam, lam, b)
        scale, _ = _primal(y, g1, g2, wk, lam, b, c, s)
        tol_s = 1e-13 * (scale + 1.0)
        dropped = 0
        for t in range(T):
            if active[t] != 0 and s[t] <= tol_s:
                active[t] = 0
                dropped += 1
        if dropped == 0:
            break
    for t in range(T):
        x[t] = s[t] if active[t] != 0 else 0.0
    tol_w = 1e-12 * (abs(lam) + 1.0)
    single = False
    for _ in range(max_steps):
        n_new = 0
        if single:
            t_best = _max_violation(active, wk, lam, b, tol_w)
            if t_best >= 0:
                new[t_best] = 1
                active[t_best] = 1
                n_new = 1
        else:
            for t in range(T):
                if active[t] == 0 and wk[_WY, t] - b * wk[_W1, t] + lam * wk[_WL, t] - lam > tol_w:
                    new[t] = 1
                    active[t] = 1
                    n_new += 1
        if n_new == 0:
            return True, b
        kept = n_new
        for _inner in range(T + 1):
            if not _directions(active, g1, g2, wk, idx, sums):
                return False, b
            lam, b = _lam_b(sums, T, mode, b_fixed, 0.0, lam, lam, b)
            scale, _ = _primal(y, g1, g2, wk, lam, b, c, s)
            tol_s = 1e-13 * (scale + 1.0)
            # Entering frames with a non-positive amplitude leave before any line search.
            n_bad_new = 0
            for t in range(T):
                if new[t] != 0 and active[t] != 0 and s[t] <= tol_s:
                    active[t] = 0
                    new[t] = 0
                    n_bad_new += 1
            if n_bad_new > 0:
                kept -= n_bad_new
                if kept == 0:
                    break
                continue
            alpha = 1.0
            for t in range(T):
                z[t] = s[t] if active[t] != 0 else 0.0
                if active[t] != 0 and z[t] <= tol_s:
                    denom = x[t] - z[t]
                    a = x[t] / denom if denom > 0.0 else 0.0
                    if a < alpha:
                        alpha = a
            if alpha >= 1.0:
                for t in range(T):
                    x[t] = z[t]
                break
            for t in range(T):
                if active[t] != 0:
                    x[t] += alpha * (z[t] - x[t])
                    if x[t] <= tol_s and new[t] == 0:
                        x[t] = 0.0
                        active[t] = 0
        for t in range(T):
            new[t] = 0
        if kept == 0:
            if single:
                # Rounding: even the best violator cannot enter; optimal to tolerance.
                # Restore the fit on the current set so c, s, w are consistent.
                if not _directions(active, g1, g2, wk, idx, sums):
                    return False, b
                lam, b = _lam_b(sums, T, mode, b_fixed, 0.0, lam, lam, b)
                _primal(y, g1, g2, wk, lam, b, c, s)
                return True, b
            single = True
        else:
            single = False
    return True, b

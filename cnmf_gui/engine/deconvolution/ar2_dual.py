"""The banded dual active-set solver for AR(2) (numba): the safe fallback of ``ar2``.

Writing w for the dual variable (the residual filtered backwards through the calcium kernel,
w = G^{-T} r), the penalised problem at multiplier lambda has the dual

    minimise  1/2 w'(G G')w - w'G(y - b)   subject to  w <= lambda,

a bound-constrained QP whose Hessian G G' is pentadiagonal. For a set S of spike frames, w on
the other frames I solves (G G')_II w_I = (G(y - b))_I - lambda (G G')_IS 1 (banded: O(T)), and
the residual r = G'w and the calcium c = y - b - r are affine in (lambda, b), fixed by the
noise constraint and the baseline's optimality condition. S is updated by the primal-dual rule.
It works at the scale of w (well conditioned where the chain fit of ``ar2_chain`` loses digits
to large calcium), and when the primal-dual rule cycles it switches to outer/inner mode: lambda
and b frozen, the penalised problem solved exactly by Lawson-Hanson steps (monotone, hence
finite), then lambda and b recomputed from the new set, until the set is stable.

References
----------
Hintermueller, M., Ito, K. & Kunisch, K. (2002). The primal-dual active set strategy as a
semismooth Newton method. SIAM J. Optim. 13(3):865-888.
Lawson, C. L. & Hanson, R. J. (1974). Solving Least Squares Problems, ch. 23 (NNLS).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cnmf_gui.engine.deconvolution.ar1 import STATUS_MAXITER, STATUS_OPTIMAL
from cnmf_gui.engine.deconvolution.ar2_kernels import (_G1, _GY, _N_SUMS, _N_WORK, _W1, _WL, _WY,
                                                       _directions, _lam_b, _primal, _set_hash)
from cnmf_gui.engine.deconvolution.lawson_hanson import _lawson_hanson

STATUS_SINGULAR = 2
#: lambda stayed at 0 with the residual above theta: the constraint cannot be met.
STATUS_INFEASIBLE = 3
#: Consecutive iterations whose set cannot reach theta that declare the constraint unreachable.
_ZERO_LAM_ITERATIONS = 3


@njit(cache=True, nogil=True)
def solve_dual(y, g1, g2, theta2, mode, b_fixed, active, max_iter, lam_given, c, s):
    """Active-set solve of the noise-constrained (or fixed-lambda) AR(2) problem on the dual
    (banded solves), with the Lawson-Hanson fallback when it cycles.

    Parameters
    ----------
    y : ndarray of shape (T,), float64
    g1, g2 : float
        AR coefficients (g2 = 0 gives AR(1)).
    theta2 : float
        theta^2; ignored when ``lam_given >= 0``.
    mode : int
        MODE_FIXED, MODE_FREE or MODE_NONNEG (see ``ar1``).
    b_fixed : float
        Baseline for MODE_FIXED.
    active : ndarray of shape (T,), uint8
        Initial spike frames (1 = may spike); updated in place to the final set.
    max_iter : int
        Active-set iterations; with 1 and ``lam_given >= 0`` it only fits on the given set.
    lam_given : float
        Negative: lambda from the noise constraint. Otherwise this fixed lambda.
    c, s : ndarray of shape (T,)
        Outputs: calcium and spikes.

    Returns
    -------
    lam, b : float
    iterations : int
    status : int
        STATUS_OPTIMAL, STATUS_MAXITER or STATUS_SINGULAR.
    """
    T = y.shape[0]
    wk = np.empty((_N_WORK, T))
    idx = np.empty(T, np.int64)
    sums = np.empty(_N_SUMS)
    for t in range(T):
        v = y[t]
        o = 1.0
        if t >= 1:
            v -= g1 * y[t - 1]
            o -= g1
        if t >= 2:
            v -= g2 * y[t - 2]
            o -= g2
        wk[_GY, t] = v
        wk[_G1, t] = o
    lam = lam_given if lam_given >= 0.0 else 0.0
    b = b_fixed
    status = STATUS_MAXITER
    n_hist = 8
    hist1 = np.full(n_hist, -1.0)
    hist2 = np.full(n_hist, -1.0)
    inner_mode = False
    min_changed = T + 1
    since_min = 0
    zero_lam = 0
    it = 0
    for it in range(1, max_iter + 1):
        if not _directions(active, g1, g2, wk, idx, sums):
            status = STATUS_SINGULAR
            break
        lam, b = _lam_b(sums, T, mode, b_fixed, theta2, lam_given, lam, b)
        scale, rss = _primal(y, g1, g2, wk, lam, b, c, s)
        if max_iter == 1 and lam_given >= 0.0:
            status = STATUS_OPTIMAL
            break
        if lam_given < 0.0 and rss > theta2 * (1.0 + 1e-9):
            # This set cannot reach theta at any lambda >= 0 (lambda is at its floor).
            zero_lam += 1
            if zero_lam >= _ZERO_LAM_ITERATIONS:
                # Even without the sparsity penalty the fit stays above theta: the constraint
                # cannot be met. Return a feasible fit at lam = 0 (spikes >= 0), not the
                # (costly) closest one.
                status = STATUS_INFEASIBLE
                for _ in range(T + 1):
                    tol_s = 1e-13 * (scale + 1.0)
                    dropped = 0
                    for t in range(T):
                        if active[t] != 0 and s[t] <= tol_s:
                            active[t] = 0
                            dropped += 1
                    if dropped == 0:
                        break
                    if not _directions(active, g1, g2, wk, idx, sums):
                        status = STATUS_SINGULAR
                        break
                    lam, b = _lam_b(sums, T, mode, b_fixed, 0.0, 0.0, 0.0, b)
                    scale, _ = _primal(y, g1, g2, wk, lam, b, c, s)
                break
        else:
            zero_lam = 0
        tol_s = 1e-13 * (scale + 1.0)
        tol_w = 1e-12 * (abs(lam) + 1.0)
        if inner_mode:
            # Outer step: lam from the set, then an exact inner solve at fixed lam (b joint).
            h1, h2 = _set_hash(active)
            ok, b = _lawson_hanson(y, g1, g2, active, lam, mode, b_fixed, b, wk, idx, sums, c, s,
                                   10 * T + 10)
            if not ok:
                status = STATUS_SINGULAR
                break
            g1h, g2h = _set_hash(active)
            if g1h == h1 and g2h == h2:
                status = STATUS_OPTIMAL
                # c and s are from the final fit at this (lam, b).
                break
            continue
        changed = 0
        n_active = 0
        best = -1
        best_w = -np.inf
        h1 = 0.0
        h2 = 0.0
        wY = wk[_WY]
        w1 = wk[_W1]
        wL = wk[_WL]
        for t in range(T):
            if active[t] != 0:
                if s[t] <= tol_s:
                    active[t] = 0
                    changed += 1
                else:
                    n_active += 1
            else:
                wt = wY[t] - b * w1[t] + lam * wL[t]
                if wt > lam + tol_w:
                    active[t] = 1
                    changed += 1
                    n_active += 1
                if wt > best_w:
                    best_w = wt
                    best = t
            if active[t] != 0:
                h1 += t + 1.0
                h2 += (t + 1.0) * (t + 1.0)
        if changed == 0:
            status = STATUS_OPTIMAL
            break
        if n_active == 0 and best >= 0:
            # An empty set leaves lambda undetermined; the first spike on the path from c = 0
            # is where the backward-filtered residual peaks.
            active[best] = 1
        # Cycling shows as a repeated set, or (several local cycles with different periods)
        # as a number of changes that stops shrinking.
        if changed < min_changed:
            min_changed = changed
            since_min = 0
        else:
            since_min += 1
            if since_min >= 3:
                inner_mode = True
        if n_active == 0 and best >= 0:
            h1, h2 = _set_hash(active)
        for k in range(n_hist):
            if hist1[k] == h1 and hist2[k] == h2:
                inner_mode = True
        hist1[it % n_hist] = h1
        hist2[it % n_hist] = h2
    for t in range(T):
        if active[t] == 0:
            s[t] = 0.0
    return lam, b, it, status

"""Exact noise-constrained AR(2) (and any AR(p <= 2)) deconvolution by a primal-dual active
set over spike frames, in numba.

For a set S of spike frames, the fit with spikes only on S is a chain over S (``ar2_chain``):
solved exactly in O(|S|) after O(T) tables, with the spike amplitudes affine in (lambda, b).
Those two numbers are fixed exactly by the noise constraint ||r|| = theta (a quadratic in
lambda) and the baseline's optimality condition (sum r = 0 for a free baseline). One forward
and one backward recursion then give the calcium c and the dual variable w = H'r (the residual
filtered backwards through the kernel), and S is updated by the primal-dual rule: spike frames
with s_t <= 0 leave, free frames with w_t > lambda enter. When S no longer changes, every KKT
condition of the noise-constrained problem holds, so the result is the exact optimum.

The primal-dual rule can cycle on a few frames (the problem's Hessian is not an M-matrix for
AR(2), and lambda moves with S). Then lambda is frozen at the value of the current set, the
penalised problem is solved at that lambda (b still optimal), lambda is recomputed from the
new set, and so on until a set is stable at its own lambda. What still cycles, or an
unreachable constraint, goes to the banded dual solver with its monotone Lawson-Hanson steps
(``ar2_dual``).

Initial conditions, as in the CVXPY reference: s_0 = c_0, s_1 = c_1 - g_1 c_0.

References
----------
Hintermueller, M., Ito, K. & Kunisch, K. (2002). The primal-dual active set strategy as a
semismooth Newton method. SIAM J. Optim. 13(3):865-888.
Friedrich, J., Zhou, P. & Paninski, L. (2017). Fast online deconvolution of calcium imaging
data. PLoS Comput Biol 13(3):e1005423 (the noise-constrained problem and its lambda).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_NONNEG, STATUS_MAXITER, STATUS_OPTIMAL
from cnmf_gui.engine.deconvolution.ar2_chain import (_N_CHAIN, _h1, chain_fit, chain_setup,
                                                     primal_dual_sweep)
from cnmf_gui.engine.deconvolution.ar2_dual import (STATUS_INFEASIBLE, STATUS_SINGULAR,
                                                    _ZERO_LAM_ITERATIONS, solve_dual)
from cnmf_gui.engine.deconvolution.ar2_kernels import _N_SUMS, _lam_b
from cnmf_gui.engine.deconvolution.ar2_nnls import lawson_hanson_chain

__all__ = ["solve_banded", "STATUS_INFEASIBLE", "STATUS_SINGULAR"]

#: Complementarity error of the chain fit (relative to lam + 1) above which the banded dual
#: solver refits the final set.
_POLISH_TOL = 1e-12
#: Lawson-Hanson steps allowed per frozen lambda before the dual solver takes over.
_LH_STEPS = 1000
#: Recent sets remembered to detect cycling.
_HISTORY = 8


@njit(cache=True, nogil=True)
def solve_banded(y, g1, g2, theta2, mode, b_fixed, active, max_iter, lam_given, c, s):
    """Exact solve of the noise-constrained (or fixed-lambda) AR(2) problem.

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
        STATUS_OPTIMAL, STATUS_MAXITER, STATUS_SINGULAR or STATUS_INFEASIBLE (lambda stays at 0
        with the residual above theta: a feasible fit at lam = 0 is returned).
    """
    lam, b, it, status = _solve_chain(y, g1, g2, theta2, mode, b_fixed, active, max_iter,
                                      lam_given, c, s)
    if status == STATUS_OPTIMAL:
        return lam, b, it, status
    # Cycling, an unreachable constraint or a fit that stayed inaccurate: the banded dual
    # solver continues from the set reached.
    lam, b, it2, status = solve_dual(y, g1, g2, theta2, mode, b_fixed, active,
                                     max(max_iter - it, 1), lam_given, c, s)
    return lam, b, it + it2, status


@njit(cache=True, nogil=True)
def _set_hash(spk, n):
    h1 = 0.0
    h2 = 0.0
    for i in range(n):
        h1 += spk[i] + 1.0
        h2 += (spk[i] + 1.0) * (spk[i] + 1.0)
    return h1, h2


@njit(cache=True, nogil=True)
def _first_spike(hy, cum, K, sum_y, T, mode, b_fixed):
    """Where the backward-filtered residual of c = 0 peaks: the first spike on the path from
    c = 0 (an empty set leaves lambda undetermined)."""
    b0 = b_fixed
    if mode != MODE_FIXED:
        b0 = sum_y / T
        if mode == MODE_NONNEG and b0 < 0.0:
            b0 = 0.0
    best = 0
    best_w = hy[0] - b0 * _h1(cum, K, T, 0)
    for t in range(1, T):
        w = hy[t] - b0 * _h1(cum, K, T, t)
        if w > best_w:
            best_w = w
            best = t
    return best


@njit(cache=True, nogil=True)
def _solve_chain(y, g1, g2, theta2, mode, b_fixed, active, max_iter, lam_given, c, s):
    """Primal-dual active set with exact chain fits.

    Returns (lam, b, iterations, status); STATUS_MAXITER asks the caller to take over
    (cycling at frozen lambda, unreachable constraint, iterations exhausted, inaccurate fit).
    """
    T = y.shape[0]
    tables = chain_setup(y, g1, g2)
    h, sq, lag, cum, K, hy, sum_y, sum_yy = tables
    spk = np.empty(T, np.int64)
    n = 0
    for t in range(T):
        if active[t] != 0:
            active[t] = 1
            spk[n] = t
            n += 1
    # Per-spike work space, as long as the trace: Lawson-Hanson steps may grow the set.
    wk = np.empty((_N_CHAIN, T))
    err = np.zeros(T)
    sums = np.empty(_N_SUMS)
    lam = lam_given if lam_given >= 0.0 else 0.0
    b = b_fixed
    hist1 = np.full(_HISTORY, -1.0)
    hist2 = np.full(_HISTORY, -1.0)
    min_changed = T + 1
    since_min = 0
    zero_lam = 0
    fit_only = max_iter == 1 and lam_given >= 0.0
    # lam_fix >= 0: the penalised problem at this lambda (given, or 0 once the constraint
    # proved unreachable: then the exact closest fit is the answer).
    lam_fix = lam_given
    infeasible = False
    # Frozen-lambda mode (after cycling): lam_in is the constrained lambda of the set with
    # hash (in1, in2).
    frozen = False
    lam_in = 0.0
    in1 = -1.0
    in2 = -1.0
    it = 0
    for it in range(1, max_iter + 1):
        if n == 0:
            best = _first_spike(hy, cum, K, sum_y, T, mode, b_fixed)
            spk[0] = best
            active[best] = 1
            n = 1
        chain_fit(spk, n, T, g1, g2, h, sq, lag, cum, K, hy, sum_y, sum_yy, wk, sums)
        lam, b = _lam_b(sums, T, mode, b_fixed, theta2, lam_fix, lam, b)
        h1s, h2s = _set_hash(spk, n)
        if frozen:
            lam_c = lam
            lam, b = _lam_b(sums, T, mode, b_fixed, theta2, lam_in, lam_in, b)
        n, changed, scale, rss, best = primal_dual_sweep(y, g1, g2, spk, n, lam, b, wk, c, s,
                                                         active, 1e-12, 1e-13, not fit_only,
                                                         err)
        if fit_only:
            return lam, b, it, STATUS_OPTIMAL
        if changed == 0:
            if frozen and not (h1s == in1 and h2s == in2):
                # Stable at the frozen lambda, which belongs to an earlier set: move lambda
                # to this set's own value and solve again.
                lam_in = lam_c
                in1 = h1s
                in2 = h2s
                min_changed = T + 1
                since_min = 0
                hist1[:] = -1.0
                hist2[:] = -1.0
                continue
            if frozen and abs(rss / theta2 - 1.0) > 1e-10:
                # lambda's own value did not meet the constraint (the baseline's bound
                # switched): leave it to the dual solver.
                return lam, b, it, STATUS_MAXITER
            # The chain fit works with data projections as large as the calcium (H'y), and c
            # comes from s through the kernel; with slow kinetics and large calcium their
            # rounding shows in w = H'r at the spike frames. Where it exceeds _POLISH_TOL,
            # the banded dual solver (which works at the scale of w) refits this set.
            if infeasible:
                return 0.0, b, it, STATUS_INFEASIBLE
            worst = 0.0
            for i in range(n):
                worst = max(worst, abs(err[spk[i]]))
            if worst > _POLISH_TOL * (abs(lam) + 1.0):
                return lam, b, it, STATUS_MAXITER
            return lam, b, it, STATUS_OPTIMAL
        if lam_fix < 0.0 and not frozen and rss > theta2 * (1.0 + 1e-9):
            zero_lam += 1
            if zero_lam >= _ZERO_LAM_ITERATIONS:
                # Even without the sparsity penalty the fit stays above theta: the
                # constraint cannot be met. The answer is the closest fit, lam = 0.
                infeasible = True
                lam_fix = 0.0
                min_changed = T + 1
                since_min = 0
                hist1[:] = -1.0
                hist2[:] = -1.0
                continue
        else:
            zero_lam = 0
        if n == 0 and best >= 0:
            spk[0] = best
            active[best] = 1
            n = 1
        # Cycling shows as a repeated set, or as a number of changes that stops shrinking.
        h1s, h2s = _set_hash(spk, n)
        cycling = False
        if changed < min_changed:
            min_changed = changed
            since_min = 0
        else:
            since_min += 1
            cycling = since_min >= 3
        for k in range(_HISTORY):
            if hist1[k] == h1s and hist2[k] == h2s:
                cycling = True
        hist1[it % _HISTORY] = h1s
        hist2[it % _HISTORY] = h2s
        if cycling and (frozen or lam_fix >= 0.0):
            # The primal-dual rule cycles even at fixed lambda: monotone Lawson-Hanson steps
            # solve this lambda's problem; the next pass checks it and moves lambda on.
            n, b, ok = lawson_hanson_chain(y, g1, g2, tables, spk, n,
                                           lam_in if frozen else lam_fix, mode, b_fixed, b,
                                           wk, sums, c, s, active, _LH_STEPS)
            if not ok:
                break
            min_changed = T + 1
            since_min = 0
            hist1[:] = -1.0
            hist2[:] = -1.0
        elif cycling:
            frozen = True
            lam_in = lam
            in1 = -1.0
            in2 = -1.0
            min_changed = T + 1
            since_min = 0
            hist1[:] = -1.0
            hist2[:] = -1.0
    return lam, b, it, STATUS_MAXITER

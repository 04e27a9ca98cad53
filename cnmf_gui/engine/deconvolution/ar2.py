"""Exact noise-constrained AR(2) (and any AR(p <= 2)) deconvolution by an active set over spike
frames with banded solves, in numba.

Writing w for the dual variable (the residual filtered backwards through the calcium kernel,
w = G^{-T} r), the penalised problem at multiplier lambda has the dual

    minimise  1/2 w'(G G')w - w'G(y - b)   subject to  w <= lambda,

a bound-constrained QP whose Hessian G G' is pentadiagonal. A frame where the bound is active
(w_t = lambda) may carry a spike; elsewhere s_t = 0. For a set S of spike frames, w on the other
frames I solves (G G')_II w_I = (G(y - b))_I - lambda (G G')_IS 1 (banded: O(T)), and the residual
r = G'w and the calcium c = y - b - r are affine in (lambda, b). Those two numbers are fixed
exactly by the noise constraint ||r|| = theta and the baseline's optimality condition (sum r = 0
for a free baseline). S is updated by the primal-dual active-set rule (drop spike frames with
s_t <= 0, add free frames with w_t > lambda) until it no longer changes; there every KKT
condition of the noise-constrained problem holds, so the result is the exact optimum.

The primal-dual rule can cycle on a few frames (G G' is not an M-matrix for AR(2)). When a
repeated set is seen, the solver switches to outer/inner mode: lambda and b are frozen, the
penalised problem is solved exactly by Lawson-Hanson steps (one added frame and a line search at
a time; monotone, hence finite), then lambda and b are recomputed from the new set, until the
set is stable.

Initial conditions, as in the CVXPY reference: s_0 = c_0, s_1 = c_1 - g_1 c_0.

References
----------
Hintermueller, M., Ito, K. & Kunisch, K. (2002). The primal-dual active set strategy as a
semismooth Newton method. SIAM J. Optim. 13(3):865-888.
Lawson, C. L. & Hanson, R. J. (1974). Solving Least Squares Problems, ch. 23 (NNLS).
Friedrich, J., Zhou, P. & Paninski, L. (2017). Fast online deconvolution of calcium imaging
data. PLoS Comput Biol 13(3):e1005423 (the noise-constrained problem and its lambda).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_NONNEG, STATUS_MAXITER, STATUS_OPTIMAL
from cnmf_gui.engine.deconvolution.banded import ldl_factor, ldl_solve3

STATUS_SINGULAR = 2
#: lambda stayed at 0 with the residual above theta: the constraint cannot be met.
STATUS_INFEASIBLE = 3
#: Consecutive iterations whose set cannot reach theta that declare the constraint unreachable.
_ZERO_LAM_ITERATIONS = 3

# Rows of the work matrix.
_DG, _O1, _O2, _L1, _L2, _DD, _XY, _X1, _XS, _WY, _W1, _WL, _RY, _R1, _RL, _GY, _G1, _X, _Z, _ID = range(20)
_N_WORK = 20
_N_SUMS = 9


@njit(cache=True, nogil=True)
def _gram(t, u, g1, g2):
    """(G G')_{t,u} for |t - u| <= 2 (G with zero initial conditions)."""
    if u < t:
        t, u = u, t
    d = u - t
    if d == 0:
        v = 1.0
        if t >= 1:
            v += g1 * g1
        if t >= 2:
            v += g2 * g2
        return v
    if d == 1:
        v = -g1
        if t >= 1:
            v += g1 * g2
        return v
    if d == 2:
        return -g2
    return 0.0


@njit(cache=True, nogil=True)
def _directions(active, g1, g2, wk, idx, sums):
    """Solve the banded system on the free frames; fill w- and r-directions and their sums.

    w = wY - b w1 + lam wL and r = rY - b r1 + lam rL. ``sums`` receives
    [YY, Y1, YL, 11, 1L, LL, sumY, sum1, sumL]. Returns False if the system is singular.
    """
    T = active.shape[0]
    dg = wk[_DG]
    o1 = wk[_O1]
    o2 = wk[_O2]
    xY = wk[_XY]
    x1 = wk[_X1]
    xS = wk[_XS]
    # (G G') bands away from the first two frames: constant.
    d_in = 1.0 + g1 * g1 + g2 * g2
    e_in = -g1 + g1 * g2
    f_in = -g2
    m = 0
    for t in range(T):
        if active[t] == 0:
            idx[m] = t
            m += 1
    for j in range(m):
        t = idx[j]
        if t >= 2:
            dg[j] = d_in
        else:
            dg[j] = _gram(t, t, g1, g2)
        o1[j] = 0.0
        o2[j] = 0.0
        if j + 1 < m:
            gap = idx[j + 1] - t
            if gap == 1:
                o1[j] = e_in if t >= 1 else -g1
            elif gap == 2:
                o1[j] = f_in
        if j + 2 < m and idx[j + 2] - t == 2:
            o2[j] = f_in
        xY[j] = wk[_GY, t]
        x1[j] = wk[_G1, t]
        # (G G' 1_S)_t: neighbours within two frames that carry a spike.
        acc = 0.0
        if t >= 2 and t + 2 < T:
            if active[t - 2] != 0:
                acc += f_in
            if active[t - 1] != 0:
                acc += e_in if t - 1 >= 1 else -g1
            if active[t + 1] != 0:
                acc += e_in if t >= 1 else -g1
            if active[t + 2] != 0:
                acc += f_in
        else:
            for u in range(max(t - 2, 0), min(t + 3, T)):
                if active[u] != 0:
                    acc += _gram(t, u, g1, g2)
        xS[j] = acc
    if not ldl_factor(dg, o1, o2, m, wk[_L1], wk[_L2], wk[_DD], wk[_ID]):
        return False
    ldl_solve3(wk[_L1], wk[_L2], wk[_ID], m, xY, x1, xS)
    wY = wk[_WY]
    w1 = wk[_W1]
    wL = wk[_WL]
    for t in range(T):
        wY[t] = 0.0
        w1[t] = 0.0
        wL[t] = 1.0 if active[t] != 0 else 0.0
    for j in range(m):
        t = idx[j]
        wY[t] = xY[j]
        w1[t] = x1[j]
        wL[t] = -xS[j]
    rY = wk[_RY]
    r1 = wk[_R1]
    rL = wk[_RL]
    for k in range(_N_SUMS):
        sums[k] = 0.0
    for t in range(T - 1, -1, -1):
        a = wY[t]
        e = w1[t]
        f = wL[t]
        if t + 1 < T:
            a -= g1 * wY[t + 1]
            e -= g1 * w1[t + 1]
            f -= g1 * wL[t + 1]
        if t + 2 < T:
            a -= g2 * wY[t + 2]
            e -= g2 * w1[t + 2]
            f -= g2 * wL[t + 2]
        rY[t] = a
        r1[t] = e
        rL[t] = f
        sums[0] += a * a
        sums[1] += a * e
        sums[2] += a * f
        sums[3] += e * e
        sums[4] += e * f
        sums[5] += f * f
        sums[6] += a
        sums[7] += e
        sums[8] += f
    return True


@njit(cache=True, nogil=True)
def _root(pp, pq, qq, theta2, lam_prev):
    """Non-negative lam on the rising branch of pp + 2 lam pq + lam^2 qq = theta2."""
    if qq <= 0.0:
        return lam_prev
    disc = pq * pq - qq * (pp - theta2)
    if disc < 0.0:
        return max(-pq / qq, 0.0)
    return max((-pq + np.sqrt(disc)) / qq, 0.0)


@njit(cache=True, nogil=True)
def _lam_b(sums, T, mode, b_fixed, theta2, lam_given, lam_prev, b_prev):
    """(lam, b) for the current set: lam from the noise constraint (or given), b optimal."""
    sYY, sY1, sYL, s11, s1L, sLL, sumY, sum1, sumL = (sums[0], sums[1], sums[2], sums[3], sums[4],
                                                      sums[5], sums[6], sums[7], sums[8])
    beta0 = b_fixed
    beta1 = 0.0
    if mode != MODE_FIXED:
        if abs(sum1) > 1e-14 * T:
            beta0 = sumY / sum1
            beta1 = sumL / sum1
        else:
            beta0 = b_prev
    if lam_given >= 0.0:
        lam = lam_given
    else:
        pp = sYY - 2.0 * beta0 * sY1 + beta0 * beta0 * s11
        pq = sYL - beta1 * sY1 - beta0 * s1L + beta0 * beta1 * s11
        qq = sLL - 2.0 * beta1 * s1L + beta1 * beta1 * s11
        lam = _root(pp, pq, qq, theta2, lam_prev)
        if mode == MODE_NONNEG and beta0 + beta1 * lam < 0.0:
            beta0 = 0.0
            beta1 = 0.0
            lam = _root(sYY, sYL, sLL, theta2, lam_prev)
    b = beta0 + beta1 * lam
    if mode == MODE_NONNEG and b < 0.0:
        b = 0.0
    return lam, b


@njit(cache=True, nogil=True)
def _primal(y, g1, g2, wk, lam, b, c, s):
    """c = y - b - r and s = G c at (lam, b); returns max |c| (a scale for tolerances)."""
    T = y.shape[0]
    rY = wk[_RY]
    r1 = wk[_R1]
    rL = wk[_RL]
    scale = 0.0
    for t in range(T):
        c[t] = y[t] - b - (rY[t] - b * r1[t] + lam * rL[t])
        scale = max(scale, abs(c[t]))
    for t in range(T):
        v = c[t]
        if t >= 1:
            v -= g1 * c[t - 1]
        if t >= 2:
            v -= g2 * c[t - 2]
        s[t] = v
    return scale


@njit(cache=True, nogil=True)
def _max_violation(active, wk, lam, b, tol_w):
    """Free frame with the largest w_t - lam above tolerance, or -1."""
    best = -1
    best_v = tol_w
    for t in range(active.shape[0]):
        if active[t] == 0:
            v = wk[_WY, t] - b * wk[_W1, t] + lam * wk[_WL, t] - lam
            if v > best_v:
                best_v = v
                best = t
    return best


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
        scale = _primal(y, g1, g2, wk, lam, b, c, s)
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
            scale = _primal(y, g1, g2, wk, lam, b, c, s)
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


@njit(cache=True, nogil=True)
def _set_hash(active):
    h1 = 0.0
    h2 = 0.0
    for t in range(active.shape[0]):
        if active[t] != 0:
            h1 += t + 1.0
            h2 += (t + 1.0) * (t + 1.0)
    return h1, h2


@njit(cache=True, nogil=True)
def solve_banded(y, g1, g2, theta2, mode, b_fixed, active, max_iter, lam_given, c, s):
    """Active-set solve of the noise-constrained (or fixed-lambda) AR(2) problem.

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
        scale = _primal(y, g1, g2, wk, lam, b, c, s)
        if max_iter == 1 and lam_given >= 0.0:
            status = STATUS_OPTIMAL
            break
        rss = 0.0
        if lam_given < 0.0:
            for t in range(T):
                rr = y[t] - b - c[t]
                rss += rr * rr
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
                    scale = _primal(y, g1, g2, wk, lam, b, c, s)
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
        for t in range(T):
            if active[t] != 0:
                if s[t] <= tol_s:
                    active[t] = 0
                    changed += 1
                else:
                    n_active += 1
            else:
                wt = wk[_WY, t] - b * wk[_W1, t] + lam * wk[_WL, t]
                if wt > lam + tol_w:
                    active[t] = 1
                    changed += 1
                    n_active += 1
                if wt > best_w:
                    best_w = wt
                    best = t
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

"""Building blocks of the AR(2) active-set solver (numba): the banded solve on the frames
without a spike, the (lambda, b) that meet the noise constraint for a set, and the primal
variables. See ``ar2`` for the method.

References
----------
Golub, G. H. & Van Loan, C. F. (2013). Matrix Computations, 4th ed., section 4.3.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_NONNEG
from cnmf_gui.engine.deconvolution.banded import ldl_factor, ldl_solve3

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
    """c = y - b - r and s = G c at (lam, b); returns (max |c|, ||r||^2)."""
    T = y.shape[0]
    rY = wk[_RY]
    r1 = wk[_R1]
    rL = wk[_RL]
    scale = 0.0
    rss = 0.0
    c1 = 0.0
    c2 = 0.0
    for t in range(T):
        r = rY[t] - b * r1[t] + lam * rL[t]
        ct = y[t] - b - r
        c[t] = ct
        rss += r * r
        scale = max(scale, abs(ct))
        s[t] = ct - g1 * c1 - g2 * c2
        c2 = c1
        c1 = ct
    return scale, rss


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
def _set_hash(active):
    h1 = 0.0
    h2 = 0.0
    for t in range(active.shape[0]):
        if active[t] != 0:
            h1 += t + 1.0
            h2 += (t + 1.0) * (t + 1.0)
    return h1, h2

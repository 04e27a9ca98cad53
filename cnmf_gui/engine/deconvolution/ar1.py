"""Exact noise-constrained AR(1) deconvolution by pool merging (OASIS-class), in numba.

For a fixed sparsity multiplier lambda and baseline b, the penalised problem

    minimise 1/2 ||c - (y - b)||^2 + lambda 1'G c   subject to  G c >= 0,
    (G c)_0 = c_0,  (G c)_t = c_t - g c_{t-1}

is solved exactly by pooling adjacent violators: with u_t = c_t / g^t it is a weighted
isotonic regression, whose solution is a run of pools, each an exponential decay
c_{t_i + k} = v_i g^k. The constraint c_0 >= 0 clips the (leading) pools with negative values
to zero, which is exact for bounded isotonic regression.

The noise constraint ||c + b - y|| = theta is met by iterating on lambda (and b): with the pool
structure fixed, the residual sum of squares is RSS(lambda) = R0 + M lambda^2 in closed form
(b eliminated by its own optimality condition sum(r) = 0), so the next lambda solves it exactly;
the pools are recomputed at the new lambda until the structure no longer changes. At that fixed
point every KKT condition holds exactly (up to rounding). When the new (lambda, b) can only
merge pools (``_merge_only``: lambda and b + (1 - g) lambda both rise), the pass continues from
the current pools in O(pools) instead of starting again from single frames in O(T); typically
two passes over the frames remain per solve.

References
----------
Friedrich, J., Zhou, P. & Paninski, L. (2017). Fast online deconvolution of calcium imaging
data. PLoS Comput Biol 13(3):e1005423 (OASIS: pool merging, the lambda update from the
piecewise-quadratic RSS).
Best, M. J. & Chakravarti, N. (1990). Active set algorithms for isotonic regression; a unifying
framework. Math. Program. 47:425-439 (pool adjacent violators is exact).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MODE_FIXED = 0
MODE_FREE = 1
MODE_NONNEG = 2

STATUS_OPTIMAL = 0
STATUS_MAXITER = 1


#: Columns of the pool table: one row of 8 float64 per pool, so a pool's statistics share a
#: cache line and a call allocates one table instead of eight T-long arrays. (The higher cost
#: per frame beyond T ~ 1e4 is not memory: a trace tiled from 3,000-frame copies runs at the
#: short trace's speed, an unrepeated one of the same length 3x slower.)
#: _NUM holds the pool's value times W, Y - b A - lam Q: comparing values by products instead of
#: quotients keeps a division off the loop's dependency chain.
_START, _LEN, _GLEN, _Y, _A, _Q, _W, _NUM = 0, 1, 2, 3, 4, 5, 6, 7
_N_COLS = 8


@njit(cache=True, nogil=True)
def _merge_top(P, n, lam, b):
    """Merge the pools on top of the stack while they violate the AR(1) order; returns n."""
    # v_j < g^L_i v_i with v = NUM / W and W > 0.
    while n > 1 and P[n - 1, _NUM] * P[n - 2, _W] < P[n - 2, _GLEN] * P[n - 2, _NUM] * P[n - 1, _W]:
        i = n - 2
        j = n - 1
        f = P[i, _GLEN]
        Yi = P[i, _Y] + f * P[j, _Y]
        Ai = P[i, _A] + f * P[j, _A]
        Qi = P[i, _Q] + f * P[j, _Q]
        Wi = P[i, _W] + f * f * P[j, _W]
        P[i, _Y] = Yi
        P[i, _A] = Ai
        P[i, _Q] = Qi
        P[i, _W] = Wi
        P[i, _LEN] += P[j, _LEN]
        P[i, _GLEN] = f * P[j, _GLEN]
        P[i, _NUM] = Yi - b * Ai - lam * Qi
        n -= 1
    return n


@njit(cache=True, nogil=True)
def pav_ar1(y, g, lam, b, P):
    """Pool adjacent violators for the penalised AR(1) problem at (lam, b), from single frames.

    Pools are kept as sufficient statistics (a row of ``P``, shape (T, 8), see ``_START`` ...)
    so that a pool's value at any (lam, b) is ``(Y - b A - lam Q) / W``; returns the number of
    pools.
    """
    T = y.shape[0]
    if T == 0:
        return 0
    omg = 1.0 - g
    # The pool on top of the stack lives in local variables (k* below): most frames merge
    # into it, and keeping it out of memory takes store-to-load round trips off the loop's
    # dependency chain. Rows 0 .. n - 1 of P hold the pools beneath it. The arithmetic is
    # that of pushing a one-frame pool and merging it.
    n = 0
    kS = 0.0
    kL = 1.0
    kG = g
    kY = y[0]
    kA = 1.0
    kQ = 1.0 if T == 1 else omg
    kW = 1.0
    kN = kY - b - lam * kQ
    for t in range(1, T):
        # 1'G c = (1 - g) sum_t c_t + g c_{T-1}: the last frame carries the full penalty.
        qt = 1.0 if t == T - 1 else omg
        yt = y[t]
        vt = yt - b - lam * qt
        # v_t < g^L v_top, with v = NUM / W and W > 0.
        if vt * kW < kG * kN:
            f = kG
            kY = kY + f * yt
            kA = kA + f
            kQ = kQ + f * qt
            kW = kW + f * f
            kL += 1.0
            kG = f * g
            kN = kY - b * kA - lam * kQ
            while n > 0 and kN * P[n - 1, _W] < P[n - 1, _GLEN] * P[n - 1, _NUM] * kW:
                n -= 1
                f = P[n, _GLEN]
                kY = P[n, _Y] + f * kY
                kA = P[n, _A] + f * kA
                kQ = P[n, _Q] + f * kQ
                kW = P[n, _W] + f * f * kW
                kL = P[n, _LEN] + kL
                kG = f * kG
                kS = P[n, _START]
                kN = kY - b * kA - lam * kQ
        else:
            P[n, _START] = kS
            P[n, _LEN] = kL
            P[n, _GLEN] = kG
            P[n, _Y] = kY
            P[n, _A] = kA
            P[n, _Q] = kQ
            P[n, _W] = kW
            P[n, _NUM] = kN
            n += 1
            kS = t
            kL = 1.0
            kG = g
            kY = yt
            kA = 1.0
            kQ = qt
            kW = 1.0
            kN = vt
    P[n, _START] = kS
    P[n, _LEN] = kL
    P[n, _GLEN] = kG
    P[n, _Y] = kY
    P[n, _A] = kA
    P[n, _Q] = kQ
    P[n, _W] = kW
    P[n, _NUM] = kN
    return n + 1


@njit(cache=True, nogil=True)
def _merge_only(g, d_lam, d_b):
    """True when moving from (lam, b) to (lam + d_lam, b + d_b) can merge pools but never split
    one, so the new solution is a union of the current pools (found by :func:`merge_pools`).

    Why: the data seen by the pools is y_t - b - lam q_t, q_t = 1 - g (1 at the last frame).
    Lowering it uniformly by delta lowers a pool's head (first m frames) by
    delta (1 + g) / (1 + g^m) and its tail by delta (1 + g) / (1 + g^(L - m)); the pool stays
    whole while g^m v_head >= v_tail, and that margin grows by
    delta (1 + g) (1 / (1 + g^(L - m)) - g^m / (1 + g^m)) >= 0. The last frame (in a tail)
    drops by an extra g d_lam, which only adds to the margin when d_lam >= 0. A valid pool
    stays valid, so pool adjacent violators over the pools is exact (Best & Chakravarti 1990).
    """
    return d_lam >= 0.0 and d_b + (1.0 - g) * d_lam >= 0.0


@njit(cache=True, nogil=True)
def merge_pools(lam, b, n_in, P):
    """Pool adjacent violators over the ``n_in`` existing pools (rows of ``P``), in place, at
    (lam, b).

    The result is the best solution that is constant (an exponential decay) on unions of the
    given pools: the exact optimum at (lam, b) when no pool needs to split (see
    :func:`_merge_only`). Costs O(n_in) instead of O(T). Returns the number of pools.
    """
    n = 0
    for i in range(n_in):
        # n <= i: the stack overwrites only pools already read.
        if n != i:
            for k in range(_N_COLS):
                P[n, k] = P[i, k]
        P[n, _NUM] = P[n, _Y] - b * P[n, _A] - lam * P[n, _Q]
        n = _merge_top(P, n + 1, lam, b)
    return n


@njit(cache=True, nogil=True)
def solve_ar1(y, g, theta2, mode, b_fixed, lam0, b0, max_iter, c, s):
    """Noise-constrained AR(1) deconvolution; writes c and s, returns (lam, b, iterations, status).

    Parameters
    ----------
    y : ndarray of shape (T,), float64
    g : float in [0, 1)
    theta2 : float
        theta^2, the allowed residual sum of squares.
    mode : int
        MODE_FIXED (b = b_fixed), MODE_FREE or MODE_NONNEG.
    lam0, b0 : float
        Starting point of the lambda iteration.
    c, s : ndarray of shape (T,)
        Outputs.
    """
    T = y.shape[0]
    # One table, touched only as deep as the pool stack grows.
    P = np.empty((T, _N_COLS))
    Sy = 0.0
    Syy = 0.0
    for t in range(T):
        Sy += y[t]
        Syy += y[t] * y[t]
    lam = lam0
    b = b_fixed if mode == MODE_FIXED else b0
    prev_h1 = -1
    prev_h2 = -1.0
    status = STATUS_MAXITER
    it = 0
    n = 0
    # Passes start from single frames (O(T)) or, when (lam, b) moved so that no pool can
    # split, from the pools already formed (O(pools)); see _merge_only.
    blocks = False
    for it in range(1, max_iter + 1):
        if blocks:
            n = merge_pools(lam, b, n, P)
        else:
            n = pav_ar1(y, g, lam, b, P)
        # Sufficient statistics of the structure (unclipped pools only).
        SAA = 0.0
        SAY = 0.0
        SAQ = 0.0
        SYY = 0.0
        SQQ = 0.0
        h2 = 0.0
        n_clip = 0
        for i in range(n):
            if P[i, _NUM] < 0.0:
                n_clip += 1
                continue
            Ai = P[i, _A]
            Yi = P[i, _Y]
            Qi = P[i, _Q]
            iw = 1.0 / P[i, _W]
            SAA += Ai * Ai * iw
            SAY += Ai * Yi * iw
            SAQ += Ai * Qi * iw
            SYY += Yi * Yi * iw
            SQQ += Qi * Qi * iw
            h2 += (i + 1.0) * P[i, _START]
        h1 = n * (T + 1) + n_clip
        if h1 == prev_h1 and h2 == prev_h2:
            status = STATUS_OPTIMAL
            break
        prev_h1 = h1
        prev_h2 = h2
        lam_prev = lam
        b_prev = b
        if SQQ <= 0.0:
            # Every pool clipped (c = 0) while c = 0 is infeasible: lambda (or b) is far too
            # large. Restart from the baseline that is best for c = 0 and a smaller lambda;
            # this set is not a fixed point, so forget it.
            lam *= 0.5
            if mode == MODE_FREE:
                b = Sy / T
            elif mode == MODE_NONNEG:
                b = max(Sy / T, 0.0)
            prev_h1 = -1
            blocks = False
            continue
        # New (lam, b) from RSS(lam) = R0 + M lam^2 of this structure.
        use_fixed = mode == MODE_FIXED
        bb = b_fixed
        if not use_fixed:
            D = T - SAA
            E = Sy - SAY
            if D <= 1e-12 * T:
                # Every pool has one frame: the structure does not pin b (b and c trade off
                # freely), and no fixed point here can meet sum(r) = 0. Move b to the neutral
                # baseline (best for c = 0), which makes pools merge, and forget this set.
                use_fixed = True
                bb = Sy / T if mode == MODE_FREE else max(Sy / T, 0.0)
                prev_h1 = -1
            else:
                R0 = Syy - SYY - E * E / D
                M = SQQ + SAQ * SAQ / D
                lam_new = np.sqrt(max(theta2 - R0, 0.0) / M)
                b_new = (E + lam_new * SAQ) / D
                if mode == MODE_NONNEG and b_new < 0.0:
                    use_fixed = True
                    bb = 0.0
                else:
                    lam = lam_new
                    b = b_new
        if use_fixed:
            R0 = Syy - 2.0 * bb * Sy + bb * bb * T - SYY + 2.0 * bb * SAY - bb * bb * SAA
            lam = np.sqrt(max(theta2 - R0, 0.0) / SQQ)
            b = bb
        blocks = prev_h1 != -1 and _merge_only(g, lam - lam_prev, b - b_prev)
    # Expand the pools at the final (lam, b).
    for i in range(n):
        val = P[i, _NUM] / P[i, _W] if P[i, _NUM] > 0.0 else 0.0
        t0 = int(P[i, _START])
        for k in range(int(P[i, _LEN])):
            c[t0 + k] = val
            val *= g
    s[0] = c[0]
    for t in range(1, T):
        s[t] = c[t] - g * c[t - 1]
    return lam, b, it, status

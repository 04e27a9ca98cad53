"""The AR(2) fit on a fixed set of spike frames in O(number of spikes), and the O(T) optimality
sweep: the inner step of the primal-dual active-set solver (numba).

With spikes allowed only on the frames t_1 < ... < t_n, the calcium between two spike frames
evolves freely, z_{t+1} = A z_t with the state z_t = (c_t, c_{t-1}) and the companion matrix
A = [[g1, g2], [1, 0]], so the penalised least-squares fit

    minimise 1/2 ||y - b - c||^2 + lam sum_i s_i

is a chain over the spike frames with one free scalar (the spike s_i) per link. Dynamic
programming on that chain (a backward sweep of 2 x 2 quadratic cost-to-go functions, then a
forward sweep for the states) gives the exact fit, and the three directions of the fit in
(data y, baseline b, lam), in O(n) once a few O(T) tables exist:

- h_k, the impulse response (A^k = [[h_k, g2 h_{k-1}], [h_{k-1}, g2 h_{k-2}]]),
- prefix sums of h_k^2 and h_k h_{k-1} (the Gramian of one inter-spike segment),
- H'y and H'1 (y and 1 filtered backwards through the kernel), from which the projection of
  the data on any segment follows in O(1).

The residual sums that fix (lam, b) by the noise constraint also come in closed form per
segment. Checking optimality (w = H'r <= lam on the frames without a spike, s > 0 on the
spike frames) needs the calcium and w at every frame: one forward and one backward recursion.

The caller (``ar2.solve_banded``) handles what this sweep does not: cycling of the
primal-dual rule and the unreachable constraint fall back to the banded dual solver.

References
----------
Hintermueller, M., Ito, K. & Kunisch, K. (2002). The primal-dual active set strategy as a
semismooth Newton method. SIAM J. Optim. 13(3):865-888.
Bertsekas, D. P. (2017). Dynamic Programming and Optimal Control, 4th ed., vol. I, ch. 3
(linear-quadratic problems: the backward Riccati sweep).
Friedrich, J., Zhou, P. & Paninski, L. (2017). Fast online deconvolution of calcium imaging
data. PLoS Comput Biol 13(3):e1005423 (the noise-constrained problem and its lambda).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Size below which the impulse response (h_0 = 1) is treated as zero: 1e-20 times any data
#: projection it multiplies is far below that projection's rounding.
_H_TINY = 1e-20

# Rows of the per-spike work matrix.
_Q11, _Q12, _QY, _Q1, _QL, _MY1, _MY2, _M11, _M12, _SY, _S1, _SL = range(12)
_N_CHAIN = 12


@njit(cache=True, nogil=True)
def impulse_tables(g1, g2, T):
    """Impulse response and prefix sums of it and of its Gramian, up to where it vanishes.

    Returns
    -------
    h : ndarray of shape (K + 3,)
        ``h[k + 2]`` = h_k for k = -2..K (h_{-2} = h_{-1} = 0, h_0 = 1); h_k = 0 beyond K.
    sq, lag, cum : ndarray of shape (K + 2,)
        ``sq[L]`` = sum_{k<L} h_k^2, ``lag[L]`` = sum_{k<L} h_k h_{k-1} and
        ``cum[L]`` = sum_{k<L} h_k; constant beyond K + 1.
    K : int
    """
    # Length of the response: until two consecutive values are negligible (the kernel decays
    # geometrically; sized first so that no array longer than needed is touched).
    K = T
    a = 1.0
    bb = 0.0
    for k in range(1, T + 1):
        v = g1 * a + g2 * bb
        bb = a
        a = v
        if k >= 2 and abs(a) < _H_TINY and abs(bb) < _H_TINY:
            K = k
            break
    h = np.zeros(K + 3)
    sq = np.zeros(K + 2)
    lag = np.zeros(K + 2)
    cum = np.zeros(K + 2)
    h[2] = 1.0
    for k in range(0, K + 1):
        if k >= 1:
            h[k + 2] = g1 * h[k + 1] + g2 * h[k]
        if k == K and K < T:
            h[k + 2] = 0.0
        sq[k + 1] = sq[k] + h[k + 2] * h[k + 2]
        lag[k + 1] = lag[k] + h[k + 2] * h[k + 1]
        cum[k + 1] = cum[k] + h[k + 2]
    return h, sq, lag, cum, K


@njit(cache=True, nogil=True, inline="always")
def _h(h, K, k):
    """h_k for k >= -2 (0 beyond the table)."""
    return h[k + 2] if k <= K else 0.0


@njit(cache=True, nogil=True, inline="always")
def _pre(tab, K, L):
    return tab[L] if L <= K + 1 else tab[K + 1]


@njit(cache=True, nogil=True, inline="always")
def _h1(cum, K, T, t):
    """(H'1)_t = sum_{k < T - t} h_k (0 for t >= T)."""
    return _pre(cum, K, T - t) if t < T else 0.0


@njit(cache=True, nogil=True)
def backward_filter(u, g1, g2, out):
    """out[t] = sum_{k>=0} h_k u[t+k] (that is H'u) for t < T; out[T] = out[T+1] = 0.

    Returns (sum u, sum u^2), gathered on the way.
    """
    T = u.shape[0]
    out[T] = 0.0
    out[T + 1] = 0.0
    w1 = 0.0
    w2 = 0.0
    su = 0.0
    suu = 0.0
    for t in range(T - 1, -1, -1):
        ut = u[t]
        v = ut + g1 * w1 + g2 * w2
        out[t] = v
        w2 = w1
        w1 = v
        su += ut
        suu += ut * ut
    return su, suu


@njit(cache=True, nogil=True)
def chain_fit(spk, n, T, g1, g2, h, sq, lag, cum, K, hy, sum_y, sum_yy, wk, sums):
    """Exact fit on the spike frames ``spk[:n]`` (sorted): the three directions of the spike
    amplitudes (data y, baseline, lam) into ``wk[_SY], wk[_S1], wk[_SL]`` and the nine residual
    sums [YY, Y1, YL, 11, 1L, LL, sumY, sum1, sumL] into ``sums`` (see ``ar2_kernels``), with
    r = rY - b r1 + lam rL.
    """
    for k in range(9):
        sums[k] = 0.0
    sums[0] = sum_yy
    sums[1] = sum_y
    sums[3] = T
    sums[6] = sum_y
    sums[7] = T
    if n == 0:
        return
    # Backward sweep: cost-to-go of the state before spike i, 1/2 pi z2^2 - z2 rho - lam z1.
    pi_n = 0.0
    rY = 0.0
    r1 = 0.0
    rL = 0.0
    kap = 0.0
    for i in range(n - 1, -1, -1):
        t = spk[i]
        e = spk[i + 1] if i + 1 < n else T
        L = e - t
        hL = _h(h, K, L)
        hL1 = _h(h, K, L - 1)
        hL2 = _h(h, K, L - 2)
        a11 = hL
        a12 = g2 * hL1
        a21 = hL1
        a22 = g2 * hL2
        M11 = _pre(sq, K, L)
        M12 = g2 * _pre(lag, K, L)
        M22 = g2 * g2 * _pre(sq, K, L - 1)
        # Projections of the data on the segment's two state directions.
        mY1 = hy[t] - hL * hy[e] - g2 * hL1 * hy[e + 1]
        mY2 = g2 * (hy[t + 1] - hL1 * hy[e] - g2 * hL2 * hy[e + 1])
        he = _h1(cum, K, T, e)
        he1 = _h1(cum, K, T, e + 1)
        m11 = _h1(cum, K, T, t) - hL * he - g2 * hL1 * he1
        m12 = g2 * (_h1(cum, K, T, t + 1) - hL1 * he - g2 * hL2 * he1)
        Q11 = M11 + pi_n * a21 * a21
        Q12 = M12 + pi_n * a21 * a22
        Q22 = M22 + pi_n * a22 * a22
        qY1 = mY1 + a21 * rY
        qY2 = mY2 + a22 * rY
        q11 = m11 + a21 * r1
        q12 = m12 + a22 * r1
        # lam direction: the next spike's penalty (kap = 1 unless this is the last segment)
        # and this spike's own.
        qL1 = a11 * kap + a21 * rL - 1.0
        qL2 = a12 * kap + a22 * rL
        inv = 1.0 / Q11
        wk[_Q11, i] = Q11
        wk[_Q12, i] = Q12
        wk[_QY, i] = qY1
        wk[_Q1, i] = q11
        wk[_QL, i] = qL1
        wk[_MY1, i] = mY1
        wk[_MY2, i] = mY2
        wk[_M11, i] = m11
        wk[_M12, i] = m12
        c12 = Q12 * inv
        pi_n = Q22 - Q12 * c12
        rY = qY2 - c12 * qY1
        r1 = q12 - c12 * q11
        rL = qL2 - c12 * qL1
        kap = 1.0
    # Forward sweep: states, spikes and the residual sums segment by segment.
    zY1 = 0.0
    zY2 = 0.0
    z11 = 0.0
    z12 = 0.0
    zL1 = 0.0
    zL2 = 0.0
    sYY = 0.0
    sY1 = 0.0
    sYL = 0.0
    s11 = 0.0
    s1L = 0.0
    sLL = 0.0
    tY = 0.0
    t1 = 0.0
    tL = 0.0
    for i in range(n):
        t = spk[i]
        e = spk[i + 1] if i + 1 < n else T
        L = e - t
        Q11 = wk[_Q11, i]
        Q12 = wk[_Q12, i]
        # zX1 holds the calcium the previous spikes leave at this frame; zX2 the frame before.
        aY = (wk[_QY, i] - Q12 * zY2) / Q11
        a1 = (wk[_Q1, i] - Q12 * z12) / Q11
        aL = (wk[_QL, i] - Q12 * zL2) / Q11
        wk[_SY, i] = aY - zY1
        wk[_S1, i] = a1 - z11
        wk[_SL, i] = aL - zL1
        M11 = _pre(sq, K, L)
        M12 = g2 * _pre(lag, K, L)
        M22 = g2 * g2 * _pre(sq, K, L - 1)
        mY1 = wk[_MY1, i]
        mY2 = wk[_MY2, i]
        m11 = wk[_M11, i]
        m12 = wk[_M12, i]
        # z' M z' and z' m for the three directions.
        MY1 = M11 * aY + M12 * zY2
        MY2 = M12 * aY + M22 * zY2
        M1_1 = M11 * a1 + M12 * z12
        M1_2 = M12 * a1 + M22 * z12
        ML1 = M11 * aL + M12 * zL2
        ML2 = M12 * aL + M22 * zL2
        zYmY = aY * mY1 + zY2 * mY2
        zYm1 = aY * m11 + zY2 * m12
        z1mY = a1 * mY1 + z12 * mY2
        z1m1 = a1 * m11 + z12 * m12
        zLmY = aL * mY1 + zL2 * mY2
        zLm1 = aL * m11 + zL2 * m12
        sYY += aY * MY1 + zY2 * MY2 - 2.0 * zYmY
        sY1 += aY * M1_1 + zY2 * M1_2 - zYm1 - z1mY
        sYL += aY * ML1 + zY2 * ML2 - zLmY
        s11 += a1 * M1_1 + z12 * M1_2 - 2.0 * z1m1
        s1L += a1 * ML1 + z12 * ML2 - zLm1
        sLL += aL * ML1 + zL2 * ML2
        tY -= zYm1
        t1 -= z1m1
        tL -= zLm1
        hL = _h(h, K, L)
        hL1 = _h(h, K, L - 1)
        hL2 = _h(h, K, L - 2)
        zY1 = hL * aY + g2 * hL1 * zY2
        zY2 = hL1 * aY + g2 * hL2 * zY2
        z11 = hL * a1 + g2 * hL1 * z12
        z12 = hL1 * a1 + g2 * hL2 * z12
        zL1 = hL * aL + g2 * hL1 * zL2
        zL2 = hL1 * aL + g2 * hL2 * zL2
    sums[0] += sYY
    sums[1] += sY1
    sums[2] = sYL
    sums[3] += s11
    sums[4] = s1L
    sums[5] = sLL
    sums[6] += tY
    sums[7] += t1
    sums[8] = tL


@njit(cache=True, nogil=True)
def primal_dual_sweep(y, g1, g2, spk, n, lam, b, wk, c, s, active, tol_w_rel, tol_s_rel,
                      update, err):
    """Calcium and spikes at (lam, b) on the set, then (if ``update``) the primal-dual update
    of the set.

    Writes c and s (s = G c, zero off the set). With ``update``, marks in ``active`` the new
    set (frames whose spike is not positive leave, frames with w = H'r above lam enter) and
    rebuilds ``spk``; ``err[t]`` receives w_t - lam on the old set's frames (0 at the exact
    fit). Returns (new n, number of changes, max |c|, ||r||^2, best free frame by w, or -1).

    Both recursions advance two frames per step: (c_t, c_{t+1}) from (c_{t-1}, c_{t-2}) with
    the coefficients of A^2, which halves the chain of dependent floating-point operations
    that bounds their speed.
    """
    T = y.shape[0]
    for t in range(T):
        s[t] = 0.0
    for i in range(n):
        t = spk[i]
        s[t] = wk[_SY, i] - b * wk[_S1, i] + lam * wk[_SL, i]
        active[t] = 2  # marker: on the old set
    a2 = g1 * g1 + g2
    b2 = g1 * g2
    c1 = 0.0
    c2 = 0.0
    scale = 0.0
    rss = 0.0
    t = 0
    while t + 1 < T:
        s0 = s[t]
        s1 = s[t + 1]
        ct = s0 + g1 * c1 + g2 * c2
        cn = (s1 + g1 * s0) + a2 * c1 + b2 * c2
        c[t] = ct
        c[t + 1] = cn
        r0 = y[t] - b - ct
        r1 = y[t + 1] - b - cn
        rss += r0 * r0 + r1 * r1
        scale = max(scale, max(abs(ct), abs(cn)))
        c2 = ct
        c1 = cn
        t += 2
    if t < T:
        ct = s[t] + g1 * c1 + g2 * c2
        c[t] = ct
        r0 = y[t] - b - ct
        rss += r0 * r0
        scale = max(scale, abs(ct))
    if not update:
        for i in range(n):
            active[spk[i]] = 1
        return n, 0, scale, rss, -1
    tol_s = tol_s_rel * (scale + 1.0)
    thr = lam + tol_w_rel * (abs(lam) + 1.0)
    w1 = 0.0
    w2 = 0.0
    changed = 0
    best = -1
    best_w = -np.inf
    m = 0
    t = T - 1
    while t >= 0:
        # w_t and w_{t-1} from (w_{t+1}, w_{t+2}).
        rt = y[t] - b - c[t]
        w_a = rt + g1 * w1 + g2 * w2
        if t >= 1:
            rp = y[t - 1] - b - c[t - 1]
            w_b = (rp + g1 * rt) + a2 * w1 + b2 * w2
        else:
            w_b = 0.0
        for u in range(2):
            tt = t - u
            if tt < 0:
                break
            w = w_a if u == 0 else w_b
            if active[tt] == 2:
                err[tt] = w - lam
                if s[tt] <= tol_s:
                    active[tt] = 0
                    s[tt] = 0.0
                    changed += 1
                else:
                    active[tt] = 1
                    spk[m] = tt
                    m += 1
            else:
                if w > best_w:
                    best_w = w
                    best = tt
                if w > thr:
                    active[tt] = 1
                    spk[m] = tt
                    m += 1
                    changed += 1
        w2 = w_a
        w1 = w_b
        t -= 2
    # spk was filled from the end of the trace: reverse into increasing order.
    for i in range(m // 2):
        tmp = spk[i]
        spk[i] = spk[m - 1 - i]
        spk[m - 1 - i] = tmp
    return m, changed, scale, rss, best


@njit(cache=True, nogil=True)
def chain_setup(y, g1, g2):
    """The O(T) tables of ``chain_fit``: (h, sq, lag, cum, K, H'y, sum y, sum y^2)."""
    T = y.shape[0]
    h, sq, lag, cum, K = impulse_tables(g1, g2, T)
    hy = np.empty(T + 2)
    sum_y, sum_yy = backward_filter(y, g1, g2, hy)
    return h, sq, lag, cum, K, hy, sum_y, sum_yy

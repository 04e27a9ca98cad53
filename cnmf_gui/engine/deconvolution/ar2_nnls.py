"""Exact penalised AR(2) fit at a fixed lambda by Lawson-Hanson steps on the spike-frame chain
(numba): the monotone inner solve of ``ar2`` when the primal-dual rule cycles at frozen lambda.

Each step adds the free frame with the largest w_t - lambda, refits on the chain (O(n)), and if
some spike comes out non-positive, moves only part of the way (line search) and drops the
spikes that reach zero. Every step lowers the penalised objective, so the method cannot cycle;
one O(T) sweep per step finds the next frame to add.

References
----------
Lawson, C. L. & Hanson, R. J. (1974). Solving Least Squares Problems, ch. 23 (NNLS).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_NONNEG
from cnmf_gui.engine.deconvolution.ar2_chain import _S1, _SL, _SY, chain_fit
from cnmf_gui.engine.deconvolution.ar2_kernels import _lam_b

_TOL_S = 1e-13
_TOL_W = 1e-12


@njit(cache=True, nogil=True)
def _sweep(y, g1, g2, spk, n, x, b, lam, c, s):
    """c, s from the amplitudes x on the set; returns (free frame with the largest w, its
    w - lam, max |c|)."""
    T = y.shape[0]
    c1 = 0.0
    c2 = 0.0
    scale = 0.0
    j = 0
    for t in range(T):
        st = 0.0
        if j < n and spk[j] == t:
            st = x[t]
            j += 1
        ct = st + g1 * c1 + g2 * c2
        c[t] = ct
        s[t] = st
        scale = max(scale, abs(ct))
        c2 = c1
        c1 = ct
    w1 = 0.0
    w2 = 0.0
    best = -1
    best_v = -np.inf
    j = n - 1
    for t in range(T - 1, -1, -1):
        w = (y[t] - b - c[t]) + g1 * w1 + g2 * w2
        w2 = w1
        w1 = w
        if j >= 0 and spk[j] == t:
            j -= 1
        elif w - lam > best_v:
            best_v = w - lam
            best = t
    return best, best_v, scale


@njit(cache=True, nogil=True)
def _amplitudes(spk, n, wk, lam, b, z):
    for i in range(n):
        z[spk[i]] = wk[_SY, i] - b * wk[_S1, i] + lam * wk[_SL, i]


@njit(cache=True, nogil=True)
def _compact(spk, n, x, active, tol):
    """Drop spike frames with x <= tol; returns the new n."""
    m = 0
    for i in range(n):
        t = spk[i]
        if x[t] <= tol:
            active[t] = 0
            x[t] = 0.0
        else:
            spk[m] = t
            m += 1
    return m


@njit(cache=True, nogil=True)
def lawson_hanson_chain(y, g1, g2, tables, spk, n, lam, mode, b_fixed, b, wk, sums, c, s,
                        active, max_steps):
    """Solve the penalised problem at fixed ``lam`` (b optimal with it) from the set ``spk[:n]``.

    ``tables`` is the tuple returned by ``ar2_chain.chain_setup``. Updates ``spk``/``active``
    to the optimal set and writes its c and s. Returns (n, b, ok); ok is False if
    ``max_steps`` ran out.
    """
    T = y.shape[0]
    h, sq, lag, cum, K, hy, sum_y, sum_yy = tables
    x = np.zeros(T)
    z = np.zeros(T)
    # Feasible start: drop spike frames with a non-positive fitted amplitude until none is left.
    scale = 1.0
    for _ in range(T + 1):
        if n == 0:
            break
        chain_fit(spk, n, T, g1, g2, h, sq, lag, cum, K, hy, sum_y, sum_yy, wk, sums)
        _, b = _lam_b(sums, T, mode, b_fixed, 0.0, lam, lam, b)
        _amplitudes(spk, n, wk, lam, b, x)
        m = _compact(spk, n, x, active, _TOL_S * scale)
        if m == n:
            break
        n = m
    if n == 0:
        # c = 0: the baseline alone.
        b = b_fixed
        if mode != MODE_FIXED:
            b = sum_y / T
            if mode == MODE_NONNEG and b < 0.0:
                b = 0.0
    for _ in range(max_steps):
        best, best_v, scale = _sweep(y, g1, g2, spk, n, x, b, lam, c, s)
        if best < 0 or best_v <= _TOL_W * (abs(lam) + 1.0):
            return n, b, True
        tol_s = _TOL_S * (scale + 1.0)
        # Insert the entering frame in order.
        i = n
        while i > 0 and spk[i - 1] > best:
            spk[i] = spk[i - 1]
            i -= 1
        spk[i] = best
        n += 1
        active[best] = 1
        x[best] = 0.0
        while True:
            chain_fit(spk, n, T, g1, g2, h, sq, lag, cum, K, hy, sum_y, sum_yy, wk, sums)
            _, bz = _lam_b(sums, T, mode, b_fixed, 0.0, lam, lam, b)
            _amplitudes(spk, n, wk, lam, bz, z)
            alpha = 1.0
            for k in range(n):
                t = spk[k]
                if z[t] <= tol_s:
                    d = x[t] - z[t]
                    a = x[t] / d if d > 0.0 else 0.0
                    if a < alpha:
                        alpha = a
            if alpha >= 1.0:
                for k in range(n):
                    x[spk[k]] = z[spk[k]]
                b = bz
                break
            if z[best] <= tol_s:
                # Rounding: even the largest violation is too small to enter; the set
                # without it is optimal to tolerance.
                x[best] = -1.0
                n = _compact(spk, n, x, active, -0.5)
                _sweep(y, g1, g2, spk, n, x, b, lam, c, s)
                return n, b, True
            for k in range(n):
                t = spk[k]
                x[t] += alpha * (z[t] - x[t])
            b += alpha * (bz - b)
            n = _compact(spk, n, x, active, tol_s)
    return n, b, False

"""Online AR(1) deconvolution of every trace by incremental pool merging (OASIS online).

For AR(1) with decay g, a sparsity multiplier lambda_t and a baseline b, the problem

    minimise  sum_t 1/2 (c_t - (y_t - b))^2 + lambda_t (1 - g) c_t   subject to  c_t - g c_{t-1} >= 0

is solved exactly by pool adjacent violators (Friedrich et al. 2017): the solution is a run of
pools, each an exponential decay ``c_{s + k} = v g^k``. A new frame is a new one-frame pool,
merged with the pools before it while it violates the order; nothing before the last violator
changes, so each frame costs O(1) amortised and the pools after frame t are the exact optimum
of the problem on frames 0..t. This is the batch solver's pool table
(:mod:`cnmf_gui.engine.deconvolution.ar1`) grown one frame at a time.

Two choices make it exact *and* online, and are what it differs in from the batch solve:

- The penalty of every frame is ``lambda (1 - g)``. The batch objective ``lambda 1'G c`` puts
  ``lambda`` on the last frame (its decay after the movie ends is not seen), so the last frame's
  penalty would change every time a frame arrives and could split the newest pool; the online
  objective drops that boundary term (one frame's weight, ``lambda g c_T``).
- The penalty is folded into the data the pools see (``z_t = y_t - b - lambda_t (1 - g)``), so
  lambda may change with time without touching older pools: every ``noise_window`` frames it is
  re-fitted so that the residual of the latest window meets the noise constraint
  ``||c - (y - b)||^2 = (1 + epsilon)^2 sigma^2 n`` on that window (:func:`refit_lambda`).

Memory: at most ``pool_limit`` open pools per trace; when a trace has that many, its older half
is written out as final values (a later merge reaching back past hundreds of pools would need a
long run of frames below the decay of all of them, which a trace with noise does not produce).

References
----------
Friedrich J., Zhou P., Paninski L. (2017) Fast online deconvolution of calcium imaging data.
PLoS Comput Biol 13(3):e1005423.
Giovannucci A. et al. (2017) OnACID: online analysis of calcium imaging data in real time.
NIPS 30.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Columns of a pool row: first frame, length, g^length, sum g^k z_{s+k}, sum g^2k.
_START, _LEN, _GLEN, _Y, _W = 0, 1, 2, 3, 4
N_COLS = 5


@njit(cache=True, nogil=True)
def _decay(g, length):
    """g^(length - 1), with 0^0 = 1."""
    return g ** (length - 1.0) if length > 1.0 else 1.0


@njit(cache=True, nogil=True)
def _write_pools(pools, k, i0, i1, g, prev_c, C, S, write):
    """Write the values of pools i0..i1-1 of trace k into C and S (unless not ``write``);
    returns the last c."""
    for i in range(i0, i1):
        start = int(pools[k, i, _START])
        length = int(pools[k, i, _LEN])
        v = pools[k, i, _Y] / pools[k, i, _W]
        if v < 0.0:
            v = 0.0
        c = v
        if write:
            for j in range(length):
                C[k, start + j] = c
                S[k, start + j] = c - g * prev_c if j == 0 else 0.0
                prev_c = c
                c *= g
        else:
            prev_c = v * _decay(g, length)
    return prev_c


@njit(cache=True, nogil=True)
def push_one(pools, n_pools, last_final, k, zk, gk, t, C, S, write):
    """Add frame t of trace k (``zk = y_t - b - lambda (1 - g)``), merge; returns c_t. Final
    pools are written into C and S only when ``write``."""
    cap = pools.shape[1]
    n = n_pools[k]
    pools[k, n, _START] = t
    pools[k, n, _LEN] = 1.0
    pools[k, n, _GLEN] = gk
    pools[k, n, _Y] = zk
    pools[k, n, _W] = 1.0
    n += 1
    # v_j < g^L_i v_i with v = Y / W, W > 0
    while n > 1 and pools[k, n - 1, _Y] * pools[k, n - 2, _W] < \
            pools[k, n - 2, _GLEN] * pools[k, n - 2, _Y] * pools[k, n - 1, _W]:
        i = n - 2
        j = n - 1
        f = pools[k, i, _GLEN]
        pools[k, i, _Y] += f * pools[k, j, _Y]
        pools[k, i, _W] += f * f * pools[k, j, _W]
        pools[k, i, _LEN] += pools[k, j, _LEN]
        pools[k, i, _GLEN] = f * pools[k, j, _GLEN]
        n -= 1
    if n == cap:
        half = cap // 2
        last_final[k] = _write_pools(pools, k, 0, half, gk, last_final[k], C, S, write)
        for i in range(half, n):
            for col in range(N_COLS):
                pools[k, i - half, col] = pools[k, i, col]
        n -= half
    n_pools[k] = n
    v = pools[k, n - 1, _Y] / pools[k, n - 1, _W]
    return max(v, 0.0) * _decay(gk, pools[k, n - 1, _LEN])


@njit(cache=True, nogil=True)
def push_frame(pools, n_pools, last_final, z, g, t, C, S, external):
    """Add frame t of every trace (``z[k] = y_k,t - b_k - lambda_k (1 - g_k)``) and merge.

    Parameters
    ----------
    pools : ndarray of shape (K, pool_limit, 5), float64
    n_pools : ndarray of shape (K,), int64
    last_final : ndarray of shape (K,), float64
        c of the last frame written out as final (0 before any).
    z, g : ndarray of shape (K,)
    t : int
    C, S : ndarray of shape (K, >= t + 1), float32
        Receive the values of pools that become final.
    external : ndarray of shape (K,), uint8
        1 where another solver writes the trace's C and S (the AR(2) traces, :mod:`.deconv_ar2`):
        its pools only give the current value.

    Returns
    -------
    c_now : ndarray of shape (K,)
        The current value of each trace at frame t (its newest pool's value at its end).
    """
    K = z.shape[0]
    out = np.empty(K)
    for k in range(K):
        out[k] = push_one(pools, n_pools, last_final, k, z[k], g[k], t, C, S, external[k] == 0)
    return out


@njit(cache=True, nogil=True)
def write_open(pools, n_pools, last_final, g, C, S, external):
    """Write every trace's open pools into C and S (the traces are then complete), but for the
    ``external`` ones."""
    for k in range(pools.shape[0]):
        if external[k] == 0:
            _write_pools(pools, k, 0, n_pools[k], g[k], last_final[k], C, S, True)


class OnlineAR1:
    """Online deconvolution state of K traces (see the module docstring).

    Parameters
    ----------
    g, baseline, lam, sn, epsilon : ndarray of shape (K,)
        AR(1) decay, baseline b, initial sparsity multiplier, noise level sigma and epsilon of
        each trace (from the batch initialisation or a new component's test).
    pool_limit : int
    """

    def __init__(self, g, baseline, lam, sn, epsilon, pool_limit: int = 512):
        self.pool_limit = int(pool_limit)
        self.g = np.asarray(g, float).copy()
        self.baseline = np.asarray(baseline, float).copy()
        self.lam = np.asarray(lam, float).copy()
        self.sn = np.asarray(sn, float).copy()
        self.epsilon = np.asarray(epsilon, float).copy()
        K = len(self.g)
        # rows for more traces than there are: a new component takes a free row (capacity
        # doubles when there is none), not a copy of every trace's pools
        self._pools = np.zeros((max(K, 8), self.pool_limit, N_COLS))
        self.pools = self._pools[:K]
        self.n_pools = np.zeros(K, np.int64)
        self.last_final = np.zeros(K)
        # 1: C and S of the trace are written by another solver (an AR(2) trace, .deconv_ar2)
        self.external = np.zeros(K, np.uint8)

    def __getstate__(self):
        state = dict(self.__dict__)
        del state["pools"]          # a view of _pools: made again on unpickling, not copied
        return state

    def __setstate__(self, state):
        state.setdefault("external", np.zeros(len(state["g"]), np.uint8))   # pickled before AR(2) traces
        self.__dict__.update(state)
        self.pools = self._pools[:len(self.g)]

    @property
    def n_traces(self) -> int:
        return len(self.g)

    def add(self, g, baseline, lam, sn, epsilon) -> None:
        """Append one trace (a new component); its earlier frames are zero."""
        for name, v in (("g", g), ("baseline", baseline), ("lam", lam), ("sn", sn), ("epsilon", epsilon)):
            setattr(self, name, np.append(getattr(self, name), float(v)))
        K = self.pools.shape[0]
        if K == self._pools.shape[0]:
            grown = np.zeros((2 * K, self.pool_limit, N_COLS))
            grown[:K] = self._pools
            self._pools = grown
        self._pools[K] = 0.0
        self.pools = self._pools[:K + 1]
        self.n_pools = np.append(self.n_pools, 0)
        self.last_final = np.append(self.last_final, 0.0)
        self.external = np.append(self.external, np.uint8(0))

    def step(self, y: np.ndarray, t: int, C: np.ndarray, S: np.ndarray) -> np.ndarray:
        """Deconvolve frame t of every trace; returns c at frame t, shape (K,)."""
        z = np.asarray(y, float) - self.baseline - self.lam * (1.0 - self.g)
        return push_frame(self.pools, self.n_pools, self.last_final, z, self.g, int(t), C, S, self.external)

    def history(self, k: int, y: np.ndarray, t0: int, C: np.ndarray, S: np.ndarray) -> None:
        """Feed frames t0.. of trace k alone (a new component's trace on the residual buffer)."""
        for i, v in enumerate(np.asarray(y, float)):
            zk = v - self.baseline[k] - self.lam[k] * (1.0 - self.g[k])
            push_one(self.pools, self.n_pools, self.last_final, k, zk, self.g[k], t0 + i, C, S,
                     self.external[k] == 0)

    def finish(self, C: np.ndarray, S: np.ndarray) -> None:
        """Write the open pools: C and S then hold the whole deconvolution."""
        write_open(self.pools, self.n_pools, self.last_final, self.g, C, S, self.external)

    def refit_lambda(self, F_window: np.ndarray, C_window: np.ndarray) -> None:
        """Move each lambda so the latest window's residual meets its noise constraint.

        The residual sum of squares grows with lambda (the batch solver's RSS(lambda) = R0 +
        M lambda^2 with the pools fixed), so one multiplicative step ``sqrt(theta^2 / RSS)`` per
        window moves lambda towards the constraint ``theta^2 = (1 + epsilon)^2 sigma^2 n``;
        the step is clipped to [1/2, 2] so that one window with a burst does not swing it. The
        new lambda applies to the frames that follow (older pools keep theirs: the penalty is
        in their data), which keeps every update exact for the time-varying objective.

        Parameters
        ----------
        F_window : ndarray of shape (K, n)
            Raw traces of the window.
        C_window : ndarray of shape (K, n)
            Their deconvolved values.
        """
        n = F_window.shape[1]
        if n == 0:
            return
        rss = np.sum((F_window - self.baseline[:, None] - C_window) ** 2, axis=1)
        theta2 = (1.0 + self.epsilon) ** 2 * self.sn ** 2 * n
        # an external trace's C is not these pools' (and may not be written yet): its pools,
        # which only weigh the statistics, keep their lambda
        ok = (rss > 0) & (theta2 > 0) & np.isfinite(rss) & (self.external == 0)
        ratio = np.ones_like(rss)
        ratio[ok] = np.sqrt(theta2[ok] / rss[ok])
        lam = np.where(self.lam > 0, self.lam * np.clip(ratio, 0.5, 2.0), np.where(ratio > 1.0, 0.1 * self.sn, 0.0))
        self.lam = np.minimum(lam, 1e3 * np.maximum(self.sn, 1e-12))  # far above any transient: keeps it finite

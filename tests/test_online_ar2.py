"""Online AR(2) deconvolution (issue 14): the batch solver on sliding windows, a few traces per
frame, against the batch solve of the whole trace and the true spikes."""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.deconvolution.ar1 import MODE_FREE
from cnmf_gui.engine.deconvolution.single import solve_one
from cnmf_gui.engine.noise import estimate_noise
from cnmf_gui.engine.online.deconv import OnlineAR1
from cnmf_gui.engine.online.deconv_ar2 import WindowedAR2

from .calcium_traces import rise_trace

KINETICS = (0.08, 0.6)          # a resolved rise at 30 Hz: the batch's p = "auto" picks AR(2)


def _g(fs=30.0):
    d, r = np.exp(-1 / (KINETICS[1] * fs)), np.exp(-1 / (KINETICS[0] * fs))
    return np.array([d + r, -d * r])


def test_windows_follow_the_batch_solve_frame_by_frame():
    traces = [rise_trace(seed, KINETICS, seconds=60.0, snr=4.0) for seed in range(3)]
    Y = np.array([t[0] for t in traces])
    K, T = Y.shape
    g = np.tile(_g(), (K, 1))
    sn = np.array([estimate_noise(y) for y in Y])
    # each trace's baseline from its first 200 frames, as the batch initialisation gives it
    b0 = [solve_one(y[:200], g[k], float(sn[k]), 0.0, 0.0, MODE_FREE, 0.0, "fast").b for k, y in enumerate(Y)]
    ar2 = WindowedAR2(np.arange(K), g, sn, np.zeros(K), np.zeros(K), baseline=b0)
    F = np.zeros((K, T), np.float32)
    C = np.zeros((K, T), np.float32)
    S = np.zeros((K, T), np.float32)
    finals = []
    for t in range(T):
        F[:, t] = Y[:, t]
        ar2.step(t + 1, F, C, S)
        finals.append(ar2.final.copy())
        # a frame is final at most look + block frames after it arrived
        assert np.all(ar2.final >= t + 1 - ar2.look - ar2.block)
    finals = np.array(finals)
    assert np.all(np.diff(finals, axis=0) >= 0) and finals.max() <= T - ar2.look
    before = C.copy()
    ar2.finish(T, F, C, S)
    # finishing fills what is not final and leaves the final frames alone
    for k in range(K):
        assert np.array_equal(C[k, :ar2.final[k]], before[k, :ar2.final[k]])
        assert np.any(C[k, ar2.final[k]:] != 0)
    for k, (y, cal, spikes) in enumerate(traces):
        batch = solve_one(y, g[k], float(sn[k]), 0.0, 0.0, MODE_FREE, 0.0, "fast")
        assert np.corrcoef(C[k], batch.c)[0, 1] > 0.99
        # the spikes are as close to the truth as the batch's (spike counts per frame of a
        # continuous-time train with bursts: r is low for both)
        r_online, r_batch = np.corrcoef(S[k], spikes)[0, 1], np.corrcoef(batch.s, spikes)[0, 1]
        assert r_online > r_batch - 0.02, (r_online, r_batch)
        assert np.corrcoef(C[k], cal)[0, 1] > np.corrcoef(batch.c, cal)[0, 1] - 0.005
    # a window where the fixed-baseline solve fails to converge is solved with a free one: rare
    assert ar2.fallbacks <= 0.05 * ar2.solves


def test_an_ar2_traces_pools_no_longer_write_its_calcium():
    rng = np.random.default_rng(0)
    T = 300
    y = np.maximum(rng.standard_normal((2, T)), 0.0) * 3
    deconv = OnlineAR1([0.9, 0.9], [0.0, 0.0], [0.1, 0.1], [1.0, 1.0], [0.0, 0.0], pool_limit=16)
    deconv.external[1] = 1
    C = np.full((2, T), -7.0, np.float32)
    S = np.full((2, T), -7.0, np.float32)
    now = [deconv.step(y[:, t], t, C, S) for t in range(T)]
    deconv.finish(C, S)
    assert np.all(C[1] == -7.0) and np.all(S[1] == -7.0)            # left to the AR(2) solver
    assert np.all(C[0] >= 0.0)
    # ... while its pools still give the current value, as the other trace's do
    twin = OnlineAR1([0.9], [0.0], [0.1], [1.0], [0.0], pool_limit=16)
    C1, S1 = np.zeros((1, T), np.float32), np.zeros((1, T), np.float32)
    ref = [twin.step(y[1:, t], t, C1, S1)[0] for t in range(T)]
    assert np.allclose([n[1] for n in now], ref)

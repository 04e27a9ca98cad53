"""Calcium traces for deconvolution tests, made in continuous time and not by the AR model.

Spikes at sub-frame times (Poisson firing plus bursts), a difference-of-exponentials kernel, each
frame the average over its exposure, Gaussian noise: the model the solvers assume is not the
one that made the trace.
"""

import numpy as np


def rise_trace(seed, kinetics, fs=30.0, seconds=100.0, snr=5.0, *, jitter=False):
    """(F, true calcium, spike counts per frame), each of shape (T,).

    ``kinetics``: (rise, decay) time constants in seconds; ``jitter``: scale each by a random
    factor in [0.8, 1.2] (a cell's own kinetics), drawn first from the same generator.
    """
    rng = np.random.default_rng(seed)
    tau_r, tau_d = (t * rng.uniform(0.8, 1.2) for t in kinetics) if jitter else kinetics
    T = int(seconds * fs)
    times = list(rng.uniform(0, seconds, rng.poisson(0.5 * seconds)))
    for t0 in rng.uniform(0, seconds, rng.poisson(0.1 * seconds)):
        times += list(t0 + np.cumsum(rng.exponential(0.02, rng.integers(2, 6))))
    times = np.sort([t for t in times if t < seconds])
    up = 10
    fine = np.bincount((times * fs * up).astype(int), minlength=T * up)[:T * up].astype(float)
    t = np.arange(int(8 * tau_d * fs * up)) / (fs * up)
    h = np.exp(-t / tau_d) - np.exp(-t / tau_r)
    cal = np.convolve(fine, h / h.max())[:T * up].reshape(T, up).mean(axis=1)
    spikes = np.bincount((times * fs).astype(int), minlength=T)[:T].astype(float)
    return 1.0 + cal + rng.standard_normal(T) / snr, cal, spikes

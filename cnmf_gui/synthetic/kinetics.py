"""Calcium kinetics and spike trains: AR kernels, indicator time constants, bursty firing."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ar_coefficients", "simulate_calcium", "INDICATORS", "bursty_spike_counts",
           "synchronous_events", "indicator_traces", "continuous_time_calcium"]

# Rise and decay time constants (s) of a difference-of-exponentials kernel for single action
# potentials, in vivo, round figures from the published characterisations: GCaMP6f/6s from Chen
# et al. (2013) Nature 499:295 (6f: ~50 ms to half rise, ~0.4 s decay; 6s: ~0.15 s rise, ~1.3 s
# decay of small events), jGCaMP8m from Zhang et al. (2023) Nature 615:884 (rise of a few ms, half
# decay ~0.1-0.2 s; in vivo decays are longer). Each cell draws its own constants within +-20 %.
INDICATORS = {
    "GCaMP6f": {"tau_rise": 0.05, "tau_decay": 0.40},
    "GCaMP6s": {"tau_rise": 0.15, "tau_decay": 1.30},
    "GCaMP8m": {"tau_rise": 0.01, "tau_decay": 0.25},
}


def ar_coefficients(frame_rate: float, tau_decay: float, tau_rise: float | None = None) -> np.ndarray:
    """AR coefficients of a calcium kernel sampled at ``frame_rate``.

    Parameters
    ----------
    frame_rate : float
        Hz.
    tau_decay : float
        Decay time constant, s.
    tau_rise : float, optional
        Rise time constant, s. Given, the kernel is a difference of exponentials: AR(2).

    Returns
    -------
    g : ndarray of shape (1,) or (2,)
        ``c[t] = g[0] c[t-1] (+ g[1] c[t-2]) + s[t]``.
    """
    d = math.exp(-1.0 / (tau_decay * frame_rate))
    if tau_rise is None:
        return np.array([d])
    r = math.exp(-1.0 / (tau_rise * frame_rate))
    return np.array([d + r, -d * r])


def simulate_calcium(spikes: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Run the AR recursion ``c[t] = sum_i g[i] c[t-1-i] + s[t]`` along the last axis.

    Parameters
    ----------
    spikes : ndarray of shape (T,)
    g : ndarray of shape (p,)

    Returns
    -------
    ndarray of shape (T,)
    """
    from scipy.signal import lfilter

    return lfilter([1.0], np.r_[1.0, -np.asarray(g, float)], spikes)


def bursty_spike_counts(rng, n_frames: int, frame_rate: float, rate: float,
                        burst_rate: float = 0.08, burst_hz: float = 25.0,
                        burst_s: float = 0.25) -> np.ndarray:
    """Spike counts per frame of a neuron that fires singly and in bursts.

    A Poisson process at ``rate`` Hz plus bursts (Poisson at ``burst_rate`` Hz) during which the
    rate is ``burst_hz`` for an exponentially distributed time of mean ``burst_s``: the
    complex-spike bursts and up-states of cortical neurons, which make events of very different
    sizes and pile spikes into single frames at low frame rates.

    Returns
    -------
    ndarray of shape (n_frames,), int
    """
    T = int(n_frames)
    lam = np.full(T, rate / frame_rate)
    n_bursts = rng.poisson(burst_rate * T / frame_rate)
    for start in rng.integers(0, max(T, 1), n_bursts):
        length = max(1, int(round(rng.exponential(burst_s) * frame_rate)))
        lam[start:start + length] += burst_hz / frame_rate
    return rng.poisson(lam)


def synchronous_events(rng, counts: np.ndarray, frame_rate: float, rate: float) -> np.ndarray:
    """Add network events: at Poisson times (``rate`` per second) many cells burst together.

    Each event recruits each cell with its own probability (0.3-0.8, fixed per cell) for a burst
    of 1 + Poisson(3) spikes spread over ~0.1 s: the synchronous population bursts of anaesthetised
    or developing cortex, which brighten whole frames at once.

    Parameters
    ----------
    counts : ndarray of shape (K, T), int
        Spike counts of the cells that may take part (silent cells: pass only the active rows).

    Returns
    -------
    ndarray of shape (K, T), int
        ``counts`` plus the events' spikes (a new array).
    """
    K, T = counts.shape
    out = counts.copy()
    if K == 0 or T == 0 or rate <= 0:
        return out
    recruit = rng.uniform(0.3, 0.8, K)
    span = max(1, int(round(0.1 * frame_rate)))
    for start in rng.integers(0, T, rng.poisson(rate * T / frame_rate)):
        for k in np.nonzero(rng.random(K) < recruit)[0]:
            n = 1 + rng.poisson(3.0)
            frames = np.minimum(start + rng.integers(0, span, n), T - 1)
            np.add.at(out[k], frames, 1)
    return out


def indicator_traces(rng, counts: np.ndarray, frame_rate: float, indicator: str):
    """True calcium of each neuron from its spike counts, with per-cell indicator kinetics.

    Each spike's amplitude varies (gamma, CV ~0.3); the kernel is normalised so that a single
    spike peaks at its amplitude (1 on average: the movie's unit).

    Parameters
    ----------
    counts : ndarray of shape (K, T), int
    indicator : str
        A key of :data:`INDICATORS`.

    Returns
    -------
    traces, spikes : ndarray of shape (K, T)
        Calcium and spike amplitudes (``traces = AR(g) * spikes``).
    g : ndarray of shape (K, 2)
    taus : ndarray of shape (K, 2)
        (rise, decay) of each cell, s.
    """
    if indicator not in INDICATORS:
        raise ValueError(f"indicator must be one of {sorted(INDICATORS)}, got {indicator!r}")
    K, T = counts.shape
    base = INDICATORS[indicator]
    traces = np.zeros((K, T))
    spikes = np.zeros((K, T))
    g = np.zeros((K, 2))
    taus = np.zeros((K, 2))
    for k in range(K):
        tr = base["tau_rise"] * rng.uniform(0.8, 1.2)
        td = base["tau_decay"] * rng.uniform(0.8, 1.2)
        taus[k] = tr, td
        g[k] = ar_coefficients(frame_rate, td, tr)
        amps = rng.gamma(10.0, 0.1, T)
        # several spikes in one frame: the sum of their amplitudes
        s = counts[k] * amps
        peak = simulate_calcium(np.r_[1.0, np.zeros(int(5 * td * frame_rate) + 5)], g[k]).max()
        spikes[k] = s / peak
        traces[k] = simulate_calcium(spikes[k], g[k])
    return traces, spikes, g, taus


def continuous_time_calcium(rng, tau_rise: float, tau_decay: float, frame_rate: float, seconds: float,
                            *, max_burst: int = 6, upsample: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Calcium of one neuron made in continuous time, not by the AR model the solvers assume.

    Spikes at sub-frame times (Poisson at 0.5 Hz, plus bursts at 0.1 Hz of 2 to ``max_burst`` - 1
    spikes 20 ms apart on average), a difference-of-exponentials kernel peaking at 1, each frame
    the average over its exposure (``upsample`` sub-frames).

    Parameters
    ----------
    rng : numpy.random.Generator
    tau_rise, tau_decay : float
        Kernel time constants, s.
    frame_rate, seconds : float

    Returns
    -------
    calcium, spikes : ndarray of shape (T,)
        T = int(seconds * frame_rate); ``spikes`` are spike counts per frame.
    """
    fs, up = float(frame_rate), int(upsample)
    T = int(seconds * fs)
    times = list(rng.uniform(0, seconds, rng.poisson(0.5 * seconds)))
    for t0 in rng.uniform(0, seconds, rng.poisson(0.1 * seconds)):
        times += list(t0 + np.cumsum(rng.exponential(0.02, rng.integers(2, max_burst))))
    times = np.sort([t for t in times if t < seconds])
    fine = np.bincount((times * fs * up).astype(int), minlength=T * up)[:T * up].astype(float)
    t = np.arange(int(8 * tau_decay * fs * up)) / (fs * up)
    h = np.exp(-t / tau_decay) - np.exp(-t / tau_rise)
    calcium = np.convolve(fine, h / h.max())[:T * up].reshape(T, up).mean(axis=1)
    spikes = np.bincount((times * fs).astype(int), minlength=T)[:T].astype(float)
    return calcium, spikes

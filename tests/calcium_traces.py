"""Calcium traces for deconvolution tests, made in continuous time and not by the AR model
(:func:`cnmf_gui.synthetic.kinetics.continuous_time_calcium`), with Gaussian noise: the model the
solvers assume is not the one that made the trace.
"""

import numpy as np

from cnmf_gui.synthetic.kinetics import continuous_time_calcium


def rise_trace(seed, kinetics, fs=30.0, seconds=100.0, snr=5.0, *, jitter=False):
    """(F, true calcium, spike counts per frame), each of shape (T,).

    ``kinetics``: (rise, decay) time constants in seconds; ``jitter``: scale each by a random
    factor in [0.8, 1.2] (a cell's own kinetics), drawn first from the same generator.
    """
    rng = np.random.default_rng(seed)
    tau_r, tau_d = (t * rng.uniform(0.8, 1.2) for t in kinetics) if jitter else kinetics
    cal, spikes = continuous_time_calcium(rng, tau_r, tau_d, fs, seconds)
    return 1.0 + cal + rng.standard_normal(cal.size) / snr, cal, spikes

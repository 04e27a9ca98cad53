"""Known answer for deconvolution.noise_fit: the joint Whittle noise level of AR(1) traces.

A fast indicator (AR(2) kernel, decay 0.25 s, rise 0.05 s) sampled at 7.5 Hz leaks calcium
power into the upper band of the spectrum, so the band noise level overstates the true noise;
the joint fit of noise floor + AR(1) kinetics recovers it, and C then tracks the truth at least
as well as the raw trace does.
"""
import numpy as np

from cnmf_gui.engine import temporal
from cnmf_gui.engine.deconvolution import deconvolve_many
from cnmf_gui.engine.deconvolution.spectral import auto_kinetics
from cnmf_gui.engine.noise import estimate_noise
from cnmf_gui.params import DeconvParams


def _fast_indicator(seed, fs=7.5, T=3000, K=4, sigma=0.22, rate=0.25):
    """(K, T) calcium with an AR(2) kernel, Poisson spikes, and noisy traces around it."""
    rng = np.random.default_rng(seed)
    d, r = np.exp(-1 / (0.25 * fs)), np.exp(-1 / (0.05 * fs))
    g1, g2 = d + r, -d * r
    s = rng.poisson(rate, size=(K, T)).astype(float)
    c = np.zeros((K, T))
    for t in range(T):
        c[:, t] = s[:, t] + (g1 * c[:, t - 1] if t else 0.0) + (g2 * c[:, t - 2] if t > 1 else 0.0)
    return c, c + 1.0 + sigma * rng.standard_normal((K, T)), sigma


def test_joint_noise_level_is_the_true_noise_where_the_band_is_not():
    for seed in (0, 1):
        c, y, sigma = _fast_indicator(seed)
        band = np.asarray(estimate_noise(y)).ravel()
        joint = auto_kinetics(y, max_order=1)[1]
        assert np.all(band > 1.5 * sigma)
        assert np.all(np.abs(joint / sigma - 1) < 0.2)


def test_joint_noise_fit_gives_c_at_least_as_close_to_calcium_as_f():
    c, y, _ = _fast_indicator(2)
    r = {}
    for fit in ("band", "joint"):
        out = temporal._deconvolve_group(y, DeconvParams(noise_fit=fit), 1, deconvolve_many, None, None)
        r[fit] = np.array([np.corrcoef(out[0][k], c[k])[0, 1] for k in range(len(c))])
    r_f = np.array([np.corrcoef(y[k], c[k])[0, 1] for k in range(len(c))])
    assert np.all(r["joint"] >= r_f)
    assert np.all(r["band"] < r_f)  # the over-smoothing the joint fit removes

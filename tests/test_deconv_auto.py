"""Known answers for p="auto": AR order, kinetics and noise level chosen from the spectrum.

Traces with a rise are made in continuous time (difference of exponentials, spikes at sub-frame
times, each frame the average over its exposure), not by the AR recursion the model assumes.
"""

import numpy as np
import pytest
from scipy import signal

from cnmf_gui.engine.deconvolution import deconvolve, deconvolve_many
from cnmf_gui.engine.deconvolution.spectral import select_kinetics
from cnmf_gui.engine.noise import estimate_ar, estimate_noise
from tests import calcium_traces

#: Rise and decay time constants (s): GCaMP6f, GCaMP6s (Chen et al. 2013, Nature 499:295).
KINETICS = {"6f": (0.05, 0.4), "6s": (0.15, 1.3)}


def ar_trace(g, seed, T=3000, sn=0.2, rate=0.03):
    rng = np.random.default_rng(seed)
    spikes = rng.poisson(rate, T).astype(float)
    c = signal.lfilter([1.0], np.r_[1.0, -np.asarray(g)], spikes)
    return c + 1.0 + sn * rng.standard_normal(T), c


def rise_trace(seed, indicator="6f", fs=30.0, seconds=100.0, snr=5.0):
    """(F, true calcium, spike counts) with frame-integrated double-exponential kernels."""
    return calcium_traces.rise_trace(seed, KINETICS[indicator], fs, seconds, snr)


def corr(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def kinetics_of(y):
    return select_kinetics(y, sn_band=estimate_noise(y), g1_start=float(estimate_ar(y, 1)[0]))


@pytest.mark.parametrize("seed", range(3))
def test_order_one_for_a_decay_without_rise(seed):
    y, _ = ar_trace([0.95], seed)
    kin = kinetics_of(y)
    assert kin.valid and kin.order == 1
    assert kin.g[0] == pytest.approx(0.95, abs=0.02) and kin.g[1] == 0.0
    assert kin.sigma == pytest.approx(0.2, rel=0.1)


@pytest.mark.parametrize("seed", range(3))
def test_order_two_for_a_resolved_rise(seed):
    d, r = 0.95, 0.6
    y, _ = ar_trace([d + r, -d * r], seed)
    kin = kinetics_of(y)
    assert kin.valid and kin.order == 2
    roots = np.sort(np.real(np.roots([1.0, -kin.g[0], -kin.g[1]])))
    assert roots[1] == pytest.approx(d, abs=0.02)
    assert roots[0] == pytest.approx(r, abs=0.1)


def test_order_one_when_the_rise_is_shorter_than_a_frame():
    # GCaMP8m-like: rise ~10 ms at 7.5 Hz cannot be seen; one AR(1) decay explains the trace.
    d, r = 0.6, 0.01
    for seed in range(3):
        y, _ = ar_trace([d + r, -d * r], seed, sn=0.1, rate=0.1)
        assert kinetics_of(y).order == 1


@pytest.mark.parametrize("indicator,fs,snr", [("6f", 30.0, 3.0), ("6f", 30.0, 10.0),
                                              ("6s", 15.0, 3.0), ("6s", 15.0, 10.0)])
def test_denoised_calcium_at_least_as_good_as_raw(indicator, fs, snr):
    for seed in range(3):
        F, cal, spikes = rise_trace(seed, indicator, fs, snr=snr)
        res = deconvolve(F, p="auto")
        assert res.g.shape == (2,) and res.g[1] < 0  # the rise is resolved: AR(2)
        assert corr(res.c, cal) >= corr(F, cal) - 1e-3
        before = deconvolve(F, p=1)
        # and the spikes are closer to the truth than with AR(1) (2-frame smoothing as scored)
        sm = lambda x: np.convolve(x, np.ones(2), "same")  # noqa: E731
        assert corr(sm(res.s), sm(spikes)) > corr(sm(before.s), sm(spikes)) + 0.05


def test_noise_level_not_inflated_by_fast_transients():
    # A fast indicator at a slow frame rate and high SNR puts calcium power into the upper band
    # of the spectrum, which the band estimate counts as noise.
    errs_auto, errs_band = [], []
    for seed in range(3):
        F, cal, _ = rise_trace(seed, "6f", 7.5, seconds=300, snr=20.0)
        errs_auto.append(abs(np.log(deconvolve(F, p="auto").sn * 20.0)))
        errs_band.append(abs(np.log(estimate_noise(F) * 20.0)))
    assert np.mean(errs_auto) < 0.5 * np.mean(errs_band)


def test_cvxpy_agrees_with_the_fast_solver_on_estimated_ar2_kinetics():
    F, _, _ = rise_trace(1, "6f", 30.0, seconds=20.0, snr=5.0)
    auto = deconvolve(F, p="auto")
    assert auto.g[1] != 0.0
    fast = deconvolve(F, p=2, g=auto.g, sn=auto.sn)
    ref = deconvolve(F, p=2, g=auto.g, sn=auto.sn, method="cvxpy")
    np.testing.assert_allclose(fast.c, auto.c, atol=1e-9)
    obj = lambda r: float(np.sum(r.s))  # noqa: E731  ||G c||_1 with G c >= 0
    assert obj(fast) == pytest.approx(obj(ref), rel=1e-3)
    np.testing.assert_allclose(fast.c, ref.c, atol=2e-3 * np.ptp(ref.c))
    assert np.linalg.norm(fast.c + fast.b - F) <= fast.theta * (1 + 1e-6)


def test_ar1_coefficients_padded_with_zero_solve_as_ar1():
    y, _ = ar_trace([0.9], 4, T=800)
    one = deconvolve(y, p=1, g=[0.9], sn=0.2)
    two = deconvolve(y, p=2, g=[0.9, 0.0], sn=0.2)
    np.testing.assert_allclose(two.c, one.c, atol=1e-9)
    np.testing.assert_allclose(two.s, one.s, atol=1e-9)


def test_population_auto_per_component_orders():
    Y = np.stack([ar_trace([0.95], 0)[0], ar_trace([0.95 + 0.6, -0.95 * 0.6], 1)[0]])
    res = deconvolve_many(Y, p="auto", n_workers=1)
    assert res.g.shape == (2, 2)
    assert res.g[0, 1] == 0.0 and res.g[1, 1] < 0.0
    for k in range(2):
        single = deconvolve(Y[k], p="auto")
        np.testing.assert_allclose(res.c[k], single.c, atol=1e-5 * np.ptp(single.c))  # warm starts


def test_resampled_trace_keeps_the_autocovariance_fit():
    # Interpolated from a lower rate: the noise is not white; the spectral model is not used.
    y, _ = ar_trace([0.95], 2, T=600)
    fine = signal.resample(y - y.mean(), 600 * 8) + y.mean()
    res = deconvolve(fine, p="auto", noise_range="auto")
    assert res.g[1] == 0.0
    assert res.g[0] == pytest.approx(float(estimate_ar(fine, 1)[0]))


def test_auto_rejects_bad_orders():
    from cnmf_gui.errors import ParameterError

    with pytest.raises(ParameterError, match="p must be 0, 1, 2 or 'auto'"):
        deconvolve(np.arange(10.0), p="two")

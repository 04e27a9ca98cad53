"""Noise level from the PSD and AR kinetics from the autocovariance: known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from cnmf_gui.engine.noise import estimate_ar, estimate_noise, is_stable, project_stable
from cnmf_gui.errors import ParameterError


@pytest.mark.parametrize("method", ["mean", "median", "logmexp"])
@pytest.mark.parametrize("T", [64, 1000, 20000])
def test_white_noise_level_is_recovered(method, T):
    y = 0.7 * np.random.default_rng(T).standard_normal((40, T))
    sn = estimate_noise(y, method=method)
    assert sn.shape == (40,)
    # Unbiased on average, and each estimate within the spread expected for T frames.
    assert np.mean(sn) == pytest.approx(0.7, rel=0.03 if T > 100 else 0.08)


def test_noise_ignores_slow_calcium():
    """Calcium with a rise time (AR(2)) has little power in the upper band."""
    rng = np.random.default_rng(1)
    spikes = (rng.random(5000) < 0.02) * 1.0
    calcium = signal.lfilter([1.0], [1.0, -1.57, 0.582], spikes)  # roots 0.97 and 0.6
    assert estimate_noise(calcium + 0.2 * rng.standard_normal(5000)) == pytest.approx(0.2, rel=0.1)


def test_movie_chunk_along_axis0_matches_per_pixel():
    chunk = np.random.default_rng(2).standard_normal((2000, 6, 5)).astype(np.float32)
    chunk *= np.arange(1, 31, dtype=np.float32).reshape(6, 5)
    sn = estimate_noise(chunk, axis=0)
    assert sn.shape == (6, 5)
    assert sn[2, 3] == pytest.approx(estimate_noise(chunk[:, 2, 3]))
    assert np.allclose(sn / np.arange(1, 31).reshape(6, 5), 1.0, rtol=0.25)


def test_million_frames():
    y = np.random.default_rng(3).standard_normal(1_000_000)
    assert estimate_noise(y) == pytest.approx(1.0, rel=0.01)


@pytest.mark.parametrize("kwargs", [dict(noise_range=(0.3, 0.2)), dict(noise_range=(0.1, 0.7)),
                                    dict(method="max")])
def test_bad_noise_options(kwargs):
    with pytest.raises(ParameterError):
        estimate_noise(np.ones(100), **kwargs)
    with pytest.raises(ParameterError, match="at least 4"):
        estimate_noise(np.ones(3))


@pytest.mark.parametrize("g", [[0.9], [0.97], [1.6, -0.63], [1.75, -0.765]])
def test_ar_coefficients_are_recovered(g):
    rng = np.random.default_rng(4)
    T = 50_000
    spikes = (rng.random(T) < 0.05) * rng.exponential(1.0, T)
    y = signal.lfilter([1.0], np.concatenate([[1.0], -np.asarray(g)]), spikes) + 0.3 * rng.standard_normal(T)
    est = estimate_ar(y, len(g))
    np.testing.assert_allclose(est, g, atol=0.04)
    np.testing.assert_allclose(estimate_ar(y, len(g), sn=0.3), g, atol=0.04)
    assert estimate_ar(np.stack([y, y]), len(g)).shape == (2, len(g))


def test_projection_into_the_stable_region():
    assert is_stable([0.5]) and not is_stable([1.0]) and not is_stable([1.9, 0.2])
    for g in ([1.05], [-0.3], [1.9, 0.2], [1.0, -0.5]):
        proj = project_stable(g)
        assert is_stable(proj)
        roots = np.roots(np.concatenate([[1.0], -proj]))
        assert np.all(np.abs(roots.imag) < 1e-6) and np.all(roots.real >= 0)


@pytest.mark.parametrize("T", [8, 32, 600])
def test_float32_chunks_give_the_float64_noise_to_rounding(T):
    # Movie chunks are transformed in float32 (2-4x faster): on a bright baseline with noise
    # 15x smaller than it, the estimate agrees with the float64 one far below its own spread.
    rng = np.random.default_rng(T)
    chunk = (300.0 + 20.0 * rng.standard_normal((T, 12, 16))).astype(np.float32)
    sn32 = estimate_noise(chunk, axis=0)
    sn64 = estimate_noise(chunk.astype(np.float64), axis=0)
    np.testing.assert_allclose(sn32, sn64, rtol=2e-3)
    assert np.median(np.abs(sn32 / sn64 - 1.0)) < 1e-4


def test_band_limit_finds_the_rate_a_trace_was_resampled_from():
    from cnmf_gui.engine.noise import band_limit
    rng = np.random.default_rng(3)
    slow = signal.resample(rng.standard_normal(1000), 3000)   # 1/3 of the rate: f_c = 1/6
    assert band_limit(slow) == pytest.approx(1 / 6, abs=0.02)
    assert band_limit(rng.standard_normal(3000)) == 0.5

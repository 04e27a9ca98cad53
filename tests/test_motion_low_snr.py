"""Registration of noisy movies: temporal bins chosen from the SNR, untrusted peaks detected."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.motion import estimate_motion
from cnmf_gui.engine.motion.binning import bin_centres, bin_means, template_bins
from cnmf_gui.engine.motion.framepass import fill_unreliable, interpolate_to_frames
from cnmf_gui.engine.motion.snr import choose_bin, measure
from cnmf_gui.params import MotionParams
from cnmf_gui.synthetic import make_movie

from tests.test_motion_rigid import rmse


@pytest.fixture(scope="module")
def noisy():
    # Read noise 5x the spike size: single frames cannot be registered (their peaks drown in
    # the noise's), means of a few frames can.
    return make_movie(n_frames=300, shape=(128, 128), n_neurons=25, motion="rigid", max_shift=4.0,
                      seed=3, noise=5.0)


def test_low_snr_movie_shifts_recovered_through_automatic_bins(noisy):
    result = estimate_motion(noisy.movie, MotionParams(template_frames=150, pc_metric=False))
    m = result.metrics
    assert 2 <= m["temporal_bin"] <= 16
    # The motion has sd ~2.2 px per axis and steps of ~0.2 px per frame; measured 0.34 px.
    assert rmse(result.shifts, noisy.shifts) <= 0.5
    assert not m["unreliable_frames"].any()
    assert m["template_trusted_fraction"] >= 0.5
    # The peaks' own position sd and the predicted precision agree with the error to within a
    # factor of 2.
    assert 0.5 < rmse(result.shifts, noisy.shifts) / np.sqrt(2) / np.median(m["location_sd"]) < 2.0
    per_axis = rmse(result.shifts, noisy.shifts) / np.sqrt(2)
    assert 0.5 < per_axis / m["predicted_precision"].max() < 2.0


def test_low_snr_single_frames_are_flagged_not_trusted(noisy):
    result = estimate_motion(noisy.movie, MotionParams(template_frames=150, temporal_bin=1, pc_metric=False))
    m = result.metrics
    assert m["temporal_bin"] == 1
    # Single-frame peaks do not stand out of the noise: nearly all flagged, and their shifts
    # are not the noise's (they stay within the motion's range instead of +-max_shift).
    assert m["unreliable_frames"].mean() > 0.9
    assert m["bad_frames"].mean() > 0.9
    assert np.abs(result.shifts).max() < 6.0


def test_pure_noise_is_never_registered():
    rng = np.random.default_rng(7)
    movie = (100 + 10 * rng.standard_normal((120, 64, 64))).astype(np.float32)
    result = estimate_motion(movie, MotionParams(pc_metric=False))
    m = result.metrics
    assert m["unreliable_frames"].all()
    np.testing.assert_array_equal(result.shifts, 0.0)


def test_high_snr_movie_uses_single_frames_and_trusts_them():
    sm = make_movie(n_frames=120, shape=(96, 96), n_neurons=15, motion="rigid", max_shift=3.0, seed=5)
    result = estimate_motion(sm.movie, MotionParams(pc_metric=False))
    m = result.metrics
    assert m["temporal_bin"] == 1
    assert not m["unreliable_frames"].any() and m["peak_snr"].min() > 20
    assert rmse(result.shifts, sm.shifts) <= 0.05


def test_forced_bins_on_a_clean_movie_follow_slow_motion():
    # Motion slow against the bin (a drift of 2 px over the movie): bins of 5 lose nothing.
    from tests.test_motion_rigid import textured_movie

    truth = np.stack([np.linspace(-1, 1, 100), np.linspace(0.5, -0.5, 100)], axis=1)
    movie = textured_movie(truth, noise=0.05)
    result = estimate_motion(movie, MotionParams(template_frames=100, temporal_bin=5, pc_metric=False))
    assert result.metrics["temporal_bin"] == 5
    assert rmse(result.shifts, truth) <= 0.05


def test_split_half_spectra_measure_the_noise_and_find_no_structure_in_noise():
    rng = np.random.default_rng(0)
    a = 3.0 * rng.standard_normal((64, 64)) / np.sqrt(20)      # mean of 20 frames of sd 3
    b = 3.0 * rng.standard_normal((64, 64)) / np.sqrt(20)
    sig = measure(a, b, 20, 20)
    assert sig.sigma == pytest.approx(3.0, rel=0.05)
    # No structure is shared: nothing survives the 2-standard-error test in most rings.
    assert (sig.density > 0).mean() < 0.1
    assert sig.n_template == 40


def test_choose_bin_scales_with_the_square_of_the_precision():
    assert choose_bin(0.1, 50.0, 0.25, 10.0, 64) == 1
    assert choose_bin(0.5, 50.0, 0.25, 10.0, 64) == 4
    assert choose_bin(0.1, 5.0, 0.25, 10.0, 64) == 4        # the peak must stand out too
    assert choose_bin(10.0, 1.0, 0.25, 10.0, 64) == 64      # capped
    assert choose_bin(float("inf"), 0.0, 0.25, 10.0, 8) == 8


def test_bins_means_centres_and_template_bins():
    frames = np.arange(7 * 4, dtype=np.float32).reshape(7, 2, 2)
    frames[3] = np.nan                       # an unusable frame is left out of its bin's mean
    means, counts = bin_means(frames, 3)
    assert means.shape == (3, 2, 2)
    np.testing.assert_array_equal(counts, [3, 2, 1])
    np.testing.assert_allclose(means[1], frames[4:6].mean(axis=0))
    np.testing.assert_allclose(bin_centres(np.array([0, 1, 2]), 3, 7), [1.0, 4.0, 6.0])
    bins = template_bins(1000, 10, 200)
    assert len(bins) == 20 and bins[0] == 0 and bins[-1] == 99


def test_untrusted_shifts_are_interpolated_between_trusted_neighbours():
    shifts = np.array([[0.0, 0.0], [9.0, 9.0], [2.0, -2.0], [9.0, 9.0], [9.0, 9.0]])
    pw = np.zeros((5, 2, 2, 2), np.float32)
    trusted = np.array([True, False, True, False, False])
    fill_unreliable(shifts, pw, trusted, np.arange(5.0), anchor=None)
    np.testing.assert_allclose(shifts, [[0, 0], [1, -1], [2, -2], [2, -2], [2, -2]])
    np.testing.assert_allclose(pw[1], np.broadcast_to([1, -1], (2, 2, 2)))
    # Nothing trusted and no anchor: frames stay where they are.
    s = np.ones((3, 2))
    fill_unreliable(s, None, np.zeros(3, bool), np.arange(3.0))
    np.testing.assert_array_equal(s, 0.0)
    # An anchor from the previous chunk starts the interpolation.
    s = np.array([[5.0, 5.0], [4.0, 0.0]])
    fill_unreliable(s, None, np.array([False, True]), np.array([10.0, 11.0]), anchor=(9.0, np.array([2.0, 0.0])))
    np.testing.assert_allclose(s[0], [3.0, 0.0])


def test_bin_shifts_interpolate_linearly_to_frames_and_hold_at_the_ends():
    out = interpolate_to_frames(np.arange(8.0), np.array([1.0, 5.0]), np.array([[0.0, 4.0], [4.0, 0.0]]))
    np.testing.assert_allclose(out[:, 0], [0, 0, 1, 2, 3, 4, 4, 4])
    np.testing.assert_allclose(out[:, 1], [4, 4, 3, 2, 1, 0, 0, 0])

"""Facts about the realistic generator (cnmf_gui.synthetic.make_realistic_movie), on small movies."""

import numpy as np
import pytest
from scipy import ndimage

from cnmf_gui.synthetic import INDICATORS, make_realistic_movie, simulate_calcium
from cnmf_gui.synthetic.motion import sample_scene, sample_scene_translated

SMALL = dict(n_frames=120, shape=(48, 56), n_cells=8, radius_range=(3.0, 6.0))


def test_seeded_and_deterministic():
    a = make_realistic_movie(**SMALL, seed=3)
    b = make_realistic_movie(**SMALL, seed=3)
    c = make_realistic_movie(**SMALL, seed=4)
    np.testing.assert_array_equal(a.movie, b.movie)
    np.testing.assert_array_equal(a.shifts, b.shifts)
    assert not np.array_equal(a.movie, c.movie)
    assert a.movie.dtype == np.float32 and a.movie.shape == (120, 48, 56)
    assert a.footprints.shape == (a.n_neurons, 48, 56)
    np.testing.assert_allclose(a.footprints.max(axis=(1, 2)), 1.0, rtol=1e-5)
    assert np.all((a.radii >= 3.0) & (a.radii <= 6.0))


def test_true_correction_registers_frames_onto_the_motion_free_scene():
    """Resampling a raw frame by its true correction gives back the motion-free frame.

    The motion-free movie is the same scene (same seed, same margin) replayed with zero
    displacement; the truth is consistent if undoing the stored correction by interpolation
    matches it far better than the raw frame does (the residual is interpolation error).
    """
    kw = dict(SMALL, n_frames=60, photons_per_unit=None, motion_px=3.0, seed=5)
    moving = make_realistic_movie(**kw)
    still = make_realistic_movie(**kw, displacements=np.zeros((60, 2)))
    assert moving.motion == "rigid" and still.motion is None
    assert np.abs(moving.shifts).max() == pytest.approx(3.0, abs=1e-4)
    inner = (slice(6, -6), slice(6, -6))
    frames = np.argsort(-np.abs(moving.shifts).sum(axis=1))[:10]
    for t in frames:
        registered = ndimage.shift(moving.movie[t], moving.shifts[t], order=3)
        scale = still.movie[t][inner].std()
        after = np.abs(registered[inner] - still.movie[t][inner]).mean() / scale
        before = np.abs(moving.movie[t][inner] - still.movie[t][inner]).mean() / scale
        assert after < 0.1 * before
        assert after < 0.05


def test_true_nonrigid_field_registers_frames_onto_the_motion_free_scene():
    """Sampling a raw frame where the stored per-pixel correction says gives back the motion-free
    frame (to first order in the field's gradient). The still movie has the same margin (the
    same motion reach), so the same scene."""
    kw = dict(SMALL, n_frames=40, photons_per_unit=None, seed=6)
    moving = make_realistic_movie(**kw, motion_px=1.0, nonrigid_px=1.5)
    still = make_realistic_movie(**kw, motion_px=2.5, displacements=np.zeros((40, 2)))
    rows, cols = np.mgrid[0:48, 0:56].astype(float)
    inner = (slice(6, -6), slice(6, -6))
    for t in range(0, 40, 5):
        field = moving.shift_field_at(t)
        registered = ndimage.map_coordinates(moving.movie[t], [rows - field[..., 0], cols - field[..., 1]],
                                             order=3)
        after = np.abs(registered[inner] - still.movie[t][inner]).mean()
        before = np.abs(moving.movie[t][inner] - still.movie[t][inner]).mean()
        assert after < 0.3 * before


def test_motion_is_not_a_fourier_shift_and_includes_fast_jumps():
    """Content enters from outside the field (no wrap-around), and some frame-to-frame steps are
    far larger than the typical one (jumps)."""
    s = make_realistic_movie(**dict(SMALL, n_frames=900), photons_per_unit=None, motion_px=4.0,
                             jump_rate=0.5, seed=2)
    steps = np.linalg.norm(np.diff(s.shifts, axis=0), axis=1)
    assert steps.max() > 8 * np.median(steps)
    t = int(np.argmax(np.abs(s.shifts[:, 1])))
    dx = int(np.round(-s.shifts[t, 1]))        # the scene moved right by dx: a new left edge
    if dx > 1:
        wrapped = np.roll(s.movie[0], dx, axis=1)[:, :dx]
        assert not np.allclose(s.movie[t][:, :dx], wrapped, rtol=0.05)


def test_separable_sampling_equals_the_general_one():
    rng = np.random.default_rng(0)
    coeffs = rng.random((60, 70)).astype(np.float32)
    rows, cols = np.arange(20) * 2 + 10 - 1.37, np.arange(25) * 2 + 9 + 0.61
    general = sample_scene(coeffs, rows[:, None] + 0 * cols[None, :], cols[None, :] + 0 * rows[:, None])
    np.testing.assert_allclose(sample_scene_translated(coeffs, rows, cols), general, atol=1e-5)


def test_silent_cells_never_fire_but_are_visible():
    s = make_realistic_movie(**dict(SMALL, n_cells=12, n_frames=300), silent_fraction=0.5,
                             motion_px=0.0, seed=8)
    silent = ~s.active
    assert silent.sum() == 6
    assert (s.spike_counts[silent] == 0).all() and (s.traces[silent] == 0).all()
    assert (s.spike_counts[s.active].sum(axis=1) > 0).all()
    mean = s.movie.mean(axis=0)
    for k in np.nonzero(silent)[0]:
        inside = s.footprints[k] > 0.5
        near = ndimage.binary_dilation(s.footprints[k] > 0.05, iterations=3) & ~(s.footprints.max(0) > 0.05)
        assert mean[inside].mean() > 1.2 * mean[near].mean()


def test_bleaching_dims_the_whole_movie():
    s = make_realistic_movie(**dict(SMALL, n_frames=600), bleach=0.3, motion_px=0.0, seed=9)
    assert s.bleaching[0] == pytest.approx(1.0) and s.bleaching[-1] == pytest.approx(0.7, abs=1e-3)
    assert np.all(np.diff(s.bleaching) < 0)
    ratio = s.movie[-60:].mean() / s.movie[:60].mean()
    assert 0.6 < ratio < 0.8


@pytest.mark.parametrize("indicator, frame_rate, min_lag, max_lag",
                         [("GCaMP6s", 30.0, 4, 12), ("GCaMP6f", 30.0, 1, 5), ("GCaMP8m", 7.0, 0, 1)])
def test_rise_time_is_visible_in_the_movie(indicator, frame_rate, min_lag, max_lag):
    """Spike-triggered average of a cell's pixels peaks after the indicator's rise (frames)."""
    s = make_realistic_movie(**dict(SMALL, n_frames=1500), indicator=indicator, frame_rate=frame_rate,
                             photons_per_unit=None, motion_px=0.0, firing_rate=1.0, silent_fraction=0.0,
                             seed=10)
    assert s.indicator == indicator and s.g.shape == (s.n_neurons, 2)
    lags = []
    for k in range(s.n_neurons):
        f = s.movie[:, s.footprints[k] > 0.6].mean(axis=1)
        f = f - ndimage.uniform_filter1d(f, 101)
        onsets = np.nonzero(s.spike_counts[k] > 0)[0]
        onsets = onsets[(onsets > 5) & (onsets < len(f) - 40)]
        sta = np.mean([f[t - 1:t + 30] for t in onsets], axis=0)
        lags.append(int(np.argmax(sta)) - 1)
    assert min_lag <= np.median(lags) <= max_lag
    # the truth follows its AR(2) model exactly
    for k in range(s.n_neurons):
        np.testing.assert_allclose(simulate_calcium(s.spikes[k], s.g[k]), s.traces[k], atol=1e-4)


def test_shot_noise_variance_grows_with_the_signal():
    """A static scene in photons: temporal variance = mean + read noise^2 (Poisson + Gaussian)."""
    s = make_realistic_movie(**dict(SMALL, n_cells=0, n_frames=800), photons_per_unit=20.0,
                             motion_px=0.0, neuropil=0.0, background=2.0, bleach=0.0, read_noise=2.0,
                             seed=11)
    mean, var = s.movie.mean(axis=0).ravel(), s.movie.var(axis=0).ravel()
    slope, intercept = np.polyfit(mean, var, 1)
    assert slope == pytest.approx(1.0, abs=0.1)
    assert intercept == pytest.approx(4.0, abs=2.0)
    assert np.ptp(mean) > 20        # the scene has structure: the fit spans a range of signal


def test_nonrigid_field_is_smooth_and_bounded():
    s = make_realistic_movie(**dict(SMALL, n_frames=80), motion_px=1.0, nonrigid_px=1.5, seed=12)
    assert s.motion == "nonrigid"
    field = s.shift_field
    residual = field - s.shifts[:, None, None, :]
    assert np.abs(residual).max() == pytest.approx(1.5, rel=0.15)
    np.testing.assert_allclose(residual.mean(axis=(1, 2)), 0.0, atol=1e-4)
    assert np.abs(np.diff(residual, axis=1)).max() < 0.2     # smooth across rows


def test_bad_arguments():
    with pytest.raises(ValueError, match="indicator"):
        make_realistic_movie(n_frames=5, indicator="GCaMP99")
    with pytest.raises(ValueError, match="radius_range"):
        make_realistic_movie(n_frames=5, radius_range=(5, 2))
    assert set(INDICATORS) == {"GCaMP6f", "GCaMP6s", "GCaMP8m"}


def test_network_events_make_many_cells_fire_together():
    kw = dict(SMALL, n_cells=12, n_frames=1500, silent_fraction=0.0, firing_rate=0.05,
              photons_per_unit=None, motion_px=0.0, seed=13)
    quiet = make_realistic_movie(**kw, sync_rate=0.0)
    events = make_realistic_movie(**kw, sync_rate=0.3)
    assert (events.spike_counts >= quiet.spike_counts).all()

    def crowded(s):   # frames where at least half of the cells fire within 0.1 s
        window = ndimage.maximum_filter1d((s.spike_counts > 0).astype(int), 3, axis=1)
        return int((window.sum(axis=0) >= s.n_neurons // 2).sum())
    assert crowded(quiet) == 0 and crowded(events) >= 10

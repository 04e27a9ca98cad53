"""Known answers on resampled motion (not Fourier shifts): no frame grossly off, bad frames flagged."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.motion import estimate_motion
from cnmf_gui.engine.motion.consistency import brightness_outliers, find_outliers, settle_outliers
from cnmf_gui.engine.motion.framepass import FramePass
from cnmf_gui.engine.motion.template import build_template
from cnmf_gui.params import MotionParams

from tests.motion_scenes import resampled_movie, shift_errors

PARAMS = MotionParams(pc_metric=False)


@pytest.fixture(scope="module")
def moving():
    return resampled_movie(seed=0)


def test_resampled_motion_every_frame_within_half_a_pixel(moving):
    movie, truth = moving
    r = estimate_motion(movie, PARAMS)
    err = shift_errors(r.shifts, truth)
    assert err.max() < 0.5
    assert np.sqrt((err ** 2).mean()) < 0.15      # measured 0.094
    assert r.metrics["n_flagged"] == 0


@pytest.mark.parametrize("kind", ["negative", "offset", "uint8", "saturated"])
def test_bad_value_ranges_register(moving, kind):
    movie, truth = moving
    if kind == "negative":
        movie = movie - movie.max() - 10.0          # every value below zero
    elif kind == "offset":
        movie = movie + np.float32(1e4)
    elif kind == "uint8":
        movie = np.round(movie / movie.max() * 255).astype(np.uint8)
    else:
        movie = np.minimum(movie, np.percentile(movie, 98))   # 2 % of pixels clipped
    err = shift_errors(estimate_motion(movie, PARAMS).shifts, truth)
    assert err.max() < 0.5
    assert np.sqrt((err ** 2).mean()) < 0.15


def test_bursts_and_bleaching_do_not_move_a_still_movie():
    # A third of the cells burst (up to ~30x their resting level), several near the edges,
    # and the field bleaches to a third: none of it is motion. This movie sent burst frames
    # 14 px off when the template window left the edges out and the seed was a burst.
    movie, _ = resampled_movie(static=True, bursts=True, bleach=1.0, seed=1)
    s = estimate_motion(movie, PARAMS).shifts
    assert np.abs(s - np.median(s, axis=0)).max() < 0.5


def test_blank_and_flashed_frames_are_flagged_and_placed_by_neighbours(moving):
    movie, truth = moving
    bad = movie.copy()
    rng = np.random.default_rng(7)
    bad[[40, 41]] = rng.normal(0.0, 1.0, (2,) + movie.shape[1:])    # shutter closed: dark noise
    bad[90] = 0.0                                                     # an empty frame
    bad[[120, 160]] = rng.poisson(movie[[120, 160]].clip(0) + 2000.0)  # flashes of light
    r = estimate_motion(bad, PARAMS)
    flagged = np.flatnonzero(r.metrics["flagged_frames"])
    np.testing.assert_array_equal(flagged, [40, 41, 90, 120, 160])
    assert r.metrics["n_flagged"] == 5
    assert shift_errors(r.shifts, truth).max() < 0.5


def test_shift_that_disagrees_with_neighbours_is_searched_again_near_them(moving):
    movie, truth = moving
    tres = build_template(movie, PARAMS)
    state = FramePass(movie.shape[1:], tres, PARAMS, 1)
    reg = state.register(movie[:100])
    shifts = reg["shifts"].copy()
    good = shifts.copy()
    # As if the free search had picked distant peaks for three frames.
    shifts[[20, 50, 51]] += [[9.0, -7.0], [-12.0, 4.0], [-12.0, 4.0]]
    trusted = np.ones(100, bool)
    out, exp, reach, tol = find_outliers(shifts, trusted)
    np.testing.assert_array_equal(np.flatnonzero(out), [20, 50, 51])
    re, flagged = settle_outliers(state, movie[:100], shifts, None, reg["peak_snr"].copy(),
                                  reg["location_sd"].copy(), reg["median"], trusted, None)
    np.testing.assert_array_equal(np.flatnonzero(re), [20, 50, 51])
    assert not flagged.any()
    np.testing.assert_allclose(shifts, good, atol=0.05)


def test_steps_and_smooth_fast_motion_are_not_outliers():
    t = np.arange(200, dtype=float)
    step = np.zeros((200, 2))
    step[100:] = [6.0, -4.0]                         # the brain settles at a new position
    ramp = np.stack([0.4 * t, -0.3 * t], axis=1)     # fast but smooth
    for s in (step, ramp):
        assert not find_outliers(s, np.ones(200, bool))[0].any()
    twitch = step.copy()
    twitch[50] = [3.0, 3.0]
    assert np.flatnonzero(find_outliers(twitch, np.ones(200, bool))[0]).tolist() == [50]


def test_brightness_outliers_ignore_bleaching_and_steps():
    b = 100.0 * np.exp(-np.arange(300) / 100.0) + np.random.default_rng(0).normal(0, 0.3, 300)
    b[150:] += 20.0                  # a lasting change is not a flash
    b[80] += 60.0                    # a flash
    b[200] = 0.0                     # a blank frame
    assert np.flatnonzero(brightness_outliers(b, np.ones(300, bool))).tolist() == [80, 200]

"""Known-answer tests of rigid registration: injected sub-pixel shifts are recovered."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from cnmf_gui.engine.motion import CorrectedMovie, apply_shifts, estimate_motion
from cnmf_gui.engine.motion.prep import SpectralPrep
from cnmf_gui.engine.motion.rigid import register_spectra
from cnmf_gui.params import MotionParams
from cnmf_gui.synthetic import make_movie


def textured_movie(shifts, shape=(96, 112), noise=0.05, seed=0):
    """Frames of one smooth random texture, each moved by a Fourier phase ramp (exact sub-pixel).

    The texture lives on a larger periodic canvas; cropping its centre gives frames whose
    edges are not periodic, as in a real recording. Frame t is the canvas moved by
    ``-shifts[t]``, so ``shifts[t]`` is the correction that aligns it back.
    """
    rng = np.random.default_rng(seed)
    H, W = shape
    m = 16
    canvas = ndimage.gaussian_filter(rng.standard_normal((H + 2 * m, W + 2 * m)), 2.0, mode="wrap")
    canvas += 0.5 * ndimage.gaussian_filter(rng.standard_normal(canvas.shape), 8.0, mode="wrap")
    spec = np.fft.fft2(canvas)
    ky = np.fft.fftfreq(canvas.shape[0])[:, None]
    kx = np.fft.fftfreq(canvas.shape[1])[None, :]
    frames = []
    for dy, dx in shifts:
        moved = np.fft.ifft2(spec * np.exp(2j * np.pi * (ky * dy + kx * dx))).real  # I(r + d)
        frames.append(moved[m:m + H, m:m + W])
    movie = np.asarray(frames, np.float32) * 10 + 100
    movie += noise * 10 * rng.standard_normal(movie.shape).astype(np.float32)
    return movie


def rmse(estimate, truth):
    """RMS distance after removing the constant offset (the template's position is arbitrary)."""
    d = np.asarray(estimate, float) - np.asarray(truth, float)
    d -= d.mean(axis=0)
    return float(np.sqrt((d ** 2).sum(axis=1).mean()))


def test_register_spectra_recovers_single_subpixel_shift():
    truth = np.array([[0.0, 0.0], [1.37, -2.62]])
    movie = textured_movie(truth, noise=0.0)
    prep = SpectralPrep(movie.shape[1:], 0.1, 0.0, margin=4)
    shifts, clamped, _ = register_spectra(prep.frame_spectra(movie[1:]), prep.template_spectrum(movie[0]),
                                          movie.shape[1:], 10.0, 100)
    np.testing.assert_allclose(shifts[0], truth[1], atol=0.02)
    assert not clamped.any()


def test_estimate_motion_recovers_subpixel_rigid_shifts_to_005_px():
    rng = np.random.default_rng(1)
    truth = rng.uniform(-4, 4, (120, 2))
    movie = textured_movie(truth)
    result = estimate_motion(movie, MotionParams(template_frames=60))
    assert result.shifts.shape == (120, 2) and result.shifts.dtype == np.float32
    assert rmse(result.shifts, truth) <= 0.05
    assert result.clamped == 0


def test_synthetic_rigid_movie_shifts_recovered_and_metrics_improve():
    sm = make_movie(n_frames=300, shape=(128, 128), n_neurons=25, motion="rigid", max_shift=4.0, seed=3)
    result = estimate_motion(sm.movie, MotionParams(template_frames=150))
    assert rmse(result.shifts, sm.shifts) <= 0.05
    m = result.metrics
    assert m["corr_after"].mean() > m["corr_before"].mean() + 0.05
    assert m["crispness_after"] > 1.2 * m["crispness_before"]
    assert m["residual_rms"] < 0.1
    # Motion is visible along the leading principal components before and gone after.
    assert np.nanmax(m["pc_shift_before"]) > 1.0
    assert np.nanmax(m["pc_shift_after"]) < 0.3
    assert not m["bad_frames"].any()


def test_corrected_movie_aligns_frames_with_the_template():
    rng = np.random.default_rng(2)
    truth = rng.uniform(-3, 3, (40, 2))
    movie = textured_movie(truth, noise=0.0)
    result = estimate_motion(movie, MotionParams(template_frames=40))
    view = CorrectedMovie(movie, result)
    assert view.shape == movie.shape and len(view) == 40 and view.dtype == np.float32
    inner = (slice(8, -8), slice(8, -8))
    aligned = view[0:40]
    # Every corrected frame matches every other in the interior (the texture is static).
    spread = aligned[:, inner[0], inner[1]].std(axis=0).mean()
    raw_spread = movie[:, inner[0], inner[1]].std(axis=0).mean()
    assert spread < 0.1 * raw_spread
    # All reading forms agree with each other.
    np.testing.assert_array_equal(view[5], aligned[5])
    np.testing.assert_array_equal(view[-1], aligned[-1])
    np.testing.assert_array_equal(view[[7, 3, 7]], aligned[[7, 3, 7]])
    np.testing.assert_array_equal(view[2:20:6], aligned[2:20:6])
    chunks = list(view.iter_chunks(16))
    assert [s for s, _ in chunks] == [0, 16, 32]
    np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), aligned)
    with pytest.raises(IndexError):
        view[40]


def test_apply_shifts_integer_shift_is_exact_and_edges_are_held():
    img = np.arange(48, dtype=np.float32).reshape(6, 8)
    out = apply_shifts(img, [1, -2])
    # J(r, c) = I(r - 1, c + 2), the nearest edge pixel where that falls outside.
    rows = np.clip(np.arange(6) - 1, 0, 5)
    cols = np.clip(np.arange(8) + 2, 0, 7)
    np.testing.assert_array_equal(out, img[rows][:, cols])


@pytest.mark.parametrize("order", [1, 3])
def test_subpixel_shift_matches_fourier_shift_of_a_smooth_image(order):
    rng = np.random.default_rng(4)
    img = ndimage.gaussian_filter(rng.standard_normal((64, 64)), 4.0, mode="wrap").astype(np.float32)
    shift = (0.4, -1.3)
    exact = np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(img), shift)).real
    out = apply_shifts(img, shift, order=order)
    err = np.abs(out - exact)[4:-4, 4:-4].max() / np.abs(img).max()
    assert err < (0.01 if order == 3 else 0.05)


def test_shifts_beyond_max_shift_are_clamped_and_counted():
    truth = np.zeros((30, 2))
    truth[10:15] = [6.0, -1.0]  # five frames move further than allowed
    movie = textured_movie(truth, noise=0.01)
    result = estimate_motion(movie, MotionParams(max_shift=3.0, template_frames=30))
    assert result.clamped == 5
    np.testing.assert_array_equal(np.flatnonzero(result.metrics["clamped_frames"]), np.arange(10, 15))
    assert np.abs(result.shifts).max() <= 3.0 + 1e-6
    np.testing.assert_allclose(result.shifts[10:15, 0], 3.0, atol=1e-6)
    # The unclamped frames are still right.
    np.testing.assert_allclose(result.shifts[:10], 0.0, atol=0.05)


def test_highpass_registration_handles_strong_uneven_illumination():
    rng = np.random.default_rng(5)
    truth = rng.uniform(-2, 2, (40, 2))
    movie = textured_movie(truth, noise=0.02)
    rows = np.linspace(-1, 1, movie.shape[1])[:, None]
    # A static illumination gradient (does not move with the tissue), 20x the texture's contrast.
    movie = movie + np.float32(200) * (rows + 1)
    # The high-pass is on by default now: compare with it switched off.
    plain = estimate_motion(movie, MotionParams(template_frames=40, highpass_sigma=0.0, pc_metric=False))
    filtered = estimate_motion(movie, MotionParams(template_frames=40, highpass_sigma=4.0, pc_metric=False))
    assert rmse(filtered.shifts, truth) < 0.05
    assert rmse(filtered.shifts, truth) <= rmse(plain.shifts, truth) + 1e-3

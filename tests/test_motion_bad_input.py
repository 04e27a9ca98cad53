"""Motion correction on awkward input: short movies, constant and NaN frames, cancellation."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.motion import CorrectedMovie, estimate_motion
from cnmf_gui.errors import Cancelled, UserError
from cnmf_gui.params import MotionParams
from cnmf_gui.progress import CallbackProgress

from tests.test_motion_rigid import rmse, textured_movie


class SliceOnly:
    """A movie that only promises ``.shape`` and ``movie[a:b]`` (the engine's contract)."""

    def __init__(self, data):
        self._data = data
        self.shape = data.shape
        self.reads = []

    def __getitem__(self, key):
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("only contiguous slices")
        self.reads.append((key.start, key.stop))
        return self._data[key]


# Undefined (NaN) when the sample is too small to measure the noise (fewer than 4 frames), the
# movie too short for principal components, for frames without content (location_sd) or with
# single frames (template_trusted_fraction).
MAYBE_UNKNOWN = ("pc_shift", "peak_snr", "noise_sigma", "predicted_precision", "location_sd",
                 "template_trusted_fraction")


def finite_metrics(result):
    for name, value in result.metrics.items():
        assert np.all(np.isfinite(np.asarray(value, float))) or name.startswith(MAYBE_UNKNOWN), name


def test_empty_movie_is_a_clear_error():
    with pytest.raises(UserError, match="at least 1 frame"):
        estimate_motion(np.zeros((0, 32, 32), np.float32))
    with pytest.raises(UserError, match=r"shape \(T, H, W\)"):
        estimate_motion(np.zeros((32, 32), np.float32))


def test_single_frame_and_movies_shorter_than_the_template_work():
    one = textured_movie([[0.0, 0.0]])
    result = estimate_motion(one)
    np.testing.assert_allclose(result.shifts, 0.0, atol=1e-6)
    assert result.template.shape == one.shape[1:]
    finite_metrics(result)
    truth = np.array([[0, 0], [1.5, -0.5], [-1.0, 2.0]])
    short = textured_movie(truth, noise=0.0)
    result = estimate_motion(short, MotionParams(template_frames=200))
    assert rmse(result.shifts, truth) < 0.05
    assert np.all(np.isnan(result.metrics["pc_shift_after"][2:]))  # too few frames for a 3rd PC


def test_constant_frames_give_finite_numbers_and_are_flagged():
    rng = np.random.default_rng(0)
    truth = rng.uniform(-2, 2, (30, 2))
    movie = textured_movie(truth)
    movie[[4, 5, 20]] = 7.0
    result = estimate_motion(movie, MotionParams(template_frames=30))
    assert np.all(np.isfinite(result.shifts))
    finite_metrics(result)
    m = result.metrics
    assert m["corr_after"][[4, 5, 20]].tolist() == [0.0, 0.0, 0.0]
    assert set(np.flatnonzero(m["bad_frames"])) == {4, 5, 20}
    good = np.setdiff1d(np.arange(30), [4, 5, 20])
    assert rmse(result.shifts[good], truth[good]) < 0.05
    # A movie that is constant throughout: no motion, no crash.
    flat = estimate_motion(np.full((6, 32, 32), 3.0, np.float32))
    np.testing.assert_array_equal(flat.shifts, 0.0)
    assert flat.metrics["bad_frames"].all()
    finite_metrics(flat)


def test_nan_frames_are_ignored_interpolated_and_flagged():
    rng = np.random.default_rng(1)
    truth = np.cumsum(rng.normal(0, 0.3, (40, 2)), axis=0)
    movie = textured_movie(truth)
    movie[10] = np.nan                       # a dropped frame
    movie[25, :5, :] = np.nan                # a frame with a few bad lines
    result = estimate_motion(movie, MotionParams(template_frames=40))
    m = result.metrics
    assert np.isfinite(result.template).all()
    assert np.all(np.isfinite(result.shifts))
    np.testing.assert_allclose(result.shifts[10], (result.shifts[9] + result.shifts[11]) / 2, atol=1e-5)
    assert m["unusable_frames"].tolist() == [i == 10 for i in range(40)]
    assert np.flatnonzero(m["nonfinite_frames"]).tolist() == [10, 25]
    assert m["bad_frames"][10]
    good = np.setdiff1d(np.arange(40), [10])
    assert rmse(result.shifts[good], truth[good]) < 0.05
    finite_metrics(result)
    # The corrected view keeps the recording's NaNs where they were and nowhere else.
    view = CorrectedMovie(movie, result)
    assert np.isnan(view[10]).all()
    assert np.isfinite(view[11]).all()


def test_integer_movie_through_slicing_only_is_read_in_chunks():
    rng = np.random.default_rng(2)
    truth = rng.uniform(-3, 3, (50, 2))
    data = np.round(textured_movie(truth) * 10).astype(np.int16)
    movie = SliceOnly(data)
    result = estimate_motion(movie, MotionParams(chunk_frames=16, template_frames=25))
    assert rmse(result.shifts, truth) < 0.05
    pass_reads = [r for r in movie.reads if r[1] - r[0] > 1 or r in [(0, 16)]]
    assert (0, 16) in pass_reads and (48, 50) in movie.reads
    assert max(b - a for a, b in movie.reads) <= 25  # never the whole movie at once


def test_progress_reaches_one_and_cancel_stops_the_run():
    movie = textured_movie(np.zeros((40, 2)))
    seen = []
    estimate_motion(movie, MotionParams(chunk_frames=10, template_frames=10),
                    progress=CallbackProgress(lambda f, msg: seen.append((f, msg))))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(msg.startswith("motion") for _, msg in seen)

    progress = CallbackProgress(lambda f, msg: progress.cancel() if f > 0.3 else None)
    with pytest.raises(Cancelled):
        estimate_motion(movie, MotionParams(chunk_frames=10, template_frames=10), progress=progress)


def test_parameters_as_dict_and_unknown_keys():
    movie = textured_movie(np.zeros((4, 2)))
    result = estimate_motion(movie, {"max_shift": 2.0, "interpolation": "linear"})
    assert result.metrics["interpolation_order"] == 1.0
    with pytest.raises(UserError, match="unknown parameter motion.bogus"):
        estimate_motion(movie, {"bogus": 1})

"""The template's sample held compactly: the same template as from a float32 stack, in less memory."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.motion.sample import FrameStack, aligned_images, aligned_mean, compact_sample, mean_image
from cnmf_gui.engine.motion.template import build_template
from cnmf_gui.engine.motion.warp import shift_frames
from cnmf_gui.params import MotionParams
from cnmf_gui.synthetic import make_movie

from tests.motion_scenes import resampled_movie


def _as_counts(movie: np.ndarray) -> np.ndarray:
    """A movie rounded to non-negative integers (as a camera's uint16 frames are)."""
    return np.clip(np.round(movie - movie.min() + 10.0), 0, 65535).astype(np.uint16)


def test_frame_stack_reads_float32_copies_of_its_images():
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 4000, (9, 6, 7)).astype(np.uint16)
    view = FrameStack(stack).subset([1, 2, 3, 7])
    assert view.shape == (4, 6, 7) and len(view) == 4
    np.testing.assert_array_equal(view[1:3], stack[2:4].astype(np.float32))       # a run
    np.testing.assert_array_equal(view[[0, 3]], stack[[1, 7]].astype(np.float32))  # scattered
    assert view[2].dtype == np.float32 and view[2].shape == (6, 7)
    np.testing.assert_array_equal(view.subset([3, 0])[0], stack[7])
    view[0][:] = -1          # a copy: the stack itself never changes
    assert stack.min() >= 0


def test_compact_sample_keeps_small_integers_and_cleans_floats():
    rng = np.random.default_rng(1)
    raw = rng.integers(100, 200, (5, 8, 8)).astype(np.uint16)
    raw[3] = 150                                  # constant: unusable
    stack, unusable = compact_sample(raw)
    assert stack is raw
    np.testing.assert_array_equal(unusable, [False, False, False, True, False])
    flt = raw.astype(np.float32)
    flt[1, 2, 2] = np.nan
    flt[4] = np.nan
    stack, unusable = compact_sample(flt)
    assert stack.dtype == np.float32 and np.isfinite(stack).all()
    np.testing.assert_array_equal(unusable, [False, False, False, True, True])
    wide = raw.astype(np.int32) * 1000            # not all exact in float32 any more: converted
    assert compact_sample(wide)[0].dtype == np.float32


def test_means_and_aligned_images_match_the_whole_stack_computations():
    rng = np.random.default_rng(2)
    flt = rng.normal(100.0, 10.0, (23, 20, 24)).astype(np.float32)
    idx = np.array([0, 3, 4, 5, 11, 12, 20, 22])
    np.testing.assert_array_equal(mean_image(FrameStack(flt), idx), flt[idx].mean(axis=0))
    moved = rng.uniform(-3, 3, (23, 2))
    whole = shift_frames(flt, moved, order=3)
    np.testing.assert_array_equal(aligned_images(FrameStack(flt), idx, moved, 3), whole[idx])
    ref = (whole[idx].astype(np.float64).sum(axis=0) / len(idx)).astype(np.float32)
    np.testing.assert_allclose(aligned_mean(FrameStack(flt), idx, moved, 3, n_workers=2), ref, rtol=1e-6)
    np.testing.assert_array_equal(aligned_images(FrameStack(flt), idx, None, 3), flt[idx])


@pytest.mark.parametrize("case", ["single frames", "bins"])
def test_template_from_a_uint16_movie_equals_that_from_its_float32_copy(case):
    if case == "single frames":
        movie, _ = resampled_movie(n_frames=120, seed=4)
        params = MotionParams(template_frames=60, pc_metric=False)
    else:
        # read noise 5x the spike size: the template is built from means of bins of frames
        movie = make_movie(n_frames=240, shape=(64, 64), n_neurons=10, motion="rigid", max_shift=3.0,
                           seed=3, noise=5.0).movie
        params = MotionParams(template_frames=100, pc_metric=False)
    counts = _as_counts(movie)
    a = build_template(counts, params, n_workers=2)
    b = build_template(counts.astype(np.float32), params, n_workers=2)
    assert (a.temporal_bin > 1) == (case == "bins")
    assert a.temporal_bin == b.temporal_bin
    np.testing.assert_array_equal(a.template, b.template)
    np.testing.assert_array_equal(a.shifts, b.shifts)
    np.testing.assert_array_equal(a.sample, b.sample)
    if case == "bins":
        np.testing.assert_array_equal(a.member_images, b.member_images)

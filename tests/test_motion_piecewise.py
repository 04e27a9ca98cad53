"""Piecewise-rigid registration: a smooth non-rigid field is recovered patch-wise."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.motion import CorrectedMovie, apply_shifts, estimate_motion
from cnmf_gui.engine.motion.piecewise import make_patch_grid
from cnmf_gui.engine.motion.warp import shift_field
from cnmf_gui.errors import ParameterError
from cnmf_gui.params import MotionParams
from cnmf_gui.synthetic import make_movie


@pytest.fixture(scope="module")
def nonrigid():
    sm = make_movie(n_frames=240, shape=(128, 128), n_neurons=30, motion="nonrigid", max_shift=3.0,
                    deformation=1.5, seed=4)
    rigid = estimate_motion(sm.movie, MotionParams(template_frames=120, pc_metric=False))
    pw = estimate_motion(sm.movie, MotionParams(template_frames=120, pw_rigid=True, pc_metric=False))
    return sm, rigid, pw


def patch_truth(field, grid):
    """The true correction averaged over each patch: (T, gy, gx, 2)."""
    ps = grid.size
    return np.stack([np.stack([field[:, a:a + ps, b:b + ps].mean(axis=(1, 2)) for b in grid.col_starts], axis=1)
                     for a in grid.row_starts], axis=1)


def fluctuation_rmse(error):
    """RMS of an error after removing its time average at each location (the template's own
    position is the time average of the motion, so only fluctuations are defined)."""
    e = np.asarray(error, float)
    e = e - e.mean(axis=0)
    return float(np.sqrt((e ** 2).sum(axis=-1).mean()))


def test_patch_grid_covers_the_frame_and_rejects_oversized_patches():
    g = make_patch_grid((100, 130), 48, 16)
    assert g.row_starts[0] == 0 and g.row_starts[-1] + 48 == 100
    assert g.col_starts[0] == 0 and g.col_starts[-1] + 48 == 130
    assert g.centers.shape == (len(g.row_starts), len(g.col_starts), 2)
    np.testing.assert_allclose(g.centers[0, 0], [23.5, 23.5])
    with pytest.raises(ParameterError, match="motion.patch_size"):
        make_patch_grid((100, 40), 48, 16)


def test_nonrigid_field_recovered_patch_wise(nonrigid):
    sm, rigid, pw = nonrigid
    T, H, W = sm.movie.shape
    assert pw.shifts_pw.shape == (T, 3, 3, 2) and pw.patch_centers.shape == (3, 3, 2)
    p = MotionParams()
    grid = make_patch_grid((H, W), p.patch_size, p.patch_overlap)
    truth = patch_truth(sm.shift_field, grid)
    patch_err = fluctuation_rmse(pw.shifts_pw - truth)
    rigid_err = fluctuation_rmse(rigid.shifts[:, None, None, :] - truth)
    assert patch_err <= 0.25
    assert patch_err < 0.5 * rigid_err
    # Patch shifts stay within max_deviation_rigid of the frame's rigid shift.
    dev = np.abs(pw.shifts_pw - pw.shifts[:, None, None, :])
    assert dev.max() <= MotionParams().max_deviation_rigid + 1e-5


def test_dense_field_closer_to_truth_than_rigid_and_metrics_improve(nonrigid):
    sm, rigid, pw = nonrigid
    T, H, W = sm.movie.shape
    inner = (slice(None), slice(10, -10), slice(10, -10))
    truth = sm.shift_field[inner]
    field = np.stack([shift_field(pw.shifts_pw[t], pw.patch_centers, (H, W)) for t in range(T)])[inner]
    rigid_field = np.broadcast_to(rigid.shifts[:, None, None, :], truth.shape)
    assert fluctuation_rmse(field - truth) < 0.6 * fluctuation_rmse(rigid_field - truth)
    assert pw.metrics["corr_after"].mean() > rigid.metrics["corr_after"].mean()
    assert pw.metrics["crispness_after"] > rigid.metrics["crispness_after"]
    assert pw.metrics["residual_pw_rms"] < 0.3


def test_corrected_view_uses_the_piecewise_field(nonrigid):
    sm, _, pw = nonrigid
    view = CorrectedMovie(sm.movie, pw)
    frames = view[[0, 17, 100]]
    expected = apply_shifts(sm.movie[[0, 17, 100]], None, shifts_pw=pw.shifts_pw[[0, 17, 100]],
                            patch_centers=pw.patch_centers)
    np.testing.assert_array_equal(frames, expected)


def test_constant_patch_shifts_equal_a_rigid_shift():
    rng = np.random.default_rng(0)
    frames = rng.standard_normal((3, 40, 50)).astype(np.float32)
    shifts = np.array([[0.3, -1.2], [2.0, 0.5], [-0.7, 0.0]])
    centers = make_patch_grid((40, 50), 16, 8).centers
    grids = np.broadcast_to(shifts[:, None, None, :], (3,) + centers.shape[:2] + (2,))
    np.testing.assert_allclose(apply_shifts(frames, None, shifts_pw=grids, patch_centers=centers),
                               apply_shifts(frames, shifts), atol=1e-5)


def test_patch_size_larger_than_frame_is_a_clear_parameter_error():
    movie = np.random.default_rng(0).standard_normal((5, 40, 40)).astype(np.float32)
    with pytest.raises(ParameterError, match=r"motion\.patch_size = 64 .*larger than the frame \(40 x 40"):
        estimate_motion(movie, MotionParams(pw_rigid=True, patch_size=64, patch_overlap=16))

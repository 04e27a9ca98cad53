"""Writing corrected movies: HDF5 and TIFF round trips, motion results, atomic on cancel."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import tifffile

from cnmf_gui.engine.motion import CorrectedMovie, estimate_motion
from cnmf_gui.errors import Cancelled, InputFileError, UserError
from cnmf_gui.io.writers import motion_sidecar, read_motion, write_corrected, write_motion
from cnmf_gui.params import MotionParams
from cnmf_gui.progress import CallbackProgress

from tests.test_motion_rigid import textured_movie


@pytest.fixture(scope="module")
def corrected():
    rng = np.random.default_rng(0)
    movie = textured_movie(rng.uniform(-2, 2, (30, 2)), shape=(48, 64))
    result = estimate_motion(movie, MotionParams(pw_rigid=True, patch_size=32, patch_overlap=16))
    return movie, result


def test_hdf5_round_trip_with_motion_group(tmp_path, corrected):
    movie, result = corrected
    out = write_corrected(movie, result, tmp_path / "c.h5", chunk_frames=7)
    expected = CorrectedMovie(movie, result)[:]
    with h5py.File(out, "r") as fh:
        ds = fh["mov"]
        assert ds.dtype == np.float32 and ds.shape == movie.shape
        assert ds.chunks[1:] == movie.shape[1:]  # chunked by whole frames
        assert ds.attrs["motion"] == "piecewise-rigid"
        np.testing.assert_array_equal(ds[()], expected)
    back = read_motion(out)
    np.testing.assert_array_equal(back.shifts, result.shifts)
    np.testing.assert_array_equal(back.shifts_pw, result.shifts_pw)
    np.testing.assert_array_equal(back.template, result.template)
    assert back.clamped == result.clamped
    assert set(back.metrics) == set(result.metrics)
    np.testing.assert_array_equal(back.metrics["bad_frames"], result.metrics["bad_frames"])
    assert back.metrics["crispness_after"] == pytest.approx(result.metrics["crispness_after"])


def test_tiff_round_trip_and_sidecar(tmp_path, corrected):
    movie, result = corrected
    out = write_corrected(movie, result, tmp_path / "c.tif", chunk_frames=8)
    np.testing.assert_array_equal(tifffile.imread(out), CorrectedMovie(movie, result)[:])
    side = write_motion(result, motion_sidecar(out))
    assert side.name == "c.motion.h5"
    np.testing.assert_array_equal(read_motion(side).shifts, result.shifts)


def test_cancel_leaves_no_file_and_keeps_an_existing_one(tmp_path, corrected):
    movie, result = corrected
    target = tmp_path / "c.h5"
    target.write_bytes(b"precious")
    progress = CallbackProgress(lambda f, m: progress.cancel() if f > 0.2 else None)
    with pytest.raises(Cancelled):
        write_corrected(movie, result, target, progress=progress, chunk_frames=5)
    assert target.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["c.h5"]


def test_bad_output_name_and_unreadable_motion_file(tmp_path, corrected):
    movie, result = corrected
    with pytest.raises(UserError, match=r"c\.avi.*expected a \.h5"):
        write_corrected(movie, result, tmp_path / "c.avi")
    (tmp_path / "empty.h5").write_bytes(b"not hdf5")
    with pytest.raises(InputFileError, match="empty.h5"):
        read_motion(tmp_path / "empty.h5")
    with h5py.File(tmp_path / "nomotion.h5", "w") as fh:
        fh["x"] = 1
    with pytest.raises(InputFileError, match="no /motion group"):
        read_motion(tmp_path / "nomotion.h5")

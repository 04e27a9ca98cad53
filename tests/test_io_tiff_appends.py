"""TIFF layouts that were misread (issue 12, also found): a movie written in several appends
read as "several time axes", and a width-1 movie (T x H x 1) read transposed as 1 x T x H."""

import numpy as np
import tifffile

from cnmf_gui.io import open_movie

MOVIE = np.random.default_rng(5).random((25, 12, 9)).astype(np.float32)


def test_movie_written_in_several_appends_reads_as_one_time_axis(tmp_path):
    path = tmp_path / "appended.tif"
    for start, stop in ((0, 10), (10, 20), (20, 25)):  # the last write is shorter
        tifffile.imwrite(path, MOVIE[start:stop], append=True)
    with open_movie(str(path)) as movie:
        assert movie.shape == (25, 12, 9)
        np.testing.assert_array_equal(movie[:], MOVIE)
        np.testing.assert_array_equal(movie[[3, 12, 24]], MOVIE[[3, 12, 24]])


def test_equal_appends_read_in_order(tmp_path):
    path = tmp_path / "appended.tif"
    for start in range(0, 25, 5):
        tifffile.imwrite(path, MOVIE[start:start + 5], append=True)
    with open_movie(str(path)) as movie:
        assert movie.shape == (25, 12, 9)
        np.testing.assert_array_equal(movie[:], MOVIE)


def test_width_one_movie_keeps_its_axes(tmp_path):
    path = tmp_path / "column.tif"
    tifffile.imwrite(path, MOVIE[:, :, :1])
    with open_movie(str(path)) as movie:
        assert movie.shape == (25, 12, 1)
        np.testing.assert_array_equal(movie[:], MOVIE[:, :, :1])
    path = tmp_path / "row.tif"
    tifffile.imwrite(path, MOVIE[:, :1, :])
    with open_movie(str(path)) as movie:
        assert movie.shape == (25, 1, 9)

"""Every real recording in ../shared/data opens with the right shape and values.

Values are compared with tifffile / h5py / NumPy reading the whole file.
"""

from __future__ import annotations

import warnings

import h5py
import numpy as np
import pytest
import tifffile

from cnmf_gui.io import open_movie
from tests.conftest import data_file

pytestmark = pytest.mark.realdata


def test_real_mouse2p_compressed_tiff():
    path = data_file("mouse2p/mouse2p_2000x128x128.tiff")
    truth = tifffile.imread(path)
    with open_movie(path) as movie:
        assert (movie.shape, movie.dtype) == ((2000, 128, 128), np.uint16)
        assert "decoded on demand" in movie.details["storage"]
        np.testing.assert_array_equal(movie[:], truth)
        np.testing.assert_array_equal(movie[[1999, 0, 1000]], truth[[1999, 0, 1000]])


def test_real_mouse2p_hdf5_matches_the_tiff():
    h5 = data_file("mouse2p/mouse2p_first500.h5")
    tif = data_file("mouse2p/mouse2p_2000x128x128.tiff")
    with h5py.File(h5, "r") as f:
        truth = f["data/image"][()]
    with open_movie(h5) as movie, open_movie(tif) as full:
        assert movie.shape == (500, 128, 128)
        np.testing.assert_array_equal(movie[:], truth)
        np.testing.assert_array_equal(movie[:], full[:500])


def test_real_sima_tiff_and_hdf5_agree():
    tif = data_file("small/sima/example.tif")
    h5 = data_file("small/sima/example.h5")
    truth = tifffile.imread(tif)
    with h5py.File(h5, "r") as f:
        stored = f["imaging"][()]
    assert stored.shape == (128, 256, 20)
    with open_movie(tif) as movie:
        assert movie.shape == (20, 128, 256)
        np.testing.assert_array_equal(movie[:], truth)
    with open_movie(h5, axes="hwt") as movie:
        assert movie.shape == (20, 128, 256)
        np.testing.assert_array_equal(movie[:], np.transpose(stored, (2, 0, 1)))


def test_real_sima_three_file_series_quietly(caplog):
    folder = data_file("small/sima/example-tiffs")
    files = [folder / f"{i}.tif" for i in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with caplog.at_level("WARNING"):
            movie = open_movie(folder)
    assert not [r for r in caplog.records if r.name.startswith("tifffile")]
    with movie:
        assert movie.shape == (3, 173, 173)
        with caplog.at_level("WARNING"):
            truth = np.stack([tifffile.imread(f) for f in files])
        np.testing.assert_array_equal(movie[:], truth)


@pytest.mark.parametrize("relative, dataset", [
    ("small/allen/movie_100x100x100.h5", "data"),
    ("small/allen/792757260_test_data.h5", "input_frames"),
])
def test_real_allen_hdf5(relative, dataset):
    path = data_file(relative)
    with h5py.File(path, "r") as f:
        truth = f[dataset][()]
    with open_movie(path) as movie:
        assert movie.shape == (100, 100, 100) and movie.dtype == np.int16
        np.testing.assert_array_equal(movie[:], truth)


def test_real_thunder_npy():
    path = data_file("small/thunder/thunder_mouse_500x64x64_int16.npy")
    with open_movie(path) as movie:
        assert movie.shape == (500, 64, 64)
        np.testing.assert_array_equal(movie[:], np.load(path))

"""Bad movie files: each gives one clear line (InputFileError or ParameterError), never a traceback."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
import tifffile

from cnmf_gui.errors import InputFileError, ParameterError
from cnmf_gui.io import open_movie


def _frames(T=20, H=16, W=12, dtype=np.uint16, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3000, size=(T, H, W)).astype(dtype)


def _fails(exc_type, match, *args, **kwargs):
    """Open must fail with ``exc_type``, a message matching ``match``, on one line."""
    with pytest.raises(exc_type, match=match) as info:
        movie = open_movie(*args, **kwargs)
        movie[:]  # errors found only while reading count too
    assert "\n" not in str(info.value)
    return str(info.value)


def _cut(src, dst, fraction):
    data = open(src, "rb").read()
    with open(dst, "wb") as fh:
        fh.write(data[:int(len(data) * fraction)])
    return dst


def test_missing_file(tmp_path):
    msg = _fails(InputFileError, "not found", tmp_path / "nope.tif")
    assert "nope.tif" in msg


def test_unknown_extension_with_a_hint_when_the_content_is_known(tmp_path):
    (tmp_path / "movie.avi").write_bytes(b"RIFF....AVI ")
    _fails(InputFileError, r"unknown movie format \.avi", tmp_path / "movie.avi")
    tifffile.imwrite(tmp_path / "movie.dat", _frames(), photometric="minisblack")
    _fails(InputFileError, "looks like TIFF: pass format='tiff'", tmp_path / "movie.dat")
    with open_movie(tmp_path / "movie.dat", format="tiff") as movie:
        assert movie.shape == (20, 16, 12)


def test_wrong_content_for_the_extension(tmp_path):
    np.save(tmp_path / "a.npy", _frames())
    os.rename(tmp_path / "a.npy", tmp_path / "a.tif")
    _fails(InputFileError, r"not a valid TIFF file \(it is NPY\)", tmp_path / "a.tif")
    (tmp_path / "empty.tif").write_bytes(b"")
    _fails(InputFileError, r"empty \(0 bytes\)", tmp_path / "empty.tif")
    (tmp_path / "junk.tif").write_bytes(np.random.default_rng(0).bytes(500))
    _fails(InputFileError, "not a valid TIFF", tmp_path / "junk.tif")


@pytest.mark.parametrize("kind", ["contiguous", "zlib", "imagej", "pages"])
@pytest.mark.parametrize("fraction", [0.02, 0.5, 0.97])
def test_truncated_tiff(tmp_path, kind, fraction):
    frames = _frames()
    src = tmp_path / "full.tif"
    if kind == "pages":
        with tifffile.TiffWriter(src) as tw:
            for f in frames:
                tw.write(f, contiguous=False, description="frame", metadata=None)
    else:
        options = {"contiguous": {}, "zlib": {"compression": "zlib"}, "imagej": {"imagej": True}}[kind]
        tifffile.imwrite(src, frames, photometric="minisblack", **options)
    cut = _cut(src, tmp_path / "cut.tif", fraction)
    msg = _fails(InputFileError, "truncated or corrupt|truncated", cut)
    assert "cut.tif" in msg


def test_corrupt_compressed_page_fails_when_read(tmp_path):
    frames = _frames()
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, frames, compression="zlib", photometric="minisblack")
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[5].dataoffsets[0]
    data = bytearray(path.read_bytes())
    data[offset:offset + 8] = b"\xff" * 8  # breaks the zlib stream header of page 5 only
    path.write_bytes(bytes(data))
    with open_movie(path) as movie:
        np.testing.assert_array_equal(movie[4], frames[4])
        with pytest.raises(InputFileError, match="cannot decode page 5 of .*z.tif"):
            movie[3:8]


def test_hdf5_without_a_3d_dataset_lists_what_it_has(tmp_path):
    path = tmp_path / "flat.h5"
    with h5py.File(path, "w") as f:
        f["image"] = np.zeros((5, 5))
        f["trace"] = np.zeros(10)
    msg = _fails(InputFileError, "no 3-D", path)
    assert "/image (5, 5)" in msg and "/trace (10,)" in msg


def test_hdf5_with_several_3d_datasets_says_how_to_pick(tmp_path):
    path = tmp_path / "two.h5"
    with h5py.File(path, "w") as f:
        f["raw"] = _frames()
        f["g/corrected"] = _frames(seed=2)
    msg = _fails(InputFileError, "several 3-D datasets", path)
    assert "/raw (20, 16, 12)" in msg and "/g/corrected" in msg and "dataset=" in msg
    with open_movie(path, dataset="g/corrected") as movie:
        np.testing.assert_array_equal(movie[:], _frames(seed=2))
    _fails(InputFileError, "no dataset 'missing'", path, dataset="missing")


def test_truncated_or_fake_hdf5(tmp_path):
    src = tmp_path / "full.h5"
    with h5py.File(src, "w") as f:
        f["movie"] = _frames()
    _fails(InputFileError, "cannot open .*cut.h5 as HDF5|truncated", _cut(src, tmp_path / "cut.h5", 0.3))
    (tmp_path / "fake.h5").write_text("not hdf5")
    _fails(InputFileError, "not a valid HDF5", tmp_path / "fake.h5")


def test_truncated_npy(tmp_path):
    src = tmp_path / "full.npy"
    np.save(src, _frames())
    _fails(InputFileError, "cut.npy", _cut(src, tmp_path / "cut.npy", 0.6))


@pytest.mark.parametrize("fmt", ["tif", "npy", "h5"])
def test_single_image_is_not_a_movie(tmp_path, fmt):
    image = _frames()[0]
    path = tmp_path / f"image.{fmt}"
    if fmt == "tif":
        tifffile.imwrite(path, image)
    elif fmt == "npy":
        np.save(path, image)
    else:
        with h5py.File(path, "w") as f:
            f["image"] = image
    kwargs = {"dataset": "image"} if fmt == "h5" else {}
    _fails(InputFileError, "single 16 x 12 image, not a movie", path, **kwargs)


def test_four_d_tiff_asks_for_a_plane(tmp_path):
    path = tmp_path / "tz.tif"
    tifffile.imwrite(path, np.stack([_frames()] * 3, axis=1), imagej=True, metadata={"axes": "TZYX"})
    _fails(InputFileError, r"pick one of its 3 planes with plane=N \(0 to 2", path)
    _fails(ParameterError, "plane=3 is out of range", path, plane=3)
    _fails(ParameterError, "channel=0 given but .* has no channels", path, plane=0, channel=0)


@pytest.mark.parametrize("fmt", ["npy", "h5"])
def test_four_d_array_asks_for_axes(tmp_path, fmt):
    data = np.stack([_frames()] * 2, axis=1)
    path = tmp_path / f"v.{fmt}"
    if fmt == "npy":
        np.save(path, data)
    else:
        with h5py.File(path, "w") as f:
            f["v"] = data
    _fails(InputFileError, "4-D data .*axes=.*plane=N", path)
    _fails(InputFileError, r"pick one of its 2 channels with channel=N", path, axes="tchw")
    with open_movie(path, axes="tchw", channel=1) as movie:
        assert movie.shape == (20, 16, 12)


@pytest.mark.parametrize("axes, match", [
    ("tht", "must name t, h and w exactly once"),
    ("tw", "has 2 letters but"),
    ("tqw", "unknown letter"),
    ("thh", "must name t, h and w exactly once"),
    (3, "must be a string"),
])
def test_bad_axes_option(tmp_path, axes, match):
    path = tmp_path / "m.npy"
    np.save(path, _frames())
    _fails(ParameterError, match, path, axes=axes)


def test_options_that_do_not_apply(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, _frames())
    _fails(ParameterError, "dataset applies to HDF5 and NWB files only", path, dataset="x")
    _fails(ParameterError, "plane=0 given but .* has no planes", path, plane=0)
    _fails(ParameterError, "frame_rate must be a positive number", path, frame_rate=-3)
    _fails(ParameterError, "format must be one of", path, format="avi")


@pytest.mark.parametrize("fmt", ["npy", "h5"])
def test_empty_movie(tmp_path, fmt):
    path = tmp_path / f"empty.{fmt}"
    data = np.zeros((0, 16, 12), np.uint16)
    if fmt == "npy":
        np.save(path, data)
    else:
        with h5py.File(path, "w") as f:
            f["movie"] = data
    _fails(InputFileError, r"empty movie \(0 x 16 x 12\)", path)


def test_float_movie_with_nan_and_inf_reports_count_and_frames(tmp_path):
    data = _frames().astype(np.float32)
    data[2, 0, 0] = np.nan
    data[2, 5, 5] = np.nan
    data[11, 3, 3] = np.inf
    path = tmp_path / "nan.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("movie", data=data, chunks=(4, 16, 12))
    with open_movie(path) as movie:
        with pytest.raises(InputFileError, match=r"3 NaN or infinite value\(s\) in 2 frame\(s\) \(first: 2, 11\)"):
            movie.check_finite()


def test_series_problems(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    _fails(InputFileError, "holds no TIFF files", empty)
    _fails(InputFileError, "no files match", str(tmp_path / "none_*.tif"))
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    tifffile.imwrite(mixed / "1.tif", _frames()[0])
    tifffile.imwrite(mixed / "2.tif", _frames(H=8)[0])
    _fails(InputFileError, r"2.tif holds 8 x 12 uint16 frames but .*1.tif holds 16 x 12", mixed)
    _fails(InputFileError, "must be TIFF files", [mixed / "1.tif", tmp_path / "x.npy"])
    _fails(InputFileError, "empty list", [])


def test_series_file_that_differs_is_caught_when_read(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    for i in range(3):
        tifffile.imwrite(folder / f"{i}.tif", _frames(T=2, seed=i), photometric="minisblack")
    # Same size on disk, other frame shape: files are assumed alike at open, checked on read.
    tifffile.imwrite(folder / "2.tif", _frames(T=2, H=12, W=16, seed=5), photometric="minisblack")
    with open_movie(folder) as movie:
        assert movie.shape == (6, 16, 12)
        np.testing.assert_array_equal(movie[:4], np.concatenate([_frames(T=2, seed=0), _frames(T=2, seed=1)]))
        with pytest.raises(InputFileError, match="2.tif holds 12 x 16 uint16 frames"):
            movie[5]

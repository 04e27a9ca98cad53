"""A memory-mapped movie whose file shrinks while it is read: one error, never SIGBUS (issue 12
item 5).

Before the guard, reading a frame past the new end of file through the memory map killed the
process with SIGBUS (exit 135, no message; the window died with it). Every memory-mapped reader
is covered: NPY, TIFF (one block and page by page), HDF5 (contiguous, chunks of one frame through
the offset table, chunks of several frames).
"""

import os
import warnings

import h5py
import numpy as np
import pytest
import tifffile

from cnmf_gui.errors import InputFileError
from cnmf_gui.io import open_movie
from cnmf_gui.io.guarded_map import MovieFileChangedWarning

FRAMES = np.random.default_rng(7).random((60, 24, 20)).astype(np.float32)


def _write(kind, path):
    if kind == "npy":
        np.save(path, FRAMES)
    elif kind == "tiff":
        tifffile.imwrite(path, FRAMES)
    elif kind == "tiff-pages":
        with tifffile.TiffWriter(path) as tw:
            for i, frame in enumerate(FRAMES):  # a description of varying length between pages
                tw.write(frame, description="x" * (i % 7), contiguous=False)
    else:
        chunks = {"h5": None, "h5-chunk1": (1, 24, 20), "h5-chunk7": (7, 24, 20)}[kind]
        with h5py.File(path, "w") as fh:
            fh.create_dataset("mov", data=FRAMES, chunks=chunks)


KINDS = {"npy": ".npy", "tiff": ".tif", "tiff-pages": ".tif", "h5": ".h5", "h5-chunk1": ".h5",
         "h5-chunk7": ".h5"}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_shrunk_file_is_one_error_and_the_rest_still_reads(tmp_path, kind):
    path = tmp_path / f"m{KINDS[kind]}"
    _write(kind, path)
    with open_movie(str(path)) as movie:
        assert "memory-mapped" in movie.details["storage"]
        np.testing.assert_array_equal(movie[0:5], FRAMES[0:5])
        os.truncate(path, os.path.getsize(path) // 2)
        with pytest.raises(InputFileError, match=f"{path.name} shrank while being read") as info:
            movie[50:60]
        assert "\n" not in str(info.value)
        # Frames still in the file are read through the file API, unchanged.
        np.testing.assert_array_equal(movie[[1, 3]], FRAMES[[1, 3]])
        np.testing.assert_array_equal(movie[2], FRAMES[2])


def test_file_rewritten_in_place_warns_once_and_reads_the_new_content(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, FRAMES)
    with open_movie(str(path)) as movie:
        movie[0:2]
        np.save(path.with_name("new.npy"), FRAMES + 1)
        with open(path, "r+b") as fh:  # same size, new bytes, new mtime
            fh.write(path.with_name("new.npy").read_bytes())
        os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10 ** 9))
        with pytest.warns(MovieFileChangedWarning, match="changed on disk while being read"):
            np.testing.assert_array_equal(movie[10:12], FRAMES[10:12] + 1)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(movie[20], FRAMES[20] + 1)


def test_unchanged_file_reads_through_the_map(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, FRAMES)
    with open_movie(str(path)) as movie:
        np.testing.assert_array_equal(movie[[0, 5, 59]], FRAMES[[0, 5, 59]])
        assert not movie._array.changed


def test_reads_after_a_change_work_without_pread(tmp_path, monkeypatch):
    """Windows has no os.pread: the fallback seeks and reads."""
    monkeypatch.delattr(os, "pread")
    path = tmp_path / "m.npy"
    np.save(path, FRAMES)
    with open_movie(str(path)) as movie:
        os.truncate(path, os.path.getsize(path) // 2)
        np.testing.assert_array_equal(movie[[1, 3]], FRAMES[[1, 3]])
        with pytest.raises(InputFileError, match="shrank"):
            movie[59]

"""Lazy movie reading: every format round-trips, every real recording opens with the right values."""

from __future__ import annotations

import threading

import h5py
import numpy as np
import pytest
import tifffile

from cnmf_gui.io import Movie, open_movie
from cnmf_gui.io.hdf5_source import AxisOrderWarning
from cnmf_gui.io.movie import _maps_a_file
from cnmf_gui.io.tiff_source import scanimage_frame_rate


def _movie(T=12, H=9, W=7, dtype=np.uint16, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.normal(size=(T, H, W)).astype(dtype)
    return rng.integers(0, 4000, size=(T, H, W)).astype(dtype)


def _check_reads(movie: Movie, truth: np.ndarray):
    """Every kind of index gives what NumPy gives on the full array."""
    assert movie.shape == truth.shape
    assert len(movie) == truth.shape[0]
    assert movie.dtype == truth.dtype.newbyteorder("=")
    T = truth.shape[0]
    np.testing.assert_array_equal(movie[:], truth)
    np.testing.assert_array_equal(movie[0], truth[0])
    np.testing.assert_array_equal(movie[-1], truth[-1])
    np.testing.assert_array_equal(movie[1:T - 1], truth[1:T - 1])
    np.testing.assert_array_equal(movie[::3], truth[::3])
    np.testing.assert_array_equal(movie[::-2], truth[::-2])
    idx = [T - 1, 0, 2, 2, 1]
    np.testing.assert_array_equal(movie[idx], truth[idx])
    np.testing.assert_array_equal(movie[np.array(idx)], truth[idx])
    np.testing.assert_array_equal(movie[1:3, 2:4, 1], truth[1:3, 2:4, 1])
    assert movie[5:5].shape == (0,) + truth.shape[1:]
    chunks = list(movie.iter_chunks(5))
    assert [s for s, _ in chunks] == list(range(0, T, 5))
    np.testing.assert_array_equal(np.concatenate([c for _, c in chunks]), truth)
    out = movie[:2]
    assert type(out) is np.ndarray and out.flags.c_contiguous and out.dtype.isnative
    assert not _maps_a_file(out) and not _maps_a_file(movie[1]) and not _maps_a_file(movie[[1, 0]])
    with pytest.raises(IndexError):
        movie[T]


# -- synthetic files of every format -----------------------------------------------------------


@pytest.mark.parametrize("kwargs, storage", [
    ({}, "memory-mapped"),
    ({"bigtiff": True}, "memory-mapped"),
    ({"compression": "zlib"}, "decoded on demand"),
    ({"compression": "packbits"}, "decoded on demand"),
    ({"byteorder": ">"}, "memory-mapped"),
])
def test_tiff_round_trip(tmp_path, kwargs, storage):
    truth = _movie()
    path = tmp_path / "m.tif"
    tifffile.imwrite(path, truth, **kwargs)
    with open_movie(path) as movie:
        assert storage in movie.details["storage"]
        assert movie.format == ("bigtiff" if kwargs.get("bigtiff") else "tiff")
        assert movie.frame_rate is None
        _check_reads(movie, truth)


@pytest.mark.parametrize("uneven", [False, True])
def test_tiff_pages_with_ifds_between_frames_are_memory_mapped(tmp_path, uneven):
    # Many writers put an IFD before each frame: pages are evenly spaced, or unevenly when each
    # frame's description differs in length (ScanImage's per-frame timestamps).
    truth = _movie(T=6)
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as tw:
        for t, frame in enumerate(truth):
            text = "x" * (t * 7 if uneven else 5)
            tw.write(frame, contiguous=False, description=f"frame {text}", metadata=None)
    with open_movie(path) as movie:
        assert movie.details["storage"].startswith("memory-mapped")
        _check_reads(movie, truth)


def test_offset_table_gathers_blocks_from_anywhere_in_a_file(tmp_path):
    from cnmf_gui.io.array_source import OffsetTable

    rng = np.random.default_rng(4)
    blocks = rng.integers(0, 60000, size=(3, 2, 4, 5)).astype(">u2")  # (T, Z) blocks of 4 x 5
    offsets = np.zeros((3, 2), np.int64)
    data = bytearray(rng.bytes(13))
    for i in range(3):
        for j in range(2):
            offsets[i, j] = len(data)
            data += blocks[i, j].tobytes() + rng.bytes(int(rng.integers(1, 50)))
    path = tmp_path / "raw.bin"
    path.write_bytes(bytes(data))
    table = OffsetTable(str(path), offsets, blocks.shape, blocks.dtype)
    for key in [(slice(None),) * 4, (slice(1, 3), slice(1, 2), slice(None), slice(None)),
                (np.array([2, 0]), slice(0, 1), slice(1, 3), slice(None)), (1, 0, slice(None), 4)]:
        np.testing.assert_array_equal(table[key], blocks[key])


def test_compressed_tiff_cache_serves_repeated_reads(tmp_path):
    truth = _movie(T=30)
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, truth, compression="zlib")
    with open_movie(path) as movie:
        pages = movie._array
        for t in (3, 4, 3, 29, 3):
            np.testing.assert_array_equal(movie[t], truth[t])
        assert set(pages._cache) == {3, 4, 29}
        # A read result is a copy: writing into it must not corrupt the cache.
        frame = movie[3]
        frame[:] = 0
        np.testing.assert_array_equal(movie[3], truth[3])


def test_compressed_tiff_is_thread_safe(tmp_path):
    truth = _movie(T=40, H=32, W=32)
    path = tmp_path / "z.tif"
    tifffile.imwrite(path, truth, compression="zlib")
    errors = []
    with open_movie(path) as movie:
        def read(offset):
            for t in range(offset, 40, 3):
                if not np.array_equal(movie[t], truth[t]):
                    errors.append(t)
        threads = [threading.Thread(target=read, args=(k,)) for k in range(3)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert errors == []


def test_imagej_hyperstack_frame_rate_and_channel(tmp_path):
    truth = _movie(T=8).astype(np.uint16)
    stack = np.stack([truth, truth + 1], axis=1)  # (T, C, H, W)
    path = tmp_path / "hyper.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TCYX", "finterval": 0.05})
    with pytest.raises(Exception, match=r"channel=N \(0 to 1"):
        open_movie(path)
    with open_movie(path, channel=1) as movie:
        assert movie.format == "imagej-tiff"
        assert movie.frame_rate == pytest.approx(20.0)
        _check_reads(movie, truth + 1)


def test_imagej_zstack_movie_picks_plane(tmp_path):
    truth = _movie(T=6)
    stack = np.stack([truth, truth * 2, truth * 3], axis=1)  # (T, Z, H, W)
    path = tmp_path / "tz.tif"
    tifffile.imwrite(path, stack, imagej=True, metadata={"axes": "TZYX"})
    with open_movie(path, plane=2) as movie:
        _check_reads(movie, truth * 3)


def test_imagej_stack_saved_as_slices_reads_as_time(tmp_path):
    # ImageJ saves plain stacks as "slices"; for a movie those are frames.
    truth = _movie(T=7)
    path = tmp_path / "slices.tif"
    tifffile.imwrite(path, truth, imagej=True, metadata={"axes": "ZYX"})
    with open_movie(path) as movie:
        _check_reads(movie, truth)


def test_scanimage_frame_rate_from_metadata(tmp_path):
    truth = _movie(T=5)
    path = tmp_path / "si.tif"
    desc = "scanimage.SI4.scanFrameRate = 7.8125\nscanimage.SI4.acqNumFrames = 5\n"
    # BigTIFF, as ScanImage 2016+ writes: tifffile's page-spacing shortcut for older ScanImage
    # files would not fit a file written by tifffile.
    with tifffile.TiffWriter(path, bigtiff=True) as tw:
        for frame in truth:
            tw.write(frame, description=desc, metadata=None, contiguous=False)
    with open_movie(path) as movie:
        assert movie.format == "scanimage-tiff"
        assert movie.frame_rate == pytest.approx(7.8125)
        _check_reads(movie, truth)


def test_scanimage_frame_rate_rules():
    meta = {"SI.hRoiManager.scanFrameRate": 30.02, "SI.hRoiManager.scanVolumeRate": 7.5}
    assert scanimage_frame_rate(meta) == pytest.approx(30.02)
    assert scanimage_frame_rate(meta, per_volume=True) == pytest.approx(7.5)
    assert scanimage_frame_rate({}, "state.acq.frameRate=4.0\n") == pytest.approx(4.0)
    assert scanimage_frame_rate({}, "nothing here") is None


def test_tifffile_shaped_metadata_frame_rate(tmp_path):
    path = tmp_path / "demo.tif"
    tifffile.imwrite(path, _movie(), metadata={"axes": "TYX", "fps": 15.0})
    with open_movie(path) as movie:
        assert movie.frame_rate == 15.0
    with open_movie(path, frame_rate=10) as movie:
        assert movie.frame_rate == 10.0


def _write_series(folder, truth, counts):
    folder.mkdir()
    names = []
    start = 0
    for i, n in enumerate(counts):
        name = folder / f"part{i + 1}.tif"  # part10 must follow part9, not part1
        tifffile.imwrite(name, truth[start:start + n] if n > 1 else truth[start], photometric="minisblack")
        names.append(name)
        start += n
    return names


def test_tiff_series_natural_order_mixed_frame_counts(tmp_path):
    counts = [1, 3, 1, 1, 2, 1, 1, 1, 1, 4, 1]
    truth = _movie(T=sum(counts))
    names = _write_series(tmp_path / "run", truth, counts)
    for source in (tmp_path / "run", str(tmp_path / "run" / "part*.tif"), names):
        with open_movie(source) as movie:
            assert movie.format == "tiff-series"
            assert movie.paths == [str(n) for n in names]
            _check_reads(movie, truth)


def test_tiff_series_keeps_few_files_open(tmp_path, monkeypatch):
    import cnmf_gui.io.tiff_series as series

    monkeypatch.setattr(series, "MAX_OPEN_FILES", 2)
    truth = _movie(T=9)
    _write_series(tmp_path / "run", truth, [1] * 9)
    with open_movie(tmp_path / "run") as movie:
        for t in (8, 0, 4, 8, 1):
            np.testing.assert_array_equal(movie[t], truth[t])
        assert len(movie._open) <= 2


@pytest.mark.parametrize("chunks, mapped", [
    (None, True),             # contiguous
    ((1, 9, 7), True),        # one frame per chunk
    ((5, 9, 7), True),        # several frames per chunk, the last one partly filled
    ((4, 5, 7), False),       # chunks cut across frames: h5py reads them
])
def test_hdf5_round_trip(tmp_path, chunks, mapped):
    truth = _movie(dtype=np.float32)
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("acq/frames", data=truth, chunks=chunks)
        f["acq/frames"].attrs["frame_rate"] = 12.5
        f["mean"] = truth.mean(0)
    with open_movie(path) as movie:
        assert movie.format == "hdf5"
        assert movie.frame_rate == 12.5
        assert ("memory-mapped" in movie.details["storage"]) == mapped
        _check_reads(movie, truth)


def test_hdf5_unwritten_chunks_read_as_fill_value(tmp_path):
    path = tmp_path / "partial.h5"
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("m", shape=(12, 9, 7), dtype=np.int16, chunks=(1, 9, 7), fillvalue=-1)
        ds[0:4] = 5
        ds[8:12] = 7
    truth = np.full((12, 9, 7), -1, np.int16)
    truth[0:4], truth[8:12] = 5, 7
    with open_movie(path) as movie:
        assert "memory-mapped" not in movie.details["storage"]
        _check_reads(movie, truth)


@pytest.mark.parametrize("frames_per_chunk", [1, 3])
def test_hdf5_chunks_written_out_of_order(tmp_path, frames_per_chunk):
    # Chunks lie in the file in reverse: read through a table of frame offsets.
    truth = _movie(T=14)
    path = tmp_path / "reverse.h5"
    k = frames_per_chunk
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("m", shape=truth.shape, dtype=truth.dtype, chunks=(k, 9, 7))
        for start in reversed(range(0, len(truth), k)):
            ds[start:start + k] = truth[start:start + k]
    with open_movie(path) as movie:
        assert "memory-mapped" in movie.details["storage"]
        _check_reads(movie, truth)


def test_hdf5_axes_option_and_dataset_in_path(tmp_path):
    truth = _movie(T=5, H=9, W=11)
    path = tmp_path / "hwt.h5"
    with h5py.File(path, "w") as f:
        f["a"] = np.transpose(truth, (1, 2, 0))              # rows, cols, time
        f["b"] = np.transpose(truth, (2, 0, 1)).copy()       # cols, time, rows
    with open_movie(path, dataset="a", axes="hwt") as movie:
        _check_reads(movie, truth)
    with open_movie(f"{path}:/b", axes="wth") as movie:
        assert movie.path == f"{path}:/b"
        _check_reads(movie, truth)


def test_hdf5_four_d_with_axes_and_plane(tmp_path):
    truth = _movie(T=6)
    path = tmp_path / "zt.h5"
    with h5py.File(path, "w") as f:
        f["v"] = np.stack([truth, truth + 7], axis=0)        # plane, time, rows, cols
    with open_movie(path, axes="zthw", plane=1) as movie:
        _check_reads(movie, truth + 7)
    with open_movie(path, axes="zthw", plane=0) as movie:
        np.testing.assert_array_equal(movie[[4, 1]], truth[[4, 1]])


def test_hdf5_guesses_time_last_with_a_warning(tmp_path):
    truth = _movie(T=5, H=40, W=30)
    path = tmp_path / "guess.h5"
    with h5py.File(path, "w") as f:
        f["imaging"] = np.transpose(truth, (1, 2, 0))
    with pytest.warns(AxisOrderWarning, match="axes='hwt'"):
        movie = open_movie(path)
    with movie:
        _check_reads(movie, truth)


def test_npy_round_trip_c_and_fortran(tmp_path):
    truth = _movie(dtype=np.float64)
    for order in ("C", "F"):
        path = tmp_path / f"m_{order}.npy"
        np.save(path, np.asarray(truth, order=order))
        with open_movie(path) as movie:
            assert movie.format == "npy"
            _check_reads(movie, truth)


def test_npy_with_axes(tmp_path):
    truth = _movie(T=4)
    path = tmp_path / "hwt.npy"
    np.save(path, np.transpose(truth, (1, 2, 0)))
    with open_movie(path, axes="yxt") as movie:
        _check_reads(movie, truth)


def test_closed_movie_refuses_reads(tmp_path):
    path = tmp_path / "m.npy"
    np.save(path, _movie())
    movie = open_movie(path)
    movie.close()
    assert movie.closed
    with pytest.raises(ValueError, match="closed"):
        movie[0]


def test_nonfinite_values_are_counted_on_demand(tmp_path):
    truth = _movie(T=20, dtype=np.float32)
    truth[3, 1, 1] = np.nan
    truth[3, 2, 2] = np.inf
    truth[17, 0, 0] = -np.inf
    path = tmp_path / "nan.npy"
    np.save(path, truth)
    with open_movie(path) as movie:  # opening does not scan
        count, frames = movie.count_nonfinite()
        assert count == 3
        np.testing.assert_array_equal(frames, [3, 17])
        with pytest.raises(Exception, match=r"3 NaN or infinite value\(s\) in 2 frame\(s\) \(first: 3, 17\)"):
            movie.check_finite()
    np.save(path, _movie(dtype=np.float32))
    with open_movie(path) as movie:
        movie.check_finite()


def test_hdf5_compressed_chunks_across_frames(tmp_path):
    truth = _movie(T=30, H=20, W=18)
    path = tmp_path / "gz.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("m", data=np.transpose(truth, (1, 2, 0)), chunks=(10, 6, 30), compression="gzip",
                         shuffle=True)
    with open_movie(path, axes="hwt") as movie:
        assert "gzip" in movie.details["storage"]
        _check_reads(movie, truth)


def test_tiff_series_is_thread_safe_while_files_are_evicted(tmp_path, monkeypatch):
    import cnmf_gui.io.tiff_series as series

    monkeypatch.setattr(series, "MAX_OPEN_FILES", 2)
    truth = _movie(T=12)
    _write_series(tmp_path / "run", truth, [1] * 12)
    errors = []
    with open_movie(tmp_path / "run") as movie:
        def read(offset):
            for _ in range(5):
                for t in range(offset, 12, 2):
                    if not np.array_equal(movie[t], truth[t]):
                        errors.append(t)
        threads = [threading.Thread(target=read, args=(k,)) for k in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert errors == []

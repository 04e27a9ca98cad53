"""FrameStream (issue 14 item 2): sources that grow are read frame by frame, half-written pages
and files are waited for, never read as garbage; each bad input ends with one clear message."""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
import tifffile

from cnmf_gui.errors import InputFileError
from cnmf_gui.io.frame_stream import FrameStream, StreamIdle, natural_key

from .stepped_stream import Steps, write_in_halves


def _frames(n=40, shape=(24, 20), seed=0):
    return (np.random.default_rng(seed).random((n,) + shape) * 4000).astype(np.uint16)


def _tiff_bytes(frame, tmp_path):
    scratch = tmp_path / "scratch.tif"
    tifffile.imwrite(scratch, frame)
    return scratch.read_bytes()


def _collect(stream):
    got, error = [], None
    try:
        for f in stream:
            got.append(f)
    except InputFileError as exc:
        error = exc
    return got, error


def _follow_while_writing(source, steps, writer):
    """Read ``source`` followed (idle after 1 s of the steps' clock) while ``writer`` runs in its
    thread; (frames read, the error that ended the stream). Every written step was seen."""
    th = steps.run_writer(writer)
    try:
        got, error = _collect(FrameStream(source, follow=True, until_idle=1.0, poll=0.005,
                                          clock=steps.clock, sleep=steps.sleep))
    finally:
        steps.finish(th)
    assert steps.missed == 0
    return got, error


def test_natural_order():
    names = ["f_10.tif", "f_2.tif", "f_1.tif"]
    assert sorted(names, key=natural_key) == ["f_1.tif", "f_2.tif", "f_10.tif"]


def test_a_folder_filled_while_read_gives_every_frame_exactly(tmp_path):
    frames = _frames()
    folder = tmp_path / "acq"
    folder.mkdir()
    blobs = [_tiff_bytes(f, tmp_path) for f in frames]
    steps = Steps()

    def writer():
        # each file is seen half-written by the reader before it is completed
        for i, blob in enumerate(blobs):
            write_in_halves(folder / f"img_{i}.tif", blob, steps)

    got, error = _follow_while_writing(folder, steps, writer)
    assert isinstance(error, StreamIdle) and "no new frame for 1 s after 40 frames" in str(error)
    assert np.array_equal(np.array(got), frames.astype(np.float32))


def test_a_growing_tiff_is_read_page_by_page(tmp_path):
    frames = _frames(seed=1)
    path = tmp_path / "grow.tif"
    tifffile.imwrite(path, frames[0])
    steps = Steps()

    def writer():
        for f in frames[1:]:
            steps.wait_for_reader()          # the reader is waiting for the next page
            tifffile.imwrite(path, f, append=True)
            steps.written += 1

    got, error = _follow_while_writing(path, steps, writer)
    assert isinstance(error, StreamIdle) and "after 40 frames" in str(error)
    assert np.array_equal(np.array(got), frames.astype(np.float32))


def test_a_growing_hdf5_is_read_as_frames_are_appended(tmp_path):
    h5py = pytest.importorskip("h5py")
    frames = _frames(n=20, seed=2)
    path = tmp_path / "grow.h5"
    with h5py.File(path, "w", libver="latest") as fh:
        dset = fh.create_dataset("mov", shape=(0,) + frames.shape[1:], maxshape=(None,) + frames.shape[1:],
                                 dtype=frames.dtype, chunks=(1,) + frames.shape[1:])
        fh.swmr_mode = True
        for i, f in enumerate(frames[:5]):
            dset.resize(i + 1, axis=0)
            dset[i] = f
        dset.flush()
        stream = FrameStream(path, follow=True, until_idle=0.5, poll=0.01)
        it = iter(stream)
        first = [next(it) for _ in range(5)]
        for i, f in enumerate(frames[5:], start=5):
            dset.resize(i + 1, axis=0)
            dset[i] = f
        dset.flush()
        rest = [next(it) for _ in range(15)]
    assert np.array_equal(np.array(first + rest), frames.astype(np.float32))


def test_a_complete_file_is_read_as_if_live(tmp_path):
    frames = _frames(seed=3)
    np.save(tmp_path / "m.npy", frames)
    got, error = _collect(FrameStream(tmp_path / "m.npy"))
    assert error is None and np.array_equal(np.array(got), frames.astype(np.float32))


# -- bad input: one clear message each, the frames before it were given -----------------------


def test_empty_folder(tmp_path):
    with pytest.raises(InputFileError, match="holds no TIFF files"):
        list(FrameStream(tmp_path))
    got, error = _collect(FrameStream(tmp_path, follow=True, until_idle=0.2, poll=0.01))
    assert got == [] and isinstance(error, StreamIdle) and "no TIFF file yet" in str(error)


def test_a_truncated_page(tmp_path):
    frames = _frames(n=10)
    sizes = []
    for f in frames:     # page by page, as an acquisition writes: each page's IFD and data in turn
        tifffile.imwrite(tmp_path / "full.tif", f, append=True)
        sizes.append(os.path.getsize(tmp_path / "full.tif"))
    data = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "cut.tif").write_bytes(data[:(sizes[5] + sizes[6]) // 2])
    got, error = _collect(FrameStream(tmp_path / "cut.tif"))
    assert "page 6 is truncated" in str(error)
    assert np.array_equal(np.array(got), frames[:6].astype(np.float32))


def test_a_half_written_file_in_a_folder_followed_by_another_is_truncated(tmp_path):
    frames = _frames(n=3)
    for i, f in enumerate(frames):
        tifffile.imwrite(tmp_path / f"a_{i}.tif", f)
    blob = (tmp_path / "a_1.tif").read_bytes()
    (tmp_path / "a_1.tif").write_bytes(blob[:len(blob) // 2])
    got, error = _collect(FrameStream(tmp_path, follow=True, until_idle=0.3, poll=0.01))
    assert "a_1.tif: page 0 is truncated" in str(error)
    assert len(got) == 1


def test_a_frame_of_another_size(tmp_path):
    frames = _frames(n=5)
    for i, f in enumerate(frames):
        tifffile.imwrite(tmp_path / f"a_{i}.tif", f)
    tifffile.imwrite(tmp_path / "a_5.tif", frames[0][:10, :10])
    got, error = _collect(FrameStream(tmp_path))
    assert "frame 5 is 10 x 10 px, the stream started with 24 x 20 px" in str(error)
    assert len(got) == 5


def test_a_folder_that_vanishes(tmp_path):
    folder = tmp_path / "acq"
    folder.mkdir()
    frames = _frames(n=4)
    for i, f in enumerate(frames):
        tifffile.imwrite(folder / f"a_{i}.tif", f)
    stream = iter(FrameStream(folder, follow=True, until_idle=2.0, poll=0.01))
    got = [next(stream) for _ in range(4)]
    shutil.rmtree(folder)
    with pytest.raises(InputFileError, match="vanished after 4 frames"):
        next(stream)
    assert len(got) == 4


def test_missing_source(tmp_path):
    with pytest.raises(InputFileError, match="no such file or folder"):
        FrameStream(tmp_path / "nothing")
    assert not os.path.exists(tmp_path / "nothing")

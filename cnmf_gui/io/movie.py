"""The lazy :class:`Movie` every reader returns, and :func:`open_movie`, which picks the reader.

A Movie is a (T, H, W) stack of frames that reads nothing until asked: ``movie[t]`` is one
frame (H, W), ``movie[a:b]`` and ``movie[[t1, t2]]`` are stacks (n, H, W), always fresh NumPy
arrays in native byte order. Readers implement only :meth:`Movie._read_range`; indexing, chunked
iteration and the finite-value check are shared here.

Examples
--------
>>> with open_movie("recording.tif") as movie:          # doctest: +SKIP
...     print(movie.shape, movie.dtype, movie.frame_rate)
...     for start, chunk in movie.iter_chunks(500):
...         ...
"""

from __future__ import annotations

import os
from typing import Iterator, Sequence

import numpy as np

from cnmf_gui.errors import InputFileError, ParameterError
from cnmf_gui.io.paths import describe_size, natural_key, sniff_format
from cnmf_gui.io.reader_choice import _open_file, _open_files, _open_path

_CHUNK_BYTES = 64 * 2**20


def _maps_a_file(block: np.ndarray) -> bool:
    """Whether ``block`` is (a view of) a memory map: handing it out would tie callers to the file."""
    base = block
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return True
        if base.base is None:
            return False
        base = base.base
    return True  # the buffer belongs to something else (an mmap object, bytes from a file)


class Movie:
    """A lazily read movie of shape (T, H, W).

    Attributes
    ----------
    shape : tuple (T, H, W)
    dtype : numpy.dtype
        Native-byte-order type of the frames returned.
    frame_rate : float or None
        Frames per second, from the file's metadata or the ``frame_rate=`` option; None when
        unknown.
    path : str
        What :func:`open_movie` reopens this movie from: a file, ``file.h5:/dataset``, a
        folder or a glob (for an explicit list of files, their common folder; see ``paths``).
    paths : list of str
        Every file the movie reads from.
    format : str
        Short name of the reader: ``"tiff"``, ``"bigtiff"``, ``"imagej-tiff"``,
        ``"scanimage-tiff"``, ``"tiff-series"``, ``"hdf5"``, ``"npy"``.
    details : dict of str to str
        Human-readable facts for ``cnmf-gui info`` (compression, memory-mapped, axes, ...).
    """

    format = "movie"

    def __init__(self, shape, dtype, *, path: str, paths: Sequence[str] = (),
                 frame_rate: float | None = None, details: dict | None = None):
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype).newbyteorder("=")
        self.path = str(path)
        self.paths = [str(p) for p in paths] or [self.path]
        self.frame_rate = frame_rate
        self.details = dict(details or {})
        self._closed = False

    # -- what readers implement ----------------------------------------------------------------
    def _read_range(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start`` to ``stop - 1`` as an (n, H, W) array (0 <= start < stop <= T)."""
        raise NotImplementedError

    def _read_sorted(self, frames: np.ndarray) -> np.ndarray:
        """Frames at sorted, unique indices; by default one range read per consecutive run."""
        breaks = np.flatnonzero(np.diff(frames) != 1) + 1
        runs = np.split(frames, breaks)
        parts = [self._read_range(int(r[0]), int(r[-1]) + 1) for r in runs]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _close(self) -> None:
        """Release file handles."""

    # -- shared behaviour ----------------------------------------------------------------------
    @property
    def ndim(self) -> int:
        return 3

    @property
    def n_frames(self) -> int:
        return self.shape[0]

    @property
    def frame_shape(self) -> tuple[int, int]:
        return self.shape[1], self.shape[2]

    @property
    def nbytes(self) -> int:
        """Bytes of the whole movie once decoded."""
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    @property
    def size_on_disk(self) -> int:
        """Bytes the movie's files take on disk."""
        total = 0
        for p in dict.fromkeys(self.paths):
            try:
                total += os.path.getsize(p)
            except OSError:
                pass
        return total

    @property
    def closed(self) -> bool:
        return self._closed

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        rest = ()
        if isinstance(key, tuple):
            key, rest = key[0], key[1:]
        out = self._frames(key)
        if rest:
            out = out[(slice(None),) + rest] if out.ndim == 3 else out[rest]
        return out

    def _frames(self, key) -> np.ndarray:
        if self._closed:
            raise ValueError(f"movie {self.path} is closed")
        T = self.shape[0]
        if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
            t = int(key)
            if not -T <= t < T:
                raise IndexError(f"frame {t} out of range for a movie of {T} frames")
            t %= T
            return self._native(self._read_range(t, t + 1))[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(T)
            if step == 1:
                if stop <= start:
                    return np.empty((0,) + self.frame_shape, self.dtype)
                return self._native(self._read_range(start, stop))
            return self._read_list(np.arange(start, stop, step))
        if key is Ellipsis:
            return self._frames(slice(None))
        frames = np.asarray(key)
        if frames.dtype == bool:
            if frames.shape != (T,):
                raise IndexError(f"boolean frame mask must have shape ({T},), got {frames.shape}")
            frames = np.flatnonzero(frames)
        if frames.ndim != 1 or (frames.size and not np.issubdtype(frames.dtype, np.integer)):
            raise IndexError(f"frames must be an int, a slice or a 1-D list of ints, got {key!r}")
        return self._read_list(frames.astype(np.int64))

    def _read_list(self, frames: np.ndarray) -> np.ndarray:
        T = self.shape[0]
        if frames.size == 0:
            return np.empty((0,) + self.frame_shape, self.dtype)
        if frames.min() < -T or frames.max() >= T:
            raise IndexError(f"frame index out of range for a movie of {T} frames")
        frames = frames % T
        unique, inverse = np.unique(frames, return_inverse=True)
        block = self._native(self._read_sorted(unique))
        if unique.size == frames.size and np.array_equal(unique, frames):
            return block
        return block[inverse]

    def _native(self, block: np.ndarray) -> np.ndarray:
        """A fresh, C-ordered, native-byte-order array (never a view into a file)."""
        if not block.dtype.isnative:
            return block.astype(self.dtype)
        if not block.flags.c_contiguous or _maps_a_file(block):
            return np.array(block, dtype=self.dtype, order="C")
        return block

    def __iter__(self) -> Iterator[np.ndarray]:
        for _, chunk in self.iter_chunks():
            yield from chunk

    def __array__(self, dtype=None, copy=None):
        data = self[:]
        return data if dtype is None else data.astype(dtype, copy=False)

    def default_chunk(self) -> int:
        """Frames per chunk so that one chunk is about 64 MB."""
        frame_bytes = max(self.shape[1] * self.shape[2] * self.dtype.itemsize, 1)
        return int(max(1, min(self.shape[0], _CHUNK_BYTES // frame_bytes)))

    def iter_chunks(self, n_frames: int | None = None, start: int = 0,
                    stop: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(first_frame, frames)`` with ``frames`` of shape (n <= n_frames, H, W).

        Parameters
        ----------
        n_frames : int, optional
            Frames per chunk; by default about 64 MB worth.
        start, stop : int
            Frame range to iterate over (``stop`` defaults to T).
        """
        n = self.default_chunk() if n_frames is None else int(n_frames)
        if n < 1:
            raise ValueError(f"n_frames must be at least 1, got {n_frames}")
        stop = self.shape[0] if stop is None else min(int(stop), self.shape[0])
        for a in range(int(start), stop, n):
            yield a, self[a:min(a + n, stop)]

    def count_nonfinite(self, progress=None) -> tuple[int, np.ndarray]:
        """Count NaN and infinite values, reading the movie chunk by chunk.

        Integer movies cannot hold them and are not read at all.

        Returns
        -------
        count : int
            Number of non-finite values.
        frames : ndarray of int
            Frames that hold at least one, in increasing order.
        """
        from cnmf_gui.progress import checkpoint

        if not np.issubdtype(self.dtype, np.inexact):
            return 0, np.zeros(0, np.int64)
        count, bad = 0, []
        T = max(self.shape[0], 1)
        for start, chunk in self.iter_chunks():
            finite = np.isfinite(chunk)
            n_bad = finite.size - int(np.count_nonzero(finite))
            if n_bad:
                count += n_bad
                bad.append(start + np.flatnonzero(~finite.all(axis=(1, 2))))
            checkpoint(progress, (start + len(chunk)) / T, "checking for NaN/inf")
        return count, (np.concatenate(bad) if bad else np.zeros(0, np.int64))

    def check_finite(self, progress=None) -> None:
        """Raise :class:`InputFileError` if the movie holds NaN or infinite values.

        Not done at open (that would read the whole file); call it before processing, or see
        ``cnmf-gui info``. The message gives the count and the first frames affected.
        """
        count, frames = self.count_nonfinite(progress)
        if count:
            first = ", ".join(str(int(t)) for t in frames[:5]) + (", ..." if len(frames) > 5 else "")
            raise InputFileError(f"{self.path} holds {count} NaN or infinite value(s) in {len(frames)} "
                                 f"frame(s) (first: {first}): replace them before processing")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> "Movie":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        T, H, W = self.shape
        fr = "unknown" if self.frame_rate is None else f"{self.frame_rate:g} Hz"
        return f"<{type(self).__name__} {self.format} {T}x{H}x{W} {self.dtype} {fr} {self.path!r}>"


def open_movie(path, *, dataset: str | None = None, axes: str | None = None, plane: int | None = None,
               channel: int | None = None, frame_rate: float | None = None,
               format: str | None = None) -> Movie:
    """Open a movie lazily, whatever its format.

    Parameters
    ----------
    path : str, path-like or list of them
        A TIFF/BigTIFF, HDF5, NWB or NPY file; ``file.h5:/group/name`` for one dataset of an HDF5
        file; a folder of TIFF files, a glob (``"run1_*.tif"``) or a list of TIFF files, read
        in natural order (``2.tif`` before ``10.tif``) as one movie.
    dataset : str, optional
        HDF5: the dataset to read when the file holds several 3-D datasets. NWB: the imaging
        series (TwoPhotonSeries / OnePhotonSeries) to read when ``/acquisition`` holds several.
    axes : str, optional
        The stored axis order, one letter per dimension: ``t`` time, ``h`` rows, ``w``
        columns, ``z`` plane, ``c`` channel. E.g. ``"hwt"`` for files stored as rows, columns,
        time. TIFF metadata usually makes it unnecessary.
    plane, channel : int, optional
        Which plane / channel to read from 4-D or 5-D data.
    frame_rate : float, optional
        Frames per second, overriding (or supplying) the file's metadata.
    format : {"tiff", "hdf5", "nwb", "npy"}, optional
        Force a reader for a file whose extension is not recognised.

    Returns
    -------
    Movie
        Shape (T, H, W); nothing is read beyond headers.

    Raises
    ------
    InputFileError
        Missing, unreadable, truncated or corrupt file; a single image; an empty movie;
        several candidate datasets, planes or channels (the message says how to pick one).
    ParameterError
        An option that does not apply or is out of range.
    """
    if frame_rate is not None and (isinstance(frame_rate, bool) or not isinstance(frame_rate, (int, float))
                                   or not np.isfinite(frame_rate) or frame_rate <= 0):
        raise ParameterError(f"option frame_rate must be a positive number of Hz, got {frame_rate!r}")
    if format is not None and format not in ("tiff", "hdf5", "nwb", "npy"):
        raise ParameterError(f"option format must be one of 'tiff', 'hdf5', 'nwb', 'npy', got {format!r}")
    options = dict(dataset=dataset, axes=axes, plane=plane, channel=channel)

    if isinstance(path, (list, tuple)):
        files = [os.fspath(p) for p in path]
        if not files:
            raise InputFileError("empty list of movie files: expected at least one TIFF file")
        movie = _open_files(files, None, options) if len(files) > 1 else _open_file(files[0], format, options)
    else:
        text = os.fspath(path)
        movie = _open_path(text, format, options)

    if min(movie.shape) == 0:
        movie.close()
        T, H, W = movie.shape
        raise InputFileError(f"{movie.path} holds an empty movie ({T} x {H} x {W}): expected at least "
                             f"one frame of at least 1 x 1 pixels")
    if frame_rate is not None:
        movie.frame_rate = float(frame_rate)
    return movie


__all__ = ["Movie", "open_movie", "natural_key", "sniff_format", "describe_size"]

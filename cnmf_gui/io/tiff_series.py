"""A movie split across several TIFF files (a folder, a glob or a list), read as one.

Each file may hold one frame or many. Files are opened lazily and a few are kept open at a
time, so a folder of ten thousand single-frame files neither exhausts file handles nor takes
minutes to open: files of the same size on disk as the first are assumed to hold as many
frames as it does, and checked when they are first read.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.io.movie import Movie
from cnmf_gui.io.tiff_source import open_tiff

MAX_OPEN_FILES = 8


class TiffSeriesMovie(Movie):
    """Frames of several TIFF files, concatenated in the order given.

    Parameters
    ----------
    files : list of str
        The files, already in the order to read (natural order for folders and globs).
    source : str
        What the movie was opened from (folder, glob or common folder), kept as ``path``.
    axes, plane, channel
        As for :func:`cnmf_gui.io.open_movie`, applied to every file.
    """

    format = "tiff-series"

    def __init__(self, files: list[str], *, source: str, axes=None, plane=None, channel=None):
        self._options = dict(axes=axes, plane=plane, channel=channel, allow_single_frame=True)
        self._open: OrderedDict[int, Movie] = OrderedDict()
        self._lock = threading.RLock()
        self._files = list(files)
        first = self._open_file(0, expected=None)
        self._open[0] = first
        sizes = [os.path.getsize(f) if os.path.exists(f) else -1 for f in files]
        counts = [first.shape[0]]
        # Equal size on disk -> (almost surely) the same frame count; only uneven files need
        # opening now, the others are checked when read.
        uniform = first.details.get("compression") == "none"
        for i in range(1, len(files)):
            if sizes[i] < 0:
                raise InputFileError(f"movie file not found: {files[i]}")
            if uniform and sizes[i] == sizes[0]:
                counts.append(first.shape[0])
                continue
            with self._open_file(i, expected=None, like=first) as other:
                counts.append(other.shape[0])
        self._counts = np.array(counts, dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(self._counts)])
        super().__init__((int(self._starts[-1]),) + first.frame_shape, first.dtype, path=source,
                         paths=files, frame_rate=first.frame_rate,
                         details=dict(first.details, files=f"{len(files)} files"))

    def _open_file(self, i: int, expected: int | None, like: Movie | None = None) -> Movie:
        path = self._files[i]
        movie = open_tiff(path, **self._options)
        problem = None
        if like is not None and (movie.frame_shape != like.frame_shape or movie.dtype != like.dtype):
            problem = (f"holds {movie.shape[1]} x {movie.shape[2]} {movie.dtype} frames but {self._files[0]} "
                       f"holds {like.shape[1]} x {like.shape[2]} {like.dtype}")
        elif expected is not None and movie.shape[0] != expected:
            problem = (f"holds {movie.shape[0]} frames where {expected} were expected (same size on disk "
                       f"as {self._files[0]}); the series is inconsistent")
        if problem:
            movie.close()
            raise InputFileError(f"{path} {problem}: all files of a series must match")
        return movie

    def _file(self, i: int) -> Movie:
        with self._lock:
            movie = self._open.get(i)
            if movie is None:
                movie = self._open_file(i, expected=int(self._counts[i]), like=self)
                self._open[i] = movie
                while len(self._open) > MAX_OPEN_FILES:
                    _, old = self._open.popitem(last=False)
                    old.close()
            else:
                self._open.move_to_end(i)
            return movie

    def _read_range(self, start: int, stop: int) -> np.ndarray:
        # Held across the read: another thread could otherwise close a file (evicting it from
        # the open set) while this one is still reading from it.
        with self._lock:
            return self._read_range_locked(start, stop)

    def _read_range_locked(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((stop - start,) + self.frame_shape, self.dtype)
        first = int(np.searchsorted(self._starts, start, side="right") - 1)
        pos = start
        i = first
        while pos < stop:
            lo = pos - int(self._starts[i])
            hi = min(stop, int(self._starts[i + 1])) - int(self._starts[i])
            if hi > lo:
                out[pos - start:pos - start + hi - lo] = self._file(i)[lo:hi]
                pos += hi - lo
            i += 1
        return out

    def _close(self) -> None:
        with self._lock:
            for movie in self._open.values():
                movie.close()
            self._open.clear()

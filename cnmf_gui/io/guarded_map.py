"""Memory-mapped movies that notice when their file changes underneath them.

Reading a memory map past the end of a file that shrank (another program rewrote or truncated
it) raises SIGBUS, which kills the process without a message: the window dies with the user's
unsaved work. :class:`GuardedMap` wraps a NumPy view of a memory map and checks the file's size
and modification time before every read (one ``stat``, a microsecond, per chunk of frames).
While the file is unchanged it reads through the map. Once it has changed the map is never
touched again: reads go through the file API (``os.pread``), where a missing byte is a short
read, not a signal; a read that needs bytes the file no longer has is an
:class:`~cnmf_gui.errors.InputFileError` naming the file, and a file changed without shrinking
is read on with one warning (its frames may now mix two versions).
"""

from __future__ import annotations

import os
import threading
import warnings
import weakref

import numpy as np

from cnmf_gui.errors import InputFileError


class MovieFileChangedWarning(UserWarning):
    """The movie file changed on disk while it was being read."""


def _memmap_base(array: np.ndarray):
    """The ``np.memmap`` that ``array`` is a view of, or None."""
    base = array
    while isinstance(base, np.ndarray):
        if isinstance(base, np.memmap):
            return base
        base = base.base
    return None


def guard(array, path: str):
    """``array`` wrapped in a :class:`GuardedMap` when it views a memory map of ``path``."""
    if isinstance(array, np.ndarray) and _memmap_base(array) is not None:
        return GuardedMap(array, path)
    return array


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


class GuardedMap:
    """Array-like over a memory-mapped ndarray view that never reads a changed file through the map.

    Parameters
    ----------
    array : ndarray
        A view (any shape and strides) of an ``np.memmap`` of ``path``.
    path : str
        The mapped file.

    Notes
    -----
    Supports what :class:`~cnmf_gui.io.array_source.ArrayMovie` asks of it: ``shape``,
    ``dtype``, ``ndim`` and ``array[key]`` with a key of ints, slices and (on the first axis)
    sorted int arrays.
    """

    def __init__(self, array: np.ndarray, path: str):
        self._array = array
        self.path = path
        self.shape = array.shape
        self.dtype = array.dtype
        self.ndim = array.ndim
        mm = _memmap_base(array)
        self._map_start = mm.__array_interface__["data"][0]
        self._map_offset = int(mm.offset)
        self._stamp = _stamp(path)
        self._fd = None
        self._lock = threading.Lock()

    @property
    def changed(self) -> bool:
        """Whether the file was seen to change (reads then go through the file API)."""
        return self._fd is not None

    def __getitem__(self, key):
        if self._fd is None:
            stamp = _stamp(self.path)
            # A file that vanished (unlinked) keeps its pages while mapped: the map stays valid.
            if stamp is None or stamp == self._stamp:
                return self._array[key]
            self._switch(stamp)
        return self._read_through_file(key)

    def _switch(self, stamp) -> None:
        with self._lock:
            if self._fd is not None:
                return
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            self._fd = fd
            weakref.finalize(self, os.close, fd)
        size_was = self._stamp[0] if self._stamp else "?"
        if stamp[0] >= (size_was if isinstance(size_was, int) else 0):
            warnings.warn(f"{self.path} changed on disk while being read ({size_was} -> {stamp[0]} bytes): "
                          f"frames read from now on come from the new content", MovieFileChangedWarning,
                          stacklevel=3)

    def _read_through_file(self, key) -> np.ndarray:
        key = key if isinstance(key, tuple) else (key,)
        lead, rest = key[0], key[1:]
        if isinstance(lead, (int, np.integer)):
            return self._read_view(self._array[int(lead)])[rest]
        if isinstance(lead, slice):
            return self._read_view(self._array[lead])[(slice(None),) + rest]
        lead = np.asarray(lead)
        blocks = [self._read_view(self._array[int(i)]) for i in lead.ravel()]
        out = np.stack(blocks) if blocks else np.empty((0,) + self.shape[1:], self.dtype)
        return out[(slice(None),) + rest]

    def _pread(self, n: int, offset: int) -> bytes:
        if hasattr(os, "pread"):
            return os.pread(self._fd, n, offset)
        with self._lock:  # Windows has no pread: seek and read as one step
            os.lseek(self._fd, offset, os.SEEK_SET)
            return os.read(self._fd, n)

    def _read_view(self, view: np.ndarray) -> np.ndarray:
        """The bytes under ``view`` (a view of the map, not read) fetched with pread."""
        if view.size == 0:
            return np.empty(view.shape, view.dtype)
        start = view.__array_interface__["data"][0]
        low = start + sum((n - 1) * s for n, s in zip(view.shape, view.strides) if s < 0)
        high = start + sum((n - 1) * s for n, s in zip(view.shape, view.strides) if s > 0) + view.itemsize
        offset = self._map_offset + (low - self._map_start)
        n_bytes = high - low
        buf = bytearray(n_bytes)
        got = 0
        while got < n_bytes:
            chunk = self._pread(n_bytes - got, offset + got)
            if not chunk:
                size = os.fstat(self._fd).st_size
                raise InputFileError(f"{self.path} shrank while being read (now {size} bytes; frame data "
                                     f"up to byte {offset + n_bytes} is gone): the movie must not change "
                                     f"while it is processed")
            buf[got:got + len(chunk)] = chunk
            got += len(chunk)
        return np.ndarray(view.shape, view.dtype, buffer=buf, offset=start - low, strides=view.strides).copy()

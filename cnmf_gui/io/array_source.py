"""A :class:`Movie` over anything indexable like an array: a memory map, an HDF5 dataset, pages.

The file readers differ only in how they get such an object; reading frames through a
:class:`~cnmf_gui.io.layout.Layout` (axis order, plane and channel picks) is the same for all.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.io.guarded_map import GuardedMap
from cnmf_gui.io.layout import Layout
from cnmf_gui.io.movie import Movie


class ArrayMovie(Movie):
    """A movie read from an array-like through a :class:`Layout`.

    Parameters
    ----------
    array : array-like
        Supports ``array[index_tuple]`` with ints, slices and (when ``fancy`` is true) sorted
        int arrays, returning an ndarray: ``numpy.memmap``, ``h5py.Dataset``, tifffile pages.
    layout : Layout
        How ``array``'s axes map to (T, H, W).
    fancy : bool
        Whether ``array`` reads a sorted list of frames efficiently in one call (memory maps
        do; HDF5 datasets are faster read one run of consecutive frames at a time).
    closer : callable, optional
        Called once by :meth:`close` to release the file.
    lock : bool
        Serialise reads (for libraries whose file handles are not thread-safe).
    format : str
        Short name of the reader, see :class:`Movie`.
    **kwargs
        Passed to :class:`Movie` (path, paths, frame_rate, details).
    """

    def __init__(self, array, layout: Layout, *, fancy: bool = False, closer: Callable | None = None,
                 lock: bool = False, format: str = "array", **kwargs):
        super().__init__(layout.shape, array.dtype, **kwargs)
        self.format = format
        self._array = array
        self._layout = layout
        self._fancy = fancy
        self._closer = closer
        self._lock = threading.Lock() if lock else None
        self.details.setdefault("layout", layout.describe())

    def _get(self, frames) -> np.ndarray:
        key = self._layout.index(frames)
        try:
            if self._lock is not None:
                with self._lock:
                    block = self._array[key]
            else:
                block = self._array[key]
        except InputFileError:
            raise
        except (OSError, ValueError, RuntimeError, KeyError) as exc:
            where = (f"frame {frames.start}" if isinstance(frames, slice) else f"frame {int(frames[0])}")
            raise InputFileError(f"cannot read {self.path} at {where}: {_reason(exc)}") from exc
        return self._layout.arrange(np.asarray(block))

    def _read_range(self, start: int, stop: int) -> np.ndarray:
        return self._get(slice(start, stop))

    def _read_sorted(self, frames: np.ndarray) -> np.ndarray:
        if self._fancy:
            return self._get(frames)
        return super()._read_sorted(frames)

    def _close(self) -> None:
        self._array = None
        if self._closer is not None:
            self._closer()


class OffsetTable:
    """Array-like over equal blocks stored at arbitrary byte offsets of a memory-mapped file.

    Serves uncompressed data that is not one regular block: TIFF pages with IFDs of varying
    size between them, HDF5 chunks with the chunk index stored among them. Each read copies
    the blocks asked for, one ``memcpy`` each.

    Parameters
    ----------
    path : str
    offsets : ndarray of int64
        Byte offset of each block; its shape is the leading part of ``shape``.
    shape : tuple
        Full shape: ``offsets.shape`` followed by the shape of one C-ordered block.
    dtype : numpy.dtype
        Including byte order.
    """

    def __init__(self, path: str, offsets: np.ndarray, shape, dtype):
        self._raw = GuardedMap(np.memmap(path, mode="r", dtype=np.uint8), path)
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self._block = self.shape[self._offsets.ndim:]
        self._block_bytes = int(np.prod(self._block)) * self.dtype.itemsize

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (len(self.shape) - len(key))
        n_lead = self._offsets.ndim
        grid = np.asarray(self._offsets[key[:n_lead]])
        flat_offsets = grid.ravel()
        out = np.empty((flat_offsets.size,) + self._block, self.dtype)
        if out.size:
            rows = out.reshape(flat_offsets.size, -1).view(np.uint8)
            for j, start in enumerate(flat_offsets.tolist()):
                rows[j] = self._raw[start:start + self._block_bytes]
        out = out.reshape(grid.shape + self._block)
        return out[(slice(None),) * grid.ndim + tuple(key[n_lead:])]


def _reason(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__

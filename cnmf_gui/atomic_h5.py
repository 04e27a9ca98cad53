"""HDF5 through the one writer (:mod:`cnmf_gui.atomic`), without libhdf5's crash on a full disk.

When libhdf5 fails to write (a full disk, an I/O error), closing the file fails too and leaves
an object id that cannot be released; the garbage collector then crashes the process inside
libhdf5 (a segfault, exit 139: h5py issues #914 and #2160, still so with h5py 3.16 / HDF5 2.0).
:func:`atomic_h5` therefore hands libhdf5 a Python file object that never reports a failure: it
keeps the first error, discards what follows, lets libhdf5 close cleanly, and the error is
raised afterwards as a one-line :class:`~cnmf_gui.atomic.WriteError` naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
from typing import Iterator

from cnmf_gui.atomic import _as_write_error, _commit, _temporary


# Discarded writes of up to this size are kept in memory after a failure, so that libhdf5 reads
# back what it believes it wrote (its metadata: B-tree nodes, object headers, a few kB each),
# never zeros it would fail to decode. Raw chunks are larger and never read back while writing.
_KEEP_WRITE_BYTES = 2 ** 20
_KEEP_TOTAL_BYTES = 64 * 2 ** 20


class _NeverFailingFile(io.RawIOBase):
    """The temporary file as libhdf5 sees it: writes never fail, the first error is kept.

    After a failed write, later writes are discarded (the file will be deleted); small ones are
    kept in memory and served back to reads. libhdf5 so never enters its broken error path on
    close.
    """

    def __init__(self, fd: int):
        super().__init__()
        self._file = io.FileIO(fd, "r+", closefd=False)
        self.error: OSError | None = None
        self._kept: dict[int, bytes] = {}
        self._kept_bytes = 0

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        n = len(view)
        start = self._file.tell()
        try:
            got = self._file.readinto(view) or 0
        except OSError as exc:
            self.error = self.error or exc
            got = 0
        if not self._kept:
            return got
        view[got:] = b"\0" * (n - got)
        for offset, blob in self._kept.items():
            lo, hi = max(offset, start), min(offset + len(blob), start + n)
            if lo < hi:
                view[lo - start:hi - start] = blob[lo - offset:hi - offset]
        self._file.seek(start + n)
        return n

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        n = len(view)
        start = self._file.tell()
        if self.error is None:
            try:
                written = 0
                while written < n:  # a short write is not an error; write the rest
                    k = self._file.write(view[written:])
                    if not k:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    written += k
                return n
            except OSError as exc:
                self.error = exc
        if n <= _KEEP_WRITE_BYTES and self._kept_bytes + n <= _KEEP_TOTAL_BYTES:
            self._kept[start] = bytes(view)
            self._kept_bytes += n
        self._file.seek(start + n)
        return n

    def truncate(self, size: int | None = None) -> int:
        if self.error is None:
            try:
                return self._file.truncate(size)
            except OSError as exc:
                self.error = exc
        return self.tell() if size is None else size

    def flush(self) -> None:
        pass


@contextlib.contextmanager
def h5_on_temporary(tmp: str, path: str, **h5py_kwargs) -> Iterator["object"]:
    """An ``h5py.File`` written to the temporary file ``tmp`` of :func:`cnmf_gui.atomic.atomic_paths`.

    For an HDF5 file that is one of several written together. Closes the file at the end of the
    block; a disk failure becomes a WriteError naming ``path``, never a crash. The caller
    renames ``tmp`` (atomic_paths does).
    """
    import h5py

    fd = os.open(tmp, os.O_RDWR | os.O_TRUNC | getattr(os, "O_BINARY", 0))
    try:
        sink = _NeverFailingFile(fd)
        fh = h5py.File(sink, "w", **h5py_kwargs)
        fh._cnmf_sink, fh._cnmf_path = sink, path  # for check_h5_error
        try:
            yield fh
        except BaseException:
            _close_quietly(fh)
            if sink.error is not None:
                raise _as_write_error(path, sink.error) from None
            raise
        try:
            fh.close()
        except (RuntimeError, OSError) as exc:
            raise _as_write_error(path, sink.error or exc) from None
        if sink.error is not None:
            raise _as_write_error(path, sink.error)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_h5(path: str | os.PathLike, **h5py_kwargs) -> Iterator["object"]:
    """An ``h5py.File`` opened for writing on a temporary file, renamed onto ``path`` when done.

    Parameters
    ----------
    path : path-like
        Final destination (HDF5).
    **h5py_kwargs
        Passed to ``h5py.File`` (e.g. ``libver``).

    Yields
    ------
    h5py.File
        Closed by this context manager; do not keep references to its objects past the block.

    Raises
    ------
    WriteError
        As :func:`cnmf_gui.atomic.atomic_path`; a full disk is reported once the file is
        closed, never as a crash of libhdf5. Raise inside the block to abandon the file.
    """
    path = os.fspath(path)
    with _temporary(path, "") as tmp:
        with h5_on_temporary(tmp, path, **h5py_kwargs) as fh:
            yield fh
        _commit([(tmp, path)])


def check_h5_error(fh) -> None:
    """Raise the recorded disk error of an :func:`atomic_h5` file now (call between chunks).

    Long writers call it after each chunk so that a full disk stops the work at once instead
    of after computing the whole movie.
    """
    error = getattr(getattr(fh, "_cnmf_sink", None), "error", None)
    if error is not None:
        raise _as_write_error(fh._cnmf_path, error)


def _close_quietly(fh) -> None:
    with contextlib.suppress(Exception):
        fh.close()

"""The session file's revision: a counter written by every save, so a save can tell whether the
file changed underneath it since it was loaded (another window, a `cnmf-gui deconvolve`).

Root attribute ``revision`` (int64): 1 for the first save, +1 for each later save over the same
file; files of programs that did not write it count as revision 0. Checking and replacing happen
under an exclusive ``flock`` of the session's folder, so two writers cannot both pass the check
(POSIX; elsewhere the check still runs, without the lock). The folder, not the file: libhdf5
flock()s the files it opens, and a lock held on the session file itself would make every reader
of it fail while a save runs.
"""

from __future__ import annotations

import contextlib
import os
from typing import Iterator

import numpy as np

from cnmf_gui.errors import UserError

ATTRIBUTE = "revision"


class StaleSessionError(UserError):
    """The session file was saved by someone else since it was loaded: saving would lose that."""


def read_revision(path) -> int | None:
    """The revision of the session file ``path``: None when there is no file, 0 when it has none.

    Reads only the root attributes (fast) and without HDF5's own file lock, so that it can be
    called while :func:`locked` holds the file.
    """
    import h5py

    path = os.fspath(path)
    if not os.path.exists(path):
        return None
    try:
        with h5py.File(path, "r", locking=False) as h5:
            value = h5.attrs.get(ATTRIBUTE, 0)
    except (OSError, ValueError):
        return 0
    try:
        return int(np.asarray(value).item())
    except (TypeError, ValueError):
        return 0


@contextlib.contextmanager
def locked(path) -> Iterator[None]:
    """Hold an exclusive lock on the folder of ``path`` (no-op where unsupported).

    A second writer waits here until the first one has renamed its new file into place; it then
    reads the new file's revision and refuses a stale save.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the revision check alone remains
        yield
        return
    try:
        fd = os.open(os.path.dirname(os.path.abspath(os.fspath(path))), os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:  # file systems without locks (some network shares)
            pass
        yield
    finally:
        os.close(fd)  # releases the lock


def next_revision(path, expected: int | None) -> int:
    """The revision to write over ``path``; refuses when the file is not at ``expected``.

    Parameters
    ----------
    path : path-like
        The session file about to be replaced (may not exist yet).
    expected : int or None
        The revision the caller loaded (:func:`read_revision` right after loading), or None to
        replace whatever is there.

    Raises
    ------
    StaleSessionError
        The file's revision differs from ``expected``: someone saved it in between.
    """
    current = read_revision(path)
    if expected is not None and (current or 0) != expected:
        if current is None:
            raise StaleSessionError(f"{os.fspath(path)} was deleted or moved since it was loaded: "
                                    f"save under a new name")
        raise StaleSessionError(f"{os.fspath(path)} was changed by another program since it was loaded "
                                f"(revision {current}, loaded {expected}): reload it or save under a new "
                                f"name; nothing was written")
    return (current or 0) + 1

"""Write files so that a crash or a cancel never leaves a half-written file in place.

Everything the program writes goes to a temporary file in the destination's folder (same file
system, so the rename is atomic) and is renamed over the destination only when complete.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from typing import Iterator

from cnmf_gui.errors import UserError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Parameters
    ----------
    path : path-like
        Final destination.
    suffix : str
        Extension for the temporary file, for libraries that choose a format by extension
        (e.g. ``".tif"``). Defaults to the destination's own extension.

    Notes
    -----
    On any exception (including :class:`~cnmf_gui.errors.Cancelled`) the temporary file is
    removed and the destination, if it existed, is untouched.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if not suffix:
        suffix = os.path.splitext(base)[1]
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=f".part{suffix}", dir=folder)
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield tmp
        # mkstemp makes owner-only files; give the result the mode a plain open() would (or the
        # mode of the file it replaces), so colleagues on a shared server can read exports.
        os.chmod(tmp, _target_mode(path))
        try:
            os.replace(tmp, path)
        except OSError as exc:
            raise UserError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _target_mode(path: str) -> int:
    """Permission bits for ``path``: those of the existing file, else 0o666 minus the umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

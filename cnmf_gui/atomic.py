"""The one writer: every file the program writes is whole or absent, and failures are one line.

Everything goes to a temporary file in the destination's folder (same file system, so the
rename is atomic), is flushed to the disk (``fsync`` of the file, then of the folder after the
rename, so a power cut cannot leave an empty file under the final name) and renamed over the
destination only when complete. On any failure the temporary file is removed and the
destination, if it existed, is untouched.

Failures of the disk (full, quota, I/O error, file-size limit) and of permissions become a
:class:`WriteError` (a :class:`~cnmf_gui.errors.UserError`) whose one-line message names the
destination and the cause. A read-only destination is never replaced. Temporary files left
by an earlier crash (``.NAME.XXXXXXXX.part.EXT``) are removed when a later write goes to the
same folder and they are older than :data:`STALE_AFTER_S`.

HDF5 files are written with :func:`cnmf_gui.atomic_h5.atomic_h5` (same rules, plus a guard
against libhdf5's crash on a full disk).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
import time
from typing import Iterator, Sequence

from cnmf_gui.errors import UserError

# A temporary file untouched for this long belongs to a process that died: a live writer
# touches its file at every chunk, and the slowest write (a long movie) writes every few
# seconds.
STALE_AFTER_S = 3600.0
# ".NAME.RANDOM.part" + optional extension; RANDOM is 8 characters (token_hex here, mkstemp's
# alphabet in older versions), so user files are never matched.
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.part(\.[^.]*)?$")

_CAUSES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large (file-size limit or file system maximum)",
    errno.EIO: "input/output error (failing disk or lost network share)",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOENT: "the folder does not exist",
    errno.ENOTDIR: "a part of the path is not a folder",
    errno.EISDIR: "it is a folder",
}


class WriteError(UserError):
    """Writing a file failed (disk full, I/O error, permissions); the message names the file."""


def describe(exc: BaseException) -> str:
    """A short cause for an OSError ("no space left on the device"), else its text."""
    if isinstance(exc, OSError):
        if exc.errno in _CAUSES:
            return _CAUSES[exc.errno]
        if exc.strerror:
            return exc.strerror.lower()
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def is_read_only(path: str | os.PathLike) -> bool:
    """True when ``path`` exists and has no write permission bit, or we may not write it.

    The bits are checked as well as :func:`os.access` because a privileged user (root) may
    write anything: a file made read-only on purpose must still not be replaced.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (mode & 0o222) or not os.access(path, os.W_OK)


def check_target(path: str | os.PathLike, *, force: bool = True, inputs: Sequence = (),
                 what: str = "file") -> str:
    """Refuse, before any work, a destination that the write would be refused or regretted for.

    Parameters
    ----------
    path : path-like
        The destination.
    force : bool
        Whether an existing file may be replaced (``--force``).
    inputs : sequence of path-like
        Files the command reads: never overwritten, even with ``force``.
    what : str
        What is written ("session", "corrected movie"), for the message.

    Returns
    -------
    str
        ``path`` as a string.

    Raises
    ------
    WriteError
        The folder is missing, the path is a folder or an input, the file exists (without
        ``force``) or is read-only.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise WriteError(f"cannot write {what} {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise WriteError(f"cannot write {what} {path}: it is a folder")
    for source in inputs:
        if source is not None and _same_file(path, os.fspath(source)):
            raise WriteError(f"cannot write {what} {path}: refusing to overwrite an input of this "
                             f"command; choose another file name")
    if os.path.lexists(path):
        if not force:
            raise WriteError(f"{path} exists: refusing to overwrite it without --force")
        if is_read_only(path):
            raise WriteError(f"cannot write {what} {path}: the file is read-only")
    return path


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def remove_stale_temporaries(folder: str | os.PathLike, *, max_age_s: float = STALE_AFTER_S,
                             now: float | None = None) -> list[str]:
    """Delete temporary files of earlier crashed writes in ``folder``; returns their paths.

    Only names of the writer's own pattern (``.NAME.XXXXXXXX.part[.EXT]``), only regular
    files, only those not modified for ``max_age_s`` seconds, and never one that a live writer
    holds (each writer keeps a shared ``flock`` on its temporary file while it exists, so a
    long computation that has not written for a while keeps its file). Errors are ignored:
    cleaning up is a courtesy, never a reason for a write to fail.
    """
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not _TEMP_NAME.match(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > max_age_s and not _held(entry.path):
                os.unlink(entry.path)
                removed.append(entry.path)
        except OSError:
            continue
    return removed


def _hold(path: str) -> int | None:
    """Open ``path`` and take a shared lock on it: "a writer is alive" (None where unsupported)."""
    try:
        import fcntl
    except ImportError:  # Windows: the age alone decides
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        pass  # a file system without locks: the age alone decides
    return fd


def _held(path: str) -> bool:
    """Whether a live writer holds ``path`` (its shared lock blocks an exclusive one)."""
    try:
        import fcntl
    except ImportError:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # releases the probe's lock


def _fsync_path(path: str, directory: bool = False) -> None:
    """fsync a file or folder by name; folders that cannot be opened (Windows) are skipped."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        if directory:
            return
        raise
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems cannot fsync a folder (EINVAL); a file's fsync error is real.
        if not directory:
            raise
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def _new_temporary(path: str, suffix: str) -> str:
    """Create an empty temporary file beside ``path``; returns its name."""
    folder = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.part{suffix}")
        try:
            # Mode 0o666 minus the umask, applied by the kernel: the result gets the mode a plain
            # open() would give (colleagues on a shared server can read exports) without
            # touching the process-wide umask, which is not thread-safe.
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", folder)


def _as_write_error(path: str, exc: BaseException) -> WriteError:
    return WriteError(f"cannot write {path}: {describe(exc)}")


def _own_error(exc: OSError, tmp: str) -> bool:
    """Whether an OSError raised inside the block is a failure to write our temporary file.

    Errors naming another file (an input that vanished) keep their own message.
    """
    name = getattr(exc, "filename", None)
    return name is None or os.path.abspath(os.fspath(name)) == os.path.abspath(tmp)


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

    Raises
    ------
    WriteError
        The destination is read-only, its folder is missing or not writable, or the disk
        failed (full, quota, I/O error) while writing, flushing or renaming; one line naming
        ``path``. Other exceptions of the block (including
        :class:`~cnmf_gui.errors.Cancelled`) pass through.

    Notes
    -----
    On any exception the temporary file is removed and the destination, if it existed, is
    untouched. Write HDF5 with :func:`cnmf_gui.atomic_h5.atomic_h5`, never by opening the
    temporary path with h5py directly (a full disk would crash the process).
    """
    with _temporary(path, suffix) as tmp:
        try:
            yield tmp
        except OSError as exc:
            if _own_error(exc, tmp):
                raise _as_write_error(os.fspath(path), exc) from None
            raise
        _commit([(tmp, os.fspath(path))])


@contextlib.contextmanager
def _temporary(path, suffix: str):
    """Create the temporary file (after the checks) and yield its name; always removes it."""
    path = os.fspath(path)
    if not suffix:
        suffix = os.path.splitext(os.path.basename(path))[1]
    if is_read_only(path):
        raise WriteError(f"cannot write {path}: the file is read-only")
    if os.path.isdir(path):
        raise WriteError(f"cannot write {path}: it is a folder")
    remove_stale_temporaries(os.path.dirname(os.path.abspath(path)))
    try:
        tmp = _new_temporary(path, suffix)
    except OSError as exc:
        raise _as_write_error(path, exc) from None
    guard = _hold(tmp)
    try:
        # The mode of the file it replaces, if any (the new one got the umask's default).
        try:
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))
        except OSError:
            pass
        yield tmp
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if guard is not None:
            os.close(guard)


def _commit(pairs: Sequence[tuple[str, str]]) -> None:
    """fsync every temporary file, then rename each onto its destination, then fsync folders.

    Several files are renamed all or none: a destination replaced before a later rename fails
    is put back from its backup.
    """
    for tmp, path in pairs:
        try:
            _fsync_path(tmp)
        except OSError as exc:
            raise _as_write_error(path, exc) from None
    backups: list[tuple[str, str]] = []  # (backup, destination) of files already replaced
    done: list[str] = []
    existed = {path for _, path in pairs if os.path.lexists(path)}
    try:
        for tmp, path in pairs:
            if len(pairs) > 1 and os.path.lexists(path):
                # A hard link keeps the old content (named like a temporary file, so a crash
                # right here leaves nothing that the stale-file sweep would not remove).
                folder, base = os.path.split(os.path.abspath(path))
                backup = os.path.join(folder, f".{base}.{secrets.token_hex(4)}.part")
                with contextlib.suppress(OSError):
                    os.link(path, backup)
                    backups.append((backup, path))
            try:
                os.replace(tmp, path)
            except OSError as exc:
                raise _as_write_error(path, exc) from None
            done.append(path)
    except BaseException:
        for path in done:
            original = next((b for b, p in backups if p == path), None)
            with contextlib.suppress(OSError):
                if original is not None:
                    os.replace(original, path)
                elif path not in existed:  # new: remove it (an old one without a backup stays new)
                    os.unlink(path)
        raise
    finally:
        for backup, _ in backups:
            with contextlib.suppress(OSError):
                os.unlink(backup)
    for folder in sorted({os.path.dirname(os.path.abspath(p)) for _, p in pairs}):
        try:
            _fsync_path(folder, directory=True)
        except OSError as exc:
            raise _as_write_error(pairs[0][1], exc) from None


@contextlib.contextmanager
def atomic_paths(paths: Sequence[str | os.PathLike], suffixes: Sequence[str] | None = None) -> Iterator[list[str]]:
    """Several files written all or none: yields one temporary path per destination.

    Every file is complete and flushed before the first is renamed into place; if a rename
    fails, those already replaced get their old content back.
    """
    paths = [os.fspath(p) for p in paths]
    suffixes = list(suffixes) if suffixes is not None else [""] * len(paths)
    with contextlib.ExitStack() as stack:
        tmps = []
        for path, suffix in zip(paths, suffixes):
            tmps.append(stack.enter_context(_temporary(path, suffix)))
        try:
            yield list(tmps)
        except OSError as exc:
            if exc.filename is None:
                # A failed write() names no file: name the set, in its folder.
                folder = os.path.dirname(os.path.abspath(paths[0]))
                names = ", ".join(os.path.basename(p) for p in paths)
                raise WriteError(f"cannot write {names} in {folder}: {describe(exc)}") from None
            for tmp, path in zip(tmps, paths):
                if _own_error(exc, tmp):
                    raise _as_write_error(path, exc) from None
            raise
        _commit(list(zip(tmps, paths)))

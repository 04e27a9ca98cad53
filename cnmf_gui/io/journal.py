"""An append-only journal of text lines that survives ``kill -9`` and power cuts line by line.

The session file and its autosave are whole files, written at most every few seconds; the
curation edits made since then live only in memory. The journal holds them: every line of the
curation log is appended here the moment it is written, flushed and synced to the disk, so an
edit the user saw done is on disk before the next one can be made. A line torn by a crash in
the middle of a write has no newline yet and is dropped when read.

This is the one place that appends to files; whole files go through :mod:`cnmf_gui.atomic`.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnmf_gui.atomic import WriteError, describe


def append_line(path: str | os.PathLike, line: str) -> None:
    """Append ``line`` and a newline to ``path`` (created with its folder) and sync it to the disk.

    Raises
    ------
    WriteError
        The disk is full, read-only or the folder cannot be made (one line naming the file).
    """
    path = Path(path)
    if "\n" in line:
        raise ValueError("a journal line must not contain a newline")
    try:
        new = not path.exists()
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            # A line torn by a crash is ended first, so it cannot swallow this one.
            torn = size > 0 and os.pread(fd, 1, size - 1) != b"\n"
            os.write(fd, (("\n" if torn else "") + line + "\n").encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if new:
            # The file's name must reach the disk too, or a power cut could forget the file.
            dir_fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
    except OSError as exc:
        raise WriteError(f"{path}: cannot append to the edit journal: {describe(exc)}") from None


def read_lines(path: str | os.PathLike) -> list[str]:
    """The complete lines of a journal ([] when it does not exist); a torn last line is dropped."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    text = raw.decode("utf-8", errors="replace")
    if not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]         # the crash came in the middle of this line
    return [line for line in text.split("\n") if line.strip()]

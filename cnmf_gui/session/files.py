"""The files policy of a session: default paths, recovery files, autosave, overwrite checks.

- A session started from a movie is saved beside it as ``MOVIE_STEM.cnmf.h5`` unless the user
  chooses; its autosave goes to ``NAME.recovery.h5`` beside that file, written off the main
  thread by :class:`Autosaver`, and is offered on the next open when it is newer than the file.
- Nothing curated is overwritten silently: :func:`curation_at_risk` tells how many curation
  lines a file holds that the session about to replace it never loaded; the window asks and the
  command line refuses without ``--force`` when that is not zero.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Callable

from cnmf_gui.errors import InputFileError, UserError
from cnmf_gui.results import SessionData
from cnmf_gui.session.commands import COMMANDS, PipelineReset
from cnmf_gui.session.history import parse_log

# open_movie options that say how to read a file; kept in the session to reopen it the same way.
MOVIE_OPTIONS = ("dataset", "axes", "plane", "channel")


def open_movie_as_saved(data: SessionData):
    """Open the movie of ``data`` with the options it was first opened with (any thread).

    Raises
    ------
    InputFileError
        The movie cannot be read, or its shape differs from the one the results were made on
        (a different or changed file: frames would not match the traces).
    """
    from cnmf_gui.io import open_movie
    options = {k: v for k, v in (data.movie_options or {}).items() if k in MOVIE_OPTIONS}
    movie = open_movie(data.movie_path, **options)
    expected = tuple(int(v) for v in data.movie_shape)
    if tuple(int(v) for v in movie.shape) != expected:
        shape = " x ".join(str(v) for v in movie.shape)
        if hasattr(movie, "close"):
            movie.close()
        raise InputFileError(f"{data.movie_path} now reads as {shape} frames x rows x columns, but the "
                             f"session was made on {' x '.join(str(v) for v in expected)}: not the same movie")
    return movie


def recovery_path_for(path: str | os.PathLike) -> Path:
    """The autosave file that belongs to a session (or movie) file: ``NAME.recovery.h5`` beside it."""
    path = Path(path)
    return path.with_name(path.name + ".recovery.h5")


def default_session_path(movie_path: str | os.PathLike) -> Path:
    """Where a session for a movie is saved unless the user chooses: ``MOVIE_STEM.cnmf.h5`` beside it."""
    import glob
    import re
    text = os.fspath(movie_path)
    # "FILE.h5:/dataset" names a dataset inside FILE.h5: the session goes beside FILE.h5.
    inside = re.match(r"^(.+\.(?:h5|hdf5|hdf|he5)):/?[^:\\]+$", text, re.IGNORECASE)
    if inside and not os.path.exists(text):
        text = inside.group(1)
    movie_path = Path(text)
    stem = movie_path.name.split(".")[0] if not movie_path.is_dir() else movie_path.name
    if glob.has_magic(stem):
        # A glob ("run1_*.tif") stands for many files: a name without wildcards.
        stem = re.sub(r"[*?\[\]]+", "_", stem).strip("_") or "movie"
    return movie_path.parent / f"{stem}.cnmf.h5"


def is_session_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is a session file written by cnmf_gui (not a movie)."""
    from cnmf_gui.io import is_session_file as check
    return Path(path).is_file() and check(path)


def find_recovery(path: str | os.PathLike) -> Path | None:
    """The recovery file of ``path`` when there is one: unsaved work of a program that ended.

    A save and a discard delete the recovery file, so one that exists always holds work nobody
    saved; its age says nothing (touching or copying the session file must not hide it).
    """
    rec = recovery_path_for(path)
    return rec if rec.is_file() else None


def set_aside(recovery: Path) -> Path:
    """Rename an unclaimed recovery file (and its journal) so new work cannot overwrite it."""
    from cnmf_gui.session.recovery import set_aside as move
    return move(recovery)


def unsaved_recovery_path(movie_path: str | os.PathLike) -> Path:
    """Where a session never saved yet autosaves: the user's folder, never beside the raw data.

    A movie's folder may be shared or read-only; writing there is the user's choice (the first
    save asks where). The name carries the movie's name and a hash of its full path.
    """
    import hashlib

    from cnmf_gui.paths import user_data_dir
    movie_path = Path(os.path.abspath(os.fspath(movie_path)))
    key = hashlib.sha1(os.fspath(movie_path).encode("utf-8")).hexdigest()[:12]
    return user_data_dir() / "recovery" / f"{movie_path.name}-{key}.recovery.h5"


def save_target(session) -> Path | None:
    """The session's file, or the default offered beside its movie (None: nothing to suggest)."""
    if session.path is not None:
        return session.path
    if session.data is not None and session.data.movie_path:
        return default_session_path(session.data.movie_path)
    return None


def recovery_path(session) -> Path | None:
    """Where the session autosaves: beside its file, or the user's folder before a first save."""
    if session.path is not None:
        return recovery_path_for(session.path)
    if session.data is not None and session.data.movie_path:
        return unsaved_recovery_path(session.data.movie_path)
    return None


def recovery_for_open(path: str | os.PathLike) -> tuple[Path, Path | None] | None:
    """The autosave to offer when ``path`` is opened: ``(recovery file, session file it recovers)``.

    For a session file, its ``NAME.recovery.h5``. For a movie, the autosave of its never-saved
    session in the user's folder (:func:`unsaved_recovery_path`; the session file is then None:
    the first save asks where), or one beside its default session file (older programs).
    """
    path = Path(path)
    from cnmf_gui.session.recovery import has_journal
    if is_session_file(path):
        rec = find_recovery(path)
        if rec is None and has_journal(recovery_path_for(path)):
            rec = recovery_path_for(path)       # edits journaled before the first autosave
        return (rec, path) if rec is not None else None
    unsaved = unsaved_recovery_path(path)
    if unsaved.is_file():
        return unsaved, None
    beside = find_recovery(default_session_path(path))
    # Never the movie itself as the session file: Ctrl+S would overwrite it.
    return (beside, default_session_path(path)) if beside is not None else None


def _edit_lines(lines) -> list[str]:
    """Lines of a log that record curation (edits, undo, redo), not pipeline runs or notes."""
    out = []
    for line in lines:
        entries, _ = parse_log([line])
        if not entries:
            continue
        action = entries[0].get("action")
        if action in ("undo", "redo") or (action in COMMANDS and COMMANDS[action] is not PipelineReset):
            out.append(line)
    return out


def curation_at_risk(path, log: list[str]) -> int:
    """How many curation lines the session file ``path`` holds that ``log`` does not (0: none).

    A file that is not there, or not a session file, holds no curation. Used before writing over
    ``path``: a session that loaded the file carries its log, so only curation made elsewhere
    (another run of the window, another ``cnmf-gui curate``) counts.
    """
    if not is_session_file(path):
        return 0
    from cnmf_gui.io import load_session
    theirs = load_session(path).curation_log
    ours = set(log)
    return sum(1 for line in _edit_lines(theirs) if line not in ours)


class OverwriteRefused(UserError):
    """Saving would replace curation the session never loaded (ask, or pass force)."""


def snapshot(session) -> SessionData:
    """A copy of the session's results that another thread may write while the user keeps editing.

    Components objects are never changed in place, so sharing their arrays is safe; only the
    containers are copied.
    """
    import copy
    if session.data is None:
        raise InputFileError("nothing to save: open a movie or a session first")
    snap = copy.copy(session.data)
    snap.components = session.components
    snap.params = session.params
    snap.curation_log = list(session.data.curation_log)
    return snap


def save(session, path=None, *, force: bool = False) -> Path:
    """Write the session file now (in the calling thread); returns its path.

    Raises
    ------
    OverwriteRefused
        ``path`` holds curation this session did not load, and ``force`` is False.
    """
    from cnmf_gui.io import save_session
    path = Path(path) if path is not None else session.save_target()
    if path is None:
        raise InputFileError("no session file chosen: use Save As")
    if not force:
        lost = session.curation_at_risk(path)
        if lost:
            raise OverwriteRefused(f"{path} holds curation ({lost} log lines) that this session did not "
                                   f"load: refusing to overwrite it (--force replaces it)")
    marker = session.save_marker()
    revision = save_session(snapshot(session), path, expected_revision=expected_revision(session, path))
    mark_saved(session, path, marker=marker, file_revision=revision)
    return path


def expected_revision(session, path) -> int | None:
    """The revision ``path`` must still have for a save there to lose nothing (None: no check).

    Only the session's own file is checked: it was loaded (or last saved) at that revision, and
    a different one means another window or command saved it since.
    """
    if session.path is None or session.file_revision is None:
        return None
    if Path(path).resolve() != Path(session.path).resolve():
        return None
    return session.file_revision


def mark_saved(session, path, revision: int | None = None, *, marker=None,
               file_revision: int | None = None) -> bool:
    """A snapshot was written to ``path``: it is now the session file.

    Parameters
    ----------
    session : Session
    path : path-like
    revision : int, optional
        ``session.revision`` when the snapshot was taken (default: now). When the session has
        changed since, those later edits are not in the file: the session stays unsaved and the
        recovery file (which may hold them) is kept.
    marker : optional
        ``session.save_marker()`` when the snapshot was taken: undoing back to it later clears
        the unsaved mark.
    file_revision : int, optional
        The revision the save wrote in the file (checked by the next save).

    Returns
    -------
    bool
        True when the file holds everything (the session is clean now).
    """
    unsaved = session.recovery_path() if session.path is None else None
    session.path = Path(path)
    session.file_revision = file_revision
    if marker is not None:
        session._saved_at = marker
    if revision is not None and revision != session.revision:
        session.emit("dirty", session.dirty)  # the title shows the new file name, still unsaved
        return False
    session._saved_at = session.save_marker()
    from cnmf_gui.session.recovery import discard
    for rec in (recovery_path_for(session.path), unsaved):
        if rec is not None:
            discard(rec)          # the autosave and the journal: the file holds it all now
    session.set_dirty(False)
    return True


log = logging.getLogger(__name__)


def _default_writer(data, path) -> None:
    from cnmf_gui.io import save_session
    save_session(data, path)


class Autosaver:
    """Writes session snapshots to a recovery file in a background thread.

    Parameters
    ----------
    writer : callable(SessionData, path), optional
        Defaults to :func:`cnmf_gui.io.save_session` (which writes atomically).
    on_error : callable(str), optional
        Told (from the writing thread) when a write failed; the session itself is unharmed.
    """

    def __init__(self, writer: Callable | None = None, on_error: Callable[[str], None] | None = None):
        self._writer = writer or _default_writer
        self._on_error = on_error
        self._lock = threading.Lock()
        self._pending: tuple | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self.writes = 0
        self.last_path: Path | None = None

    def save_async(self, snapshot, path) -> None:
        """Write ``snapshot`` to ``path`` soon; a newer call replaces a write not yet started."""
        with self._lock:
            self._pending = (snapshot, Path(path))
            if not self._running:
                self._running = True
                self._thread = threading.Thread(target=self._loop, name="cnmf-gui autosave", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                job = self._pending
                self._pending = None
                if job is None:
                    self._running = False
                    return
            snapshot, path = job
            try:
                path.parent.mkdir(parents=True, exist_ok=True)   # the user's recovery folder
                self._writer(snapshot, path)
                self.writes += 1
                self.last_path = path
            except Exception as exc:  # noqa: BLE001 - a failed autosave must never end the program
                log.exception("autosave to %s failed", path)
                if self._on_error is not None:
                    self._on_error(f"autosave to {path} failed: {exc}")

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until pending writes are done; True when idle."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def discard(self, path) -> None:
        """Wait for writes, then delete the recovery file (the user saved or chose to discard)."""
        with self._lock:
            self._pending = None
        self.flush()
        from cnmf_gui.session.recovery import discard
        discard(path)


class AutosaveSchedule:
    """When the next autosave is due: soon after the edits pause, and never later than a bound.

    A quiet ``delay_s`` after the last change, but at most ``max_delay_s`` after the first change
    not yet autosaved, so a user who keeps editing (or a stream of results) is still covered.
    Every change a save writes counts: curation, parameters, motion and pipeline results.

    Parameters
    ----------
    delay_s : float
    max_delay_s : float
    """

    def __init__(self, delay_s: float = 2.0, max_delay_s: float = 10.0):
        self.delay_s = float(delay_s)
        self.max_delay_s = float(max_delay_s)
        self.first: float | None = None

    def changed(self, now: float) -> float:
        """A change at time ``now`` (seconds); returns how long until the autosave is due."""
        if self.first is None:
            self.first = now
        return max(0.0, min(now + self.delay_s, self.first + self.max_delay_s) - now)

    def done(self) -> None:
        """An autosave was written (or the changes were saved or discarded)."""
        self.first = None

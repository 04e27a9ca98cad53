"""What replaces a session's data: opening movies and session files, pipeline and motion results.

Functions of a :class:`~cnmf_gui.session.Session` (its methods of the same names call them), kept
apart so the facade stays a list of short entry points.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.results import SessionData
from cnmf_gui.session.files import (MOVIE_OPTIONS, default_session_path, is_session_file,
                                    open_movie_as_saved, recovery_for_open, recovery_path_for)


def set_data(session, data: SessionData, *, movie=None, path=None, dirty: bool = False,
             next_id: int | None = None, file_revision: int | None = None) -> None:
    """Replace everything with ``data`` (and the movie it came from, when open)."""
    s = session
    s.data = data
    s.movie = movie
    s.path = Path(path) if path is not None else None
    if data.params is not None:
        s.params = data.params
    elif data.frame_rate is not None and s.params.frame_rate is None:
        s.params = s.params.replace(None, frame_rate=data.frame_rate)
    facts = s.curation.load(data.components, data.curation_log)
    if next_id is not None:
        s.curation.next_id = max(s.curation.next_id, int(next_id))
    if facts.bad_lines:
        s.message(f"{facts.bad_lines} unreadable line(s) in the curation log were skipped")
    s.selected.clear_silently()
    s.partial = None
    s.frame = 0
    s.frames.invalidate()
    s.dirty = dirty
    s._other_changes = 0
    s._saved_at = None if dirty else s.save_marker()
    s.file_revision = file_revision
    s.revision += 1
    s.load_count += 1
    for event, args in (("data", ()), ("params", (s.params,)), ("history", ()), ("selection", (s.selection,)),
                        ("frame", (s.frame,)), ("dirty", (s.dirty,))):
        s.emit(event, *args)


def ids_used_by(path) -> int:
    """The next id after every id the session file ``path`` ever used (0 when it is no session)."""
    if not is_session_file(path):
        return 0
    from cnmf_gui.io import load_session
    from cnmf_gui.session.commands import read_log
    data = load_session(path)
    used = read_log(data.curation_log).max_id
    if data.components is not None and data.components.ids.size:
        used = max(used, int(data.components.ids.max()))
    return used + 1


def open_movie(session, path, *, frame_rate: float | None = None, **options) -> None:
    """Open a movie file (no results yet).

    ``options`` go to :func:`cnmf_gui.io.open_movie`; the ones that say how to read the file
    (``dataset``, ``axes``, ``plane``, ``channel``) are kept in ``data.movie_options`` so the
    session reopens the movie the same way. When a session file of this movie exists beside it
    (the window offers to open it instead), its ids stay retired: a new run numbers after them.
    """
    from cnmf_gui.io import open_movie as read
    movie = read(path, **options)
    if frame_rate:
        pass                          # the caller knows it (the demo movie, a --fs)
    elif session.data is None:
        # A fresh session's parameters were chosen for this movie (``cnmf-gui run --fs``).
        frame_rate = session.params.frame_rate or movie.frame_rate
    else:
        # Another recording's rate says nothing about this one: unknown stays unknown.
        frame_rate = movie.frame_rate
    kept = {k: options[k] for k in MOVIE_OPTIONS if options.get(k) is not None}
    data = SessionData(movie_path=os.fspath(Path(path).resolve()), movie_shape=tuple(movie.shape),
                       movie_dtype=str(np.dtype(movie.dtype)), frame_rate=frame_rate,
                       movie_options=kept, params=session.params.replace(None, frame_rate=frame_rate))
    set_data(session, data, movie=movie, path=None, next_id=ids_used_by(default_session_path(path)))
    from cnmf_gui.session.preset_check import preset_hint
    session.preset_hint = preset_hint(movie, session.params)
    if session.preset_hint:
        session.message(session.preset_hint)


def _open_movie_of(session, data: SessionData):
    if not data.movie_path:
        return None
    try:
        return open_movie_as_saved(data)
    except (InputFileError, OSError) as exc:
        session.message(f"movie not available, showing results only: {exc}")
        return None


def open_session(session, path, *, use_recovery: bool = False) -> None:
    """Open a session file (and its movie when it can be found); see Session.open_session."""
    from cnmf_gui.io import load_session, read_revision
    path = Path(path)
    if use_recovery:
        from cnmf_gui.session import recovery
        recovery.restore(session, path, recovery_path_for(path))
        return
    revision = read_revision(path)
    data = load_session(path)
    set_data(session, data, movie=_open_movie_of(session, data), path=path, dirty=False,
             file_revision=revision)


def open_any(session, path, *, use_recovery: bool = False, frame_rate: float | None = None,
             movie_options: dict | None = None) -> None:
    """Open a session file or a movie, whichever ``path`` is.

    ``use_recovery``: restore its autosave. ``frame_rate``: the movie's, when the file does not
    say. ``movie_options`` say how to read a movie (``dataset``, ``axes``, ``plane``, ``channel``);
    a file holding several movies and no ``dataset`` raises
    :class:`~cnmf_gui.errors.SeveralMoviesError` with the choices.
    """
    if is_session_file(path):
        open_session(session, path, use_recovery=use_recovery)
    elif use_recovery:
        found = recovery_for_open(path)
        if found is None:
            raise InputFileError(f"{path}: no recovery file to restore")
        from cnmf_gui.session import recovery
        rec, target = found
        recovery.restore(session, target, rec)
    else:
        open_movie(session, path, frame_rate=frame_rate, **(movie_options or {}))


def apply_pipeline_result(session, data: SessionData, *, provenance: dict | None = None) -> None:
    """Replace the results with a fresh pipeline run on the open movie (not undoable).

    The new components get ids from the session's next id on (ids are never reused), and the
    user's decisions and overrides, which were about the old components, are reset: the log
    keeps every earlier line and records the run as a reset (an import's, with ``provenance``).
    """
    s = session
    old = s.data
    if old is not None:
        data.movie_path = data.movie_path or old.movie_path
        data.movie_options = data.movie_options or dict(old.movie_options)
        data.curation_log = list(old.curation_log)
    else:
        data.curation_log = []
    next_id = s.curation.next_id
    s.curation.history.log = data.curation_log      # the reset line goes to the new log
    line = None
    if data.components is not None:
        data.components, line = s.curation.reset(data.components, motion=data.motion is not None,
                                                 provenance=provenance)
    set_data(s, data, movie=s.movie, path=s.path, dirty=True, next_id=next_id, file_revision=s.file_revision)
    s._other_changes += 1
    if line is not None:
        s.emit("log", line)


def apply_motion_result(session, motion) -> None:
    """Attach a motion-correction result to the open movie."""
    session.data.motion = motion
    session.frames.invalidate()
    session.set_dirty(True)
    session.emit("motion")


def run_pipeline(session, *, progress=None) -> None:
    """Run the whole pipeline on the open movie in this thread and apply the result."""
    from cnmf_gui.engine.pipeline import run_pipeline as pipeline
    if session.movie is None:
        raise InputFileError("no movie is open: open a movie first")
    from cnmf_gui.session.reopen import for_patch_workers, opener_for
    movie = for_patch_workers(session.movie, opener_for(session), session.params)
    apply_pipeline_result(session, pipeline(movie, session.params, progress=progress))


def set_params(session, params) -> None:
    """New parameters; they are saved with the session, so a change marks it unsaved."""
    s = session
    rate_changed = params.frame_rate != s.params.frame_rate
    changed = params != s.params
    s.params = params
    if s.data is not None:
        s.data.params = params
        if rate_changed and params.frame_rate:
            # The recording's frame rate is what time axes and the CSV time_s use: the user's
            # correction must reach it (saved with the session).
            s.data.frame_rate = float(params.frame_rate)
        if changed:
            s.set_dirty(True)
    s.emit("params", params)
    if rate_changed:
        s.emit("frame", s.frame)  # time labels and cursors in seconds


def after_edit(session, command) -> None:
    """After a curation command was done, undone or redone: caches, selection, unsaved mark.

    The session is clean again exactly when the curation is back at the state of the last save
    and nothing else changed since (undo back to the saved file clears the "*").
    """
    s = session
    if s.data is not None:
        s.data.components = s.curation.components
    s.frames.invalidate()
    if command.kind == "components":
        s.selected.prune()
    s.revision += 1
    saved = s._saved_at
    clean = saved is not None and saved[0] is s.curation.state and saved[1] == s._other_changes
    if clean != (not s.dirty):
        s.dirty = not clean
        s.emit("dirty", s.dirty)

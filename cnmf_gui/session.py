"""The running application's single source of truth, without Qt.

A :class:`Session` holds the movie, the parameters, the results (a
:class:`~cnmf_gui.results.SessionData`), the curation state with its undo/redo history, the
selection and the current frame. Views never talk to each other: they call the session and
subscribe to its plain events::

    session = Session()
    unsubscribe = session.subscribe("selection", lambda ids: print("selected", ids))
    session.set_data(data, movie=movie)
    session.select([3])              # prints: selected (3,)
    session.reject()                 # the selection; undoable
    session.undo()

Events and their arguments:

========== ====================================================================================
data       ()          everything was replaced (a movie, a session or pipeline results opened)
components ()          the set of components changed (merge, undo of a merge)
status     (ids,)      statuses of these component ids changed
traces     (ids,)      traces of these ids changed (deconvolution rerun)
selection  (ids,)      the selected ids, a tuple
frame      (t,)        the current frame index
dirty      (bool,)     unsaved changes appeared or were saved
log        (line,)     a line was appended to the curation log
params     (params,)   the parameters changed
history    ()          what undo/redo would do changed
preview    (id, res)   a live deconvolution preview (res None clears it)
motion     ()          the motion-correction result changed
message    (text,)     something to tell the user (status bar, log view)
========== ====================================================================================

The curation methods live in :mod:`cnmf_gui.session_curation`, frame rendering for the views in
:mod:`cnmf_gui.session_views`; both are mixed into :class:`Session`.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from pathlib import Path
from typing import Callable

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.params import PipelineParams
from cnmf_gui.results import SessionData
from cnmf_gui.session_curation import CurationMixin
from cnmf_gui.session_history import CurationState, History, pipeline_reset_line, replay
from cnmf_gui.session_views import ViewsMixin

EVENTS = ("data", "components", "status", "traces", "selection", "frame", "dirty", "log",
          "params", "history", "preview", "motion", "message")


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


class Session(CurationMixin, ViewsMixin):
    """State of one open recording; emits plain events when it changes.

    Parameters
    ----------
    params : PipelineParams, optional
        Starting parameters (defaults otherwise).
    """

    def __init__(self, params: PipelineParams | None = None):
        self._subscribers: dict[str, list[Callable]] = {name: [] for name in EVENTS}
        self.params = params if params is not None else PipelineParams()
        self.data: SessionData | None = None
        self.movie = None
        self.path: Path | None = None
        self.selection: tuple = ()
        self.frame = 0
        self.dirty = False
        # Counts every change that a save would have to write; a save that finishes after
        # further edits must not mark them saved (see mark_saved).
        self.revision = 0
        # Counts set_data calls: a job started on one file must not be applied to the next.
        self.load_count = 0
        self.history = History([])
        self._state: CurationState | None = None
        self._next_id = 0
        self._index: dict[int, int] = {}
        self._reset_caches()

    # ------------------------------------------------------------------------------------------
    # events
    # ------------------------------------------------------------------------------------------
    def subscribe(self, event: str, callback: Callable) -> Callable[[], None]:
        """Call ``callback(*args)`` whenever ``event`` happens; returns a function that unsubscribes."""
        if event not in self._subscribers:
            raise ValueError(f"unknown session event {event!r}: expected one of {', '.join(EVENTS)}")
        self._subscribers[event].append(callback)

        def unsubscribe():
            if callback in self._subscribers[event]:
                self._subscribers[event].remove(callback)
        return unsubscribe

    def emit(self, event: str, *args) -> None:
        for callback in list(self._subscribers[event]):
            callback(*args)

    def message(self, text: str) -> None:
        """Tell the user something (shown by the log view and the status bar)."""
        self.emit("message", text)

    # ------------------------------------------------------------------------------------------
    # loading
    # ------------------------------------------------------------------------------------------
    def set_data(self, data: SessionData, *, movie=None, path: str | os.PathLike | None = None,
                 dirty: bool = False) -> None:
        """Replace everything with ``data`` (and the movie it came from, when open)."""
        self.data = data
        self.movie = movie
        self.path = Path(path) if path is not None else None
        if data.params is not None:
            self.params = data.params
        elif data.frame_rate is not None and self.params.frame_rate is None:
            self.params = self.params.replace(None, frame_rate=data.frame_rate)
        self.history = History(data.curation_log)
        self._state = None
        self._next_id = 0
        if data.components is not None:
            replayed = replay(data.curation_log)
            self.history.next_seq = replayed.next_seq
            ids = data.components.ids
            self._next_id = max(replayed.max_id, int(ids.max()) if ids.size else -1) + 1
            alive = set(int(i) for i in ids)
            self._state = CurationState(data.components).with_changes(
                user_decided=replayed.user_decided & alive,
                overrides={k: v for k, v in replayed.overrides.items() if k in alive})
            if replayed.bad_lines:
                self.message(f"{replayed.bad_lines} unreadable line(s) in the curation log were skipped")
        self._reindex()
        self.selection = ()
        self.frame = 0
        self._reset_caches()
        self.dirty = dirty
        self.revision += 1
        self.load_count += 1
        self.emit("data")
        self.emit("params", self.params)
        self.emit("history")
        self.emit("selection", self.selection)
        self.emit("frame", self.frame)
        self.emit("dirty", self.dirty)

    def open_movie(self, path: str | os.PathLike, **options) -> None:
        """Open a movie file (no results yet).

        ``options`` go to :func:`cnmf_gui.io.open_movie`; the ones that say how to read the file
        (``dataset``, ``axes``, ``plane``, ``channel``) are kept in ``data.movie_options`` so the
        session reopens the movie the same way.
        """
        from cnmf_gui.io import open_movie
        movie = open_movie(path, **options)
        frame_rate = movie.frame_rate or self.params.frame_rate
        kept = {k: options[k] for k in MOVIE_OPTIONS if options.get(k) is not None}
        data = SessionData(movie_path=os.fspath(Path(path).resolve()), movie_shape=tuple(movie.shape),
                           movie_dtype=str(np.dtype(movie.dtype)), frame_rate=frame_rate,
                           movie_options=kept, params=self.params.replace(None, frame_rate=frame_rate))
        self.set_data(data, movie=movie, path=None)

    def open_session(self, path: str | os.PathLike, *, use_recovery: bool = False) -> None:
        """Open a session file (and its movie when it can be found).

        Parameters
        ----------
        path : path-like
            The session file.
        use_recovery : bool
            Read the autosaved recovery file beside it instead (after a crash); the session
            then counts as unsaved until the user saves.
        """
        from cnmf_gui.io import load_session
        path = Path(path)
        source = recovery_path_for(path) if use_recovery else path
        data = load_session(source)
        movie = self._open_movie_of(data)
        self.set_data(data, movie=movie, path=path, dirty=use_recovery)

    def open(self, path: str | os.PathLike, *, use_recovery: bool = False) -> None:
        """Open a session file or a movie, whichever ``path`` is.

        With ``use_recovery`` and a movie, the autosave of the movie's unsaved session is
        opened instead (:func:`recovery_for_open` tells where it is).
        """
        if is_session_file(path):
            self.open_session(path, use_recovery=use_recovery)
        elif use_recovery:
            found = recovery_for_open(path)
            if found is None:
                raise InputFileError(f"{path}: no recovery file to restore")
            from cnmf_gui.io import load_session
            rec, target = found
            data = load_session(rec)
            self.set_data(data, movie=self._open_movie_of(data), path=target, dirty=True)
        else:
            self.open_movie(path)

    def _open_movie_of(self, data: SessionData):
        if not data.movie_path:
            return None
        try:
            return open_movie_as_saved(data)
        except (InputFileError, OSError) as exc:
            self.message(f"movie not available, showing results only: {exc}")
            return None

    def apply_pipeline_result(self, data: SessionData) -> None:
        """Replace the results with a fresh pipeline run on the open movie (not undoable).

        The new components get ids from the session's next id on (ids are never reused, so a
        log entry or an export of an earlier run can never name a different neuron), and the
        user's decisions and epsilon overrides, which were about the old components, are
        reset: the log records the run as a reset that :func:`replay` honours.
        """
        movie = self.movie
        if data.movie_path is None and self.data is not None:
            data.movie_path = self.data.movie_path
        if self.data is not None and not data.movie_options:
            data.movie_options = dict(self.data.movie_options)
        log = self.data.curation_log if self.data is not None else []
        lines = log + [line for line in data.curation_log if line not in log]
        n_new = 0
        if data.components is not None:
            comps = data.components
            n_new = comps.n_components
            ids = self._next_id + np.arange(n_new, dtype=np.int64)
            data.components = dataclasses.replace(comps, ids=ids)
        reset = pipeline_reset_line(n_new, self._next_id)
        data.curation_log = lines + [reset]
        self.set_data(data, movie=movie, path=self.path, dirty=True)
        self.emit("log", reset)

    def apply_motion_result(self, motion) -> None:
        """Attach a motion-correction result to the open movie."""
        self.data.motion = motion
        self._reset_caches()
        self.set_dirty(True)
        self.emit("motion")

    # ------------------------------------------------------------------------------------------
    # parameters
    # ------------------------------------------------------------------------------------------
    def set_params(self, params: PipelineParams) -> None:
        rate_changed = params.frame_rate != self.params.frame_rate
        changed = params != self.params
        self.params = params
        if self.data is not None:
            self.data.params = params
            if rate_changed and params.frame_rate:
                # The recording's frame rate is what time axes and the CSV time_s use: the
                # user's correction must reach it (saved with the session).
                self.data.frame_rate = float(params.frame_rate)
            if changed:
                # Parameters are saved with the session: closing must not lose them silently.
                self.set_dirty(True)
        self.emit("params", params)
        if rate_changed:
            self.emit("frame", self.frame)  # time labels and cursors in seconds

    def set_param(self, stage: str | None, name: str, value) -> None:
        """Change one parameter; raises ParameterError (and changes nothing) when out of range."""
        self.set_params(self.params.replace(stage, **{name: value}))

    # ------------------------------------------------------------------------------------------
    # basic facts
    # ------------------------------------------------------------------------------------------
    @property
    def components(self):
        return self._state.components if self._state is not None else None

    @property
    def n_components(self) -> int:
        return self.components.n_components if self.components is not None else 0

    @property
    def ids(self) -> np.ndarray:
        return self.components.ids if self.components is not None else np.zeros(0, np.int64)

    @property
    def n_frames(self) -> int:
        if self.data is None:
            return 0
        return int(self.data.movie_shape[0])

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the field of view."""
        return tuple(int(v) for v in self.data.movie_shape[1:3])

    @property
    def frame_rate(self) -> float | None:
        if self.data is not None and self.data.frame_rate:
            return float(self.data.frame_rate)
        return self.params.frame_rate

    def time_of(self, frame: int) -> float:
        """Seconds since the start (frames when the frame rate is unknown)."""
        return frame / self.frame_rate if self.frame_rate else float(frame)

    def index_of(self, component_id: int) -> int:
        """Column of a component id in the current components; KeyError when absent."""
        return self._index[int(component_id)]

    def indices_of(self, ids) -> np.ndarray:
        return np.array([self._index[int(i)] for i in ids], dtype=np.intp)

    def has(self, component_id: int) -> bool:
        return int(component_id) in self._index

    def _reindex(self) -> None:
        self._index = {int(i): k for k, i in enumerate(self.ids)}

    # ------------------------------------------------------------------------------------------
    # selection and time
    # ------------------------------------------------------------------------------------------
    def select(self, ids, *, add: bool = False) -> None:
        """Select components by id (``add`` toggles them in the current selection)."""
        ids = tuple(int(i) for i in ids if self.has(i))
        if add:
            current = list(self.selection)
            for i in ids:
                if i in current:
                    current.remove(i)
                else:
                    current.append(i)
            ids = tuple(current)
        if ids != self.selection:
            self.selection = ids
            self.emit("selection", ids)
            self.emit("preview", None, None)

    def select_at(self, row: float, col: float, *, add: bool = False):
        """Select the component whose footprint is strongest at pixel (row, col); returns its id."""
        cid = self.component_at(row, col)
        if cid is None:
            if not add:
                self.select(())
            return None
        self.select([cid], add=add)
        return cid

    def set_frame(self, t: int) -> None:
        t = int(min(max(t, 0), max(self.n_frames - 1, 0)))
        if t != self.frame:
            self.frame = t
            self.emit("frame", t)

    # ------------------------------------------------------------------------------------------
    # saving
    # ------------------------------------------------------------------------------------------
    def set_dirty(self, dirty: bool) -> None:
        if dirty:
            self.revision += 1
        if dirty != self.dirty:
            self.dirty = dirty
            self.emit("dirty", dirty)

    def snapshot(self) -> SessionData:
        """A copy of the results that another thread may write while the user keeps editing.

        Components objects are never changed in place, so sharing their arrays is safe; only the
        containers are copied.
        """
        if self.data is None:
            raise InputFileError("nothing to save: open a movie or a session first")
        snap = copy.copy(self.data)
        snap.components = self.components
        snap.params = self.params
        snap.curation_log = list(self.data.curation_log)
        return snap

    def save_target(self) -> Path | None:
        """Where Ctrl+S writes: the session file, or the default beside the movie."""
        if self.path is not None:
            return self.path
        if self.data is not None and self.data.movie_path:
            return default_session_path(self.data.movie_path)
        return None

    def recovery_path(self) -> Path | None:
        target = self.save_target()
        return recovery_path_for(target) if target is not None else None

    def save(self, path: str | os.PathLike | None = None) -> Path:
        """Write the session file now (in the calling thread)."""
        from cnmf_gui.io import save_session
        path = Path(path) if path is not None else self.save_target()
        if path is None:
            raise InputFileError("no session file chosen: use Save As")
        save_session(self.snapshot(), path)
        self.mark_saved(path)
        return path

    def mark_saved(self, path: str | os.PathLike, revision: int | None = None) -> bool:
        """A snapshot was written to ``path``: it is now the session file.

        Parameters
        ----------
        path : path-like
        revision : int, optional
            :attr:`revision` when the snapshot was taken (default: now). When the session has
            changed since, those later edits are not in the file: the session stays unsaved and
            the recovery file (which may hold them) is kept.

        Returns
        -------
        bool
            True when the file holds everything (the session is clean now).
        """
        self.path = Path(path)
        if revision is not None and revision != self.revision:
            self.emit("dirty", self.dirty)  # the title shows the new file name, still unsaved
            return False
        rec = recovery_path_for(self.path)
        if rec.exists():
            rec.unlink()
        self.set_dirty(False)
        return True


def is_session_file(path: str | os.PathLike) -> bool:
    """True when ``path`` is a session file written by cnmf_gui (not a movie)."""
    from cnmf_gui.io import is_session_file as check
    return Path(path).is_file() and check(path)


def find_recovery(path: str | os.PathLike) -> Path | None:
    """The recovery file of ``path`` when it exists and is newer than the file itself (a crash)."""
    rec = recovery_path_for(path)
    if not rec.exists():
        return None
    path = Path(path)
    if path.exists() and path.stat().st_mtime > rec.stat().st_mtime:
        return None
    return rec


def recovery_for_open(path: str | os.PathLike) -> tuple[Path, Path] | None:
    """The autosave to offer when ``path`` is opened: ``(recovery file, session file it recovers)``.

    A session started from a movie autosaves beside its default session file
    (``MOVIE.cnmf.h5.recovery.h5``, see :meth:`Session.recovery_path`), so for a movie both that
    and a recovery file beside the movie itself are looked for.
    """
    path = Path(path)
    candidates = [path]
    if not is_session_file(path):
        candidates.insert(0, default_session_path(path))
    for target in candidates:
        rec = find_recovery(target)
        if rec is not None and rec.is_file():
            # Never the movie itself as the session file: Ctrl+S would overwrite it.
            return rec, candidates[0]
    return None

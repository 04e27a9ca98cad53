"""The application without Qt: one :class:`Session` that the window, the CLI and scripts drive.

A :class:`Session` is a thin facade over parts with their own state:

- :class:`~cnmf_gui.session.curation.Curation`: components, statuses, stable ids, user decisions,
  epsilon overrides and the undo/redo history that writes the curation log;
- :mod:`~cnmf_gui.session.commands`: one class per edit (do, undo, log line, replay);
- :class:`~cnmf_gui.session.frames.Frames`: what each view shows for frame t;
- :mod:`~cnmf_gui.session.files`: default paths, recovery, autosave, overwrite checks;
- :class:`~cnmf_gui.session.events.EventBus`: ``subscribe`` returns a handle to release.

Views call the session and subscribe to its events (never to each other)::

    session = Session()
    handle = session.subscribe("selection", lambda ids: print("selected", ids))
    session.set_data(data, movie=movie)
    session.select([3])              # prints: selected (3,)
    session.reject()                 # the selection; undoable, logged
    session.undo()
    handle.release()

The events and their arguments are listed in :data:`cnmf_gui.session.events.EVENTS`.
"""

from __future__ import annotations

from pathlib import Path

from cnmf_gui.errors import InputFileError
from cnmf_gui.params import PipelineParams
from cnmf_gui.results import STATUS_ACCEPTED, STATUS_REJECTED, STATUS_UNDECIDED, SessionData
from cnmf_gui.session import deconv, files, loading, seed as seeding, split as splitting
from cnmf_gui.session.commands import COMMANDS, ReplayError, read_log, replay
from cnmf_gui.session.curation import STATUS_NAMES, Curation
from cnmf_gui.session.deconv import DeconvRequest
from cnmf_gui.session.events import EVENTS, EventBus, Subscription, Subscriptions
from cnmf_gui.session.files import (MOVIE_OPTIONS, Autosaver, AutosaveSchedule, OverwriteRefused, curation_at_risk,
                                    default_session_path, find_recovery, is_session_file,
                                    open_movie_as_saved, recovery_for_open, recovery_path_for)
from cnmf_gui.session.frames import MODEL_VIEWS, STILLS, VIEWS, Frames, motion_warning
from cnmf_gui.session.selection import Selection

__all__ = ["Session", "EVENTS", "VIEWS", "STILLS", "MODEL_VIEWS", "STATUS_NAMES", "COMMANDS", "replay",
           "read_log", "ReplayError", "Autosaver", "AutosaveSchedule", "OverwriteRefused", "DeconvRequest", "Subscription",
           "Subscriptions", "default_session_path", "find_recovery", "is_session_file",
           "open_movie_as_saved", "recovery_for_open", "recovery_path_for", "MOVIE_OPTIONS", "motion_warning"]


class Session:
    """State of one open recording; emits plain events when it changes.

    Parameters
    ----------
    params : PipelineParams, optional
        Starting parameters (defaults otherwise).
    """

    def __init__(self, params: PipelineParams | None = None):
        self.events = EventBus(EVENTS)
        self.curation = Curation(self.events, on_change=self._on_curation_change)
        self.frames = Frames(self)
        self.selected = Selection(self.events, self.curation.has)
        self.params = params if params is not None else PipelineParams()
        self.data: SessionData | None = None
        self.movie = None
        self.path: Path | None = None
        self.frame = 0
        self.dirty = False
        # Counts every change that a save would have to write; a save that finishes after
        # further edits must not mark them saved (see mark_saved).
        self.revision = 0
        # Counts set_data calls: a job started on one file must not be applied to the next.
        self.load_count = 0
        # Changes a save writes that are not curation (parameters, motion, pipeline results);
        # with the curation state at the last save it tells when undo is back at the saved file.
        self._other_changes = 0
        self._saved_at = None
        self.partial = None      # the last partial result of a running job (cleared by new data)
        self.file_revision = None  # the revision of the session file when loaded or last saved

    # ------------------------------------------------------------------------------------------
    # events
    # ------------------------------------------------------------------------------------------
    def subscribe(self, event: str, callback) -> Subscription:
        """Call ``callback(*args)`` whenever ``event`` happens; the handle releases it."""
        return self.events.subscribe(event, callback)

    def emit(self, event: str, *args) -> None:
        self.events.emit(event, *args)

    def message(self, text: str) -> None:
        """Tell the user something (shown by the log view and the status bar)."""
        self.emit("message", text)

    # ------------------------------------------------------------------------------------------
    # loading (cnmf_gui.session.loading)
    # ------------------------------------------------------------------------------------------
    def set_data(self, data: SessionData, *, movie=None, path=None, dirty: bool = False) -> None:
        """Replace everything with ``data`` (and the movie it came from, when open)."""
        loading.set_data(self, data, movie=movie, path=path, dirty=dirty)

    def open_movie(self, path, *, frame_rate: float | None = None, **options) -> None:
        """Open a movie file (no results yet); ``options`` as for :func:`cnmf_gui.io.open_movie`."""
        loading.open_movie(self, path, frame_rate=frame_rate, **options)

    def open_session(self, path, *, use_recovery: bool = False) -> None:
        """Open a session file; with ``use_recovery`` its autosave instead (unsaved until saved)."""
        loading.open_session(self, path, use_recovery=use_recovery)

    def open(self, path, **how) -> None:
        """Open a session file or a movie; ``how``: :func:`loading.open_any`'s keywords."""
        loading.open_any(self, path, **how)

    def apply_pipeline_result(self, data: SessionData) -> None:
        """Replace the results with a fresh pipeline run (new ids, a reset line in the log)."""
        loading.apply_pipeline_result(self, data)

    def apply_motion_result(self, motion) -> None:
        loading.apply_motion_result(self, motion)

    def run_pipeline(self, *, progress=None) -> None:
        """Run the pipeline on the open movie in this thread (the CLI's way) and apply it."""
        loading.run_pipeline(self, progress=progress)

    def retire_ids_of(self, path) -> None:
        """Number new components after every id the session file ``path`` used (when it is one)."""
        self.curation.next_id = max(self.curation.next_id, loading.ids_used_by(path))

    def close_movie(self) -> None:
        """Close the movie's file (the results stay; views that need frames have none)."""
        if self.movie is not None and hasattr(self.movie, "close"):
            self.movie.close()
        self.movie = None
        self.frames.invalidate()

    def partial_result(self, data) -> None:
        """A running job's partial result (footprints found so far): views may show it."""
        self.partial = data
        self.emit("partial", data)

    # ------------------------------------------------------------------------------------------
    # basic facts
    # ------------------------------------------------------------------------------------------
    @property
    def history(self):
        return self.curation.history

    @property
    def components(self):
        return self.curation.components

    @property
    def n_components(self) -> int:
        return self.components.n_components if self.components is not None else 0

    @property
    def ids(self):
        return self.curation.ids

    @property
    def next_id(self) -> int:
        """The id the next new component gets (ids are never reused)."""
        return self.curation.next_id

    @property
    def n_frames(self) -> int:
        return int(self.data.movie_shape[0]) if self.data is not None else 0

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
        return self.curation.index_of(component_id)

    def indices_of(self, ids):
        return self.curation.indices_of(ids)

    def has(self, component_id: int) -> bool:
        return self.curation.has(component_id)

    def status_of(self, component_id: int) -> int:
        return self.curation.status_of(component_id)

    def is_user_decided(self, component_id: int) -> bool:
        return self.curation.is_user_decided(component_id)

    def epsilon_override(self, component_id: int) -> float | None:
        return self.curation.epsilon_override(component_id)

    # ------------------------------------------------------------------------------------------
    # parameters
    # ------------------------------------------------------------------------------------------
    def set_params(self, params: PipelineParams) -> None:
        """New parameters (saved with the session; the frame rate also reaches the recording)."""
        loading.set_params(self, params)

    def set_param(self, stage: str | None, name: str, value) -> None:
        """Change one parameter; raises ParameterError (and changes nothing) when out of range."""
        self.set_params(self.params.replace(stage, **{name: value}))

    # ------------------------------------------------------------------------------------------
    # selection and time
    # ------------------------------------------------------------------------------------------
    @property
    def selection(self) -> tuple:
        """The selected ids, in the order picked."""
        return self.selected.ids

    def select(self, ids, *, add: bool = False) -> None:
        """Select components by id (``add`` toggles them in the current selection)."""
        self.selected.set(ids, add=add)

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
    # curation: every edit is a command (cnmf_gui.session.commands), logged by the history
    # ------------------------------------------------------------------------------------------
    def _ids_or_selection(self, ids) -> list[int]:
        return self.curation.check_ids(self.selection if ids is None else ids)

    def _on_curation_change(self, command, undone: bool) -> None:
        loading.after_edit(self, command)

    def set_status(self, ids, status: int) -> int:
        """The user sets the status of components (default: the selection); returns how many changed."""
        self.curation.require()
        return self.curation.set_status(self._ids_or_selection(ids), status)

    def accept(self, ids=None) -> int:
        return self.set_status(ids, STATUS_ACCEPTED)

    def reject(self, ids=None) -> int:
        return self.set_status(ids, STATUS_REJECTED)

    def undecide(self, ids=None) -> int:
        return self.set_status(ids, STATUS_UNDECIDED)

    def apply_thresholds(self, evaluation=None) -> tuple[int, int, int]:
        """Statuses by the pipeline's rule (``evaluation``: EvalParams, default the session's) for
        every component nobody decided; returns the (accepted, rejected, undecided) counts."""
        ev = evaluation if evaluation is not None else self.params.evaluation
        return self.curation.apply_thresholds(ev, neuron_radius=self.params.init.neuron_radius)

    def merge(self, ids=None) -> int:
        """Merge components (default: the selection) into one with a new id; returns that id.

        See :mod:`cnmf_gui.session.merge`; undo brings the originals back.
        """
        from cnmf_gui.session.merge import merge
        self.curation.require()
        new_id = merge(self, self._ids_or_selection(ids))
        self.select([new_id])
        return new_id

    def seed(self, row: int, col: int) -> int:
        """Fit a missed cell at (row, col) as a new component (:mod:`~cnmf_gui.session.seed`); returns its id."""
        return seeding.seed(self, int(row), int(col))

    def split(self, component_id=None, points=None) -> list[int]:
        """Split a component (default: the selected one) in two (:mod:`~cnmf_gui.session.split`); returns the new ids."""
        return splitting.split(self, component_id, points)

    def undo(self) -> bool:
        """Undo the last edit; returns False when there is nothing to undo."""
        return self._reselect(self.curation.undo(), undone=True)

    def redo(self) -> bool:
        """Redo the last undone edit; returns False when there is nothing to redo."""
        return self._reselect(self.curation.redo(), undone=False)

    def _reselect(self, command, *, undone: bool) -> bool:
        ids = None if command is None else (command.selection_after_undo() if undone else command.selection_after_redo())
        if ids is not None:
            self.select(ids)
        return command is not None

    def replay(self, lines: list[str]) -> int:
        """Do the edits of a curation log again on these components (see :func:`commands.replay`)."""
        return replay(self, lines)

    # ------------------------------------------------------------------------------------------
    # deconvolution: request (main thread) -> run (any thread) -> apply (main thread)
    # ------------------------------------------------------------------------------------------
    def deconvolution_request(self, ids=None, *, epsilon=None, p=None, s_min=None, use_global=False,
                              global_epsilon=None) -> DeconvRequest:
        """Prepare a rerun of deconvolution (see :func:`cnmf_gui.session.deconv.request`)."""
        return deconv.request(self, ids, epsilon=epsilon, p=p, s_min=s_min, use_global=use_global,
                              global_epsilon=global_epsilon)

    def apply_deconvolution(self, request: DeconvRequest, result) -> list[int]:
        """Put a finished rerun's traces in place (undoable); statuses are untouched."""
        return deconv.apply_deconvolution(self.curation, request, result)

    def deconvolve(self, ids=None, *, epsilon=None, use_global=False, p=None, s_min=None,
                   global_epsilon=None, progress=None) -> list[int]:
        """Request, run and apply a rerun in this thread (the CLI's and scripts' way)."""
        request = self.deconvolution_request(ids, epsilon=epsilon, use_global=use_global, p=p,
                                             s_min=s_min, global_epsilon=global_epsilon)
        return self.apply_deconvolution(*request.run(progress))

    def preview_deconvolution(self, component_id: int, epsilon: float):
        """Deconvolve one component for a live preview (changes nothing; emits ``preview``)."""
        return deconv.preview(self, component_id, epsilon)

    # ------------------------------------------------------------------------------------------
    # what the views show (cnmf_gui.session.frames)
    # ------------------------------------------------------------------------------------------
    def available_views(self) -> list[str]:
        return self.frames.available_views()

    def is_still(self, view: str) -> bool:
        return self.frames.is_still(view)

    def still_image(self, view: str):
        return self.frames.still_image(view)

    def frame_image(self, view: str, t: int):
        return self.frames.frame_image(view, t)

    def corrected_movie(self):
        return self.frames.corrected_movie()

    def model_views(self):
        return self.frames.model_views()

    def component_at(self, row: float, col: float):
        return self.frames.component_at(row, col)

    def footprint(self, component_id: int):
        return self.frames.footprint(component_id)

    # ------------------------------------------------------------------------------------------
    # saving
    # ------------------------------------------------------------------------------------------
    def set_dirty(self, dirty: bool) -> None:
        """Mark a change that is not curation (parameters, motion, results) or a clean state."""
        if dirty:
            self.revision += 1
            self._other_changes += 1
        if dirty != self.dirty:
            self.dirty = dirty
            self.emit("dirty", dirty)

    def snapshot(self) -> SessionData:
        """A copy of the results that another thread may write while the user keeps editing."""
        return files.snapshot(self)

    def save_marker(self):
        """What a save of the current state holds (for :meth:`mark_saved`)."""
        return (self.curation.state, self._other_changes)

    def save_target(self) -> Path | None:
        """The session file, or the default offered beside the movie (None: nothing to suggest)."""
        return files.save_target(self)

    def recovery_path(self) -> Path | None:
        """Where autosave writes: beside the session file, or the user's folder before a first save."""
        return files.recovery_path(self)

    def curation_at_risk(self, path) -> int:
        """Curation lines in ``path`` that a save there would drop (0 for this session's own file)."""
        if self.path is not None and Path(path).resolve() == self.path.resolve():
            return 0
        return curation_at_risk(path, self.data.curation_log if self.data is not None else [])

    def save(self, path=None, *, force: bool = False) -> Path:
        """Write the session file now; refuses to drop curation it did not load unless ``force``."""
        return files.save(self, path, force=force)

    def mark_saved(self, path, revision: int | None = None, *, marker=None, file_revision=None) -> bool:
        """A snapshot was written to ``path`` (see :func:`cnmf_gui.session.files.mark_saved`)."""
        return files.mark_saved(self, path, revision, marker=marker, file_revision=file_revision)

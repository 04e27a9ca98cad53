"""Online CNMF as a session-level job: the results grow in the session while frames arrive.

:class:`OnlineRun` prepares the job in the main thread (:meth:`OnlineRun.job` returns
``fn(progress) -> OnlineOutcome`` for any thread, touching nothing of the session), and applies
what the job hands over in the main thread: every partial result (:meth:`apply_partial`) and the
outcome (:meth:`apply_outcome`) replace the components with the run's, numbered from the ids
the run was given at its first result (the engine only appends components, so an id always
means the same component), and keep what the user decided meanwhile: a status the user set
during the run stays, and the curation log keeps every line. Stopping the job (the progress's
cancel flag) ends the run after the current frame with a normal session.

Used by the window (Run > Online) and by ``cnmf-gui online``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.session import loading


class LiveMovie:
    """What the movie view shows while a run goes on: the newest frame, for any index.

    The run keeps no movie (memory stays flat); every frame index shows the last frame handed
    over, already motion-corrected.
    """

    def __init__(self, frame: np.ndarray, n_frames: int):
        self.frame = np.asarray(frame, np.float32)
        self.shape = (int(n_frames),) + self.frame.shape
        self.dtype = np.dtype(np.float32)
        self.frame_rate = None
        self.ndim = 3

    def __len__(self):
        return self.shape[0]

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self.frame
        if isinstance(key, slice):
            n = len(range(*key.indices(self.shape[0])))
            return np.broadcast_to(self.frame, (n,) + self.frame.shape)
        raise TypeError("LiveMovie supports movie[t] and movie[a:b]")


class OnlineRun:
    """An online run of a session on a source (see the module docstring).

    Parameters
    ----------
    session : Session
    source : path-like
        File or folder (see :class:`cnmf_gui.io.frame_stream.FrameStream`).
    follow : bool
        Wait for frames that are still being written.
    until_idle : float or None
        With ``follow``: end after this many seconds without a new frame.
    on_checkpoint : callable(SessionData), optional
        Called from the job's thread every ``online.checkpoint_seconds`` with the results so far
        (movie path set; curation log as it was when the job started).
    """

    def __init__(self, session, source, *, follow: bool = False, until_idle: float | None = None,
                 poll: float = 0.05, on_checkpoint=None):
        self.session = session
        self.source = Path(source)
        if not self.source.exists():
            raise InputFileError(f"{self.source}: no such file or folder")
        self.follow, self.until_idle, self.poll = follow, until_idle, poll
        self.params = session.params
        self.on_checkpoint = on_checkpoint
        self.base_id: int | None = None
        self.last_line = ""
        self.stopped: str | None = None

    # ------------------------------------------------------------------------------------------
    def job(self):
        """``fn(progress) -> OnlineOutcome``: reads the source and runs online CNMF (any thread)."""
        from cnmf_gui.io.frame_stream import FrameStream

        source, follow, until_idle, poll, params = self.source, self.follow, self.until_idle, self.poll, self.params
        checkpoint = self.on_checkpoint
        path = os.fspath(self.source.resolve())

        def fn(progress):
            from cnmf_gui.engine.online import run_online
            stream = FrameStream(source, follow=follow, until_idle=until_idle, poll=poll, heartbeat=True)
            run_params = params
            if stream.frame_rate and params.frame_rate is None:
                run_params = params.replace(None, frame_rate=stream.frame_rate)

            def saved(data):
                data.movie_path = path
                checkpoint(data)
            return run_online(stream, run_params, progress=progress, available=stream.available,
                              on_checkpoint=saved if checkpoint is not None else None)
        return fn

    # ------------------------------------------------------------------------------------------
    def apply_partial(self, partial) -> None:
        """Show a running job's results (main thread)."""
        self.last_line = partial.line
        self._apply(partial.data, LiveMovie(partial.frame, partial.data.movie_shape[0]), live=True)

    def apply_outcome(self, outcome) -> None:
        """Put the finished run's results in the session (main thread): a normal session."""
        self.stopped = outcome.stopped
        if outcome.data is None:
            return
        data = outcome.data
        data.movie_path = os.fspath(self.source.resolve())
        movie = None
        try:
            from cnmf_gui.session.files import open_movie_as_saved
            movie = open_movie_as_saved(data)
        except (InputFileError, OSError) as exc:
            self.session.message(f"online: showing results without the movie ({exc})")
        self._apply(data, movie, live=False)
        if outcome.stopped:
            self.session.message(f"online: {outcome.stopped}")

    def _apply(self, data, movie, *, live: bool) -> None:
        s = self.session
        data.movie_path = os.fspath(self.source.resolve())
        if live:
            data.motion = None      # the live view shows frames already corrected
        selection = s.selection
        if self.base_id is None:
            if s.data is not None and s.data.movie_path != data.movie_path:
                # Another recording was open: start from an empty session of this source (its
                # log and decisions were about other cells).
                from cnmf_gui.results import SessionData
                loading.set_data(s, SessionData(movie_path=data.movie_path, movie_shape=data.movie_shape,
                                                frame_rate=data.frame_rate, params=s.params), movie=None)
            self.base_id = s.next_id
            loading.apply_pipeline_result(s, data)
            s.movie = movie
            s.frames.invalidate()
        else:
            comps = data.components.with_ids(self.base_id + np.arange(data.components.n_components))
            old = s.components
            if old is not None:
                status = comps.status.copy()
                reason = comps.reason.copy()
                for k, cid in enumerate(comps.ids):
                    if s.is_user_decided(int(cid)) and s.has(int(cid)):
                        status[k] = s.status_of(int(cid))
                        reason[k] = ""
                comps.status, comps.reason = status, reason
            data.components = comps
            data.curation_log = s.data.curation_log if s.data is not None else []
            loading.set_data(s, data, movie=movie, path=s.path, dirty=True,
                             next_id=self.base_id + comps.n_components, file_revision=s.file_revision)
        keep = [i for i in selection if s.has(i)]
        if keep:
            s.select(keep)
        if live and s.n_frames:
            s.set_frame(s.n_frames - 1)

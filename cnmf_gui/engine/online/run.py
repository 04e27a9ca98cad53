"""The online loop: frames from any iterable in, results and live reports out.

:func:`run_online` takes frames one at a time from an iterator (a file read as if live, a folder
being filled, a growing file: the caller's business, see ``io.frame_stream``), initialises on
the first ``online.init_frames`` and processes the rest as they come. It reports progress
(frames, fps, components, lag) through the ``progress`` protocol, hands the current results
over as partial results at most every ``partial_seconds`` (when the caller takes them), and
calls ``on_checkpoint(data)`` every ``online.checkpoint_seconds`` (the CLI saves the session
there). A problem of the source after initialisation (a truncated page, a frame of another
size, an idle timeout) ends the run with what it has and the reason; so does a stop request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from cnmf_gui.engine.online.cnmf import OnlineCNMF
from cnmf_gui.engine.online.result import to_session_data
from cnmf_gui.errors import InputFileError, UserError
from cnmf_gui.progress import hand_over


@dataclass
class OnlineOutcome:
    """What an online run ends with.

    data : SessionData (None when the stream ended before initialisation); stopped : str or None,
    the reason the run ended early (a problem of the source, "stopped by the user"), None when
    the stream ended normally; latency : (n,) seconds per processed frame after initialisation;
    cpu : (n,) CPU seconds of this thread per processed frame (what the frame costs, apart from
    the other processes that share the machine); fps : frames per second end to end after
    initialisation; init_seconds : float.
    """

    data: object
    stopped: str | None = None
    latency: np.ndarray = field(default_factory=lambda: np.zeros(0))
    cpu: np.ndarray = field(default_factory=lambda: np.zeros(0))
    fps: float = 0.0
    init_seconds: float = 0.0
    error: Exception | None = None


@dataclass
class OnlinePartial:
    """What a running job hands over: the results so far, the newest corrected frame (H, W) and
    the live line (frames, fps, components, lag)."""

    data: object
    frame: np.ndarray
    line: str


def live_line(n_frames: int, fps: float, n_components: int, lag_frames: int | None, frame_rate: float) -> str:
    """The status line shown while a run goes on (terminal and window)."""
    lag = "" if lag_frames is None else f", lag {lag_frames} frames ({lag_frames / frame_rate:.1f} s)"
    return f"{n_frames} frames, {fps:.1f} fps, {n_components} components{lag}"


def run_online(frames, params, *, progress=None, available=None, on_checkpoint=None,
               partial_seconds: float = 1.0, report_seconds: float = 0.5) -> OnlineOutcome:
    """Online CNMF over an iterable of frames.

    Parameters
    ----------
    frames : iterable of ndarray of shape (H, W)
        May raise :class:`~cnmf_gui.errors.UserError` (bad input, idle timeout): after
        initialisation the run ends there, with the results so far and the message.
    params : PipelineParams
    progress : Progress, optional
        ``report`` gets the live line; ``partial`` (when present) a SessionData of the results
        so far; a cancellation request stops the run cleanly after the current frame.
    available : callable () -> int or None, optional
        Frames the source holds so far (for the lag).
    on_checkpoint : callable(SessionData), optional
        Called every ``params.online.checkpoint_seconds``.

    Returns
    -------
    OnlineOutcome
    """
    run = OnlineCNMF(params)
    op = params.online
    takes_partials = getattr(progress, "partial", None) is not None
    head = []
    it = iter(frames)
    t_start = time.perf_counter()
    try:
        for frame in it:
            if frame is None:       # the source is waiting for the microscope
                if progress is not None and progress.cancel_requested():
                    return OnlineOutcome(data=None, stopped="stopped by the user before initialisation")
                continue
            head.append(np.asarray(frame, np.float32))
            if len(head) >= op.init_frames:
                break
            if progress is not None and progress.cancel_requested():
                return OnlineOutcome(data=None, stopped="stopped by the user before initialisation")
    except UserError as exc:
        if len(head) < 10:
            raise
        stop_reason, error = str(exc), exc
    else:
        stop_reason = error = None
    if not head:
        raise InputFileError("the stream ended before its first frame")
    shapes = {f.shape for f in head}
    if len(shapes) > 1:
        raise InputFileError(f"frames of different sizes before initialisation: {sorted(shapes)}")
    run.initialize(np.stack(head), progress=progress)
    del head
    init_seconds = time.perf_counter() - t_start
    # One frame's matrix products are small: BLAS threads only fight each other (and the
    # acquisition) for the cores, 10-100x slower than one thread on a loaded 2-core machine.
    with threadpool_limits(limits=1, user_api="blas"):
        latency, cpu, stop_reason, error, t0, n0 = _loop(run, it, progress, available, on_checkpoint,
                                                    takes_partials, partial_seconds, report_seconds,
                                                    stop_reason, error)
    elapsed = time.perf_counter() - t0
    fps = (run.n_frames - n0) / elapsed if elapsed > 0 else 0.0
    return OnlineOutcome(data=to_session_data(run), stopped=stop_reason, latency=np.asarray(latency),
                         cpu=np.asarray(cpu), fps=fps, init_seconds=init_seconds, error=error)


def _loop(run, it, progress, available, on_checkpoint, takes_partials, partial_seconds, report_seconds,
          stop_reason, error):
    """Frames after initialisation until the source ends, fails or a stop is requested."""
    op = run.params.online
    fr = run.params.frame_rate or 30.0
    latency, cpu = [], []
    line = ""
    t0 = last_report = last_partial = last_check = time.perf_counter()
    n0 = saved = run.n_frames
    while stop_reason is None:
        try:
            frame = next(it)
        except StopIteration:
            break
        except UserError as exc:
            stop_reason, error = str(exc), exc
            break
        if frame is not None:
            a, ca = time.perf_counter(), time.thread_time()
            try:
                run.process(frame)
            except InputFileError as exc:
                stop_reason, error = str(exc), exc
                break
            latency.append(time.perf_counter() - a)
            cpu.append(time.thread_time() - ca)
        now = time.perf_counter()
        if progress is not None:
            if progress.cancel_requested():
                stop_reason = "stopped by the user"
                break
            if now - last_report >= report_seconds:
                last_report = now
                lag = None if available is None else max(int(available()) - run.n_frames, 0)
                fps = (run.n_frames - n0) / max(now - t0, 1e-9)
                line = live_line(run.n_frames, fps, run.n_components, lag, fr)
                progress.report(0.0, line)
            if takes_partials and frame is not None and now - last_partial >= partial_seconds:
                hand_over(progress, OnlinePartial(to_session_data(run, dff=False), run.newest.copy(), line))
                last_partial = time.perf_counter()
        # also while the source waits: the frames since the last checkpoint are saved
        if on_checkpoint is not None and now - last_check >= op.checkpoint_seconds and run.n_frames > saved:
            on_checkpoint(to_session_data(run))
            saved = run.n_frames
            last_check = time.perf_counter()
    return latency, cpu, stop_reason, error, t0, n0

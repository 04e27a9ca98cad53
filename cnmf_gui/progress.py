"""A small, Qt-free protocol for progress reports and cancellation.

Every long engine function takes ``progress=None`` and calls :func:`checkpoint` between frame
batches, iterations or components, and may hand over a partial result with :func:`hand_over`
(e.g. the components found so far) for the caller to show while the job runs. The GUI's worker
and the terminal progress bar implement :class:`Progress`; the engine never knows which one it
talks to.
"""

from __future__ import annotations

import threading
from typing import Callable, Protocol, runtime_checkable

from cnmf_gui.errors import Cancelled


@runtime_checkable
class Progress(Protocol):
    """What a long computation may ask of its caller."""

    def report(self, fraction: float, message: str = "") -> None:
        """Tell the caller that ``fraction`` (0 to 1) of the work is done."""

    def cancel_requested(self) -> bool:
        """Return True when the caller wants the computation to stop."""

    # Optional: ``partial(result)`` receives partial results (see :func:`hand_over`).


class NullProgress:
    """Reports nowhere and is never cancelled (the default)."""

    def report(self, fraction: float, message: str = "") -> None:
        pass

    def cancel_requested(self) -> bool:
        return False


class CallbackProgress:
    """Progress that forwards reports to a callable and has a thread-safe cancel flag.

    Parameters
    ----------
    callback : callable(fraction, message) or None
        Called on every report, from the computing thread.
    on_partial : callable(result) or None
        Called with each partial result, from the computing thread.
    """

    def __init__(self, callback: Callable[[float, str], None] | None = None,
                 on_partial: Callable[[object], None] | None = None):
        self._callback = callback
        self._on_partial = on_partial
        self._cancel = threading.Event()

    def partial(self, result) -> None:
        if self._on_partial is not None:
            self._on_partial(result)

    def report(self, fraction: float, message: str = "") -> None:
        if self._callback is not None:
            self._callback(float(min(max(fraction, 0.0), 1.0)), message)

    def cancel(self) -> None:
        """Ask the computation to stop at its next checkpoint (any thread)."""
        self._cancel.set()

    def cancel_requested(self) -> bool:
        return self._cancel.is_set()


class SubProgress:
    """Maps a stage's 0..1 onto the slice ``[start, stop]`` of a parent's progress.

    Lets a pipeline hand each stage its own progress object without the stage knowing how
    much of the whole it is.
    """

    def __init__(self, parent: Progress | None, start: float, stop: float, prefix: str = ""):
        self._parent = parent if parent is not None else NullProgress()
        self._start = float(start)
        self._stop = float(stop)
        self._prefix = prefix

    def report(self, fraction: float, message: str = "") -> None:
        f = min(max(float(fraction), 0.0), 1.0)
        msg = f"{self._prefix}: {message}" if self._prefix and message else (self._prefix or message)
        self._parent.report(self._start + f * (self._stop - self._start), msg)

    def cancel_requested(self) -> bool:
        return self._parent.cancel_requested()

    def partial(self, result) -> None:
        hand_over(self._parent, result)


def hand_over(progress: Progress | None, result) -> None:
    """Give the caller a partial result (when it takes them); the computation goes on.

    The result must not be changed afterwards by the computation: the caller may read it from
    another thread (the GUI shows it in the main thread while the job continues).
    """
    partial = getattr(progress, "partial", None)
    if partial is not None:
        partial(result)


def checkpoint(progress: Progress | None, fraction: float | None = None, message: str = "") -> None:
    """Report ``fraction`` (when given) and raise :class:`Cancelled` if a stop was requested.

    Parameters
    ----------
    progress : Progress or None
        None means nobody is listening; the call then does nothing.
    fraction : float, optional
        Fraction of the work done so far, 0 to 1.
    message : str
        Short description of the current step.
    """
    if progress is None:
        return
    if fraction is not None:
        progress.report(fraction, message)
    if progress.cancel_requested():
        raise Cancelled(message or "cancelled")

"""One background thread for every long job (motion correction, CNMF, deconvolution, export).

A :class:`Worker` owns a QThread (with an explicit 16 MiB stack: BLAS overflows the small default
on macOS) and a runner QObject living in it. A job is a plain callable ``fn(progress)`` that
returns a result; it runs in the thread, reports through a
:class:`~cnmf_gui.progress.CallbackProgress` whose cancel flag is thread-safe, and its outcome
comes back to the main thread as a signal: ``finished(name, result)``, ``failed(name, message,
traceback)`` or ``cancelled(name)``. The job never touches the session; whoever started it
applies the result in the main thread (the ``on_done`` callback of :meth:`Worker.start`).

Only one job runs at a time: :meth:`Worker.start` refuses a second one (returns False).
"""

from __future__ import annotations

import logging
import time
import traceback
import weakref
from typing import Callable

from PyQt6.QtCore import QObject, QThread, pyqtSignal, pyqtSlot

from cnmf_gui.errors import Cancelled, UserError
from cnmf_gui.progress import CallbackProgress

log = logging.getLogger(__name__)

STACK_SIZE = 16 * 1024 * 1024
# Progress reports are forwarded at most this often, so a chatty job cannot flood the event loop.
REPORT_INTERVAL = 0.05
_WORKERS: "weakref.WeakSet[Worker]" = weakref.WeakSet()


def running_threads() -> list[QThread]:
    """Worker threads still running (tests fail on any left after a test)."""
    out = []
    for worker in list(_WORKERS):
        try:
            if worker.thread.isRunning():
                out.append(worker.thread)
        except RuntimeError:  # the C++ object is already gone
            continue
    return out


class _Job:
    def __init__(self, name: str, fn: Callable, progress: CallbackProgress):
        self.name = name
        self.fn = fn
        self.progress = progress


class _Runner(QObject):
    """Lives in the worker thread and runs one job at a time."""

    progress = pyqtSignal(float, str)
    partial = pyqtSignal(object)
    finished = pyqtSignal(str, object)
    failed = pyqtSignal(str, str, str)
    cancelled = pyqtSignal(str)

    @pyqtSlot(object)
    def run(self, job: _Job) -> None:
        try:
            result = job.fn(job.progress)
        except Cancelled:
            self.cancelled.emit(job.name)
        except UserError as exc:
            self.failed.emit(job.name, str(exc), "")
        except BaseException as exc:  # noqa: BLE001 - any failure must reach the user, not kill the thread
            log.exception("job %s failed", job.name)
            self.failed.emit(job.name, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        else:
            self.finished.emit(job.name, result)


class Worker(QObject):
    """The application's background worker.

    Signals
    -------
    started(name)
    progress(fraction, message)
        Throttled to about 20 per second (the last report of a job always arrives).
    partial(result)
        A partial result the job handed over (:func:`cnmf_gui.progress.hand_over`), in the
        main thread; also given to the ``on_partial`` callback of :meth:`start`.
    finished(name, result), failed(name, message, traceback), cancelled(name)
    busy_changed(bool)
    """

    started = pyqtSignal(str)
    progress = pyqtSignal(float, str)
    partial = pyqtSignal(object)
    finished = pyqtSignal(str, object)
    failed = pyqtSignal(str, str, str)
    cancelled = pyqtSignal(str)
    busy_changed = pyqtSignal(bool)
    _submit = pyqtSignal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("cnmf-gui worker")
        self._thread.setStackSize(STACK_SIZE)
        self._runner = _Runner()
        self._runner.moveToThread(self._thread)
        self._submit.connect(self._runner.run)
        self._runner.progress.connect(self.progress)
        self._runner.partial.connect(self._on_partial)
        self._runner.finished.connect(self._on_finished)
        self._runner.failed.connect(self._on_failed)
        self._runner.cancelled.connect(self._on_cancelled)
        self._thread.start()
        _WORKERS.add(self)
        self._job: _Job | None = None
        self._callbacks: dict = {}
        self._last_report = 0.0

    # ------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._job is not None

    @property
    def job_name(self) -> str:
        return self._job.name if self._job is not None else ""

    @property
    def thread(self) -> QThread:
        return self._thread

    def start(self, name: str, fn: Callable, *, on_done: Callable | None = None,
              on_error: Callable | None = None, on_partial: Callable | None = None) -> bool:
        """Run ``fn(progress)`` in the worker thread.

        Parameters
        ----------
        name : str
            Shown in the status bar ("Running CNMF").
        fn : callable(progress) -> result
            Must not touch the session or any widget.
        on_done : callable(result), optional
            Called in the main thread with the result.
        on_error : callable(message, traceback), optional
            Called in the main thread when ``fn`` raised (besides the ``failed`` signal).
        on_partial : callable(result), optional
            Called in the main thread with each partial result the job hands over.

        Returns
        -------
        bool
            False when another job is running (nothing is started).
        """
        if self._job is not None or not self._thread.isRunning():
            return False
        # Emitting from the worker thread queues the partial result to the main thread.
        progress = CallbackProgress(self._report, on_partial=self._runner.partial.emit)
        self._job = _Job(name, fn, progress)
        self._callbacks = {"done": on_done, "error": on_error, "partial": on_partial}
        self._last_report = 0.0
        self.started.emit(name)
        self.busy_changed.emit(True)
        self._submit.emit(self._job)
        return True

    def cancel(self) -> None:
        """Ask the running job to stop at its next checkpoint (returns at once)."""
        if self._job is not None:
            self._job.progress.cancel()

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Process events until the running job has ended (or ``timeout_s``); True when idle."""
        from PyQt6.QtCore import QCoreApplication, QEventLoop
        deadline = time.monotonic() + timeout_s
        while self._job is not None and time.monotonic() < deadline:
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            time.sleep(0.002)
        return self._job is None

    def shutdown(self, timeout_s: float = 60.0) -> bool:
        """Cancel any job, stop the thread and wait for it to end; True when it ended.

        A job stops at its next checkpoint; one that takes longer than ``timeout_s`` is waited
        for anyway (with a log line), since destroying a running QThread ends the program.
        """
        self.cancel()
        if not self.wait_idle(timeout_s):
            log.warning("'%s' has not stopped after %.0f s; waiting for its next checkpoint",
                        self.job_name, timeout_s)
        self._thread.quit()
        ok = self._thread.wait(int(timeout_s * 1000))
        while not ok:
            log.warning("the worker thread is still running; waiting")
            ok = self._thread.wait(int(timeout_s * 1000))
        return bool(ok)

    # ------------------------------------------------------------------------------------------
    def _report(self, fraction: float, message: str) -> None:
        # Called in the worker thread; emitting a signal is thread-safe (queued to the main thread).
        now = time.monotonic()
        if now - self._last_report >= REPORT_INTERVAL or fraction >= 1.0:
            self._last_report = now
            self._runner.progress.emit(fraction, message)

    def _on_partial(self, result) -> None:
        if self._job is None:
            return                      # a late hand-over of a job that already ended
        callback = self._callbacks.get("partial")
        try:
            if callback is not None:
                callback(result)
        except Exception:  # noqa: BLE001 - showing a partial result must not stop the job
            log.exception("showing a partial result of %s failed", self.job_name)
        self.partial.emit(result)

    def _end(self):
        callbacks = self._callbacks
        self._job = None
        self._callbacks = {}
        self.busy_changed.emit(False)
        return callbacks

    def _on_finished(self, name: str, result) -> None:
        callbacks = self._end()
        try:
            if callbacks.get("done") is not None:
                callbacks["done"](result)
        except Exception as exc:  # noqa: BLE001 - applying a result must not kill the window
            log.exception("applying the result of %s failed", name)
            self.failed.emit(name, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        self.finished.emit(name, result)

    def _on_failed(self, name: str, message: str, tb: str) -> None:
        callbacks = self._end()
        if callbacks.get("error") is not None:
            callbacks["error"](message, tb)
        self.failed.emit(name, message, tb)

    def _on_cancelled(self, name: str) -> None:
        self._end()
        self.cancelled.emit(name)

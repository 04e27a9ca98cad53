"""The main window: wires the session, the views (one dock each), the worker and the menus.

Nothing is computed here and the views never talk to each other: each view gets the session and
subscribes to its events; the window only creates them, starts jobs in the worker and applies
their results to the session in the main thread. Long jobs and their results are described in
:mod:`cnmf_gui.session.jobs`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt6.QtGui import QAction
from PyQt6.QtWidgets import QDockWidget, QLabel, QMainWindow, QProgressBar, QPushButton

from cnmf_gui.errors import UserError
from cnmf_gui.gui import dialogs, file_ops, layout
from cnmf_gui.gui.binding import release_all, subscriptions
from cnmf_gui.gui.component_table import ComponentTable
from cnmf_gui.gui.curation_panel import CurationPanel
from cnmf_gui.gui.deconv_panel import DeconvPanel
from cnmf_gui.gui.log_view import LogView
from cnmf_gui.gui.menus import build_menus, update_actions
from cnmf_gui.gui.motion_qc import MotionQC
from cnmf_gui.gui.movie_view import MovieView
from cnmf_gui.gui.params_panel import ParamsPanel
from cnmf_gui.gui.snippets_view import SnippetsView
from cnmf_gui.gui.trace_view import TraceView
from cnmf_gui.gui.worker import Worker
from cnmf_gui.session import Autosaver, AutosaveSchedule, Session, jobs
from cnmf_gui.session.recovery import EditJournal

log = logging.getLogger(__name__)
AUTOSAVE_DELAY_S = 2.0          # after the edits pause ...
AUTOSAVE_MAX_DELAY_S = 10.0     # ... but never later than this after the first unsaved change
DEMO_FRAME_RATE = 30.0     # the synthetic demo movie's (an .npy file does not say it)


class MainWindow(QMainWindow):
    """The application window.

    Parameters
    ----------
    session : Session, optional
        A session to show (a new empty one by default).
    settings : QSettings, optional
        Where the dock layout is remembered (the user's settings by default; tests pass a file).
    """

    autosave_failed = pyqtSignal(str)

    def __init__(self, session: Session | None = None, settings: QSettings | None = None):
        super().__init__()
        self.session = session if session is not None else Session()
        self.settings = settings if settings is not None else QSettings("cnmf-gui", "cnmf-gui")
        self.worker = Worker(self)
        # A failed autosave is told in the status bar (the signal crosses from the writer thread).
        self.autosave_failed.connect(lambda text: self.session.message(text))
        self.autosaver = Autosaver(on_error=self._autosave_error)
        # Every edit reaches the disk at once (the autosave follows within seconds).
        self.journal = EditJournal(self.session, on_error=self.session.message)
        self.error_dialog = None
        self._closing_ok = False
        # False for windows nobody looks at (screenshots): every question gets its cautious answer.
        self.ask_questions = True
        self.discarded_revision = None
        self.kept_recovery = None    # an earlier crash's autosave the user chose to keep for now
        self.setWindowTitle("cnmf-gui")
        # Size first: docks laid out in a tiny window leave stale tab bars behind (Qt quirk).
        self.resize(*layout.DEFAULT_SIZE)
        self.setDockOptions(QMainWindow.DockOption.AllowTabbedDocks | QMainWindow.DockOption.AnimatedDocks)

        s = self.session
        self.movie_view = MovieView(s)
        self.setCentralWidget(self.movie_view)
        self.table = ComponentTable(s)
        self.traces = TraceView(s)
        self.motion_qc = MotionQC(s)
        self.params_panel = ParamsPanel(s)
        self.curation = CurationPanel(s)
        self.deconv = DeconvPanel(s)
        self.log_view = LogView(s)
        self.snippets = SnippetsView(s)
        self.docks = {}
        for name, title, widget, area in (
                ("table", "Components", self.table, Qt.DockWidgetArea.RightDockWidgetArea),
                ("curation", "Curation", self.curation, Qt.DockWidgetArea.RightDockWidgetArea),
                ("deconvolution", "Deconvolution", self.deconv, Qt.DockWidgetArea.RightDockWidgetArea),
                ("params", "Parameters", self.params_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                ("traces", "Traces", self.traces, Qt.DockWidgetArea.BottomDockWidgetArea),
                ("snippets", "Event snippets", self.snippets, Qt.DockWidgetArea.BottomDockWidgetArea),
                ("motion", "Motion QC", self.motion_qc, Qt.DockWidgetArea.BottomDockWidgetArea),
                ("log", "Log", self.log_view, Qt.DockWidgetArea.BottomDockWidgetArea)):
            dock = QDockWidget(title, self)
            dock.setObjectName(f"dock_{name}")
            dock.setWidget(widget)
            self.addDockWidget(area, dock)
            self.docks[name] = dock
        self.acts: dict[str, QAction] = {}
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setMaximumWidth(260)
        self.stage = QLabel("")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_job)
        bar = self.statusBar()
        bar.addPermanentWidget(self.stage, 1)
        bar.addPermanentWidget(self.progress)
        bar.addPermanentWidget(self.cancel_button)
        self._set_busy(False)

        self.worker.started.connect(self._on_job_started)
        self.worker.progress.connect(self._on_job_progress)
        self.worker.busy_changed.connect(self._set_busy)
        self.worker.failed.connect(self._on_job_failed)
        self.worker.cancelled.connect(self._on_job_cancelled)
        self.worker.finished.connect(lambda name, _r: self.statusBar().showMessage(f"{name}: done", 5000))
        self.deconv.rerun_requested.connect(self.rerun_deconvolution)

        build_menus(self)
        self.autosave_schedule = AutosaveSchedule(AUTOSAVE_DELAY_S, AUTOSAVE_MAX_DELAY_S)
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.timeout.connect(self.autosave_now)
        self.subs = subscriptions(self)
        # Everything a save writes: curation, parameters, motion and pipeline results.
        for event in ("status", "components", "traces", "params", "motion", "data"):
            self.subs.on(s, event, self._schedule_autosave)
        self.subs.on(s, "dirty", lambda *_: self._update_title())
        self.subs.on(s, "dirty", self._schedule_autosave)
        self.subs.on(s, "data", self._on_data)
        self.subs.on(s, "history", self._update_actions)
        self.subs.on(s, "selection", self._update_actions)
        self.subs.on(s, "message", lambda text: self.statusBar().showMessage(text, 8000))
        self._arranged = False
        self._update_title()
        self._update_actions()

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------
    def showEvent(self, event) -> None:
        # Tabify once the window is shown: tabifying before leaves stale, visible tab bars
        # over the central widget (seen with Qt 6.11).
        super().showEvent(event)
        if not self._arranged:
            self._arranged = True
            layout.arrange_docks(self)
            layout.restore(self)

    def save_layout(self) -> None:
        layout.save(self)

    def _update_title(self) -> None:
        s = self.session
        name = s.path.name if s.path is not None else (
            Path(s.data.movie_path).name if s.data is not None and s.data.movie_path else "")
        self.setWindowTitle(f"{name}{' *' if s.dirty else ''} - cnmf-gui" if name else "cnmf-gui")

    def _update_actions(self, *args) -> None:
        update_actions(self)

    def toggle_playing(self) -> None:
        self.movie_view.toggle_playing()

    def _on_data(self) -> None:
        s = self.session
        if s.data is not None and not s.frame_rate:
            s.message("frame rate unknown: times are shown in frames until you set it")
        self._update_title()
        self._update_actions()
        self.table.table.setFocus()

    # ------------------------------------------------------------------------------------------
    # opening and saving (cnmf_gui.gui.file_ops)
    # ------------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        file_ops.open_dialog(self)

    def open_path(self, path, *, frame_rate: float | None = None) -> bool:
        return file_ops.open_path(self, path, frame_rate=frame_rate)

    def save(self) -> bool:
        return file_ops.save(self)

    def save_as(self) -> bool:
        return file_ops.save_as(self)

    def export_session(self, path=None) -> bool:
        return file_ops.export_session(self, path)

    def export_csv(self, include_all: bool = False, folder=None) -> bool:
        return file_ops.export_csv(self, include_all, folder)

    def _autosave_error(self, text: str) -> None:
        log.warning(text)
        self.autosave_failed.emit(text)

    def _schedule_autosave(self, *args) -> None:
        if not self.session.dirty:
            self.stop_autosave_timer()          # saved, or undone back to the saved state
            return
        due = self.autosave_schedule.changed(time.monotonic())
        self._autosave_timer.start(int(due * 1000))

    def autosave_now(self) -> None:
        self.autosave_schedule.done()
        file_ops.autosave_now(self)

    def confirm_discard(self) -> bool:
        return file_ops.confirm_discard(self)

    def stop_autosave_timer(self) -> None:
        self._autosave_timer.stop()
        self.autosave_schedule.done()

    def ask(self, title: str, question: str, buttons=("Yes", "No")) -> str:
        """Ask the user (:func:`dialogs.ask`); the last, cautious button when questions are off."""
        if not self.ask_questions:
            log.info("not asked (no user): %s -> %s", title, buttons[-1])
            return buttons[-1]
        return dialogs.ask(self, title, question, buttons)

    def stop_job_for(self, what: str) -> bool:
        """Before replacing the open file: cancel a running job (asking first) and wait for it."""
        if not self.worker.busy:
            return True
        name = self.worker.job_name
        if self.ask("A job is running", f"'{name}' is still running on the open file. Cancel it and "
                    f"open {what}?", ("Cancel job and open", "Keep working")) != "Cancel job and open":
            return False
        self.cancel_job()
        if not self.worker.wait_idle(120.0):
            self.show_error("Cannot open", f"'{name}' did not stop; try again when it has ended")
            return False
        return True

    # ------------------------------------------------------------------------------------------
    # jobs
    # ------------------------------------------------------------------------------------------
    def start_job(self, name: str, fn, on_done=None, *, same_file: bool = True) -> bool:
        """Run ``fn`` in the worker; ``on_done(result)`` runs in the main thread when it ends.

        With ``same_file`` (jobs on the open file's data), the result is dropped when another
        file was opened meanwhile, so it never lands in the wrong session.
        """
        if self.worker.busy:
            self.statusBar().showMessage(f"wait for '{self.worker.job_name}' to finish or cancel it", 5000)
            return False
        on_partial = None
        if same_file:
            on_done = self.for_this_file(name, on_done) if on_done is not None else None
            # Partial results (components found so far) go to the session in this thread.
            on_partial = self.for_this_file(name, self.session.partial_result)
        return self.worker.start(name, fn, on_done=on_done, on_partial=on_partial)

    def for_this_file(self, name: str, on_done):
        """``on_done`` that only runs while the file open now is still open."""
        load = self.session.load_count

        def apply(result):
            if self.session.load_count != load:
                log.warning("%s: result dropped, another file was opened while it ran", name)
                self.session.message(f"{name}: result dropped, another file was opened while it ran")
                return
            on_done(result)
        return apply

    def ensure_frame_rate(self) -> bool:
        """Ask for an unknown frame rate before computing in seconds (once: it is then saved)."""
        s = self.session
        if s.frame_rate:
            return True
        rate = None
        if self.ask_questions:
            rate = dialogs.ask_number(self, "Frame rate unknown",
                                      "The movie does not say its frame rate. Frames per second:",
                                      30.0, 0.01, 10000.0)
        if rate is None:
            s.message("frame rate unknown: set it (Parameters) before running")
            return False
        s.set_param(None, "frame_rate", rate)
        return True

    def run_pipeline(self) -> bool:
        s = self.session
        if s.movie is None:
            self.show_error("Cannot run", "open a movie first")
            return False
        if not self.ensure_frame_rate():
            return False
        if s.components is not None and (s.dirty or s.curation.has_edits()):
            if self.ask("Replace results?", "Running the pipeline replaces the components and "
                        "their curation (the log keeps it). Continue?", ("Run", "Cancel")) != "Run":
                return False
        return self.start_job("Running the pipeline", jobs.run_pipeline(s), s.apply_pipeline_result)

    def run_motion(self) -> bool:
        s = self.session
        if s.movie is None:
            self.show_error("Cannot run", "open a movie first")
            return False
        return self.start_job("Correcting motion", jobs.estimate_motion(s), s.apply_motion_result)

    def rerun_deconvolution(self, ids=None, epsilon=None) -> bool:
        """Re-deconvolve ``ids`` (None: all) in the worker; traces update when it ends.

        ``epsilon``: a new override for ``ids``, None to keep each one's override, or
        ``"global"`` to drop their overrides and use the global epsilon.
        """
        try:
            if epsilon == "global":
                request = self.session.deconvolution_request(ids, use_global=True)
            else:
                request = self.session.deconvolution_request(ids, epsilon=epsilon)
        except UserError as exc:
            self.show_error("Cannot deconvolve", str(exc))
            return False
        return self.start_job(f"Deconvolving {len(request.ids)} components", request.run,
                              lambda out: self.session.apply_deconvolution(*out))

    def run_demo(self) -> bool:
        """Make (or reuse) the synthetic demo movie, open it and run the pipeline."""
        if not self.confirm_discard():
            return False

        def opened(path):
            # The saved demo session (offered when it exists) keeps its results and curation.
            if self.open_path(path, frame_rate=DEMO_FRAME_RATE) and self.session.components is None:
                self.run_pipeline()
        return self.start_job("Making the demo movie", jobs.make_demo(), opened, same_file=False)

    def cancel_job(self) -> None:
        if self.worker.busy:
            self.stage.setText(f"{self.worker.job_name}: cancelling...")
            self.worker.cancel()

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if not busy:
            self.stage.setText("")
        self._update_actions()

    def _on_job_started(self, name: str) -> None:
        self.progress.setValue(0)
        self.stage.setText(name)

    def _on_job_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.stage.setText(f"{self.worker.job_name}: {message}" if message else self.worker.job_name)

    def _on_job_failed(self, name: str, message: str, tb: str) -> None:
        self.session.message(f"{name} failed: {message}")
        self.show_error(f"{name} failed", message, tb)

    def _on_job_cancelled(self, name: str) -> None:
        self.session.message(f"{name}: cancelled")
        self.statusBar().showMessage(f"{name}: cancelled", 5000)

    def show_error(self, title: str, message: str, details: str = "") -> None:
        self.error_dialog = dialogs.show_error(self, title, message, details)

    # ------------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if not self._closing_ok:
            if self.worker.busy:
                answer = self.ask("A job is running", f"'{self.worker.job_name}' is running. "
                                  "Cancel it and quit?", ("Cancel job and quit", "Keep working"))
                if answer != "Cancel job and quit":
                    event.ignore()
                    return
            if not self.confirm_discard():
                event.ignore()
                return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback, the worker and autosave; remember the layout. Safe to call twice."""
        self.movie_view.set_playing(False)
        if getattr(self, "triage_dialog", None) is not None:
            self.triage_dialog.close()          # releases its subscriptions
        self._autosave_timer.stop()
        self.save_layout()
        self.worker.shutdown()
        self.autosaver.flush()
        # The views stop listening: the session may outlive the window (scripts, tests).
        release_all(self, self.movie_view, self.table, self.traces, self.motion_qc, self.params_panel,
                    self.curation, self.deconv, self.log_view, self.snippets)
        self.journal.close()

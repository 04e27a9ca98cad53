"""The main window: wires the session, the views (one dock each), the worker and the menus.

Nothing is computed here and the views never talk to each other: each view gets the session and
subscribes to its events; the window only creates them, starts jobs in the worker and applies
their results to the session in the main thread. Long jobs and their results are described in
:mod:`cnmf_gui.gui.jobs`.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PyQt6.QtCore import QSettings, Qt, QTimer
from PyQt6.QtGui import QAction, QKeySequence
from PyQt6.QtWidgets import QDockWidget, QLabel, QMainWindow, QProgressBar, QPushButton

from cnmf_gui.errors import UserError
from cnmf_gui.gui import dialogs, jobs
from cnmf_gui.gui.component_table import ComponentTable
from cnmf_gui.gui.curation_panel import CurationPanel
from cnmf_gui.gui.deconv_panel import DeconvPanel
from cnmf_gui.gui.log_view import LogView
from cnmf_gui.gui.menus import build_menus
from cnmf_gui.gui.motion_qc import MotionQC
from cnmf_gui.gui.movie_view import MovieView
from cnmf_gui.gui.params_panel import ParamsPanel
from cnmf_gui.gui.trace_view import TraceView
from cnmf_gui.gui.worker import Worker
from cnmf_gui.session import Session, recovery_for_open
from cnmf_gui.session_autosave import Autosaver

log = logging.getLogger(__name__)
AUTOSAVE_DELAY_MS = 2000
LAYOUT_VERSION = 1


class MainWindow(QMainWindow):
    """The application window.

    Parameters
    ----------
    session : Session, optional
        A session to show (a new empty one by default).
    settings : QSettings, optional
        Where the dock layout is remembered (the user's settings by default; tests pass a file).
    """

    def __init__(self, session: Session | None = None, settings: QSettings | None = None):
        super().__init__()
        self.session = session if session is not None else Session()
        self.settings = settings if settings is not None else QSettings("cnmf-gui", "cnmf-gui")
        self.worker = Worker(self)
        self.autosaver = Autosaver(on_error=lambda text: log.warning(text))
        self.error_dialog = None
        self._closing_ok = False
        # False for windows nobody looks at (screenshots): every question gets its cautious answer.
        self.ask_questions = True
        self._discarded_revision = None
        self.setWindowTitle("cnmf-gui")
        # Size first: docks laid out in a tiny window leave stale tab bars behind (Qt quirk).
        self.resize(1400, 900)
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
        self.docks = {}
        for name, title, widget, area in (
                ("table", "Components", self.table, Qt.DockWidgetArea.RightDockWidgetArea),
                ("curation", "Curation", self.curation, Qt.DockWidgetArea.RightDockWidgetArea),
                ("deconvolution", "Deconvolution", self.deconv, Qt.DockWidgetArea.RightDockWidgetArea),
                ("params", "Parameters", self.params_panel, Qt.DockWidgetArea.RightDockWidgetArea),
                ("traces", "Traces", self.traces, Qt.DockWidgetArea.BottomDockWidgetArea),
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
        self._autosave_timer = QTimer(self)
        self._autosave_timer.setSingleShot(True)
        self._autosave_timer.setInterval(AUTOSAVE_DELAY_MS)
        self._autosave_timer.timeout.connect(self.autosave_now)
        for event in ("status", "components", "traces"):
            s.subscribe(event, lambda *a: self._autosave_timer.start())
        s.subscribe("dirty", lambda *_: self._update_title())
        s.subscribe("data", self._on_data)
        s.subscribe("history", self._update_actions)
        s.subscribe("selection", self._update_actions)
        s.subscribe("message", lambda text: self.statusBar().showMessage(text, 8000))
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
            self._arrange_docks()
            self._restore_layout()

    def _arrange_docks(self) -> None:
        d = self.docks
        self.tabifyDockWidget(d["curation"], d["deconvolution"])
        self.tabifyDockWidget(d["deconvolution"], d["params"])
        d["curation"].raise_()
        self.tabifyDockWidget(d["traces"], d["motion"])
        self.tabifyDockWidget(d["motion"], d["log"])
        d["traces"].raise_()
        self.resizeDocks([d["table"]], [420], Qt.Orientation.Horizontal)
        self.resizeDocks([d["traces"]], [260], Qt.Orientation.Vertical)
        self.resizeDocks([d["table"], d["curation"]], [420, 260], Qt.Orientation.Vertical)


    def _restore_layout(self) -> None:
        geometry = self.settings.value("window/geometry")
        state = self.settings.value("window/state")
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state, LAYOUT_VERSION)

    def save_layout(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState(LAYOUT_VERSION))
        self.settings.sync()

    def _update_title(self) -> None:
        s = self.session
        name = s.path.name if s.path is not None else (
            Path(s.data.movie_path).name if s.data is not None and s.data.movie_path else "")
        self.setWindowTitle(f"{name}{' *' if s.dirty else ''} - cnmf-gui" if name else "cnmf-gui")

    def _update_actions(self, *args) -> None:
        s = self.session
        a = self.acts
        if "undo" not in a:
            return
        a["undo"].setEnabled(s.history.can_undo)
        a["redo"].setEnabled(s.history.can_redo)
        a["undo"].setText(f"Undo {s.history.undo_label}".strip())
        a["redo"].setText(f"Redo {s.history.redo_label}".strip())
        has = s.components is not None
        for key in ("accept", "reject", "undecide"):
            a[key].setEnabled(has and bool(s.selection))
        a["merge"].setEnabled(has and len(s.selection) > 1)
        for key in ("export_accepted", "export_all", "export_session", "save", "save_as"):
            a[key].setEnabled(s.data is not None)
        a["run_pipeline"].setEnabled(s.movie is not None and not self.worker.busy)
        a["run_motion"].setEnabled(s.movie is not None and not self.worker.busy)

    def _on_data(self) -> None:
        self._update_title()
        self._update_actions()
        self.table.table.setFocus()

    # ------------------------------------------------------------------------------------------
    # opening and saving
    # ------------------------------------------------------------------------------------------
    def open_dialog(self) -> None:
        if not self.confirm_discard():
            return
        path = dialogs.choose_open(self)
        if path:
            self.open_path(path)

    def ask(self, title: str, question: str, buttons=("Yes", "No")) -> str:
        """Ask the user (:func:`dialogs.ask`); the last, cautious button when questions are off."""
        if not self.ask_questions:
            log.info("not asked (no user): %s -> %s", title, buttons[-1])
            return buttons[-1]
        return dialogs.ask(self, title, question, buttons)

    def _stop_job_for(self, what: str) -> bool:
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

    def open_path(self, path) -> bool:
        """Open a movie or session; offers the recovery file when the last run ended unsaved."""
        path = Path(path)
        if not self._stop_job_for(path.name) or not self.confirm_discard():
            return False
        try:
            found = recovery_for_open(path)
            recovery = found[0] if found is not None else None
            use_recovery = False
            if recovery is not None:
                answer = self.ask("Recover unsaved work?",
                                  f"{path.name} has autosaved changes that were never saved "
                                  f"({recovery.name}). Restore them?", ("Restore", "Discard", "Ignore"))
                use_recovery = answer == "Restore"
                if answer == "Discard":
                    recovery.unlink()
            self.session.open(path, use_recovery=use_recovery)
        except UserError as exc:
            self.show_error("Cannot open", str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a bad file must not end the program
            import traceback
            self.show_error("Cannot open", f"{path}: {type(exc).__name__}: {exc}", traceback.format_exc())
            return False
        self.session.message(f"opened {path}")
        return True

    def save(self) -> bool:
        target = self.session.save_target()
        if target is None:
            return self.save_as()
        return self._save_to(target, make_current=True)

    def save_as(self) -> bool:
        target = self.session.save_target()
        path = dialogs.choose_save(self, "Save session", str(target or "session.h5"), "Session (*.h5)")
        return bool(path) and self._save_to(Path(path), make_current=True)

    def export_session(self, path=None) -> bool:
        """Write a copy of the session file (the open session keeps its own file)."""
        if path is None:
            path = dialogs.choose_save(self, "Export session (HDF5)", "export.h5", "Session (*.h5)")
        return bool(path) and self._save_to(Path(path), make_current=False)

    def _save_to(self, path: Path, *, make_current: bool) -> bool:
        snapshot = self.session.snapshot()
        # The user may keep curating while the worker writes: remember what the file will hold.
        revision = self.session.revision

        def done(_result):
            if make_current:
                self.autosaver.flush()
                if not self.session.mark_saved(path, revision):
                    self.session.message(f"saved {path}; edits made during the save are not saved yet")
                    return
            self.session.message(f"saved {path}")
        if self.worker.busy:
            # A long job holds the worker: a save cannot wait for it.
            try:
                jobs.save_session(snapshot, path)(None)
            except UserError as exc:
                self.show_error("Cannot save", str(exc))
                return False
            done(None)
            return True
        return self.worker.start(f"Saving {path.name}", jobs.save_session(snapshot, path),
                                 on_done=self._for_this_file(f"Saving {path.name}", done))

    def export_csv(self, include_all: bool = False, folder=None) -> bool:
        """Export traces and the component table as CSV (accepted only unless ``include_all``)."""
        if folder is None:
            folder = dialogs.choose_folder(self, "Export CSV to folder")
            if not folder:
                return False
        snapshot = self.session.snapshot()
        return self.start_job("Exporting CSV", jobs.export_csv(snapshot, folder, include_all),
                              lambda paths: self.session.message(f"exported {len(paths)} files to {folder}"))

    def autosave_now(self) -> None:
        rec = self.session.recovery_path()
        if rec is not None and self.session.dirty and self.session.components is not None:
            self.autosaver.save_async(self.session.snapshot(), rec)

    def confirm_discard(self) -> bool:
        """When there are unsaved changes, ask to save them; False when the user cancelled.

        A "Discard" holds until the next edit, so the steps of one action (Open asks, then opens)
        never ask twice.
        """
        s = self.session
        if not s.dirty or self._discarded_revision == (s.load_count, s.revision):
            return True
        answer = self.ask("Unsaved changes", "The session has unsaved changes. Save them?",
                          ("Save", "Discard", "Cancel"))
        if answer == "Save":
            target = s.save_target()
            if target is None:
                chosen = dialogs.choose_save(self, "Save session", "session.h5", "Session (*.h5)")
                if not chosen:
                    return False
                target = Path(chosen)
            try:
                self.autosaver.flush()
                s.save(target)
            except UserError as exc:
                self.show_error("Cannot save", str(exc))
                return False
            return True
        if answer == "Discard":
            rec = s.recovery_path()
            self._autosave_timer.stop()
            if rec is not None:
                self.autosaver.discard(rec)
            self._discarded_revision = (s.load_count, s.revision)
            return True
        return False

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
        if on_done is not None and same_file:
            on_done = self._for_this_file(name, on_done)
        return self.worker.start(name, fn, on_done=on_done)

    def _for_this_file(self, name: str, on_done):
        """``on_done`` that only runs while the file open now is still open."""
        load = self.session.load_count

        def apply(result):
            if self.session.load_count != load:
                log.warning("%s: result dropped, another file was opened while it ran", name)
                self.session.message(f"{name}: result dropped, another file was opened while it ran")
                return
            on_done(result)
        return apply

    def run_pipeline(self) -> bool:
        s = self.session
        if s.movie is None:
            self.show_error("Cannot run", "open a movie first")
            return False
        if s.components is not None and s.dirty:
            if self.ask("Replace results?", "Running the pipeline replaces the components and "
                           "your unsaved curation. Continue?", ("Run", "Cancel")) != "Run":
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
            if self.open_path(path):
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
        self._autosave_timer.stop()
        self.save_layout()
        self.worker.shutdown()
        self.autosaver.flush()

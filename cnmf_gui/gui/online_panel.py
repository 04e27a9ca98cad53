"""Run > Online (live): online CNMF on a file or a folder being written, shown while it runs.

The run is the session's job (:class:`cnmf_gui.session.online.OnlineRun`) in the window's
worker; the window never computes. Each partial result the job hands over replaces the
components in the session (the movie view shows the newest frame with the outlines, the traces
grow, the table fills), and the user may accept or reject meanwhile: the run keeps those
decisions. The status bar shows the live line (frames, fps, components, lag); Cancel job (Esc)
stops the run after the current frame and leaves a normal session to curate and save.
"""

from __future__ import annotations

from PyQt6.QtWidgets import (QCheckBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                             QHBoxLayout, QLineEdit, QPushButton, QWidget)

from cnmf_gui.errors import UserError
from cnmf_gui.session.online import OnlineRun

JOB_NAME = "Online CNMF"


class OnlineDialog(QDialog):
    """Asks for the source (file or folder), whether to follow it and when to stop."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Online CNMF (live)")
        self.path = QLineEdit()
        self.path.setPlaceholderText("a movie file, a growing TIFF/HDF5, or a folder of numbered TIFFs")
        folder = QPushButton("Folder...")
        folder.clicked.connect(self._pick_folder)
        file = QPushButton("File...")
        file.clicked.connect(self._pick_file)
        row = QWidget()
        box = QHBoxLayout(row)
        box.setContentsMargins(0, 0, 0, 0)
        for w in (self.path, folder, file):
            box.addWidget(w)
        self.follow = QCheckBox("wait for frames still being written")
        self.follow.setChecked(True)
        self.until_idle = QDoubleSpinBox()
        self.until_idle.setRange(0.0, 86400.0)
        self.until_idle.setValue(10.0)
        self.until_idle.setSuffix(" s")
        self.until_idle.setSpecialValueText("never (stop with Esc)")
        self.until_idle.setToolTip("Stop when no new frame arrived for this long")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Source", row)
        form.addRow("Follow", self.follow)
        form.addRow("Stop after idle", self.until_idle)
        form.addRow(buttons)

    def _pick_folder(self):
        path = QFileDialog.getExistingDirectory(self, "Folder the microscope writes into")
        if path:
            self.path.setText(path)

    def _pick_file(self):
        path, _ = QFileDialog.getOpenFileName(self, "Movie file")
        if path:
            self.path.setText(path)

    def choice(self) -> tuple[str, bool, float | None]:
        idle = self.until_idle.value()
        return self.path.text().strip(), self.follow.isChecked(), (idle if idle > 0 else None)


def ask_and_start(window) -> bool:
    """Run > Online (live): ask for the source, then :func:`start`."""
    dialog = OnlineDialog(window)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return False
    source, follow, until_idle = dialog.choice()
    if not source:
        return False
    return start(window, source, follow=follow, until_idle=until_idle)


def start(window, source, *, follow: bool = True, until_idle: float | None = None, poll: float = 0.05) -> bool:
    """Start an online run of the window's session on ``source``; False when it cannot start."""
    if window.worker.busy:
        window.statusBar().showMessage(f"wait for '{window.worker.job_name}' to finish or cancel it", 5000)
        return False
    if not window.confirm_discard():
        return False
    try:
        run = OnlineRun(window.session, source, follow=follow, until_idle=until_idle, poll=poll)
    except UserError as exc:
        window.show_error("Cannot start online CNMF", str(exc))
        return False
    window.online_run = run

    def done(outcome):
        run.apply_outcome(outcome)
        line = f"online CNMF ended: {outcome.stopped}" if outcome.stopped else "online CNMF: the stream ended"
        window.statusBar().showMessage(line, 10000)

    return window.worker.start(JOB_NAME, run.job(), on_done=done, on_partial=run.apply_partial)

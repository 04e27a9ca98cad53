"""View > Triage: one component at a time, the least certain first, judged with one key.

The queue and every decision are the session's (:class:`cnmf_gui.session.triage.TriageQueue`:
accept, reject, undecide and merge are the same commands as the Edit menu's). The window shows
the component's footprint on the mean image, its trace, its event snippets, its metrics and
the reason of its automatic status; A, R, U decide and move on, M merges it with the overlapping
component whose trace is most like its own, Left/Right move without deciding, Ctrl+Z undoes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtGui import QKeySequence, QShortcut
from PyQt6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from cnmf_gui.errors import UserError
from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.gui.snippets_view import SnippetsView
from cnmf_gui.session import STATUS_NAMES
from cnmf_gui.session.triage import TriageQueue, footprint_crop, margins, merge_partner

KEYS = (("A", "Accept", "accept"), ("R", "Reject", "reject"), ("U", "Undecided", "undecide"),
        ("M", "Merge with neighbour", "merge"))


class TriageDialog(QDialog):
    """The triage window (non-modal: the main window follows the component being judged)."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Triage")
        self.subs = subscriptions(self)
        self.session = session
        self.queue = TriageQueue(session)
        self.header = QLabel()
        self.header.setStyleSheet("font-size: 14pt; font-weight: bold")
        self.progress = QLabel()
        self.details = QLabel()
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setMinimumWidth(260)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.message = QLabel()

        self.footprint = pg.GraphicsLayoutWidget()
        self.footprint.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.crop_box = self.footprint.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.crop_box.setMouseEnabled(False, False)
        self.crop_image = pg.ImageItem()
        self.crop_box.addItem(self.crop_image)
        self.crop_outline = pg.IsocurveItem(pen=pg.mkPen((0, 158, 115), width=2))
        self.crop_outline.setParentItem(self.crop_image)
        self.footprint.setFixedSize(220, 220)
        self.trace = pg.PlotWidget()
        self.trace.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.trace.setMinimumHeight(140)
        self.trace.setMaximumHeight(240)
        self.trace.setLabel("bottom", "time", units="s" if session.frame_rate else "")
        self.trace_F = self.trace.plot(pen=pg.mkPen((150, 150, 150), width=1), name="raw F")
        self.trace_C = self.trace.plot(pen=pg.mkPen((0, 158, 115), width=2), name="denoised C")
        self.snippets = SnippetsView(session, follow_selection=False, columns=4)
        self.buttons = {}
        keys = QHBoxLayout()
        for key, title, what in KEYS:
            button = QPushButton(f"{title} ({key})")
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _c=False, what=what: self.decide(what))
            keys.addWidget(button)
            self.buttons[what] = button
            QShortcut(QKeySequence(key), self, activated=lambda what=what: self.decide(what))
        for key, delta in (("Left", -1), ("Right", 1)):
            QShortcut(QKeySequence(key), self, activated=lambda delta=delta: self.step(delta))
        QShortcut(QKeySequence("Ctrl+Z"), self, activated=self.undo)
        self.close_button = QPushButton("Close")
        self.close_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.close_button.clicked.connect(self.close)
        keys.addStretch(1)
        keys.addWidget(QLabel("Left/Right: previous/next  Ctrl+Z: undo"))
        keys.addWidget(self.close_button)

        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.progress)
        grid = QGridLayout()
        grid.addWidget(self.footprint, 0, 0)
        grid.addWidget(self.trace, 0, 1)
        grid.addWidget(self.details, 0, 2)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(grid)
        layout.addWidget(self.snippets, 1)
        layout.addWidget(self.message)
        layout.addLayout(keys)
        self.resize(1100, 720)
        self.subs.on(session, "data", lambda *a: self.close())
        self.queue.step(0)
        self.show_current()

    # ------------------------------------------------------------------------------------------
    def decide(self, what: str) -> None:
        try:
            self.queue.decide(what)
            self.message.setText("")
        except UserError as exc:
            self.message.setText(str(exc))
        self.show_current()

    def step(self, delta: int) -> None:
        self.queue.step(delta)
        self.show_current()

    def undo(self) -> None:
        if not self.queue.undo():
            self.message.setText("nothing to undo")
        self.show_current()

    def show_current(self) -> None:
        s, q = self.session, self.queue
        judged, total = q.progress()
        self.progress.setText(f"{judged} of {total} judged  ·  {min(q.position + 1, total)} / {total}")
        cid = q.current
        for button in self.buttons.values():
            button.setEnabled(cid is not None)
        if cid is None:
            self.header.setText("Triage done" if total else "Nothing to triage: you decided every component")
            self.details.setText("")
            self.crop_image.clear()
            self.crop_outline.setData(None)
            self.trace_F.setData([], [])
            self.trace_C.setData([], [])
            self.snippets.show_component(None)
            return
        comps = s.components
        k = s.index_of(cid)
        status = STATUS_NAMES.get(int(comps.status[k]), str(comps.status[k]))
        self.header.setText(f"Component {cid}: {status}")
        image, foot, _box = footprint_crop(s, cid)
        self.crop_image.setImage(image, autoLevels=True)
        self.crop_outline.setData(foot, level=0.2 * float(foot.max()))
        rate = s.frame_rate or 1.0
        t = np.arange(comps.C.shape[1]) / rate
        self.trace_F.setData(t, comps.F[k] - comps.baseline[k])
        self.trace_C.setData(t, comps.C[k])
        self.trace.autoRange()
        self.details.setText(self._details(cid, k))
        self.snippets.show_component(cid)

    def _details(self, cid: int, k: int) -> str:
        s = self.session
        comps = s.components
        rows = []
        for name, label in (("snr", "SNR"), ("r_value", "spatial consistency (r)"), ("area", "area (px)"),
                            ("compactness", "compactness")):
            if name in comps.metrics:
                rows.append(f"<tr><td>{label}</td><td align='right'>{float(comps.metrics[name][k]):.2f}</td></tr>")
        margin = float(margins({key: np.asarray(v)[k:k + 1] for key, v in comps.metrics.items()},
                               s.params.evaluation, comps.status[k:k + 1])[0])
        reason = str(comps.reason[k]) or "(none given)"
        partner = merge_partner(s, cid)
        merge = (f"M merges with {partner[0]} (trace r = {partner[1]:.2f})" if partner
                 else "M: no overlapping component")
        return (f"<table>{''.join(rows)}</table><p><b>Automatic status:</b> {reason}<br>"
                f"distance to the nearest threshold: {margin:.2f}</p><p>{merge}</p>")

    def closeEvent(self, event) -> None:
        self.snippets.timer.stop()
        self.snippets._refresh_timer.stop()
        self.subs.release()
        self.snippets.subs.release()
        super().closeEvent(event)


def open_triage(window) -> TriageDialog | None:
    """View > Triage: open (or bring back) the triage window for the window's session."""
    if window.session.components is None:
        window.session.message("no components to triage: run the pipeline or open a session first")
        return None
    dialog = getattr(window, "triage_dialog", None)
    if dialog is not None and dialog.isVisible():
        dialog.raise_()
        dialog.activateWindow()
        return dialog
    window.triage_dialog = dialog = TriageDialog(window.session, window)
    dialog.show()
    # Its keys (A, R, U, M) are its own while it is the active window, not the Edit menu's.
    dialog.raise_()
    dialog.activateWindow()
    return dialog

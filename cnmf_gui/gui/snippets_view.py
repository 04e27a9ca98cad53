"""Event snippets of the selected component: its top events as short movie crops playing in a loop,
beside their average (the event-triggered average), with the footprint outlined on each.

Nothing is computed here: the crops come from :func:`cnmf_gui.session.snippets.event_snippets`
(cached by the session), and only while the dock is visible. A true cell lights up inside its
outline; neuropil, a neighbour or motion light up around it.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnmf_gui.errors import UserError
from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.session import snippets as session_snippets

N_EVENTS = 8
OUTLINE = (0, 158, 115)


class SnippetsView(QWidget):
    """Top-event crops of one component (the selection, or one set with :meth:`show_component`).

    Parameters
    ----------
    session : Session
    follow_selection : bool
        Show the selected component (the dock); False when a caller chooses (the triage view).
    """

    def __init__(self, session, parent=None, *, follow_selection: bool = True, columns: int = 4):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self.follow_selection = follow_selection
        self.columns = columns
        self.component_id = None
        self.snippets = None
        self._stale = True
        self._t = 0

        self.title = QLabel("Select a component to see the movie at its events")
        self.play_box = QCheckBox("Play")
        self.play_box.setChecked(True)
        self.play_box.setToolTip("Loop the snippets (1 s before to 2 s after each event)")
        self.play_box.toggled.connect(self._on_play)
        self.time_label = QLabel("")
        self.time_label.setMinimumWidth(90)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.time_label)
        top.addWidget(self.play_box)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.graphics.setMinimumHeight(80)
        self.graphics.ci.layout.setSpacing(1)
        self.graphics.ci.setContentsMargins(1, 1, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.graphics, 1)
        self.boxes: list = []          # (ViewBox, ImageItem, IsocurveItem, LabelItem) per panel

        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        # Snippets follow a selection change a moment later: the click's traces come first, and
        # moving through the table with the arrow keys cuts snippets only where the user stops.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(60)
        self._refresh_timer.timeout.connect(self.refresh)
        if follow_selection:
            self.subs.on(session, "selection", self._on_change)
        for event in ("components", "traces", "data"):
            self.subs.on(session, event, self._on_change)

    # ------------------------------------------------------------------------------------------
    def show_component(self, component_id) -> None:
        """Show ``component_id`` (None: nothing)."""
        self.component_id = None if component_id is None else int(component_id)
        self._stale = True
        self.refresh()

    def _on_change(self, *args) -> None:
        if self.follow_selection:
            sel = self.session.selection
            self.component_id = int(sel[-1]) if sel else None
        self._stale = True
        if self.isVisible():
            self._refresh_timer.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self.refresh()

    def hideEvent(self, event) -> None:
        super().hideEvent(event)
        self.timer.stop()
        self._refresh_timer.stop()

    def refresh(self) -> None:
        """Fetch the snippets of the component shown (from the session's cache) and draw them."""
        self._refresh_timer.stop()
        self._stale = False
        self.snippets = None
        cid = self.component_id
        if cid is not None and self.session.components is not None and self.session.has(cid):
            try:
                self.snippets = session_snippets.event_snippets(self.session, cid, N_EVENTS)
            except UserError as exc:
                self.title.setText(str(exc))
        elif self.session.components is not None:
            self.title.setText("Select a component to see the movie at its events")
        self._build()

    # ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.graphics.clear()
        self.boxes = []
        self.timer.stop()
        snip = self.snippets
        if snip is None:
            self.time_label.setText("")
            return
        if snip.n_events == 0:
            self.title.setText(f"Component {self.component_id}: no event in S of at least "
                               f"{session_snippets.MIN_EVENT_SNR:g} noise SDs to show")
            return
        rate = self.session.frame_rate
        unit = "" if rate else " (frame rate unknown: 30 and 60 frames)"
        contrast = session_snippets.contrast(self.session, self.component_id, N_EVENTS)
        self.title.setText(f"Component {self.component_id}: top {snip.n_events} event{'s' if snip.n_events > 1 else ''}; "
                           f"inside/outside {contrast:.1f}")
        self.title.setToolTip(f"Movie crops around the footprint from 1 s before to 2 s after each of the "
                              f"{snip.n_events} largest events of S{unit} (of those at least {session_snippets.MIN_EVENT_SNR:g} noise SDs "
                              f"high), background and pre-event level removed; "
                              f"left: their average. Mean response inside the outline / outside it: {contrast:.2f} "
                              f"(a cell lights up inside its outline: well above 1)")
        # One contrast for every panel: the strongest event sets the scale, dimmer ones look dimmer.
        hi = float(np.percentile(snip.crops[:, snip.before:], 99.5)) or 1.0
        self._levels = (-0.25 * hi, hi)
        avg_hi = float(np.percentile(snip.average[snip.before:], 99.5)) or 1.0
        panels = [("average", snip.average, (-0.25 * avg_hi, avg_hi))] + [
            (self._event_title(n), snip.crops[n], self._levels) for n in range(snip.n_events)]
        rows = max(1, int(np.ceil(snip.n_events / self.columns)))
        for n, (title, movie, levels) in enumerate(panels):
            if n == 0:
                row, col, rowspan, colspan = 0, 0, rows, 1
            else:
                row, col, rowspan, colspan = (n - 1) // self.columns, 1 + (n - 1) % self.columns, 1, 1
            cell = self.graphics.addLayout(row=row, col=col, rowspan=rowspan, colspan=colspan)
            cell.setContentsMargins(0, 0, 0, 0)
            cell.layout.setSpacing(0)
            label = cell.addLabel(title, row=0, col=0, size="7pt")
            box = cell.addViewBox(row=1, col=0, lockAspect=True, invertY=True, enableMenu=False)
            box.setMouseEnabled(False, False)
            image = pg.ImageItem(movie[0], levels=levels)
            image.setColorMap(pg.colormap.get("inferno"))
            box.addItem(image)
            iso = pg.IsocurveItem(snip.footprint, level=0.2 * snip.footprint.max(), pen=pg.mkPen(OUTLINE, width=1))
            iso.setParentItem(image)
            self.boxes.append((box, image, movie, levels, label))
        self._t = snip.before
        self._show(self._t)
        self._on_play(self.play_box.isChecked())

    def _event_title(self, n: int) -> str:
        t = int(self.snippets.frames[n])
        return f"t = {self.session.time_of(t):.1f} {'s' if self.session.frame_rate else 'fr'}"

    def _show(self, t: int) -> None:
        for box, image, movie, levels, label in self.boxes:
            image.setImage(movie[t], autoLevels=False, levels=levels)
        before = self.snippets.before
        rate = self.session.frame_rate
        rel = (t - before) / rate if rate else t - before
        self.time_label.setText(f"{rel:+.2f} {'s' if rate else 'frames'}")

    def _tick(self) -> None:
        if self.snippets is None or not self.boxes:
            return
        self._t = (self._t + 1) % self.snippets.average.shape[0]
        self._show(self._t)

    def _on_play(self, playing: bool) -> None:
        if playing and self.boxes:
            rate = self.session.frame_rate or 30.0
            self.timer.start(max(int(1000 / min(rate, 60.0)), 15))
        else:
            self.timer.stop()

    @property
    def playing(self) -> bool:
        return self.timer.isActive()

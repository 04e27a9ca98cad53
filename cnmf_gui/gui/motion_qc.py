"""Motion-correction QC: rigid shifts, piecewise-rigid shift size, correlation with the template
before and after, crispness, bad frames. Clicking a plot seeks the movie there.

Reads ``session.data.motion`` (a :class:`~cnmf_gui.results.MotionResult`) and its ``metrics``
(``corr_before``, ``corr_after``, ``crispness_before``, ``crispness_after``, ``bad_frames``,
``flagged_frames``: marked on the shift trace and counted in the summary).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnmf_gui.gui.binding import subscriptions


class MotionQC(QWidget):
    """Plots of the session's motion-correction result, with a time cursor linked to the movie."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self.summary = QLabel("No motion correction yet (Run > Motion correction).")
        self.summary.setWordWrap(True)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.graphics.setMinimumHeight(130)
        # Side by side, not stacked: in the bottom dock of a 1400 x 900 window three stacked plots
        # were ~30 px tall each; side by side each gets the dock's height. The legend is the
        # title (coloured names), which is never cut or drawn over the curves.
        self.shift_plot = self.graphics.addPlot(row=0, col=0)
        self.pw_plot = self.graphics.addPlot(row=0, col=1)
        self.corr_plot = self.graphics.addPlot(row=0, col=2)
        self.plots = (self.shift_plot, self.pw_plot, self.corr_plot)
        self.titles = {self.shift_plot: "rigid shift (px)", self.pw_plot: "piecewise-rigid, largest patch (px)",
                       self.corr_plot: "correlation with template"}
        self.cursors = []
        for plot in self.plots:
            plot.setMenuEnabled(False)
            plot.setTitle(self.titles[plot], size="9pt")
            plot.getAxis("left").setWidth(42)
            if plot is not self.shift_plot:
                plot.setXLink(self.shift_plot)
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((255, 255, 255), width=1))
            plot.addItem(line)
            self.cursors.append(line)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.summary)
        layout.addWidget(self.graphics, 1)
        self._items = []
        for event, handler in (("data", self.refresh), ("motion", self.refresh), ("frame", self._on_frame),
                               ("params", self._on_params)):
            self.subs.on(session, event, handler)
        self.refresh()

    def _time(self, n: int) -> np.ndarray:
        t = np.arange(n, dtype=float)
        return t / self.session.frame_rate if self.session.frame_rate else t

    def _on_params(self, _params) -> None:
        if self.session.frame_rate != getattr(self, "_drawn_rate", None):
            self.refresh()

    def refresh(self, *args) -> None:
        self._drawn_rate = self.session.frame_rate
        for plot, item in self._items:
            plot.removeItem(item)
        self._items.clear()
        self._names = {plot: [] for plot in self.plots}
        # The x unit goes in the summary line, not an axis label: each plot keeps its height.
        for plot in self.plots:
            plot.setTitle(self.titles[plot], size="9pt")
        data = self.session.data
        motion = data.motion if data is not None else None
        self.graphics.setVisible(motion is not None)
        if motion is None:
            self.summary.setText("No motion correction yet (Run > Motion correction).")
            return
        shifts = np.asarray(motion.shifts, float)
        t = self._time(len(shifts))
        self._add(self.shift_plot, t, shifts[:, 0], (230, 159, 0), "dy (rows)")
        self._add(self.shift_plot, t, shifts[:, 1], (86, 180, 233), "dx (cols)")
        if motion.shifts_pw is not None:
            pw = np.asarray(motion.shifts_pw, float)
            size = np.sqrt((pw ** 2).sum(axis=-1)).reshape(len(pw), -1).max(axis=1)
            self._add(self.pw_plot, t, size, (204, 121, 167), "largest")
        self.pw_plot.setVisible(motion.shifts_pw is not None)
        m = motion.metrics or {}
        for key, colour, name in (("corr_before", (150, 150, 150), "before"),
                                  ("corr_after", (0, 158, 115), "after")):
            if key in m and np.ndim(m[key]) == 1:
                self._add(self.corr_plot, t, np.asarray(m[key], float), colour, name)
        bad = np.flatnonzero(np.asarray(m.get("bad_frames", []), bool))
        if bad.size and "corr_after" in m:
            scatter = pg.ScatterPlotItem(t[bad], np.asarray(m["corr_after"], float)[bad], symbol="x",
                                         size=9, pen=pg.mkPen((213, 94, 0), width=2), name="bad frames")
            self.corr_plot.addItem(scatter)
            self._items.append((self.corr_plot, scatter))
            self._names[self.corr_plot].append("<span style='color: rgb(213, 94, 0)'>x bad frames</span>")
            self.corr_plot.setTitle(f"{self.titles[self.corr_plot]}: {' '.join(self._names[self.corr_plot])}",
                                    size="9pt")
        flagged = np.flatnonzero(np.asarray(m.get("flagged_frames", []), bool))
        if flagged.size and flagged.max() < len(shifts):
            # Flagged frames on the shift trace: their shift came from their neighbours or
            # disagrees with them (blank, flashed, untrusted, out of step).
            for axis in range(2):
                marks = pg.ScatterPlotItem(t[flagged], shifts[flagged, axis], symbol="t", size=9,
                                           pen=pg.mkPen((213, 94, 0), width=1), brush=pg.mkBrush(213, 94, 0),
                                           name="flagged" if axis == 0 else None)
                self.shift_plot.addItem(marks)
                self._items.append((self.shift_plot, marks))
            self._names[self.shift_plot].append("<span style='color: rgb(213, 94, 0)'>&#9650; flagged</span>")
            self.shift_plot.setTitle(f"{self.titles[self.shift_plot]}: {' '.join(self._names[self.shift_plot])}",
                                     size="9pt")
        parts = ["x: time (s)" if self.session.frame_rate else "x: frames (frame rate unknown)",
                 f"largest rigid shift {np.abs(shifts).max():.2f} px" if shifts.size else "no frames"]
        if "flagged_frames" in m:
            parts.append(f"{flagged.size} flagged frame{'s' * (flagged.size != 1)}")
        if "crispness_before" in m and "crispness_after" in m:
            parts.append(f"crispness {float(m['crispness_before']):.3g} -> {float(m['crispness_after']):.3g}")
        parts.append(f"{bad.size} bad frame{'s' * (bad.size != 1)}")
        if motion.clamped:
            parts.append(f"{motion.clamped} shifts clamped at max_shift")
        from cnmf_gui.session.frames import motion_warning

        warning = motion_warning(m)
        if warning:
            parts.insert(0, f"WARNING: {warning}")
        self.summary.setStyleSheet("color: rgb(200, 60, 0); font-weight: bold;" if warning else "")
        self.summary.setText("; ".join(parts))
        self._on_frame(self.session.frame)

    def _add(self, plot, x, y, colour, name) -> None:
        item = plot.plot(x, y, pen=pg.mkPen(colour, width=1))
        self._items.append((plot, item))
        self._names[plot].append(f"<span style='color: rgb{tuple(colour)}'>&#9473; {name}</span>")
        plot.setTitle(f"{self.titles[plot]}: {' '.join(self._names[plot])}", size="9pt")

    def _on_frame(self, frame: int) -> None:
        # Hidden (a tab behind another dock) it need not follow playback.
        if not self.isVisible():
            return
        x = self.session.time_of(frame)
        for line in self.cursors:
            line.setValue(x)

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        for plot in self.plots:
            vb = plot.vb
            if plot.isVisible() and vb.sceneBoundingRect().contains(event.scenePos()):
                x = vb.mapSceneToView(event.scenePos()).x()
                rate = self.session.frame_rate
                self.session.set_frame(int(round(x * rate if rate else x)))
                return

"""Traces of the selected components: raw F, denoised C, deconvolved S and dF/F, stacked.

Each selected component gets a lane of height 1; F and C share one scale (so C sits on F), S and
dF/F are scaled to their own lane height. This is display scaling only: the numbers themselves
are the session's. A vertical line marks the current frame; click or drag it to seek.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.session import STATUS_NAMES
from cnmf_gui.session.frames import colours_of

MAX_LANES = 12
KINDS = {"F": ("Raw F", (150, 150, 150)), "C": ("Denoised C", None),
         "S": ("Deconvolved S", (86, 180, 233)), "dff": ("dF/F", (204, 121, 167))}


def _unit_range(y: np.ndarray, lo=None, hi=None) -> np.ndarray:
    lo = np.nanmin(y) if lo is None else lo
    hi = np.nanmax(y) if hi is None else hi
    span = hi - lo if np.isfinite(hi - lo) and hi > lo else 1.0
    return (y - lo) / span


class TraceView(QWidget):
    """Stacked traces of the session's selection with a time cursor linked to the movie."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self.toggles = {}
        row = QHBoxLayout()
        for kind, (label, _) in KINDS.items():
            box = QCheckBox(label)
            box.setChecked(kind in ("F", "C", "S"))
            box.toggled.connect(self.refresh)
            self.toggles[kind] = box
            row.addWidget(box)
        row.addStretch(1)
        self.info = QLabel("")
        row.addWidget(self.info)
        self.plot = pg.PlotWidget()
        self.plot.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.plot.setMenuEnabled(False)
        item = self.plot.getPlotItem()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.hideAxis("left")
        item.setMouseEnabled(x=True, y=False)
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen((255, 255, 255), width=1))
        self.cursor.setZValue(20)
        self.cursor.sigPositionChanged.connect(self._on_cursor_dragged)
        self.plot.addItem(self.cursor)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(row)
        layout.addWidget(self.plot, 1)
        self.curves: dict[tuple[int, str], pg.PlotDataItem] = {}
        self.preview_curves: list[pg.PlotDataItem] = []
        self.labels: list[pg.TextItem] = []
        self._shown_ids: tuple = ()
        # During playback the cursor follows at most ~15 times a second: moving it repaints the
        # whole plot, which would otherwise halve the movie's frame rate.
        self._cursor_timer = QTimer(self)
        self._cursor_timer.setSingleShot(True)
        self._cursor_timer.setInterval(66)
        self._cursor_timer.timeout.connect(self._move_cursor)
        self._updates = 0
        self._drawn_rate = None
        for event, handler in (("selection", self.refresh), ("traces", self._on_traces),
                               ("components", self.refresh), ("data", self._on_data),
                               ("frame", self._on_frame), ("preview", self._on_preview),
                               ("status", self._on_status), ("params", self._on_params)):
            self.subs.on(session, event, handler)
        self._on_data()

    # ------------------------------------------------------------------------------------------
    def _time_axis(self) -> np.ndarray:
        s = self.session
        T = s.components.n_frames if s.components is not None else s.n_frames
        t = np.arange(T, dtype=float)
        return t / s.frame_rate if s.frame_rate else t

    def _on_params(self, _params) -> None:
        if self.session.frame_rate != self._drawn_rate:
            self._on_data()
            # The old view range was in the old seconds: show the whole recording again.
            t = self._time_axis()
            if len(t) > 1:
                self.plot.getPlotItem().setXRange(float(t[0]), float(t[-1]), padding=0.01)

    def _on_data(self, *args) -> None:
        self._drawn_rate = self.session.frame_rate
        label = "time (s)" if self.session.frame_rate else "frame"
        self.plot.getPlotItem().setLabel("bottom", label)
        self.refresh()
        self._move_cursor()

    def _on_traces(self, ids) -> None:
        if set(ids) & set(self.session.selection):
            self.refresh()

    def _on_status(self, ids) -> None:
        if set(ids) & set(self.session.selection):
            self.refresh()

    def refresh(self, *args) -> None:
        """Redraw the lanes for the current selection."""
        plot = self.plot.getPlotItem()
        for item in list(self.curves.values()) + self.labels + self.preview_curves:
            plot.removeItem(item)
        self.curves.clear()
        self.labels.clear()
        self.preview_curves.clear()
        s = self.session
        comps = s.components
        ids = tuple(i for i in s.selection if s.has(i))[:MAX_LANES]
        self._shown_ids = ids
        self._updates += 1
        if comps is None or not ids:
            self.info.setText("select a component (click its outline or a table row)")
            t = self._time_axis()
            if len(t) > 1:  # an empty plot still shows the recording's time span, not a stray range
                plot.setXRange(float(t[0]), float(t[-1]), padding=0.01)
                plot.setYRange(0.0, 1.0, padding=0)
            return
        t = self._time_axis()
        n = len(ids)
        # Each component's own colour, as its outline (coloured by component) and the demixed view.
        own = {cid: tuple(int(v) for v in 255 * rgb) for cid, rgb in zip(ids, colours_of(ids))}
        for lane, cid in enumerate(ids):
            k = s.index_of(cid)
            base = n - 1 - lane
            status = int(comps.status[k])
            colour = own[cid]
            F = np.asarray(comps.F[k], float)
            lo, hi = np.nanmin(F), np.nanmax(F)
            for kind, (_, pen_colour) in KINDS.items():
                if not self.toggles[kind].isChecked():
                    continue
                if kind == "F":
                    y = _unit_range(F, lo, hi) * 0.9
                elif kind == "C":
                    # F holds the baseline b, C does not: draw C + b so it sits on F.
                    y = _unit_range(np.asarray(comps.C[k], float) + float(comps.baseline[k]), lo, hi) * 0.9
                elif kind == "S":
                    y = _unit_range(np.asarray(comps.S[k], float), 0.0) * 0.45
                else:
                    y = _unit_range(np.asarray(comps.dff[k], float)) * 0.9
                pen = pg.mkPen(pen_colour or colour, width=1.5 if kind == "C" else 1)
                self.curves[(cid, kind)] = plot.plot(t, y + base, pen=pen)
            text = pg.TextItem(f"#{cid} {STATUS_NAMES.get(status, '')}", color=colour, anchor=(0, 0))
            text.setPos(float(t[0]) if len(t) else 0.0, base + 0.95)
            plot.addItem(text)
            self.labels.append(text)
        if n == 1:
            k = s.index_of(ids[0])
            eps = float(comps.epsilon[k])
            snr = comps.metrics.get("snr")
            snr_text = f", SNR {float(snr[k]):.1f}" if snr is not None and np.isfinite(snr[k]) else ""
            self.info.setText(f"component {ids[0]}: epsilon {eps:g}{snr_text}")
        else:
            self.info.setText(f"{n} components")
        plot.setYRange(-0.05, n, padding=0)

    def _on_preview(self, cid, result) -> None:
        plot = self.plot.getPlotItem()
        for item in self.preview_curves:
            plot.removeItem(item)
        self.preview_curves.clear()
        if result is None or self._shown_ids != (cid,):
            return
        comps = self.session.components
        k = self.session.index_of(cid)
        F = np.asarray(comps.F[k], float)
        t = self._time_axis()
        c = (_unit_range(np.asarray(result.c, float) + float(np.asarray(result.b)), np.nanmin(F),
                         np.nanmax(F)) * 0.9)
        s = _unit_range(np.asarray(result.s, float), 0.0) * 0.45
        dash = Qt.PenStyle.DashLine
        self.preview_curves.append(plot.plot(t, c, pen=pg.mkPen((255, 255, 255), width=1, style=dash)))
        self.preview_curves.append(plot.plot(t, s, pen=pg.mkPen((255, 200, 0), width=1, style=dash)))
        # Say what the dashed lines are: a preview, not yet applied.
        eps = getattr(result, "epsilon", None)
        eps_text = f" at epsilon {float(np.ravel(eps)[0]):g}" if eps is not None and np.size(eps) else ""
        legend = pg.TextItem(f"dashed: preview{eps_text} (white C, yellow S), not applied", color=(255, 255, 255),
                             anchor=(1, 0))
        legend.setPos(float(t[-1]) if len(t) else 0.0, 0.98)
        plot.addItem(legend)
        self.preview_curves.append(legend)

    # ------------------------------------------------------------------------------------------
    def _on_frame(self, frame: int) -> None:
        if not self._cursor_timer.isActive():
            self._cursor_timer.start()

    def _move_cursor(self) -> None:
        frame = self.session.frame
        self.cursor.blockSignals(True)
        self.cursor.setValue(self.session.time_of(frame))
        self.cursor.blockSignals(False)

    def _seek_time(self, x: float) -> None:
        rate = self.session.frame_rate
        self.session.set_frame(int(round(x * rate if rate else x)))

    def _on_cursor_dragged(self, line) -> None:
        self._seek_time(line.value())

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        vb = self.plot.getPlotItem().vb
        if vb.sceneBoundingRect().contains(event.scenePos()):
            self._seek_time(vb.mapSceneToView(event.scenePos()).x())

    # for tests and benchmarks
    def curve_data(self, component_id: int, kind: str):
        """(x, y) drawn for ``kind`` of ``component_id`` (None when not drawn)."""
        item = self.curves.get((int(component_id), kind))
        return None if item is None else item.getData()

    def widget_pos_of_time(self, seconds: float):
        vb = self.plot.getPlotItem().vb
        from PyQt6.QtCore import QPointF
        return self.plot.mapFromScene(vb.mapViewToScene(QPointF(seconds, 0.5)))

"""Footprint contours for the movie view: smooth iso-lines, coloured by status or by component.

The outlines are the session's (sub-pixel iso-lines of each footprint at a fraction of its peak,
cached by id). Two colourings:

- by status (default): one colour per status, all outlines of a status concatenated with NaN
  separators into one ``PlotCurveItem(connect="finite")``, so 500 contours cost a few draw calls;
- by component: each component in its own colour (the one the traces and the demixed view use),
  its status shown by the line style (accepted solid, undecided dashed, rejected dotted, inactive
  dash-dot), one curve per component.

Either can be filled (translucent) instead of outlined only. The selection is drawn on top in
white. Inactive cells (a soma of the mean image that never fired) have their own colour and a
dash-dot line in both modes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import QPointF, Qt
from PyQt6.QtGui import QBrush, QColor, QPainterPath, QPolygonF
from PyQt6.QtWidgets import QGraphicsItem, QGraphicsPathItem

from cnmf_gui.results import STATUS_ACCEPTED, STATUS_INACTIVE, STATUS_REJECTED, STATUS_UNDECIDED

# Colour-blind-safe (Okabe-Ito): bluish green, vermillion, yellow, sky blue (inactive: a cell of
# the mean image that never fired, shown so the user sees every cell).
STATUS_COLOURS = {STATUS_ACCEPTED: (0, 158, 115), STATUS_REJECTED: (213, 94, 0),
                  STATUS_UNDECIDED: (240, 228, 66), STATUS_INACTIVE: (86, 180, 233)}
STATUS_STYLES = {STATUS_ACCEPTED: Qt.PenStyle.SolidLine, STATUS_UNDECIDED: Qt.PenStyle.DashLine,
                 STATUS_REJECTED: Qt.PenStyle.DotLine, STATUS_INACTIVE: Qt.PenStyle.DashDotLine}
STYLE_NAMES = {STATUS_ACCEPTED: "solid", STATUS_UNDECIDED: "dashed", STATUS_REJECTED: "dotted",
               STATUS_INACTIVE: "dash-dot"}
SELECTION_COLOUR = (255, 255, 255)
FILL_ALPHA = 70


def _pen(colour, status, width=1.5):
    pen = pg.mkPen(colour, width=width)
    # Inactive cells keep their own line in every mode: they are not to be judged by activity.
    if status == STATUS_INACTIVE:
        pen.setStyle(STATUS_STYLES[STATUS_INACTIVE])
    return pen


class ContourLayer:
    """Outlines (or filled shapes) plus a highlighted selection, on one ViewBox."""

    def __init__(self, view: pg.ViewBox):
        self.view = view
        self.mode = "status"
        self.filled = False
        self.colours: dict[int, tuple] = {}      # id -> (r, g, b) 0..255, for mode "component"
        self.visible = True
        self.statuses = None
        self.curves = {}
        for status, colour in STATUS_COLOURS.items():
            curve = pg.PlotCurveItem(pen=_pen(colour, status), connect="finite")
            curve.setZValue(10)
            # Contours stay put while frames change underneath: cache their rendering so playback
            # only blits them (500 outlines cost ~3 ms a frame otherwise).
            curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            view.addItem(curve)
            self.curves[status] = curve
        self.fills = {}
        for status, colour in STATUS_COLOURS.items():
            item = QGraphicsPathItem()
            item.setPen(pg.mkPen(None))
            item.setBrush(QBrush(QColor(*colour, FILL_ALPHA)))
            item.setZValue(9)
            view.addItem(item)
            self.fills[status] = item
        self.items: dict[int, tuple] = {}       # mode "component": id -> (curve, fill, status)
        self.selected = pg.PlotCurveItem(pen=pg.mkPen(SELECTION_COLOUR, width=3), connect="finite")
        self.selected.setZValue(11)
        view.addItem(self.selected)
        self.members: dict[int, list[int]] = {s: [] for s in self.curves}

    # ------------------------------------------------------------------------------------------
    def set_style(self, mode: str, filled: bool, colours: dict | None = None) -> None:
        """``mode`` "status" or "component" (``colours``: id -> (r, g, b) 0..255); ``filled``."""
        self.mode, self.filled = mode, bool(filled)
        if colours is not None:
            self.colours = colours

    def set_visible(self, visible: bool, statuses=None) -> None:
        """Show or hide the outlines; ``statuses`` limits them to those statuses (None: all)."""
        self.visible, self.statuses = visible, statuses
        by_status = self.mode == "status"
        for status, curve in self.curves.items():
            on = visible and (statuses is None or status in statuses)
            curve.setVisible(on and by_status)
            self.fills[status].setVisible(on and by_status and self.filled)
        for curve, fill, status in self.items.values():
            on = visible and (statuses is None or status in statuses) and not by_status
            curve.setVisible(on)
            fill.setVisible(on and self.filled)
        self.selected.setVisible(visible)

    def update(self, contours: dict, ids, status, selection) -> None:
        """Redraw: ``contours`` id -> (n, 2) [row, col]; ``status`` aligned with ``ids``."""
        by_status = {s: [] for s in self.curves}
        self.members = {s: [] for s in self.curves}
        for cid, st in zip(np.asarray(ids), np.asarray(status)):
            poly = contours.get(int(cid))
            if poly is not None and len(poly):
                by_status.setdefault(int(st), []).append(poly)
                self.members.setdefault(int(st), []).append(int(cid))
        for item in self.items.values():
            self.view.removeItem(item[0])
            self.view.removeItem(item[1])
        self.items = {}
        if self.mode == "status":
            for st, curve in self.curves.items():
                _set_polys(curve, by_status.get(st, []))
                self.fills[st].setPath(_path(by_status.get(st, [])) if self.filled else QPainterPath())
        else:
            for st, curve in self.curves.items():
                _set_polys(curve, [])
                self.fills[st].setPath(QPainterPath())
            for cid, st in zip(np.asarray(ids), np.asarray(status)):
                poly = contours.get(int(cid))
                if poly is None or not len(poly):
                    continue
                colour = self.colours.get(int(cid), (255, 255, 255))
                pen = pg.mkPen(colour, width=1.5)
                pen.setStyle(STATUS_STYLES.get(int(st), Qt.PenStyle.SolidLine))
                curve = pg.PlotCurveItem(pen=pen, connect="finite")
                curve.setZValue(10)
                curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
                _set_polys(curve, [poly])
                fill = QGraphicsPathItem(_path([poly]) if self.filled else QPainterPath())
                fill.setPen(pg.mkPen(None))
                fill.setBrush(QBrush(QColor(*colour, FILL_ALPHA)))
                fill.setZValue(9)
                self.view.addItem(curve)
                self.view.addItem(fill)
                self.items[int(cid)] = (curve, fill, int(st))
        self.set_visible(self.visible, self.statuses)
        self.update_selection(contours, selection)

    def update_selection(self, contours: dict, selection) -> None:
        """Redraw only the highlighted outlines (a selection change leaves the rest alone)."""
        _set_polys(self.selected, [contours[i] for i in selection if i in contours and len(contours[i])])

    def colour_of(self, status: int):
        """The pen colour contours of ``status`` are drawn with, as (r, g, b)."""
        return self.curves[status].opts["pen"].color().getRgb()[:3]

    def status_drawn(self, component_id: int):
        """The status whose colour the contour of ``component_id`` is drawn in (None: not drawn)."""
        for st, members in self.members.items():
            if int(component_id) in members:
                return st
        return None


def legend_html(mode: str) -> str:
    """What the outlines' colours or line styles mean, for a label beside the view."""
    names = {STATUS_ACCEPTED: "accepted", STATUS_UNDECIDED: "undecided", STATUS_REJECTED: "rejected",
             STATUS_INACTIVE: "inactive"}
    if mode == "status":
        return " ".join(f"<span style='color: rgb{STATUS_COLOURS[s]}'>&#9632;</span> {names[s]}"
                        for s in names)
    return " · ".join(f"{STYLE_NAMES[s]}: {names[s]}" for s in names)


def _set_polys(curve: pg.PlotCurveItem, polys: list) -> None:
    if not polys:
        curve.setData([], [])
        return
    pts = np.vstack(polys)
    # x is the column, y the row: the image is shown row-major with rows downwards.
    curve.setData(pts[:, 1], pts[:, 0], connect="finite")


def _path(polys: list) -> QPainterPath:
    """One painter path of every closed loop (loops are NaN-separated in each array)."""
    path = QPainterPath()
    for poly in polys:
        breaks = np.flatnonzero(np.isnan(poly[:, 0]))
        for loop in np.split(poly, breaks):
            loop = loop[~np.isnan(loop[:, 0])]
            if len(loop) > 2:
                path.addPolygon(QPolygonF([QPointF(c, r) for r, c in loop]))
    return path

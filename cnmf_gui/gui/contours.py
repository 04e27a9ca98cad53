"""Footprint contours for the movie view, drawn as a few curves (one per status), not one per cell.

Each footprint's outline is traced once (through the session) and cached by component id; the curves of all components of a
status are concatenated with NaN separators into one ``PlotCurveItem(connect="finite")``, so 500
contours cost three draw calls.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtWidgets import QGraphicsItem

from cnmf_gui.results import STATUS_ACCEPTED, STATUS_INACTIVE, STATUS_REJECTED, STATUS_UNDECIDED

# Colour-blind-safe (Okabe-Ito): bluish green, vermillion, yellow, sky blue (inactive: a cell of
# the mean image that never fired, shown so the user sees every cell).
STATUS_COLOURS = {STATUS_ACCEPTED: (0, 158, 115), STATUS_REJECTED: (213, 94, 0),
                  STATUS_UNDECIDED: (240, 228, 66), STATUS_INACTIVE: (86, 180, 233)}
SELECTION_COLOUR = (255, 255, 255)


class ContourLayer:
    """Status-coloured contour curves plus a highlighted selection, on one ViewBox."""

    def __init__(self, view: pg.ViewBox):
        self.curves = {}
        for status, colour in STATUS_COLOURS.items():
            curve = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1.5), connect="finite")
            curve.setZValue(10)
            # Contours stay put while frames change underneath: cache their rendering so playback
            # only blits them (500 outlines cost ~3 ms a frame otherwise).
            curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            view.addItem(curve)
            self.curves[status] = curve
        self.selected = pg.PlotCurveItem(pen=pg.mkPen(SELECTION_COLOUR, width=3), connect="finite")
        self.selected.setZValue(11)
        view.addItem(self.selected)
        self.members: dict[int, list[int]] = {s: [] for s in self.curves}

    def set_visible(self, visible: bool, statuses=None) -> None:
        """Show or hide the outlines; ``statuses`` limits them to those statuses (None: all)."""
        for status, curve in self.curves.items():
            curve.setVisible(visible and (statuses is None or status in statuses))
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
        for st, curve in self.curves.items():
            _set_polys(curve, by_status.get(st, []))
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


def _set_polys(curve: pg.PlotCurveItem, polys: list) -> None:
    if not polys:
        curve.setData([], [])
        return
    pts = np.vstack(polys)
    # x is the column, y the row: the image is shown row-major with rows downwards.
    curve.setData(pts[:, 1], pts[:, 0], connect="finite")

"""The component table: id, status, SNR, spatial consistency, size, epsilon; sortable, filterable.

Selection is synced both ways with the session (and so with the movie view). Arrow keys move
through the table in its current sort order; A and R act on the selection (window shortcuts).
"""

from __future__ import annotations

import numpy as np
from PyQt6.QtCore import QAbstractTableModel, QItemSelection, QItemSelectionModel, QModelIndex, \
    QSortFilterProxyModel, Qt
from PyQt6.QtGui import QColor
from PyQt6.QtWidgets import (QAbstractItemView, QComboBox, QDoubleSpinBox, QHBoxLayout, QHeaderView,
                             QLabel, QTableView, QVBoxLayout, QWidget)

from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.gui.contours import STATUS_COLOURS
from cnmf_gui.session import STATUS_NAMES

COLUMNS = ("id", "status", "SNR", "r_value", "size", "epsilon", "reason")
TOOLTIPS = ("Stable id (never reused; a merge makes a new one)",
            "accepted / undecided / rejected / inactive; * = decided by you (thresholds leave it alone)",
            "Signal-to-noise ratio of the trace", "Spatial consistency: correlation of the footprint "
            "with the movie during the component's transients", "Footprint area in pixels",
            "Noise-constraint relaxation the trace was deconvolved with (* = your override)",
            "Why the automatic status was given (too small, duplicate of N, low SNR, inactive: no "
            "events, ...); empty where you decided")
SORT_ROLE = Qt.ItemDataRole.UserRole


class ComponentModel(QAbstractTableModel):
    """Table model over the session's current components."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else self.session.n_components

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return TOOLTIPS[section]
        return None

    def _value(self, row: int, col: int):
        comps = self.session.components
        name = COLUMNS[col]
        if name == "id":
            return int(comps.ids[row])
        if name == "status":
            return int(comps.status[row])
        if name == "epsilon":
            return float(comps.epsilon[row])
        if name == "reason":
            return str(comps.reason[row])
        key = {"SNR": "snr", "size": "area"}.get(name, name)
        values = comps.metrics.get(key)
        return float(values[row]) if values is not None else float("nan")

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row, col = index.row(), index.column()
        value = self._value(row, col)
        name = COLUMNS[col]
        cid = int(self.session.components.ids[row])
        if role == Qt.ItemDataRole.DisplayRole:
            if name == "status":
                mark = "*" if self.session.is_user_decided(cid) else ""
                return STATUS_NAMES[value] + mark
            if name == "id":
                return str(value)
            if name == "epsilon" and self.session.epsilon_override(cid) is not None:
                return f"{value:g}*"
            if isinstance(value, float):
                return "" if not np.isfinite(value) else (f"{value:.0f}" if name == "size" else f"{value:.3g}")
            return str(value)
        if role == SORT_ROLE:
            return -np.inf if isinstance(value, float) and not np.isfinite(value) else value
        if role == Qt.ItemDataRole.BackgroundRole and name == "status":
            r, g, b = STATUS_COLOURS[value]
            return QColor(r, g, b, 90)
        if role == Qt.ItemDataRole.ToolTipRole and name == "reason" and value:
            return value
        if role == Qt.ItemDataRole.TextAlignmentRole and name not in ("status", "reason"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def reset(self) -> None:
        self.beginResetModel()
        self.endResetModel()

    def rows_changed(self, rows) -> None:
        for row in rows:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))


class ComponentFilter(QSortFilterProxyModel):
    """Shows components of one status (or all) with SNR at least a minimum."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.status = None
        self.min_snr = 0.0
        self.setSortRole(SORT_ROLE)

    def set_filter(self, status, min_snr: float) -> None:
        self.status = status
        self.min_snr = min_snr
        self.invalidate()

    def filterAcceptsRow(self, row, parent) -> bool:
        model = self.sourceModel()
        if self.status is not None and model._value(row, 1) != self.status:
            return False
        if self.min_snr > 0:
            snr = model._value(row, 2)
            if not (np.isfinite(snr) and snr >= self.min_snr):
                return False
        return True


class ComponentTable(QWidget):
    """Sortable, filterable table of components, selection synced with the session."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self.model = ComponentModel(session, self)
        self.proxy = ComponentFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(20)
        # Numbers in narrow columns; the reason (free text) takes the rest of the width.
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setDefaultSectionSize(68)
        header.setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(self._on_table_selection)

        self.status_filter = QComboBox()
        for label, value in (("all", None), ("accepted", 1), ("undecided", 0), ("rejected", -1),
                             ("inactive", 2)):
            self.status_filter.addItem(label, value)
        self.status_filter.currentIndexChanged.connect(self._on_filter)
        self.snr_filter = QDoubleSpinBox()
        self.snr_filter.setRange(0.0, 1000.0)
        self.snr_filter.setPrefix("SNR >= ")
        self.snr_filter.setToolTip("Hide components below this SNR (0 shows all)")
        self.snr_filter.valueChanged.connect(self._on_filter)
        self.count = QLabel("")
        top = QHBoxLayout()
        top.addWidget(QLabel("Show"))
        top.addWidget(self.status_filter)
        top.addWidget(self.snr_filter)
        top.addStretch(1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self._syncing = False
        for event, handler in (("data", self._on_reset), ("components", self._on_reset),
                               ("status", self._on_rows), ("traces", self._on_rows),
                               ("selection", self._on_session_selection)):
            self.subs.on(session, event, handler)
        self._on_reset()

    # ------------------------------------------------------------------------------------------
    def _on_reset(self, *args) -> None:
        self._syncing = True
        self.model.reset()
        self._syncing = False
        self._on_session_selection(self.session.selection)
        self._update_count()

    def _on_rows(self, ids) -> None:
        rows = [self.session.index_of(i) for i in ids if self.session.has(i)]
        self.model.rows_changed(rows)
        if self.proxy.status is not None:
            self.proxy.invalidate()
        self._update_count()

    def _update_count(self) -> None:
        comps = self.session.components
        if comps is None:
            self.count.setText("no components")
            return
        st = comps.status
        self.count.setText(f"{self.proxy.rowCount()} shown of {len(st)}: {int(np.sum(st == 1))} accepted, "
                           f"{int(np.sum(st == -1))} rejected")

    def _on_filter(self, *args) -> None:
        self.proxy.set_filter(self.status_filter.currentData(), self.snr_filter.value())
        self._on_session_selection(self.session.selection)
        self._update_count()

    def _on_table_selection(self, *args) -> None:
        if self._syncing:
            return
        rows = self.table.selectionModel().selectedRows()
        ids = []
        for index in sorted(rows, key=lambda i: i.row()):
            source = self.proxy.mapToSource(index)
            ids.append(int(self.session.components.ids[source.row()]))
        current = self.table.currentIndex()
        if current.isValid() and len(ids) > 1:
            # Keep the row the user moved to first, so the trace view shows it on top.
            cid = int(self.session.components.ids[self.proxy.mapToSource(current).row()])
            if cid in ids:
                ids.remove(cid)
                ids.insert(0, cid)
        self._syncing = True
        try:
            self.session.select(ids)
        finally:
            self._syncing = False

    def _on_session_selection(self, ids) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            sel = QItemSelection()
            first = None
            for cid in ids:
                if not self.session.has(cid):
                    continue
                index = self.proxy.mapFromSource(self.model.index(self.session.index_of(cid), 0))
                if index.isValid():
                    sel.select(index, index.siblingAtColumn(len(COLUMNS) - 1))
                    first = first or index
            flags = (QItemSelectionModel.SelectionFlag.ClearAndSelect
                     | QItemSelectionModel.SelectionFlag.Rows)
            self.table.selectionModel().select(sel, flags)
            if first is not None:
                self.table.selectionModel().setCurrentIndex(first, QItemSelectionModel.SelectionFlag.NoUpdate)
                self.table.scrollTo(first)
        finally:
            self._syncing = False

    # for tests
    def row_of(self, component_id: int) -> int:
        """Visible row of a component (-1 when filtered out)."""
        index = self.proxy.mapFromSource(self.model.index(self.session.index_of(component_id), 0))
        return index.row() if index.isValid() else -1

    def text(self, component_id: int, column: str) -> str:
        row = self.session.index_of(component_id)
        return self.model.data(self.model.index(row, COLUMNS.index(column)))

    def selected_ids(self) -> list[int]:
        rows = self.table.selectionModel().selectedRows()
        return sorted(int(self.session.components.ids[self.proxy.mapToSource(i).row()]) for i in rows)

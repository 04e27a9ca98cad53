"""The movie view's outline controls: colour by status or by component, filled or not, and a
legend saying what the colours or line styles mean."""

from __future__ import annotations

from PyQt6.QtCore import pyqtSignal
from PyQt6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QWidget

from cnmf_gui.gui.contours import legend_html


class OutlineControls(QWidget):
    """Emits ``changed`` when the colouring or the fill changes."""

    changed = pyqtSignal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.colour_by = QComboBox()
        self.colour_by.addItem("by status", "status")
        self.colour_by.addItem("by component", "component")
        self.colour_by.setToolTip("Outline colours: one per status, or each component its own colour "
                                  "(the one its trace and the demixed view use; status as the line style)")
        self.filled = QCheckBox("Filled")
        self.filled.setToolTip("Fill the footprints with a translucent colour")
        self.legend = QLabel(legend_html("status"))
        self.legend.setToolTip("What the outlines' colours or line styles mean")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for w in (self.colour_by, self.filled, self.legend):
            layout.addWidget(w)
        self.colour_by.currentIndexChanged.connect(self._changed)
        self.filled.toggled.connect(self._changed)

    @property
    def mode(self) -> str:
        return self.colour_by.currentData()

    def _changed(self, *args) -> None:
        self.legend.setText(legend_html(self.mode))
        self.changed.emit()

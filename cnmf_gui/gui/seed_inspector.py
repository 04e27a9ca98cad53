"""The PNR x correlation inspector: set the two seed thresholds of one-photon runs by looking.

Left, the correlation and PNR images with the seeds the current thresholds keep; right, a scatter
of the pixels (correlation against PNR) with the two thresholds as lines; two sliders move them
and the kept seeds follow live. **Use these thresholds** writes init.min_corr and init.min_pnr.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6.QtCore import Qt, QTimer
from PyQt6.QtWidgets import QDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QSlider, QVBoxLayout

__all__ = ["SeedInspector", "open_seed_inspector"]

CORR_STEPS = 1000     # slider units per 1.0 of correlation (cells sit at 0.95-0.999)
PNR_STEPS = 10        # slider units per 1.0 of PNR


class SeedInspector(QDialog):
    """Two images, a scatter and two sliders over a ``SeedInspectorModel``."""

    def __init__(self, model, parent=None):
        super().__init__(parent)
        self.setWindowTitle("One-photon seeds: correlation x PNR")
        self.model = model
        p = model.session.params.init
        self.corr_view = pg.ImageView()
        self.pnr_view = pg.ImageView()
        for view, image in ((self.corr_view, model.correlation), (self.pnr_view, model.pnr)):
            view.setImage(image, autoLevels=True)
            view.ui.roiBtn.hide()
            view.ui.menuBtn.hide()
            view.ui.histogram.hide()
        self.marks = [pg.ScatterPlotItem(size=9, pen=pg.mkPen("r", width=1.5), brush=None, symbol="o")
                      for _ in range(2)]
        self.corr_view.getView().addItem(self.marks[0])
        self.pnr_view.getView().addItem(self.marks[1])
        self.scatter = pg.PlotWidget(labels={"bottom": "correlation", "left": "PNR"})
        pts = model.candidates()
        self.scatter.plot(pts[:, 0], pts[:, 1], pen=None, symbol="o", symbolSize=3,
                          symbolBrush=(120, 120, 120, 120), symbolPen=None)
        self.corr_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("r"))
        self.pnr_line = pg.InfiniteLine(angle=0, pen=pg.mkPen("r"))
        self.scatter.addItem(self.corr_line)
        self.scatter.addItem(self.pnr_line)
        self.corr_slider = QSlider(Qt.Orientation.Horizontal)
        self.corr_slider.setRange(0, CORR_STEPS)
        self.corr_slider.setValue(int(round(p.min_corr * CORR_STEPS)))
        self.pnr_slider = QSlider(Qt.Orientation.Horizontal)
        self.pnr_slider.setRange(0, int(np.ceil(max(np.nanmax(model.pnr), p.min_pnr) + 1) * PNR_STEPS))
        self.pnr_slider.setValue(int(round(p.min_pnr * PNR_STEPS)))
        self.label = QLabel("")
        apply = QPushButton("Use these thresholds")
        apply.clicked.connect(self.apply)
        # slider drags fire many signals: recompute at most every 50 ms
        self._timer = QTimer(self, singleShot=True, interval=50)
        self._timer.timeout.connect(self.update_seeds)
        self.corr_slider.valueChanged.connect(lambda _v: self._timer.start())
        self.pnr_slider.valueChanged.connect(lambda _v: self._timer.start())
        grid = QGridLayout()
        grid.addWidget(QLabel("correlation"), 0, 0)
        grid.addWidget(QLabel("PNR"), 0, 1)
        grid.addWidget(self.corr_view, 1, 0)
        grid.addWidget(self.pnr_view, 1, 1)
        grid.addWidget(self.scatter, 1, 2)
        for col in range(3):
            grid.setColumnStretch(col, 1)
        sliders = QGridLayout()
        sliders.addWidget(QLabel("min correlation"), 0, 0)
        sliders.addWidget(self.corr_slider, 0, 1)
        sliders.addWidget(QLabel("min PNR"), 1, 0)
        sliders.addWidget(self.pnr_slider, 1, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.label, 1)
        bottom.addWidget(apply)
        layout = QVBoxLayout(self)
        layout.addLayout(grid, 1)
        layout.addLayout(sliders)
        layout.addLayout(bottom)
        self.resize(1300, 520)
        self.kept = np.zeros((0, 2), int)
        self.update_seeds()

    @property
    def thresholds(self) -> tuple[float, float]:
        return self.corr_slider.value() / CORR_STEPS, self.pnr_slider.value() / PNR_STEPS

    def update_seeds(self) -> None:
        min_corr, min_pnr = self.thresholds
        self.kept = self.model.seeds(min_corr, min_pnr)
        # pyqtgraph's images are row-major (app.py): x is the column, y the row
        for mark in self.marks:
            mark.setData(x=self.kept[:, 1] + 0.5, y=self.kept[:, 0] + 0.5)
        self.corr_line.setValue(min_corr)
        self.pnr_line.setValue(min_pnr)
        self.label.setText(f"min correlation {min_corr:.2f}, min PNR {min_pnr:.1f}: {len(self.kept)} seeds")

    def apply(self) -> None:
        self.model.apply(*self.thresholds)
        self.model.session.message("seed thresholds: init.min_corr = %.2f, init.min_pnr = %.1f" % self.thresholds)


def open_seed_inspector(window) -> None:
    from cnmf_gui.errors import UserError
    from cnmf_gui.session.onephoton import SeedInspectorModel

    try:
        model = SeedInspectorModel(window.session)
    except UserError as exc:
        window.session.message(str(exc))
        return
    window.seed_inspector = SeedInspector(model, window)
    window.seed_inspector.show()

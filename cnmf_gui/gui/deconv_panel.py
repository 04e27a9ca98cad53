"""Rerun deconvolution: global epsilon, a per-selection override, s_min and the AR order.

"Rerun" asks the window to re-deconvolve the selected or all components in the worker
(:attr:`DeconvPanel.rerun_requested`); curation is untouched. With one component selected, moving
the override slider previews its deconvolution live (the fast solver, throttled).
"""

from __future__ import annotations

from PyQt6.QtCore import Qt, QTimer, pyqtSignal
from PyQt6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                             QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget)

from cnmf_gui.errors import UserError
from cnmf_gui.gui.binding import subscriptions

# The slider covers the useful part of epsilon's range (-1, 10] in steps of 0.01.
SLIDER_MIN, SLIDER_MAX, SLIDER_SCALE = -0.5, 3.0, 100
USE_GLOBAL = "global"


class DeconvPanel(QWidget):
    """Controls for rerunning deconvolution.

    Signals
    -------
    rerun_requested(object ids, object epsilon)
        ids: list of ids or None for all; epsilon: the new override value, None to keep each
        component's override (or the global value), or :data:`USE_GLOBAL` when the user turned
        the override off for the selection (their overrides are dropped).
    """

    rerun_requested = pyqtSignal(object, object)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        info = {f["name"]: f for f in type(session.params.deconvolution).field_info()}
        self.epsilon = QDoubleSpinBox()
        self.epsilon.setRange(-0.99, 10.0)
        self.epsilon.setSingleStep(0.05)
        self.epsilon.setDecimals(3)
        self.epsilon.setToolTip(info["epsilon"]["description"])
        self.epsilon.valueChanged.connect(lambda v: self._set("epsilon", v))
        self.s_min = QDoubleSpinBox()
        self.s_min.setRange(-100.0, 1e6)
        self.s_min.setDecimals(3)
        self.s_min.setToolTip(info["s_min"]["description"])
        self.s_min.valueChanged.connect(lambda v: self._set("s_min", v))
        self.p = QSpinBox()
        self.p.setRange(0, 2)
        self.p.setToolTip(info["p"]["description"])
        self.p.valueChanged.connect(lambda v: self._set("p", v))

        self.override = QCheckBox("Override epsilon for the selection")
        self.override.setToolTip("Deconvolve the selected components with their own epsilon")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(SLIDER_MIN * SLIDER_SCALE), int(SLIDER_MAX * SLIDER_SCALE))
        self.override_value = QDoubleSpinBox()
        self.override_value.setRange(-0.99, 10.0)
        self.override_value.setSingleStep(0.01)
        self.override_value.setDecimals(3)
        self.slider.valueChanged.connect(lambda v: self.override_value.setValue(v / SLIDER_SCALE))
        self.override_value.valueChanged.connect(self._on_override_value)
        self.preview_box = QCheckBox("Live preview (one component selected)")
        self.preview_box.setChecked(True)
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(30)
        self._preview_timer.timeout.connect(self._preview)

        self.rerun_selected = QPushButton("Rerun selected")
        self.rerun_selected.clicked.connect(self._rerun_selected)
        self.rerun_all = QPushButton("Rerun all")
        self.rerun_all.clicked.connect(lambda: self.rerun_requested.emit(None, None))
        self.message = QLabel("")
        self.message.setWordWrap(True)

        form = QFormLayout()
        form.addRow("global epsilon", self.epsilon)
        form.addRow("s_min", self.s_min)
        form.addRow("AR order p", self.p)
        group = QGroupBox("Selection")
        g = QVBoxLayout(group)
        g.addWidget(self.override)
        row = QHBoxLayout()
        row.addWidget(self.slider, 1)
        row.addWidget(self.override_value)
        g.addLayout(row)
        g.addWidget(self.preview_box)
        buttons = QHBoxLayout()
        buttons.addWidget(self.rerun_selected)
        buttons.addWidget(self.rerun_all)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(form)
        layout.addWidget(group)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addStretch(1)
        self._loading = False
        # Whether the box was ticked for the selection's common override when it was selected:
        # unticking it then means "back to the global epsilon" for these components.
        self._selection_had_override = False
        self.subs.on(session, "params", self._show_params)
        self.subs.on(session, "selection", self._on_selection)
        self.subs.on(session, "data", lambda: self._on_selection(session.selection))
        self._show_params(session.params)
        self._on_selection(session.selection)

    def _set(self, name, value) -> None:
        if self._loading or getattr(self.session.params.deconvolution, name) == value:
            return
        try:
            self.session.set_param("deconvolution", name, value)
            self.message.setText("")
        except UserError as exc:
            self.message.setText(str(exc))

    def _show_params(self, params) -> None:
        self._loading = True
        dp = params.deconvolution
        self.epsilon.setValue(dp.epsilon)
        self.s_min.setValue(dp.s_min)
        self.p.setValue(dp.p)
        self._loading = False

    def _on_selection(self, ids) -> None:
        s = self.session
        has = s.components is not None
        self.rerun_selected.setEnabled(has and bool(ids))
        self.rerun_all.setEnabled(has)
        # The box and value describe this selection only, never the previous one: ticked with
        # the common override when every selected component has the same one, else the global.
        overrides = {s.epsilon_override(i) for i in ids} if has else set()
        common = next(iter(overrides)) if len(overrides) == 1 else None
        if common is not None:
            value = common
        elif has and len(ids) == 1:
            value = float(s.components.epsilon[s.index_of(ids[0])])
        else:
            value = s.params.deconvolution.epsilon
        self._selection_had_override = common is not None
        self._loading = True
        self.override.setChecked(common is not None)
        self.set_override_value(value)
        self._loading = False

    def set_override_value(self, value: float) -> None:
        self.override_value.setValue(value)

    def _on_override_value(self, value: float) -> None:
        self.slider.blockSignals(True)
        self.slider.setValue(int(round(value * SLIDER_SCALE)))
        self.slider.blockSignals(False)
        if not self._loading:
            self.override.setChecked(True)
            if self.preview_box.isChecked() and len(self.session.selection) == 1:
                self._preview_timer.start()

    def _preview(self) -> None:
        s = self.session
        if len(s.selection) != 1 or s.components is None:
            return
        try:
            s.preview_deconvolution(s.selection[0], self.override_value.value())
        except (UserError, ImportError) as exc:
            self.message.setText(f"preview unavailable: {exc}")

    def _rerun_selected(self) -> None:
        if self.override.isChecked():
            eps = self.override_value.value()
        elif self._selection_had_override:
            eps = USE_GLOBAL  # the user unticked the override shown for this selection
        else:
            eps = None
        self.rerun_requested.emit(list(self.session.selection), eps)

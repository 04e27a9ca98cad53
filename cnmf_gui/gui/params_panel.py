"""The parameters panel, generated from the parameter metadata (one tab per pipeline stage).

Every field of every stage dataclass (``PipelineParams.stages()``, ``field_info()``) becomes an
editor matching its type: a check box, a spin box bounded by the field's range, a choice list or
a text field for pairs. The description (with unit and range) is the tooltip. A value the
parameters refuse is shown in red and not applied; the session keeps the last valid set.
"""

from __future__ import annotations

import math

from PyQt6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                             QHBoxLayout, QLabel, QLineEdit, QPushButton, QScrollArea, QSpinBox,
                             QTabWidget, QVBoxLayout, QWidget)

from cnmf_gui.errors import UserError
from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.param_labels import label_of, stage_title
from cnmf_gui.params import PipelineParams, load_params, save_params
from cnmf_gui.presets import apply_preset, preset_names

INT_MAX = 2_000_000_000


def _tooltip(info: dict) -> str:
    unit = f" ({info['unit']})" if info.get("unit") else ""
    return f"{info['description']}{unit}\nallowed: {info['range']}; default: {info['default']!r}"


def _step(low, high) -> float:
    if low is not None and high is not None and high - low <= 2:
        return 0.01
    return 0.1


class ParamsPanel(QWidget):
    """Editors for every parameter; changes go to ``session.set_param``."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self.editors: dict[tuple[str | None, str], QWidget] = {}
        self.tabs = QTabWidget()
        for stage, cls in PipelineParams.stages().items():
            form_widget = QWidget()
            form = QFormLayout(form_widget)
            for info in cls.field_info():
                editor = self._make_editor(stage, info)
                label = QLabel(label_of(stage, info["name"]) + (f" ({info['unit']})" if info.get("unit") else ""))
                label.setToolTip(f"{stage}.{info['name']}: {_tooltip(info)}")
                form.addRow(label, editor)
            scroll = QScrollArea()
            scroll.setWidgetResizable(True)
            scroll.setWidget(form_widget)
            self.tabs.addTab(scroll, stage_title(stage))
        self.frame_rate = QDoubleSpinBox()
        self.frame_rate.setRange(0.0, 100000.0)
        self.frame_rate.setDecimals(3)
        self.frame_rate.setSpecialValueText("unknown")
        self.frame_rate.setSuffix(" Hz")
        self.frame_rate.setToolTip("Frame rate of the recording (0 = unknown)")
        self.frame_rate.editingFinished.connect(self._on_frame_rate)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d55e00")
        self.error.setWordWrap(True)
        load = QPushButton("Load JSON...")
        load.clicked.connect(self.load_dialog)
        save = QPushButton("Save JSON...")
        save.clicked.connect(self.save_dialog)
        self.preset = QComboBox()
        self.preset.addItem("preset...", None)
        for name in preset_names():
            self.preset.addItem(name, name)
        self.preset.setToolTip("Set the parameters for a kind of recording (one-photon: CNMF-E's ring "
                               "background and correlation-PNR seeds); the panel says what it set")
        self.preset.activated.connect(self._on_preset)
        self.preset_note = QLabel("")
        self.preset_note.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel("frame rate"))
        buttons.addWidget(self.frame_rate)
        buttons.addWidget(self.preset)
        buttons.addStretch(1)
        buttons.addWidget(load)
        buttons.addWidget(save)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(buttons)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(self.preset_note)
        layout.addWidget(self.error)
        self._loading = False
        self.subs.on(session, "params", self.show_params)
        self.show_params(session.params)

    # ------------------------------------------------------------------------------------------
    def _make_editor(self, stage: str, info: dict) -> QWidget:
        kind = info["kind"]
        name = info["name"]
        low, high = info.get("low"), info.get("high")
        if info.get("choices") is not None:
            editor = QComboBox()
            for choice in info["choices"]:
                editor.addItem(str(choice), choice)
            editor.currentIndexChanged.connect(lambda _i, s=stage, n=name, e=editor: self._apply(s, n, e.currentData()))
        elif kind is bool:
            editor = QCheckBox()
            editor.toggled.connect(lambda v, s=stage, n=name: self._apply(s, n, bool(v)))
        elif kind is int:
            editor = QSpinBox()
            editor.setRange(int(low) if low is not None else -INT_MAX, int(high) if high is not None else INT_MAX)
            editor.editingFinished.connect(lambda s=stage, n=name, e=editor: self._apply(s, n, e.value()))
        elif kind is float:
            editor = QDoubleSpinBox()
            editor.setDecimals(4)
            # Open bounds are enforced by the parameters themselves (red message when violated).
            editor.setRange(float(low) if low is not None else -1e9, float(high) if high is not None else 1e9)
            editor.setSingleStep(_step(low, high))
            editor.editingFinished.connect(lambda s=stage, n=name, e=editor: self._apply(s, n, e.value()))
        elif kind is str:   # free text (cnmf.scheduler's address)
            editor = QLineEdit()
            editor.editingFinished.connect(lambda s=stage, n=name, e=editor: self._apply(s, n, e.text().strip()))
        else:
            editor = QLineEdit()
            editor.editingFinished.connect(lambda s=stage, n=name, e=editor: self._apply_text(s, n, e.text()))
        editor.setToolTip(_tooltip(info))
        self.editors[(stage, name)] = editor
        return editor

    def _apply_text(self, stage, name, text: str) -> None:
        try:
            value = [float(v) for v in text.replace("(", "").replace(")", "").split(",") if v.strip()]
        except ValueError:
            self.error.setText(f"parameter {stage}.{name} must be numbers separated by commas, got {text!r}")
            return
        self._apply(stage, name, value)

    def _apply(self, stage, name, value) -> None:
        if self._loading:
            return
        current = getattr(getattr(self.session.params, stage), name)
        if value == current or (isinstance(current, tuple) and tuple(value) == current):
            return
        try:
            self.session.set_param(stage, name, value)
        except UserError as exc:
            self.error.setText(str(exc))
            self.show_params(self.session.params, keep_error=True)
            return
        self.error.setText("")

    def _on_preset(self, _index=None) -> None:
        name = self.preset.currentData()
        if not name:
            return
        params, changes = apply_preset(self.session.params, name)
        try:
            self.session.set_params(params)
        except UserError as exc:
            self.error.setText(str(exc))
            return
        text = f"preset {name}: " + (", ".join(changes) if changes else "nothing to change")
        self.preset_note.setText(text)
        self.session.message(text)
        self.preset.setCurrentIndex(0)

    def _on_frame_rate(self) -> None:
        value = self.frame_rate.value()
        value = None if value == 0 else value
        if value != self.session.params.frame_rate:
            try:
                self.session.set_params(self.session.params.replace(None, frame_rate=value))
            except UserError as exc:
                self.error.setText(str(exc))

    def show_params(self, params: PipelineParams, keep_error: bool = False) -> None:
        """Put ``params`` into the editors (no change events)."""
        self._loading = True
        try:
            for (stage, name), editor in self.editors.items():
                value = getattr(getattr(params, stage), name)
                if isinstance(editor, QComboBox):
                    editor.setCurrentIndex(max(editor.findData(value), 0))
                elif isinstance(editor, QCheckBox):
                    editor.setChecked(bool(value))
                elif isinstance(editor, (QSpinBox, QDoubleSpinBox)):
                    editor.setValue(value)
                elif isinstance(value, str):
                    editor.setText(value)
                else:
                    editor.setText(", ".join(f"{v:g}" for v in value))
            fr = params.frame_rate
            self.frame_rate.setValue(0.0 if fr is None or not math.isfinite(fr) else fr)
        finally:
            self._loading = False
        if not keep_error:
            self.error.setText("")

    # ------------------------------------------------------------------------------------------
    def load_json(self, path) -> None:
        """Load parameters from a JSON file (errors shown in the panel)."""
        try:
            self.session.set_params(load_params(path))
        except UserError as exc:
            self.error.setText(str(exc))

    def save_json(self, path) -> None:
        save_params(self.session.params, path)
        self.session.message(f"parameters saved to {path}")

    def load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load parameters", "", "JSON (*.json)")
        if path:
            self.load_json(path)

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save parameters", "params.json", "JSON (*.json)")
        if path:
            self.save_json(path)

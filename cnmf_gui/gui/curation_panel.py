"""Curation buttons: accept, reject, undecide, merge, undo/redo, and bulk thresholds.

The buttons call the session (the window's shortcuts A, R, U, M, Ctrl+Z, Ctrl+Shift+Z do the
same). Thresholds set the status of every component the user has not decided by hand; user
decisions are never overwritten.
"""

from __future__ import annotations

import dataclasses

from PyQt6.QtWidgets import (QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QLabel, QPushButton,
                             QVBoxLayout, QWidget)

from cnmf_gui.errors import UserError

THRESHOLDS = (("min_snr", "accept: SNR >="), ("min_r_value", "accept: r_value >="),
              ("snr_lowest", "reject: SNR <"), ("r_value_lowest", "reject: r_value <"))


class CurationPanel(QWidget):
    """Buttons for the selection and thresholds for all undecided-by-hand components."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        grid = QGridLayout()
        self.buttons = {}
        specs = (("accept", "Accept (A)", session.accept), ("reject", "Reject (R)", session.reject),
                 ("undecide", "Undecided (U)", session.undecide), ("merge", "Merge (M)", session.merge),
                 ("undo", "Undo", session.undo), ("redo", "Redo", session.redo))
        for i, (key, label, method) in enumerate(specs):
            button = QPushButton(label)
            button.clicked.connect(lambda _c=False, m=method: self._call(m))
            grid.addWidget(button, i // 2, i % 2)
            self.buttons[key] = button
        self.message = QLabel("")
        self.message.setWordWrap(True)

        group = QGroupBox("Thresholds (leave your own decisions alone)")
        form = QFormLayout(group)
        self.spins = {}
        info = {f["name"]: f for f in type(session.params.evaluation).field_info()}
        for name, label in THRESHOLDS:
            spin = QDoubleSpinBox()
            spin.setDecimals(2)
            spin.setRange(info[name]["low"] if info[name]["low"] is not None else -1e6,
                          info[name]["high"] if info[name]["high"] is not None else 1e6)
            spin.setSingleStep(0.1)
            spin.setToolTip(info[name]["description"])
            form.addRow(label, spin)
            self.spins[name] = spin
        apply = QPushButton("Apply thresholds")
        apply.clicked.connect(self.apply_thresholds)
        form.addRow(apply)
        self.buttons["thresholds"] = apply

        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(grid)
        layout.addWidget(group)
        layout.addWidget(self.message)
        layout.addStretch(1)
        for event in ("data", "selection", "history", "components"):
            session.subscribe(event, self._update_enabled)
        session.subscribe("params", self._show_thresholds)
        self._show_thresholds(session.params)
        self._update_enabled()

    def _call(self, method) -> None:
        try:
            method()
            self.message.setText("")
        except UserError as exc:
            self.message.setText(str(exc))
            self.session.message(str(exc))

    def _show_thresholds(self, params) -> None:
        for name, spin in self.spins.items():
            spin.setValue(getattr(params.evaluation, name))

    def apply_thresholds(self) -> None:
        s = self.session
        try:
            ev = dataclasses.replace(s.params.evaluation, **{n: spin.value() for n, spin in self.spins.items()})
            s.set_params(s.params.replace("evaluation", **ev.to_dict()))
            acc, rej, und = s.apply_thresholds()
        except UserError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"thresholds: {acc} accepted, {rej} rejected, {und} undecided "
                             "(your own decisions kept)")

    def _update_enabled(self, *args) -> None:
        s = self.session
        has = s.components is not None
        n = len(s.selection)
        for key in ("accept", "reject", "undecide"):
            self.buttons[key].setEnabled(has and n > 0)
        self.buttons["merge"].setEnabled(has and n > 1)
        self.buttons["thresholds"].setEnabled(has)
        self.buttons["undo"].setEnabled(s.history.can_undo)
        self.buttons["redo"].setEnabled(s.history.can_redo)
        self.buttons["undo"].setToolTip(s.history.undo_label)
        self.buttons["redo"].setToolTip(s.history.redo_label)

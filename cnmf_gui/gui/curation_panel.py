"""Curation buttons: accept, reject, undecide, merge, undo/redo, and bulk thresholds.

The buttons are rows of the session's action table (:data:`cnmf_gui.session.actions.ACTIONS`),
the same rows as the Edit menu and its shortcuts (A, R, U, M, Ctrl+Z, Ctrl+Shift+Z) with the
same enable rules. The threshold fields edit the evaluation parameters; "Apply thresholds" sets
the status of every component the user has not decided by hand with the pipeline's own rule.
"""

from __future__ import annotations

from PyQt6.QtWidgets import (QDoubleSpinBox, QFormLayout, QGridLayout, QGroupBox, QLabel, QPushButton,
                             QVBoxLayout, QWidget)

from cnmf_gui.errors import UserError
from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.session.actions import ACTIONS, BY_ID

THRESHOLDS = (("min_snr", "accept: SNR >="), ("min_r_value", "accept: r_value >="),
              ("snr_lowest", "reject: SNR <"), ("r_value_lowest", "reject: r_value <"))


class CurationPanel(QWidget):
    """Buttons for the selection and thresholds for all undecided-by-hand components."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self._loading = False
        grid = QGridLayout()
        self.buttons = {}
        # Decisions, then edits of the components, then history, two to a row.
        places = {"accept": (0, 0), "reject": (0, 1), "undecide": (1, 0), "merge": (1, 1), "split": (2, 0),
                  "undo": (3, 0), "redo": (3, 1)}
        for key, (row, column) in places.items():
            act = BY_ID[key]
            button = QPushButton(act.button or act.title)
            button.setToolTip(act.tip)
            button.clicked.connect(lambda _c=False, act=act: self._run(act))
            grid.addWidget(button, row, column)
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
            spin.valueChanged.connect(lambda v, name=name: self._set_threshold(name, v))
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
            self.subs.on(session, event, self._update_enabled)
        self.subs.on(session, "params", self._show_thresholds)
        self._show_thresholds(session.params)
        self._update_enabled()

    def _run(self, act) -> None:
        try:
            act.run(self.session)
            self.message.setText("")
        except UserError as exc:
            self.message.setText(str(exc))
            self.session.message(str(exc))

    def _show_thresholds(self, params) -> None:
        self._loading = True
        for name, spin in self.spins.items():
            spin.setValue(getattr(params.evaluation, name))
        self._loading = False

    def _set_threshold(self, name: str, value: float) -> None:
        # The fields are the evaluation parameters: the menu's Apply thresholds uses them too.
        if self._loading or getattr(self.session.params.evaluation, name) == value:
            return
        try:
            self.session.set_param("evaluation", name, value)
        except UserError as exc:
            self.message.setText(str(exc))

    def apply_thresholds(self) -> None:
        try:
            acc, rej, und = BY_ID["thresholds"].run(self.session)
        except UserError as exc:
            self.message.setText(str(exc))
            return
        self.message.setText(f"thresholds: {acc} accepted, {rej} rejected, {und} undecided "
                             "(your own decisions kept)")

    def _update_enabled(self, *args) -> None:
        s = self.session
        for act in ACTIONS:
            if act.id in self.buttons:
                self.buttons[act.id].setEnabled(bool(act.enabled(s)))
        self.buttons["undo"].setToolTip(s.history.undo_label)
        self.buttons["redo"].setToolTip(s.history.redo_label)

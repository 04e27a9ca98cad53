"""The dask scheduler address in the Parameters panel: typed by the user, checked, kept."""

from __future__ import annotations

from PyQt6.QtCore import Qt

from cnmf_gui.gui.params_panel import ParamsPanel
from cnmf_gui.session import Session


def _type(qtbot, editor, text):
    editor.clear()
    qtbot.keyClicks(editor, text)
    qtbot.keyClick(editor, Qt.Key.Key_Return)


def test_user_types_a_scheduler_address(qtbot):
    session = Session()
    panel = ParamsPanel(session)
    qtbot.addWidget(panel)
    editor = panel.editors[("cnmf", "scheduler")]
    assert editor.text() == ""
    _type(qtbot, editor, " tcp://10.0.0.5:8786 ")
    assert session.params.cnmf.scheduler == "tcp://10.0.0.5:8786"
    assert panel.error.text() == ""
    _type(qtbot, editor, "tcp://head node:8786")
    assert "cnmf.scheduler" in panel.error.text()
    assert session.params.cnmf.scheduler == "tcp://10.0.0.5:8786"
    assert editor.text() == "tcp://10.0.0.5:8786"
    _type(qtbot, editor, "")
    assert session.params.cnmf.scheduler == ""

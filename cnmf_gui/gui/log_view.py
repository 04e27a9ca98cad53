"""The log view: curation edits (the session's append-only log) and messages, newest at the bottom."""

from __future__ import annotations

import json
import time

from PyQt6.QtGui import QFont
from PyQt6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from cnmf_gui.gui.binding import subscriptions
from cnmf_gui.results import STATUS_NAMES


def describe(line: str) -> str:
    """One readable line for a curation-log entry (the raw JSON when it is not one)."""
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return line
    action = entry.get("action", "?")
    ids = entry.get("ids", [])
    if action == "status":
        status = STATUS_NAMES.get(entry.get("status"), "")
        who = "thresholds set" if entry.get("source") == "threshold" else f"{status}:"
        return f"#{entry.get('seq')} {who} {', '.join(map(str, ids[:20]))}{' ...' if len(ids) > 20 else ''}"
    if action == "merge":
        return f"#{entry.get('seq')} merged {', '.join(map(str, ids))} into {entry.get('new_id')}"
    if action == "deconvolution":
        return (f"#{entry.get('seq')} deconvolved {len(ids)} component(s), epsilon {entry.get('epsilon')}"
                f"{' (override)' if entry.get('override') else ''}")
    if action in ("undo", "redo"):
        return f"#{entry.get('seq')} {action} of #{entry.get('target', entry.get('seq'))}"
    return f"{action}: " + ", ".join(f"{k}={v}" for k, v in entry.items() if k not in ("action", "time"))


class LogView(QWidget):
    """Read-only text of what happened in this session."""

    MAX_LINES = 5000

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.subs = subscriptions(self)
        self.session = session
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumBlockCount(self.MAX_LINES)
        font = QFont("monospace")
        font.setStyleHint(QFont.StyleHint.TypeWriter)
        self.text.setFont(font)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.text)
        self.subs.on(session, "log", lambda line: self.append(describe(line)))
        self.subs.on(session, "message", self.append)
        self.subs.on(session, "data", self._on_data)

    def _on_data(self) -> None:
        log = self.session.data.curation_log if self.session.data is not None else []
        if log:
            self.append(f"session has {len(log)} curation log line(s); last: {describe(log[-1])}")

    def append(self, text: str) -> None:
        self.text.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")

    def lines(self) -> list[str]:
        return self.text.toPlainText().splitlines()

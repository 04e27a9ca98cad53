"""Help menu dialogs: keyboard shortcuts, getting started, and About (versions, log and data paths)."""

from __future__ import annotations

from html import escape

from PyQt6.QtGui import QGuiApplication, QKeySequence
from PyQt6.QtWidgets import (QDialog, QDialogButtonBox, QPushButton, QTextBrowser, QVBoxLayout)

# Keys handled by widgets rather than by menu actions.
EXTRA_KEYS = (
    ("Up / Down", "Move through the component table (Shift extends the selection)"),
    ("Ctrl+click", "Select several components on the movie or in the table"),
    ("Shift+click", "Fit a missed cell at that point on the movie as a new component"),
    ("Alt+click twice", "Split the selected component with one cell at each point"),
    ("Mouse wheel / drag", "Zoom and pan the movie"),
)


def shortcut_rows(window) -> list[tuple[str, str]]:
    """(key, what it does) for every action that has a shortcut, then the widgets' own keys.

    The actions are the rows of the session's and the window's action tables; the keys are read
    from the window's QActions, so what is listed is what works.
    """
    from cnmf_gui.gui.menus import WINDOW_ACTIONS
    from cnmf_gui.session.actions import ACTIONS

    # Titles from the action tables (Undo's menu text changes with what it would undo).
    titles = {row.id: row.title for row in ACTIONS + WINDOW_ACTIONS}
    rows = []
    for key_id, action in window.acts.items():
        key = action.shortcut()
        if not key.isEmpty():
            title = titles.get(key_id, action.text()).replace("&", "")
            rows.append((key.toString(QKeySequence.SequenceFormat.NativeText), title))
    return rows + list(EXTRA_KEYS)


def _text_dialog(parent, title: str, html: str, *, copy_text: str | None = None) -> QDialog:
    dialog = QDialog(parent)
    dialog.setWindowTitle(title)
    dialog.resize(640, 520)
    layout = QVBoxLayout(dialog)
    browser = QTextBrowser(dialog)
    browser.setOpenExternalLinks(True)
    browser.setHtml(html)
    layout.addWidget(browser)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=dialog)
    if copy_text is not None:
        copy = QPushButton("Copy to clipboard", dialog)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(copy_text))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
    buttons.rejected.connect(dialog.reject)
    layout.addWidget(buttons)
    dialog.browser = browser
    return dialog


def shortcuts_dialog(window) -> QDialog:
    rows = "".join(f"<tr><td><b>{escape(k)}</b>&nbsp;&nbsp;</td><td>{escape(t)}</td></tr>"
                   for k, t in shortcut_rows(window))
    return _text_dialog(window, "Keyboard shortcuts", f"<h3>Keyboard shortcuts</h3><table>{rows}</table>")


def getting_started_dialog(window) -> QDialog:
    from cnmf_gui.paths import resource

    html = resource("help/getting_started.html").read_text(encoding="utf-8")
    return _text_dialog(window, "Getting started", html)


def about_dialog(window) -> QDialog:
    from cnmf_gui.about import about_text

    text = about_text()
    html = ("<h3>cnmf-gui</h3><p>Motion correction, CNMF demixing, deconvolution and curation of "
            "calcium imaging.</p><pre>" + escape(text) + "</pre>"
            "<p>To report a problem, attach the log file above.</p>")
    return _text_dialog(window, "About cnmf-gui", html, copy_text=text)

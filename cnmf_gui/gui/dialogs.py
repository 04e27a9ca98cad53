"""Small dialogs: errors with details, yes/no questions, and file choosers.

Errors are shown non-modally (``open()``, not ``exec()``), so a job's failure never blocks the
event loop and tests can find the dialog and close it. Questions go through :func:`ask`, which
tests replace with a function that answers.
"""

from __future__ import annotations

from PyQt6.QtWidgets import QFileDialog, QMessageBox, QWidget


def show_error(parent: QWidget, title: str, message: str, details: str = "") -> QMessageBox:
    """Show an error with its traceback under "Show Details..."; returns the (open) box."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Critical)
    box.setWindowTitle(title)
    box.setText(message)
    if details:
        box.setDetailedText(details)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setObjectName("error_dialog")
    box.open()
    return box


def ask(parent: QWidget, title: str, question: str, buttons=("Yes", "No")) -> str:
    """Ask a question; returns the text of the chosen button (the last one when closed)."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(question)
    chosen = {}
    for i, text in enumerate(buttons):
        role = QMessageBox.ButtonRole.AcceptRole if i == 0 else (
            QMessageBox.ButtonRole.RejectRole if i == len(buttons) - 1 else QMessageBox.ButtonRole.DestructiveRole)
        chosen[box.addButton(text, role)] = text
    box.exec()
    return chosen.get(box.clickedButton(), buttons[-1])


MOVIE_FILTER = "Movies and sessions (*.tif *.tiff *.h5 *.hdf5 *.nwb *.npy);;All files (*)"


def choose_open(parent: QWidget) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Open a movie or a session", "", MOVIE_FILTER)
    return path


def choose_file(parent: QWidget, title: str, pattern: str) -> str:
    """An existing file matching ``pattern`` ("" when cancelled)."""
    path, _ = QFileDialog.getOpenFileName(parent, title, "", pattern)
    return path


def choose_save(parent: QWidget, title: str, default: str, pattern: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, title, default, pattern)
    return path


def choose_folder(parent: QWidget, title: str, default: str = "") -> str:
    return QFileDialog.getExistingDirectory(parent, title, default)


def export_folder_dialog(parent: QWidget, title: str, default: str = "") -> QFileDialog:
    """A dialog that names an export folder, new or existing: a typed name that does not exist
    yet is accepted and created by the export (the standard folder dialog refuses it)."""
    dialog = QFileDialog(parent, title, default)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setLabelText(QFileDialog.DialogLabel.FileName, "Folder:")
    dialog.setLabelText(QFileDialog.DialogLabel.Accept, "Export")
    dialog.setToolTip("Type a new folder's name to create it, or pick an existing folder")
    return dialog


def choose_export_folder(parent: QWidget, title: str, default: str = "") -> str:
    """The folder to export into (created by the export when it does not exist); "" if cancelled."""
    dialog = export_folder_dialog(parent, title, default)
    if not dialog.exec():
        return ""
    chosen = dialog.selectedFiles()
    return chosen[0] if chosen else ""


def ask_number(parent: QWidget, title: str, label: str, value: float, low: float, high: float,
               decimals: int = 3):
    """Ask for a number; returns it, or None when the user cancelled. Tests replace this."""
    from PyQt6.QtWidgets import QInputDialog
    number, ok = QInputDialog.getDouble(parent, title, label, value, low, high, decimals)
    return float(number) if ok else None


def choose_item(parent: QWidget, title: str, label: str, items: list[str]) -> int | None:
    """The index of the item the user picked from a list, or None when cancelled. Tests replace this."""
    from PyQt6.QtWidgets import QInputDialog
    text, ok = QInputDialog.getItem(parent, title, label, items, 0, False)
    return items.index(text) if ok and text in items else None

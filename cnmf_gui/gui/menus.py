"""Menus and keyboard shortcuts of the main window (kept apart so the window only wires)."""

from __future__ import annotations

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence


def _action(window, key: str, text: str, slot, shortcut=None, tip: str = "") -> QAction:
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        # Shortcuts work wherever the focus is in the window (table, movie, docks).
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if tip:
        action.setStatusTip(tip)
    action.triggered.connect(lambda _checked=False: slot())
    window.addAction(action)
    window.acts[key] = action
    return action


def _guard(window, method):
    """Run a session edit, showing a user error in the status bar instead of raising."""
    from cnmf_gui.errors import UserError

    def call():
        try:
            method()
        except UserError as exc:
            window.session.message(str(exc))
    return call


def build_menus(window) -> None:
    s = window.session
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    for key, text, slot, shortcut in (
            ("open", "&Open movie or session...", window.open_dialog, QKeySequence.StandardKey.Open),
            ("save", "&Save session", window.save, QKeySequence.StandardKey.Save),
            ("save_as", "Save session &as...", window.save_as, "Ctrl+Shift+S")):
        file_menu.addAction(_action(window, key, text, slot, shortcut))
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "export_accepted", "Export CSV (accepted)...",
                                lambda: window.export_csv(False)))
    file_menu.addAction(_action(window, "export_all", "Export CSV (all, with status)...",
                                lambda: window.export_csv(True)))
    file_menu.addAction(_action(window, "export_session", "Export session (HDF5)...", window.export_session))
    file_menu.addSeparator()
    file_menu.addAction(_action(window, "quit", "&Quit", window.close, QKeySequence.StandardKey.Quit))

    edit = bar.addMenu("&Edit")
    edit.addAction(_action(window, "undo", "Undo", _guard(window, s.undo), "Ctrl+Z"))
    edit.addAction(_action(window, "redo", "Redo", _guard(window, s.redo), "Ctrl+Shift+Z"))
    edit.addSeparator()
    edit.addAction(_action(window, "accept", "Accept selected", _guard(window, s.accept), "A"))
    edit.addAction(_action(window, "reject", "Reject selected", _guard(window, s.reject), "R"))
    edit.addAction(_action(window, "undecide", "Mark selected undecided", _guard(window, s.undecide), "U"))
    edit.addAction(_action(window, "merge", "Merge selected", _guard(window, s.merge), "M"))
    edit.addAction(_action(window, "thresholds", "Apply thresholds", window.curation.apply_thresholds))

    run = bar.addMenu("&Run")
    run.addAction(_action(window, "run_motion", "Motion correction", window.run_motion))
    run.addAction(_action(window, "run_pipeline", "Pipeline (motion, CNMF, deconvolution)", window.run_pipeline,
                          "Ctrl+R"))
    run.addAction(_action(window, "rerun_all", "Rerun deconvolution (all)", lambda: window.rerun_deconvolution()))
    run.addAction(_action(window, "cancel", "Cancel job", window.cancel_job, "Esc"))
    run.addSeparator()
    run.addAction(_action(window, "demo", "Demo (synthetic movie)", window.run_demo))

    view = bar.addMenu("&View")
    view.addAction(_action(window, "play", "Play / pause", window.movie_view.toggle_playing, "Space"))
    view.addSeparator()
    for dock in window.docks.values():
        view.addAction(dock.toggleViewAction())

    help_menu = bar.addMenu("&Help")
    help_menu.addAction(_action(window, "help_start", "Getting started", lambda: _show(window, "getting_started"),
                                QKeySequence.StandardKey.HelpContents))
    help_menu.addAction(_action(window, "help_keys", "Keyboard shortcuts", lambda: _show(window, "shortcuts")))
    help_menu.addAction(_action(window, "help_about", "About cnmf-gui", lambda: _show(window, "about")))


def _show(window, which: str) -> None:
    """Open a Help dialog (non-modal, so the user can keep working beside it)."""
    from cnmf_gui.gui import help_dialogs

    dialog = getattr(help_dialogs, f"{which}_dialog")(window)
    window.help_dialog = dialog
    dialog.show()

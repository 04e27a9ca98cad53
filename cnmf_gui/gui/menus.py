"""Menus, keyboard shortcuts and their enable rules, built from two action tables.

The curation actions are the session's table (:data:`cnmf_gui.session.actions.ACTIONS`: also the
curation panel's buttons and ``cnmf-gui curate``'s options); the window's own actions (files,
jobs, playback, help) are :data:`WINDOW_ACTIONS` below, in the same shape. Help > Keyboard
shortcuts lists both. Each QAction's enabled state comes from its row's ``enabled`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PyQt6.QtCore import Qt
from PyQt6.QtGui import QAction, QKeySequence

from cnmf_gui.errors import UserError
from cnmf_gui.session.actions import ACTIONS


@dataclass(frozen=True)
class WindowAction:
    """A window action: like a session action, but ``enabled`` and ``run`` take the window."""

    id: str
    title: str
    shortcut: object
    enabled: Callable
    run: Callable
    menu: str
    tip: str = ""


def _interop():
    from cnmf_gui.gui import interop_ops
    return interop_ops


def _has_data(w) -> bool:
    return w.session.data is not None


def _can_run(w) -> bool:
    return w.session.movie is not None and not w.worker.busy


WINDOW_ACTIONS: tuple[WindowAction, ...] = (
    WindowAction("open", "&Open movie or session...", QKeySequence.StandardKey.Open, lambda w: True,
                 lambda w: w.open_dialog(), "&File"),
    WindowAction("save", "&Save session", QKeySequence.StandardKey.Save, _has_data, lambda w: w.save(), "&File"),
    WindowAction("save_as", "Save session &as...", "Ctrl+Shift+S", _has_data, lambda w: w.save_as(), "&File"),
    WindowAction("export_accepted", "Export CSV (accepted)...", None, _has_data,
                 lambda w: w.export_csv(False), "&File"),
    WindowAction("export_all", "Export CSV (all, with status)...", None, _has_data,
                 lambda w: w.export_csv(True), "&File"),
    WindowAction("export_session", "Export session (HDF5)...", None, _has_data,
                 lambda w: w.export_session(), "&File"),
    WindowAction("export_nwb", "Export NWB...", None, lambda w: w.session.components is not None,
                 lambda w: _interop().export_nwb(w), "&File"),
    WindowAction("import_results", "Import results (suite2p, CaImAn)...", None, lambda w: not w.worker.busy,
                 lambda w: _interop().import_results(w), "&File"),
    WindowAction("quit", "&Quit", QKeySequence.StandardKey.Quit, lambda w: True, lambda w: w.close(), "&File"),
    WindowAction("run_motion", "Motion correction", None, _can_run, lambda w: w.run_motion(), "&Run"),
    WindowAction("run_pipeline", "Pipeline (motion, CNMF, deconvolution)", "Ctrl+R", _can_run,
                 lambda w: w.run_pipeline(), "&Run"),
    WindowAction("rerun_all", "Rerun deconvolution (all)", None, lambda w: w.session.components is not None,
                 lambda w: w.rerun_deconvolution(), "&Run"),
    WindowAction("run_online", "Online (live)...", None, lambda w: not w.worker.busy, lambda w: _online(w), "&Run",
                 "Online CNMF on a file or a folder the microscope is writing, shown as it runs"),
    WindowAction("seed_inspector", "One-photon seeds (correlation x PNR)...", None,
                 lambda w: w.session.movie is not None and not w.worker.busy, lambda w: _seed_inspector(w), "&Run",
                 "Set the one-photon seed thresholds by looking at the correlation and PNR images"),
    WindowAction("cancel", "Cancel job", "Esc", lambda w: True, lambda w: w.cancel_job(), "&Run"),
    WindowAction("demo", "Demo (synthetic movie)", None, lambda w: True, lambda w: w.run_demo(), "&Run"),
    WindowAction("play", "Play / pause", "Space", lambda w: True, lambda w: w.toggle_playing(), "&View"),
    WindowAction("triage", "&Triage (one component at a time)...", "T", lambda w: w.session.components is not None,
                 lambda w: _triage(w), "&View", "Judge the least certain components first, one key each"),
    WindowAction("help_start", "Getting started", QKeySequence.StandardKey.HelpContents, lambda w: True,
                 lambda w: _show(w, "getting_started"), "&Help"),
    WindowAction("help_keys", "Keyboard shortcuts", None, lambda w: True, lambda w: _show(w, "shortcuts"), "&Help"),
    WindowAction("help_about", "About cnmf-gui", None, lambda w: True, lambda w: _show(w, "about"), "&Help"),
)
# Separators go before these ids in their menus.
SEPARATE = {"export_accepted", "import_results", "quit", "accept", "demo"}


def _qaction(window, key: str, text: str, slot, shortcut=None, tip: str = "") -> QAction:
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


def run_session_action(session, act, report=None) -> None:
    """Run a session action on the selection; a user error goes to ``report`` (or the status bar)."""
    try:
        act.run(session)
    except UserError as exc:
        (report or session.message)(str(exc))


def build_menus(window) -> None:
    bar = window.menuBar()
    menus = {}

    def menu(name):
        if name not in menus:
            menus[name] = bar.addMenu(name)
        return menus[name]

    for act in WINDOW_ACTIONS:
        if act.menu == "&Run" and "&Edit" not in menus:
            edit = menu("&Edit")
            for row in ACTIONS:
                if row.id in SEPARATE:
                    edit.addSeparator()
                edit.addAction(_qaction(window, row.id, row.title,
                                        lambda row=row: run_session_action(window.session, row),
                                        row.shortcut, row.tip))
        if act.id in SEPARATE:
            menu(act.menu).addSeparator()
        menu(act.menu).addAction(_qaction(window, act.id, act.title, lambda act=act: act.run(window),
                                          act.shortcut, act.tip))
        if act.id == "play":
            menu(act.menu).addSeparator()
            for dock in window.docks.values():
                menu(act.menu).addAction(dock.toggleViewAction())


def update_actions(window) -> None:
    """Enable every action by its row's rule; Undo/Redo say what they would do."""
    acts = window.acts
    if "undo" not in acts:
        return
    s = window.session
    for row in ACTIONS:
        acts[row.id].setEnabled(bool(row.enabled(s)))
    for act in WINDOW_ACTIONS:
        acts[act.id].setEnabled(bool(act.enabled(window)))
    acts["undo"].setText(f"Undo {s.history.undo_label}".strip())
    acts["redo"].setText(f"Redo {s.history.redo_label}".strip())


def _online(window) -> None:
    from cnmf_gui.gui.online_panel import ask_and_start
    ask_and_start(window)


def _seed_inspector(window) -> None:
    from cnmf_gui.gui.seed_inspector import open_seed_inspector
    open_seed_inspector(window)


def _triage(window) -> None:
    from cnmf_gui.gui.triage_view import open_triage

    open_triage(window)


def _show(window, which: str) -> None:
    """Open a Help dialog (non-modal, so the user can keep working beside it)."""
    from cnmf_gui.gui import help_dialogs

    dialog = getattr(help_dialogs, f"{which}_dialog")(window)
    window.help_dialog = dialog
    dialog.show()

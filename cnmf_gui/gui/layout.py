"""The main window's dock layout: the default arrangement and the one the user left last time."""

from __future__ import annotations

from PyQt6.QtCore import Qt

LAYOUT_VERSION = 2      # 2: the event snippets dock beside the traces


def arrange_docks(window) -> None:
    """The default: curation, deconvolution and parameters tabbed right; traces, motion QC and
    log tabbed below."""
    d = window.docks
    window.tabifyDockWidget(d["curation"], d["deconvolution"])
    window.tabifyDockWidget(d["deconvolution"], d["params"])
    d["curation"].raise_()
    # Split before tabifying: a dock already in a tab group would get the snippets as a new tab.
    window.splitDockWidget(d["traces"], d["snippets"], Qt.Orientation.Horizontal)
    window.tabifyDockWidget(d["traces"], d["motion"])
    window.tabifyDockWidget(d["motion"], d["log"])
    d["traces"].raise_()
    window.resizeDocks([d["table"]], [420], Qt.Orientation.Horizontal)
    window.resizeDocks([d["traces"]], [260], Qt.Orientation.Vertical)
    window.resizeDocks([d["traces"], d["snippets"]], [560, 420], Qt.Orientation.Horizontal)
    window.resizeDocks([d["table"], d["curation"]], [420, 260], Qt.Orientation.Vertical)


def restore(window) -> None:
    """The geometry and docks the user left (kept in the window's settings)."""
    geometry = window.settings.value("window/geometry")
    state = window.settings.value("window/state")
    if geometry is not None:
        window.restoreGeometry(geometry)
    if state is not None:
        window.restoreState(state, LAYOUT_VERSION)


def save(window) -> None:
    window.settings.setValue("window/geometry", window.saveGeometry())
    window.settings.setValue("window/state", window.saveState(LAYOUT_VERSION))
    window.settings.sync()

"""The main window's dock layout: the default arrangement and the one the user left last time."""

from __future__ import annotations

from PyQt6.QtCore import Qt

#: the window's size at first start (width, height), px: fits a 1440 x 900 laptop screen
DEFAULT_SIZE = (1400, 900)
LAYOUT_VERSION = 2      # 2: the event snippets dock beside the traces


def arrange_docks(window) -> None:
    """The default: curation, deconvolution and parameters tabbed right; traces, motion QC and
    log tabbed below, the event snippets beside them.

    Shown before this, every dock is stacked on its own and the window grows to hold them all
    (1083 px tall instead of 900); once they are tabbed it goes back to the default height.
    """
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
    window.resizeDocks([d["traces"]], [280], Qt.Orientation.Vertical)
    window.resizeDocks([d["traces"], d["snippets"]], [560, 420], Qt.Orientation.Horizontal)
    window.resizeDocks([d["table"], d["curation"]], [420, 260], Qt.Orientation.Vertical)
    # The docks fit the default size once tabbed: take back what showing them untabbed added.
    if window.height() > DEFAULT_SIZE[1]:
        window.resize(window.width(), DEFAULT_SIZE[1])


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

"""The only place that creates the QApplication (and configures pyqtgraph once)."""

from __future__ import annotations

import os
import sys


def application(*, offscreen_ok: bool = False):
    """The running QApplication, created (and pyqtgraph configured) on first use.

    Parameters
    ----------
    offscreen_ok : bool
        Without a display (Linux with neither ``DISPLAY`` nor ``WAYLAND_DISPLAY``, and no
        ``QT_QPA_PLATFORM`` chosen), use Qt's offscreen platform: right for rendering a
        screenshot, wrong for a window someone should see (it would run invisibly forever).

    Raises
    ------
    UserError
        No display and ``offscreen_ok`` is False.
    """
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        return app
    if (sys.platform.startswith("linux") and "QT_QPA_PLATFORM" not in os.environ
            and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        if not offscreen_ok:
            from cnmf_gui.errors import UserError
            raise UserError("no display: the window cannot be shown; set DISPLAY or use "
                            "`cnmf-gui run` (no window) or `cnmf-gui screenshot`")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    import pyqtgraph as pg
    from PyQt6.QtGui import QIcon

    from cnmf_gui.paths import resource

    quiet_platform_notes()
    app = QApplication(sys.argv[:1])
    app.setApplicationName("cnmf-gui")
    app.setOrganizationName("cnmf-gui")
    icon = resource("cnmf-gui.png")
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    configure_pyqtgraph()
    return app


#: Qt notes that say what a platform plugin cannot do, not that anything went wrong (the
#: offscreen platform of screenshots has no window manager to take size hints).
PLATFORM_NOTES = ("does not support propagateSizeHints",)


def quiet_platform_notes() -> None:
    """Keep Qt's platform notes off stderr (one line per problem is the rule there); others pass."""
    from PyQt6.QtCore import QtMsgType, qInstallMessageHandler

    def handler(kind, context, text):
        if any(note in text for note in PLATFORM_NOTES):
            return
        if kind != QtMsgType.QtDebugMsg:
            sys.stderr.write(text + "\n")

    qInstallMessageHandler(handler)


def configure_pyqtgraph() -> None:
    """Row-major images (``image[row, col]``, as numpy and the engine index them)."""
    import pyqtgraph as pg

    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


def run_window(path=None, *, demo: bool = False) -> int:
    """Open the main window (with ``path`` when given) and run the event loop; returns its exit code."""
    from cnmf_gui.logs import setup_logging

    setup_logging()
    app = application()
    from cnmf_gui.gui.main_window import MainWindow

    from cnmf_gui.gui.warmup_status import start_warmup

    window = MainWindow()
    window.show()
    start_warmup(window)      # first start of an install: compile the kernels while the user looks around
    if path is not None:
        window.open_path(path)
    if demo:
        window.run_demo()
    return app.exec()

"""Compiling the numerical kernels in the background at the first launch, and saying so.

On a fresh install the first pipeline run would otherwise spend most of its time in numba's
compiler with nothing on screen to say why (issue 17). The window starts
:func:`cnmf_gui.session.warmup.warm_up` on a background thread when this install's kernels were
never compiled, shows a message in the status bar while it runs and says when they are ready.
The user can work meanwhile (a run started before it ends waits on the same compilation).
"""

from __future__ import annotations

import logging
import threading

from PyQt6.QtCore import QObject, pyqtSignal
from PyQt6.QtWidgets import QLabel

from cnmf_gui.session import warmup

log = logging.getLogger(__name__)
MESSAGE = "Compiling the numerical kernels in the background (first start only, about a minute)..."


class _Done(QObject):
    finished = pyqtSignal(float, str)


def start_warmup(window, *, force: bool = False):
    """Start the background warm-up unless the kernels are compiled already; returns the thread."""
    if warmup.is_warm() and not force:
        return None
    label = QLabel(MESSAGE)
    label.setToolTip("numba compiles the deconvolution and CNMF kernels once and caches them on disk; "
                     "later starts and runs skip this")
    window.statusBar().addWidget(label)
    done = _Done(window)

    def finished(seconds: float, error: str) -> None:
        window.statusBar().removeWidget(label)
        label.deleteLater()
        if error:
            log.warning("kernel warm-up failed: %s", error)
            return
        warmup.mark_warm()
        window.statusBar().showMessage(f"Numerical kernels ready (compiled in {seconds:.0f} s)", 10000)

    done.finished.connect(finished)

    def work() -> None:
        try:
            seconds, error = warmup.warm_up(), ""
        except Exception as exc:       # a failed warm-up only means the first run compiles
            seconds, error = 0.0, str(exc)
        done.finished.emit(seconds, error)

    # A daemon thread: quitting during the warm-up does not wait for the compiler.
    thread = threading.Thread(target=work, name="cnmf-gui kernel warm-up", daemon=True)
    window.warmup = (thread, done, label)
    thread.start()
    return thread

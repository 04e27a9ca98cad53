"""Issue 17 item 6: the first start says it is compiling the kernels, and does it in the background.

The real compilation (about 80 s cold, 6 s warm on the 2-core CI machine) is measured outside the
suite; here the warm-up itself is replaced by a quick stand-in to check the window's behaviour: a
status-bar message while it runs, the install marked compiled when it ends, nothing started again.
"""

from __future__ import annotations

import time

from PyQt6.QtWidgets import QLabel

from cnmf_gui.session import warmup
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def test_marker_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("CNMF_GUI_HOME", str(tmp_path / "home"))
    assert not warmup.is_warm()
    warmup.mark_warm()
    assert warmup.is_warm()
    # Another numba cache place is another install: compiled again.
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert not warmup.is_warm()


def test_window_compiles_in_the_background_and_says_so(qtbot, window, monkeypatch):  # noqa: F811
    from cnmf_gui.gui.warmup_status import MESSAGE, start_warmup

    calls = []

    def fake_warm_up():
        calls.append(1)
        time.sleep(0.3)
        return 0.3

    monkeypatch.setattr(warmup, "warm_up", fake_warm_up)
    assert not warmup.is_warm()
    thread = start_warmup(window)
    assert thread is not None
    labels = [w.text() for w in window.statusBar().findChildren(QLabel)]
    assert MESSAGE in labels
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=5000)
    qtbot.waitUntil(lambda: "ready" in window.statusBar().currentMessage(), timeout=5000)
    assert warmup.is_warm() and calls == [1]
    assert MESSAGE not in [w.text() for w in window.statusBar().findChildren(QLabel) if w.isVisible()]
    assert start_warmup(window) is None          # compiled: nothing to do at the next start

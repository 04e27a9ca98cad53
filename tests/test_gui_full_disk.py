"""Issue 12, in the window: a full disk during Ctrl+S shows one dialog, and the session stays
open, unsaved, with the file on disk as it was and no temporary file left beside it."""

from __future__ import annotations

import errno
import io
import os
import types

from PyQt6.QtCore import Qt

from tests.test_gui_support import answers, no_dangling_threads, synthetic, window  # noqa: F401


class _DiskFullAfter:
    """io.FileIO whose writes fail with ENOSPC once ``budget`` bytes were written (a full disk)."""

    budget = 4096

    def __new__(cls, *args, **kwargs):
        raw = io.FileIO(*args, **kwargs)
        written = [0]
        plain_write = raw.write

        def write(data):
            n = len(memoryview(data).cast("B"))
            if written[0] + n > cls.budget:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            written[0] += n
            return plain_write(data)

        return types.SimpleNamespace(write=write, readinto=raw.readinto, seek=raw.seek, tell=raw.tell,
                                     truncate=raw.truncate, close=raw.close)


def test_ctrl_s_on_a_full_disk_shows_one_dialog_and_keeps_the_edits(qtbot, window, monkeypatch, tmp_path):
    import cnmf_gui.atomic_h5 as atomic_h5
    from cnmf_gui.gui import dialogs

    w = window
    path = tmp_path / "s.h5"
    w.session.save(path)
    before = path.read_bytes()
    w.session.set_status([1], -1)
    assert w.session.dirty

    shown = []
    monkeypatch.setattr(dialogs, "show_error", lambda parent, title, message, details="": shown.append(
        (title, message)))
    monkeypatch.setattr(atomic_h5, "io", types.SimpleNamespace(FileIO=_DiskFullAfter, RawIOBase=io.RawIOBase))
    qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not w.worker.busy and bool(shown), timeout=20000)
    qtbot.wait(200)

    assert len(shown) == 1, shown
    title, message = shown[0]
    assert "s.h5" in message and "space" in message.lower(), message
    assert "\n" not in message
    assert w.isVisible() and w.session.dirty and w.session.status_of(1) == -1
    assert path.read_bytes() == before
    assert [p for p in os.listdir(tmp_path) if "part" in p] == []      # the temporary file is gone

    # The disk has room again: the same Ctrl+S saves the edit.
    monkeypatch.setattr(atomic_h5, "io", io)
    qtbot.keyClick(w, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not w.worker.busy and not w.session.dirty, timeout=20000)
    assert path.read_bytes() != before and len(shown) == 1

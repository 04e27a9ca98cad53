"""Autosave of curation to a recovery file beside the session, written off the main thread.

After edits the GUI hands :meth:`Autosaver.save_async` a snapshot of the session (cheap: the
session never changes component arrays in place) and the recovery path; a plain Python thread
writes it atomically through :func:`cnmf_gui.io.save_session`. Only the newest snapshot is
written: if edits arrive while a write is running, the next write starts when it ends.
On the next open, :func:`cnmf_gui.session.find_recovery` tells whether a recovery file newer than
the session exists (the program ended without saving) so the user can be offered it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


def _default_writer(data, path) -> None:
    from cnmf_gui.io import save_session
    save_session(data, path)


class Autosaver:
    """Writes session snapshots to a recovery file in a background thread.

    Parameters
    ----------
    writer : callable(SessionData, path), optional
        Defaults to :func:`cnmf_gui.io.save_session` (which writes atomically).
    on_error : callable(str), optional
        Told (from the writing thread) when a write failed; the session itself is unharmed.
    """

    def __init__(self, writer: Callable | None = None, on_error: Callable[[str], None] | None = None):
        self._writer = writer or _default_writer
        self._on_error = on_error
        self._lock = threading.Lock()
        self._pending: tuple | None = None
        self._thread: threading.Thread | None = None
        self._running = False
        self.writes = 0
        self.last_path: Path | None = None

    def save_async(self, snapshot, path) -> None:
        """Write ``snapshot`` to ``path`` soon; a newer call replaces a write not yet started."""
        with self._lock:
            self._pending = (snapshot, Path(path))
            if not self._running:
                self._running = True
                self._thread = threading.Thread(target=self._loop, name="cnmf-gui autosave", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                job = self._pending
                self._pending = None
                if job is None:
                    self._running = False
                    return
            snapshot, path = job
            try:
                self._writer(snapshot, path)
                self.writes += 1
                self.last_path = path
            except Exception as exc:  # noqa: BLE001 - a failed autosave must never end the program
                log.exception("autosave to %s failed", path)
                if self._on_error is not None:
                    self._on_error(f"autosave to {path} failed: {exc}")

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until pending writes are done; True when idle."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
            return not thread.is_alive()
        return True

    def discard(self, path) -> None:
        """Wait for writes, then delete the recovery file (the user saved or chose to discard)."""
        with self._lock:
            self._pending = None
        self.flush()
        path = Path(path)
        if path.exists():
            path.unlink()

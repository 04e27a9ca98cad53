"""Opening, saving, exporting and autosave of the main window (the window only wires these).

The rules are the session's (:mod:`cnmf_gui.session.files`); here they become questions:

- opening a movie whose session file lies beside it offers that session (its curation, frame
  rate and parameters) instead of starting afresh;
- saving over a file that holds curation this session never loaded asks first;
- unsaved changes are offered for saving before anything replaces them.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from cnmf_gui.errors import SeveralMoviesError, UserError
from cnmf_gui.gui import dialogs
from cnmf_gui.session import default_session_path, is_session_file, jobs, recovery_for_open
from cnmf_gui.session.files import set_aside
from cnmf_gui.session.recovery import discard as discard_recovery

log = logging.getLogger(__name__)


def open_dialog(window) -> None:
    if not confirm_discard(window):
        return
    path = dialogs.choose_open(window)
    if path:
        open_path(window, path)


def _session_beside(path: Path) -> Path | None:
    """The session file of a movie, when one exists beside it."""
    if is_session_file(path):
        return None
    candidate = default_session_path(path)
    return candidate if is_session_file(candidate) else None


def open_path(window, path, *, frame_rate: float | None = None) -> bool:
    """Open a movie or session; offers the recovery file, and the session beside a movie.

    ``frame_rate``: the movie's, when the caller knows it and the file does not say (the demo).
    """
    path = Path(path)
    if not window.stop_job_for(path.name) or not confirm_discard(window):
        return False
    try:
        found = recovery_for_open(path)
        use_recovery = False
        if found is not None:
            recovery = found[0]
            answer = window.ask("Recover unsaved work?",
                                f"{path.name} has autosaved changes that were never saved "
                                f"({recovery.name}). Restore them?", ("Restore", "Discard", "Ignore"))
            use_recovery = answer == "Restore"
            if answer == "Discard":
                discard_recovery(recovery)
            window.kept_recovery = recovery if answer not in ("Restore", "Discard") else None
        beside = None if use_recovery else _session_beside(path)
        if beside is not None and window.ask(
                "Open the saved session?", f"{path.name} has a session file beside it ({beside.name}) "
                "with its results, curation, frame rate and parameters. Open that session?",
                ("Open session", "Open the movie only")) == "Open session":
            path = beside
        if not _open_asking_which(window, path, use_recovery, frame_rate):
            return False
    except UserError as exc:
        window.show_error("Cannot open", str(exc))
        return False
    except Exception as exc:  # noqa: BLE001 - a bad file must not end the program
        window.show_error("Cannot open", f"{path}: {type(exc).__name__}: {exc}", traceback.format_exc())
        return False
    window.session.message(f"opened {path}")
    return True


def _open_asking_which(window, path: Path, use_recovery: bool, frame_rate) -> bool:
    """Open ``path``; when it holds several movies (HDF5 datasets, NWB imaging series), ask which.

    False when the user cancelled the choice (nothing was opened).
    """
    try:
        window.session.open(path, use_recovery=use_recovery, frame_rate=frame_rate)
        return True
    except SeveralMoviesError as several:
        if not window.ask_questions:
            raise
        choices, labels = several.choices, several.labels
    k = dialogs.choose_item(window, "Which movie?", f"{path.name} holds several movies. Open:", labels)
    if k is None:
        return False
    window.session.open(path, frame_rate=frame_rate, movie_options={"dataset": choices[k]})
    return True


def save(window) -> bool:
    s = window.session
    if s.path is None:
        # The first save of a session started from a movie: where it goes (the movie's folder
        # may be shared or read-only) is the user's choice, offered with the default beside it.
        return save_as(window)
    return save_to(window, s.path, make_current=True)


def save_as(window) -> bool:
    target = window.session.save_target()
    path = dialogs.choose_save(window, "Save session", str(target or "session.h5"), "Session (*.h5)")
    return bool(path) and save_to(window, Path(path), make_current=True)


def export_session(window, path=None) -> bool:
    """Write a copy of the session file (the open session keeps its own file)."""
    if path is None:
        path = dialogs.choose_save(window, "Export session (HDF5)", "export.h5", "Session (*.h5)")
    return bool(path) and save_to(window, Path(path), make_current=False)


def may_replace(window, path: Path) -> bool:
    """True when writing ``path`` loses no curation, or the user agreed to replace it."""
    try:
        lost = window.session.curation_at_risk(path)
    except UserError:
        lost = 0           # an unreadable file holds nothing we could keep
    if not lost:
        return True
    return window.ask("Replace curated session?",
                      f"{path.name} holds curation that this window did not open ({lost} log lines). "
                      "Saving replaces it. Replace it?", ("Replace", "Cancel")) == "Replace"


def save_to(window, path: Path, *, make_current: bool) -> bool:
    s = window.session
    if not may_replace(window, path):
        return False
    snapshot = s.snapshot()
    # The user may keep curating while the worker writes: remember what the file will hold.
    revision, marker = s.revision, s.save_marker()
    expected = s.file_revision if make_current and s.path is not None and Path(path) == s.path else None

    def done(file_revision):
        if make_current:
            window.autosaver.flush()
            if not s.mark_saved(path, revision, marker=marker, file_revision=file_revision):
                s.message(f"saved {path}; edits made during the save are not saved yet")
                return
        s.message(f"saved {path}")
    if window.worker.busy:
        # A long job holds the worker: a save cannot wait for it.
        try:
            written = jobs.save_session(snapshot, path, expected)(None)
        except UserError as exc:
            window.show_error("Cannot save", str(exc))
            return False
        done(written)
        return True
    return window.worker.start(f"Saving {path.name}", jobs.save_session(snapshot, path, expected),
                               on_done=window.for_this_file(f"Saving {path.name}", done))


def export_csv(window, include_all: bool = False, folder=None) -> bool:
    """Export traces and the component table as CSV (accepted only unless ``include_all``)."""
    if folder is None:
        folder = dialogs.choose_export_folder(window, "Export CSV to a folder (a new name creates it)",
                                              _export_default(window))
        if not folder:
            return False
    snapshot = window.session.snapshot()
    return window.start_job("Exporting CSV", jobs.export_csv(snapshot, folder, include_all),
                            lambda paths: window.session.message(f"exported {len(paths)} files to {folder}"))


def _export_default(window) -> str:
    """A new folder beside the session file (or the movie) to offer for an export."""
    s = window.session
    base = s.path if s.path is not None else (s.data.movie_path if s.data is not None else None)
    if not base:
        return ""
    base = Path(base)
    return str(base.with_name(f"{base.stem}_csv"))


def autosave_now(window) -> None:
    s = window.session
    rec = s.recovery_path()
    if rec is not None and s.dirty and s.data is not None:
        kept = getattr(window, "kept_recovery", None)
        if kept is not None and kept == rec and rec.is_file():
            # The user left an earlier crash's autosave alone: keep it under another name.
            moved = set_aside(rec)
            s.message(f"the earlier unsaved work was kept as {moved.name}")
        window.kept_recovery = None
        window.autosaver.save_async(s.snapshot(), rec)


def confirm_discard(window) -> bool:
    """When there are unsaved changes, ask to save them; False when the user cancelled.

    A "Discard" holds until the next edit, so the steps of one action (Open asks, then opens)
    never ask twice.
    """
    s = window.session
    if not s.dirty or window.discarded_revision == (s.load_count, s.revision):
        return True
    answer = window.ask("Unsaved changes", "The session has unsaved changes. Save them?",
                        ("Save", "Discard", "Cancel"))
    if answer == "Save":
        target = s.path
        if target is None:              # never saved: the user says where (see save)
            default = s.save_target()
            chosen = dialogs.choose_save(window, "Save session", str(default or "session.h5"),
                                         "Session (*.h5)")
            if not chosen:
                return False
            target = Path(chosen)
        if not may_replace(window, target):
            return False
        try:
            window.autosaver.flush()
            s.save(target, force=True)
        except UserError as exc:
            window.show_error("Cannot save", str(exc))
            return False
        return True
    if answer == "Discard":
        rec = s.recovery_path()
        window.stop_autosave_timer()
        if rec is not None:
            window.autosaver.discard(rec)
        window.discarded_revision = (s.load_count, s.revision)
        return True
    return False

"""Unsaved work that outlives a crash: the edit journal, and restoring it with its undo history.

Two files beside a session hold what it has not saved (see :mod:`cnmf_gui.session.files` for
where): the autosave ``NAME.recovery.h5`` (a whole session, written a few seconds after the
edits pause and at most every ten seconds) and the journal ``NAME.recovery.h5.journal``, to
which :class:`EditJournal` appends each curation log line the moment it is written. After a
crash, the autosave (or the session file, when no autosave was written yet) is loaded and the
journal's lines that continue its log are done again, so no edit the user saw is lost, however
soon after it the program died.

The journal stays until the work is saved: a restored session continues it (its lines are not
written twice), so a second crash before a save still finds every edit.

When the session file and its autosave are both there, the autosave's edits are also done again
on the session file, so the restored session can undo them as if nothing had happened; when that
replay does not give the autosave's exact statuses and ids, the autosave itself is used.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

from cnmf_gui.errors import UserError

log = logging.getLogger(__name__)

JOURNAL_SUFFIX = ".journal"


def journal_path_for(recovery: str | os.PathLike) -> Path:
    """The journal that goes with an autosave file: ``RECOVERY.journal``."""
    recovery = Path(recovery)
    return recovery.with_name(recovery.name + JOURNAL_SUFFIX)


def has_journal(recovery: str | os.PathLike) -> bool:
    from cnmf_gui.io.journal import read_lines
    return bool(read_lines(journal_path_for(recovery)))


def discard(recovery: str | os.PathLike) -> None:
    """Delete an autosave and its journal (the user saved, or chose to discard them)."""
    for path in (Path(recovery), journal_path_for(recovery)):
        if path.exists():
            path.unlink()


def set_aside(recovery: str | os.PathLike) -> Path:
    """Rename an unclaimed autosave and its journal so new work cannot overwrite them.

    Returns the autosave's new name (``NAME.recovery-STAMP.h5``; its journal gets the same stamp).
    """
    recovery = Path(recovery)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = recovery.with_name(recovery.name.replace(".recovery.h5", f".recovery-{stamp}.h5"))
    if target == recovery:                      # not an autosave name: keep it apart all the same
        target = recovery.with_name(f"{recovery.name}-{stamp}")
    journal = journal_path_for(recovery)
    if recovery.exists():
        os.replace(recovery, target)
    if journal.exists():
        os.replace(journal, journal_path_for(target))
    return target


def _seq(line: str):
    try:
        entry = json.loads(line)
    except (json.JSONDecodeError, TypeError):
        return None
    seq = entry.get("seq") if isinstance(entry, dict) else None
    return seq if isinstance(seq, int) else None


class EditJournal:
    """Appends every curation log line of a session to the journal beside its autosave.

    Parameters
    ----------
    session : Session
    on_error : callable(str), optional
        Told when a line could not be written (a full disk); the session itself is unharmed.
    """

    def __init__(self, session, on_error=None):
        self.session = session
        self.on_error = on_error
        self._owned: dict[Path, int] = {}       # journals this program writes -> last seq written
        self.subscription = session.subscribe("log", self._on_line)

    def close(self) -> None:
        self.subscription.release()

    def _on_line(self, line: str) -> None:
        from cnmf_gui.io.journal import append_line
        recovery = self.session.recovery_path()
        seq = _seq(line)
        if recovery is None or seq is None:
            return
        path = journal_path_for(recovery)
        last = self._owned.get(path)
        adopted = getattr(self.session, "adopted_journal", None)   # set by restore()
        if last is None and adopted is not None and adopted[0] == path and path.exists():
            last = adopted[1]
        if last is None or not path.exists():
            if path.exists():
                # Another program's journal (a crash whose work the user left alone): keep it.
                moved = set_aside(recovery)
                self.session.message(f"the earlier unsaved work was kept as {moved.name}")
            last = -1
        if seq <= last:
            return           # a line already journaled (restoring replays the journal's own lines)
        try:
            append_line(path, line)
        except UserError as exc:
            log.warning("%s", exc)
            if self.on_error is not None:
                self.on_error(str(exc))
            return
        self._owned[path] = seq


def continuing(lines: list[str], log_lines: list[str]) -> list[str]:
    """The journal ``lines`` that continue ``log_lines``, in order, up to a pipeline run.

    A journal line continues the log when its seq is the log's next seq, then the next, and so on;
    lines the log already holds (autosaved since) are skipped. A pipeline run cannot be done again
    from its log line: the journal's lines stop there.
    """
    from cnmf_gui.session.commands import COMMANDS, PipelineReset, read_log
    expected = read_log(log_lines).next_seq
    out = []
    for line in lines:
        seq = _seq(line)
        if seq is None or seq < expected:
            continue
        if seq != expected:
            break                   # a gap: the journal does not continue this log
        if COMMANDS.get(json.loads(line).get("action")) is PipelineReset:
            break
        out.append(line)
        expected += 1
    return out


def _same_curation(a, b) -> bool:
    import numpy as np
    if a is None or b is None:
        return a is b
    return (np.array_equal(a.ids, b.ids) and np.array_equal(a.status, b.status)
            and a.n_components == b.n_components)


def restore(session, path, recovery) -> int:
    """Open the unsaved work of ``path`` (a session file, or None) from ``recovery`` and its journal.

    Returns how many edits were done again from the journal. The session is left unsaved.

    Parameters
    ----------
    session : Session
    path : path-like or None
        The session file the work belongs to (None: a session never saved, known only from its
        autosave).
    recovery : path-like
        The autosave file (it may be missing when only the journal was written).
    """
    from cnmf_gui.io import load_session, read_revision
    from cnmf_gui.session import loading
    from cnmf_gui.session.commands import ReplayError
    from cnmf_gui.io.journal import read_lines
    recovery = Path(recovery)
    path = Path(path) if path is not None else None
    revision = read_revision(path) if path is not None and path.is_file() else None
    saved = load_session(path) if path is not None and path.is_file() else None
    autosave = load_session(recovery) if recovery.is_file() else None
    if autosave is None and saved is None:
        raise UserError(f"{recovery}: no autosave or session file to restore from")
    base = autosave if autosave is not None else saved
    open_movie = loading._open_movie_of
    journal = journal_path_for(recovery)
    pending = read_lines(journal)
    # The journal stays until a save: this session continues it (see EditJournal), so a second
    # crash before the save still finds every edit.
    session.adopted_journal = (journal, max((_seq(line) or 0) for line in pending) if pending else -1)
    if autosave is not None and saved is not None and _log_extends(autosave.curation_log, saved.curation_log):
        # Redo the autosave's edits on the saved file, so they can be undone after the restore.
        extra = autosave.curation_log[len(saved.curation_log):]
        loading.set_data(session, saved, movie=open_movie(session, saved), path=path, dirty=True,
                         file_revision=revision)
        try:
            session.replay(extra)
            ok = _same_curation(session.components, autosave.components)
        except (ReplayError, UserError, KeyError, ValueError) as exc:
            log.info("undo history not restored (%s): using the autosave as it is", exc)
            ok = False
        if ok:
            base = None
    if base is not None:
        loading.set_data(session, base, movie=open_movie(session, base), path=path, dirty=True,
                         file_revision=revision)
    lines = continuing(pending, session.data.curation_log)
    if lines:
        try:
            session.replay(lines)
        except (ReplayError, UserError, KeyError, ValueError) as exc:
            session.message(f"some edits of the journal could not be done again: {exc}")
    session.set_dirty(True)
    return len(lines)


def _log_extends(longer: list[str], prefix: list[str]) -> bool:
    return len(longer) >= len(prefix) and list(longer[:len(prefix)]) == list(prefix)

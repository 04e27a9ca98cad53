"""Undo/redo of curation commands and the append-only curation log (Qt-free).

Every edit of the curation is a command (:mod:`cnmf_gui.session.commands`) holding the curation
state before and after it. Because :class:`~cnmf_gui.results.Components` objects are never
changed in place (each edit builds a new one that shares the unchanged arrays), undo and redo
only swap references: they are exact and cheap.

The log is a list of JSON lines (``SessionData.curation_log``) that only grows, and this module
is its only writer. Every line is one JSON object with its own sequence number ``seq``: an edit's
line carries the edit (``{"seq": 4, "action": "status", ...}``), undo and redo lines name the
edit they undo or redo (``{"seq": 5, "action": "undo", "target": 4}``). Logs written before
this rule gave undo/redo lines the seq of their target and no ``target``; they read the same.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Callable, Mapping

from cnmf_gui.results import Components


@dataclass(frozen=True)
class CurationState:
    """What an edit may change.

    Attributes
    ----------
    components : Components
        Never mutated once it is part of a state.
    user_decided : frozenset of int
        Ids whose status the user set by hand (thresholds never change them).
    overrides : mapping of int to float
        Per-component epsilon chosen by the user instead of the global one.
    """

    components: Components
    user_decided: frozenset = frozenset()
    overrides: Mapping[int, float] = field(default_factory=lambda: MappingProxyType({}))

    def with_changes(self, **changes) -> "CurationState":
        values = {"components": self.components, "user_decided": self.user_decided,
                  "overrides": self.overrides}
        values.update(changes)
        values["user_decided"] = frozenset(values["user_decided"])
        values["overrides"] = MappingProxyType(dict(values["overrides"]))
        return CurationState(**values)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class History:
    """Undo and redo stacks plus the append-only log they write to.

    Parameters
    ----------
    log : list of str
        The session's curation log; lines are appended to this very list.
    next_seq : int
        Sequence number of the next line (continues an existing log).
    limit : int
        Commands kept for undo; older ones drop off the stack but stay in the log.
    clock : callable() -> str, optional
        The time stamp of each line (UTC ISO 8601 by default).
    """

    def __init__(self, log: list[str], next_seq: int = 0, limit: int = 200,
                 clock: Callable[[], str] = utc_now):
        self.log = log
        self.next_seq = next_seq
        self.limit = limit
        self.clock = clock
        self._undo: list = []
        self._redo: list = []

    def write(self, entry: dict) -> tuple[int, str]:
        """Append one line for ``entry`` (gets the next seq and a time); returns (seq, line)."""
        seq = self.next_seq
        self.next_seq += 1
        line = json.dumps({"seq": seq, "time": self.clock(), **entry}, sort_keys=True)
        self.log.append(line)
        return seq, line

    def push(self, command) -> str:
        """Record a done command; returns the log line written. Clears the redo stack.

        A command that cannot be undone (a pipeline run) clears both stacks: what was done
        before it is about components that no longer exist.
        """
        command.seq, line = self.write(command.entry())
        if command.undoable:
            self._undo.append(command)
            del self._undo[:-self.limit]
        else:
            self._undo.clear()
        self._redo.clear()
        return line

    def undo(self):
        """Pop the last command; returns ``(command, line)`` or None when there is nothing."""
        if not self._undo:
            return None
        command = self._undo.pop()
        self._redo.append(command)
        return command, self.write({"action": "undo", "target": command.seq})[1]

    def redo(self):
        if not self._redo:
            return None
        command = self._redo.pop()
        self._undo.append(command)
        return command, self.write({"action": "redo", "target": command.seq})[1]

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    @property
    def undo_label(self) -> str:
        return self._undo[-1].label if self._undo else ""

    @property
    def redo_label(self) -> str:
        return self._redo[-1].label if self._redo else ""


def parse_log(lines: list[str]) -> tuple[list[dict], int]:
    """The JSON objects of a log and how many lines were not JSON objects (skipped)."""
    entries, bad = [], 0
    for line in lines:
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, TypeError):
            bad += 1
            continue
        if isinstance(entry, dict):
            entries.append(entry)
        else:
            bad += 1
    return entries, bad


def undo_target(entry: dict):
    """The seq an undo/redo line names (older logs: its own seq)."""
    target = entry.get("target", entry.get("seq"))
    return target if isinstance(target, int) else None

"""Undo/redo of curation edits and the append-only curation log (Qt-free).

Every edit of the curation (a status change, a merge, a deconvolution rerun) is an :class:`Edit`
holding the curation state before and after it. Because :class:`~cnmf_gui.results.Components`
objects are never changed in place (each edit builds a new one that shares the unchanged
arrays), undo and redo only swap references: they are exact and cheap.

The log is a list of JSON lines (``SessionData.curation_log``) that only grows: doing an edit
appends its entry with a sequence number, undo and redo append ``{"action": "undo", "seq": n}``
and ``{"action": "redo", "seq": n}``. :func:`replay` reads a log back into the parts of the
curation state that are not stored in the components themselves: which statuses the user set by
hand (thresholds never overwrite those), per-component epsilon overrides and the largest id ever
used (ids are never reused). A ``{"action": "pipeline", "reset": true, ...}`` entry marks a
pipeline run that replaced every component: edits before it describe components that no longer
exist, so replay forgets them (user decisions and overrides start afresh).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from types import MappingProxyType
from typing import Mapping

from cnmf_gui.results import Components


@dataclass(frozen=True)
class CurationState:
    """What an edit may change.

    Attributes
    ----------
    components : Components
        Never mutated once it is part of a state.
    user_decided : frozenset of int
        Ids whose status the user set by hand.
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


@dataclass
class Edit:
    """One reversible curation edit.

    Attributes
    ----------
    kind : str
        ``"status"``, ``"merge"`` or ``"deconvolution"``: tells views what to refresh.
    label : str
        Human-readable, for the Edit menu ("Reject 3 components").
    entry : dict
        The log entry (without ``seq`` and ``time``, which the history adds).
    before, after : CurationState
    ids : tuple of int
        The components the edit touched (for a merge: the originals and the new one).
    """

    kind: str
    label: str
    entry: dict
    before: CurationState
    after: CurationState
    ids: tuple = ()
    seq: int = -1


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class History:
    """Undo and redo stacks plus the append-only log they write to.

    Parameters
    ----------
    log : list of str
        The session's curation log; entries are appended to this very list.
    next_seq : int
        Sequence number of the next edit (continues an existing log).
    limit : int
        Edits kept for undo; older ones drop off the stack but stay in the log.
    """

    def __init__(self, log: list[str], next_seq: int = 0, limit: int = 200):
        self.log = log
        self.next_seq = next_seq
        self.limit = limit
        self._undo: list[Edit] = []
        self._redo: list[Edit] = []

    def _append(self, entry: dict) -> str:
        line = json.dumps(entry, sort_keys=True)
        self.log.append(line)
        return line

    def push(self, edit: Edit) -> str:
        """Record a done edit; returns the log line written. Clears the redo stack."""
        edit.seq = self.next_seq
        self.next_seq += 1
        self._undo.append(edit)
        del self._undo[:-self.limit]
        self._redo.clear()
        return self._append({"seq": edit.seq, "time": _now(), **edit.entry})

    def undo(self) -> tuple[Edit, str] | None:
        if not self._undo:
            return None
        edit = self._undo.pop()
        self._redo.append(edit)
        return edit, self._append({"action": "undo", "seq": edit.seq, "time": _now()})

    def redo(self) -> tuple[Edit, str] | None:
        if not self._redo:
            return None
        edit = self._redo.pop()
        self._undo.append(edit)
        return edit, self._append({"action": "redo", "seq": edit.seq, "time": _now()})

    def append_note(self, entry: dict) -> str:
        """Log something that is not undoable (e.g. a pipeline run replacing the results)."""
        return self._append({"time": _now(), **entry})

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()

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


def pipeline_reset_line(n_components: int, first_id: int) -> str:
    """The log line of a pipeline run whose ``n_components`` new components got ids from ``first_id``."""
    entry = {"action": "pipeline", "reset": True, "n_components": int(n_components),
             "first_id": int(first_id), "last_id": int(first_id) + int(n_components) - 1, "time": _now()}
    return json.dumps(entry, sort_keys=True)


@dataclass
class Replayed:
    """What :func:`replay` recovers from a log."""

    user_decided: set = field(default_factory=set)
    overrides: dict = field(default_factory=dict)
    max_id: int = -1
    next_seq: int = 0
    bad_lines: int = 0


def replay(lines: list[str]) -> Replayed:
    """Read a curation log back into user decisions, epsilon overrides and the largest id used.

    Parameters
    ----------
    lines : list of str
        JSON lines as written by :class:`History`.

    Returns
    -------
    Replayed
        Lines that are not JSON objects are counted in ``bad_lines`` and otherwise ignored, so
        a damaged log never prevents opening a session.
    """
    out = Replayed()
    edits: dict[int, dict] = {}
    active: dict[int, bool] = {}
    for line in lines:
        try:
            entry = json.loads(line)
        except (json.JSONDecodeError, TypeError):
            out.bad_lines += 1
            continue
        if not isinstance(entry, dict):
            out.bad_lines += 1
            continue
        for key in ("ids", "merged"):
            for i in entry.get(key, []) or []:
                if isinstance(i, int):
                    out.max_id = max(out.max_id, i)
        for key in ("new_id", "last_id"):
            if isinstance(entry.get(key), int):
                out.max_id = max(out.max_id, entry[key])
        if entry.get("action") == "pipeline":
            # New components replaced the old ones: earlier edits (and their undo/redo) no longer apply.
            edits.clear()
            active.clear()
            continue
        seq = entry.get("seq")
        if not isinstance(seq, int):
            continue
        out.next_seq = max(out.next_seq, seq + 1)
        action = entry.get("action")
        if action in ("undo", "redo"):
            if seq in active:
                active[seq] = action == "redo"
        else:
            edits[seq] = entry
            active[seq] = True
    for seq in sorted(edits):
        if not active.get(seq):
            continue
        entry = edits[seq]
        action = entry.get("action")
        ids = [i for i in entry.get("ids", []) if isinstance(i, int)]
        if action == "status":
            # Setting a component back to undecided hands it back to the thresholds.
            if entry.get("source") == "user" and entry.get("status") != 0:
                out.user_decided.update(ids)
            elif entry.get("source") == "user":
                out.user_decided.difference_update(ids)
        elif action == "merge":
            out.user_decided.difference_update(ids)
            for i in ids:
                out.overrides.pop(i, None)
        elif action == "deconvolution":
            for i in ids:
                if entry.get("override"):
                    out.overrides[i] = float(entry.get("epsilon", 0.0))
                elif entry.get("clear_override"):
                    out.overrides.pop(i, None)
    return out

"""Curation edits as command objects: each owns its do, undo, log line and replay.

A command is built from the curation state it applies to (the new state is computed once, when
it is built), then handed to :meth:`Curation.do <cnmf_gui.session.curation.Curation.do>`, which
writes its log line and swaps the state; undo swaps back. The log line is everything needed to
do the same edit again on the same components: :func:`replay` rebuilds each command from its
line through :data:`COMMANDS`, so the window, ``cnmf-gui curate`` and scripts that make the same
edits write the same lines, and replaying a log reproduces the curation.

A new kind of edit is a new class with an ``action`` name, registered in :data:`COMMANDS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cnmf_gui.session.history import CurationState, parse_log, undo_target


class Command:
    """One reversible curation edit.

    Attributes
    ----------
    action : str
        The ``action`` of its log line and its key in :data:`COMMANDS`.
    kind : str
        What views refresh: ``"status"``, ``"components"`` or ``"traces"`` (``"data"`` for a
        pipeline reset).
    undoable : bool
    label : str
        For the Edit menu ("Reject 3 components").
    before, after : CurationState
    ids : tuple of int
        The components touched (a merge: the originals and the new one).
    seq : int
        Its log line's sequence number, once done.
    """

    action = ""
    kind = "status"
    undoable = True

    def __init__(self, label: str, before: CurationState | None, after: CurationState | None,
                 ids=()):
        self.label = label
        self.before = before
        self.after = after
        self.ids = tuple(int(i) for i in ids)
        self.seq = -1

    def entry(self) -> dict:
        """The log line's fields (``seq`` and ``time`` are added by the history)."""
        raise NotImplementedError

    def do(self, curation) -> CurationState:
        """The curation state once the edit is done (also for redo).

        Edits computed when they are built (all here) just hand over ``after``; a command that
        must touch something besides the state (an import bringing a background) does it here.
        """
        return self.after

    def undo(self, curation) -> CurationState:
        """The curation state once the edit is undone."""
        return self.before

    def selection_after_undo(self):
        """Ids to select after undo (None: keep the selection minus vanished ids)."""
        return None

    def selection_after_redo(self):
        return None

    @classmethod
    def replay(cls, session, entry: dict) -> None:
        """Do the edit of ``entry`` again on ``session`` (through its public API)."""
        raise NotImplementedError

    @staticmethod
    def note(entry: dict, facts: "LogFacts") -> None:
        """What opening a session learns from an active line of this kind (decisions, overrides)."""


class StatusCommand(Command):
    """Statuses set by the user (one status for all ids) or by the thresholds (one per id)."""

    action = "status"
    kind = "status"

    def __init__(self, label, before, after, ids, statuses, source: str = "user", thresholds=None,
                 reasons=None):
        super().__init__(label, before, after, ids)
        self.statuses = [int(v) for v in statuses]
        self.source = source
        self.thresholds = thresholds
        self.reasons = None if reasons is None else [str(r) for r in reasons]

    def entry(self) -> dict:
        out = {"action": self.action, "ids": list(self.ids), "source": self.source}
        if self.source == "user":
            out["status"] = self.statuses[0] if self.statuses else 0
        else:
            out["statuses"] = self.statuses
            out["thresholds"] = self.thresholds or {}
            if self.reasons is not None:
                out["reasons"] = self.reasons
        return out

    @classmethod
    def replay(cls, session, entry: dict) -> None:
        ids = [int(i) for i in entry.get("ids", [])]
        if entry.get("source") == "user":
            session.set_status(ids, int(entry["status"]))
        elif "statuses" in entry:
            session.curation.set_statuses(ids, entry["statuses"], source=entry.get("source", "threshold"),
                                          thresholds=entry.get("thresholds"), reasons=entry.get("reasons"))
        else:
            raise ReplayError(f"seq {entry.get('seq')}: a threshold line without statuses (older log)")

    @staticmethod
    def note(entry, facts) -> None:
        if entry.get("source") != "user":
            return
        ids = [i for i in entry.get("ids", []) if isinstance(i, int)]
        # Setting a component back to undecided by hand hands it back to the thresholds.
        if entry.get("status") != 0:
            facts.user_decided.update(ids)
        else:
            facts.user_decided.difference_update(ids)


class MergeCommand(Command):
    """Components replaced by one new component (a refit of their union) with a new id."""

    action = "merge"
    kind = "components"

    def __init__(self, label, before, after, merged, new_id: int, originals):
        super().__init__(label, before, after, tuple(merged) + (new_id,))
        self.merged = [int(i) for i in merged]
        self.new_id = int(new_id)
        self.originals = originals

    def entry(self) -> dict:
        return {"action": self.action, "ids": self.merged, "merged": self.merged, "new_id": self.new_id,
                "originals": self.originals}

    def selection_after_undo(self):
        return self.merged

    def selection_after_redo(self):
        return [self.new_id]

    @classmethod
    def replay(cls, session, entry: dict) -> None:
        new_id = session.merge([int(i) for i in entry["ids"]])
        if new_id != entry.get("new_id", new_id):
            raise ReplayError(f"seq {entry.get('seq')}: merge made id {new_id}, the log says {entry['new_id']}")

    @staticmethod
    def note(entry, facts) -> None:
        ids = [i for i in entry.get("ids", []) if isinstance(i, int)]
        facts.user_decided.difference_update(ids)
        for i in ids:
            facts.overrides.pop(i, None)


class DeconvolutionCommand(Command):
    """Traces deconvolved again (statuses untouched), setting, keeping or clearing overrides.

    ``mode`` is ``"override"`` (the user's epsilon for these ids), ``"global"`` (these ids go
    back to the global epsilon, their overrides dropped) or ``"keep"`` (each id keeps its
    override, the others use the global epsilon: "Rerun all" after changing s_min).
    """

    action = "deconvolution"
    kind = "traces"

    def __init__(self, label, before, after, ids, *, mode: str, epsilon, global_epsilon: float,
                 p: int, s_min: float):
        super().__init__(label, before, after, ids)
        self.mode = mode
        self.epsilon = epsilon
        self.global_epsilon = float(global_epsilon)
        self.p = int(p)
        self.s_min = float(s_min)

    def entry(self) -> dict:
        return {"action": self.action, "ids": list(self.ids), "epsilon": self.epsilon,
                "override": self.mode == "override", "clear_override": self.mode == "global",
                "global_epsilon": self.global_epsilon, "p": self.p, "s_min": self.s_min}

    @classmethod
    def replay(cls, session, entry: dict) -> None:
        mode = "override" if entry.get("override") else "global" if entry.get("clear_override") else "keep"
        session.deconvolve([int(i) for i in entry["ids"]],
                           epsilon=float(entry["epsilon"]) if mode == "override" else None,
                           use_global=mode == "global", p=entry.get("p"), s_min=entry.get("s_min"),
                           global_epsilon=entry.get("global_epsilon"))

    @staticmethod
    def note(entry, facts) -> None:
        for i in entry.get("ids", []):
            if not isinstance(i, int):
                continue
            if entry.get("override"):
                facts.overrides[i] = float(entry.get("epsilon", 0.0))
            elif entry.get("clear_override"):
                facts.overrides.pop(i, None)


class PipelineReset(Command):
    """A pipeline run replaced every component (new ids from ``first_id``); not undoable.

    Lines before it describe components that no longer exist: reading a log forgets them.
    With ``provenance`` (:mod:`cnmf_gui.session.importing`) its line is an ``import``.
    """

    action = "pipeline"
    kind = "data"
    undoable = False

    def __init__(self, n_components: int, first_id: int, n_accepted: int = 0, motion: bool = False,
                 provenance: dict | None = None):
        super().__init__("Run the pipeline", None, None, ())
        self.n_components = int(n_components)
        self.first_id = int(first_id)
        self.n_accepted = int(n_accepted)
        self.motion = bool(motion)
        self.provenance = dict(provenance or {})

    def entry(self) -> dict:
        return {"action": "import" if self.provenance else self.action, "reset": True,
                "n_components": self.n_components, "n_accepted": self.n_accepted, "motion": self.motion,
                "first_id": self.first_id, "last_id": self.first_id + self.n_components - 1, **self.provenance}


class SeedCommand(Command):
    """A new component fitted at a clicked point, the overlapping ones refitted with it."""

    action = "seed"
    kind = "components"

    def __init__(self, label, before, after, point, new_id: int, refitted):
        super().__init__(label, before, after, tuple(refitted) + (new_id,))
        self.point = [int(point[0]), int(point[1])]
        self.new_id = int(new_id)
        self.refitted = [int(i) for i in refitted]

    def entry(self) -> dict:
        return {"action": self.action, "ids": [self.new_id], "point": self.point, "new_id": self.new_id,
                "refitted": self.refitted}

    def selection_after_redo(self):
        return [self.new_id]

    @classmethod
    def replay(cls, session, entry: dict) -> None:
        new_id = session.seed(*[int(v) for v in entry["point"]])
        if new_id != entry.get("new_id", new_id):
            raise ReplayError(f"seq {entry.get('seq')}: seed made id {new_id}, the log says {entry['new_id']}")


class SplitCommand(Command):
    """One component replaced by two fitted on its support (:mod:`~cnmf_gui.session.split`), new ids."""

    action = "split"
    kind = "components"

    def __init__(self, label, before, after, split_id: int, new_ids, points, seeds):
        super().__init__(label, before, after, (split_id, *new_ids))
        self.split_id, self.new_ids = int(split_id), [int(i) for i in new_ids]
        self.points, self.seeds = points, seeds

    def entry(self) -> dict:
        return {"action": self.action, "ids": [self.split_id], "split": self.split_id, "new_ids": self.new_ids,
                "points": self.points, "seeds": self.seeds}

    def selection_after_undo(self):
        return [self.split_id]

    def selection_after_redo(self):
        return self.new_ids

    @classmethod
    def replay(cls, session, entry: dict) -> None:
        new_ids = session.split(int(entry["split"]), entry.get("points"))
        if list(new_ids) != entry.get("new_ids", list(new_ids)):
            raise ReplayError(f"seq {entry.get('seq')}: split made ids {new_ids}, the log says {entry['new_ids']}")

    @staticmethod
    def note(entry, facts) -> None:
        facts.user_decided.discard(entry.get("split")), facts.overrides.pop(entry.get("split"), None)


#: action name of a log line -> the command class that replays it
COMMANDS: dict[str, type[Command]] = {cls.action: cls for cls in (
    StatusCommand, MergeCommand, SeedCommand, SplitCommand, DeconvolutionCommand, PipelineReset)} | {"import": PipelineReset}


class ReplayError(Exception):
    """A log line could not be done again (a log that does not belong to these components)."""


@dataclass
class LogFacts:
    """What the log tells beyond the components themselves (read when a session is opened)."""

    user_decided: set = field(default_factory=set)
    overrides: dict = field(default_factory=dict)
    max_id: int = -1
    next_seq: int = 0
    bad_lines: int = 0


def _max_id(entry: dict) -> int:
    best = -1
    for key in ("ids", "merged", "new_ids"):
        for i in entry.get(key, []) or []:
            if isinstance(i, int):
                best = max(best, i)
    for key in ("new_id", "last_id"):
        if isinstance(entry.get(key), int):
            best = max(best, entry[key])
    return best


def active_edits(entries: list[dict]) -> list[dict]:
    """The edits since the last pipeline reset that are in effect (undone ones left out), in order."""
    edits: dict[int, dict] = {}
    active: dict[int, bool] = {}
    for entry in entries:
        action = entry.get("action")
        if COMMANDS.get(action) is PipelineReset:  # a run or an import
            edits.clear()
            active.clear()
            continue
        seq = entry.get("seq")
        if not isinstance(seq, int):
            continue         # lines of older writers without a seq (notes, not edits)
        if action in ("undo", "redo"):
            target = undo_target(entry)
            if target in active:
                active[target] = action == "redo"
        elif action in COMMANDS:
            edits[seq] = entry
            active[seq] = True
    return [edits[s] for s in sorted(edits) if active[s]]


def read_log(lines: list[str]) -> LogFacts:
    """Read a curation log back into user decisions, epsilon overrides, the largest id and seq.

    Lines that are not JSON objects are counted in ``bad_lines`` and otherwise ignored, so a
    damaged log never prevents opening a session.
    """
    entries, bad = parse_log(lines)
    facts = LogFacts(bad_lines=bad)
    for entry in entries:
        facts.max_id = max(facts.max_id, _max_id(entry))
        seq = entry.get("seq")
        if isinstance(seq, int):
            facts.next_seq = max(facts.next_seq, seq + 1)
    for entry in active_edits(entries):
        COMMANDS[entry["action"]].note(entry, facts)
    return facts


def replay(session, lines: list[str]) -> int:
    """Do the edits of ``lines`` again on ``session``, in order; returns how many lines were done.

    Lines up to the last pipeline reset are about other components and are skipped; after it,
    each edit is rebuilt by its command class and undo/redo lines undo and redo, so the
    session ends in the state the log describes. Raises :class:`ReplayError` when a line does
    not fit the session's components.
    """
    entries, _ = parse_log(lines)
    start = 0
    for k, entry in enumerate(entries):
        if COMMANDS.get(entry.get("action")) is PipelineReset:
            start = k + 1
    done = 0
    for entry in entries[start:]:
        action = entry.get("action")
        if not isinstance(entry.get("seq"), int):
            continue
        if action == "undo":
            ok = session.undo()
        elif action == "redo":
            ok = session.redo()
        elif action in COMMANDS:
            COMMANDS[action].replay(session, entry)
            ok = True
        else:
            continue
        if not ok:
            raise ReplayError(f"seq {entry['seq']}: nothing to {action}")
        done += 1
    return done

"""The curation model: components with statuses and stable ids, user decisions, overrides, history.

It holds the current :class:`~cnmf_gui.session.history.CurationState` and does, undoes and redoes
:mod:`commands <cnmf_gui.session.commands>` on it, writing the log through its
:class:`~cnmf_gui.session.history.History`. Ids are never reused: ``next_id`` only grows, also
across pipeline runs (a log entry or an export of an earlier run must never name a different
neuron). It knows nothing about files, movies or Qt.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from cnmf_gui import results
from cnmf_gui.engine.redeconvolve import replace_rows
from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_ACCEPTED, STATUS_REJECTED, STATUS_UNDECIDED, Components
from cnmf_gui.session.commands import Command, PipelineReset, StatusCommand, read_log
from cnmf_gui.session.events import EventBus
from cnmf_gui.session.history import CurationState, History

STATUS_NAMES = dict(getattr(results, "STATUS_NAMES", None) or {
    STATUS_ACCEPTED: "accepted", STATUS_UNDECIDED: "undecided", STATUS_REJECTED: "rejected"})
#: Statuses the thresholds may not change (besides the user's own decisions).
KEPT_BY_THRESHOLDS = tuple(v for v in (getattr(results, "STATUS_INACTIVE", None),) if v is not None)
USER_VERBS = {STATUS_ACCEPTED: "Accept", STATUS_REJECTED: "Reject", STATUS_UNDECIDED: "Undecide"}


class Curation:
    """Components, statuses, ids, decisions and overrides with undo/redo.

    Parameters
    ----------
    events : EventBus
        Where ``status``, ``components``, ``traces``, ``log`` and ``history`` are emitted.
    on_change : callable(command, undone), optional
        Told after every do, undo and redo (the session marks itself unsaved there).
    """

    def __init__(self, events: EventBus, on_change: Callable | None = None):
        self.events = events
        self.on_change = on_change
        self.state: CurationState | None = None
        self.history = History([])
        self.next_id = 0
        self._index: dict[int, int] = {}

    # ------------------------------------------------------------------------------------------
    def load(self, components: Components | None, log: list[str]):
        """Start from ``components`` and the log that led to them; returns the log's facts."""
        facts = read_log(log)
        self.history = History(log, next_seq=facts.next_seq)
        self.state = None
        self.next_id = facts.max_id + 1
        if components is not None:
            ids = components.ids
            self.next_id = max(self.next_id, int(ids.max()) + 1 if ids.size else 0)
            alive = set(int(i) for i in ids)
            self.state = CurationState(components).with_changes(
                user_decided=facts.user_decided & alive,
                overrides={k: v for k, v in facts.overrides.items() if k in alive})
        self._reindex()
        return facts

    def reset(self, components: Components, *, motion: bool = False, provenance: dict | None = None
              ) -> tuple[Components, str]:
        """New components from a pipeline run: they get fresh ids and the log a reset line.

        ``provenance`` (where imported components came from) makes the line an import's.
        Returns the components with their ids and the line written.
        """
        first = self.next_id
        # with_ids also renumbers the ids that reasons and metrics refer to ("duplicate of N")
        components = components.with_ids(first + np.arange(components.n_components, dtype=np.int64))
        self.next_id = first + components.n_components
        n_accepted = int(np.sum(components.status == STATUS_ACCEPTED))
        command = PipelineReset(components.n_components, first, n_accepted, motion, provenance)
        line = self.history.push(command)
        self.state = CurationState(components)
        self._reindex()
        return components, line

    # ------------------------------------------------------------------------------------------
    @property
    def components(self) -> Components | None:
        return self.state.components if self.state is not None else None

    @property
    def ids(self) -> np.ndarray:
        return self.components.ids if self.state is not None else np.zeros(0, np.int64)

    def require(self) -> Components:
        if self.state is None:
            raise UserError("no components yet: run the pipeline or open a session first")
        return self.state.components

    def has(self, component_id) -> bool:
        return int(component_id) in self._index

    def index_of(self, component_id) -> int:
        return self._index[int(component_id)]

    def indices_of(self, ids) -> np.ndarray:
        return np.array([self._index[int(i)] for i in ids], dtype=np.intp)

    def check_ids(self, ids) -> list[int]:
        ids = [int(i) for i in ids]
        missing = [i for i in ids if not self.has(i)]
        if missing:
            raise UserError(f"no component with id {missing[0]}")
        return ids

    def _reindex(self) -> None:
        self._index = {int(i): k for k, i in enumerate(self.ids)}

    def status_of(self, component_id) -> int:
        return int(self.components.status[self.index_of(component_id)])

    def is_user_decided(self, component_id) -> bool:
        return self.state is not None and int(component_id) in self.state.user_decided

    def epsilon_override(self, component_id) -> float | None:
        return self.state.overrides.get(int(component_id)) if self.state is not None else None

    def has_edits(self) -> bool:
        """Whether the log holds curation of the current components (edits in effect)."""
        from cnmf_gui.session.commands import active_edits
        from cnmf_gui.session.history import parse_log
        return bool(active_edits(parse_log(self.history.log)[0]))

    def take_id(self) -> int:
        new_id = self.next_id
        self.next_id += 1
        return new_id

    # ------------------------------------------------------------------------------------------
    def do(self, command: Command) -> str:
        line = self.history.push(command)
        self._set(command.do(self), command, undone=False)
        self.events.emit("log", line)
        return line

    def undo(self) -> Command | None:
        done = self.history.undo()
        if done is None:
            return None
        command, line = done
        self._set(command.undo(self), command, undone=True)
        self.events.emit("log", line)
        return command

    def redo(self) -> Command | None:
        done = self.history.redo()
        if done is None:
            return None
        command, line = done
        self._set(command.do(self), command, undone=False)
        self.events.emit("log", line)
        return command

    def _set(self, state: CurationState, command: Command, *, undone: bool) -> None:
        self.state = state
        self._reindex()
        if self.on_change is not None:
            self.on_change(command, undone)
        if command.kind == "components":
            self.events.emit("components")
        else:
            self.events.emit(command.kind, command.ids)
        self.events.emit("history")

    # ------------------------------------------------------------------------------------------
    def set_status(self, ids, status: int) -> int:
        """The user sets the status of ``ids``; returns how many changed (0: nothing logged)."""
        comps = self.require()
        ids = list(dict.fromkeys(self.check_ids(ids)))
        if status not in USER_VERBS:
            raise UserError(f"status must be 1, 0 or -1, got {status!r}")
        if not ids:
            return 0
        rows = self.indices_of(ids)
        decided = set(self.state.user_decided)
        # Undecided by hand gives the component back to the thresholds.
        if status == STATUS_UNDECIDED:
            decided.difference_update(ids)
        else:
            decided.update(ids)
        changed = [i for i, r in zip(ids, rows) if comps.status[r] != status]
        if not changed and frozenset(decided) == self.state.user_decided:
            return 0
        # A user decision carries no automatic reason (the schema: empty for user decisions).
        new = dataclasses.replace(comps, status=replace_rows(comps.status, rows, status),
                                  reason=replace_rows(comps.reason, rows, ""))
        n = len(ids)
        self.do(StatusCommand(f"{USER_VERBS[status]} {n} component{'s' * (n != 1)}", self.state,
                              self.state.with_changes(components=new, user_decided=decided),
                              ids, [status] * n, source="user"))
        return len(changed)

    def set_statuses(self, ids, statuses, *, source: str, thresholds=None, reasons=None) -> int:
        """Statuses decided by a rule (not the user), with the rule's reasons when it gave them."""
        comps = self.require()
        ids = self.check_ids(ids)
        if not ids:
            return 0
        rows = self.indices_of(ids)
        new = dataclasses.replace(comps, status=replace_rows(comps.status, rows, np.asarray(statuses, np.int8)))
        if reasons is not None:
            new = dataclasses.replace(new, reason=replace_rows(comps.reason, rows,
                                                               np.asarray([str(r) for r in reasons], object)))
        self.do(StatusCommand(f"Thresholds changed {len(ids)} statuses", self.state,
                              self.state.with_changes(components=new), ids, statuses,
                              source=source, thresholds=thresholds, reasons=reasons))
        return len(ids)

    def apply_thresholds(self, evaluation, *, neuron_radius: float | None = None) -> tuple[int, int, int]:
        """Statuses from the evaluation rule for the components nobody decided by hand.

        The rule is the engine's :func:`~cnmf_gui.engine.evaluation.classify`, the one the
        pipeline used; the user's decisions (and statuses the rule does not own, such as
        inactive) are masked out. Returns (accepted, rejected, undecided) among the components
        the thresholds may change.
        """
        from cnmf_gui.engine.evaluation import classify
        comps = self.require()
        K = comps.n_components
        nan = np.full(K, np.nan)
        metrics = {k: np.asarray(comps.metrics.get(k, nan), float) for k in ("snr", "r_value", "area")}
        # the rule also reads duplicate_of, fragment_of, from_mean_image... when the pipeline made them
        for k, v in comps.metrics.items():
            if k not in metrics and np.shape(v) == (K,):
                metrics[k] = np.asarray(v, float)
        status, reasons = classify(metrics, evaluation, neuron_radius=neuron_radius, explain=True)
        free = np.array([int(i) not in self.state.user_decided for i in comps.ids], bool)
        if KEPT_BY_THRESHOLDS:
            free &= ~np.isin(comps.status, KEPT_BY_THRESHOLDS)
        counts = tuple(int(np.sum(free & (status == v)))
                       for v in (STATUS_ACCEPTED, STATUS_REJECTED, STATUS_UNDECIDED))
        change = free & (status != comps.status)
        if np.any(change):
            rule = evaluation.to_dict()
            if neuron_radius is not None:
                rule["neuron_radius"] = float(neuron_radius)
            self.set_statuses([int(i) for i in comps.ids[change]], [int(v) for v in status[change]],
                              source="threshold", thresholds=rule, reasons=[str(r) for r in reasons[change]])
        return counts

"""The curation action table: one row per thing a user can do to the curation.

Each :class:`Action` has an id, a title, a keyboard shortcut, ``enabled(session)`` and
``run(session, ids)``; the window's Edit menu, the curation panel's buttons, Help > Keyboard
shortcuts and the options of ``cnmf-gui curate`` are all built from :data:`ACTIONS`, so an enable
rule or a key is written once. ``ids`` is the command line's list; the window passes None, which
means the selection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from cnmf_gui.errors import UserError


@dataclass(frozen=True)
class Action:
    """One curation action.

    Attributes
    ----------
    id : str
    title : str
        Menu text; the button shows ``button`` when set.
    shortcut : str or None
        A QKeySequence string ("A", "Ctrl+Z").
    enabled : callable(session) -> bool
    run : callable(session, ids) -> object
    tip : str
    button : str
    cli : str or None
        The ``cnmf-gui curate`` option (``--reject``), which takes ids when ``cli_ids``.
    """

    id: str
    title: str
    shortcut: str | None
    enabled: Callable
    run: Callable
    tip: str = ""
    button: str = ""
    cli: str | None = None
    cli_ids: bool = True


def _has(s) -> bool:
    return s.components is not None


def _selected(s) -> bool:
    return s.components is not None and bool(s.selection)


def _need(s, ids, n: int = 1):
    if ids is None and len(s.selection) < n:
        raise UserError("select a component first" if n == 1 else f"select at least {n} components")
    return ids


ACTIONS: tuple[Action, ...] = (
    Action("undo", "Undo", "Ctrl+Z", lambda s: s.history.can_undo, lambda s, n=None: s.undo(),
           tip="Undo the last curation edit"),
    Action("redo", "Redo", "Ctrl+Shift+Z", lambda s: s.history.can_redo, lambda s, n=None: s.redo(),
           tip="Redo the last undone edit"),
    Action("accept", "Accept selected", "A", _selected, lambda s, ids=None: s.accept(_need(s, ids)),
           tip="Mark as a neuron (kept in exports)", button="Accept (A)", cli="--accept"),
    Action("reject", "Reject selected", "R", _selected, lambda s, ids=None: s.reject(_need(s, ids)),
           tip="Mark as not a neuron", button="Reject (R)", cli="--reject"),
    Action("undecide", "Mark selected undecided", "U", _selected,
           lambda s, ids=None: s.undecide(_need(s, ids)),
           tip="Hand back to the thresholds", button="Undecided (U)", cli="--undecide"),
    Action("merge", "Merge selected", "M", lambda s: _has(s) and len(s.selection) > 1,
           lambda s, ids=None: s.merge(_need(s, ids, 2)),
           tip="Refit the selected components as one, with a new id", button="Merge (M)", cli="--merge"),
    Action("split", "Split selected", "S", lambda s: _has(s) and len(s.selection) == 1,
           lambda s, ids=None: sum((s.split(i) for i in ids), []) if ids else s.split(_need(s, ids)),
           tip="Refit the selected component as two cells (rank-2 NMF on its footprint; Alt+click "
               "two points on the movie to say where they are), new ids", button="Split (S)", cli="--split"),
    Action("thresholds", "Apply thresholds", None, _has, lambda s, ids=None: s.apply_thresholds(),
           tip="Statuses from the evaluation thresholds for every component you have not decided",
           cli="--thresholds", cli_ids=False),
)

BY_ID = {a.id: a for a in ACTIONS}


def action(action_id: str) -> Action:
    return BY_ID[action_id]

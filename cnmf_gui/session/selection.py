"""The selection: which component ids the user is looking at (a part of the Session)."""

from __future__ import annotations


class Selection:
    """Selected component ids, in the order they were picked.

    Parameters
    ----------
    events : EventBus
        ``selection`` (ids) and ``preview`` (None, None: a preview of another component ends)
        are emitted here when the selection changes.
    has : callable(id) -> bool
        Whether an id exists now (unknown ids are never selected).
    """

    def __init__(self, events, has):
        self.events = events
        self.has = has
        self.ids: tuple = ()

    def set(self, ids, *, add: bool = False) -> None:
        """Select ``ids`` (``add`` toggles them in the current selection)."""
        ids = tuple(int(i) for i in ids if self.has(i))
        if add:
            current = list(self.ids)
            for i in ids:
                if i in current:
                    current.remove(i)
                else:
                    current.append(i)
            ids = tuple(current)
        if ids != self.ids:
            self.ids = ids
            self.events.emit("selection", ids)
            self.events.emit("preview", None, None)

    def prune(self) -> None:
        """Drop ids that no longer exist (after a merge or its undo)."""
        kept = tuple(i for i in self.ids if self.has(i))
        if kept != self.ids:
            self.ids = kept
            self.events.emit("selection", kept)

    def clear_silently(self) -> None:
        """Forget the selection without an event (the caller announces new data)."""
        self.ids = ()

"""Plain events without Qt: ``subscribe`` returns a handle that releases the subscription.

A view subscribes when it is built and releases its handles when it is closed, so a closed view
is never called again and never kept alive by the session. One subscriber that raises is logged
and the others still run: a bug in one view must not stop the table or the autosave from
hearing about an edit.
"""

from __future__ import annotations

import logging
from typing import Callable

log = logging.getLogger(__name__)

#: Events of a :class:`~cnmf_gui.session.Session` and their arguments.
EVENTS = {
    "data": "()          everything was replaced (a movie, a session or pipeline results opened)",
    "components": "()    the set of components changed (merge, undo of a merge)",
    "status": "(ids,)    statuses of these component ids changed",
    "traces": "(ids,)    traces of these ids changed (deconvolution rerun)",
    "selection": "(ids,) the selected ids, a tuple",
    "frame": "(t,)       the current frame index",
    "dirty": "(bool,)    unsaved changes appeared or were saved",
    "log": "(line,)      a line was appended to the curation log",
    "params": "(params,) the parameters changed",
    "history": "()       what undo/redo would do changed",
    "preview": "(id, res) a live deconvolution preview (res None clears it)",
    "motion": "()        the motion-correction result changed",
    "message": "(text,)  something to tell the user (status bar, log view)",
    "partial": "(data,)  a running job's partial result (components found so far)",
}


class Subscription:
    """Handle of one subscription; call it (or :meth:`release`) to stop receiving the event."""

    __slots__ = ("_bus", "event", "callback")

    def __init__(self, bus: "EventBus", event: str, callback: Callable):
        self._bus = bus
        self.event = event
        self.callback = callback

    @property
    def active(self) -> bool:
        return self._bus is not None

    def release(self) -> None:
        """Unsubscribe; safe to call twice."""
        if self._bus is not None:
            self._bus._remove(self)
            self._bus = None

    __call__ = release


class Subscriptions:
    """The handles a view holds, released together when the view closes.

    ``subs.add(session.subscribe(...))`` or ``subs.on(session, event, callback)``.
    """

    def __init__(self):
        self._handles: list[Subscription] = []

    def add(self, handle: Subscription) -> Subscription:
        self._handles.append(handle)
        return handle

    def on(self, source, event: str, callback: Callable) -> Subscription:
        return self.add(source.subscribe(event, callback))

    def release(self) -> None:
        for handle in self._handles:
            handle.release()
        self._handles.clear()

    def __len__(self) -> int:
        return sum(h.active for h in self._handles)


class EventBus:
    """Named events with ordered subscribers.

    Parameters
    ----------
    names : iterable of str
        The events that exist; subscribing to another name is a programming error.
    """

    def __init__(self, names=EVENTS):
        self._subscribers: dict[str, list[Subscription]] = {name: [] for name in names}

    def subscribe(self, event: str, callback: Callable) -> Subscription:
        """Call ``callback(*args)`` whenever ``event`` is emitted; returns the handle."""
        if event not in self._subscribers:
            raise ValueError(f"unknown session event {event!r}: expected one of "
                             f"{', '.join(self._subscribers)}")
        handle = Subscription(self, event, callback)
        self._subscribers[event].append(handle)
        return handle

    def _remove(self, handle: Subscription) -> None:
        subs = self._subscribers.get(handle.event, [])
        if handle in subs:
            subs.remove(handle)

    def count(self, event: str | None = None) -> int:
        """Live subscriptions (of one event, or of all)."""
        if event is not None:
            return len(self._subscribers[event])
        return sum(len(v) for v in self._subscribers.values())

    def emit(self, event: str, *args) -> None:
        """Call every subscriber of ``event``; a subscriber that raises is logged and skipped."""
        for handle in list(self._subscribers[event]):
            if handle._bus is None:      # released by an earlier subscriber of this same event
                continue
            try:
                handle.callback(*args)
            except Exception:  # noqa: BLE001 - one broken view must not silence the others
                log.exception("subscriber %r of session event %r failed", handle.callback, event)

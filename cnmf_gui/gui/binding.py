"""How a widget holds its session subscriptions: released together when the widget goes away.

Every view subscribes through ``self.subs.on(session, event, callback)``; the window releases
every view's handles when it shuts down (:func:`release_all`), so a closed view is never called
again and the session (which may outlive the window: scripts, tests) never keeps it alive.
(Releasing from the widget's ``destroyed`` signal is not safe: PyQt may call the slot while the
C++ object is half gone, which crashed in tests.)
"""

from __future__ import annotations

from cnmf_gui.session import Subscriptions


def subscriptions(widget) -> Subscriptions:
    """A :class:`~cnmf_gui.session.Subscriptions` for ``widget`` (released by :func:`release_all`)."""
    return Subscriptions()


def release_all(*widgets) -> None:
    """Release the subscriptions of these widgets (those that have any)."""
    for widget in widgets:
        subs = getattr(widget, "subs", None)
        if subs is not None:
            subs.release()

"""Event snippets of one component, as the window shows them (issue 17): the engine's crops of the
top events of S (:func:`~cnmf_gui.engine.snippets.event_snippets`), 1 s before to 2 s after each
event at the recording's frame rate, with the background model subtracted; only events whose
response is at least 3 noise standard deviations of the trace (the engine's ``MIN_EVENT_SNR``).

The result is cached per component and curation state, so flipping between components, or a
view and the triage queue asking for the same one, computes it once.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.snippets import MIN_EVENT_SNR  # noqa: F401  (the window says what is shown)
from cnmf_gui.errors import UserError

BEFORE_S = 1.0
AFTER_S = 2.0
#: frames per second assumed for the window when the frame rate is unknown (said in the title)
UNKNOWN_RATE_FRAMES = 30


def window_frames(session) -> tuple[int, int]:
    """(before, after) in frames: 1 s and 2 s, or 30 and 60 frames when the rate is unknown."""
    rate = session.frame_rate
    if not rate:
        return UNKNOWN_RATE_FRAMES, 2 * UNKNOWN_RATE_FRAMES
    return max(int(round(BEFORE_S * rate)), 1), max(int(round(AFTER_S * rate)), 1)


def event_snippets(session, component_id: int, n_events: int = 8):
    """The :class:`~cnmf_gui.engine.snippets.EventSnippets` of ``component_id``.

    Raises UserError when there is no movie to cut them from.
    """
    from cnmf_gui.engine.snippets import event_snippets as cut

    comps = session.curation.require()
    k = session.index_of(int(component_id))
    movie = session.frames.corrected_movie() if session.movie is not None else None
    if movie is None:
        raise UserError("event snippets need the movie: open the session with its movie")
    before, after = window_frames(session)
    # Kept while the components and the movie are the same objects (any edit makes a new state).
    cache = getattr(session, "snippet_cache", None)
    if cache is None or cache["state"] is not session.curation.state or cache["movie"] is not movie:
        cache = session.snippet_cache = {"state": session.curation.state, "movie": movie, "cuts": {}}
    key = (int(component_id), before, after, int(n_events))
    if key in cache["cuts"]:
        return cache["cuts"][key]
    bg = session.data.background if session.data is not None else None
    b = f = None
    if bg is not None and np.asarray(bg.b).size:
        b, f = np.asarray(bg.b), np.asarray(bg.f)
    g, sn = comps.g[k], float(comps.sn[k])    # imported results: g may be empty, sn NaN (no floor)
    result = cut(movie, comps.A[:, k], comps.S[k], before=before, after=after, n_events=n_events, b=b, f=f,
                 noise=sn, g=g)
    if len(cache["cuts"]) > 32:
        cache["cuts"].clear()
    cache["cuts"][key] = result
    return result


def contrast(session, component_id: int, n_events: int = 8) -> float:
    """In-footprint over outside response of the component's event-triggered average."""
    from cnmf_gui.engine.snippets import footprint_contrast

    return footprint_contrast(event_snippets(session, component_id, n_events))

"""The seed command: a missed cell fitted at a clicked point (issue 17).

The fit is the engine's (:func:`~cnmf_gui.engine.seeding.seed_component`: the new footprint
from the residual around the point, refitted jointly with the components overlapping it); the
new and refitted raw traces go through the one re-deconvolution path, their dF/F and metrics
through the same code as a merge, so a seeded component sorts and thresholds like any other.
Components that do not overlap are untouched; undo restores the refitted ones exactly.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_UNDECIDED
from cnmf_gui.session.commands import SeedCommand
from cnmf_gui.session.edits import edited, new_rows, one_thread
from cnmf_gui.session.neuron_movie import edit_inputs


def seed(session, row: int, col: int) -> int:
    """Fit a new component at (row, col) and select it; returns its id."""
    with one_thread():
        return _seed(session, row, col)


def _seed(session, row: int, col: int) -> int:
    """Fit a new component at (row, col) and select it; returns its id."""
    from cnmf_gui.engine.seeding import seed_component, typical_radius

    cur = session.curation
    comps = cur.require()
    inputs = edit_inputs(session)          # the ring model's background removed from the movie
    movie = inputs.movie
    if movie is None:
        raise UserError("seeding needs the movie: open the session with its movie")
    H, W = session.image_shape
    if not (0 <= row < H and 0 <= col < W):
        raise UserError(f"seed point {row},{col} is outside the {H}x{W} field of view")
    b, f = inputs.b, inputs.f
    radius = session.params.init.neuron_radius or typical_radius(comps.A)
    try:
        fit = seed_component(movie, comps.A, comps.F, (row, col), radius, b=b, f=f)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    rows = fit.overlapping
    raw = np.vstack([fit.overlap_traces, fit.trace[None]])
    feet = np.column_stack([fit.overlap_footprints, fit.footprint])
    eps = np.append(comps.epsilon[rows], session.params.deconvolution.epsilon)
    parts = new_rows(session, raw, feet, eps)
    new_id = cur.take_id()
    new = edited(comps, replace=dict(zip((int(r) for r in rows), parts[:-1])), append=parts[-1:],
                 new_ids=[new_id], status=STATUS_UNDECIDED)
    refitted = [int(i) for i in comps.ids[rows]]
    state = cur.state
    cur.do(SeedCommand(f"Seed component {new_id} at {row},{col}", state, state.with_changes(components=new),
                       (row, col), new_id, refitted))
    session.select([new_id])
    return new_id

"""The split command: one component that covers two cells replaced by two, with new ids (issue 17).

The fit is the engine's (:func:`~cnmf_gui.engine.splitting.split_component`: rank-2 NMF of the
component's data on its own support, seeded by two points or automatically); the two raw traces
go through the one re-deconvolution path, their dF/F and metrics through the same code as a
merge, so the parts sort and threshold like any other component. Nothing else changes; undo
brings the original back exactly.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_UNDECIDED
from cnmf_gui.session.commands import SplitCommand
from cnmf_gui.session.edits import edited, new_rows, one_thread
from cnmf_gui.session.neuron_movie import edit_inputs


def split(session, component_id, points=None) -> list[int]:
    """Split ``component_id`` in two (at ``points``: two (row, col), or automatically); returns the new ids."""
    with one_thread():
        return _split(session, component_id, points)


def _split(session, component_id, points=None) -> list[int]:
    """Split ``component_id`` in two (at ``points``: two (row, col), or automatically); returns the new ids."""
    from cnmf_gui.engine.splitting import split_component

    cur = session.curation
    comps = cur.require()
    if component_id is None:
        if len(session.selection) != 1:
            raise UserError("select one component to split")
        component_id = session.selection[0]
    component_id = cur.check_ids([component_id])[0]
    inputs = edit_inputs(session)          # the ring model's background removed from the movie
    movie = inputs.movie
    if movie is None:
        raise UserError("splitting needs the movie: open the session with its movie")
    if points is not None:
        points = np.asarray(points, int).reshape(-1, 2)
        if points.shape[0] != 2:
            raise UserError(f"a split needs two points, got {points.shape[0]}")
    b, f = inputs.b, inputs.f
    k = cur.index_of(component_id)
    try:
        fit = split_component(movie, comps.A, comps.F, k, seeds=points, b=b, f=f)
    except ValueError as exc:
        raise UserError(f"cannot split component {component_id}: {exc}") from None
    parts = new_rows(session, fit.traces, fit.footprints, comps.epsilon[k])
    new_ids = [cur.take_id(), cur.take_id()]
    new = edited(comps, drop=[k], append=parts, new_ids=new_ids, status=STATUS_UNDECIDED)
    state = cur.state
    decided = set(state.user_decided) - {component_id}
    overrides = {i: v for i, v in state.overrides.items() if i != component_id}
    cur.do(SplitCommand(f"Split component {component_id} into {new_ids[0]} and {new_ids[1]}", state,
                        state.with_changes(components=new, user_decided=decided, overrides=overrides),
                        component_id, new_ids, None if points is None else points.tolist(),
                        fit.seeds.tolist()))
    session.select(new_ids)
    return new_ids

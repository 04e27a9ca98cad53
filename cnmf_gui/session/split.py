"""The split command: one component that covers two cells replaced by two, with new ids (issue 17).

The fit is the engine's (:func:`~cnmf_gui.engine.splitting.split_component`: rank-2 NMF of the
component's data on its own support, seeded by two points or automatically); the two raw traces
go through the one re-deconvolution path, their dF/F and metrics through the same code as a
merge, so the parts sort and threshold like any other component. Nothing else changes; undo
brings the original back exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_UNDECIDED, Components
from cnmf_gui.session.commands import SplitCommand
from cnmf_gui.session.merge import merged_metrics


def new_rows(session, raw: np.ndarray, footprints: np.ndarray, epsilon) -> list[dict]:
    """Deconvolution, dF/F and metrics of new components, as the pipeline would give them.

    Parameters
    ----------
    session : Session
    raw : ndarray of shape (k, T)
        Raw traces F.
    footprints : ndarray of shape (H*W, k)
    epsilon : float or ndarray of shape (k,)

    Returns
    -------
    list of k dicts with the fields of one component (A column, C, S, F, dff, ...).
    """
    from cnmf_gui.engine.dff import compute_dff
    from cnmf_gui.engine.redeconvolve import redeconvolve_rows

    comps = session.components
    dp, ev = session.params.deconvolution, session.params.evaluation
    dec = redeconvolve_rows(raw, None, None, epsilon, dp)
    bg = session.data.background if session.data is not None else None
    out = []
    for j in range(raw.shape[0]):
        fp = sp.csc_matrix(footprints[:, j].reshape(-1, 1))
        under = None
        if bg is not None and np.asarray(bg.b).size:
            under = np.asarray(fp.T @ np.asarray(bg.b)) @ np.asarray(bg.f)
        dff = compute_dff(raw[j][None], frame_rate=session.frame_rate or 30.0, quantile=ev.dff_quantile,
                          window_s=ev.dff_window, background=under)[0]
        out.append(dict(A=fp, C=dec.c[j], S=dec.s[j], F=raw[j], dff=dff, baseline=dec.b[j], sn=dec.sn[j],
                        epsilon=dec.epsilon[j], lam=dec.lam[j],
                        g=np.resize(dec.g[j].reshape(1, -1), (1, comps.g.shape[1]))[0],
                        metrics=merged_metrics(session, fp, dec.c[j], float(dec.sn[j]))))
    return out


def replace_with(comps: Components, rows, parts: list[dict], new_ids, status) -> Components:
    """``comps`` without the columns ``rows``, with ``parts`` (from :func:`new_rows`) appended."""
    keep = np.setdiff1d(np.arange(comps.n_components), rows)

    def stack(name):
        arr = np.asarray(getattr(comps, name))
        return np.vstack([arr[keep]] + [np.asarray(p[name], arr.dtype).reshape(1, -1) for p in parts])

    def append(name):
        return np.append(np.asarray(getattr(comps, name), float)[keep], [p[name] for p in parts])

    return Components(
        A=sp.hstack([comps.A[:, keep]] + [p["A"] for p in parts]).tocsc(),
        C=stack("C"), S=stack("S"), F=stack("F"), dff=stack("dff"), g=stack("g"),
        baseline=append("baseline"), sn=append("sn"), epsilon=append("epsilon"), lam=append("lam"),
        status=np.append(comps.status[keep], [status] * len(parts)).astype(np.int8),
        ids=np.append(comps.ids[keep], new_ids),
        metrics={k: np.append(np.asarray(v, float)[keep], [p["metrics"].get(k, np.nan) for p in parts])
                 for k, v in comps.metrics.items()},
        reason=np.append(comps.reason[keep], [""] * len(parts)))


def split(session, component_id, points=None) -> list[int]:
    """Split ``component_id`` in two (at ``points``: two (row, col), or automatically); returns the new ids."""
    from cnmf_gui.engine.splitting import split_component

    cur = session.curation
    comps = cur.require()
    if component_id is None:
        if len(session.selection) != 1:
            raise UserError("select one component to split")
        component_id = session.selection[0]
    component_id = cur.check_ids([component_id])[0]
    movie = session.frames.corrected_movie() if session.movie is not None else None
    if movie is None:
        raise UserError("splitting needs the movie: open the session with its movie")
    if points is not None:
        points = np.asarray(points, int).reshape(-1, 2)
        if points.shape[0] != 2:
            raise UserError(f"a split needs two points, got {points.shape[0]}")
    bg = session.data.background if session.data is not None else None
    b = f = None
    if bg is not None and np.asarray(bg.b).size:
        b, f = np.asarray(bg.b), np.asarray(bg.f)
    k = cur.index_of(component_id)
    try:
        fit = split_component(movie, comps.A, comps.F, k, seeds=points, b=b, f=f)
    except ValueError as exc:
        raise UserError(f"cannot split component {component_id}: {exc}") from None
    parts = new_rows(session, fit.traces, fit.footprints, comps.epsilon[k])
    new_ids = [cur.take_id(), cur.take_id()]
    new = replace_with(comps, [k], parts, new_ids, STATUS_UNDECIDED)
    state = cur.state
    decided = set(state.user_decided) - {component_id}
    overrides = {i: v for i, v in state.overrides.items() if i != component_id}
    cur.do(SplitCommand(f"Split component {component_id} into {new_ids[0]} and {new_ids[1]}", state,
                        state.with_changes(components=new, user_decided=decided, overrides=overrides),
                        component_id, new_ids, None if points is None else points.tolist(),
                        fit.seeds.tolist()))
    session.select(new_ids)
    return new_ids

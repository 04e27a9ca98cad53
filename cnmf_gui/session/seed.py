"""The seed command: a missed cell fitted at a clicked point (issue 17).

The fit is the engine's (:func:`~cnmf_gui.engine.seeding.seed_component`: the new footprint
from the residual around the point, refitted jointly with the components overlapping it); the
new and refitted raw traces go through the one re-deconvolution path, their dF/F and metrics
through the same code as a merge, so a seeded component sorts and thresholds like any other.
Components that do not overlap are untouched; undo restores the refitted ones exactly.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_UNDECIDED, Components
from cnmf_gui.session.commands import SeedCommand
from cnmf_gui.session.merge import merged_metrics


def seed(session, row: int, col: int) -> int:
    """Fit a new component at (row, col) and select it; returns its id."""
    from cnmf_gui.engine.dff import compute_dff
    from cnmf_gui.engine.redeconvolve import redeconvolve_rows
    from cnmf_gui.engine.seeding import seed_component, typical_radius

    cur = session.curation
    comps = cur.require()
    movie = session.frames.corrected_movie() if session.movie is not None else None
    if movie is None:
        raise UserError("seeding needs the movie: open the session with its movie")
    H, W = session.image_shape
    if not (0 <= row < H and 0 <= col < W):
        raise UserError(f"seed point {row},{col} is outside the {H}x{W} field of view")
    bg = session.data.background if session.data is not None else None
    b = f = None
    if bg is not None and np.asarray(bg.b).size:
        b, f = np.asarray(bg.b), np.asarray(bg.f)
    radius = session.params.init.neuron_radius or typical_radius(comps.A)
    try:
        fit = seed_component(movie, comps.A, comps.F, (row, col), radius, b=b, f=f)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    rows = fit.overlapping
    raw = np.vstack([fit.overlap_traces, fit.trace[None]])
    feet = np.column_stack([fit.overlap_footprints, fit.footprint])
    dp = session.params.deconvolution
    eps = np.append(comps.epsilon[rows], dp.epsilon)
    dec = redeconvolve_rows(raw, None, None, eps, dp)
    ev = session.params.evaluation
    new_id = cur.take_id()
    A = comps.A.tolil(copy=True)
    C, S, F, dff = (np.array(x, copy=True) for x in (comps.C, comps.S, comps.F, comps.dff))
    base, sn, epsilon, lam = (np.array(x, float, copy=True) for x in (comps.baseline, comps.sn, comps.epsilon, comps.lam))
    g = np.array(comps.g, copy=True)
    metrics = {k: np.asarray(v, float).copy() for k, v in comps.metrics.items()}
    new_rows = {}
    for j in range(raw.shape[0]):
        fp = sp.csc_matrix(feet[:, j].reshape(-1, 1))
        under = None if b is None else np.asarray(fp.T @ b) @ f
        d = compute_dff(raw[j][None], frame_rate=session.frame_rate or 30.0, quantile=ev.dff_quantile,
                        window_s=ev.dff_window, background=under)[0]
        vals = merged_metrics(session, fp, dec.c[j], float(dec.sn[j]))
        gj = np.resize(dec.g[j].reshape(1, -1), (1, comps.g.shape[1]))[0]
        new_rows[j] = (fp, d, vals, gj)
    for j, r in enumerate(rows):
        fp, d, vals, gj = new_rows[j]
        A[:, r] = fp
        C[r], S[r], F[r], dff[r] = dec.c[j], dec.s[j], raw[j], d
        base[r], sn[r], epsilon[r], lam[r], g[r] = dec.b[j], dec.sn[j], dec.epsilon[j], dec.lam[j], gj
        for k in metrics:
            metrics[k][r] = vals.get(k, np.nan)
    fp, d, vals, gj = new_rows[raw.shape[0] - 1]
    j = raw.shape[0] - 1

    def add(arr, row):
        return np.vstack([arr, np.asarray(row, dtype=arr.dtype).reshape(1, -1)])

    new = Components(
        A=sp.hstack([A.tocsc(), fp]).tocsc(), C=add(C, dec.c[j]), S=add(S, dec.s[j]), F=add(F, raw[j]),
        dff=add(dff, d), baseline=np.append(base, dec.b[j]), sn=np.append(sn, dec.sn[j]),
        epsilon=np.append(epsilon, dec.epsilon[j]), g=np.vstack([g, gj]),
        status=np.append(comps.status, STATUS_UNDECIDED).astype(np.int8),
        ids=np.append(comps.ids, new_id),
        metrics={k: np.append(v, vals.get(k, np.nan)) for k, v in metrics.items()},
        lam=np.append(lam, dec.lam[j]), reason=np.append(comps.reason, ""))
    refitted = [int(i) for i in comps.ids[rows]]
    state = cur.state
    cur.do(SeedCommand(f"Seed component {new_id} at {row},{col}", state, state.with_changes(components=new),
                       (row, col), new_id, refitted))
    session.select([new_id])
    return new_id

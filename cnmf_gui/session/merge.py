"""The merge command: components replaced by a rank-1 refit of their union, with a new id.

Everything numeric is the engine's and the same as in the pipeline: the refit
(:func:`~cnmf_gui.engine.merging.merge_refit`), the deconvolution of the new trace (the one
re-deconvolution path), its dF/F with the background under the footprint, and its metrics
(:func:`~cnmf_gui.engine.evaluation.evaluate`: SNR, r_value, area, compactness), so a merged
component sorts and thresholds like any other.

References
----------
Pnevmatikakis et al., "Simultaneous denoising, deconvolution, and demixing of calcium imaging
data", Neuron 89(2), 2016 (merging of overlapping, correlated components).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_ACCEPTED, STATUS_UNDECIDED, Components
from cnmf_gui.session.commands import MergeCommand
from cnmf_gui.session.neuron_movie import background_under, edit_inputs


def _jsonable(value):
    value = np.asarray(value).item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def merged_metrics(session, footprint: sp.csc_matrix, c: np.ndarray, sn: float) -> dict:
    """Metrics of one new component by the evaluation code; r_value needs the movie (NaN without)."""
    from cnmf_gui.engine.evaluation import evaluate, trace_snr
    from cnmf_gui.engine.footprints import areas, compactness

    inputs = edit_inputs(session)          # the ring model's background removed from the movie
    if inputs.movie is not None and inputs.mean is not None:
        metrics, _ = evaluate(inputs.movie, footprint, c[None], np.array([sn]), inputs.mean,
                              session.params.evaluation, b=inputs.b, f=inputs.f,
                              chunk_frames=session.params.cnmf.chunk_frames,
                              neuron_radius=session.params.init.neuron_radius)
        return {k: float(np.asarray(v)[0]) for k, v in metrics.items()}
    return {"snr": float(trace_snr(c[None], np.array([sn]))[0]), "r_value": np.nan,
            "area": float(areas(footprint)[0]),
            "compactness": float(compactness(footprint, session.image_shape)[0])}


def merge(session, ids) -> int:
    """Merge ``ids`` into one new component (see the module); returns its id."""
    from cnmf_gui.engine.dff import compute_dff
    from cnmf_gui.engine.merging import merge_refit
    from cnmf_gui.engine.redeconvolve import redeconvolve_rows

    cur = session.curation
    comps = cur.require()
    ids = list(dict.fromkeys(cur.check_ids(ids)))
    if len(ids) < 2:
        raise UserError("select at least two components to merge")
    rows = cur.indices_of(ids)
    # Refit the data the originals explain, noise included (F = C + residual), so the new raw
    # trace F is the refit trace and its deconvolution gives C and S like any other.
    footprint, raw = merge_refit(comps.A[:, rows].tocsc(), comps.C[rows],
                                 residual=comps.F[rows] - comps.C[rows])
    footprint = sp.csc_matrix(np.asarray(footprint, float).reshape(-1, 1))
    raw = np.asarray(raw, float).ravel()
    dp = session.params.deconvolution
    dec = redeconvolve_rows(raw[None], None, None, dp.epsilon, dp)
    ev = session.params.evaluation
    under = background_under(session, footprint, raw.size)
    dff = compute_dff(raw[None], frame_rate=session.frame_rate or 30.0, quantile=ev.dff_quantile,
                      window_s=ev.dff_window, background=under)
    values = merged_metrics(session, footprint, dec.c[0], float(dec.sn[0]))
    new_id = cur.take_id()
    keep = np.setdiff1d(np.arange(comps.n_components), rows)
    status = STATUS_ACCEPTED if np.all(comps.status[rows] == STATUS_ACCEPTED) else STATUS_UNDECIDED
    metrics = {key: np.append(np.asarray(v)[keep].astype(float), values.get(key, np.nan))
               for key, v in comps.metrics.items()}
    g_new = np.resize(dec.g.reshape(1, -1), (1, comps.g.shape[1]))

    def stack(arr, row):
        return np.vstack([np.asarray(arr)[keep], np.asarray(row, dtype=np.asarray(arr).dtype).reshape(1, -1)])

    new = Components(
        A=sp.hstack([comps.A[:, keep], footprint]).tocsc(),
        C=stack(comps.C, dec.c), S=stack(comps.S, dec.s), F=stack(comps.F, raw), dff=stack(comps.dff, dff),
        baseline=np.append(comps.baseline[keep], dec.b), sn=np.append(comps.sn[keep], dec.sn),
        epsilon=np.append(comps.epsilon[keep], dec.epsilon), g=np.vstack([comps.g[keep], g_new]),
        status=np.append(comps.status[keep], status).astype(np.int8),
        ids=np.append(comps.ids[keep], new_id), metrics=metrics, lam=np.append(comps.lam[keep], dec.lam))
    state = cur.state
    decided = set(state.user_decided) - set(ids)
    overrides = {k: v for k, v in state.overrides.items() if k not in ids}
    originals = [{"id": i, "status": int(comps.status[r]),
                  **{k: _jsonable(np.asarray(v)[r]) for k, v in comps.metrics.items()}}
                 for i, r in zip(ids, rows)]
    cur.do(MergeCommand(f"Merge {len(ids)} components into {new_id}", state,
                        state.with_changes(components=new, user_decided=decided, overrides=overrides),
                        ids, new_id, originals))
    return new_id

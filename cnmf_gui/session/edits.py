"""New components for an edit that adds, replaces or removes a few of them (seed, split).

The new component rows come from :func:`new_rows` (deconvolution, dF/F and metrics as the
pipeline gives them); :func:`edited` builds the next :class:`~cnmf_gui.results.Components` with
each (K, T) array written once. On 500 components of 3,000 frames, copying then stacking them
(and a LIL round trip of A) took 6 s of a seed; the edit must stay well under a second.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.results import Components
from cnmf_gui.session.merge import merged_metrics
from cnmf_gui.session.neuron_movie import background_under, edit_inputs

_TRACES = ("C", "S", "F", "dff")


def one_thread():
    """BLAS on one thread for the duration of an edit: its matrices are a few hundred pixels by T,
    too small to gain from threads, and on a busy 2-core machine (load 18) the threads fought
    for the cores: seed 1.7 s with them, 0.5 s without (benchmarks/gui.py --seed-split)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)
_SCALARS = ("baseline", "sn", "epsilon", "lam")


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
    metrics = local_metrics(session, footprints, dec.c, dec.sn)
    out = []
    for j in range(raw.shape[0]):
        fp = sp.csc_matrix(footprints[:, j].reshape(-1, 1))
        under = background_under(session, fp, raw.shape[1])
        dff = compute_dff(raw[j][None], frame_rate=session.frame_rate or 30.0, quantile=ev.dff_quantile,
                          window_s=ev.dff_window, background=under)[0]
        out.append(dict(A=fp, C=dec.c[j], S=dec.s[j], F=raw[j], dff=dff, baseline=dec.b[j], sn=dec.sn[j],
                        epsilon=dec.epsilon[j], lam=dec.lam[j],
                        g=np.resize(dec.g[j].reshape(1, -1), (1, comps.g.shape[1]))[0],
                        metrics=metrics[j] if metrics is not None else
                        merged_metrics(session, fp, dec.c[j], float(dec.sn[j]))))
    return out


def local_metrics(session, footprints: np.ndarray, C: np.ndarray, sn: np.ndarray, margin: int = 4):
    """The evaluation's metrics of new components from the movie around them only.

    :func:`~cnmf_gui.engine.evaluation.evaluate` streams whole frames; on a 512 x 512 x 3,000
    movie that is 1.5 GB per call, seconds per seeded or split cell. The footprints' bounding box
    (grown by the r_value margin and one pixel) holds everything it reads, so it runs on that
    window, read once; the values are the same. None when there is no movie or summary (the
    caller falls back to the trace-only metrics).

    Returns
    -------
    list of k dicts, or None
    """
    from cnmf_gui.engine.evaluation import evaluate
    from cnmf_gui.engine.movie_window import read_window

    inputs = edit_inputs(session)          # the ring model's background removed from the movie
    movie = inputs.movie
    if movie is None or inputs.mean is None:
        return None
    H, W = session.image_shape
    rows, cols = np.divmod(np.flatnonzero(np.any(footprints > 0, axis=1)), W)
    if rows.size == 0:
        return None
    r0, r1 = max(rows.min() - margin, 0), min(rows.max() + 1 + margin, H)
    c0, c1 = max(cols.min() - margin, 0), min(cols.max() + 1 + margin, W)
    idx = (np.arange(r0, r1)[:, None] * W + np.arange(c0, c1)[None]).ravel()
    window = read_window(movie, (0, movie.shape[0]), (r0, r1), (c0, c1))
    b = None if inputs.b is None else inputs.b[idx]
    f = inputs.f
    values, _ = evaluate(window, sp.csc_matrix(footprints[idx]), np.atleast_2d(C), np.asarray(sn, float),
                         inputs.mean[r0:r1, c0:c1], session.params.evaluation, b=b, f=f,
                         chunk_frames=session.params.cnmf.chunk_frames,
                         neuron_radius=session.params.init.neuron_radius)
    return [{k: float(np.asarray(v)[j]) for k, v in values.items()} for j in range(footprints.shape[1])]


def _columns(A: sp.csc_matrix, order: list) -> sp.csc_matrix:
    """A CSC matrix whose columns are ``order``: an int (that column of ``A``) or a sparse column."""
    indices, data, indptr = [], [], [0]
    for item in order:
        if isinstance(item, (int, np.integer)):
            lo, hi = A.indptr[item], A.indptr[item + 1]
            ind, val = A.indices[lo:hi], A.data[lo:hi]
        else:
            col = sp.csc_matrix(item)
            col.eliminate_zeros()
            ind, val = col.indices, col.data
        indices.append(ind)
        data.append(val)
        indptr.append(indptr[-1] + len(ind))
    return sp.csc_matrix((np.concatenate(data) if data else np.zeros(0),
                          np.concatenate(indices) if indices else np.zeros(0, np.int32), np.asarray(indptr)),
                         shape=(A.shape[0], len(order)))


def edited(comps: Components, *, replace: dict | None = None, drop=(), append=(), new_ids=(),
           status: int = 0) -> Components:
    """``comps`` with rows replaced (row -> part), rows dropped, and parts appended with ``new_ids``.

    Replaced rows keep their id, status and reason; appended ones get ``status`` and no reason.
    Parts are dicts from :func:`new_rows`.
    """
    replace = replace or {}
    K = comps.n_components
    keep = np.setdiff1d(np.arange(K), np.asarray(drop, int))
    position = {int(r): i for i, r in enumerate(keep)}
    n = len(keep) + len(append)

    def rows(name, arr):
        arr = np.asarray(arr)
        out = np.empty((n,) + arr.shape[1:], arr.dtype)
        np.take(arr, keep, axis=0, out=out[:len(keep)])
        for r, part in replace.items():
            out[position[int(r)]] = part[name]
        for j, part in enumerate(append):
            out[len(keep) + j] = part[name]
        return out

    values = {name: rows(name, getattr(comps, name)) for name in _TRACES + _SCALARS + ("g",)}
    metrics = {}
    for key, v in comps.metrics.items():
        col = np.empty(n)
        col[:len(keep)] = np.asarray(v, float)[keep]
        for r, part in replace.items():
            col[position[int(r)]] = part["metrics"].get(key, np.nan)
        for j, part in enumerate(append):
            col[len(keep) + j] = part["metrics"].get(key, np.nan)
        metrics[key] = col
    order = [replace[int(r)]["A"] if int(r) in replace else int(r) for r in keep] + [p["A"] for p in append]
    return Components(A=_columns(sp.csc_matrix(comps.A), order), metrics=metrics,
                      status=np.append(comps.status[keep], [status] * len(append)).astype(np.int8),
                      ids=np.append(comps.ids[keep], np.asarray(new_ids, np.int64)),
                      reason=np.append(comps.reason[keep], [""] * len(append)), **values)

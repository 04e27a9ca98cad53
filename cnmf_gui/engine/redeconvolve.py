"""Re-running the deconvolution of chosen traces with a new noise constraint (the one path).

The raw traces F stay as they are (they are data); the denoised traces C, the activity S and
the deconvolution's by-products (baseline, lambda, epsilon) are replaced and the trace SNR is
recomputed by the evaluation's own :func:`~cnmf_gui.engine.evaluation.trace_snr`. Each trace
keeps its noise level and, when the model order is unchanged, its kinetics, so only epsilon
changes the answer. The window, ``cnmf-gui curate --epsilon`` and a merge's new trace all go
through :func:`redeconvolve_rows` and :func:`apply_rows`.

References
----------
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299 (the noise-constrained problem).
Friedrich J., Zhou P. & Paninski L. (2017) PLoS Comput Biol 13(3):e1005423.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from cnmf_gui.engine.evaluation import trace_snr
from cnmf_gui.errors import ParameterError
from cnmf_gui.results import Components


@dataclass
class Redeconvolved:
    """New deconvolution results of k traces.

    Attributes
    ----------
    c, s : ndarray of shape (k, T)
    b, sn, epsilon, lam, snr : ndarray of shape (k,)
    g : ndarray of shape (k, p)
    """

    c: np.ndarray
    s: np.ndarray
    b: np.ndarray
    sn: np.ndarray
    epsilon: np.ndarray
    lam: np.ndarray
    g: np.ndarray
    snr: np.ndarray


def redeconvolve_rows(F, sn, g, epsilon, deconv, *, progress=None) -> Redeconvolved:
    """Deconvolve k raw traces again.

    Parameters
    ----------
    F : ndarray of shape (k, T)
        Raw traces.
    sn : ndarray of shape (k,) or None
        Their noise levels (kept when all are positive; estimated otherwise).
    g : ndarray of shape (k, p_old) or None
        Their AR coefficients, kept when the order is still ``deconv.p`` and none is all zero;
        re-estimated otherwise.
    epsilon : float or ndarray of shape (k,)
        Relaxation of the noise constraint per trace.
    deconv : DeconvParams
        Model order, s_min, baseline, solver.
    progress : Progress, optional

    Returns
    -------
    Redeconvolved
    """
    from cnmf_gui.engine.deconvolution import deconvolve_many

    F = np.atleast_2d(np.asarray(F, float))
    k = F.shape[0]
    eps = np.broadcast_to(np.asarray(epsilon, float), (k,)).copy()
    if not np.all(eps > -1):
        raise ParameterError(f"parameter epsilon = {eps[~(eps > -1)][0]} is out of range: expected (-1, 10]")
    p = deconv.p
    if g is not None:
        g = np.asarray(g, float).reshape(k, -1)
        if not (g.shape[1] == p and p > 0 and np.all(np.any(g != 0, axis=1))):
            g = None
    if sn is not None:
        sn = np.asarray(sn, float).reshape(k)
        if not np.all(sn > 0):
            sn = None
    # The order rule of the CNMF temporal update: p = 2 with auto_order is AR(1) or AR(2) per
    # trace (g kept as (k, 2), g[:, 1] = 0 for AR(1)).
    order = "auto" if p == 2 and getattr(deconv, "auto_order", False) else p
    res = deconvolve_many(F, p=order, g=g, sn=sn, epsilon=eps, s_min=deconv.s_min, method=deconv.method,
                          baseline=deconv.baseline, progress=progress,
                          refine_g=bool(getattr(deconv, "refine_g", False)) and g is None)
    c = np.asarray(res.c, float)
    new_sn = np.asarray(res.sn, float)
    g_new = np.zeros((k, p))
    got = np.asarray(res.g, float).reshape(k, -1)
    g_new[:, :min(p, got.shape[1])] = got[:, :p]
    return Redeconvolved(c=c, s=np.asarray(res.s, float), b=np.asarray(res.b, float), sn=new_sn,
                         epsilon=np.asarray(res.epsilon, float), lam=np.asarray(res.lam, float),
                         g=g_new, snr=trace_snr(c, new_sn))


def replace_rows(arr, rows, values):
    """A new array: ``arr`` with ``rows`` replaced (``arr`` itself is never changed)."""
    arr = np.asarray(arr)
    values = np.asarray(values)
    if len(rows) == len(arr) and np.array_equal(rows, np.arange(len(arr))) and values.shape == arr.shape:
        return values.astype(arr.dtype, copy=False)   # every row: no copy of the old array
    out = arr.copy()
    out[rows] = values
    return out


def apply_rows(components: Components, rows, update: Redeconvolved) -> Components:
    """A new Components with ``rows`` (positions) taken from ``update``; the input is unchanged.

    When the model order changed, every component's ``g`` gets the new width (the old
    coefficients where they fit, zeros beyond).
    """
    rows = np.asarray(rows, np.intp)
    g_all = np.asarray(components.g, float)
    p = update.g.shape[1]
    if g_all.shape[1] != p:
        widened = np.zeros((components.n_components, p))
        width = min(p, g_all.shape[1])
        widened[:, :width] = g_all[:, :width]
        g_all = widened
    metrics = dict(components.metrics)
    if "snr" in metrics:
        metrics["snr"] = replace_rows(np.asarray(metrics["snr"], float), rows, update.snr)
    return dataclasses.replace(
        components, C=replace_rows(components.C, rows, update.c), S=replace_rows(components.S, rows, update.s),
        baseline=replace_rows(components.baseline, rows, update.b),
        sn=replace_rows(components.sn, rows, update.sn),
        epsilon=replace_rows(components.epsilon, rows, update.epsilon),
        g=replace_rows(g_all, rows, update.g), lam=replace_rows(components.lam, rows, update.lam),
        metrics=metrics)


def redeconvolve(components: Components, indices, deconv, *, epsilon=None, progress=None) -> Components:
    """A copy of ``components`` with the traces at ``indices`` (positions) deconvolved again.

    ``epsilon`` (a float or one per index) defaults to ``deconv.epsilon``.
    """
    idx = np.asarray(list(indices), dtype=np.intp)
    K = components.n_components
    if idx.size and (idx.min() < 0 or idx.max() >= K):
        raise ParameterError(f"component positions must be in 0..{K - 1}")
    if idx.size == 0:
        return dataclasses.replace(components)
    eps = deconv.epsilon if epsilon is None else epsilon
    update = redeconvolve_rows(np.asarray(components.F)[idx], np.asarray(components.sn)[idx],
                               np.asarray(components.g)[idx], eps, deconv, progress=progress)
    return apply_rows(components, idx, update)

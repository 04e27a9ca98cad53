"""The alternating CNMF updates on one field of view: spatial, temporal, merge, repeat.

Starting from an initialisation, each pass updates the footprints and spatial background
(:mod:`.spatial`), then the traces, their deconvolution and the temporal background
(:mod:`.temporal`), then merges components that are one neuron (:mod:`.merging`) and removes
empty ones. Every update reads the movie once, in chunks, through sufficient statistics.

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.background import LowRankBackground
from cnmf_gui.engine.merging import find_merge_groups, merge_refit
from cnmf_gui.engine.spatial import (clean_footprints, dilate_supports, pixel_statistics, restrict,
                                     update_spatial)
from cnmf_gui.engine.streaming import movie_shape
from cnmf_gui.engine.temporal import TemporalResult, trace_statistics, update_temporal
from cnmf_gui.progress import SubProgress, checkpoint

log = logging.getLogger("cnmf_gui.engine")


@dataclass
class FitResult:
    """Footprints, traces and background after the alternating updates.

    Attributes
    ----------
    A : csc_matrix of shape (H*W, K), unit-norm columns
    temporal : TemporalResult
        C, S, F, baseline, sn, g, lam, epsilon (per component) and f (nb, T).
    b : ndarray of shape (H*W, nb)
    n_merged : int
        Components removed by merging.
    background : BackgroundModel
        The background behind the :mod:`cnmf_gui.engine.background` interface: a
        ``LowRankBackground(b, temporal.f)`` or a ``RingBackground`` (then b is (H*W, 0)).
    """

    A: sp.csc_matrix
    temporal: TemporalResult
    b: np.ndarray
    n_merged: int = 0
    background: object = None


def _temporal_pass(movie, A, b, C, f, deconv, chunk_frames, progress):
    AtY, btY = trace_statistics(movie, A, b, chunk_frames=chunk_frames,
                                progress=SubProgress(progress, 0.0, 0.5))
    AtA = (A.T @ A).tocsr()
    Atb = np.asarray(A.T @ b)
    return update_temporal(AtY, AtA, Atb, C, btY, b.T @ b, f, deconv,
                           progress=SubProgress(progress, 0.5, 1.0))


def _drop_empty(A, tr: TemporalResult, keep_mask):
    if np.all(keep_mask):
        return A, tr
    idx = np.nonzero(keep_mask)[0]
    fields = {name: getattr(tr, name)[idx] for name in
              ("C", "S", "F", "baseline", "sn", "g", "lam", "epsilon")}
    return A[:, idx], TemporalResult(f=tr.f, **fields)


def fit_cnmf(movie, A: sp.csc_matrix, C: np.ndarray, f: np.ndarray, params, *,
             b: np.ndarray | None = None, n_iterations: int | None = None,
             progress=None) -> FitResult:
    """Alternate spatial and temporal updates, merging and pruning, on one field of view.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    A : csc_matrix of shape (H*W, K)
        Initial footprints.
    C : ndarray of shape (K, T)
        Initial traces.
    f : ndarray of shape (nb, T)
        Initial temporal background.
    params : PipelineParams
        ``init.neuron_radius`` (0: the initial footprints' size), ``cnmf.*`` and
        ``deconvolution.*`` are used.
    b : ndarray of shape (H*W, nb), optional
        Initial spatial background (default: estimated in the first spatial update).
    n_iterations : int, optional
        Passes (default ``params.cnmf.n_iterations``).
    progress : Progress, optional

    Returns
    -------
    FitResult
    """
    T, H, W = movie_shape(movie)
    P = H * W
    cp = params.cnmf
    if cp.background_model == "ring":   # one-photon (CNMF-E): f is not used
        from cnmf_gui.engine.onephoton.fit import fit_cnmf_ring
        return fit_cnmf_ring(movie, A, C, params, n_iterations=n_iterations, progress=progress)
    chunk = cp.chunk_frames
    radius = cp.dilation_radius * _soma_radius(A, params)
    n_iter = cp.n_iterations if n_iterations is None else n_iterations
    nb = f.shape[0]
    b = np.zeros((P, nb)) if b is None else np.asarray(b, float)
    A = sp.csc_matrix(A, dtype=float)
    C = np.asarray(C, float)
    n_merged = 0
    tr = None
    steps = 2 * n_iter + 1
    for it in range(n_iter):
        base = 2 * it / steps
        # ---- footprints and spatial background
        masks = dilate_supports(A, (H, W), radius)
        A_vals = restrict(A, masks)
        U, Ub = pixel_statistics(movie, C, f, masks, chunk_frames=chunk,
                                 progress=SubProgress(progress, base, base + 0.5 / steps, "spatial update"))
        A, b = update_spatial(A_vals, masks, b, C, f, U, Ub)
        A, norms, keep = clean_footprints(A, (H, W))
        C = C[keep] * norms[:, None]
        if A.shape[1] == 0:
            break
        # ---- traces, deconvolution and temporal background
        C_old = C
        tr = _temporal_pass(movie, A, b, C, f, params.deconvolution, chunk,
                            SubProgress(progress, base + 0.5 / steps, base + 2 / steps, "temporal update"))
        A, tr = _drop_empty(A, tr, tr.C.max(axis=1) > 0)
        C, f = tr.C, tr.f
        if A.shape[1] == 0:
            break
        change = (np.linalg.norm(C - C_old[: len(C)]) / max(np.linalg.norm(C_old), 1e-300)
                  if C.shape == C_old.shape else np.inf)
        # ---- merging (after the last pass too: merged traces then get one more temporal update)
        groups = find_merge_groups(A, C, cp.merge_threshold, cp.merge_overlap)
        if groups:
            A, C = _merge(A, C, tr.F - tr.C, groups)
            n_merged += sum(len(g) - 1 for g in groups)
            change = np.inf
        if change < cp.tolerance:
            break
        checkpoint(progress, 2 * (it + 1) / steps, f"cnmf: pass {it + 1}/{n_iter}, {A.shape[1]} components")
    if tr is None or A.shape[1] == 0 or tr.C.shape[0] != A.shape[1]:
        if A.shape[1] == 0:
            return FitResult(A=sp.csc_matrix((P, 0)), temporal=_empty_temporal(T, f, params), b=b,
                             n_merged=n_merged, background=LowRankBackground(b, f, (H, W)))
        tr = _temporal_pass(movie, A, b, C, f, params.deconvolution, chunk,
                            SubProgress(progress, 1 - 1 / steps, 1.0, "temporal update"))
        A, tr = _drop_empty(A, tr, tr.C.max(axis=1) > 0)
    checkpoint(progress, 1.0, f"cnmf: {A.shape[1]} components")
    return FitResult(A=sp.csc_matrix(A), temporal=tr, b=b, n_merged=n_merged,
                     background=LowRankBackground(b, tr.f, (H, W)))


def _soma_radius(A: sp.spmatrix, params) -> float:
    """``init.neuron_radius``, or when it is 0 (not estimated yet) the median radius of the discs
    with the initial footprints' areas."""
    if params.init.neuron_radius > 0:
        return float(params.init.neuron_radius)
    from cnmf_gui.engine.footprints import areas
    area = areas(A)
    area = area[area > 0]
    return float(np.sqrt(np.median(area) / np.pi)) if len(area) else 1.0


def _empty_temporal(T, f, params) -> TemporalResult:
    z = np.zeros((0, T))
    e = np.zeros(0)
    return TemporalResult(C=z, S=z.copy(), F=z.copy(), baseline=e, sn=e.copy(),
                          g=np.zeros((0, params.deconvolution.p)), lam=e.copy(), epsilon=e.copy(), f=f)


def _merge(A, C, residual, groups):
    """Replace each group by its rank-1 refit; the merged components go last."""
    merged = np.zeros(A.shape[1], bool)
    new_a, new_c = [], []
    for g in groups:
        a, c = merge_refit(A[:, g], C[g], residual=residual[g])
        merged[g] = True
        if np.any(a > 0):
            new_a.append(a)
            new_c.append(c)
    rest = np.nonzero(~merged)[0]
    A_out = A[:, rest]
    C_out = C[rest]
    if new_a:
        A_out = sp.hstack([A_out, sp.csc_matrix(np.column_stack(new_a))]).tocsc()
        C_out = np.vstack([C_out, np.asarray(new_c)])
    A_out.eliminate_zeros()
    return A_out, C_out

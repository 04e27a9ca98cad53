"""The alternating CNMF-E updates: ring background, traces, footprints, merging, repeat.

Each pass (Zhou et al. 2018):

1. the ring background from the residual ``Y - A C`` (one streaming pass accumulating each
   coarse pixel's ring statistics; b0 is the residual's mean),
2. the traces and their deconvolution from ``Y - B`` (one pass),
3. the footprints from ``Y - B`` by the same HALS as two-photon CNMF, without a low-rank
   background (one pass), then merging of components that are one neuron.

``Y - B`` is never stored: :class:`cnmf_gui.engine.background.SubtractedMovie` renders the
background chunk by chunk from the frames and the current ``A C``.

References
----------
Zhou P. et al. (2018) eLife 7:e28728.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.background import RingBackground, SubtractedMovie
from cnmf_gui.engine.spatial import clean_footprints, dilate_supports, pixel_statistics, restrict, update_spatial
from cnmf_gui.engine.streaming import iter_chunks, movie_shape
from cnmf_gui.errors import ParameterError
from cnmf_gui.progress import SubProgress, checkpoint

log = logging.getLogger("cnmf_gui.engine")

__all__ = ["ring_radius", "make_ring", "fit_ring_background", "fit_cnmf_ring"]

#: Default ring radius in soma radii. CNMF-E takes 1.5 "neuron diameters" gSiz, a generous box
#: around the cell; 2.5 soma radii clears a blurred soma (whose footprint reaches ~2 radii) and
#: explained the background of the synthetic one-photon movies better than 3 radii did (median
#: trace r with the true footprints 0.976 vs 0.973 at 6x background, 0.862 vs 0.829 at 30x).
RING_RADII = 2.5

#: Frames averaged per sample of the ring regression (less noise, a quarter of the work).
RING_TIME_BIN = 2


def ring_radius(params) -> float:
    """``cnmf.ring_radius``, or :data:`RING_RADII` soma radii when it is 0."""
    r = params.cnmf.ring_radius
    return float(r) if r > 0 else RING_RADII * float(params.init.neuron_radius)


def make_ring(shape, params) -> RingBackground:
    """An empty ring model for a frame of ``shape``; a ring that does not fit is a
    :class:`ParameterError` naming the key."""
    H, W = shape
    radius = ring_radius(params)
    key = "cnmf.ring_radius" if params.cnmf.ring_radius > 0 else f"init.neuron_radius (ring = {RING_RADII:g} radii)"
    if not radius > 0 or 2 * radius >= max(H, W) or radius >= min(H, W):
        raise ParameterError(f"parameter {key} gives a ring of radius {radius:g} px, which does not fit the "
                             f"{H} x {W} px frame: expected a ring well inside it")
    return RingBackground(shape, radius, factor=params.cnmf.ring_downsample)


def fit_ring_background(movie, A: sp.spmatrix, C: np.ndarray, ring: RingBackground, *,
                        chunk_frames: int = 500, time_bin: int = RING_TIME_BIN, progress=None) -> RingBackground:
    """Fit ``ring`` (W and b0) to the residual ``Y - A C``, streaming the movie once.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    A : sparse (H*W, K)
    C : ndarray of shape (K, T)
    ring : RingBackground
        Updated in place (its current b0 centres the statistics) and returned.
    """
    T, H, W = movie_shape(movie)
    neurons = SubtractedMovie(movie, _NoBackground(), A, C)
    stats = ring.new_statistics()
    total = np.zeros((H, W))
    for start, frames in iter_chunks(movie, chunk_frames):
        n = frames.shape[0]
        neural = neurons.neural(start, start + n)
        resid = frames if neural is None else frames - neural
        total += resid.sum(axis=0, dtype=np.float64)
        ring.accumulate(stats, resid, time_bin=time_bin)
        checkpoint(progress, (start + n) / T, f"ring background: frame {start + n}/{T}")
    ring.solve(stats)
    ring.set_constant(total / T)
    return ring


def temporal_pass(movie, A, b, C, f, deconv, chunk_frames, progress):
    """The temporal update of :func:`cnmf_gui.engine.fit._temporal_pass`, with kinetics shared
    by all components when ``deconv.kinetics`` is "shared" (and p = 2): estimated from the raw
    traces the update starts from (:func:`.kinetics.shared_kinetics`)."""
    from cnmf_gui.engine.onephoton.kinetics import shared_kinetics
    from cnmf_gui.engine.temporal import MIN_FRAMES_AR, trace_statistics, update_temporal

    AtY, btY = trace_statistics(movie, A, b, chunk_frames=chunk_frames, progress=SubProgress(progress, 0.0, 0.5))
    AtA = (A.T @ A).tocsr()
    Atb = np.asarray(A.T @ b)
    K, T = AtY.shape
    G = None
    if getattr(deconv, "kinetics", "per_component") == "shared" and deconv.p == 2 and K and T >= MIN_FRAMES_AR:
        diag = AtA.diagonal()
        F = C + (AtY - AtA @ C - Atb @ f) / np.where(diag > 0, diag, 1.0)[:, None]
        g = shared_kinetics(F, deconv)
        if np.any(g):
            G = np.tile(g, (K, 1))
    return update_temporal(AtY, AtA, Atb, C, btY, b.T @ b, f, deconv, g=G,
                           progress=SubProgress(progress, 0.5, 1.0))


class _NoBackground:
    model = "none"

    def subtract(self, frames, t0, *, neural=None):
        return frames


def fit_cnmf_ring(movie, A: sp.csc_matrix, C: np.ndarray, params, *, n_iterations: int | None = None,
                  progress=None):
    """Alternate ring background, temporal and spatial updates (one-photon CNMF-E).

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    A : csc_matrix of shape (H*W, K)
    C : ndarray of shape (K, T)
        Initial footprints and traces (e.g. :func:`.init.initialize_onephoton`).
    params : PipelineParams
        ``init.neuron_radius`` (> 0), ``cnmf.*`` (ring_radius, ring_downsample, n_iterations,
        merge thresholds, dilation), ``deconvolution.*``.
    n_iterations : int, optional
    progress : Progress, optional

    Returns
    -------
    FitResult
        With ``background`` the fitted RingBackground and ``b`` of shape (H*W, 0).
    """
    from cnmf_gui.engine.fit import FitResult, _drop_empty, _empty_temporal, _merge, _soma_radius
    from cnmf_gui.engine.merging import find_merge_groups

    T, H, W = movie_shape(movie)
    P = H * W
    cp = params.cnmf
    chunk = cp.chunk_frames
    ring = make_ring((H, W), params)
    n_iter = cp.n_iterations if n_iterations is None else n_iterations
    dil = cp.dilation_radius * _soma_radius(A, params)
    b0, f0 = np.zeros((P, 0)), np.zeros((0, T))
    A = sp.csc_matrix(A, dtype=float)
    C = np.asarray(C, float)
    n_merged = 0
    tr = None
    steps = 3 * n_iter + 2
    for it in range(n_iter + 1):
        base = 3 * it / steps
        last = it == n_iter
        fit_ring_background(movie, A, C, ring, chunk_frames=chunk,
                            progress=SubProgress(progress, base, base + 1 / steps, "ring background"))
        sub = SubtractedMovie(movie, ring, A, C)
        tr = temporal_pass(sub, A, b0, C, f0, params.deconvolution, chunk,
                            SubProgress(progress, base + 1 / steps, base + 2 / steps, "temporal update"))
        A, tr = _drop_empty(A, tr, tr.C.max(axis=1) > 0)
        C = tr.C
        if A.shape[1] == 0 or last:
            break
        masks = dilate_supports(A, (H, W), dil)
        U, Ub = pixel_statistics(sub, C, f0, masks, chunk_frames=chunk,
                                 progress=SubProgress(progress, base + 2 / steps, base + 3 / steps, "spatial update"))
        A, _ = update_spatial(restrict(A, masks), masks, b0, C, f0, U, Ub)
        A, norms, keep = clean_footprints(A, (H, W))
        C = C[keep] * norms[:, None]
        tr = None
        if A.shape[1] == 0:
            break
        groups = find_merge_groups(A, C, cp.merge_threshold, cp.merge_overlap)
        if groups:
            A, C = _merge(A, C, np.zeros_like(C), groups)
            n_merged += sum(len(g) - 1 for g in groups)
        checkpoint(progress, 3 * (it + 1) / steps, f"cnmf-e: pass {it + 1}/{n_iter}, {A.shape[1]} components")
    if A.shape[1] == 0 or tr is None:
        return FitResult(A=sp.csc_matrix((P, 0)), temporal=_empty_temporal(T, f0, params), b=b0,
                         n_merged=n_merged, background=ring)
    checkpoint(progress, 1.0, f"cnmf-e: {A.shape[1]} components")
    return FitResult(A=sp.csc_matrix(A), temporal=tr, b=b0, n_merged=n_merged, background=ring)

"""What :func:`cnmf_gui.engine.pipeline.run_cnmf` does differently for one-photon movies, kept
here so the pipeline only asks: initialise and fit one field the CNMF-E way, and give the review
the movie with the ring background removed."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.background import SubtractedMovie
from cnmf_gui.engine.streaming import movie_shape
from cnmf_gui.progress import SubProgress
from cnmf_gui.results import SummaryImages

log = logging.getLogger("cnmf_gui.engine")

__all__ = ["uses_ring", "fit_field_onephoton", "review_inputs", "background_under"]


def uses_ring(params) -> bool:
    return params.cnmf.background_model == "ring"


def fit_field_onephoton(movie, summary: SummaryImages, params, seeds, progress):
    """Correlation-PNR initialisation and the alternating fit (ring or low-rank background).

    Returns
    -------
    fit : FitResult
    summary : SummaryImages
        With ``correlation`` and ``pnr`` those of the high-pass filtered movie (what the seeds
        were chosen from, and what the inspector shows).
    """
    from cnmf_gui.engine.fit import FitResult, fit_cnmf
    from cnmf_gui.engine.onephoton.init import initialize_onephoton

    T, H, W = movie_shape(movie)
    ip = params.init
    init = initialize_onephoton(movie, ip.neuron_radius, min_corr=ip.min_corr, min_pnr=ip.min_pnr,
                                max_components=ip.max_components, seeds=seeds,
                                chunk_frames=params.cnmf.chunk_frames, progress=SubProgress(progress, 0.0, 0.25))
    summary = SummaryImages(mean=summary.mean, max=summary.max, correlation=init.images.correlation,
                            pnr=init.images.pnr)
    A, C = init.A, init.C
    if ip.n_components > 0:
        A, C = A[:, :ip.n_components], C[:ip.n_components]
    nb = 0 if uses_ring(params) else params.cnmf.n_background
    if A.shape[1] == 0:
        return FitResult(A=A, temporal=None, b=np.zeros((H * W, nb))), summary
    # the low-rank background (two-photon model with one-photon seeding) starts flat in time
    f = np.ones((nb, T))
    fit = fit_cnmf(movie, A, C, f, params, progress=SubProgress(progress, 0.25, 1.0))
    return fit, summary


def review_inputs(movie, fit, summary: SummaryImages):
    """(movie, b, mean image) for the review: for the ring model, the movie with the background
    removed, no low-rank part, and the mean of what remains (the neurons)."""
    if getattr(fit.background, "model", "low_rank") != "ring":
        return movie, fit.b, summary.mean
    sub = SubtractedMovie(movie, fit.background, fit.A, fit.temporal.C)
    mean = np.asarray(summary.mean, float) - fit.background.b0
    return sub, fit.b, mean


def background_under(fit, A: sp.spmatrix, n_frames: int) -> np.ndarray | None:
    """Background under each footprint, (K, T), for dF/F's denominator: A^T b0 for the ring
    (its constant part), A^T b f for the low-rank model; None without a background."""
    bg = fit.background
    if getattr(bg, "model", "low_rank") == "ring":
        level = np.asarray(A.T @ bg.b0.ravel().astype(float)).ravel()
        return np.repeat(level[:, None], n_frames, axis=1)
    if fit.b.shape[1] == 0:
        return None
    return np.asarray(A.T @ fit.b) @ fit.temporal.f

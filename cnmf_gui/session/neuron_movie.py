"""What the curation edits (merge, seed, split) read from the movie, whatever the background model.

A merged or seeded component's metrics (:func:`~cnmf_gui.engine.evaluation.evaluate`) and a seed's
footprint (:func:`~cnmf_gui.engine.seeding.seed_component`) are computed on the movie with the
background removed. For the low-rank model that is done inside them from ``b`` and ``f``; the
one-photon ring model has no ``b f`` (its background is a function of the frames), so for it they
get the motion-corrected movie with the ring background removed, read lazily, and the mean image
without the ring's constant ``b0``: the same inputs the pipeline's review gave the evaluation
(:func:`cnmf_gui.engine.onephoton.run.review_inputs`). Without this a one-photon seed fitted the
out-of-focus haze and a merge's r_value was measured against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EditInputs", "edit_inputs"]


@dataclass
class EditInputs:
    """The movie, mean image and low-rank background an edit's fit and metrics read.

    Attributes
    ----------
    movie : array-like of shape (T, H, W) or None
        Motion-corrected; for the ring model with the ring background removed. None without a movie.
    mean : ndarray of shape (H, W) or None
        Mean image of ``movie`` (None without a summary).
    b : ndarray of shape (H*W, nb) or None
    f : ndarray of shape (nb, T) or None
        The low-rank background still to remove (None for the ring model or no background).
    """

    movie: object
    mean: np.ndarray | None
    b: np.ndarray | None
    f: np.ndarray | None


def edit_inputs(session) -> EditInputs:
    """The :class:`EditInputs` of the session's current components and background."""
    data = session.data
    movie = session.frames.corrected_movie() if session.movie is not None else None
    summary = data.summary if data is not None else None
    mean = np.asarray(summary.mean) if summary is not None and summary.mean is not None else None
    bg = data.background if data is not None else None
    if bg is None:
        return EditInputs(movie, mean, None, None)
    if getattr(bg, "model", "low_rank") != "ring":
        if np.asarray(bg.b).size:
            return EditInputs(movie, mean, np.asarray(bg.b), np.asarray(bg.f))
        return EditInputs(movie, mean, None, None)
    from cnmf_gui.engine.background import SubtractedMovie, from_result

    ring = from_result(bg, session.image_shape)
    comps = session.components
    if movie is not None:
        A = comps.A if comps is not None else None
        C = np.asarray(comps.C, np.float32) if comps is not None else None
        movie = SubtractedMovie(movie, ring, A, C)
    if mean is not None:
        mean = mean - ring.b0
    return EditInputs(movie, mean, None, None)


def background_under(session, footprint, n_frames: int) -> np.ndarray | None:
    """Background under one new footprint (H*W, 1), (1, T), for its dF/F's denominator, as the
    pipeline computes it: ``a^T b f`` (low-rank), ``a^T b0`` in every frame (ring), or None."""
    data = session.data
    bg = data.background if data is not None else None
    if bg is None:
        return None
    if getattr(bg, "model", "low_rank") == "ring":
        b0 = np.asarray((bg.arrays or {}).get("b0", np.zeros(0)), float).ravel()
        if b0.size == 0:
            return None
        level = float(np.asarray(footprint.T @ b0).ravel()[0])
        return np.full((1, n_frames), level)
    if not np.asarray(bg.b).size:
        return None
    return np.asarray(footprint.T @ np.asarray(bg.b)) @ np.asarray(bg.f)

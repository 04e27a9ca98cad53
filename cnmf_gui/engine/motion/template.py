"""The registration template: a crisp mean image of the movie's typical position.

1. Sample ``template_frames`` frames evenly over the movie (slow drift is then represented).
2. Seed: the frame whose best-matching ``k`` frames correlate most with it, averaged with them.
   Frames from a still moment resemble each other, so the seed is sharp even when the movie
   moves a lot (a plain mean of a moving movie is blurred).
3. Refine ``template_iterations`` times: register the sample to the template, shift it, and
   average the better-correlated half (outliers such as bright transients or bad frames stay
   out). The last round averages the sample moved by its shifts *minus their median*, so the
   template sits at the movie's typical position and most frames need only small shifts (less
   edge filling in the corrected movie).

References
----------
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. Journal of Neuroscience Methods 291:83-94
(template refinement from registered frames).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnmf_gui.engine.motion.metrics import bin_frames
from cnmf_gui.engine.motion.parallel import batch_size, map_batches
from cnmf_gui.engine.motion.prep import SpectralPrep, clean_frames, static_background
from cnmf_gui.engine.motion.rigid import register_spectra
from cnmf_gui.engine.motion.warp import shift_frames
from cnmf_gui.progress import checkpoint

SEED_NEIGHBOURS = 20


def read_frames(movie, indices) -> np.ndarray:
    """Frames ``indices`` (sorted, unique) of a movie that only promises slicing.

    Consecutive indices are read as one slice, so a dense sample costs one read.

    Returns
    -------
    ndarray of shape (len(indices), H, W), the movie's dtype
    """
    indices = np.asarray(indices, np.int64)
    if len(indices) == 0:
        return np.zeros((0,) + tuple(movie.shape[1:]), np.float32)
    breaks = np.flatnonzero(np.diff(indices) != 1) + 1
    runs = np.split(indices, breaks)
    parts = [np.asarray(movie[int(r[0]):int(r[-1]) + 1]) for r in runs]
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)


def sample_indices(n_frames: int, n_sample: int) -> np.ndarray:
    """``n_sample`` frame indices spread evenly over ``range(n_frames)`` (unique, sorted)."""
    n_sample = max(1, min(int(n_sample), int(n_frames)))
    return np.unique(np.round(np.linspace(0, n_frames - 1, n_sample)).astype(np.int64))


def _binned(frames: np.ndarray, target: int = 64) -> np.ndarray:
    """Frames averaged in square bins so the longer side is about ``target`` px; (n, P) float32."""
    n, H, W = frames.shape
    b = max(1, int(math.ceil(max(H, W) / target)))
    if H // b == 0 or W // b == 0:
        b = 1
    return bin_frames(frames, b).reshape(n, -1)


def correlate_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each row of ``a`` with ``b`` (or each pair of rows of a and b).

    Rows with no variance get 0, never NaN.

    Parameters
    ----------
    a : ndarray of shape (n, P)
    b : ndarray of shape (P,) or (n, P)

    Returns
    -------
    ndarray of shape (n,), float64
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a = a - a.mean(axis=-1, keepdims=True)
    b = b - b.mean(axis=-1, keepdims=True)
    num = (a * b).sum(axis=-1)
    den = np.sqrt((a * a).sum(axis=-1) * (b * b).sum(axis=-1))
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def seed_template(frames: np.ndarray, usable: np.ndarray, k: int = SEED_NEIGHBOURS) -> np.ndarray:
    """Mean of the most mutually similar frames of a sample.

    Parameters
    ----------
    frames : ndarray of shape (n, H, W), float32, finite
    usable : ndarray of shape (n,), bool
    k : int
        Neighbours averaged with the seed frame.

    Returns
    -------
    ndarray of shape (H, W), float32
    """
    idx = np.flatnonzero(usable)
    if len(idx) == 0:
        return frames.mean(axis=0) if len(frames) else np.zeros(frames.shape[1:], np.float32)
    if len(idx) <= 2:
        return frames[idx].mean(axis=0)
    z = _binned(frames)[idx].astype(np.float64)
    z -= z.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(z, axis=1)
    z /= np.where(norm > 0, norm, 1.0)[:, None]
    corr = z @ z.T
    k = min(k, len(idx))
    top = -np.sort(-corr, axis=1)[:, :k]
    seed = int(np.argmax(top.mean(axis=1)))
    members = np.argsort(-corr[seed])[:k]
    return frames[idx[members]].mean(axis=0)


@dataclass
class TemplateResult:
    """The template and what building it learned about the movie.

    Attributes
    ----------
    template : ndarray of shape (H, W), float32
    sample : ndarray of shape (n,), int64
        Frame indices of the sample.
    shifts : ndarray of shape (n, 2), float64
        The sample's rigid shifts against the final template (from the last refinement round).
    spread : float
        Largest distance (px, per axis) of a sample shift from the median one: how far the
        movie moves around its typical position.
    background : ndarray of shape (H, W), float32, or None
        Static smooth background removed before registration (high-pass registration only).
    """

    template: np.ndarray
    sample: np.ndarray
    shifts: np.ndarray
    spread: float
    background: np.ndarray | None = None


def build_template(movie, params, *, order: int = 3, n_workers: int = 1, progress=None) -> TemplateResult:
    """Build the registration template from a sample of a movie.

    Parameters
    ----------
    movie : array_like of shape (T, H, W)
        Anything with ``.shape`` and slicing ``movie[a:b]``.
    params : MotionParams
    order : {1, 3}
        Interpolation order for shifting the sample.
    n_workers : int
    progress : Progress, optional
        Receives fractions 0 to 1 of this step.

    Returns
    -------
    TemplateResult
    """
    T, H, W = (int(s) for s in movie.shape)
    sample = sample_indices(T, params.template_frames)
    checkpoint(progress, 0.0, "template: reading sample")
    frames, unusable, _ = clean_frames(read_frames(movie, sample))
    usable = ~unusable
    template = seed_template(frames, usable)
    shifts = np.zeros((len(sample), 2))
    if not usable.any():
        return TemplateResult(template.astype(np.float32), sample, shifts, 0.0, None)
    background = None
    if params.highpass_sigma > 0:
        background = static_background(frames[usable].mean(axis=0))
    prep = SpectralPrep((H, W), params.taper_fraction, params.highpass_sigma,
                        margin=int(math.ceil(params.max_shift)), background=background)
    rounds = int(params.template_iterations)
    for it in range(max(rounds, 1)):
        checkpoint(progress, (it + 1) / (rounds + 2), f"template: round {it + 1} of {max(rounds, 1)}")
        spec = prep.template_spectrum(template)

        def register(a, b, spec=spec):
            return register_spectra(prep.frame_spectra(prep.flatten(frames[a:b])), spec, (H, W), params.max_shift,
                                    params.upsample_factor)[0]

        shifts = np.concatenate(map_batches(register, len(frames), batch_size(H * W), n_workers))
        shifts[~usable] = np.median(shifts[usable], axis=0)
        if rounds == 0:
            break
        last = it == rounds - 1
        # Centre the final template on the typical position (see module notes).
        centre = np.median(shifts[usable], axis=0) if last else np.zeros(2)
        aligned = shift_frames(frames, shifts - centre, order=order, n_workers=n_workers)
        corr = correlate_rows(_binned(aligned), _binned(template[None])[0])
        keep = usable & (corr >= np.median(corr[usable])) if usable.sum() >= 4 else usable
        template = aligned[keep].mean(axis=0)
        if last:
            # The sample's shifts against the final template are the last ones minus the
            # centre (to within the refinement's change): no extra registration round.
            shifts = shifts - centre
    spread = float(np.abs(shifts[usable] - np.median(shifts[usable], axis=0)).max())
    checkpoint(progress, 1.0, "template: done")
    return TemplateResult(template.astype(np.float32), sample, shifts, spread, background)

"""The headless pipeline: motion correction, CNMF, deconvolution, evaluation and dF/F.

:func:`run_cnmf` turns a (motion-corrected) movie into components, background and summary
images; :func:`run_pipeline` adds motion correction first and packs everything into a
:class:`~cnmf_gui.results.SessionData` ready for ``io.save_session``. Both read the movie in
chunks and can be cancelled through ``progress`` at any checkpoint.

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299.
"""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.cropping import CroppedMovie, embed_footprints, embed_image, motion_border
from cnmf_gui.engine.dff import compute_dff
from cnmf_gui.engine.fit import FitResult, fit_cnmf
from cnmf_gui.engine.initialization import initialize
from cnmf_gui.engine.neuron_size import resolve_neuron_radius
from cnmf_gui.engine.background import to_result
from cnmf_gui.engine.offset import ShiftedMovie, negative_offset
from cnmf_gui.engine.onephoton.run import background_under, fit_field_onephoton, review_inputs, uses_ring
from cnmf_gui.engine.review import review_components
from cnmf_gui.engine.streaming import movie_shape, release_freed_memory
from cnmf_gui.engine.summary import compute_summary
from cnmf_gui.errors import InputFileError, ParameterError
from cnmf_gui.params import PipelineParams
from cnmf_gui.progress import SubProgress, checkpoint, hand_over
from cnmf_gui.results import (STATUS_ACCEPTED, STATUS_INACTIVE, Background, Components, SessionData,
                              SummaryImages)

log = logging.getLogger("cnmf_gui.engine")

#: Fewest frames CNMF can work with (noise spectra and correlations need a few).
MIN_FRAMES = 10
#: Frame rate assumed when neither the parameters nor the movie give one.
DEFAULT_FRAME_RATE = 30.0


def frame_rate_of(movie, params: PipelineParams) -> float:
    """The parameters' frame rate, else the movie's, else DEFAULT_FRAME_RATE (logged)."""
    if params.frame_rate:
        return float(params.frame_rate)
    fr = getattr(movie, "frame_rate", None)
    if fr:
        return float(fr)
    log.info("frame rate unknown: assuming %g Hz (set frame_rate or --fs)", DEFAULT_FRAME_RATE)
    return DEFAULT_FRAME_RATE


def check_problem(movie, params: PipelineParams) -> tuple[int, int, int]:
    """Refuse problems that cannot be solved, with one line naming the cause."""
    T, H, W = movie_shape(movie)
    if T < MIN_FRAMES:
        raise InputFileError(f"movie has {T} frames: CNMF needs at least {MIN_FRAMES}")
    r = params.init.neuron_radius
    if r > 0 and (2 * r > max(H, W) or r > min(H, W)):
        raise ParameterError(f"parameter init.neuron_radius = {r} px does not fit the {H} x {W} px "
                             f"frame: expected a radius of a few pixels")
    return T, H, W


def _fit_field(movie, summary, noise, params, seeds, progress) -> FitResult:
    ip = params.init
    init = initialize(movie, noise, summary.correlation, neuron_radius=ip.neuron_radius,
                      n_components=ip.n_components, min_corr=ip.min_corr, min_pnr=ip.min_pnr,
                      max_components=ip.max_components, seeds=seeds,
                      n_background=params.cnmf.n_background, chunk_frames=params.cnmf.chunk_frames,
                      progress=SubProgress(progress, 0.0, 0.25))
    if init.A.shape[1] == 0:
        return FitResult(A=init.A, temporal=None, b=np.zeros((init.A.shape[0], init.f.shape[0])))
    return fit_cnmf(movie, init.A, init.C, init.f, params, progress=SubProgress(progress, 0.25, 1.0))


def run_cnmf(movie, params: PipelineParams | None = None, *, seeds=None, border=None,
             progress=None, info: dict | None = None) -> tuple[Components, Background, SummaryImages]:
    """CNMF on a (motion-corrected) movie: components, background and summary images.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        A NumPy array, a memory map, an ``io.Movie`` or a ``CorrectedMovie``: anything with
        ``.shape`` and ``movie[a:b]``. Read in chunks of ``params.cnmf.chunk_frames``.
    params : PipelineParams, optional
        ``init``, ``cnmf``, ``deconvolution`` and ``evaluation`` stages are used.
    seeds : sequence of (row, col), optional
        Centres of components to initialise; when given, nothing else is searched for.
    border : (top, bottom, left, right), optional
        Rows and columns at the frame's edges to leave out (e.g. where motion correction has
        no data, see :func:`cnmf_gui.engine.cropping.motion_border`); footprints, background
        and summary images are zero there.
    progress : Progress, optional
    info : dict, optional
        Filled with what was decided from the data: ``neuron_radius`` (px, the one used) and
        ``radius_estimated`` (True when it was estimated because ``init.neuron_radius`` is 0).

    Returns
    -------
    components : Components
        Unit-norm footprints, traces C / S / F, dF/F, deconvolution results, metrics, initial
        status from the evaluation thresholds, ids 0..K-1. Zero components is a valid result
        (logged as a warning with the likely reason).
    background : Background
        b (H*W, nb), f (nb, T).
    summary : SummaryImages

    References
    ----------
    Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299.
    """
    params = PipelineParams() if params is None else params
    T, H, W = check_problem(movie, params)
    if border is not None and any(border) and not uses_ring(params):
        # (the ring model is fitted on the whole frame: its coarse grid does not embed)
        top, bottom, left, right = (int(v) for v in border)
        box = (top, H - bottom, left, W - right)
        if seeds is not None:
            seeds = np.asarray(seeds, float).reshape(-1, 2) - (top, left)
        inner = CroppedMovie(movie, box)
        comps, background, summary = run_cnmf(inner, params, seeds=seeds,
                                              progress=_Embedding(progress, box, (H, W)), info=info)
        comps.A = embed_footprints(comps.A, box, (H, W))
        background = Background(b=embed_image(background.b.reshape(box[1] - box[0], box[3] - box[2], -1),
                                              box, (H, W)).reshape(H * W, -1), f=background.f)
        summary = SummaryImages(**{k: embed_image(v, box, (H, W)) for k, v in summary.as_dict().items()})
        return comps, background, summary
    P = H * W
    fs = frame_rate_of(movie, params)
    offset = negative_offset(movie, params.cnmf.chunk_frames)
    if offset:
        log.info("the movie's dark level is %.4g, below zero: CNMF works on the movie shifted up "
                 "by %.4g", -offset, offset)
        movie = ShiftedMovie(movie, offset)
        comps, background, summary = run_cnmf(movie, params, seeds=seeds, progress=progress, info=info)
        # the images the user sees keep the movie's own values
        summary = SummaryImages(mean=summary.mean - offset, max=summary.max - offset,
                                correlation=summary.correlation, pnr=summary.pnr)
        return comps, background, summary
    dp = params.deconvolution
    summary, noise = compute_summary(movie, chunk_frames=params.cnmf.chunk_frames,
                                     noise_range=dp.noise_range, noise_method=dp.noise_method,
                                     progress=SubProgress(progress, 0.0, 0.1))
    estimated = params.init.neuron_radius <= 0
    params = resolve_neuron_radius(params, summary)
    if info is not None:
        info.update(neuron_radius=params.init.neuron_radius, radius_estimated=estimated)
    cp = params.cnmf
    if params.init.method == "corr_pnr":
        # one-photon (CNMF-E): the ring background is fitted on the whole field, not in patches
        fit, summary = fit_field_onephoton(movie, summary, params, seeds, SubProgress(progress, 0.1, 0.85))
    elif seeds is None and not uses_ring(params) and ((cp.patch_size > 0 and (H > cp.patch_size or W > cp.patch_size))
                                                     or getattr(cp, "scheduler", "")):
        from cnmf_gui.engine.patches import fit_patches
        fit = fit_patches(movie, summary, noise, params, progress=SubProgress(progress, 0.1, 0.85))
    else:
        fit = _fit_field(movie, summary, noise, params, seeds, SubProgress(progress, 0.1, 0.85))
    nb = cp.n_background
    K = fit.A.shape[1]
    if K == 0:
        log.warning("no components found: no pixel passed init.min_pnr = %g and init.min_corr = %g "
                    "(pure noise, constant frames, or thresholds too strict)",
                    params.init.min_pnr, params.init.min_corr)
        f = fit.temporal.f if fit.temporal is not None else np.zeros((nb, T))
        comps = _empty_components(P, T, dp.p)
        checkpoint(progress, 1.0, "cnmf: no components found")
        return comps, Background(b=fit.b.reshape(P, -1), f=np.asarray(f).reshape(-1, T)), summary

    # Shown while the evaluation runs (the window draws the footprints found so far).
    hand_over(progress, {"footprints": fit.A, "traces": fit.temporal.C})
    rev_movie, rev_b, rev_mean = review_inputs(movie, fit, summary)
    rev = review_components(rev_movie, fit.A, fit.temporal, rev_b, rev_mean, params,
                            # seeds or a fixed count: the user said which components to find;
                            # one-photon: the mean image is the background's, not the somata's
                            find_silent=seeds is None and params.init.n_components == 0 and not uses_ring(params),
                            progress=SubProgress(progress, 0.85, 0.97, "evaluation"))
    tr, status, A = rev.temporal, rev.status, rev.A
    K = A.shape[1]
    ep = params.evaluation
    under = np.asarray(A.T @ fit.b) @ tr.f if nb else None      # background under each footprint
    if uses_ring(params):
        under = background_under(fit, A, T)
    dff = compute_dff(tr.F, frame_rate=fs, quantile=ep.dff_quantile, window_s=ep.dff_window,
                      background=under)
    checkpoint(progress, 0.99, "dF/F: done")
    comps = Components(A=A, C=tr.C, S=tr.S, F=tr.F, dff=dff, baseline=tr.baseline, sn=tr.sn,
                       epsilon=tr.epsilon, g=tr.g if tr.g.shape[1] else np.zeros((K, 0)),
                       status=status, ids=np.arange(K), metrics=rev.metrics, lam=tr.lam,
                       reason=rev.reasons)
    n_acc = int(np.sum(status == STATUS_ACCEPTED))
    n_inactive = int(np.sum(status == STATUS_INACTIVE))
    checkpoint(progress, 1.0, f"cnmf: {K} components, {n_acc} accepted, {n_inactive} inactive")
    if uses_ring(params):
        return comps, to_result(fit.background, T), summary
    return comps, Background(b=fit.b, f=tr.f), summary


class _Embedding(SubProgress):
    """Forwards everything; partial footprints found on the cropped movie go out full-frame."""

    def __init__(self, parent, box, shape):
        super().__init__(parent, 0.0, 1.0)
        self._box, self._shape = box, shape

    def partial(self, result) -> None:
        if isinstance(result, dict) and "footprints" in result:
            result = {**result, "footprints": embed_footprints(result["footprints"], self._box, self._shape)}
        hand_over(self._parent, result)


def _empty_components(n_pixels: int, n_frames: int, p: int) -> Components:
    """Components with K = 0 (a valid result)."""
    try:
        return Components.empty(n_pixels, n_frames, p=p)
    except ValueError:
        # results.Components.__post_init__ reshapes g to (K, -1), which NumPy refuses for K = 0
        # (reported to the lead); build the empty result without that check meanwhile.
        import dataclasses
        z, e = np.zeros((0, n_frames)), np.zeros(0)
        comps = Components.__new__(Components)
        values = dict(A=sp.csc_matrix((n_pixels, 0)), C=z, S=z.copy(), F=z.copy(), dff=z.copy(),
                      baseline=e, sn=e.copy(), epsilon=e.copy(), g=np.zeros((0, p)),
                      status=np.zeros(0, np.int8), ids=np.zeros(0, np.int64), metrics={}, lam=e.copy())
        for fld in dataclasses.fields(Components):
            setattr(comps, fld.name, values[fld.name])
        return comps


def _motion_engine():
    try:
        from cnmf_gui.engine.motion import CorrectedMovie, estimate_motion
    except ImportError:
        return None
    return estimate_motion, CorrectedMovie


def run_pipeline(movie, params: PipelineParams | None = None, *, progress=None) -> SessionData:
    """Motion correction (when enabled), CNMF, deconvolution, evaluation and dF/F.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        Raw movie.
    params : PipelineParams, optional
    progress : Progress, optional

    Returns
    -------
    SessionData
        Everything the session file holds except what only the session knows: ``movie_path``
        is None and the curation log is empty (the session records the run).
    """
    params = PipelineParams() if params is None else params
    T, H, W = check_problem(movie, params)
    fs = frame_rate_of(movie, params)
    if params.frame_rate is None:
        params = params.replace(None, frame_rate=fs)
    motion = None
    source = movie
    start = 0.0
    if params.motion.enabled:
        engine = _motion_engine()
        if engine is None:
            log.warning("motion correction is not available in this build: running without it")
        else:
            estimate_motion, CorrectedMovie = engine
            motion = estimate_motion(movie, params.motion, progress=SubProgress(progress, 0.0, 0.3, "motion"))
            release_freed_memory()   # motion's threads leave their freed frames in their heaps
            source = CorrectedMovie(movie, motion)
            start = 0.3
    border = None
    if motion is not None:
        shifts = np.asarray(motion.shifts, float).reshape(-1, 2)
        if motion.shifts_pw is not None:   # patches may move further than the rigid shift
            shifts = np.vstack([shifts, np.asarray(motion.shifts_pw, float).reshape(-1, 2)])
        border = motion_border(shifts, (H, W))
    info: dict = {}
    comps, background, summary = run_cnmf(source, params, border=border,
                                          progress=SubProgress(progress, start, 1.0), info=info)
    if info.get("radius_estimated"):
        # The session keeps the radius used, so thresholds and re-runs see the same cells.
        params = params.replace("init", neuron_radius=info["neuron_radius"])
    # Where the movie lives and the curation log are the session's business, not the engine's.
    return SessionData(movie_path=None, movie_shape=(T, H, W),
                       movie_dtype=str(np.dtype(getattr(movie, "dtype", np.float32))), frame_rate=fs,
                       params=params, motion=motion, summary=summary, components=comps,
                       background=background, curation_log=[])

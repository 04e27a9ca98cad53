"""Another tool's results as a session: suite2p plane folders and CaImAn HDF5 files.

The importers (:mod:`cnmf_gui.io.import_suite2p`, :mod:`cnmf_gui.io.import_caiman`) read the
tool's arrays; here they are checked against the movie and completed with this program's own
steps, so that the components behave as if the pipeline had found them:

- motion: suite2p's rigid and non-rigid offsets as the motion result (the movie is read
  through them);
- summary images (mean, max, correlation, PNR) of the corrected movie;
- traces: the tool's C and S when it has both (CaImAn); otherwise the raw traces are
  deconvolved with the one re-deconvolution path (epsilon, AR order and solver from the
  parameters), so C, S, the noise level and the kinetics exist for every component;
- metrics (SNR, spatial consistency, area, compactness) by the evaluation code, beside the
  tool's own (``cell_probability``, ``caiman_snr``...); dF/F with the background under each
  footprint;
- the tool's statuses, with its reason for each rejection.

The import is one line in the curation log (:class:`~cnmf_gui.session.commands.ImportReset`):
which tool, which file, what was taken from where. As for a pipeline run, the components get
fresh ids and everything else (merge with refit, deconvolution, undo, exports) works on them.

Two steps, for the window's worker: :func:`prepare_import` (any thread; reads, computes) and
:func:`apply_import` (main thread); :func:`import_results` does both (the CLI's way).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.results import Background, Components, MotionResult, SessionData

TOOL_NAMES = {"suite2p": "suite2p", "caiman": "CaImAn"}


@dataclass
class PreparedImport:
    """What :func:`apply_import` puts in a session: the new data, its open movie, the log facts."""

    data: SessionData
    movie: object
    provenance: dict


def _check_shape(results, movie, movie_path) -> None:
    T, H, W = (int(n) for n in movie.shape)
    name = TOOL_NAMES[results.tool]
    h, w = results.frame_shape
    if (h, w) != (H, W):
        what = "dims" if results.tool == "caiman" else "frame size"
        raise InputFileError(f"{name} {what} {h} x {w} ({results.source}) do not match the movie's {H} x {W} "
                             f"frames ({movie_path}): not the movie these results were made from")
    if results.n_frames != T:
        raise InputFileError(f"{name} traces have {results.n_frames} frames but the movie {movie_path} has {T}: "
                             f"not the movie these results were made from")


def _traces(results, params, progress):
    """C, S, baseline, sn, epsilon, g, lam: the tool's when it has C and S, else deconvolved here."""
    from cnmf_gui.engine.redeconvolve import redeconvolve_rows

    K, T = results.F.shape
    dp = params.deconvolution
    if results.C is not None and results.S is not None:
        sn = results.sn
        if sn is None or not np.all(sn > 0):
            from cnmf_gui.engine.noise import estimate_noise
            sn = np.atleast_1d(estimate_noise(results.F - results.C, axis=-1)) if K else np.zeros(0)
        g = results.g if results.g is not None else np.zeros((K, 0))
        base = results.baseline if results.baseline is not None else np.zeros(K)
        return (results.C, results.S, base, np.asarray(sn, float), np.zeros(K), g, np.full(K, np.nan))
    if K == 0:
        z = np.zeros((0, T))
        return z, z.copy(), np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, dp.p)), np.zeros(0)
    dec = redeconvolve_rows(results.F, None, None, dp.epsilon, dp, progress=progress)
    return dec.c, dec.s, dec.b, dec.sn, dec.epsilon, dec.g, dec.lam


def prepare_import(source, movie_path, params, *, movie_options: dict | None = None,
                   frame_rate: float | None = None, progress=None) -> PreparedImport:
    """Read ``source`` (a suite2p plane folder or a CaImAn HDF5 file) onto ``movie_path``.

    Parameters
    ----------
    source : path-like
    movie_path : path-like
        The movie the results were made from (its shape must match theirs).
    params : PipelineParams
        Deconvolution, evaluation and dF/F settings for what the tool does not give.
    movie_options : dict, optional
        ``dataset``, ``axes``, ``plane``, ``channel`` for :func:`cnmf_gui.io.open_movie`.
    frame_rate : float, optional
        Hz, when neither the movie nor the tool's settings say it.
    progress : Progress, optional

    Returns
    -------
    PreparedImport
        Owns the open movie until applied.

    Raises
    ------
    InputFileError
        Unreadable or incomplete results, or results of another shape than the movie.
    """
    from cnmf_gui.engine.dff import compute_dff
    from cnmf_gui.engine.evaluation import evaluate
    from cnmf_gui.engine.motion import CorrectedMovie
    from cnmf_gui.engine.summary import compute_summary
    from cnmf_gui.io import open_movie
    from cnmf_gui.io.import_result import read_results
    from cnmf_gui.progress import SubProgress, checkpoint

    options = {k: v for k, v in (movie_options or {}).items() if v is not None}
    checkpoint(progress, 0.0, "import: reading results")
    results = read_results(source)
    movie = open_movie(movie_path, **options)
    try:
        _check_shape(results, movie, movie_path)
        rate = frame_rate or movie.frame_rate or results.frame_rate or params.frame_rate
        params = params.replace(None, frame_rate=rate)
        if results.C is None and params.deconvolution.baseline == "nonneg":
            # suite2p's F - 0.7 Fneu has no meaningful zero (often below it on real data): a
            # non-negative baseline cannot fit it. Saved with the session, so reruns agree.
            params = params.replace("deconvolution", baseline="free")
            results.notes.append("deconvolution baseline 'free' (neuropil-subtracted traces have no meaningful zero)")
        motion = None
        if results.shifts is not None:
            template = results.template
            motion = MotionResult(shifts=np.asarray(results.shifts, np.float32),
                                  template=np.zeros(movie.shape[1:], np.float32) if template is None else template,
                                  shifts_pw=None if results.shifts_pw is None else np.asarray(results.shifts_pw,
                                                                                              np.float32),
                                  patch_centers=results.patch_centers)
        corrected = CorrectedMovie(movie, motion) if motion is not None else movie
        summary, _ = compute_summary(corrected, chunk_frames=params.cnmf.chunk_frames,
                                     progress=SubProgress(progress, 0.05, 0.45, "import: summary images"))
        if motion is not None and results.template is None:
            motion.template = summary.mean.astype(np.float32)
        C, S, base, sn, eps, g, lam = _traces(results, params, SubProgress(progress, 0.45, 0.6, "import: deconvolution"))
        background = None
        b = f = None
        if results.background is not None:
            b, f = results.background
            background = Background(b=np.asarray(b, float), f=np.asarray(f, float))
        ep = params.evaluation
        metrics, _ = evaluate(corrected, results.A, C, sn, summary.mean, ep, b=b, f=f,
                              chunk_frames=params.cnmf.chunk_frames, neuron_radius=params.init.neuron_radius,
                              progress=SubProgress(progress, 0.6, 0.95, "import: evaluation"))
        metrics = {**metrics, **results.metrics}
        under = np.asarray(results.A.T @ b) @ f if b is not None else None
        dff = compute_dff(results.F, frame_rate=rate or 30.0, quantile=ep.dff_quantile, window_s=ep.dff_window,
                          background=under)
        K = results.n_components
        comps = Components(A=results.A, C=np.asarray(C, float), S=np.asarray(S, float), F=results.F, dff=dff,
                           baseline=base, sn=sn, epsilon=eps, g=g, status=results.status, ids=np.arange(K),
                           metrics=metrics, lam=lam, reason=results.reason)
    except BaseException:
        movie.close()
        raise
    kept = {k: v for k, v in options.items() if k in ("dataset", "axes", "plane", "channel")}
    data = SessionData(movie_path=os.fspath(Path(movie_path).resolve()), movie_shape=tuple(movie.shape),
                       movie_dtype=str(np.dtype(movie.dtype)), frame_rate=rate, movie_options=kept,
                       params=params, motion=motion, summary=summary, components=comps, background=background)
    counts = {name: int(np.sum(results.status == code)) for code, name in ((1, "accepted"), (-1, "rejected"),
                                                                          (0, "undecided"))}
    provenance = {"tool": results.tool, "source": results.source, "statuses": counts,
                  "taken": list(results.notes) + ([] if results.C is not None else
                                                  ["C and S by this program's deconvolution of F"]),
                  "tool_settings": results.params}
    checkpoint(progress, 1.0, f"import: {K} components from {TOOL_NAMES[results.tool]}")
    return PreparedImport(data=data, movie=movie, provenance=provenance)


def apply_import(session, prepared: PreparedImport, *, retire_ids_of=None) -> None:
    """Make the prepared import the session's data (main thread); one ``import`` log line.

    ``retire_ids_of``: a session file whose ids must stay retired (the one being replaced).
    """
    from cnmf_gui.session import loading
    from cnmf_gui.session.files import default_session_path

    data = prepared.data
    fresh = SessionData(movie_path=data.movie_path, movie_shape=data.movie_shape, movie_dtype=data.movie_dtype,
                        frame_rate=data.frame_rate, movie_options=dict(data.movie_options), params=data.params)
    if session.movie is not None and session.movie is not prepared.movie:
        session.close_movie()
    next_id = loading.ids_used_by(default_session_path(data.movie_path))
    if retire_ids_of is not None:
        next_id = max(next_id, loading.ids_used_by(retire_ids_of))
    loading.set_data(session, fresh, movie=prepared.movie, path=None, next_id=next_id)
    loading.apply_pipeline_result(session, data, provenance=prepared.provenance)


def import_results(session, source, movie_path, *, movie_options: dict | None = None,
                   frame_rate: float | None = None, retire_ids_of=None, progress=None) -> None:
    """Read and apply in this thread (see :func:`prepare_import` and :func:`apply_import`)."""
    prepared = prepare_import(source, movie_path, session.params, movie_options=movie_options,
                              frame_rate=frame_rate, progress=progress)
    apply_import(session, prepared, retire_ids_of=retire_ids_of)

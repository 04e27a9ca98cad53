"""After the fit, what a person curating would do first: status, reasons and the silent cells.

1. Metrics of every component (:func:`.evaluation.evaluate`).
2. Duplicates (two components on one cell) and fragments (a piece smaller than a soma whose
   activity is a neighbour's) are found (:mod:`.duplicates`) and kept as metrics, so that the
   one thresholding rule, :func:`.evaluation.classify`, rejects them with their reason.
3. Somata of the mean image that no component covers get a footprint (:mod:`.silent_cells`);
   then every trace is extracted again with them in the model, so that they are demixed from
   their neighbours like any component, and the metrics are measured again. Those without
   events are inactive: the user sees every cell, active or not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.duplicates import find_duplicates
from cnmf_gui.engine.evaluation import classify, evaluate
from cnmf_gui.engine.silent_cells import find_silent_somata
from cnmf_gui.engine.streaming import movie_shape
from cnmf_gui.engine.temporal import TemporalResult, trace_statistics, update_temporal
from cnmf_gui.progress import SubProgress
from cnmf_gui.results import STATUS_ACCEPTED, STATUS_REJECTED, STATUS_UNDECIDED

log = logging.getLogger("cnmf_gui.engine")


@dataclass
class Review:
    """Components after the review, all (K, ...) in one order.

    Attributes
    ----------
    A : csc_matrix of shape (H*W, K)
    temporal : TemporalResult
    metrics : dict of str to ndarray of shape (K,)
    status : ndarray of shape (K,), int8
    reasons : ndarray of shape (K,), object (str)
    """

    A: sp.csc_matrix
    temporal: TemporalResult
    metrics: dict
    status: np.ndarray
    reasons: np.ndarray


def _evaluate(movie, A, tr, b, mean_image, params, from_mean, progress):
    ep, r = params.evaluation, params.init.neuron_radius
    _, H, W = movie_shape(movie)
    metrics, _ = evaluate(movie, A, tr.C, tr.sn, mean_image, ep, b=b, f=tr.f,
                          chunk_frames=params.cnmf.chunk_frames, neuron_radius=r, demixed=True,
                          progress=progress)
    metrics["from_mean_image"] = from_mean.astype(float)
    first = classify(metrics, ep, neuron_radius=r)
    # a component rejected for its own faults cannot be the cell another one duplicates
    dup, frag = find_duplicates(A, tr.C, metrics["snr"], (H, W), r,
                                eligible=(first != STATUS_REJECTED) & ~from_mean)
    metrics["duplicate_of"] = dup
    metrics["fragment_of"] = frag
    status, reasons = classify(metrics, ep, neuron_radius=r, explain=True)
    return metrics, status, reasons


def review_components(movie, A: sp.csc_matrix, temporal: TemporalResult, b: np.ndarray,
                      mean_image: np.ndarray, params, *, find_silent: bool = True,
                      progress=None) -> Review:
    """Metrics, status and reasons of every component, with inactive somata added.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    A : csc_matrix of shape (H*W, K)
        Footprints after the fit.
    temporal : TemporalResult
        Their traces and the temporal background.
    b : ndarray of shape (H*W, nb)
        Spatial background.
    mean_image : ndarray of shape (H, W)
    params : PipelineParams
        With ``init.neuron_radius`` resolved (> 0).
    find_silent : bool
        Look for silent somata of the mean image.
    progress : Progress, optional

    Returns
    -------
    Review
    """
    A = sp.csc_matrix(A)
    K = A.shape[1]
    tr = temporal
    from_mean = np.zeros(K, bool)
    metrics, status, reasons = _evaluate(movie, A, tr, b, mean_image, params, from_mean,
                                         SubProgress(progress, 0.0, 0.3, "evaluation"))
    if not find_silent:
        return Review(A, tr, metrics, status, reasons)
    # Somata already held: by accepted components and by undecided ones of a soma's shape
    # (sprawling undecided neuropil would hide the cells beneath it).
    ep = params.evaluation
    compact = np.nan_to_num(np.asarray(metrics["compactness"], float))
    holders = (status == STATUS_ACCEPTED) | ((status == STATUS_UNDECIDED) & (compact >= ep.accept_compactness))
    new = find_silent_somata(mean_image, A, params.init.neuron_radius, active=holders,
                             min_compactness=ep.accept_compactness)
    n_new = new.shape[1]
    if n_new == 0:
        return Review(A, tr, metrics, status, reasons)
    log.info("%d somata of the mean image had no component: extracting their traces", n_new)
    A = sp.hstack([A, new]).tocsc()
    from_mean = np.r_[from_mean, np.ones(n_new, bool)]
    C0 = np.vstack([tr.C, np.zeros((n_new, tr.C.shape[1]))])
    AtY, btY = trace_statistics(movie, A, b, chunk_frames=params.cnmf.chunk_frames,
                                progress=SubProgress(progress, 0.3, 0.6, "silent cells"))
    tr = update_temporal(AtY, (A.T @ A).tocsr(), np.asarray(A.T @ b), C0, btY, b.T @ b, tr.f,
                         params.deconvolution, progress=SubProgress(progress, 0.6, 0.7, "silent cells"))
    metrics, status, reasons = _evaluate(movie, A, tr, b, mean_image, params, from_mean,
                                         SubProgress(progress, 0.7, 1.0, "evaluation"))
    return Review(A, tr, metrics, status, reasons)

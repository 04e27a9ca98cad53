"""An online run's state as the results every other part reads (:class:`~cnmf_gui.results.SessionData`).

Footprints are scaled to unit norm and the traces by the same factor (the batch convention);
metrics are measured again on the whole traces (SNR) or kept from when the component was found
(spatial consistency), and the status comes from the one rule, :func:`engine.evaluation.classify`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.dff import compute_dff
from cnmf_gui.engine.duplicates import find_duplicates
from cnmf_gui.engine.evaluation import classify, trace_snr
from cnmf_gui.engine.footprints import areas, compactness, elongation, flatness
from cnmf_gui.results import (STATUS_REJECTED, Background, Components, MotionResult, SessionData,
                              SummaryImages)


def footprints_and_scale(state) -> tuple[sp.csc_matrix, np.ndarray]:
    """Unit-norm footprints (P, K) and each component's norm (K,)."""
    A = state.A
    norms = np.sqrt(np.asarray(A.multiply(A).sum(axis=0)).ravel())
    scale = np.where(norms > 0, norms, 1.0)
    return sp.csc_matrix(A @ sp.diags(1.0 / scale)), scale


def to_session_data(run, *, dff: bool = True) -> SessionData:
    """Everything the run knows now, as SessionData (the traces are complete up to now).

    Parameters
    ----------
    run : OnlineCNMF
    dff : bool
        Compute dF/F (a pass over the traces; a live view may skip it and show F).
    """
    st = run.state
    p = run.params
    st.finish_traces()
    T = st.t
    H, W = st.shape
    K = st.K
    A, scale = footprints_and_scale(st)
    sc = scale[:, None]
    F = st.traces.view("F").astype(np.float64) * sc
    C = st.traces.view("C").astype(np.float64) * sc
    S = st.traces.view("S").astype(np.float64) * sc
    f = st.traces.view("f").copy()
    baseline = st.deconv.baseline * scale
    sn = st.deconv.sn * scale
    metrics = {k: np.asarray(v, float) for k, v in run.metrics.items()}
    metrics["snr"] = trace_snr(C, sn)
    metrics["area"] = areas(A)
    metrics["compactness"] = compactness(A, (H, W))
    # the shape rules of the batch review ("elongated", "blurred") on the footprints as they are
    # now: the initialisation's values are of its footprints, and a component found online had none
    metrics["elongation"] = elongation(A, (H, W))
    metrics["flatness"] = flatness(A)
    r_run = st.spatial_values()
    r_value = np.asarray(metrics.get("r_value", np.full(K, np.nan)), float)
    metrics["r_value"] = np.where(np.isfinite(r_run), r_run, r_value)
    # Duplicates and fragments as the batch review finds them (engine.review): a component the
    # online search added on a cell that an existing component also holds is one of the two.
    r = p.init.neuron_radius
    from_mean = np.nan_to_num(metrics.get("from_mean_image", np.zeros(K))) > 0
    for key in ("duplicate_of", "fragment_of"):
        metrics.pop(key, None)
    first = classify(metrics, p.evaluation, neuron_radius=r)
    if K:
        metrics["duplicate_of"], metrics["fragment_of"] = find_duplicates(
            A, C, metrics["snr"], (H, W), r, eligible=(first != STATUS_REJECTED) & ~from_mean)
    status, reasons = classify(metrics, p.evaluation, neuron_radius=r, explain=True)
    fs = p.frame_rate or 30.0
    if dff and K:
        under = np.asarray(A.T @ st.b) @ f if st.nb else None
        dff_arr = compute_dff(F, frame_rate=fs, quantile=p.evaluation.dff_quantile,
                              window_s=p.evaluation.dff_window, background=under)
    else:
        dff_arr = np.zeros_like(F)
    g = st.deconv.g.reshape(K, 1)
    ar2 = getattr(st, "ar2", None)
    if ar2 is not None and ar2.n_traces:
        # AR(1) traces as [g, 0], as the batch's p = "auto" gives them
        g = np.hstack([g, np.zeros((K, 1))])
        g[ar2.rows] = ar2.g
    comps = Components(A=A, C=C, S=S, F=F, dff=dff_arr, baseline=baseline, sn=sn,
                       epsilon=st.deconv.epsilon.copy(), g=g, status=status, ids=np.arange(K),
                       metrics=metrics, lam=st.deconv.lam * scale, reason=reasons)
    shifts = st.traces.view("shifts").copy()
    motion = None
    if run.motion is not None or run.init_data.motion is not None:
        template = run.motion.template if run.motion is not None else run.init_data.motion.template
        motion = MotionResult(shifts=shifts, template=np.asarray(template, np.float32))
    s0 = run.summary0
    summary = SummaryImages(mean=(run.sum / max(T, 1)).astype(np.float32), max=run.max.copy(),
                            correlation=s0.correlation, pnr=s0.pnr)
    return SessionData(movie_path=None, movie_shape=(T, H, W), movie_dtype="float32", frame_rate=fs,
                       params=p, motion=motion, summary=summary, components=comps,
                       background=Background(b=st.b.copy(), f=f), curation_log=[])

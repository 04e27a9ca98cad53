"""``deconvolve_many``: every trace of a population, on all cores, cancellable.

The solvers are numba functions that release the GIL, so a pool of threads (cheap to start,
unlike processes) runs them in parallel. Components are handed out in batches sized to about
50 ms of work, and the calling thread checks for cancellation between batches.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np

from cnmf_gui.engine.deconvolution import validate as V
from cnmf_gui.engine.deconvolution.result import DeconvManyResult
from cnmf_gui.engine.deconvolution.single import solve_auto, solve_one
from cnmf_gui.engine.deconvolution.solver import baseline_mode
from cnmf_gui.engine.deconvolution.spectral import auto_kinetics
from cnmf_gui.engine.noise import estimate_ar, estimate_noise
from cnmf_gui.errors import Cancelled, ParameterError
from cnmf_gui.progress import checkpoint

#: Target work per batch between two cancellation checks.
BATCH_SECONDS = 0.05
#: First guess of the solver's cost per frame, refined from the batches already done.
NS_PER_FRAME_GUESS = 300.0


def _per_component(value, K: int, name: str, dtype=float) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(K, arr, dtype=dtype)
    if arr.shape != (K,):
        raise ParameterError(f"{name} must be a number or an array of shape ({K},), got shape {arr.shape}")
    return arr


def deconvolve_many(traces, *, p: int = 1, g=None, sn=None, epsilon=0.0, s_min: float = 0.0,
                    method: str = "fast", baseline: str = "nonneg", b=None, progress=None,
                    n_workers: int | None = None, noise_range=(0.25, 0.5),
                    noise_method: str = "logmexp", lags: int = 5, refine_g: bool = False,
                    detrend_window: int | None = None, labels=None) -> DeconvManyResult:
    """Noise-constrained deconvolution of K traces (see :func:`deconvolve`).

    Parameters
    ----------
    traces : array_like of shape (K, T)
    p : {0, 1, 2, "auto"}
        AR order; "auto" chooses AR(1) or AR(2), the kinetics and the noise level per trace
        from its power spectrum (:mod:`.spectral`); g is then returned as (K, 2). With
        ``refine_g`` (and g estimated), see :func:`.single.solve_auto`.
    g : array_like of shape (p,) (shared) or (K, p), optional
        Estimated per trace when None (with "auto", p = 2 here, and (K, 1) is taken as AR(1)).
    sn : array_like of shape (K,) or float, optional
        Estimated per trace when None.
    epsilon : float or array_like of shape (K,)
    s_min : float
        As in :func:`deconvolve` (negative: a multiple of each trace's sn).
    method, baseline, b, noise_range, noise_method, lags, refine_g, detrend_window
        As in :func:`deconvolve`; ``b`` may be per component, shape (K,).
    progress : Progress, optional
        Reports the fraction of components done; cancellation is checked between batches.
    n_workers : int, optional
        Threads (default: one per core).
    labels : sequence of str, optional
        Component names for error messages.

    Returns
    -------
    DeconvManyResult
        c, s of shape (K, T); b, sn, lam, epsilon, status of shape (K,); g of shape (K, p).
    """
    p = V.check_p(p)
    V.check_choice(method, V.METHODS, "method")
    V.check_choice(baseline, V.BASELINES, "baseline")
    Y = V.check_traces(traces, labels=labels)
    K, T = Y.shape
    names = list(labels) if labels is not None else [f"component {k}" for k in range(K)]
    eps = _per_component(epsilon, K, "epsilon")
    for k in range(K):
        V.check_epsilon(eps[k])
    auto = p == "auto"
    if auto:
        p = 2  # per trace AR(1) (g2 = 0) or AR(2): the coefficients are stored as (K, 2)
    if sn is None:
        sns = None if auto and g is None else np.asarray(
            estimate_noise(Y, noise_range=noise_range, method=noise_method), float).reshape(K)
    else:
        sns = _per_component(sn, K, "sn")
        for k in range(K):
            V.check_sn(sns[k], names[k])
    hybrid = auto and g is None and refine_g
    if g is None and auto:
        G, sns = auto_kinetics(Y, sn=sns, noise_range=noise_range, noise_method=noise_method,
                               lags=lags, detrend_window=detrend_window)
        if hybrid:   # AR(1) from the autocovariance first, then AR(2) where chosen (solve_auto)
            g1 = estimate_ar(Y, 1, lags=lags, detrend_window=detrend_window).reshape(K)
    elif g is None:
        G = estimate_ar(Y, p, lags=lags, detrend_window=detrend_window).reshape(K, p)
    else:
        garr = np.asarray(g, dtype=float)
        if garr.ndim <= 1:
            G = np.tile(V.check_g(garr, p, "all components"), (K, 1))
        elif auto and garr.ndim == 2 and garr.shape == (K, 1):
            G = np.array([V.check_g(np.r_[garr[k], 0.0], 2, names[k]) for k in range(K)])
        elif garr.shape == (K, p):
            G = np.array([V.check_g(garr[k], p, names[k]) for k in range(K)]).reshape(K, p)
        else:
            raise ParameterError(f"g must have shape ({p},) or ({K}, {p}), got {garr.shape}")
    s_min = float(s_min)
    s_abs = np.full(K, s_min) if s_min >= 0 else -s_min * sns
    if b is None:
        modes = [baseline_mode(baseline, None)] * K
    else:
        bb = _per_component(b, K, "b")
        modes = [baseline_mode(baseline, float(bb[k])) for k in range(K)]

    C = np.zeros((K, T))
    S = np.zeros((K, T))
    B = np.zeros(K)
    lam = np.zeros(K)
    status = np.empty(K, dtype=object)

    def run(lo, hi):
        start = None
        for k in range(lo, hi):
            mode, b_fixed = modes[k]
            if hybrid:
                r = solve_auto(Y[k], G[k], float(g1[k]), float(sns[k]), float(eps[k]),
                               float(s_abs[k]), mode, b_fixed, method, start=start)
            else:
                r = solve_one(Y[k], G[k], float(sns[k]), float(eps[k]), float(s_abs[k]), mode,
                              b_fixed, method, refine=refine_g, start=start)
            # The previous trace's (lam, b), in units of sigma, starts the next one's iteration.
            if r.status == "optimal" and r.sn > 0:
                start = (r.lam / r.sn, r.b / r.sn)
            C[k] = r.c
            S[k] = r.s
            B[k] = r.b
            lam[k] = r.lam
            status[k] = r.status
            G[k] = r.g
        return hi - lo

    workers = n_workers or os.cpu_count() or 1
    if method == "cvxpy":
        workers = 1  # CVXPY holds the GIL for much of its work
    _run_batches(run, K, T, workers, progress)
    return DeconvManyResult(c=C, s=S, b=B, g=G, sn=sns, lam=lam, epsilon=eps,
                            status=status.astype(str))


def _run_batches(run, K, T, workers, progress):
    """Run ``run(lo, hi)`` over [0, K) in batches of ~BATCH_SECONDS, checking for cancel."""
    checkpoint(progress, 0.0, "deconvolution")
    done = 0
    nxt = 0
    ns_per_frame = NS_PER_FRAME_GUESS
    t_start = time.perf_counter()

    def batch_size():
        per_trace = max(T * ns_per_frame * 1e-9, 1e-6)
        return int(max(1, min(K, BATCH_SECONDS / per_trace)))

    if workers <= 1:
        while nxt < K:
            hi = min(K, nxt + batch_size())
            done += run(nxt, hi)
            nxt = hi
            ns_per_frame = (time.perf_counter() - t_start) / (done * T) * 1e9
            checkpoint(progress, done / K, f"deconvolution: {done}/{K} components")
        return
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="deconv")
    pending = set()
    try:
        while nxt < K or pending:
            while nxt < K and len(pending) < 2 * workers:
                hi = min(K, nxt + batch_size())
                pending.add(pool.submit(run, nxt, hi))
                nxt = hi
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                done += fut.result()
            ns_per_frame = max((time.perf_counter() - t_start) * workers / (done * T) * 1e9, 1.0)
            checkpoint(progress, done / K, f"deconvolution: {done}/{K} components")
    except (Cancelled, BaseException):
        for fut in pending:
            fut.cancel()
        raise
    finally:
        pool.shutdown(wait=True)

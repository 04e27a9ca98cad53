"""``deconvolve``: one trace, noise-constrained, exact."""

from __future__ import annotations

import logging

import numpy as np

from cnmf_gui.engine.deconvolution import validate as V
from cnmf_gui.engine.deconvolution.kinetics import refine_g as _refine
from cnmf_gui.engine.deconvolution.result import DeconvResult
from cnmf_gui.engine.deconvolution.solver import (baseline_mode, solve_scaled, threshold,
                                                  zero_baseline)
from cnmf_gui.engine.deconvolution.spectral import auto_kinetics
from cnmf_gui.engine.noise import estimate_ar, estimate_noise

log = logging.getLogger("cnmf_gui.engine")

#: Spikes below this many sigma are ignored when refining g on the thresholded support.
REFINE_THRESHOLD = 2.0
#: Rounds of (refit g on the support, solve again). A g that starts far too slow (a resolved
#: rise and bursts bias the autocovariance) gives a first support padded with the decays it
#: could not follow; the second round, on the support of a solution with a near-right g,
#: moves it most of the rest of the way (realistic sweep movies: median r(C) +0.002 to +0.006,
#: r(S) within -0.005 / +0.005); more rounds changed little.
REFINE_ROUNDS = 2


def prepare(y, *, p, g, sn, epsilon, s_min, noise_range, noise_method, lags, label,
            detrend_window=None):
    """Checked (g, sn, epsilon, absolute s_min) for one trace, estimating what is missing."""
    eps = V.check_epsilon(epsilon)
    sn_val = (estimate_noise(y, noise_range=noise_range, method=noise_method) if sn is None
              else V.check_sn(sn, label))
    if p == "auto":
        if g is None:
            G, sns = auto_kinetics(y[None, :], sn=None if sn is None else [sn_val],
                                   noise_range=noise_range, noise_method=noise_method, lags=lags,
                                   detrend_window=detrend_window)
            g_arr, sn_val = G[0], float(sns[0])
        else:
            g_arr = np.atleast_1d(np.asarray(g, dtype=float)).ravel()
            g_arr = V.check_g(np.r_[g_arr, 0.0] if g_arr.size == 1 else g_arr, 2, label)
    elif g is None:
        g_arr = estimate_ar(y, p, lags=lags, detrend_window=detrend_window) if p > 0 else np.zeros(0)
    else:
        g_arr = V.check_g(g, p, label)
    s_min = float(s_min)
    if not np.isfinite(s_min):
        raise V.ParameterError(f"s_min must be a finite number, got {s_min!r}")
    s_abs = s_min if s_min >= 0 else -s_min * sn_val
    return g_arr, float(sn_val), eps, s_abs


def solve_one(y, g, sn, eps, s_abs, mode, b_fixed, method, refine=False, start=None):
    """Solve a checked trace; returns a DeconvResult.

    ``start`` = (lam, b) / sn of a similar trace speeds up the AR(1) iteration (same result).
    """
    T = y.size
    scale = sn if sn > 0 else max(float(np.std(y)), 1e-300)
    bs = b_fixed / scale
    theta = (1.0 + eps) * (sn / scale) * np.sqrt(T)
    if method == "cvxpy":
        if np.ptp(y) == 0.0:
            return _constant(y, g, sn, eps, mode, b_fixed)
        ys = y / scale
        c, s, b, lam, status, it = _solve_cvxpy(ys, g, theta, mode, bs)
        if s_abs > 0 and status != "zero":
            c, s, b = threshold(ys, g, mode, bs, s, s_abs / scale)
            status = "thresholded"
    else:
        # The compiled solve divides by the scale itself (no scaled copy made here).
        try:
            c, s, b, lam, status, it = solve_scaled(y, g, theta, mode, bs, s_abs / scale, start,
                                                    scale=scale)
        except RuntimeError:
            # The active-set solvers can fail to converge where no c meets the noise constraint
            # (e.g. a trace mostly below a baseline held >= 0) or on near-double AR(2) roots:
            # the CVXPY reference solves the same problem (slower, but rare).
            log.warning("fast deconvolution did not converge (g = %s); solved with CVXPY", list(g))
            ys = y / scale
            try:
                c, s, b, lam, status, it = _solve_cvxpy(ys, g, theta, mode, bs)
            except RuntimeError:
                # CVXPY too can find no c (a trace mostly below a baseline held >= 0 with g
                # near 1, seen once in the sweep): keep the trace above its baseline rather
                # than stop the whole run.
                log.warning("no deconvolution fits this trace (g = %s): kept as it is", list(g))
                c, s, b, lam, status, it = _undeconvolved(ys, g, mode, bs)
            if s_abs > 0 and status != "zero":
                c, s, b = threshold(ys, g, mode, bs, s, s_abs / scale)
                status = "thresholded"
        if status == "constant":
            return _constant(y, g, sn, eps, mode, b_fixed)
    if refine and len(g) > 0:
        ys = y / scale
        for _ in range(REFINE_ROUNDS):
            if status == "zero":
                break
            g_new = _refined(ys, g, c, s, b, mode, bs)
            try:
                c2, s2, b2, lam2, status2, it2 = solve_scaled(ys, g_new, theta, mode, bs, s_abs / scale)
            except RuntimeError:
                # the refined kinetics are worth less than a failed run: keep the last solution
                log.warning("deconvolution with refined kinetics did not converge (g = %s): kept g = %s",
                            list(g_new), list(g))
                break
            g, c, s, b, lam, status, it = g_new, c2, s2, b2, lam2, status2, it2
    c *= scale
    s *= scale
    return DeconvResult(c=c, s=s, b=float(b * scale), g=np.asarray(g, float), sn=sn,
                        lam=float(lam * scale), epsilon=eps, status=status, iterations=it)


def solve_auto(y, g_spectral, g1_start, sn, eps, s_abs, mode, b_fixed, method, start=None):
    """``p="auto"`` with refinement: AR(1) first, then AR(2) where the spectrum resolved a rise.

    The spectral fit chooses the order well but its decay is often far too slow on traces with
    drifts or neighbours' activity (GCaMP6f: 1.6-2 s for a true 0.4 s), and the refinement on
    the spike support, started there, kept the error. The AR(1) solve refined from the
    autocovariance decay finds the decay; the AR(2) solve then starts from that decay and the
    spectral rise (at most d^RISE_RATIO) and is refined in turn. On the accuracy sweep's saved
    traces (rows A, C, 6s, fps7, 8m, snr3: GCaMP6f/6s/8m, 7.5-30 Hz) the median r(S) rose by
    0.000-0.068 over AR(1) and by 0.000-0.048 over AR(2) refined from the spectral start, with
    r(C) equal or higher.

    Parameters
    ----------
    y : ndarray of shape (T,)
    g_spectral : ndarray of shape (2,)
        The spectral fit's coefficients, g[1] = 0 where it chose AR(1).
    g1_start : float
        AR(1) coefficient to start from (the autocovariance fit).
    sn, eps, s_abs, mode, b_fixed, method, start
        As in :func:`solve_one`.

    Returns
    -------
    DeconvResult
        With ``g`` of shape (2,) (g[1] = 0 for AR(1)).
    """
    from cnmf_gui.engine.deconvolution.kinetics import RISE_RATIO
    from cnmf_gui.engine.noise import ar_roots

    one = solve_one(y, np.array([float(g1_start)]), sn, eps, s_abs, mode, b_fixed, method,
                    refine=True, start=start)
    if g_spectral[1] == 0.0 or one.status == "zero" or one.g[0] <= 0.0:
        one.g = np.array([float(one.g[0]), 0.0])
        return one
    d = float(one.g[0])
    rise = float(np.min(np.real(ar_roots(g_spectral))))
    r = min(max(rise, 0.0), d ** RISE_RATIO)
    # Kept even where the AR(2) constraint is infeasible (its closest fit): on the sweep's movie
    # C (4 photons per unit) a fall-back to a feasible AR(1) there cost 0.03 in median r(S).
    return solve_one(y, np.array([d + r, -d * r]), sn, eps, s_abs, mode, b_fixed, method, refine=True)


def _undeconvolved(ys, g, mode, bs):
    """c = the trace above its best constant baseline, s = max(G c, 0), status "infeasible"."""
    from cnmf_gui.engine.deconvolution.reference_cvxpy import ar_operator

    b = zero_baseline(ys, mode, bs)
    c = np.maximum(ys - b, 0.0)
    s = np.maximum(ar_operator(g, ys.size) @ c, 0.0) if len(g) else c.copy()
    return c, s, b, 0.0, "infeasible", 0


def _constant(y, g, sn, eps, mode, b_fixed):
    """A constant trace holds no activity: c = 0 and the best baseline."""
    T = y.size
    b0 = zero_baseline(y, mode, b_fixed)
    theta = (1.0 + eps) * sn * np.sqrt(T)
    status = "zero" if float(np.sum((y - b0) ** 2)) <= theta * theta else "infeasible"
    return DeconvResult(c=np.zeros(T), s=np.zeros(T), b=float(b0), g=g, sn=sn,
                        lam=np.inf if status == "zero" else 0.0, epsilon=eps, status=status)


def _refined(ys, g, c, s, b, mode, bs):
    """Refit g on the support of the solution thresholded at REFINE_THRESHOLD sigma."""
    from cnmf_gui.engine.deconvolution.solver import _support_fit

    _, s_thr, _ = threshold(ys, g, mode, bs, s, REFINE_THRESHOLD)
    support = (s_thr > 0).astype(np.uint8)
    if not support.any():
        return g
    cw = np.empty(ys.size)
    sw = np.empty(ys.size)

    def rss(g_try):
        g2 = float(g_try[1]) if len(g_try) > 1 else 0.0
        bb = _support_fit(ys, float(g_try[0]), g2, support.copy(), mode, bs, cw, sw)
        return float(np.sum((ys - bb - cw) ** 2))

    g = np.asarray(g, dtype=float)
    if g.size == 2 and g[1] == 0.0:
        # AR(1) chosen for this trace (p="auto" stores it as (g1, 0)): its rise is not resolved,
        # so the refit keeps it AR(1) instead of inventing a rise (GCaMP8m at 30 Hz: a free
        # second root lowered r(C) by 0.004 and r(S) by 0.005 on the sweep).
        return np.r_[_refine(ys, g[:1], rss, 1), 0.0]
    return _refine(ys, g, rss, g.size)


def _solve_cvxpy(ys, g, theta, mode, bs):
    from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_FREE
    from cnmf_gui.engine.deconvolution.reference_cvxpy import ar_operator, solve_cvxpy

    T = ys.size
    b0 = zero_baseline(ys, mode, bs)
    if float(np.sum((ys - b0) ** 2)) <= theta * theta:
        return np.zeros(T), np.zeros(T), b0, np.inf, "zero", 0
    name = "fixed" if mode == MODE_FIXED else ("free" if mode == MODE_FREE else "nonneg")
    c, b, lam = solve_cvxpy(ys, g, theta, baseline=name, b_fixed=bs)
    s = np.maximum(ar_operator(g, T) @ c, 0.0)
    return c, s, b, lam, ("infeasible" if lam == 0.0 else "optimal"), 0


def deconvolve(trace, *, p: int = 1, g=None, sn=None, b=None, epsilon: float = 0.0,
               s_min: float = 0.0, method: str = "fast", baseline: str = "nonneg",
               noise_range=(0.25, 0.5), noise_method: str = "logmexp", lags: int = 5,
               refine_g: bool = False, detrend_window: int | None = None,
               label: str = "trace") -> DeconvResult:
    """Noise-constrained deconvolution of one calcium trace.

    Solves, exactly,

        minimise ||G c||_1  subject to  ||c + b - y||_2 <= theta,  G c >= 0,
        theta = (1 + epsilon) sn sqrt(T),

    with G the AR(p) operator (s_0 = c_0; for AR(2) s_1 = c_1 - g_1 c_0: no calcium before the
    first frame). If c = 0 meets the constraint, the answer is c = 0 (status "zero",
    lam = inf).

    Parameters
    ----------
    trace : array_like of shape (T,)
        Fluorescence trace, T >= 4, finite.
    p : {0, 1, 2, "auto"}
        AR order (0: G = I, spikes are the calcium itself). "auto": AR(1) or AR(2), the
        kinetics and (unless ``sn`` is given) the noise level chosen from a fit of the trace's
        power spectrum (:func:`.spectral.select_kinetics`); ``g`` is then returned with 2
        entries, g[1] = 0 for AR(1).
    g : array_like of shape (p,), optional
        AR coefficients; estimated from the autocovariance (p = 1, 2) or the spectrum ("auto")
        when None.
    sn : float, optional
        Noise level; estimated from the power spectrum when None.
    b : float, optional
        A given baseline (overrides ``baseline``).
    epsilon : float
        Relaxation of the noise constraint, > -1.
    s_min : float
        Minimum spike size: 0 for the convex solution; > 0 an absolute size; < 0 a multiple
        of sn. Spikes below it are removed and the amplitudes refitted (status "thresholded").
    method : {"fast", "cvxpy"}
        The exact active-set solvers, or CVXPY's default solver (the reference).
    baseline : {"nonneg", "free", "zero"}
        Constant baseline b fitted with b >= 0, fitted freely, or fixed at 0.
    noise_range, noise_method : see :func:`cnmf_gui.engine.noise.estimate_noise`.
    lags : int
        Autocovariance lags for estimating g.
    detrend_window : int, optional
        Frames of the running mean removed before estimating g (see
        :func:`cnmf_gui.engine.noise.estimate_ar`); the trace itself is deconvolved as given.
    refine_g : bool
        Refine g by minimising the residual on the thresholded spike support, then re-solve.
        With p="auto" (g estimated): AR(1) refined first, then AR(2) from its decay where the
        spectrum resolved a rise (:func:`solve_auto`).
    label : str
        Name of the trace in error messages.

    Returns
    -------
    DeconvResult

    References
    ----------
    Pnevmatikakis et al. (2016), Neuron 89(2):285-299 (the problem).
    Friedrich, Zhou & Paninski (2017), PLoS Comput Biol 13(3):e1005423 (OASIS, AR(1) solver).
    """
    p = V.check_p(p)
    V.check_choice(method, V.METHODS, "method")
    V.check_choice(baseline, V.BASELINES, "baseline")
    y = V.check_trace(trace, label=label)
    g_arr, sn_val, eps, s_abs = prepare(y, p=p, g=g, sn=sn, epsilon=epsilon, s_min=s_min,
                                        noise_range=noise_range, noise_method=noise_method,
                                        lags=lags, label=label, detrend_window=detrend_window)
    mode, b_fixed = baseline_mode(baseline, b)
    if p == "auto" and g is None and refine_g:
        g1 = estimate_ar(y, 1, lags=lags, detrend_window=detrend_window)[0]
        return solve_auto(y, g_arr, g1, sn_val, eps, s_abs, mode, b_fixed, method)
    return solve_one(y, g_arr, sn_val, eps, s_abs, mode, b_fixed, method, refine=refine_g)

"""AR order, kinetics and noise level of a trace from one fit of its power spectrum.

A calcium trace y = c + b + noise, with c an AR(p) process driven by sparse spikes and white
noise of variance sigma^2, has the power spectrum

    S(w) = sigma^2 + v / |(1 - d e^{-iw}) (1 - r e^{-iw})|^2,

d the per-frame decay factor and r the rise factor (r = 0: AR(1)). Fitting S to the periodogram
by Whittle's likelihood estimates sigma, d and r together, so the noise level is not inflated by
the calcium transients that reach the upper band of the spectrum (fast indicators, slow frame
rates, high SNR), and the decay is not biased by the noise. The order is chosen by the
Bayesian information criterion, and AR(2) only where the rise lasts long enough to be resolved
at the trace's sampling (tau_rise > 1 / (pi f_c) frames, f_c the band limit, 0.5 for a trace
sampled as recorded).

The lowest frequencies (below ``F_LOW`` cycles per frame) are left out of the fit: slow drifts of
the baseline (bleaching, focus) live there. A trace resampled from a lower rate (f_c < 0.5) has
noise shaped by the interpolation filter, not white; the model does not hold for it and
:func:`select_kinetics` reports ``valid = False`` (the caller keeps the autocovariance fit).

References
----------
Whittle, P. (1953). Estimation and information in stationary time series. Ark. Mat. 2:423-434.
Pnevmatikakis et al. (2016), Neuron 89(2):285-299 (AR(p) calcium model, noise from the spectrum).
Schwarz, G. (1978). Estimating the dimension of a model. Ann. Stat. 6(2):461-464 (BIC).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import optimize, special

from cnmf_gui.engine.deconvolution.kinetics import RISE_RATIO
from cnmf_gui.engine.noise import MAX_ROOT

#: Periodogram ordinates below this frequency (cycles per frame) are not fitted: baseline drifts
#: live there (1/1000: slower than 33 s at 30 Hz). At least the first ordinate above 0 is kept.
F_LOW = 1e-3
#: Ordinates are averaged into at most this many bins before fitting.
MAX_BINS = 512
#: Fewer fitted ordinates than this: no fit (the caller falls back to the autocovariance).
MIN_ORDINATES = 16


@dataclass
class SpectralFit:
    """Result of :func:`fit_spectrum` for one order.

    Attributes
    ----------
    g : ndarray of shape (p,)
        AR coefficients (roots d >= r in [0, MAX_ROOT]).
    sigma : float
        White-noise standard deviation per frame.
    decay, rise : float
        Per-frame factors d and r (r = 0 for AR(1)).
    nll : float
        Whittle negative log-likelihood at the optimum.
    n : int
        Ordinates fitted.
    """

    g: np.ndarray
    sigma: float
    decay: float
    rise: float
    nll: float
    n: int


def _sigmoid(x):
    return special.expit(x)


def _logit(p):
    p = min(max(p, 1e-6), 1 - 1e-6)
    return float(np.log(p / (1.0 - p)))


def periodogram(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (cycles per frame) and periodogram |FFT|^2 / T of a (T,) trace, mean removed."""
    y = np.asarray(y, dtype=np.float64)
    x = y - y.mean()
    P = (np.abs(np.fft.rfft(x)) ** 2) / y.size
    return np.arange(P.size) / y.size, P


@njit(cache=True, nogil=True)
def _whittle(x, cw, Ps, p, weight, max_decay):
    """Whittle negative log-likelihood and its gradient in the fit's coordinates.

    ``x`` = (log sigma^2, log v, logit d / max_decay[, logit r / d^RISE_RATIO]), each clipped
    to [-40, 20] (the line search may try wild steps; exp would overflow), where the gradient
    of a clipped coordinate is 0. Analytic: finite differences had cost 2/3 of the fit.
    """
    n = x.size
    xc = np.empty(n)
    inside = np.empty(n)
    for i in range(n):
        xc[i] = min(max(x[i], -40.0), 20.0)
        inside[i] = 1.0 if -40.0 < x[i] < 20.0 else 0.0
    e0 = np.exp(xc[0])
    e1 = np.exp(xc[1])
    s2 = 1.0 / (1.0 + np.exp(-xc[2]))
    d = max_decay * s2
    rr = 0.0
    s3 = 0.0
    if p == 2:
        s3 = 1.0 / (1.0 + np.exp(-xc[3]))
        rr = d ** RISE_RATIO * s3
    f = 0.0
    g0 = 0.0
    g1 = 0.0
    gd = 0.0    # d nll / d d (rise held as the fraction s3 of d^RISE_RATIO)
    gr = 0.0    # d nll / d rr (d held)
    for j in range(cw.size):
        c = cw[j]
        t1 = 1.0 - 2.0 * d * c + d * d
        t2 = 1.0
        if p == 2:
            t2 = 1.0 - 2.0 * rr * c + rr * rr
        A = t1 * t2
        S = e0 + e1 / A
        f += np.log(S) + Ps[j] / S
        q = 1.0 / S - Ps[j] / (S * S)
        g0 += q * e0
        g1 += q * e1 / A
        dSdA = -q * e1 / (A * A)
        gd += dSdA * t2 * 2.0 * (d - c)
        if p == 2:
            gr += dSdA * t1 * 2.0 * (rr - c)
    grad = np.empty(n)
    grad[0] = weight * g0 * inside[0]
    grad[1] = weight * g1 * inside[1]
    if p == 2 and d > 0.0:
        gd += gr * RISE_RATIO * rr / d      # rr = d^RISE_RATIO s3 moves with d
    grad[2] = weight * gd * max_decay * s2 * (1.0 - s2) * inside[2]
    if p == 2:
        grad[3] = weight * gr * rr * (1.0 - s3) * inside[3]
    return weight * f, grad


def fit_spectrum(freqs: np.ndarray, P: np.ndarray, p: int, start: dict, *, weight: float = 1.0,
                 max_decay: float = MAX_ROOT) -> SpectralFit:
    """Whittle fit of the AR(p) + white noise spectrum to periodogram ordinates.

    Parameters
    ----------
    freqs, P : ndarray of shape (n,)
        Fitted ordinates (cycles per frame, periodogram), possibly averages of ``weight``
        neighbouring ordinates each.
    p : {1, 2}
    start : dict
        Starting ``sigma2``, ``v``, ``d`` and (p = 2) ``r_frac`` (r / d^RISE_RATIO).
    weight : float
        Ordinates averaged into each of ``P`` (the likelihood counts each that many times).
    max_decay : float
        Largest decay factor d allowed.

    Returns
    -------
    SpectralFit
    """
    cw = np.ascontiguousarray(np.cos(2 * np.pi * freqs), dtype=np.float64)
    scale = float(np.mean(P))
    Ps = np.ascontiguousarray(P / scale, dtype=np.float64)

    def nll(x):
        return _whittle(np.asarray(x, dtype=np.float64), cw, Ps, p, float(weight), float(max_decay))

    x0 = [np.log(max(start["sigma2"] / scale, 1e-8)), np.log(max(start["v"] / scale, 1e-8)),
          _logit(min(start["d"], max_decay) / max_decay)]
    if p == 2:
        x0.append(_logit(start["r_frac"]))
    # Unconstrained in (log, logit) coordinates; BFGS (pure NumPy) is cheaper here than
    # L-BFGS-B, whose Fortran core cost ~3 ms per call on 4 parameters.
    res = optimize.minimize(nll, np.array(x0), jac=True, method="BFGS",
                            options={"gtol": 1e-4, "maxiter": 200})
    x = np.clip(res.x, -40.0, 20.0)
    d = float(max_decay * _sigmoid(x[2]))
    r = float(d ** RISE_RATIO * _sigmoid(x[3])) if p == 2 else 0.0
    g = np.array([d + r, -d * r]) if p == 2 else np.array([d])
    n = int(round(P.size * weight))
    return SpectralFit(g=g, sigma=float(np.sqrt(np.exp(x[0]) * scale)), decay=d, rise=r,
                       nll=float(res.fun) + n * np.log(scale), n=n)


@dataclass
class Kinetics:
    """What :func:`select_kinetics` chose for one trace.

    Attributes
    ----------
    valid : bool
        False when the spectral model does not apply (too short, resampled trace): the other
        fields are then unset and the caller keeps its own estimates.
    g : ndarray of shape (2,)
        AR coefficients, g[1] = 0 for AR(1).
    order : int
        1 or 2.
    sigma : float
        Noise level per frame from the fit.
    """

    valid: bool
    g: np.ndarray
    order: int
    sigma: float


def select_kinetics(y, *, sn_band: float, g1_start: float, band_limit: float = 0.5,
                    max_order: int = 2) -> Kinetics:
    """AR order (1 or 2), coefficients and noise level of one trace by a Whittle fit.

    Parameters
    ----------
    y : ndarray of shape (T,)
    sn_band : float
        Noise level from the upper band of the spectrum (a starting point, and an upper bound:
        the fit may only lower it, down to half of it).
    g1_start : float
        AR(1) coefficient to start from (e.g. the autocovariance fit).
    band_limit : float
        Band limit f_c of the trace (0.5 when sampled as recorded).
    max_order : {1, 2}

    Returns
    -------
    Kinetics
    """
    y = np.asarray(y, dtype=np.float64)
    freqs, P = periodogram(y)
    k0 = max(1, int(round(F_LOW * y.size)))
    keep = np.arange(P.size) >= k0
    if band_limit < 0.5 or keep.sum() < MIN_ORDINATES or sn_band <= 0 or not np.any(P[keep] > 0):
        return Kinetics(valid=False, g=np.zeros(2), order=0, sigma=float(sn_band))
    freqs, P = freqs[keep], P[keep]
    # Averaging neighbouring ordinates into at most MAX_BINS bins keeps the fit's cost flat in T
    # (the spectrum varies slowly next to the 1/T spacing of the ordinates).
    m = max(1, P.size // MAX_BINS)
    n_b = P.size // m
    freqs = freqs[:n_b * m].reshape(n_b, m).mean(axis=1)
    P = P[:n_b * m].reshape(n_b, m).mean(axis=1)
    # A decay slower than the lowest fitted frequency (k0 cycles per trace) cannot be told
    # from a drift of the baseline: the corner frequency -ln(d) / 2 pi stays above k0 / T.
    max_decay = min(MAX_ROOT, float(np.exp(-2 * np.pi * k0 / y.size)))
    d0 = min(max(float(g1_start), 0.05), 0.99)
    low = float(np.mean(P[:max(4, P.size // 100)]))
    start = {"sigma2": 0.8 * sn_band ** 2, "v": max(low * (1 - d0) ** 2, 1e-12), "d": d0}
    one = fit_spectrum(freqs, P, 1, start, weight=m, max_decay=max_decay)
    best = one
    if max_order >= 2:
        two = None
        for r_frac in (0.3, 0.7):
            cand = fit_spectrum(freqs, P, 2, dict(start, d=max(one.decay, 0.05), r_frac=r_frac,
                                                  sigma2=one.sigma ** 2 + 1e-3 * sn_band ** 2),
                                weight=m, max_decay=max_decay)
            if two is None or cand.nll < two.nll:
                two = cand
        # BIC for the one extra parameter; and a rise shorter than the sampling can resolve
        # (tau_rise <= 1 / (pi f_c) frames) is not a rise this trace can show.
        resolved = two.rise > 0 and -1.0 / np.log(two.rise) > 1.0 / (np.pi * band_limit)
        if resolved and two.nll + 0.5 * np.log(two.n) < one.nll:
            best = two
    # The optimiser stops within its tolerance at a point that depends on rounding; rounded to
    # 1e-6, the estimates of a trace and of the same trace rescaled agree exactly (almost
    # always), as the closed-form estimates did, and far finer than the fit's own error.
    ratio = round(min(max(best.sigma / sn_band, 0.5), 1.0), 6)
    d, r = round(best.decay, 6), round(best.rise, 6)
    g = np.array([d + r, -d * r]) if best.g.size == 2 else np.array([d, 0.0])
    return Kinetics(valid=True, g=g, order=best.g.size, sigma=float(ratio * sn_band))


def auto_kinetics(Y: np.ndarray, *, sn=None, noise_range=(0.25, 0.5), noise_method: str = "logmexp",
                  lags: int = 5, detrend_window: int | None = None,
                  max_order: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Per-trace AR order (1 or 2), coefficients and noise level (``p="auto"``).

    Each trace gets :func:`select_kinetics`; where the spectral model does not apply (a short
    or resampled trace) it keeps the autocovariance AR(1) fit and the band noise level.

    Parameters
    ----------
    Y : ndarray of shape (K, T)
    sn : ndarray of shape (K,), optional
        Given noise levels (kept as they are; only the kinetics are fitted).
    noise_range, noise_method, lags, detrend_window
        As in :func:`cnmf_gui.engine.deconvolution.deconvolve`.
    max_order : {1, 2}

    Returns
    -------
    G : ndarray of shape (K, 2)
        AR coefficients; G[k, 1] = 0 where AR(1) was chosen.
    sn : ndarray of shape (K,)
    """
    from cnmf_gui.engine.noise import band_limit, estimate_ar, estimate_noise

    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    K = Y.shape[0]
    sn_band = np.asarray(estimate_noise(Y, noise_range=noise_range, method=noise_method),
                         float).reshape(K)
    g1 = estimate_ar(Y, 1, lags=lags, detrend_window=detrend_window).reshape(K)
    G = np.zeros((K, 2))
    G[:, 0] = g1
    out_sn = sn_band.copy() if sn is None else np.asarray(sn, float).reshape(K).copy()
    for k in range(K):
        f_c = band_limit(Y[k])
        kin = select_kinetics(Y[k], sn_band=float(sn_band[k]), g1_start=float(g1[k]),
                              band_limit=f_c, max_order=max_order)
        if kin.valid:
            G[k] = kin.g
            if sn is None:
                out_sn[k] = kin.sigma
    return G, out_sn

"""Noise level and AR kinetics of calcium traces, estimated from the data.

The noise level sigma comes from the power spectral density (PSD): above a few Hz a calcium
trace holds (almost) only white noise, whose PSD is flat at sigma^2, so averaging the upper band
of the spectrum estimates sigma^2 without being fooled by the slow transients. The AR
coefficients g come from the autocovariance: for c_t = g_1 c_{t-1} + ... + g_p c_{t-p} + s_t
observed with white noise, the autocovariance gamma(k) of the trace obeys the Yule-Walker
recursion gamma(k) = sum_i g_i gamma(k - i) at every lag k >= 1; lag 0 also holds the noise
variance, so the equations used here never touch gamma(0) unless sigma is known.

Both functions are vectorised: :func:`estimate_noise` over every axis but the time axis (one
call gives the per-pixel noise of a movie chunk), :func:`estimate_ar` over the rows of a (K, T)
array. Both cost time linear in T.

References
----------
Pnevmatikakis, E. A. et al. (2016). Simultaneous denoising, deconvolution, and demixing of
calcium imaging data. Neuron 89(2):285-299 (noise from the PSD band, AR fit from the
autocovariance beyond lag 0).
Welch, P. D. (1967). The use of fast Fourier transform for the estimation of power spectra.
IEEE Trans. Audio Electroacoust. 15(2):70-73.
"""

from __future__ import annotations

import bisect
import functools
import math

import numpy as np
import scipy.fft as sfft
from scipy import special

from cnmf_gui.errors import ParameterError

#: Segment length of Welch's method; shorter traces use one periodogram of the whole trace.
WELCH_SEGMENT = 256

_METHODS = ("mean", "median", "logmexp")

#: Largest root magnitude allowed after projecting AR coefficients into the stable region.
MAX_ROOT = 0.9995


def _check_range(noise_range) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in noise_range)
    except (TypeError, ValueError):
        raise ParameterError(f"noise_range must be two numbers, got {noise_range!r}") from None
    if not 0.0 <= lo < hi <= 0.5:
        raise ParameterError(f"noise_range must satisfy 0 <= low < high <= 0.5 (fractions of the "
                             f"sampling rate), got {[lo, hi]!r}")
    return lo, hi


@functools.lru_cache(maxsize=16)
def _window(n: int) -> np.ndarray:
    """Hann window of ``n`` samples (without its zero ends) scaled to mean square 1."""
    window = np.hanning(n + 2)[1:-1] if n > 2 else np.ones(n)
    window = window / np.sqrt(np.mean(window ** 2))
    window.flags.writeable = False
    return window


def power_spectrum(y, *, axis: int = -1, segment: int = WELCH_SEGMENT):
    """One-sided PSD per sample (white noise of variance sigma^2 gives sigma^2 at every bin).

    Welch's method: Hann-windowed segments of ``segment`` samples with 50 % overlap, each
    segment's mean removed, periodograms averaged; memory is bounded by batching the segments.

    Parameters
    ----------
    y : ndarray of shape (..., T, ...)
        Signals, time along ``axis``.
    axis : int
        The time axis.
    segment : int
        Welch segment length; a trace shorter than this is one segment.

    Returns
    -------
    freqs : ndarray of shape (F,)
        Frequencies as fractions of the sampling rate, 0 to 0.5.
    psd : ndarray of shape (F, ...)
        Averaged periodogram, frequency first, then the other axes of ``y`` in order.
    n_eff : float
        Effective number of independent periodograms averaged (for the bias corrections).
    """
    y = np.moveaxis(np.asarray(y), axis, 0)
    T = y.shape[0]
    # Traces shorter than two segments use one periodogram of the whole trace (no frame lost).
    n = T if T < 2 * segment else segment
    step = max(n // 2, 1)
    n_seg = 1 + (T - n) // step
    # Movie chunks (float32) are transformed in float32: 2.3x faster than in float64, and the
    # noise level differs by ~1e-5 relative, far below its statistical error; traces in float64.
    work = np.float32 if y.dtype == np.float32 else np.float64
    window = _window(n).astype(work).reshape((1, n) + (1,) * (y.ndim - 1))
    other = int(np.prod(y.shape[1:], dtype=np.int64))
    # Batch segments so one batch holds about 2**22 samples: memory stays bounded for a movie
    # chunk and the Python loop stays short for a trace of a million frames. One copy per
    # batch, modified in place, and scipy's FFT, which transforms along a strided axis without
    # copying (in float64, the same numbers as stacking, windowing into a new array and NumPy's
    # FFT).
    per_batch = max(1, (1 << 22) // max(n * max(other, 1), 1))
    psd = None
    for first in range(0, n_seg, per_batch):
        last = min(n_seg, first + per_batch)
        if last - first == 1:
            seg = y[first * step:first * step + n][None].astype(work)
        else:
            seg = np.stack([y[s0:s0 + n] for s0 in np.arange(first, last) * step], axis=0).astype(work)
        seg -= seg.mean(axis=1, keepdims=True, dtype=np.float64).astype(work)
        seg *= window
        spec = sfft.rfft(seg, axis=1)
        power = np.square(spec.real)
        power += np.square(spec.imag)
        # one segment (every movie chunk shorter than two segments): its periodogram as float64,
        # without a reduction over a length-1 axis and a zero array to add it to (those were 40 %
        # of this function's time on a 32-frame chunk); the same numbers either way
        part = power[0].astype(np.float64) if last - first == 1 else power.sum(axis=0, dtype=np.float64)
        part /= n
        if psd is None:
            psd = part
        else:
            psd += part
    if n_seg > 1:
        psd /= n_seg
    # Overlapping Hann segments are correlated (rho = 0.167 at 50 % overlap), which lowers the
    # effective number of independent averages (Welch 1967, eq. 18).
    rho = 0.167 if n_seg > 1 else 0.0
    n_eff = n_seg / (1.0 + 2.0 * rho ** 2 * (n_seg - 1) / n_seg)
    freqs = np.arange(n // 2 + 1) / n
    return freqs, psd, n_eff


#: A resampled trace's spectrum falls by many decades past the original Nyquist frequency;
#: natural calcium spectra fall gradually into a flat noise floor.
CLIFF_DECADES = 5.0


def band_limit(y, *, axis: int = -1) -> float:
    """Highest frequency (fraction of the sampling rate) that holds signal or noise.

    0.5 for a trace sampled as recorded. A trace interpolated from a lower rate (e.g. the
    spikefinder traces, resampled to 100 Hz) has almost no power above the original Nyquist
    frequency f_c: this finds f_c as the first frequency above which the spectrum stays more
    than ``CLIFF_DECADES`` decades below the median of the spectrum beneath it. The spectra of
    all signals along the other axes are averaged first.

    Parameters
    ----------
    y : array_like of shape (..., T, ...)
    axis : int

    Returns
    -------
    float in (0, 0.5]
    """
    freqs, psd, _ = power_spectrum(np.asarray(y), axis=axis)
    spec = psd.reshape(psd.shape[0], -1).mean(axis=1)
    n = spec.size
    if n < 8:
        return 0.5
    tail_max = np.maximum.accumulate(spec[::-1])[::-1]
    # The medians of the growing prefixes spec[1:i], from one sorted list kept by insertion
    # (a median per prefix was most of this function's time, which runs once per trace).
    ordered = sorted(spec[1:4].tolist())
    for i in range(4, n):
        m = len(ordered)
        below = ordered[m // 2] if m % 2 else (ordered[m // 2 - 1] + ordered[m // 2]) / 2.0
        if below > 0 and tail_max[i] < below * 10.0 ** (-CLIFF_DECADES):
            return float(freqs[i])
        bisect.insort(ordered, float(spec[i]))
    return 0.5


def resolve_noise_range(y, noise_range, *, axis: int = -1) -> tuple[float, float, float]:
    """(low, high, band limit): ``noise_range`` with limit 0.5, or for ``"auto"`` the default
    band (0.25, 0.5) scaled to the band limit found by :func:`band_limit`."""
    if isinstance(noise_range, str):
        if noise_range != "auto":
            raise ParameterError(f"noise_range must be two numbers or 'auto', got {noise_range!r}")
        f_c = band_limit(y, axis=axis)
        # Stay a little below the cliff, whose first bins already fall off.
        return 0.5 * f_c, (0.9 * f_c if f_c < 0.5 else 0.5), f_c
    return _check_range(noise_range) + (0.5,)


def estimate_noise(y, *, noise_range=(0.25, 0.5), method: str = "logmexp", axis: int = -1):
    """Noise standard deviation sigma from the upper band of the power spectrum.

    Parameters
    ----------
    y : array_like of shape (..., T, ...)
        One trace (T,), traces (K, T) or a movie chunk (T, H, W) with ``axis=0``.
    noise_range : (float, float) or "auto"
        Band averaged, as fractions of the sampling rate (0 <= low < high <= 0.5). "auto"
        takes (0.25, 0.5) of the band limit f_c found by :func:`band_limit`, for traces
        that were resampled from a lower frame rate, and returns the standard deviation of
        that band-limited noise per frame (its spectral level times 2 f_c, square-rooted).
    method : {"mean", "median", "logmexp"}
        How the band is averaged: arithmetic mean, median, or the exponential of the mean log
        (log-mean-exp, robust to a few strong bins). Median and log-mean-exp are corrected for
        their bias on white noise, so all three estimate sigma itself.
    axis : int
        The time axis.

    Returns
    -------
    sn : float or ndarray
        Noise level per signal: the shape of ``y`` without ``axis`` (a float for one trace).

    References
    ----------
    Pnevmatikakis et al. (2016), Neuron 89(2):285-299.
    """
    lo, hi, f_c = resolve_noise_range(y, noise_range, axis=axis)
    # Noise confined below a band limit f_c (a resampled trace) has variance 2 f_c times its
    # spectral level: that, not the level, is what ||c + b - y||^2 ~ T sigma^2 needs.
    band_fraction = 2.0 * f_c
    if method not in _METHODS:
        raise ParameterError(f"noise method must be one of {', '.join(_METHODS)}, got {method!r}")
    arr = np.asarray(y)
    if arr.ndim == 0 or arr.shape[axis] < 4:
        raise ParameterError(f"noise estimation needs at least 4 samples along the time axis, "
                             f"got shape {arr.shape}")
    freqs, psd, n_eff = power_spectrum(arr, axis=axis)
    band = (freqs > lo) & (freqs <= hi)
    if not band.any():
        # Too few bins for the band: fall back to the nearest bin above DC.
        band = np.zeros_like(band)
        band[max(1, min(len(freqs) - 1, int(round(hi * 2 * (len(freqs) - 1)))))] = True
    vals = psd[band]
    if method == "mean":
        var = vals.mean(axis=0)
    elif method == "median":
        # An averaged periodogram bin of white noise is sigma^2 Gamma(n, 1/n) distributed.
        var = np.median(vals, axis=0) / (special.gammaincinv(n_eff, 0.5) / n_eff)
    else:
        with np.errstate(divide="ignore"):
            logs = np.log(vals)
        var = np.exp(logs.mean(axis=0) - (special.digamma(n_eff) - math.log(n_eff)))
    sn = np.sqrt(np.maximum(var * band_fraction, 0.0))
    return float(sn) if np.ndim(sn) == 0 else sn


# ----------------------------------------------------------------------------------------------
# AR kinetics
# ----------------------------------------------------------------------------------------------


def autocovariance(y, max_lag: int) -> np.ndarray:
    """Biased autocovariance at lags 0..max_lag of each row, in time linear in T.

    Parameters
    ----------
    y : ndarray of shape (K, T) or (T,)
    max_lag : int

    Returns
    -------
    ndarray of shape (K, max_lag + 1) or (max_lag + 1,)
    """
    arr = np.asarray(y, dtype=np.float64)
    one = arr.ndim == 1
    arr = np.atleast_2d(arr)
    T = arr.shape[1]
    x = arr - arr.mean(axis=1, keepdims=True)
    out = np.empty((arr.shape[0], max_lag + 1))
    for k in range(max_lag + 1):
        out[:, k] = np.einsum("ij,ij->i", x[:, k:], x[:, :T - k]) / T
    return out[0] if one else out


def ar_roots(g) -> np.ndarray:
    """Roots of z^p - g_1 z^{p-1} - ... - g_p (the AR characteristic polynomial)."""
    g = np.atleast_1d(np.asarray(g, dtype=float))
    if g.size == 0:
        return np.zeros(0)
    return np.roots(np.concatenate([[1.0], -g]))


def is_stable(g) -> bool:
    """True when every root of the AR polynomial lies strictly inside the unit circle."""
    g = np.atleast_1d(np.asarray(g, dtype=float))
    if g.size == 0:
        return True
    if not np.all(np.isfinite(g)):
        return False
    return bool(np.all(np.abs(ar_roots(g)) < 1.0))


def project_stable(g, max_root: float = MAX_ROOT) -> np.ndarray:
    """Nearest calcium-like AR coefficients: real roots in [0, max_root].

    Complex roots (an oscillating kernel, not calcium) are replaced by their common modulus
    as a double real root; negative roots by 0; roots at or beyond 1 by ``max_root``.

    Parameters
    ----------
    g : array_like of shape (p,), p in {1, 2}

    Returns
    -------
    ndarray of shape (p,)
    """
    g = np.atleast_1d(np.asarray(g, dtype=float))
    if g.size == 0:
        return g
    g = np.where(np.isfinite(g), g, 0.0)
    roots = ar_roots(g)
    if np.iscomplexobj(roots) and np.any(np.abs(roots.imag) > 1e-12):
        roots = np.full(len(roots), np.abs(roots[0]))
    roots = np.clip(np.real(roots), 0.0, max_root)
    return np.real(np.poly(roots))[1:] * -1.0


def estimate_ar(y, p: int, *, sn=None, lags: int = 5, detrend_window: int | None = None) -> np.ndarray:
    """AR(p) coefficients from the autocovariance of a trace, projected to the stable region.

    Solves, in the least-squares sense, gamma(k) = sum_i g_i gamma(k - i) for
    k = p + 1 .. p + lags (none of these involve lag 0, which holds the noise variance). When
    ``sn`` is given, lag 0 is used too, with sigma^2 removed, adding the equations k = 1 .. p.

    Parameters
    ----------
    y : array_like of shape (T,) or (K, T)
    p : int
        AR order, 0, 1 or 2.
    sn : float or ndarray of shape (K,), optional
        Noise level, if known.
    lags : int
        Number of equations beyond lag p.
    detrend_window : int, optional
        If given, a running mean over this many frames is removed first, so that slow drifts
        of the baseline (bleaching, focus) do not pass for very slow calcium decay. A few
        seconds of frames is a good choice (see ``kinetics.rate_defaults``).

    Returns
    -------
    g : ndarray of shape (p,) or (K, p)

    References
    ----------
    Pnevmatikakis et al. (2016), Neuron 89(2):285-299, Methods (autocovariance fit).
    """
    if p not in (0, 1, 2):
        raise ParameterError(f"AR order p must be 0, 1 or 2, got {p!r}")
    if int(lags) < 1:
        raise ParameterError(f"lags must be at least 1, got {lags!r}")
    arr = np.asarray(y, dtype=np.float64)
    one = arr.ndim == 1
    arr = np.atleast_2d(arr)
    K, T = arr.shape
    if p == 0:
        out = np.zeros((K, 0))
        return out[0] if one else out
    if detrend_window is not None and int(detrend_window) > 1:
        from scipy import ndimage

        arr = arr - ndimage.uniform_filter1d(arr, size=min(int(detrend_window), T), axis=1, mode="nearest")
    max_lag = min(p + int(lags), T - 1)
    if max_lag <= p:
        raise ParameterError(f"a trace of {T} frames is too short to fit AR({p}) coefficients")
    acov = autocovariance(arr, max_lag)
    if sn is not None:
        acov = acov.copy()
        acov[:, 0] -= np.broadcast_to(np.asarray(sn, dtype=float), (K,)) ** 2
        ks = np.arange(1, max_lag + 1)
    else:
        ks = np.arange(p + 1, max_lag + 1)
    out = np.empty((K, p))
    for i in range(K):
        A = np.stack([acov[i, np.abs(ks - j)] for j in range(1, p + 1)], axis=1)
        rhs = acov[i, ks]
        if not np.any(A):
            out[i] = 0.0
            continue
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
        out[i] = project_stable(sol)
    return out[0] if one else out

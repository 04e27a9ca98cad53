"""Calcium kinetics shared by every component of a recording (one indicator in every cell).

Why: on the one-photon benchmark movies (GCaMP6f at 20 Hz: a rise of about one frame) the
per-component spectral fit (``deconvolution.auto_order``) finds the decay well but puts the rise
1.5-2 times too slow (0.08-0.10 s for 0.05 s): a burst of spikes in consecutive frames looks like
a slow rise in any single trace. With the true kinetics median spike r rose from 0.954 to 0.978
(60 neurons) and from 0.804 to 0.894 (120 neurons, 30x background), while AR(1) (0.949, 0.880)
cannot represent the rise at all. Pooled over the population, single spikes outnumber the bursts
and the rise shows in how a clean onset continues into the next frame.

The estimate, on the raw traces of the components with the highest SNR:

1. the decay: the median of the per-trace spectral fits (:func:`deconvolution.deconvolve_many`
   with ``p="auto"``), which is close to the truth even where their rises are not;
2. the rise: deconvolved with AR(1) at that decay, a single spike of the AR(2) kernel
   ``h[k] = (d^(k+1) - r^(k+1)) / (d - r)`` becomes spikes ``a (1, r, r^2, ...)``
   (``h[k] - d h[k-1] = r^k``), so ``r`` is the median over clean onsets (a large spike after an
   empty frame) of the next frame's spike over the onset's; bursts only add to the upper tail.

References
----------
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299 (the AR(2) kernel and its roots).
Friedrich J., Zhou P. & Paninski L. (2017) PLoS Comput Biol 13(3):e1005423.
"""

from __future__ import annotations

import logging

import numpy as np

from cnmf_gui.engine.deconvolution.kinetics import RISE_RATIO, g_to_tau
from cnmf_gui.engine.noise import estimate_noise

log = logging.getLogger("cnmf_gui.engine")

__all__ = ["shared_kinetics"]

#: An onset is a spike at least this many noise levels tall after a frame without one.
ONSET_SNR = 5.0
#: Fewer clean onsets than this: the rise is the median of the spectral fits instead.
MIN_ONSETS = 5
#: A rise of at least this many frames is resolved in the spectrum (GCaMP6s at 30 Hz: ~4.5; the
#: unresolved rises of GCaMP6f at 20 Hz were put at 1.5-2 frames by the spectral fits): the
#: median of the spectral fits is kept, as the onset ratio only sees the first frame of the rise.
RESOLVED_RISE = 3.0
#: Components used: this fraction with the highest SNR, at least MIN_TRACES of them.
TOP_FRACTION = 1.0 / 3.0
MIN_TRACES = 10


def _top_traces(F: np.ndarray, deconv) -> np.ndarray:
    """Indices of the traces with the highest peak-to-noise ratio."""
    K = F.shape[0]
    sn = np.asarray(estimate_noise(F, noise_range=deconv.noise_range, method=deconv.noise_method), float)
    peak = F.max(axis=1) - np.median(F, axis=1)
    snr = peak / np.maximum(sn.reshape(K), 1e-12)
    n = min(K, max(MIN_TRACES, int(round(K * TOP_FRACTION))))
    return np.argsort(-snr, kind="stable")[:n]


def onset_ratios(S: np.ndarray, sn: np.ndarray, onset_snr: float = ONSET_SNR) -> np.ndarray:
    """``s[t+1] / s[t]`` at every clean onset t (``s[t] > onset_snr sn``, ``s[t-1] == 0``).

    Parameters
    ----------
    S : ndarray of shape (K, T)
        Spikes deconvolved with AR(1).
    sn : ndarray of shape (K,)

    Returns
    -------
    ndarray of shape (n_onsets,)
    """
    out = []
    for s, sigma in zip(S, sn):
        t = np.nonzero(s[1:-1] > onset_snr * sigma)[0] + 1
        t = t[s[t - 1] == 0]
        out.append(s[t + 1] / s[t])
    return np.concatenate(out) if out else np.zeros(0)


def shared_kinetics(F: np.ndarray, deconv) -> np.ndarray:
    """AR(2) coefficients shared by all components, from their raw traces.

    Parameters
    ----------
    F : ndarray of shape (K, T)
        Raw traces.
    deconv : DeconvParams
        Noise band, baseline, lags and solver of the per-trace fits.

    Returns
    -------
    g : ndarray of shape (2,)
        ``(d + r, -d r)`` (``r = 0``: AR(1) with a zero second coefficient), per frame.
    """
    from cnmf_gui.engine.deconvolution import deconvolve_many

    F = np.asarray(F, float)
    top = _top_traces(F, deconv)
    common = dict(noise_range=deconv.noise_range, noise_method=deconv.noise_method, lags=deconv.lags,
                  method=deconv.method, baseline=deconv.baseline)
    fits = deconvolve_many(F[top], p="auto", refine_g=bool(deconv.refine_g), **common)
    taus = np.array([g_to_tau(g, 1.0) for g in fits.g])        # (decay, rise) in frames
    decay = float(np.nanmedian(taus[:, 0]))
    if not np.isfinite(decay) or decay <= 0:
        return np.zeros(2)
    d = float(np.exp(-1.0 / decay))
    ar1 = deconvolve_many(F[top], p=1, g=np.array([d]), sn=fits.sn, **common)
    ratios = onset_ratios(np.asarray(ar1.s), np.asarray(ar1.sn))
    rise = float(np.nanmedian(taus[:, 1]))
    if len(ratios) >= MIN_ONSETS and not rise >= RESOLVED_RISE:
        r = float(np.median(ratios))
    else:
        r = float(np.exp(-1.0 / rise)) if np.isfinite(rise) and rise > 0 else 0.0
    r = min(max(r, 0.0), d ** RISE_RATIO)     # the rise is at least RISE_RATIO times faster
    log.info("shared kinetics from %d traces: decay %.2f frames, rise %.2f frames (%d onsets)",
             len(top), decay, -1.0 / np.log(r) if r > 0 else 0.0, len(ratios))
    return np.array([d + r, -d * r])

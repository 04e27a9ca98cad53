"""How much a movie's frames can be trusted for registration: signal and noise spectra.

Two independent halves of the aligned template sample (interleaved frames) share the moving
structure and nothing of each other's noise. The real part of their cross-power spectrum is an
unbiased estimate of the structure's power spectrum; their difference holds noise only. From
these:

- the **noise level** ``sigma`` of one frame (px values, per pixel);
- the structure's **power spectral density** as a function of spatial frequency (radially
  averaged, clipped at zero);
- the **Wiener weight** ``S / (S + sigma^2 / n_template)`` applied to the template's spectrum.
  For a noisy template it is the weight that minimises the variance of the correlation peak's
  position (it is ~1 wherever the template is clean, so high-SNR movies are unchanged) and it
  keeps the template's own noise, which frames would otherwise align to, out of the match;
- the **predicted precision** of a registration (px, per axis), from the curvature of the
  expected correlation peak and the variance of its slope (the Cramer-Rao argument for image
  registration): ``var(d) = sum k^2 W^2 Nf (S + Nt) / (sum k^2 W S)^2`` with frame noise Nf and
  template noise Nt. Averaging ``n`` frames divides Nf by ``n``; this chooses the temporal bin.

References
----------
Robinson D., Milanfar P. (2004) Fundamental performance limits in image registration. IEEE
Trans. Image Processing 13(9):1185-1199 (the Cramer-Rao bound for shift estimation).
Frank J., Al-Ali L. (1975) Signal-to-noise ratio of electron micrographs obtained by cross
correlation. Nature 256:376-379 (split-half spectra of signal and noise).
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. J Neurosci Methods 291:83-94 (registering averages of
consecutive frames when single frames are too noisy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft

from cnmf_gui.engine.motion.prep import edge_window, half_spectrum_weights

# Radial frequency bins of the structure's spectrum (cycles/px), 0 to the corner at sqrt(0.5).
_RADIAL_BINS = 48


@dataclass(frozen=True)
class SignalNoise:
    """Structure and noise spectra of a movie, per pixel (independent of the frame size).

    Attributes
    ----------
    freq : ndarray of shape (B,)
        Upper edge of each radial frequency bin, cycles/px.
    density : ndarray of shape (B,)
        Power spectral density of the structure in each bin (per pixel, >= 0).
    sigma : float
        Noise standard deviation of one frame, per pixel.
    n_template : float
        Frames averaged in the template (its noise variance is ``sigma^2 / n_template``).
    """

    freq: np.ndarray
    density: np.ndarray
    sigma: float
    n_template: float

    def structure_psd(self, shape) -> np.ndarray:
        """The structure's PSD on the half-spectrum grid of ``shape``, (H, W // 2 + 1)."""
        H, W = shape
        f = np.hypot(sfft.fftfreq(H)[:, None], sfft.rfftfreq(W)[None, :])
        idx = np.minimum(np.searchsorted(self.freq, f), len(self.freq) - 1)
        return self.density[idx]

    def wiener(self, shape) -> np.ndarray:
        """Wiener weight ``S / (S + sigma^2 / n_template)`` on the half-spectrum grid, float32."""
        S = self.structure_psd(shape)
        Nt = self.sigma ** 2 / max(self.n_template, 1.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(S + Nt > 0, S / (S + Nt), 1.0)
        return w.astype(np.float32)

    def precision(self, shape, spectral_weight: np.ndarray, n_average: float = 1.0) -> np.ndarray:
        """Predicted standard deviation (px) of a shift estimate, per axis [row, col].

        Parameters
        ----------
        shape : (int, int)
            (H, W) of the registered images.
        spectral_weight : ndarray of shape (H, W // 2 + 1)
            Weight applied to the template's spectrum (high-pass times Wiener).
        n_average : float
            Frames averaged in each registered image.

        Returns
        -------
        ndarray of shape (2,), float64 (inf when the structure has no gradient energy)
        """
        H, W = shape
        S = self.structure_psd(shape)
        Nf = self.sigma ** 2 / max(n_average, 1.0)
        Nt = self.sigma ** 2 / max(self.n_template, 1.0)
        m = half_spectrum_weights(W)[None, :]
        wgt = np.asarray(spectral_weight, np.float64)
        out = np.empty(2)
        for axis, k in enumerate((2 * math.pi * sfft.fftfreq(H)[:, None], 2 * math.pi * sfft.rfftfreq(W)[None, :])):
            k2 = k * k
            num = (m * k2 * wgt ** 2 * Nf * (S + Nt)).sum()
            den = (m * k2 * wgt * S).sum()
            out[axis] = math.sqrt(num) / den if den > 0 else math.inf
        return out

    def peak_snr(self, shape, spectral_weight: np.ndarray, n_average: float = 1.0) -> float:
        """Expected height of the true correlation peak over the noise's standard deviation.

        The correlation of noise alone also has a maximum over the search window (about 4
        standard deviations for a few thousand lags): a peak must stand well above it, or the
        search may pick a noise peak far from the truth, whatever :meth:`precision` says.
        """
        H, W = shape
        S = self.structure_psd(shape)
        Nf = self.sigma ** 2 / max(n_average, 1.0)
        Nt = self.sigma ** 2 / max(self.n_template, 1.0)
        m = half_spectrum_weights(W)[None, :]
        wgt = np.asarray(spectral_weight, np.float64)
        noise = math.sqrt((m * wgt ** 2 * Nf * (S + Nt)).sum())
        return float((m * wgt * S).sum() / noise) if noise > 0 else math.inf


def measure(half_a: np.ndarray, half_b: np.ndarray, n_a: float, n_b: float, margin: int = 0) -> SignalNoise:
    """Structure and noise spectra from the means of two independent halves of aligned frames.

    Parameters
    ----------
    half_a, half_b : ndarray of shape (H, W)
        Means of ``n_a`` and ``n_b`` aligned frames (no frame in both).
    n_a, n_b : float
        Frames in each half.
    margin : int
        Border (px) left out: edge filling after alignment is not the recording's noise.

    Returns
    -------
    SignalNoise
        ``n_template`` is ``n_a + n_b``.
    """
    a = np.asarray(half_a, np.float64)
    b = np.asarray(half_b, np.float64)
    H, W = a.shape
    my = int(min(max(margin, 0), H // 4))
    mx = int(min(max(margin, 0), W // 4))
    inv_n = 1.0 / n_a + 1.0 / n_b
    diff = (a - b)[my:H - my, mx:W - mx]
    # Residual misalignment between the halves adds to this: the estimate errs towards noise.
    sigma = float(math.sqrt(max(diff.var(), 0.0) / inv_n))
    win = np.outer(edge_window(H, my, 0.1 * H), edge_window(W, mx, 0.1 * W))
    energy = float((win ** 2).sum())

    def spec(x):
        x = x - (x * win).sum() / win.sum()
        return sfft.rfft2(x * win)

    A, B = spec(a), spec(b)
    # Per-pixel PSD of the structure: cross-spectrum over the window's energy; the noise term
    # of the halves (independent) averages out in the radial bins.
    cross = (A * np.conj(B)).real / energy
    f = np.hypot(sfft.fftfreq(H)[:, None], sfft.rfftfreq(W)[None, :])
    edges = np.linspace(0.0, math.sqrt(0.5), _RADIAL_BINS + 1)[1:]
    idx = np.minimum(np.searchsorted(edges, f), _RADIAL_BINS - 1)
    mult = np.broadcast_to(half_spectrum_weights(W)[None, :], f.shape).copy()
    if W % 2 == 0:
        mult[:, -1] = 1.0     # the Nyquist column is real structure here: it counts once
    mult[0, 0] = 0.0          # the mean is not structure
    total = np.bincount(idx.ravel(), (cross * mult).ravel(), _RADIAL_BINS)
    total2 = np.bincount(idx.ravel(), (cross * cross * mult).ravel(), _RADIAL_BINS)
    count = np.bincount(idx.ravel(), mult.ravel(), _RADIAL_BINS)
    safe = np.maximum(count, 1e-12)
    mean = np.where(count > 0, total / safe, 0.0)
    # The halves' noise makes each ring's mean uncertain (its standard error): keep only what
    # stands 2 standard errors above zero, so noise is never counted as structure.
    stderr = np.sqrt(np.maximum(total2 / safe - mean ** 2, 0.0) / np.maximum(count / 2.0, 1.0))
    density = np.maximum(mean - 2.0 * stderr, 0.0)
    return SignalNoise(freq=edges, density=density, sigma=sigma, n_template=float(n_a + n_b))


def choose_bin(precision_one: float, peak_snr_one: float, target: float, min_peak_snr: float, n_max: int) -> int:
    """Frames to average so that registrations are precise and their peaks stand out (1 to ``n_max``).

    Averaging ``n`` frames divides the frame noise variance by ``n``, so the precision of
    single frames ``p1`` becomes about ``p1 / sqrt(n)`` and their peak SNR ``z1`` about
    ``z1 sqrt(n)`` (a little less: the template's noise does not average away).
    """
    need = 1.0
    if math.isfinite(precision_one) and precision_one > 0:
        need = max(need, (precision_one / target) ** 2)
    else:
        need = math.inf
    if peak_snr_one > 0:
        need = max(need, (min_peak_snr / peak_snr_one) ** 2)
    else:
        need = math.inf
    if not math.isfinite(need):
        return max(1, int(n_max))
    return int(min(max(int(math.ceil(need - 1e-9)), 1), max(int(n_max), 1)))

"""The template and frames as the spectra that rigid and patch registration correlate.

Registration compares a frame with the template through their cross-power spectrum. Only the
template is windowed (zero-mean under a window that is zero near the edges and rises by a
cosine ramp), for the reasons given in :class:`SpectralPrep`. An optional Gaussian high-pass,
applied as a weight on the template's spectrum (free, since we are in the Fourier domain
anyway), removes slow illumination gradients and neuropil haze that otherwise dominate
one-photon data. Nyquist rows and columns are zeroed so that the band-limited correlation is
exactly real and symmetric at any sub-pixel lag.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.fft as sfft


def half_spectrum_weights(width: int) -> np.ndarray:
    """Multiplicity of each column of an ``rfft`` half-spectrum in the full spectrum.

    Column 0 appears once, every other column twice (itself and its conjugate mirror); the
    Nyquist column of an even width is weighted 0 because :class:`SpectralPrep` zeroes it.

    Returns
    -------
    ndarray of shape (width // 2 + 1,), float64
    """
    w = np.full(width // 2 + 1, 2.0)
    w[0] = 1.0
    if width % 2 == 0:
        w[-1] = 0.0
    return w


def edge_window(n: int, margin: int, ramp: float) -> np.ndarray:
    """Window that is 0 within ``margin`` px of both ends, then rises by a cosine over ``ramp`` px.

    Returns
    -------
    ndarray of shape (n,), float64
    """
    r = np.arange(n)
    dist = np.minimum(r, n - 1 - r) - margin + 0.5
    x = np.clip(dist / max(ramp, 1e-9), 0.0, 1.0)
    return 0.5 * (1.0 - np.cos(np.pi * x))


class SpectralPrep:
    """Turn a template and frames of one shape into registration spectra.

    Only the template is windowed. The frame enters the cross-correlation untouched, so shifting
    it does not move a window with it: windowing both images pulls the correlation peak towards
    zero lag (the product of two windows peaks there), a bias of a few hundredths of a pixel per
    pixel of shift on textured movies. The template's window is zero within ``margin`` px of
    the edges (at least the largest expected shift): the FFT's circular correlation wraps the
    frame's opposite edge into view there, and a zero weight makes that wrapped content
    irrelevant. The template is made zero-mean under its window, so a frame's own brightness
    adds nothing at any lag.

    Parameters
    ----------
    shape : (int, int)
        (H, W) of the images.
    taper_fraction : float
        Width of the cosine ramp of the window as a fraction of each side (0 to 0.5).
    highpass_sigma : float
        Width in px of the Gaussian whose low-pass is removed (0 = off).
    margin : int or (int, int)
        Zero band at each edge of the template's window, px (capped at a quarter of each side).
    background : ndarray of shape (H, W), optional
        Static smooth background removed from every image before registration (see
        :func:`static_background`).
    extra_weight : ndarray of shape (H, W // 2 + 1), optional
        A further weight on the template's spectrum (the Wiener weight of a noisy template,
        :meth:`cnmf_gui.engine.motion.snr.SignalNoise.wiener`).

    Attributes
    ----------
    window : ndarray of shape (H, W), float32
    weight : ndarray of shape (H, W // 2 + 1), float32
        Spectral weight: the high-pass response with DC and the Nyquist row and column zeroed.
    """

    def __init__(self, shape, taper_fraction: float = 0.1, highpass_sigma: float = 0.0, margin=0,
                 background=None, extra_weight=None):
        H, W = int(shape[0]), int(shape[1])
        self.background = None
        if background is not None:
            self.background = np.asarray(background, np.float32)
            self._background_mean = float(self.background.mean(dtype=np.float64))
        self.shape = (H, W)
        my, mx = (margin, margin) if np.isscalar(margin) else margin
        my = int(min(max(my, 0), H // 4))
        mx = int(min(max(mx, 0), W // 4))
        self.margin = (my, mx)
        self.window = np.outer(edge_window(H, my, taper_fraction * H),
                               edge_window(W, mx, taper_fraction * W)).astype(np.float32)
        self._window_sum = float(self.window.sum(dtype=np.float64))
        fy = sfft.fftfreq(H)[:, None]
        fx = sfft.rfftfreq(W)[None, :]
        weight = np.ones((H, W // 2 + 1))
        if highpass_sigma > 0:
            weight = 1.0 - np.exp(-2.0 * math.pi ** 2 * highpass_sigma ** 2 * (fy ** 2 + fx ** 2))
        weight[0, 0] = 0.0  # the mean carries no position
        if H % 2 == 0:
            weight[H // 2, :] = 0.0
        if W % 2 == 0:
            weight[:, W // 2] = 0.0
        if extra_weight is not None:
            weight = weight * np.asarray(extra_weight, np.float64)
        self.weight = weight.astype(np.float32)

    def flatten(self, frames: np.ndarray) -> np.ndarray:
        """Frames minus the static background scaled to each frame's mean (or the frames).

        Parameters
        ----------
        frames : ndarray of shape (n, H, W) or (H, W), float32

        Returns
        -------
        ndarray of the same shape, float32 (a new array when there is a background)
        """
        if self.background is None:
            return frames
        x = np.asarray(frames, np.float32)
        if abs(self._background_mean) > 0:
            means = x.mean(axis=(-2, -1), dtype=np.float64) / self._background_mean
            return x - np.asarray(means, np.float32)[..., None, None] * self.background
        return x - self.background

    def template_spectrum(self, template: np.ndarray) -> np.ndarray:
        """Windowed, filtered spectrum of a template.

        Parameters
        ----------
        template : ndarray of shape (H, W) or (n, H, W), finite

        Returns
        -------
        ndarray of shape (H, W // 2 + 1) or (n, H, W // 2 + 1), complex64
        """
        t = self.flatten(np.asarray(template, np.float32))
        mean = np.einsum("...ij,ij->...", t, self.window, dtype=np.float64) / self._window_sum
        t = (t - np.asarray(mean, np.float32)[..., None, None]) * self.window
        spec = sfft.rfft2(t)
        spec *= self.weight
        return spec.astype(np.complex64, copy=False)

    def norm_terms(self):
        """``(window_spectrum, weight)`` for the normalised peak search of :func:`register_spectra`.

        The template is zero-mean under a window that is zero near the edges; the plain
        correlation at a lag then grows with whatever the frame holds under that window. When
        activity is confined to a few cells (a burst near the edge of the field), lags that
        bring them into the window outscore the true one. Dividing by the root of the filtered
        frame's energy under the window at each lag (Cauchy-Schwarz) removes that pull.
        """
        if getattr(self, "_norm", None) is None:
            wspec = sfft.rfft2(self.window.astype(np.float64)).astype(np.complex64)
            self._norm = (wspec, self.weight)
        return self._norm

    def frame_spectra(self, frames: np.ndarray, workers: int = 1) -> np.ndarray:
        """Spectra of finite frames (no window: see the class notes).

        Parameters
        ----------
        frames : ndarray of shape (n, H, W), float32, finite
            Already :meth:`flatten`-ed when there is a background.
        workers : int
            Threads for the FFT.

        Returns
        -------
        ndarray of shape (n, H, W // 2 + 1), complex64
        """
        return sfft.rfft2(np.asarray(frames, np.float32), workers=workers)


def static_background(mean_image: np.ndarray, degree: int = 3) -> np.ndarray:
    """Smooth static background of a movie: a low-degree 2-D polynomial fitted to its mean image.

    Removed from every frame before a high-pass registration. A static illumination gradient
    or vignetting does not move with the tissue; left in the frames, the jump between a
    frame's opposite edges (which the FFT joins) dominates the high-passed correlation and
    drags shifts to the search limit. A polynomial (rather than a blurred mean) follows such
    illumination up to the edges and holds none of the moving texture, so subtracting it
    leaves the moving structure intact.

    Parameters
    ----------
    mean_image : ndarray of shape (H, W)
        Mean of (unaligned) frames.
    degree : int
        Total degree of the polynomial in row and column.

    Returns
    -------
    ndarray of shape (H, W), float32
    """
    img = np.asarray(mean_image, np.float64)
    H, W = img.shape
    r = np.linspace(-1.0, 1.0, H)
    c = np.linspace(-1.0, 1.0, W)
    powers = [(i, j) for i in range(degree + 1) for j in range(degree + 1 - i)]
    # Separable design: the fit needs only the (H, W) image against products of 1-D powers.
    basis = np.stack([np.outer(r ** i, c ** j).ravel() for i, j in powers], axis=1)
    coef, *_ = np.linalg.lstsq(basis, img.ravel(), rcond=None)
    return (basis @ coef).reshape(H, W).astype(np.float32)


@numba.njit(cache=True, nogil=True)
def _frame_stats(frames, bad, lo, hi):
    """Per frame: count of non-finite pixels, and min and max of the finite ones (one pass)."""
    n = frames.shape[0]
    for i in range(n):
        f = frames[i]
        nb = 0
        mn = np.inf
        mx = -np.inf
        for r in range(f.shape[0]):
            for c in range(f.shape[1]):
                v = np.float64(f[r, c])
                if math.isfinite(v):
                    if v < mn:
                        mn = v
                    if v > mx:
                        mx = v
                else:
                    nb += 1
        bad[i] = nb
        lo[i] = mn
        hi[i] = mx


def clean_frames(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames as finite float32, and which frames are unusable.

    A frame is unusable for registration when it is entirely non-finite or constant: it
    carries no position. Partly non-finite frames keep their finite pixels; the rest are set
    to the frame's finite mean so that they add no structure.

    Parameters
    ----------
    frames : ndarray of shape (n, H, W), any real dtype

    Returns
    -------
    clean : ndarray of shape (n, H, W), float32
        Read-only use: this is ``frames`` itself when they are finite float32 already (no copy).
    unusable : ndarray of shape (n,), bool
    nonfinite : ndarray of shape (n,), bool
        Frames that had at least one NaN or infinite pixel.
    """
    frames = np.asarray(frames)
    n = frames.shape[0]
    if n == 0 or frames.size == 0:
        return np.zeros(frames.shape, np.float32), np.zeros(n, bool), np.zeros(n, bool)
    src = frames if frames.flags.c_contiguous else np.ascontiguousarray(frames)
    bad = np.zeros(n, np.int64)
    lo = np.zeros(n)
    hi = np.zeros(n)
    _frame_stats(src, bad, lo, hi)
    nonfinite = bad > 0
    pixels = frames.shape[1] * frames.shape[2]
    unusable = (bad == pixels) | (lo == hi)
    if frames.dtype == np.float32 and not nonfinite.any():
        return src, unusable, nonfinite
    clean = np.array(src, dtype=np.float32, copy=True)
    for i in np.flatnonzero(nonfinite):
        finite = np.isfinite(clean[i])
        clean[i][~finite] = clean[i][finite].mean() if finite.any() else 0.0
    return clean, unusable, nonfinite

"""Rigid registration: phase-correlation peak search with sub-pixel refinement by an upsampled DFT.

For a frame I and a template T, the cross-correlation ``g(d) = sum_r T(r) I(r - d)`` peaks at
the shift ``d = [dy, dx]`` that, applied to I (``J(r) = I(r - d)``), aligns it with T. Its
Fourier transform is the cross-power spectrum ``R = T^ conj(I^)``, so g at any real-valued lag
is a direct sum over the spectrum. Following Guizar-Sicairos et al. (2008), we

1. find the best integer lag within ``max_shift`` by evaluating g on the integer lags of the
   search window only (a small matrix DFT, cheaper than a full inverse FFT when the window is
   small, else an inverse FFT);
2. refine it by evaluating g on an upsampled grid in a 1.5 px neighbourhood of that peak, again
   as a matrix DFT (two stages: a coarse grid at 1/8 px, then the final grid at
   1/upsample_factor px around the coarse maximum), so the cost does not grow with the
   upsampling factor squared.

Spectra are half-spectra of real images (``rfft2``); columns are weighted by their multiplicity
in the full spectrum so the sums equal the full-spectrum ones.

References
----------
Guizar-Sicairos M., Thurman S.T., Fienup J.R. (2008) Efficient subpixel image registration
algorithms. Optics Letters 33(2):156-158.
Kuglin C.D., Hines D.C. (1975) The phase correlation image alignment method. Proc. IEEE
Conference on Cybernetics and Society, 163-165.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sfft

from cnmf_gui.engine.motion.prep import half_spectrum_weights

# Step of the first refinement stage, px; the second stage searches +-1 step of it at the final
# precision.
_COARSE_UPSAMPLE = 8


def _row_kernel(H: int, lags: np.ndarray) -> np.ndarray:
    """exp(2 pi i ky lag / H) for integer frequencies ky, shape (..., L, H), complex64."""
    ky = sfft.fftfreq(H, 1.0 / H)
    return np.exp((2j * math.pi / H) * lags[..., :, None] * ky).astype(np.complex64)


def _col_kernel(W: int, lags: np.ndarray) -> np.ndarray:
    """w(kx) exp(2 pi i kx lag / W) on the half spectrum, shape (..., W // 2 + 1, L), complex64."""
    kx = np.arange(W // 2 + 1)
    wk = half_spectrum_weights(W)
    return (wk[:, None] * np.exp((2j * math.pi / W) * kx[:, None] * lags[..., None, :])).astype(np.complex64)


def correlation_at(cross: np.ndarray, shape, row_lags: np.ndarray, col_lags: np.ndarray) -> np.ndarray:
    """Cross-correlation at arbitrary (real) lags, by matrix DFT.

    Parameters
    ----------
    cross : ndarray of shape (n, H, W // 2 + 1), complex64
        Cross-power half-spectra ``T^ conj(I^)``.
    shape : (int, int)
        (H, W) of the images.
    row_lags : ndarray of shape (Ly,) or (n, Ly)
        Row lags (px), shared or per image.
    col_lags : ndarray of shape (Lx,) or (n, Lx)

    Returns
    -------
    ndarray of shape (n, Ly, Lx), float32
        ``sum_r T(r) I(r - d)`` times H*W (the DFT's scale, irrelevant for peak finding).
    """
    H, W = shape
    ey = _row_kernel(H, np.asarray(row_lags, float))
    ex = _col_kernel(W, np.asarray(col_lags, float))
    # Contract the longer axis first against the smaller kernel: (n,H,W') @ (W',Lx) -> (n,H,Lx).
    tmp = np.matmul(cross, ex)
    return np.matmul(ey, tmp).real


def integer_peak(cross: np.ndarray, shape, max_shift: tuple[int, int]):
    """Best integer lag within ``+-max_shift`` per axis.

    Parameters
    ----------
    cross : ndarray of shape (n, H, W // 2 + 1), complex64
    shape : (int, int)
    max_shift : (int, int)
        Largest integer lag searched along rows and columns (already capped below half the
        frame).

    Returns
    -------
    peak : ndarray of shape (n, 2), int64
    pushing : ndarray of shape (n, 2), bool
        True where the correlation still rises beyond the window's edge along that axis: the
        true shift is probably larger than the window allows.
    """
    H, W = shape
    my, mx = int(max_shift[0]), int(max_shift[1])
    # One lag beyond the window on each side tells whether the peak wants to leave it.
    ey_lim = min(my + 1, (H - 1) // 2)
    ex_lim = min(mx + 1, (W - 1) // 2)
    ry = np.arange(-ey_lim, ey_lim + 1)
    rx = np.arange(-ex_lim, ex_lim + 1)
    n = cross.shape[0]
    matrix_cost = H * (W // 2 + 1) * len(rx) + len(ry) * H * len(rx)
    fft_cost = 3 * H * W * max(math.log2(H * W), 1.0)
    if matrix_cost <= fft_cost:
        g = correlation_at(cross, shape, ry, rx)
    else:
        full = sfft.irfft2(cross, s=(H, W))
        g = full[:, ry % H][:, :, rx % W]
    inner = g[:, ey_lim - my:ey_lim + my + 1, ex_lim - mx:ex_lim + mx + 1]
    flat = inner.reshape(n, -1).argmax(axis=1)
    py, px = np.divmod(flat, inner.shape[2])
    peak = np.stack([py - my, px - mx], axis=1).astype(np.int64)
    pushing = np.zeros((n, 2), bool)
    idx = np.arange(n)
    best = inner[idx, py, px]
    if ey_lim > my:
        gy = g[idx, np.where(peak[:, 0] > 0, ey_lim + my + 1, ey_lim - my - 1), px + ex_lim - mx]
        pushing[:, 0] = (np.abs(peak[:, 0]) == my) & (gy > best)
    if ex_lim > mx:
        gx = g[idx, py + ey_lim - my, np.where(peak[:, 1] > 0, ex_lim + mx + 1, ex_lim - mx - 1)]
        pushing[:, 1] = (np.abs(peak[:, 1]) == mx) & (gx > best)
    return peak, pushing


def refine_peak(cross: np.ndarray, shape, start: np.ndarray, upsample_factor: int):
    """Sub-pixel maximum of the cross-correlation near ``start``.

    Parameters
    ----------
    cross : ndarray of shape (n, H, W // 2 + 1), complex64
    shape : (int, int)
    start : ndarray of shape (n, 2)
        Integer (or coarse) peak, within 0.5 px of the true maximum.
    upsample_factor : int
        Final grid step is ``1 / upsample_factor`` px.

    Returns
    -------
    shift : ndarray of shape (n, 2), float64
    value : ndarray of shape (n,), float64
        Correlation at the refined lag (same scale as :func:`correlation_at`).
    """
    start = np.asarray(start, float)
    n = start.shape[0]
    if upsample_factor <= 1 or n == 0:
        g = correlation_at(cross, shape, start[:, :1], start[:, 1:])
        return start.copy(), g.reshape(n).astype(float)
    center = start.copy()
    stages = []
    if upsample_factor > _COARSE_UPSAMPLE:
        # +-0.75 px at 1/8 px, then +-(1/8 + 1/usf) px at 1/usf around the best coarse lag.
        half = int(math.ceil(0.75 * _COARSE_UPSAMPLE))
        stages.append(np.arange(-half, half + 1) / _COARSE_UPSAMPLE)
        half2 = int(math.ceil(upsample_factor / _COARSE_UPSAMPLE)) + 1
        stages.append(np.arange(-half2, half2 + 1) / upsample_factor)
    else:
        half = int(math.ceil(0.75 * upsample_factor))
        stages.append(np.arange(-half, half + 1) / upsample_factor)
    value = np.zeros(n)
    for offsets in stages:
        g = correlation_at(cross, shape, center[:, :1] + offsets, center[:, 1:] + offsets)
        L = len(offsets)
        flat = g.reshape(n, -1).argmax(axis=1)
        iy, ix = np.divmod(flat, L)
        center = center + np.stack([offsets[iy], offsets[ix]], axis=1)
        value = g[np.arange(n), iy, ix].astype(float)
    # Snap to the final grid so results do not carry float noise from the stage sums.
    center = np.round(center * upsample_factor) / upsample_factor
    return center, value


def register_spectra(frame_spectra: np.ndarray, template_spectrum: np.ndarray, shape,
                     max_shift: float, upsample_factor: int):
    """Rigid shifts of frames relative to the template from their spectra.

    Parameters
    ----------
    frame_spectra : ndarray of shape (..., H, W // 2 + 1), complex64
        :meth:`SpectralPrep.frame_spectra` of the frames (any leading shape, e.g. (n,) or
        (n, patches)). Overwritten (the cross-power spectrum is formed in place).
    template_spectrum : ndarray broadcastable to ``frame_spectra``, complex64
        :meth:`SpectralPrep.template_spectrum` of the template (windowed and filtered).
    shape : (int, int)
        (H, W).
    max_shift : float
        Largest shift along either axis, px.
    upsample_factor : int
        Precision is ``1 / upsample_factor`` px.

    Returns
    -------
    shifts : ndarray of shape (..., 2), float64
        [dy, dx] to apply to each frame.
    clamped : ndarray of shape (...), bool
        Frames whose shift reached ``max_shift`` while the correlation still rose beyond it.
    peak : ndarray of shape (...), float64
        Cross-correlation at the shift (unnormalised).

    Notes
    -----
    The cross-power spectrum is not whitened (pure phase correlation): on textured synthetic
    movies whitening doubled the shift error (it amplifies noise at high frequencies), while
    the plain cross-correlation is the matched filter for white noise.
    """
    H, W = shape
    lead = frame_spectra.shape[:-2]
    # T^ conj(I^), computed in place in the frames' spectra (they are not needed afterwards).
    cross = np.conjugate(frame_spectra, out=frame_spectra)
    cross *= template_spectrum
    cross = cross.reshape((-1,) + frame_spectra.shape[-2:])
    cap = (max(0, min(int(math.floor(max_shift)), (H - 1) // 2 - 1)),
           max(0, min(int(math.floor(max_shift)), (W - 1) // 2 - 1)))
    peak, pushing = integer_peak(cross, shape, cap)
    shifts, value = refine_peak(cross, shape, peak, upsample_factor)
    limit = float(max_shift)
    over = np.abs(shifts) > limit + 0.5 / max(upsample_factor, 1)
    clamped = (pushing | over).any(axis=1)
    shifts = np.clip(shifts, -limit, limit)
    return shifts.reshape(lead + (2,)), clamped.reshape(lead), value.reshape(lead)

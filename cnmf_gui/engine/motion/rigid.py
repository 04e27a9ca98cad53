"""Rigid registration: phase-correlation peak search with sub-pixel refinement by an upsampled DFT.

For a frame I and a template T, the cross-correlation ``g(d) = sum_r T(r) I(r - d)`` peaks at
the shift ``d = [dy, dx]`` that, applied to I (``J(r) = I(r - d)``), aligns it with T. Its
Fourier transform is the cross-power spectrum ``R = T^ conj(I^)``, so g at any real-valued lag
is a direct sum over the spectrum. Following Guizar-Sicairos et al. (2008), we

1. find the best integer lag within ``max_shift`` by evaluating g on the integer lags of the
   search window only (a small matrix DFT, cheaper than a full inverse FFT when the window is
   small, else an inverse FFT);
2. refine it by evaluating g on an upsampled grid (1/8 px) in a 1.5 px neighbourhood of that
   peak, again as a matrix DFT, and finish either with the parabola through the best grid
   point and its neighbours (default: on a 1/8 px grid the band-limited correlation is locally
   quadratic, and this matched a second DFT stage at 1/50 px in accuracy on textured test
   movies, 0.041 vs 0.043 px RMSE) or with that second DFT stage at 1/upsample_factor px.
   Either way the cost does not grow with the upsampling factor squared.

The peak search itself lives in :mod:`.peaks`; this module registers frames with it.

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

from cnmf_gui.engine.motion.peaks import correlation_near, integer_peak, refine_peak


def energy_spectra(frame_spectra: np.ndarray, shape, norm) -> np.ndarray:
    """Cross-spectra of the template's window with each squared filtered frame, (n, H, W // 2 + 1).

    ``norm`` is ``(window_spectrum, weight)`` (:meth:`SpectralPrep.norm_terms`): the frame
    filtered as the correlation filters it, squared, correlated with the window, gives the
    frame's energy under the window at every lag.
    """
    H, W = shape
    wspec, weight = norm
    flat = frame_spectra.reshape((-1,) + frame_spectra.shape[-2:])
    filtered = sfft.irfft2(flat * weight, s=(H, W))
    energy = sfft.rfft2(filtered * filtered)
    return (np.conjugate(energy) * wspec).astype(np.complex64)


def register_spectra(frame_spectra: np.ndarray, template_spectrum: np.ndarray, shape,
                     max_shift: float, upsample_factor: int, finish: str = "parabola", baseline: bool = False,
                     norm=None):
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
    finish : {"dft", "parabola"}
        Last refinement step (see :func:`refine_peak`).
    baseline : bool
        Also return the median correlation over the search window and the peak's curvature.
    norm : (ndarray, ndarray), optional
        ``(window_spectrum, weight)`` from :meth:`SpectralPrep.norm_terms`: the whole-pixel
        peak is chosen on the normalised cross-correlation (see :func:`integer_peak`); the
        sub-pixel refinement stays on the plain correlation, whose maximum the normalisation
        barely moves within a pixel.

    Returns
    -------
    shifts : ndarray of shape (..., 2), float64
        [dy, dx] to apply to each frame.
    clamped : ndarray of shape (...), bool
        Frames whose shift reached ``max_shift`` while the correlation still rose beyond it.
    peak : ndarray of shape (...), float64
        Cross-correlation at the shift (unnormalised).
    median : ndarray of shape (...), float64
        Only with ``baseline``: the median correlation over the search window (same scale).
        ``peak - median`` is how far the peak stands out of the correlation surface: a broad
        plateau (smooth structure, or no structure) puts its maximum wherever noise tips it.
    curvature : ndarray of shape (..., 2), float64
        Only with ``baseline``: second derivative of the correlation at the peak along rows
        and columns (per px^2, same scale): with the noise of the correlation's slope it gives
        how precisely the peak is placed.

    Notes
    -----
    The cross-power spectrum is not whitened (pure phase correlation): on textured synthetic
    movies whitening doubled the shift error (it amplifies noise at high frequencies), while
    the plain cross-correlation is the matched filter for white noise.
    """
    H, W = shape
    lead = frame_spectra.shape[:-2]
    energy = None if norm is None else energy_spectra(frame_spectra, shape, norm)
    # T^ conj(I^), computed in place in the frames' spectra (they are not needed afterwards).
    cross = np.conjugate(frame_spectra, out=frame_spectra)
    cross *= template_spectrum
    cross = cross.reshape((-1,) + frame_spectra.shape[-2:])
    cap = (max(0, min(int(math.floor(max_shift)), (H - 1) // 2 - 1)),
           max(0, min(int(math.floor(max_shift)), (W - 1) // 2 - 1)))
    found = integer_peak(cross, shape, cap, baseline, energy)
    peak, pushing, vertex = found[0], found[1], found[-1]
    # Start from the parabola through the integer neighbours (usually within a few tenths of a
    # pixel of the maximum): a 9 x 9 grid of +-1/2 px then suffices (two thirds of the DFT
    # points of the 11 x 11 grid around the integer peak). Where the best point lands on its
    # border (5 % of patches on synthetic movies; a 7 x 7 grid missed 21 %), the larger grid
    # around the integer peak decides.
    shifts, value, edge, curv = refine_peak(cross, shape, vertex, upsample_factor, finish, reach=0.5)
    if edge.any():
        redo = np.flatnonzero(edge)
        shifts[redo], value[redo], _, curv[redo] = refine_peak(cross[redo], shape, peak[redo], upsample_factor,
                                                               finish)
    limit = float(max_shift)
    over = np.abs(shifts) > limit + 0.5 / max(upsample_factor, 1)
    clamped = (pushing | over).any(axis=1)
    shifts = np.clip(shifts, -limit, limit)
    if baseline:
        return (shifts.reshape(lead + (2,)), clamped.reshape(lead), value.reshape(lead), found[2].reshape(lead),
                curv.reshape(lead + (2,)))
    return shifts.reshape(lead + (2,)), clamped.reshape(lead), value.reshape(lead)


def register_near(frame_spectra: np.ndarray, template_spectrum: np.ndarray, shape, centers: np.ndarray,
                  reach: int, upsample_factor: int, finish: str = "parabola"):
    """Rigid shifts searched only within ``+-reach`` px (integer lags) of a given shift per frame.

    For frames whose free search disagreed with their neighbours in time: the search window
    is put around where the neighbours say the frame should be, so a stronger but distant
    peak (a burst of activity matched to other cells, a repeating structure) cannot win.

    Parameters
    ----------
    frame_spectra : ndarray of shape (n, H, W // 2 + 1), complex64
        Overwritten (as in :func:`register_spectra`).
    template_spectrum : ndarray broadcastable to ``frame_spectra``, complex64
    shape : (int, int)
    centers : ndarray of shape (n, 2)
        Expected shift of each frame (rounded to whole px for the window).
    reach : int
        Half-width of the integer search window, px.
    upsample_factor : int
    finish : {"dft", "parabola"}

    Returns
    -------
    shifts : ndarray of shape (n, 2), float64
    value : ndarray of shape (n,), float64
        Correlation at the shift (same scale as :func:`register_spectra`'s peak).
    at_edge : ndarray of shape (n,), bool
        The best integer lag was on the window's border: the correlation still rises towards
        the outside, so the window does not hold the frame's peak.
    curvature : ndarray of shape (n, 2), float64
        As :func:`refine_peak`.
    """
    cross = np.conjugate(frame_spectra, out=frame_spectra)
    cross *= template_spectrum
    n = cross.shape[0]
    base = np.round(np.asarray(centers, float))
    offsets = np.arange(-int(reach), int(reach) + 1, dtype=float)
    g = correlation_near(cross, shape, base, offsets)
    L = len(offsets)
    iy, ix = np.divmod(g.reshape(n, -1).argmax(axis=1), L)
    at_edge = (iy == 0) | (iy == L - 1) | (ix == 0) | (ix == L - 1)
    start = base + np.stack([offsets[iy], offsets[ix]], axis=1)
    shifts, value, _, curv = refine_peak(cross, shape, start, upsample_factor, finish)
    return shifts, value, at_edge, curv

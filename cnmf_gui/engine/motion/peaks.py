"""Peaks of the cross-correlation of a frame with a template, from their cross-power spectrum.

The search primitives of rigid registration (:mod:`.rigid`): the correlation evaluated at chosen
lags by matrix DFTs, the best whole-pixel lag within the search window (optionally normalised
by the frame's energy under the window at each lag, so bright content brought in by a lag does
not win), and its sub-pixel refinement (an upsampled DFT around the peak, finished by a
parabola or a second DFT stage). See :mod:`.rigid` for the conventions.

References
----------
Guizar-Sicairos M., Thurman S.T., Fienup J.R. (2008) Efficient subpixel image registration
algorithms. Optics Letters 33(2):156-158.
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


def correlation_near(cross: np.ndarray, shape, centers: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Cross-correlation on a grid of ``offsets`` around a per-image centre, by matrix DFT.

    Same as :func:`correlation_at` with lags ``centers[:, i, None] + offsets``, but the kernels
    are factored as ``exp(2 pi i k c / N) * exp(2 pi i k o / N)``: n*(H + W) complex exponentials
    per call instead of n*L*(H + W), which dominated the cost for many small patches.

    Parameters
    ----------
    cross : ndarray of shape (n, H, W // 2 + 1), complex64
    shape : (int, int)
    centers : ndarray of shape (n, 2)
        [row, col] lag at the centre of each image's grid.
    offsets : ndarray of shape (L,)
        Offsets (px) of the grid along both axes.

    Returns
    -------
    ndarray of shape (n, L, L), float32
    """
    H, W = shape
    centers = np.asarray(centers, float)
    ky = sfft.fftfreq(H, 1.0 / H)
    kx = np.arange(W // 2 + 1)
    base_y = _row_kernel(H, np.asarray(offsets, float))                     # (L, H)
    base_x = _col_kernel(W, np.asarray(offsets, float))                     # (W', L)
    phase_y = np.exp((2j * math.pi / H) * centers[:, :1] * ky).astype(np.complex64)   # (n, H)
    phase_x = np.exp((2j * math.pi / W) * centers[:, 1:] * kx).astype(np.complex64)   # (n, W')
    ey = base_y[None] * phase_y[:, None, :]
    ex = phase_x[:, :, None] * base_x[None]
    return np.matmul(ey, np.matmul(cross, ex)).real


def _surface(cross, shape, ry, rx):
    """Correlation on the integer lags ``ry`` x ``rx`` (matrix DFT or inverse FFT, whichever is cheaper)."""
    H, W = shape
    matrix_cost = H * (W // 2 + 1) * len(rx) + len(ry) * H * len(rx)
    fft_cost = 3 * H * W * max(math.log2(H * W), 1.0)
    if matrix_cost <= fft_cost:
        return correlation_at(cross, shape, ry, rx)
    full = sfft.irfft2(cross, s=(H, W))
    return full[:, ry % H][:, :, rx % W]


def integer_peak(cross: np.ndarray, shape, max_shift: tuple[int, int], baseline: bool = False, energy=None):
    """Best integer lag within ``+-max_shift`` per axis.

    Parameters
    ----------
    cross : ndarray of shape (n, H, W // 2 + 1), complex64
    shape : (int, int)
    max_shift : (int, int)
        Largest integer lag searched along rows and columns (already capped below half the
        frame).
    energy : ndarray of shape (n, H, W // 2 + 1), complex64, optional
        Cross-spectrum of the template's window with the squared filtered frame: the peak is
        then chosen on the correlation over the root of the frame's energy under the window
        at each lag (normalised cross-correlation), so a lag that merely brings bright content
        under the window does not win.

    Returns
    -------
    peak : ndarray of shape (n, 2), int64
    pushing : ndarray of shape (n, 2), bool
        True where the correlation still rises beyond the window's edge along that axis: the
        true shift is probably larger than the window allows.
    median : ndarray of shape (n,), float64
        Only with ``baseline``: the median correlation over the search window.
    vertex : ndarray of shape (n, 2), float64
        Always last: the peak refined by the parabola through it and its integer neighbours
        along each axis (a coarse sub-pixel start; the peak itself where a neighbour is
        outside the evaluated lags).
    """
    H, W = shape
    my, mx = int(max_shift[0]), int(max_shift[1])
    # One lag beyond the window on each side tells whether the peak wants to leave it.
    ey_lim = min(my + 1, (H - 1) // 2)
    ex_lim = min(mx + 1, (W - 1) // 2)
    ry = np.arange(-ey_lim, ey_lim + 1)
    rx = np.arange(-ex_lim, ex_lim + 1)
    n = cross.shape[0]
    raw = _surface(cross, shape, ry, rx)
    g = raw
    if energy is not None:
        e = _surface(energy, shape, ry, rx).astype(np.float64)
        floor = 1e-6 * np.maximum(e.reshape(n, -1).max(axis=1), 1e-30)[:, None, None]
        g = raw / np.sqrt(np.maximum(e, floor))
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
    # Parabolas through the integer neighbours (the evaluated lags reach one beyond the window
    # where the frame allows).
    gy0 = py + ey_lim - my
    gx0 = px + ex_lim - mx
    vertex = peak.astype(float)
    ok_y = (gy0 >= 1) & (gy0 <= g.shape[1] - 2)
    ok_x = (gx0 >= 1) & (gx0 <= g.shape[2] - 2)
    cy = np.clip(gy0, 1, g.shape[1] - 2)
    cx = np.clip(gx0, 1, g.shape[2] - 2)
    vy = _parabola_vertex(g[idx, cy - 1, gx0].astype(float), g[idx, cy, gx0].astype(float),
                          g[idx, cy + 1, gx0].astype(float))
    vx = _parabola_vertex(g[idx, gy0, cx - 1].astype(float), g[idx, gy0, cx].astype(float),
                          g[idx, gy0, cx + 1].astype(float))
    vertex[:, 0] += np.where(ok_y, vy, 0.0)
    vertex[:, 1] += np.where(ok_x, vx, 0.0)
    if baseline:
        inner_raw = raw[:, ey_lim - my:ey_lim + my + 1, ex_lim - mx:ex_lim + mx + 1]
        return peak, pushing, np.median(inner_raw.reshape(n, -1), axis=1).astype(float), vertex
    return peak, pushing, vertex


def _parabola_vertex(left, mid, right):
    """Offset (in grid steps, within +-0.5) of the vertex of the parabola through three samples."""
    den = left - 2.0 * mid + right
    with np.errstate(divide="ignore", invalid="ignore"):
        off = np.where(den < 0, 0.5 * (left - right) / den, 0.0)
    return np.clip(np.nan_to_num(off), -0.5, 0.5)


def refine_peak(cross: np.ndarray, shape, start: np.ndarray, upsample_factor: int, finish: str = "parabola",
                reach: float = 0.625):
    """Sub-pixel maximum of the cross-correlation near ``start``.

    The correlation is evaluated by matrix DFT on a grid of 1/8 px covering +-``reach`` px
    around ``start`` (Guizar-Sicairos et al. 2008, first stage). Then either

    - ``finish="dft"``: a second grid at 1/upsample_factor px spanning +-(1/8 + 1/usf) px
      around the best first-stage lag (the exact maximum on the final grid); or
    - ``finish="parabola"``: the vertex of the parabola through the best first-stage lag and
      its two neighbours along each axis, rounded to 1/upsample_factor. At 1/8 px the band-
      limited correlation is locally quadratic to far better than 1/50 px, so this matches the
      second DFT stage at a fraction of its cost (used for the many small patches).

    Parameters
    ----------
    cross : ndarray of shape (n, H, W // 2 + 1), complex64
    shape : (int, int)
    start : ndarray of shape (n, 2)
        Integer (or coarse) peak, within ``reach - 1/8`` px of the true maximum.
    upsample_factor : int
        Final grid step is ``1 / upsample_factor`` px.
    finish : {"dft", "parabola"}
    reach : float
        Half-width of the first-stage grid, px.

    Returns
    -------
    shift : ndarray of shape (n, 2), float64
    value : ndarray of shape (n,), float64
        Correlation at the best evaluated lag (same scale as :func:`correlation_at`).
    edge : ndarray of shape (n,), bool
        The best first-stage lag was on the grid's border: the maximum may lie beyond it.
    curvature : ndarray of shape (n, 2), float64
        Second difference of the correlation at the best first-stage lag along rows and
        columns, per px^2 (negative at a maximum; 0 where not measured).
    """
    start = np.asarray(start, float)
    n = start.shape[0]
    if upsample_factor <= 1 or n == 0:
        g = correlation_at(cross, shape, start[:, :1], start[:, 1:])
        return start.copy(), g.reshape(n).astype(float), np.zeros(n, bool), np.zeros((n, 2))
    step = 1.0 / min(upsample_factor, _COARSE_UPSAMPLE)
    half = int(math.ceil(reach / step - 1e-9))
    offsets = np.arange(-half, half + 1) * step
    g = correlation_near(cross, shape, start, offsets)
    L = len(offsets)
    idx = np.arange(n)
    iy, ix = np.divmod(g.reshape(n, -1).argmax(axis=1), L)
    center = start + np.stack([offsets[iy], offsets[ix]], axis=1)
    value = g[idx, iy, ix].astype(float)
    edge = (iy == 0) | (iy == L - 1) | (ix == 0) | (ix == L - 1)
    iy_in = np.clip(iy, 1, L - 2)
    ix_in = np.clip(ix, 1, L - 2)
    gy = g[idx[:, None], iy_in[:, None] + np.arange(-1, 2), ix[:, None]].astype(float)
    gx = g[idx[:, None], iy[:, None], ix_in[:, None] + np.arange(-1, 2)].astype(float)
    curvature = np.stack([gy[:, 0] - 2 * gy[:, 1] + gy[:, 2], gx[:, 0] - 2 * gx[:, 1] + gx[:, 2]], axis=1) / step ** 2
    if upsample_factor > _COARSE_UPSAMPLE:
        if finish == "parabola":
            dy = np.where((iy > 0) & (iy < L - 1), _parabola_vertex(gy[:, 0], gy[:, 1], gy[:, 2]), 0.0)
            dx = np.where((ix > 0) & (ix < L - 1), _parabola_vertex(gx[:, 0], gx[:, 1], gx[:, 2]), 0.0)
            center = center + step * np.stack([dy, dx], axis=1)
        else:
            half2 = int(math.ceil(upsample_factor * step)) + 1
            fine = np.arange(-half2, half2 + 1) / upsample_factor
            g = correlation_near(cross, shape, center, fine)
            iy, ix = np.divmod(g.reshape(n, -1).argmax(axis=1), len(fine))
            center = center + np.stack([fine[iy], fine[ix]], axis=1)
            value = g[idx, iy, ix].astype(float)
    # Snap to the final grid so results do not carry float noise from the stage sums.
    center = np.round(center * upsample_factor) / upsample_factor
    return center, value, edge, curvature

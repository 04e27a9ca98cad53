"""Brain motion: rigid trajectories with fast jumps, smooth non-rigid fields, and the sampling
of a moving scene (plus the legacy Fourier shift of the original generator).

Convention (as everywhere in cnmf_gui): the scene moves by a displacement ``D``; raw frame
``Y_t(r) = X(r - D_t(r))`` where ``X`` is the motion-free scene; the correction the truth stores
is ``-D``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["rigid_random_walk", "LegacyDeformation", "fourier_shift", "rigid_trajectory",
           "SmoothDeformation", "sample_scene", "sample_scene_translated"]


def rigid_random_walk(rng, T, max_shift) -> np.ndarray:
    """Smooth random walk with occasional jumps, bounded by ``max_shift`` px. Shape (T, 2)."""
    if max_shift <= 0 or T == 0:
        return np.zeros((T, 2))
    steps = rng.standard_normal((T, 2)) * 0.3 * max_shift
    jumps = (rng.random(T) < 0.01)[:, None] * rng.uniform(-1, 1, (T, 2)) * max_shift
    walk = np.cumsum(steps, axis=0)
    walk = ndimage.gaussian_filter1d(walk, sigma=3.0, axis=0) + np.cumsum(jumps, axis=0)
    walk -= np.median(walk, axis=0)
    # Squash into (-max_shift, max_shift) while keeping small motions linear.
    scale = np.abs(walk).max(axis=0) + 1e-12
    walk = max_shift * 0.95 * np.tanh(walk / scale * 1.5) / math.tanh(1.5)
    walk += rng.uniform(-0.5, 0.5, (T, 2)) * 0.1 * max_shift  # jitter makes shifts sub-pixel
    return np.clip(walk, -max_shift, max_shift)



class LegacyDeformation:
    """The original generator's non-rigid field: one sinusoid per axis, amplitude ``amp[t]``."""

    def __init__(self, amp, phases, kr, kc, H, W):
        self.amp, self.phases, self.kr, self.kc = amp, phases, kr, kc
        self.rr = np.arange(H)[:, None] / H
        self.cc = np.arange(W)[None, :] / W

    def at(self, t):
        """Displacement (dy, dx), each (H, W) float32, of frame ``t``."""
        a = self.amp[t]
        dy = a[0] * np.sin(2 * math.pi * (self.kr * self.rr + 0.5 * self.kc * self.cc) + self.phases[0])
        dx = a[1] * np.sin(2 * math.pi * (0.5 * self.kr * self.rr + self.kc * self.cc) + self.phases[1])
        return dy.astype(np.float32), dx.astype(np.float32)


def fourier_shift(canvas_fft, dy, dx, ky, kx) -> np.ndarray:
    """Shift a periodic canvas by (dy, dx) px with a Fourier phase ramp (exact sub-pixel)."""
    ramp = np.exp(-2j * math.pi * (ky * dy + kx * dx))
    return np.fft.irfft2(canvas_fft * ramp, s=(ky.shape[0], 2 * (kx.shape[1] - 1)))


def _smooth_noise(rng, T, sigma_frames, n=2):
    """Gaussian-filtered white noise, shape (T, n), scaled to max |value| 1."""
    x = ndimage.gaussian_filter1d(rng.standard_normal((T, n)), max(sigma_frames, 0.5), axis=0,
                                  mode="reflect")
    return x / (np.abs(x).max(axis=0, keepdims=True) + 1e-12)


def rigid_trajectory(rng, T, frame_rate, amplitude, jump_rate=1 / 30.0) -> np.ndarray:
    """Rigid displacement of the brain, (T, 2) px, with max |component| ``amplitude``.

    The sum of a slow drift (tens of seconds), breathing (0.2-0.6 Hz, a sinusoid whose amplitude
    wanders), faster jitter (a few frames) and occasional fast jumps (Poisson, ``jump_rate`` per
    second: a kick of 0.4-1 x ``amplitude`` within one frame that relaxes over 0.2-2 s or, one
    time in three, stays). The two axes have different amplitudes (motion is anisotropic).
    """
    if amplitude <= 0 or T == 0:
        return np.zeros((T, 2))
    t = np.arange(T) / frame_rate
    drift = _smooth_noise(rng, T, 15 * frame_rate)
    f_breath = rng.uniform(0.2, 0.6)
    envelope = 0.6 + 0.4 * _smooth_noise(rng, T, 5 * frame_rate, 1)
    breath = envelope * np.sin(2 * math.pi * f_breath * t[:, None] + rng.uniform(0, 2 * math.pi, 2))
    breath = breath * rng.uniform(0.3, 1.0, 2)
    jitter = _smooth_noise(rng, T, 1.5)
    disp = 0.5 * drift + 0.5 * breath + 0.15 * jitter
    for start in np.sort(rng.integers(0, T, rng.poisson(jump_rate * T / frame_rate))):
        angle = rng.uniform(0, 2 * math.pi)
        kick = rng.uniform(0.4, 1.0) * np.array([math.sin(angle), math.cos(angle)])
        lag = np.arange(T - start) / frame_rate
        decay = np.ones_like(lag) if rng.random() < 1 / 3 else np.exp(-lag / rng.uniform(0.2, 2.0))
        disp[start:] += decay[:, None] * kick
    disp -= np.median(disp, axis=0)
    disp *= rng.uniform(0.6, 1.0, 2)[None, :] / (np.abs(disp).max(axis=0, keepdims=True) + 1e-12)
    return amplitude * disp / np.abs(disp).max()


class SmoothDeformation:
    """A smooth non-rigid displacement field over the frame, with its own time course.

    Displacements at a 3 x 3 grid of control points follow smooth random time courses
    (seconds); between them the field is interpolated with Gaussian radial bases. Each frame's
    spatial mean is removed, so the rigid part stays the rigid trajectory. Scaled so that the
    largest |displacement| over all pixels and frames is ``amplitude`` px.
    """

    def __init__(self, rng, T, frame_rate, shape, amplitude, n_ctrl=3):
        H, W = shape
        cy = (np.arange(n_ctrl) + 0.5) * H / n_ctrl
        cx = (np.arange(n_ctrl) + 0.5) * W / n_ctrl
        s = 0.6 * max(H, W) / n_ctrl
        gy = np.exp(-0.5 * ((np.arange(H)[:, None] - cy[None, :]) / s) ** 2)    # (H, n)
        gx = np.exp(-0.5 * ((np.arange(W)[:, None] - cx[None, :]) / s) ** 2)    # (W, n)
        basis = np.einsum("ha,wb->abhw", gy, gx).reshape(n_ctrl ** 2, H, W)
        basis /= basis.sum(axis=0, keepdims=True)
        basis -= basis.mean(axis=(1, 2), keepdims=True)
        self.basis = basis.reshape(n_ctrl ** 2, H * W).astype(np.float32)
        self.shape = (H, W)
        coef = _smooth_noise(rng, T, 2 * frame_rate, 2 * n_ctrl ** 2) if T else np.zeros((0, 2 * n_ctrl ** 2))
        coef += 0.3 * _smooth_noise(rng, T, 2, 2 * n_ctrl ** 2) if T else 0.0
        self.coef = coef.reshape(T, 2, n_ctrl ** 2).astype(np.float32)
        peak = max((np.abs(self.coef[t] @ self.basis).max() for t in range(0, T, max(T // 200, 1))),
                   default=0.0)
        self.coef *= amplitude / max(peak, 1e-12)

    def at(self, t):
        """Displacement (dy, dx), each (H, W) float32, of frame ``t``."""
        d = self.coef[t] @ self.basis
        return d[0].reshape(self.shape), d[1].reshape(self.shape)


def sample_scene(coeffs, rows, cols, out=None):
    """Values of a scene given by cubic B-spline coefficients at fine-grid positions.

    Parameters
    ----------
    coeffs : ndarray of shape (h, w)
        Cubic spline coefficients of the scene on the fine grid (``ndimage.spline_filter``):
        filtering once per spatial map, not once per frame, is what makes this fast.
    rows, cols : ndarray of shape (H, W)
        Sample positions, fine-grid units.
    """
    return ndimage.map_coordinates(coeffs, [rows, cols], order=3, prefilter=False, mode="nearest",
                                   output=out if out is not None else np.float32)


def _bspline3_weights(frac):
    """Cubic B-spline weights of the 4 knots around positions with fractional part ``frac``."""
    f = np.asarray(frac, np.float64)
    return np.stack([(1 - f) ** 3 / 6, (3 * f ** 3 - 6 * f ** 2 + 4) / 6,
                     (-3 * f ** 3 + 3 * f ** 2 + 3 * f + 1) / 6, f ** 3 / 6], axis=-1)


def sample_scene_translated(coeffs, rows, cols):
    """:func:`sample_scene` on a regular grid of positions ``rows[:, None], cols[None, :]``.

    The same cubic B-spline, evaluated separably (first along rows, then along columns): the
    pure translation case, several times faster than ``map_coordinates`` on every position.

    Parameters
    ----------
    coeffs : ndarray of shape (h, w)
    rows : ndarray of shape (H,)
    cols : ndarray of shape (W,)
    """
    h, w = coeffs.shape
    r0 = np.floor(rows).astype(int)
    c0 = np.floor(cols).astype(int)
    wr = _bspline3_weights(rows - r0).astype(np.float32)           # (H, 4)
    wc = _bspline3_weights(cols - c0).astype(np.float32)           # (W, 4)
    ri = np.clip(r0[:, None] + np.arange(-1, 3), 0, h - 1)       # (H, 4)
    ci = np.clip(c0[:, None] + np.arange(-1, 3), 0, w - 1)       # (W, 4)
    along_rows = np.einsum("hk,hkw->hw", wr, coeffs[ri])          # (H, w)
    return np.einsum("wk,hwk->hw", wc, along_rows[:, ci])        # (H, W)

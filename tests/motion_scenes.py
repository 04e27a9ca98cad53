"""Small test movies whose motion is made by resampling a larger scene (not by a Fourier shift).

Phase correlation inverts a Fourier shift exactly, so movies moved that way flatter a
registration; real motion moves a continuous scene that the microscope then samples. Here the
scene is drawn on a canvas larger than the field of view and each frame samples it at
displaced positions with cubic splines, so the frames carry interpolation, not a pure phase
ramp. Ring-shaped somata with dark nuclei, a smooth neuropil, bursts of activity, bleaching and
Poisson shot noise.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def resampled_movie(n_frames=200, shape=(80, 96), n_cells=18, amplitude=3.0, photons=30.0, bursts=True,
                    bleach=0.5, static=False, seed=0):
    """A movie and its true correction.

    Returns
    -------
    movie : ndarray of shape (T, H, W), float32
        Photon counts (Poisson) plus read noise of sd 1.
    truth : ndarray of shape (T, 2)
        The correction [dy, dx] per frame (applying it aligns the frame with the scene).
    """
    rng = np.random.default_rng(seed)
    H, W = shape
    pad = int(np.ceil(2 * amplitude)) + 6
    HH, WW = H + 2 * pad, W + 2 * pad
    yy, xx = np.mgrid[0:HH, 0:WW].astype(float)
    k = int(round(n_cells * HH * WW / (H * W)))
    foot = np.empty((k, HH, WW))
    for i in range(k):
        cy, cx, r = rng.uniform(0, HH), rng.uniform(0, WW), rng.uniform(4.0, 6.5)
        d = np.hypot(yy - cy, xx - cx)
        foot[i] = np.exp(-0.5 * ((d - 0.65 * r) / (0.3 * r)) ** 2)
    neuropil = ndimage.gaussian_filter(rng.standard_normal((HH, WW)), 6)
    background = 0.6 + 0.3 * neuropil / np.abs(neuropil).max()
    T = n_frames
    spikes = rng.random((T, k)) < 0.01
    if bursts:
        for t0 in rng.choice(T - 20, 3, replace=False):
            spikes[t0:t0 + 10, rng.choice(k, max(1, k // 3), replace=False)] = True
    kernel = np.exp(-np.arange(30) / 8.0)
    calcium = np.array([np.convolve(spikes[:, i], kernel)[:T] for i in range(k)]).T
    level = 0.3 + 1.5 * calcium
    fade = np.exp(-bleach * np.arange(T) / T)
    if static:
        truth = np.zeros((T, 2))
    else:
        walk = ndimage.gaussian_filter1d(rng.standard_normal((T, 2)), 4.0, axis=0)
        truth = np.clip(walk / walk.std(axis=0) * amplitude / 2.0, -amplitude, amplitude)
    rows, cols = np.mgrid[0:H, 0:W].astype(float) + pad
    movie = np.empty((T, H, W), np.float32)
    for t in range(T):
        scene = (background + np.tensordot(level[t], foot, axes=1)) * fade[t]
        # Frame t shows the scene displaced by -truth[t]: applying truth[t] undoes it.
        img = ndimage.map_coordinates(scene, [rows + truth[t, 0], cols + truth[t, 1]], order=3, mode="nearest")
        movie[t] = rng.poisson(np.clip(img, 0, None) * photons) + rng.normal(0.0, 1.0, (H, W))
    return movie, truth


def shift_errors(estimate, truth) -> np.ndarray:
    """Per-frame error (px) after removing the median offset (the template's position is arbitrary)."""
    d = np.asarray(estimate, float) - np.asarray(truth, float)
    d -= np.median(d, axis=0)
    return np.hypot(d[:, 0], d[:, 1])

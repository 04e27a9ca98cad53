"""The static and neuropil parts of the scene, and the optics (point-spread function, pixels).

Everything here is drawn on a fine grid (``upsample`` samples per pixel) larger than the field
of view, so that motion brings real content into view and sampling between pixels is defined.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["periodic_texture", "smooth_texture", "optics", "neuropil_maps", "static_background"]


def periodic_texture(rng, shape, corr_length: float) -> np.ndarray:
    """Zero-mean, unit-std random texture with correlation length ``corr_length`` px.

    Filtered in the Fourier domain, so it is periodic: a Fourier shift of the canvas then has no
    wrap-around seam.
    """
    H, W = shape
    noise = rng.standard_normal(shape)
    ky = np.fft.fftfreq(H)[:, None]
    kx = np.fft.fftfreq(W)[None, :]
    transfer = np.exp(-2 * (math.pi * corr_length) ** 2 * (ky ** 2 + kx ** 2))
    tex = np.real(np.fft.ifft2(np.fft.fft2(noise) * transfer))
    tex -= tex.mean()
    return tex / (tex.std() + 1e-12)



def smooth_texture(rng, shape, corr_length: float) -> np.ndarray:
    """Zero-mean, unit-std random texture with correlation length ``corr_length`` samples (not periodic)."""
    tex = ndimage.gaussian_filter(rng.standard_normal(shape), corr_length, mode="reflect")
    tex -= tex.mean()
    return tex / (tex.std() + 1e-12)


def optics(img: np.ndarray, upsample: int, psf_sigma: float) -> np.ndarray:
    """What a pixel records of a fine-grid image: a Gaussian point-spread function, then the
    integral over the pixel's area.

    Parameters
    ----------
    img : ndarray of shape (h, w)
        Fine grid, ``upsample`` samples per pixel.
    psf_sigma : float
        Lateral PSF standard deviation, px.

    The pixel integral of the image's linear interpolant is a trapezoid filter ``upsample + 1``
    samples wide (half weight at both ends); both filters commute with translation, so applying
    them to each spatial map before it moves is the same as applying them to each frame.
    """
    u = int(upsample)
    box = np.ones(u + 1)
    box[0] = box[-1] = 0.5
    box /= u
    out = ndimage.correlate1d(img, box, axis=0, mode="constant")
    out = ndimage.correlate1d(out, box, axis=1, mode="constant")
    return ndimage.gaussian_filter(out, psf_sigma * u, mode="constant", truncate=3.0)


def _paths(rng, n, shape, length_range, step=0.5):
    """Fine-grid points of ``n`` meandering curves (processes, vessels) crossing ``shape``."""
    H, W = shape
    out = []
    for _ in range(n):
        length = rng.uniform(*length_range)
        m = max(int(length / step), 2)
        heading = rng.uniform(0, 2 * math.pi) + np.cumsum(rng.normal(0, 0.08, m))
        start = rng.uniform([0, 0], [H, W])
        pts = start + np.cumsum(step * np.column_stack([np.sin(heading), np.cos(heading)]), axis=0)
        keep = (pts[:, 0] >= 0) & (pts[:, 0] < H - 0.5) & (pts[:, 1] >= 0) & (pts[:, 1] < W - 0.5)
        out.append(np.round(pts[keep]).astype(int))
    return out


def neuropil_maps(rng, shape, upsample, n_groups, n_cells_fov, fov_area):
    """Spatial maps of the neuropil on the fine grid: ``n_groups`` groups of out-of-focus
    processes and somata (each group shares one time course) and one diffuse map.

    Out-of-focus structure is blurred more than the focal plane (sigma 0.8-2.5 px); processes
    are ~1 px wide and tens of px long, about one per 120 px^2; out-of-focus somata are as
    numerous as half the focal cells. Each map has mean 1 over the canvas.

    Returns
    -------
    groups : ndarray of shape (n_groups, h, w), float32
    diffuse : ndarray of shape (h, w), float32
    """
    h, w = shape
    u = upsample
    groups = np.zeros((n_groups, h, w), np.float32)
    n_proc = int(h * w / u ** 2 / 120)
    for pts in _paths(rng, n_proc, shape, (10 * u, 50 * u)):
        np.add.at(groups[rng.integers(n_groups)], (pts[:, 0], pts[:, 1]), rng.uniform(0.3, 1.0))
    blobs = np.zeros_like(groups)
    n_soma = int(0.5 * n_cells_fov * h * w / u ** 2 / max(fov_area, 1))
    for _ in range(n_soma):
        r, c = rng.integers(0, h), rng.integers(0, w)
        blobs[rng.integers(n_groups), r, c] += rng.uniform(0.5, 1.5)
    for i in range(n_groups):
        groups[i] = ndimage.gaussian_filter(groups[i], rng.uniform(0.8, 2.5) * u)
        # out-of-focus somata: discs blurred to a few px, peak about that of a process
        sigma = rng.uniform(3.0, 5.0) * u
        groups[i] += ndimage.gaussian_filter(blobs[i], sigma) * (2 * math.pi * sigma ** 2) * 0.3
        groups[i] /= max(groups[i].mean(), 1e-12)
    diffuse = np.clip(1.0 + 0.5 * smooth_texture(rng, shape, 6 * u), 0.05, None)
    return groups, (diffuse / diffuse.mean()).astype(np.float32)


def static_background(rng, shape, upsample):
    """Fine-grid static fluorescence (mean 1) and a vessel transmission map (0.25-1).

    Vignetting (brighter in the middle, smooth), a fine autofluorescent texture, and 1-3 blood
    vessels 4-10 px wide that shadow everything under them.

    Returns
    -------
    static, vessels : ndarray of shape (h, w), float32
    """
    h, w = shape
    u = upsample
    yy = (np.arange(h)[:, None] - h / 2) / h
    xx = (np.arange(w)[None, :] - w / 2) / w
    vignette = 1.0 - rng.uniform(0.3, 0.6) * (yy ** 2 + xx ** 2) * 2
    static = vignette * np.clip(1.0 + 0.25 * smooth_texture(rng, shape, 1.5 * u), 0.1, None)
    mask = np.zeros(shape)
    for pts in _paths(rng, rng.integers(1, 4), shape, (0.8 * max(h, w), 1.5 * max(h, w)), step=1.0):
        width = rng.uniform(2, 5) * u
        line = np.zeros(shape)
        line[pts[:, 0], pts[:, 1]] = 1.0
        dist = ndimage.distance_transform_edt(line == 0)
        mask = np.maximum(mask, 1.0 / (1.0 + np.exp((dist - width) / (0.5 * u))))
    vessels = 1.0 - 0.75 * mask
    static = static * vessels
    return (static / static.mean()).astype(np.float32), vessels.astype(np.float32)

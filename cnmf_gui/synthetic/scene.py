"""The static and neuropil parts of the scene, and the optics (point-spread function, pixels).

Everything here is drawn on a fine grid (``upsample`` samples per pixel) larger than the field
of view, so that motion brings real content into view and sampling between pixels is defined.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

__all__ = ["periodic_texture", "smooth_texture", "optics", "spline_columns", "neuropil_sources",
           "diffuse_neuropil", "static_background", "illumination"]


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


def spline_columns(patches, canvas_shape) -> sp.csc_matrix:
    """Sparse fine-grid spline coefficients of local patches, one column each.

    Parameters
    ----------
    patches : list of (r0, c0, ndarray of shape (h, w))
        Each patch's first fine sample and its values (after :func:`optics`); a patch must
        be zero at its border (padding), so the coefficients of the sum are the sum of the
        patches' coefficients, filtered as if the canvas were empty elsewhere.
    canvas_shape : (int, int)

    Returns
    -------
    scipy.sparse.csc_matrix of shape (ch * cw, len(patches)), float32
        Cubic B-spline coefficients (values below 1e-4 dropped), pixel index ``row * cw + col``.
    """
    ch, cw = canvas_shape
    idx, vals, cols = [], [], []
    for k, (r0, c0, patch) in enumerate(patches):
        coef = ndimage.spline_filter(patch, order=3, mode="grid-constant").astype(np.float32)
        rr, cc = np.nonzero(np.abs(coef) > 1e-4)
        inside = (rr + r0 >= 0) & (rr + r0 < ch) & (cc + c0 >= 0) & (cc + c0 < cw)
        idx.append((rr[inside] + r0) * cw + cc[inside] + c0)
        vals.append(coef[rr[inside], cc[inside]])
        cols.append(np.full(int(inside.sum()), k))
    if not patches:
        return sp.csc_matrix((ch * cw, 0), dtype=np.float32)
    return sp.csc_matrix((np.concatenate(vals), (np.concatenate(idx), np.concatenate(cols))),
                         shape=(ch * cw, len(patches)), dtype=np.float32)


def neuropil_sources(rng, shape, upsample, psf_sigma, n_cells_fov, fov_area, vessels):
    """The neuropil's structured part, as independent sources on the fine grid.

    Out-of-focus processes (~1 px wide, blurred 0.8-2 px, 10-50 px long, one per 300 px^2) and
    out-of-focus somata (blurred to 3-5 px, half as many as the focal cells per area), each a
    source of its own (its own activity is drawn by the caller), peak 1, shadowed by vessels.

    Returns
    -------
    sources : scipy.sparse.csc_matrix of shape (h * w, P)
        Spline coefficients after the optics (see :func:`spline_columns`).
    kind : ndarray of shape (P,), int
        0 process, 1 out-of-focus soma.
    """
    h, w = shape
    u = upsample
    patches, kind = [], []
    n_proc = int(h * w / u ** 2 / 300)
    for pts in _paths(rng, n_proc, shape, (10 * u, 50 * u)):
        if len(pts) < 4:
            continue
        sigma = rng.uniform(0.8, 2.0) * u
        pad = int(3 * sigma) + 4
        lo = pts.min(axis=0) - pad
        patch = np.zeros(tuple(pts.max(axis=0) - lo + pad + 1))
        np.add.at(patch, (pts[:, 0] - lo[0], pts[:, 1] - lo[1]), 1.0)
        patch = ndimage.gaussian_filter(patch, sigma, mode="constant")
        patch /= max(patch.max(), 1e-12)
        patches.append((int(lo[0]), int(lo[1]), patch))
        kind.append(0)
    n_soma = int(0.5 * n_cells_fov * h * w / u ** 2 / max(fov_area, 1))
    for _ in range(n_soma):
        sigma = rng.uniform(3.0, 5.0) * u
        half = int(3 * sigma) + 4
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        d = np.arange(-half, half + 1)
        patch = np.exp(-0.5 * (d[:, None] ** 2 + d[None, :] ** 2) / sigma ** 2)
        patches.append((r - half, c - half, patch))
        kind.append(1)
    out = []
    for r0, c0, patch in patches:
        rr = np.clip(np.arange(r0, r0 + patch.shape[0]), 0, h - 1)
        cc = np.clip(np.arange(c0, c0 + patch.shape[1]), 0, w - 1)
        out.append((r0, c0, optics(patch * vessels[np.ix_(rr, cc)], u, psf_sigma)))
    return spline_columns(out, shape), np.asarray(kind, int)


def diffuse_neuropil(rng, shape, upsample, vessels) -> np.ndarray:
    """The neuropil's unresolved haze: a smooth positive field (mean 1), shadowed by vessels."""
    diffuse = np.clip(1.0 + 0.5 * smooth_texture(rng, shape, 6 * upsample), 0.05, None) * vessels
    return (diffuse / diffuse.mean()).astype(np.float32)


def static_background(rng, shape, upsample):
    """Fine-grid static fluorescence of the tissue (mean 1) and a vessel transmission map (0.25-1).

    A fine autofluorescent texture and 1-3 blood vessels 4-10 px wide that shadow everything
    under them; both move with the brain (the illumination does not: :func:`illumination`).

    Returns
    -------
    static, vessels : ndarray of shape (h, w), float32
    """
    h, w = shape
    u = upsample
    static = np.clip(1.0 + 0.25 * smooth_texture(rng, shape, 1.5 * u), 0.1, None)
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


def illumination(rng, shape, strength: float) -> np.ndarray:
    """Vignetting of the microscope, fixed in the frame (it does not move with the brain).

    A smooth fall-off from an off-centre maximum, down to ``1 - strength`` in the corners: a
    pattern that stays put while the scene moves, which registration must not lock onto.

    Returns
    -------
    ndarray of shape (H, W), float32, max 1
    """
    H, W = shape
    cy, cx = rng.uniform(0.35, 0.65) * H, rng.uniform(0.35, 0.65) * W
    rho2 = ((np.arange(H)[:, None] - cy) / H) ** 2 + ((np.arange(W)[None, :] - cx) / W) ** 2
    field = 1.0 - strength * rho2 / max(float(rho2.max()), 1e-12)
    return field.astype(np.float32)

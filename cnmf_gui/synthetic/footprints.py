"""Cell shapes: soma footprints (the legacy blobs and ring somata with processes) and placement."""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["soma_legacy", "place_centers", "cell_patch"]


def soma_legacy(rng, shape, center, radius) -> np.ndarray:
    """One soma-like footprint on a canvas: an elliptical, soft-edged blob, peak 1."""
    H, W = shape
    elong = rng.uniform(0.75, 1.3)
    ry, rx = radius * elong, radius / elong
    theta = rng.uniform(0, math.pi)
    half = int(math.ceil(2.5 * radius)) + 1
    r0, c0 = int(round(center[0])), int(round(center[1]))
    rows = np.arange(max(r0 - half, 0), min(r0 + half + 1, H))
    cols = np.arange(max(c0 - half, 0), min(c0 + half + 1, W))
    dr = rows[:, None] - center[0]
    dc = cols[None, :] - center[1]
    u = dr * math.cos(theta) + dc * math.sin(theta)
    v = -dr * math.sin(theta) + dc * math.cos(theta)
    rho = np.sqrt((u / ry) ** 2 + (v / rx) ** 2)
    # Flat-ish top falling off softly at the membrane: a generalised Gaussian.
    blob = np.exp(-0.5 * (rho / 0.75) ** 4) + 0.15 * np.exp(-0.5 * (rho / 1.1) ** 2)
    if rng.random() < 0.5:
        # Dim nucleus: GCaMP is excluded from the nucleus in many preparations.
        blob *= 1.0 - 0.45 * np.exp(-0.5 * (rho / 0.4) ** 2)
    blob[blob < 0.02 * blob.max()] = 0.0
    out = np.zeros(shape, np.float32)
    out[np.ix_(rows, cols)] = blob / blob.max()
    return out


def _place_centers(rng, n, shape, margin, min_distance) -> np.ndarray:
    """Random centres at least ``min_distance`` px apart (fewer if the field is full)."""
    H, W = shape
    centers: list[tuple[float, float]] = []
    attempts = 0
    while len(centers) < n and attempts < 200 * max(n, 1):
        attempts += 1
        cand = (rng.uniform(margin, H - 1 - margin), rng.uniform(margin, W - 1 - margin))
        if all((cand[0] - r) ** 2 + (cand[1] - c) ** 2 >= min_distance ** 2 for r, c in centers):
            centers.append(cand)
    return np.array(centers, float).reshape(-1, 2)




def place_centers(rng, n, shape, margin, min_distance) -> np.ndarray:
    """Random centres at least ``min_distance`` px apart (fewer if the field is full).

    ``min_distance`` is a number or an array of shape (n,): then the candidate ``k`` must be at
    least ``(min_distance[k] + min_distance[j]) / 2`` from each placed centre ``j``.
    """
    H, W = shape
    if n <= 0:
        return np.zeros((0, 2))
    need = np.broadcast_to(np.asarray(min_distance, float), (max(int(n), 1),))
    centers: list[tuple[float, float]] = []
    attempts = 0
    while len(centers) < n and attempts < 200 * max(n, 1):
        attempts += 1
        k = len(centers)
        cand = (rng.uniform(margin, H - 1 - margin), rng.uniform(margin, W - 1 - margin))
        if all((cand[0] - r) ** 2 + (cand[1] - c) ** 2 >= (0.5 * (need[k] + need[j])) ** 2
               for j, (r, c) in enumerate(centers)):
            centers.append(cand)
    return np.array(centers, float).reshape(-1, 2)


def _ring_soma(rng, dr, dc, radius):
    """A soma on offsets (dr, dc) from its centre: cytoplasm ring, dark nucleus, soft membrane.

    GCaMP is cytosolic and excluded from the nucleus: the soma looks like a ring around a dim
    disc whose size and darkness vary from cell to cell; cells are slightly elliptical.
    """
    elong = rng.uniform(0.8, 1.25)
    theta = rng.uniform(0, math.pi)
    u = dr * math.cos(theta) + dc * math.sin(theta)
    v = -dr * math.sin(theta) + dc * math.cos(theta)
    rho = np.sqrt((u / (radius * elong)) ** 2 + (v / (radius / elong)) ** 2)
    body = 1.0 / (1.0 + np.exp((rho - 1.0) / 0.07))
    nucleus_radius = rng.uniform(0.45, 0.7)
    nucleus_level = rng.uniform(0.1, 0.45)   # brightness of the nucleus relative to the cytoplasm
    off = rng.uniform(-0.15, 0.15, 2) * radius  # the nucleus is rarely centred
    rho_n = np.hypot(dr - off[0], dc - off[1]) / (nucleus_radius * radius)
    nucleus = 1.0 / (1.0 + np.exp((rho_n - 1.0) / 0.1))
    return body * (1.0 - (1.0 - nucleus_level) * nucleus) * (0.8 + 0.2 * np.clip(rho, 0, 1))


def _process_points(rng, radius, length, step):
    """Points (offsets from the soma centre) along one meandering process leaving the soma."""
    n = max(int(length / step), 2)
    heading = rng.uniform(0, 2 * math.pi) + np.cumsum(rng.normal(0, 0.12, n))
    start = radius * 0.9 * np.array([math.sin(heading[0]), math.cos(heading[0])])
    pts = start + np.cumsum(step * np.column_stack([np.sin(heading), np.cos(heading)]), axis=0)
    taper = np.linspace(1.0, 0.3, n)
    return pts, taper


def cell_patch(rng, center, radius, upsample: int, n_processes: int = 0, pad: int = 8):
    """A cell drawn on a fine grid (``upsample`` samples per pixel), before optics.

    Parameters
    ----------
    center : (float, float)
        Centre on the fine grid (fine samples).
    radius : float
        Soma radius, px (of the coarse grid).
    upsample : int
    n_processes : int
        Dendrite-like processes (width ~1 px, 1.5-4 radii long, a third of the soma's
        brightness, tapering) leaving the soma; they belong to the cell and share its activity.
    pad : int
        Empty fine samples kept around the cell for the optics' blur.

    Returns
    -------
    r0, c0 : int
        Fine-grid position of the patch's first sample.
    patch : ndarray of shape (h, w), float32
        Soma peak about 1.
    """
    R = radius * upsample
    procs = [_process_points(rng, R, rng.uniform(1.5, 4.0) * R, 0.5) for _ in range(n_processes)]
    pts = np.vstack([np.zeros((1, 2))] + [p for p, _ in procs])
    lo = np.floor(np.minimum(pts.min(axis=0), -1.3 * R) + np.asarray(center)).astype(int) - pad
    hi = np.ceil(np.maximum(pts.max(axis=0), 1.3 * R) + np.asarray(center)).astype(int) + pad
    rows = np.arange(lo[0], hi[0] + 1)
    cols = np.arange(lo[1], hi[1] + 1)
    dr = rows[:, None] - center[0]
    dc = cols[None, :] - center[1]
    patch = _ring_soma(rng, dr, dc, R)
    if procs:
        lines = np.zeros_like(patch)
        for p, taper in procs:
            level = rng.uniform(0.25, 0.45)
            rr = np.clip(np.round(p[:, 0] + center[0] - lo[0]).astype(int), 0, patch.shape[0] - 1)
            cc = np.clip(np.round(p[:, 1] + center[1] - lo[1]).astype(int), 0, patch.shape[1] - 1)
            np.add.at(lines, (rr, cc), level * taper)
        sigma = 0.4 * upsample
        # deltas every half fine sample: a blurred line's ridge height is 2 / (sqrt(2 pi) sigma)
        lines = ndimage.gaussian_filter(lines, sigma) * (math.sqrt(2 * math.pi) * sigma / 2)
        patch = np.maximum(patch, lines)
    return int(lo[0]), int(lo[1]), patch.astype(np.float32)

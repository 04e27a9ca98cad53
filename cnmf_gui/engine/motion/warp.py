"""Applying shifts to frames: rigid sub-pixel shifts and smooth per-pixel shift fields.

Convention (DESIGN.md): applying ``[dy, dx]`` to an image ``I`` gives ``J(r, c) = I(r - dy,
c - dx)``. Samples between pixels are interpolated with Keys' cubic convolution kernel (a = -0.5;
interpolating, third-order accurate, and sharper than bilinear, which blurs each frame by an
amount that depends on its fractional shift and so modulates the noise frame to frame) or
bilinearly. Samples outside the frame take the value of the nearest edge pixel, so a corrected
movie has no NaN or zero bands that would look like dark cells to CNMF.

The kernels are compiled with numba, release the GIL and work on one frame at a time, so
callers spread batches of frames over threads (:mod:`~cnmf_gui.engine.motion.parallel`).

References
----------
Keys R. (1981) Cubic convolution interpolation for digital image processing. IEEE Trans.
Acoustics, Speech, and Signal Processing 29(6):1153-1160.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from cnmf_gui.engine.motion.parallel import parallel_map

ORDERS = {"linear": 1, "cubic": 3}


@numba.njit(cache=True, nogil=True, inline="always")
def _weights(t, order, w):
    """Interpolation weights for nodes -1, 0, 1, 2 around a sample at fraction ``t`` in [0, 1)."""
    if order == 1:
        w[0] = 0.0
        w[1] = 1.0 - t
        w[2] = t
        w[3] = 0.0
    else:
        # Keys (1981), a = -0.5, evaluated at distances 1 + t, t, 1 - t, 2 - t.
        t2 = t * t
        t3 = t2 * t
        w[0] = -0.5 * t3 + t2 - 0.5 * t
        w[1] = 1.5 * t3 - 2.5 * t2 + 1.0
        w[2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
        w[3] = 0.5 * t3 - 0.5 * t2


@numba.njit(cache=True, nogil=True)
def _shift_one(src, dy, dx, order, out, tmp):
    H, W = src.shape
    wy = np.empty(4, np.float32)
    wx = np.empty(4, np.float32)
    # Sample position r - dy = r + ky + ty with integer ky and ty in [0, 1).
    ky = math.floor(-dy)
    kx = math.floor(-dx)
    _weights(-dy - ky, order, wy)
    _weights(-dx - kx, order, wx)
    # Horizontal pass into tmp: interior columns need no clamping (the loop vectorises).
    c_lo = min(max(1 - kx, 0), W)
    c_hi = max(min(W - 2 - kx, W), c_lo)
    for r in range(H):
        row = src[r]
        trow = tmp[r]
        for c in range(c_lo, c_hi):
            b = c + kx - 1
            trow[c] = wx[0] * row[b] + wx[1] * row[b + 1] + wx[2] * row[b + 2] + wx[3] * row[b + 3]
        for c in range(0, c_lo):
            s = np.float32(0.0)
            for j in range(4):
                s += wx[j] * row[min(max(c + kx - 1 + j, 0), W - 1)]
            trow[c] = s
        for c in range(c_hi, W):
            s = np.float32(0.0)
            for j in range(4):
                s += wx[j] * row[min(max(c + kx - 1 + j, 0), W - 1)]
            trow[c] = s
    # Vertical pass.
    for r in range(H):
        r0 = min(max(r + ky - 1, 0), H - 1)
        r1 = min(max(r + ky, 0), H - 1)
        r2 = min(max(r + ky + 1, 0), H - 1)
        r3 = min(max(r + ky + 2, 0), H - 1)
        a0 = tmp[r0]
        a1 = tmp[r1]
        a2 = tmp[r2]
        a3 = tmp[r3]
        o = out[r]
        for c in range(W):
            o[c] = wy[0] * a0[c] + wy[1] * a1[c] + wy[2] * a2[c] + wy[3] * a3[c]


@numba.njit(cache=True, nogil=True)
def _shift_many(frames, shifts, order, out):
    n, H, W = frames.shape
    tmp = np.empty((H, W), np.float32)
    for i in range(n):
        _shift_one(frames[i], shifts[i, 0], shifts[i, 1], order, out[i], tmp)


@numba.njit(cache=True, nogil=True)
def _warp_one(src, grid, row_idx, row_w, col_idx, col_w, order, out, field_rows, fy, fx, iy, ix, wy4, wx4):
    H, W = src.shape
    gy, gx = grid.shape[0], grid.shape[1]
    # Interpolate the shift grid along rows once per image row: field_rows (H, gx, 2).
    for r in range(H):
        for j in range(gx):
            sy = 0.0
            sx = 0.0
            for i in range(4):
                wgt = row_w[r, i]
                sy += wgt * grid[row_idx[r, i], j, 0]
                sx += wgt * grid[row_idx[r, i], j, 1]
            field_rows[r, j, 0] = sy
            field_rows[r, j, 1] = sx
    # Row by row in three loops: the sample positions, their weights (a loop without gathers,
    # which the compiler vectorises), then the 4 x 4 sums; interior pixels need no clamping.
    for r in range(H):
        fr = field_rows[r]
        for c in range(W):
            dy = 0.0
            dx = 0.0
            for j in range(4):
                wgt = col_w[c, j]
                k = col_idx[c, j]
                dy += wgt * fr[k, 0]
                dx += wgt * fr[k, 1]
            py = r - dy
            px = c - dx
            by = math.floor(py)
            bx = math.floor(px)
            iy[c] = by
            ix[c] = bx
            fy[c] = py - by
            fx[c] = px - bx
        for c in range(W):
            t = np.float32(fy[c])
            t2 = t * t
            t3 = t2 * t
            if order == 1:
                wy4[c, 0] = 0.0
                wy4[c, 1] = 1.0 - t
                wy4[c, 2] = t
                wy4[c, 3] = 0.0
            else:
                wy4[c, 0] = -0.5 * t3 + t2 - 0.5 * t
                wy4[c, 1] = 1.5 * t3 - 2.5 * t2 + 1.0
                wy4[c, 2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
                wy4[c, 3] = 0.5 * t3 - 0.5 * t2
            t = np.float32(fx[c])
            t2 = t * t
            t3 = t2 * t
            if order == 1:
                wx4[c, 0] = 0.0
                wx4[c, 1] = 1.0 - t
                wx4[c, 2] = t
                wx4[c, 3] = 0.0
            else:
                wx4[c, 0] = -0.5 * t3 + t2 - 0.5 * t
                wx4[c, 1] = 1.5 * t3 - 2.5 * t2 + 1.0
                wx4[c, 2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
                wx4[c, 3] = 0.5 * t3 - 0.5 * t2
        o = out[r]
        for c in range(W):
            by = iy[c]
            bx = ix[c]
            if by >= 1 and by + 2 <= H - 1 and bx >= 1 and bx + 2 <= W - 1:
                s = np.float32(0.0)
                for i in range(4):
                    row = src[by - 1 + i]
                    s += wy4[c, i] * (wx4[c, 0] * row[bx - 1] + wx4[c, 1] * row[bx] + wx4[c, 2] * row[bx + 1]
                                      + wx4[c, 3] * row[bx + 2])
                o[c] = s
            else:
                s = np.float32(0.0)
                for i in range(4):
                    ri = min(max(by - 1 + i, 0), H - 1)
                    row = src[ri]
                    acc = np.float32(0.0)
                    for j in range(4):
                        acc += wx4[c, j] * row[min(max(bx - 1 + j, 0), W - 1)]
                    s += wy4[c, i] * acc
                o[c] = s

@numba.njit(cache=True, nogil=True)
def _warp_many(frames, grids, row_idx, row_w, col_idx, col_w, order, out):
    n, H, W = frames.shape
    field_rows = np.empty((H, grids.shape[2], 2), np.float64)
    fy = np.empty(W)
    fx = np.empty(W)
    iy = np.empty(W, np.int64)
    ix = np.empty(W, np.int64)
    wy4 = np.empty((W, 4), np.float32)
    wx4 = np.empty((W, 4), np.float32)
    for i in range(n):
        _warp_one(frames[i], grids[i], row_idx, row_w, col_idx, col_w, order, out[i], field_rows, fy, fx, iy, ix, wy4, wx4)


def _as_frames(frames) -> tuple[np.ndarray, bool]:
    arr = np.ascontiguousarray(frames, dtype=np.float32)
    if arr.ndim == 2:
        return arr[None], True
    if arr.ndim != 3:
        raise ValueError(f"frames must have shape (n, H, W) or (H, W), got {arr.shape}")
    return arr, False


def shift_frames(frames, shifts, *, order: int = 3, n_workers: int = 1, out=None) -> np.ndarray:
    """Apply rigid sub-pixel shifts, one per frame.

    Parameters
    ----------
    frames : array_like of shape (n, H, W) or (H, W)
    shifts : array_like of shape (n, 2) or (2,)
        [dy, dx] applied to each frame: ``J(r, c) = I(r - dy, c - dx)``.
    order : {1, 3}
        1 bilinear, 3 Keys cubic.
    n_workers : int
        Threads.
    out : ndarray of shape (n, H, W), float32, optional

    Returns
    -------
    ndarray of shape (n, H, W) or (H, W), float32
    """
    arr, single = _as_frames(frames)
    sh = np.ascontiguousarray(np.asarray(shifts, np.float64).reshape(-1, 2))
    if sh.shape[0] != arr.shape[0]:
        raise ValueError(f"need one shift per frame: {arr.shape[0]} frames, {sh.shape[0]} shifts")
    res = np.empty(arr.shape, np.float32) if out is None else out

    def work(a, b):
        _shift_many(arr[a:b], sh[a:b], int(order), res[a:b])

    parallel_map(work, arr.shape[0], n_workers)
    return res[0] if single else res


def grid_weights(centers: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Cubic interpolation of values at patch centres to every pixel along one axis.

    Parameters
    ----------
    centers : ndarray of shape (g,)
        Increasing positions (px) of the patch centres along the axis.
    n : int
        Number of pixels along the axis.

    Returns
    -------
    index : ndarray of shape (n, 4), int64
        The four grid nodes contributing to each pixel (clamped at the ends).
    weight : ndarray of shape (n, 4), float64
        Their weights (Keys cubic; beyond the outermost centres the value is held constant).
    """
    centers = np.asarray(centers, float)
    g = len(centers)
    index = np.zeros((n, 4), np.int64)
    weight = np.zeros((n, 4))
    if g == 1:
        weight[:, 1] = 1.0
        return index, weight
    p = np.arange(n, dtype=float)
    i = np.clip(np.searchsorted(centers, p, side="right") - 1, 0, g - 2)
    t = np.clip((p - centers[i]) / (centers[i + 1] - centers[i]), 0.0, 1.0)
    t2, t3 = t * t, t * t * t
    weight[:, 0] = -0.5 * t3 + t2 - 0.5 * t
    weight[:, 1] = 1.5 * t3 - 2.5 * t2 + 1.0
    weight[:, 2] = -1.5 * t3 + 2.0 * t2 + 0.5 * t
    weight[:, 3] = 0.5 * t3 - 0.5 * t2
    for j in range(4):
        index[:, j] = np.clip(i - 1 + j, 0, g - 1)
    return index, weight


def shift_field(shifts_pw: np.ndarray, patch_centers: np.ndarray, shape) -> np.ndarray:
    """Per-pixel shift field of one frame from its patch shifts.

    Parameters
    ----------
    shifts_pw : ndarray of shape (gy, gx, 2)
    patch_centers : ndarray of shape (gy, gx, 2)
        [row, col] of each patch centre.
    shape : (int, int)
        (H, W).

    Returns
    -------
    ndarray of shape (H, W, 2), float64
        [dy, dx] at every pixel.
    """
    H, W = shape
    ri, rw = grid_weights(patch_centers[:, 0, 0], H)
    ci, cw = grid_weights(patch_centers[0, :, 1], W)
    s = np.asarray(shifts_pw, float)
    rows = np.einsum("hk,hkgc->hgc", rw, s[ri])          # (H, gx, 2)
    return np.einsum("wk,hwkc->hwc", cw, rows[:, ci])     # (H, W, 2)


def warp_frames(frames, shifts_pw, patch_centers, *, order: int = 3, n_workers: int = 1,
                out=None) -> np.ndarray:
    """Apply piecewise-rigid shifts: a smooth per-pixel field interpolated from patch shifts.

    Parameters
    ----------
    frames : array_like of shape (n, H, W) or (H, W)
    shifts_pw : array_like of shape (n, gy, gx, 2) or (gy, gx, 2)
        [dy, dx] of each patch of each frame.
    patch_centers : ndarray of shape (gy, gx, 2)
        [row, col] of each patch centre (the grid is separable: rows vary along axis 0 only).
    order : {1, 3}
    n_workers : int
    out : ndarray of shape (n, H, W), float32, optional

    Returns
    -------
    ndarray of shape (n, H, W) or (H, W), float32
    """
    arr, single = _as_frames(frames)
    n, H, W = arr.shape
    grids = np.asarray(shifts_pw, np.float64)
    if grids.ndim == 3:
        grids = grids[None]
    if grids.shape[0] != n:
        raise ValueError(f"need one shift grid per frame: {n} frames, {grids.shape[0]} grids")
    centers = np.asarray(patch_centers, float)
    ri, rw = grid_weights(centers[:, 0, 0], H)
    ci, cw = grid_weights(centers[0, :, 1], W)
    res = np.empty(arr.shape, np.float32) if out is None else out

    def work(a, b):
        _warp_many(arr[a:b], np.ascontiguousarray(grids[a:b]), ri, rw, ci, cw, int(order), res[a:b])

    parallel_map(work, n, n_workers)
    return res[0] if single else res

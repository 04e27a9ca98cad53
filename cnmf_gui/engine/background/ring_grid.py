"""The coarse grid of the ring background: block-mean downsampling, linear upsampling, ring offsets
and the per-pixel ring statistics (numba), kept apart from the model so each file has one job."""

from __future__ import annotations

import math

import numba
import numpy as np

__all__ = ["Grid", "ring_offsets", "accumulate_ring"]


def _linear_weights(n_fine: int, s: int):
    """For each fine index: the two coarse block centres it lies between and the weight of the
    second (linear interpolation, clamped at the edges)."""
    n_coarse = -(-n_fine // s)
    centres = np.array([(min((i + 1) * s, n_fine) + i * s - 1) / 2 for i in range(n_coarse)])
    y = np.arange(n_fine, dtype=float)
    j = np.clip(np.searchsorted(centres, y, side="right") - 1, 0, n_coarse - 1)
    j1 = np.minimum(j + 1, n_coarse - 1)
    span = np.where(j1 > j, centres[j1] - centres[j], 1.0)
    w1 = np.clip((y - centres[j]) / span, 0.0, 1.0) * (j1 > j)
    return j.astype(np.int64), j1.astype(np.int64), w1.astype(np.float32)


@numba.njit(parallel=True, cache=True, nogil=True)
def _block_mean(X, s, out):
    """out[t, i, j] = mean of X[t, i*s:(i+1)*s, j*s:(j+1)*s] (the last blocks may be shorter)."""
    n, H, W = X.shape
    h, w = out.shape[1], out.shape[2]
    for t in numba.prange(n):
        for i in range(h):
            r1 = min((i + 1) * s, H)
            for j in range(w):
                c1 = min((j + 1) * s, W)
                acc = 0.0
                for r in range(i * s, r1):
                    for c in range(j * s, c1):
                        acc += X[t, r, c]
                out[t, i, j] = acc / ((r1 - i * s) * (c1 - j * s))


@numba.njit(parallel=True, cache=True, nogil=True)
def _bilinear(X, r0, r1, wr, c0, c1, wc, out):
    """out[t, y, x]: X (n, h, w) interpolated at fine row y, column x from the weights."""
    n = X.shape[0]
    H, W = out.shape[1], out.shape[2]
    for t in numba.prange(n):
        for y in range(H):
            a, b, v = r0[y], r1[y], wr[y]
            for x in range(W):
                p, q, u = c0[x], c1[x], wc[x]
                top = (1 - u) * X[t, a, p] + u * X[t, a, q]
                bottom = (1 - u) * X[t, b, p] + u * X[t, b, q]
                out[t, y, x] = (1 - v) * top + v * bottom


class Grid:
    """Downsampling of (n, H, W) stacks by ``factor`` (block means) and back (linear).

    Parameters
    ----------
    shape : (H, W)
    factor : int
        1 keeps the full grid.
    """

    def __init__(self, shape, factor: int):
        self.shape = (int(shape[0]), int(shape[1]))
        self.factor = max(1, int(factor))
        H, W = self.shape
        self.coarse = (-(-H // self.factor), -(-W // self.factor))
        # compiled loops: the sparse-operator products with their transposes and copies had
        # taken 40 % of a one-photon run (cProfile, 128 x 128 x 1,000)
        self._rows = _linear_weights(H, self.factor)
        self._cols = _linear_weights(W, self.factor)

    def down(self, X: np.ndarray) -> np.ndarray:
        """(n, H, W) -> (n, h, w) block means, float32."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.factor == 1:
            return X
        out = np.empty((X.shape[0],) + self.coarse, np.float32)
        _block_mean(X, self.factor, out)
        return out

    def up(self, X: np.ndarray) -> np.ndarray:
        """(n, h, w) -> (n, H, W) linear interpolation, float32."""
        X = np.ascontiguousarray(X, dtype=np.float32)
        if self.factor == 1:
            return X
        out = np.empty((X.shape[0],) + self.shape, np.float32)
        _bilinear(X, *self._rows, *self._cols, out)
        return out


def ring_offsets(radius: float, max_points: int = 24) -> np.ndarray:
    """Integer (drow, dcol) offsets at distance [radius, radius + 1) px, at most ``max_points``
    evenly spread in angle.

    Returns
    -------
    ndarray of shape (m, 2), int64
    """
    r = float(radius)
    R = int(math.ceil(r + 1))
    dy, dx = np.mgrid[-R:R + 1, -R:R + 1]
    d = np.hypot(dy, dx)
    sel = (d >= r) & (d < r + 1)
    pts = np.column_stack([dy[sel], dx[sel]])
    angle = np.arctan2(pts[:, 0], pts[:, 1])
    pts = pts[np.argsort(angle, kind="stable")]
    if len(pts) > max_points:
        pts = pts[np.round(np.linspace(0, len(pts), max_points, endpoint=False)).astype(int)]
    return pts.astype(np.int64)


def accumulate_ring(R, offsets, G, xy):
    """G[p] += X_p^T X_p and xy[p] += X_p^T y_p for every coarse pixel p, where y_p (n,) is the
    residual at p and X_p (n, m) the residual at p + offsets (0 outside the frame).

    Parameters
    ----------
    R : ndarray of shape (n, h, w)
        Residual (the constant already removed).
    offsets : ndarray of shape (m, 2), int64
    G : ndarray of shape (h*w, m, m), float64
        Full and symmetric; updated in place.
    xy : ndarray of shape (h*w, m), float64
        Updated in place.
    """
    # pixel-major (h, w, n): each ring sample's time series is one contiguous read
    _accumulate_ring(np.ascontiguousarray(np.moveaxis(np.asarray(R, np.float64), 0, -1)), offsets, G, xy)


@numba.njit(parallel=True, cache=True, nogil=True)
def _accumulate_ring(Rt, offsets, G, xy):
    """:func:`accumulate_ring` on the pixel-major residual Rt (h, w, n): each pixel's ring
    samples are gathered once and multiplied by BLAS (the scalar triple loop this replaces took
    13 % of a one-photon run)."""
    h, w, n = Rt.shape
    m = offsets.shape[0]
    for i in numba.prange(h):
        X = np.zeros((m, n))
        for j in range(w):
            p = i * w + j
            for k in range(m):
                ii = i + offsets[k, 0]
                jj = j + offsets[k, 1]
                if 0 <= ii < h and 0 <= jj < w:
                    X[k] = Rt[ii, jj]
                else:
                    X[k] = 0.0
            G[p] += X @ X.T
            xy[p] += X @ Rt[i, j]

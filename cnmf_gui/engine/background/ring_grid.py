"""The coarse grid of the ring background: block-mean downsampling, linear upsampling, ring offsets
and the per-pixel ring statistics (numba), kept apart from the model so each file has one job."""

from __future__ import annotations

import math

import numba
import numpy as np
import scipy.sparse as sp

__all__ = ["Grid", "ring_offsets", "accumulate_ring"]


def _block_mean(n_fine: int, s: int) -> sp.csr_matrix:
    """(n_coarse, n_fine) block-mean operator; the last block may be shorter."""
    n_coarse = -(-n_fine // s)
    rows = np.arange(n_fine) // s
    counts = np.bincount(rows, minlength=n_coarse).astype(float)
    return sp.csr_matrix((1.0 / counts[rows], (rows, np.arange(n_fine))), shape=(n_coarse, n_fine))


def _linear_up(n_fine: int, s: int) -> sp.csr_matrix:
    """(n_fine, n_coarse) linear interpolation from block centres to fine pixels (clamped at edges)."""
    n_coarse = -(-n_fine // s)
    centres = np.array([(min((i + 1) * s, n_fine) + i * s - 1) / 2 for i in range(n_coarse)])
    y = np.arange(n_fine, dtype=float)
    j = np.clip(np.searchsorted(centres, y, side="right") - 1, 0, n_coarse - 1)
    j1 = np.minimum(j + 1, n_coarse - 1)
    span = np.where(j1 > j, centres[j1] - centres[j], 1.0)
    w1 = np.clip((y - centres[j]) / span, 0.0, 1.0) * (j1 > j)
    rows = np.r_[np.arange(n_fine), np.arange(n_fine)]
    return sp.csr_matrix((np.r_[1 - w1, w1], (rows, np.r_[j, j1])), shape=(n_fine, n_coarse))


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
        self._Dr, self._DcT = _block_mean(H, self.factor), _block_mean(W, self.factor).T.tocsr()
        self._Ur, self._UcT = _linear_up(H, self.factor), _linear_up(W, self.factor).T.tocsr()

    @staticmethod
    def _apply(X: np.ndarray, R: sp.csr_matrix, CT: sp.csr_matrix) -> np.ndarray:
        n, a, b = X.shape
        Y = np.asarray(CT.T.dot(X.reshape(n * a, b).T).T)
        c = Y.shape[1]
        Y = Y.reshape(n, a, c).transpose(1, 0, 2).reshape(a, n * c)
        Z = np.asarray(R @ Y)
        return np.ascontiguousarray(Z.reshape(R.shape[0], n, c).transpose(1, 0, 2), dtype=np.float32)

    def down(self, X: np.ndarray) -> np.ndarray:
        """(n, H, W) -> (n, h, w) block means."""
        if self.factor == 1:
            return np.asarray(X, np.float32)
        return self._apply(np.asarray(X, np.float32), self._Dr, self._DcT)

    def up(self, X: np.ndarray) -> np.ndarray:
        """(n, h, w) -> (n, H, W) linear interpolation."""
        if self.factor == 1:
            return np.asarray(X, np.float32)
        return self._apply(np.asarray(X, np.float32), self._Ur, self._UcT)


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


@numba.njit(parallel=True, cache=True, nogil=True)
def accumulate_ring(R, offsets, G, xy):
    """G[p] += sum_t x_t x_t^T and xy[p] += sum_t x_t y_t for every coarse pixel p, where y_t is
    the residual at p and x_t the residual at p + offsets (0 outside the frame).

    R : (n, h, w) float32 residual (the constant already removed)
    G : (h*w, m, m) float64 (upper triangle filled); xy : (h*w, m) float64
    """
    n, h, w = R.shape
    m = offsets.shape[0]
    for i in numba.prange(h):
        x = np.zeros(m)
        for j in range(w):
            p = i * w + j
            for t in range(n):
                for k in range(m):
                    ii = i + offsets[k, 0]
                    jj = j + offsets[k, 1]
                    x[k] = R[t, ii, jj] if (0 <= ii < h and 0 <= jj < w) else 0.0
                y = R[t, i, j]
                for k in range(m):
                    xk = x[k]
                    if xk == 0.0:
                        continue
                    xy[p, k] += xk * y
                    for q in range(k, m):
                        G[p, k, q] += xk * x[q]

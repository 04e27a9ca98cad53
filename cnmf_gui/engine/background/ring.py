"""Ring background model of CNMF-E for one-photon movies.

The out-of-focus fluorescence of a one-photon movie is many times brighter than the neurons and
fluctuates on its own, so a low-rank ``b f`` cannot explain it. CNMF-E models each pixel's
background as a constant plus a weighted sum of the residual on a ring around it:

    B_t = W (Y_t - A c_t - b0) + b0,       W_pq != 0 only for |p - q| on the ring,

with the ring's radius about 1.5 neuron diameters, so that a pixel's own neuron is never on
its ring while the diffuse background, correlated over longer distances, is. W is the least
squares regression of each pixel's residual on its ring's, computed here on a coarser grid
(block means of ``factor`` x ``factor`` pixels: the fluctuating background is smooth, and the
neurons' own signal is removed before the fit), from per-pixel ring statistics accumulated
over chunks of frames: memory is independent of the number of frames. b0 (the mean residual)
stays at full resolution, so vessels and vignetting are kept exactly.

References
----------
Zhou P. et al. (2018) Efficient and accurate extraction of in vivo calcium signals from
microendoscopic video data. eLife 7:e28728 (Eq. 4-6, the ring model and its estimation).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.background.ring_grid import Grid, accumulate_ring, ring_offsets

__all__ = ["RingBackground", "RingStatistics"]

#: Ridge added to each pixel's ring regression, relative to the mean variance on its ring.
RIDGE = 1e-3


class RingStatistics:
    """Per-coarse-pixel ``X^T X`` (m, m) and ``X^T y`` (m,) of the ring regression.

    Accumulate residual chunks with :meth:`add`; add statistics of other chunks with ``+=``.
    """

    def __init__(self, n_pixels: int, m: int):
        self.G = np.zeros((n_pixels, m, m))
        self.xy = np.zeros((n_pixels, m))
        self.S = np.zeros(n_pixels)          # sum of the residual: the regression is centred with it
        self.n_frames = 0

    def __iadd__(self, other: "RingStatistics"):
        self.G += other.G
        self.xy += other.xy
        self.S += other.S
        self.n_frames += other.n_frames
        return self


class RingBackground:
    """``B_t = up(W (down(Y_t - A c_t) - down(b0))) + b0`` (see the module docstring).

    Parameters
    ----------
    shape : (H, W)
        Full-resolution frame.
    radius : float
        Ring radius in full-resolution pixels (CNMF-E: about 1.5 neuron diameters).
    factor : int
        Downsampling factor of the grid W lives on (1: full resolution).
    W : sparse (h*w, h*w), optional
        Ring weights on the coarse grid (default: zero, i.e. only the constant b0).
    b0 : ndarray of shape (H, W), optional
        Constant background (default zero).
    max_points : int
        Most ring pixels used per pixel (evenly spread in angle).
    """

    model = "ring"

    def __init__(self, shape, radius: float, factor: int = 2, W=None, b0=None, max_points: int = 24):
        self.shape = (int(shape[0]), int(shape[1]))
        H, Wd = self.shape
        self.radius = float(radius)
        self.factor = int(factor)
        self.max_points = int(max_points)
        if not self.radius > 0:
            raise ValueError(f"ring radius must be positive, got {radius}")
        if 2 * self.radius >= max(H, Wd):
            raise ValueError(f"ring radius {self.radius:g} px does not fit the {H} x {Wd} px frame")
        self.grid = Grid(self.shape, self.factor)
        h, w = self.grid.coarse
        self.offsets = ring_offsets(self.radius / self.grid.factor, self.max_points)
        self.W = sp.csr_matrix((h * w, h * w)) if W is None else sp.csr_matrix(W)
        self.b0 = np.zeros(self.shape, np.float32) if b0 is None else np.asarray(b0, np.float32).reshape(self.shape)
        self._b0_coarse = self.grid.down(self.b0[None])[0]

    # -- the constant ----------------------------------------------------------------------------
    def set_constant(self, b0: np.ndarray) -> None:
        """b0 (H, W): the mean of ``Y - A C`` over time (``mean image - A mean(C)``)."""
        self.b0 = np.asarray(b0, np.float32).reshape(self.shape)
        self._b0_coarse = self.grid.down(self.b0[None])[0]

    # -- fitting W from statistics -----------------------------------------------------------------
    def new_statistics(self) -> RingStatistics:
        h, w = self.grid.coarse
        return RingStatistics(h * w, len(self.offsets))

    def coarse_residual(self, frames: np.ndarray, neural=None, *, time_bin: int = 1) -> np.ndarray:
        """``down(Y - A C) - down(b0)`` for a chunk (n, H, W) -> (n', h, w), frames averaged in
        bins of ``time_bin`` (fewer, less noisy frames for the fit)."""
        X = np.asarray(frames, np.float32)
        if neural is not None:
            X = X - neural
        R = self.grid.down(X) - self._b0_coarse
        if time_bin > 1 and R.shape[0] >= time_bin:
            n = R.shape[0] // time_bin * time_bin
            R = R[:n].reshape(-1, time_bin, *R.shape[1:]).mean(axis=1)
        return np.ascontiguousarray(R, dtype=np.float32)

    def accumulate(self, stats: RingStatistics, frames: np.ndarray, neural=None, *, time_bin: int = 1) -> None:
        """Add one chunk's ring statistics of the residual ``frames - neural`` to ``stats``."""
        R = self.coarse_residual(frames, neural, time_bin=time_bin)
        accumulate_ring(R, self.offsets, stats.G, stats.xy)
        stats.S += R.reshape(R.shape[0], -1).sum(axis=0)
        stats.n_frames += R.shape[0]

    def solve(self, stats: RingStatistics, *, ridge: float = RIDGE, block: int = 4096) -> sp.csr_matrix:
        """W from the accumulated statistics (ridge regression per coarse pixel, on the residual
        with its temporal mean removed); stored and returned."""
        h, w = self.grid.coarse
        P, m = stats.xy.shape
        rows, cols = np.divmod(np.arange(P), w)
        nbr_r = rows[:, None] + self.offsets[None, :, 0]
        nbr_c = cols[:, None] + self.offsets[None, :, 1]
        inside = (nbr_r >= 0) & (nbr_r < h) & (nbr_c >= 0) & (nbr_c < w)
        n = max(stats.n_frames, 1)
        mean = stats.S / n
        mx = np.where(inside, mean[np.clip(nbr_r, 0, h - 1) * w + np.clip(nbr_c, 0, w - 1)], 0.0)
        weights = np.zeros((P, m))
        eye = np.eye(m)
        for a in range(0, P, block):
            G = stats.G[a:a + block] - n * mx[a:a + block, :, None] * mx[a:a + block, None, :]
            xy = stats.xy[a:a + block] - n * mx[a:a + block] * mean[a:a + block, None]
            scale = np.trace(G, axis1=1, axis2=2) / m
            lam = ridge * scale + 1e-12
            weights[a:a + block] = np.linalg.solve(G + lam[:, None, None] * eye, xy[:, :, None])[..., 0]
        weights[~inside] = 0.0
        keep = inside & (weights != 0)
        self.W = sp.csr_matrix((weights[keep], ((np.repeat(np.arange(P), m).reshape(P, m))[keep],
                                                (nbr_r * w + nbr_c)[keep])), shape=(P, P))
        return self.W

    # -- rendering -------------------------------------------------------------------------------
    def render(self, t0: int, t1: int, *, frames=None, neural=None, pixel_major: bool = False) -> np.ndarray:
        """The background of frames t0..t1-1, (n, H, W) float32 (or (H*W, n)).

        Parameters
        ----------
        frames : ndarray of shape (n, H, W)
            The movie's frames t0..t1-1 (needed: the ring background is a function of them).
        neural : ndarray of shape (n, H, W), optional
            ``A C`` of those frames (None: no neurons).
        """
        if frames is None:
            raise ValueError("the ring background needs the frames it is rendered for")
        R = self.coarse_residual(frames, neural)
        n = R.shape[0]
        h, w = self.grid.coarse
        fluct = np.asarray(self.W @ R.reshape(n, h * w).T, np.float32).T.reshape(n, h, w)
        out = self.grid.up(fluct) + self.b0
        return out.reshape(n, -1).T if pixel_major else out

    def subtract(self, frames: np.ndarray, t0: int, *, neural=None) -> np.ndarray:
        """``frames - render(...)``, frames (n, H, W)."""
        frames = np.asarray(frames, np.float32)
        return frames - self.render(t0, t0 + frames.shape[0], frames=frames, neural=neural)

    # -- plain arrays ----------------------------------------------------------------------------
    def to_arrays(self) -> dict:
        W = sp.csr_matrix(self.W)
        W.sort_indices()
        return {"W_data": W.data.astype(np.float32), "W_indices": W.indices.astype(np.int64),
                "W_indptr": W.indptr.astype(np.int64), "W_shape": np.asarray(W.shape, np.int64),
                "b0": self.b0, "radius": np.float64(self.radius), "factor": np.int64(self.factor),
                "max_points": np.int64(self.max_points)}

    @classmethod
    def from_arrays(cls, arrays: dict, shape) -> "RingBackground":
        W = sp.csr_matrix((np.asarray(arrays["W_data"]), np.asarray(arrays["W_indices"]),
                           np.asarray(arrays["W_indptr"])), shape=tuple(int(v) for v in np.asarray(arrays["W_shape"])))
        model = cls(shape, float(arrays["radius"]), int(arrays["factor"]), W=W, b0=arrays["b0"],
                    max_points=int(arrays.get("max_points", 24)))
        h, w = model.grid.coarse
        if W.shape != (h * w, h * w):
            raise ValueError(f"ring weights have shape {W.shape}, expected {(h * w, h * w)} for "
                             f"{shape} at factor {model.factor}")
        return model

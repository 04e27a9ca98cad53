"""Low-rank non-negative background ``B = b f`` (two-photon CNMF).

The spatial factor b (H*W, nb) and the temporal factor f (nb, T) are updated by the same
block coordinate descent (HALS) steps as the footprints and traces, from sufficient statistics:
``Y f^T`` and ``f f^T`` for b, ``b^T Y`` and ``b^T b`` for f. The batch fit
(:mod:`cnmf_gui.engine.fit`) runs these steps inside :func:`cnmf_gui.engine.spatial.update_spatial`
and :func:`cnmf_gui.engine.temporal.update_temporal`, interleaved with the footprints' sweeps;
:meth:`LowRankBackground.update_spatial` and :meth:`LowRankBackground.update_temporal` are the
same steps on their own, for callers that keep their own statistics (online CNMF).

References
----------
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299.
Cichocki A. & Phan A.-H. (2009) IEICE Trans Fundamentals E92-A(3):708-721 (HALS).
"""

from __future__ import annotations

import numpy as np

__all__ = ["LowRankBackground"]


class LowRankBackground:
    """``B = b f`` with b (H*W, nb) >= 0 and f (nb, T) >= 0.

    Parameters
    ----------
    b : ndarray of shape (H*W, nb)
    f : ndarray of shape (nb, T)
    shape : (H, W)
    """

    model = "low_rank"

    def __init__(self, b, f, shape):
        self.shape = (int(shape[0]), int(shape[1]))
        P = self.shape[0] * self.shape[1]
        self.b = np.asarray(b, float).reshape(P, -1)
        self.f = np.asarray(f, float).reshape(self.b.shape[1], -1)

    @property
    def rank(self) -> int:
        return int(self.b.shape[1])

    # -- rendering ----------------------------------------------------------------------------
    def render(self, t0: int, t1: int, *, frames=None, neural=None, pixel_major: bool = False) -> np.ndarray:
        """``b f[:, t0:t1]`` as (n, H, W) float32 (or (H*W, n) when ``pixel_major``)."""
        flat = (self.b @ self.f[:, t0:t1]).astype(np.float32)
        return flat if pixel_major else flat.T.reshape(-1, *self.shape)

    def subtract(self, frames: np.ndarray, t0: int, *, neural=None) -> np.ndarray:
        """``frames - b f[:, t0:t0+n]``, frames (n, H, W)."""
        frames = np.asarray(frames, np.float32)
        if self.rank == 0:
            return frames
        return frames - self.render(t0, t0 + frames.shape[0])

    # -- updates from sufficient statistics -----------------------------------------------------
    def update_spatial(self, Ub: np.ndarray, AWcf: np.ndarray, Vb: np.ndarray) -> np.ndarray:
        """One HALS sweep over the columns of b.

        Parameters
        ----------
        Ub : ndarray of shape (H*W, nb)
            ``Y f^T``.
        AWcf : ndarray of shape (H*W, nb)
            ``A C f^T`` (what the neurons explain of ``Y f^T``).
        Vb : ndarray of shape (nb, nb)
            ``f f^T``.

        Returns
        -------
        b : ndarray of shape (H*W, nb) (also stored)
        """
        b = self.b
        for i in range(self.rank):
            if Vb[i, i] <= 0:
                continue
            rest = b @ Vb[:, i] - b[:, i] * Vb[i, i]
            b[:, i] = np.maximum((Ub[:, i] - AWcf[:, i] - rest) / Vb[i, i], 0.0)
        return b

    def update_temporal(self, btY: np.ndarray, btAC: np.ndarray, btb: np.ndarray) -> np.ndarray:
        """One HALS sweep over the rows of f.

        Parameters
        ----------
        btY : ndarray of shape (nb, T)
            ``b^T Y``.
        btAC : ndarray of shape (nb, T)
            ``b^T A C``.
        btb : ndarray of shape (nb, nb)

        Returns
        -------
        f : ndarray of shape (nb, T) (also stored)
        """
        f = self.f
        for i in range(self.rank):
            if btb[i, i] <= 0:
                continue
            rest = btb[i] @ f - btb[i, i] * f[i]
            f[i] = np.maximum((btY[i] - btAC[i] - rest) / btb[i, i], 0.0)
        return f

    # -- plain arrays ----------------------------------------------------------------------------
    def to_arrays(self) -> dict:
        return {"b": self.b, "f": self.f}

    @classmethod
    def from_arrays(cls, arrays: dict, shape) -> "LowRankBackground":
        return cls(arrays["b"], arrays["f"], shape)

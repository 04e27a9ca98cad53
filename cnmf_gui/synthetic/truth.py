"""The synthetic movie and the truth it was made from (one dataclass shared by both generators)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["SyntheticMovie"]


@dataclass
class SyntheticMovie:
    """A synthetic movie and the truth it was made from.

    Shift convention, as everywhere in cnmf_gui: applying the shift ``[dy, dx]`` to an image ``I``
    gives ``J(r, c) = I(r - dy, c - dx)``. ``shifts`` holds the *correction*: the shift that,
    applied to raw frame t, aligns it with the motion-free movie (what motion correction should
    recover).

    Attributes
    ----------
    movie : ndarray of shape (T, H, W), float32
        The recording as a microscope would deliver it (with motion and noise).
    footprints : ndarray of shape (K, H, W), float32
        True spatial footprints (peak 1), in motion-free coordinates.
    traces : ndarray of shape (K, T), float32
        True calcium ``c_k`` (without the resting fluorescence).
    spikes : ndarray of shape (K, T), float32
        True spike amplitudes ``s_k = G c_k``.
    spike_counts : ndarray of shape (K, T), int
        Number of spikes in each frame.
    baselines : ndarray of shape (K,)
        Resting fluorescence ``b_k`` of each neuron.
    g : ndarray of shape (K, p)
        AR coefficients of each neuron.
    centers : ndarray of shape (K, 2)
        [row, col] of each footprint's centre.
    background : tuple (spatial (nb, H, W), temporal (nb, T))
        The background (for the realistic generator: its mean image and the mean neuropil and
        bleaching time course, a summary rather than an exact low-rank model).
    shifts : ndarray of shape (T, 2), float32
        The rigid correction [dy, dx] per frame (zeros without motion). For non-rigid motion, the
        rigid part of it.
    noise_sigma : float
        Read-noise standard deviation (movie units).
    noise_map : ndarray of shape (H, W)
        Expected total noise standard deviation per pixel (read and mean shot noise).
    frame_rate : float
        Hz.
    motion : str or None
        None, "rigid" or "nonrigid".
    active : ndarray of shape (K,), bool
        False for silent cells: visible in the mean image, never fire.
    radii : ndarray of shape (K,)
        Soma radius of each cell, px.
    bleaching : ndarray of shape (T,) or None
        Multiplicative bleaching factor applied to the whole scene (1 at the start).
    indicator : str or None
        Indicator whose kinetics were simulated ("GCaMP6f", ...), None for the legacy generator.
    """

    movie: np.ndarray
    footprints: np.ndarray
    traces: np.ndarray
    spikes: np.ndarray
    spike_counts: np.ndarray
    baselines: np.ndarray
    g: np.ndarray
    centers: np.ndarray
    background: tuple
    shifts: np.ndarray
    noise_sigma: float
    noise_map: np.ndarray
    frame_rate: float
    motion: str | None = None
    active: np.ndarray | None = None
    radii: np.ndarray | None = None
    bleaching: np.ndarray | None = None
    indicator: str | None = None
    _deform: object | None = field(default=None, repr=False)

    def __post_init__(self):
        K = self.footprints.shape[0]
        if self.active is None:
            self.active = np.ones(K, bool)
        if self.radii is None:
            self.radii = np.full(K, np.nan)

    @property
    def n_neurons(self) -> int:
        return int(self.footprints.shape[0])

    @property
    def footprints_sparse(self) -> sp.csc_matrix:
        """Footprints as a (H*W, K) CSC matrix, pixel index ``row * W + col`` (DESIGN.md)."""
        K, H, W = self.footprints.shape
        return sp.csc_matrix(self.footprints.reshape(K, H * W).T)

    def shift_field_at(self, t: int) -> np.ndarray:
        """Correction shift [dy, dx] at every pixel of frame ``t``, shape (H, W, 2).

        For rigid motion this is the frame's rigid correction everywhere. For non-rigid motion it
        is the negated displacement at each pixel (exact to first order in the deformation's
        gradient, which is small by construction).
        """
        H, W = self.movie.shape[1:]
        out = np.empty((H, W, 2), np.float32)
        out[...] = self.shifts[t]
        if self._deform is not None:
            dy, dx = self._deform.at(t)
            out[..., 0] -= dy
            out[..., 1] -= dx
        return out

    @property
    def shift_field(self) -> np.ndarray | None:
        """Correction at every pixel of every frame, shape (T, H, W, 2); None without motion.

        Materialises T*H*W*2 floats: use :meth:`shift_field_at` for long movies.
        """
        if self.motion is None:
            return None
        return np.stack([self.shift_field_at(t) for t in range(self.movie.shape[0])])

    def save_truth(self, path) -> None:
        """Write the truth to an HDF5 file (atomically): one dataset per attribute above."""
        from cnmf_gui.atomic_h5 import atomic_h5

        with atomic_h5(path) as fh:
            fh.attrs["format"] = "cnmf_gui-synthetic-truth"
            fh.attrs["frame_rate"] = self.frame_rate
            fh.attrs["noise_sigma"] = self.noise_sigma
            fh.attrs["motion"] = self.motion or "none"
            fh.attrs["indicator"] = self.indicator or "none"
            for name in ("footprints", "traces", "spikes", "spike_counts", "baselines", "g",
                         "centers", "shifts", "noise_map", "active", "radii"):
                fh.create_dataset(name, data=getattr(self, name), compression="gzip")
            if self.bleaching is not None:
                fh.create_dataset("bleaching", data=self.bleaching)
            fh.create_dataset("background_spatial", data=self.background[0], compression="gzip")
            fh.create_dataset("background_temporal", data=self.background[1], compression="gzip")

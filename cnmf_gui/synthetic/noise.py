"""Detector noise: photon shot noise (Poisson) and read noise (Gaussian)."""

from __future__ import annotations

import numpy as np

__all__ = ["photon_noise"]


def photon_noise(rng, expected: np.ndarray, read_noise: float) -> np.ndarray:
    """A frame as the detector records it, in photon counts.

    Parameters
    ----------
    expected : ndarray of shape (H, W)
        Expected photon count per pixel (>= 0).
    read_noise : float
        Standard deviation of the electronic read noise, photons.

    Returns
    -------
    ndarray of shape (H, W), float32
        ``Poisson(expected) + read_noise * N(0, 1)``: variance ``expected + read_noise**2``,
        so shot noise grows with the signal, as on a real detector.
    """
    counts = rng.poisson(np.maximum(expected, 0.0)).astype(np.float32)
    if read_noise > 0:
        counts += np.float32(read_noise) * rng.standard_normal(expected.shape, dtype=np.float32)
    return counts

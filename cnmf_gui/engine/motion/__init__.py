"""Motion correction: rigid and piecewise-rigid registration, sub-pixel, out of core, with QC.

Public API:

- :func:`estimate_motion` (movie, params) -> :class:`~cnmf_gui.results.MotionResult`;
- :class:`CorrectedMovie` (movie, result): a lazy corrected view with a Movie's reading contract;
- :func:`apply_shifts` (frames, shifts[, shifts_pw, patch_centers]): correct frames in memory.

Convention: applying ``[dy, dx]`` to an image ``I`` gives ``J(r, c) = I(r - dy, c - dx)``;
``MotionResult.shifts`` holds the shift applied to each raw frame to align it with the template.

Modules: ``prep`` (template window, spectra), ``rigid`` (peak search and upsampled-DFT
refinement), ``piecewise`` (patches), ``seed`` and ``template``, ``snr`` (signal and noise spectra, predicted
precision), ``binning`` (temporal bins for noisy movies), ``warp`` (interpolation kernels),
``parallel`` (threads), ``metrics`` (QC), ``framepass`` (per-batch work and untrusted peaks),
``estimate`` (the chunked pass), ``corrected`` (the lazy view).
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.motion.corrected import CorrectedMovie
from cnmf_gui.engine.motion.estimate import estimate_motion
from cnmf_gui.engine.motion.warp import ORDERS, shift_frames, warp_frames


def apply_shifts(frames, shifts, *, shifts_pw=None, patch_centers=None, order: int = 3,
                 n_workers: int = 1) -> np.ndarray:
    """Correct frames held in memory.

    Parameters
    ----------
    frames : array_like of shape (n, H, W) or (H, W)
    shifts : array_like of shape (n, 2) or (2,)
        Rigid [dy, dx] per frame (used when ``shifts_pw`` is None).
    shifts_pw : array_like of shape (n, gy, gx, 2), optional
        Piecewise-rigid shifts; ``patch_centers`` (gy, gx, 2) is then required.
    order : {1, 3}
        Bilinear or cubic interpolation.
    n_workers : int
        Threads.

    Returns
    -------
    ndarray of shape (n, H, W) or (H, W), float32
    """
    if shifts_pw is not None:
        if patch_centers is None:
            raise ValueError("patch_centers is required with shifts_pw")
        return warp_frames(frames, shifts_pw, patch_centers, order=order, n_workers=n_workers)
    return shift_frames(frames, shifts, order=order, n_workers=n_workers)


__all__ = ["estimate_motion", "CorrectedMovie", "apply_shifts", "shift_frames", "warp_frames", "ORDERS"]

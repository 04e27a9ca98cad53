"""Reading a small window (frames x rows x columns) of a movie, motion-corrected when it is a view.

Seeding, splitting and event snippets look at a few dozen pixels around a component. A NumPy
array or memmap is sliced directly; a lazily corrected movie
(:class:`~cnmf_gui.engine.motion.CorrectedMovie`) with rigid shifts is read as a slightly larger
raw window (the largest shift plus the interpolation kernel's reach on each side), shifted, and
cut, so the cost follows the window rather than the field of view; any other movie (files,
piecewise-rigid views) is read in chunks of whole frames and cut, so memory stays bounded.
"""

from __future__ import annotations

import math

import numpy as np

CHUNK_FRAMES = 256
#: pixels the cubic interpolation reaches beyond the shift
KERNEL_REACH = 3


def read_window(movie, frames: tuple[int, int], rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
    """``movie[t0:t1, r0:r1, c0:c1]`` as float32, corrected for motion when ``movie`` is a view.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    frames, rows, cols : (int, int)
        Half-open ranges inside the movie.

    Returns
    -------
    ndarray of shape (t1 - t0, r1 - r0, c1 - c0), float32
    """
    (t0, t1), (r0, r1), (c0, c1) = (tuple(int(v) for v in x) for x in (frames, rows, cols))
    if isinstance(movie, np.ndarray):
        return np.asarray(movie[t0:t1, r0:r1, c0:c1], np.float32)
    motion = getattr(movie, "motion", None)
    if motion is not None and getattr(motion, "shifts_pw", None) is None and hasattr(movie, "raw"):
        return _rigid_window(movie, t0, t1, r0, r1, c0, c1)
    out = np.empty((t1 - t0, r1 - r0, c1 - c0), np.float32)
    for a in range(t0, t1, CHUNK_FRAMES):
        b = min(a + CHUNK_FRAMES, t1)
        out[a - t0:b - t0] = np.asarray(movie[a:b], np.float32)[:, r0:r1, c0:c1]
    return out


def _rigid_window(view, t0, t1, r0, r1, c0, c1) -> np.ndarray:
    from cnmf_gui.engine.motion.warp import shift_frames

    T, H, W = view.shape
    shifts = np.asarray(view.motion.shifts, float)[t0:t1]
    pad = int(math.ceil(np.abs(shifts).max())) + KERNEL_REACH if shifts.size else 0
    R0, R1, C0, C1 = max(r0 - pad, 0), min(r1 + pad, H), max(c0 - pad, 0), min(c1 + pad, W)
    raw = view.raw
    out = np.empty((t1 - t0, r1 - r0, c1 - c0), np.float32)
    for a in range(t0, t1, CHUNK_FRAMES):
        b = min(a + CHUNK_FRAMES, t1)
        if isinstance(raw, np.ndarray):
            block = np.asarray(raw[a:b, R0:R1, C0:C1], np.float32)
        else:
            block = np.asarray(raw[a:b], np.float32)[:, R0:R1, C0:C1]
        # Edges of the window that are not edges of the frame are at least `pad` away from the
        # cut, so the interpolation there reads real pixels, as the full-frame correction does.
        moved = shift_frames(block, shifts[a - t0:b - t0], order=view.order)
        out[a - t0:b - t0] = moved[:, r0 - R0:r1 - R0, c0 - C0:c1 - C0]
    return out

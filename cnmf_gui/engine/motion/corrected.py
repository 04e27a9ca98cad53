"""A lazy motion-corrected view of a movie: shifts are applied to frames as they are read."""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.motion.template import read_frames
from cnmf_gui.engine.motion.parallel import default_workers
from cnmf_gui.engine.motion.warp import shift_frames, warp_frames
from cnmf_gui.results import MotionResult


class CorrectedMovie:
    """The raw movie with a :class:`~cnmf_gui.results.MotionResult` applied, frame by frame.

    Has the reading contract of a :class:`cnmf_gui.io` Movie: ``shape`` (T, H, W), ``dtype``
    (float32), ``len()``, ``movie[i]`` -> (H, W), ``movie[a:b]`` / ``movie[list]`` ->
    (n, H, W), ``iter_chunks(n)``; nothing is computed until a frame is asked for. Usable
    wherever a movie is expected (display, CNMF, writers).

    Parameters
    ----------
    movie : array_like of shape (T, H, W)
        A NumPy array or any object with ``.shape`` and slicing ``movie[a:b]``. The view does
        not own it: :meth:`close` leaves it open.
    motion : MotionResult
        Shifts for every frame of ``movie``; piecewise-rigid when ``shifts_pw`` is set.
    order : {1, 3}, optional
        Interpolation order; defaults to the one the correction used (``metrics
        ["interpolation_order"]``), else cubic.
    n_workers : int, optional
        Threads used when many frames are read at once (default: one per core).
    """

    def __init__(self, movie, motion: MotionResult, *, order: int | None = None,
                 n_workers: int | None = None):
        shape = tuple(int(s) for s in movie.shape)
        if len(shape) != 3:
            raise ValueError(f"movie must have shape (T, H, W), got {shape}")
        T = shape[0]
        shifts = np.asarray(motion.shifts)
        if shifts.shape != (T, 2):
            raise ValueError(f"motion shifts have shape {shifts.shape}, expected ({T}, 2) for this movie")
        if motion.shifts_pw is not None and motion.shifts_pw.shape[0] != T:
            raise ValueError(f"piecewise shifts cover {motion.shifts_pw.shape[0]} frames, the movie has {T}")
        self.raw = movie
        self.motion = motion
        self.shape = shape
        self.dtype = np.dtype(np.float32)
        self.ndim = 3
        if order is None:
            order = int(motion.metrics.get("interpolation_order", 3)) if motion.metrics else 3
        self.order = int(order)
        self.n_workers = default_workers() if n_workers is None else max(1, int(n_workers))
        self.frame_rate = getattr(movie, "frame_rate", None)
        self.path = getattr(movie, "path", None)
        self.format = "corrected"

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        kind = "piecewise-rigid" if self.motion.shifts_pw is not None else "rigid"
        return f"CorrectedMovie({kind}, shape={self.shape})"

    def _correct(self, frames: np.ndarray, index: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, np.float32)
        workers = self.n_workers if len(index) > 1 else 1
        if self.motion.shifts_pw is not None:
            return warp_frames(frames, self.motion.shifts_pw[index], self.motion.patch_centers,
                               order=self.order, n_workers=workers)
        return shift_frames(frames, self.motion.shifts[index], order=self.order, n_workers=workers)

    def __getitem__(self, key):
        T = self.shape[0]
        if isinstance(key, (int, np.integer)):
            i = int(key) + T if key < 0 else int(key)
            if not 0 <= i < T:
                raise IndexError(f"frame {key} is out of range for a movie of {T} frames")
            return self._correct(np.asarray(self.raw[i:i + 1]), np.array([i]))[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(T)
            if step == 1:
                index = np.arange(start, max(start, stop))
                raw = np.asarray(self.raw[start:max(start, stop)])
                return self._correct(raw, index)
            index = np.arange(start, stop, step)
        else:
            index = np.asarray(key)
            if index.dtype == bool:
                index = np.flatnonzero(index)
            index = index.astype(np.int64).ravel()
            index = np.where(index < 0, index + T, index)
            if index.size and (index.min() < 0 or index.max() >= T):
                raise IndexError(f"frame indices out of range for a movie of {T} frames")
        if index.size == 0:
            return np.zeros((0,) + self.shape[1:], np.float32)
        unique, inverse = np.unique(index, return_inverse=True)
        corrected = self._correct(read_frames(self.raw, unique), unique)
        return corrected[inverse]

    def iter_chunks(self, n_frames: int):
        """Yield ``(start, frames)`` with frames of shape (n, H, W), float32, in order."""
        n_frames = max(1, int(n_frames))
        for start in range(0, self.shape[0], n_frames):
            yield start, self[start:min(start + n_frames, self.shape[0])]

    def close(self) -> None:
        """Nothing to release: the raw movie belongs to the caller."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

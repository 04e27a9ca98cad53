"""Traces of an online run, grown in place: the only memory that grows with the frames.

F, C and S are (K, T) float32, f (nb, T) float64 and the motion shifts (T, 2); capacity doubles
along time (and along components) so that appending is amortised O(1) and a frame never copies
the history.
"""

from __future__ import annotations

import numpy as np


class TraceStore:
    """Growing trace arrays; ``F[:K, :T]`` etc. are the valid parts (see :meth:`view`)."""

    def __init__(self, n_components: int, n_background: int, capacity: int = 1024):
        self.K = int(n_components)
        self.T = 0
        rows = max(self.K, 8)
        self.F = np.zeros((rows, capacity), np.float32)
        self.C = np.zeros((rows, capacity), np.float32)
        self.S = np.zeros((rows, capacity), np.float32)
        self.f = np.zeros((n_background, capacity))
        self.shifts = np.zeros((capacity, 2), np.float32)

    def ensure(self, n_frames: int) -> None:
        """Room for ``n_frames`` frames."""
        self.T = max(self.T, int(n_frames))
        cap = self.F.shape[1]
        if n_frames <= cap:
            return
        new = max(2 * cap, n_frames)
        for name in ("F", "C", "S", "f"):
            old = getattr(self, name)
            arr = np.zeros((old.shape[0], new), old.dtype)
            arr[:, :cap] = old
            setattr(self, name, arr)
        sh = np.zeros((new, 2), np.float32)
        sh[:cap] = self.shifts
        self.shifts = sh

    def add_row(self, n_frames: int) -> None:
        """One more component (zero so far)."""
        if self.K == self.F.shape[0]:
            for name in ("F", "C", "S"):
                old = getattr(self, name)
                arr = np.zeros((2 * old.shape[0], old.shape[1]), np.float32)
                arr[:old.shape[0]] = old
                setattr(self, name, arr)
        self.K += 1
        self.ensure(n_frames)

    def view(self, name: str) -> np.ndarray:
        """The valid part of a trace array: (K, T) (or (nb, T) for ``f``, (T, 2) for shifts)."""
        arr = getattr(self, name)
        if name == "shifts":
            return arr[:self.T]
        rows = arr.shape[0] if name == "f" else self.K
        return arr[:rows, :self.T]

    def nbytes(self) -> int:
        return sum(getattr(self, n).nbytes for n in ("F", "C", "S", "f", "shifts"))

"""Leaving out the frame's border, where motion correction has no data.

After motion correction, the rows and columns that a frame's shift moved in from outside the
field of view hold filler (replicated edge or zeros) whose brightness follows the motion; CNMF
would model them as components. The pipeline therefore runs CNMF on the interior and puts the
results back in the full frame, zero on the border.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


def motion_border(shifts: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """Rows/columns without data after applying ``shifts``: (top, bottom, left, right).

    Applying [dy, dx] gives J(r, c) = I(r - dy, c - dx), so a positive dy leaves the first dy
    rows empty and a negative one the last -dy rows.

    Parameters
    ----------
    shifts : ndarray of shape (T, 2)
    shape : (H, W)
    """
    s = np.asarray(shifts, float).reshape(-1, 2)
    if s.size == 0:
        return (0, 0, 0, 0)
    top = math.ceil(max(s[:, 0].max(), 0.0))
    bottom = math.ceil(max(-s[:, 0].min(), 0.0))
    left = math.ceil(max(s[:, 1].max(), 0.0))
    right = math.ceil(max(-s[:, 1].min(), 0.0))
    H, W = shape
    # never crop everything away: keep at least half of each axis
    top, bottom = min(top, H // 4), min(bottom, H // 4)
    left, right = min(left, W // 4), min(right, W // 4)
    return (top, bottom, left, right)


class CroppedMovie:
    """A read-only view of rows ``r0:r1`` and columns ``c0:c1`` of every frame.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    box : (r0, r1, c0, c1)
    """

    def __init__(self, movie, box):
        self.movie = movie
        self.box = tuple(int(v) for v in box)
        r0, r1, c0, c1 = self.box
        self.shape = (int(movie.shape[0]), r1 - r0, c1 - c0)
        self.dtype = getattr(movie, "dtype", np.float32)
        self.frame_rate = getattr(movie, "frame_rate", None)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        r0, r1, c0, c1 = self.box
        frames = np.asarray(self.movie[key])
        return frames[..., r0:r1, c0:c1]


def embed_footprints(A: sp.spmatrix, box, shape) -> sp.csc_matrix:
    """Footprints of a cropped field, (h*w, K), as footprints of the full frame, (H*W, K)."""
    r0, r1, c0, c1 = box
    H, W = shape
    A = sp.csc_matrix(A)
    rr, cc = np.divmod(A.indices, c1 - c0)
    out = sp.csc_matrix((A.data, (rr + r0) * W + (cc + c0), A.indptr), shape=(H * W, A.shape[1]))
    out.sort_indices()
    return out


def embed_image(image: np.ndarray, box, shape, fill: float = 0.0) -> np.ndarray:
    """An (h, w, ...) image of the cropped field placed in an (H, W, ...) frame."""
    r0, r1, c0, c1 = box
    out = np.full(tuple(shape) + image.shape[2:], fill, dtype=image.dtype)
    out[r0:r1, c0:c1] = image
    return out

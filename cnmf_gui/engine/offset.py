"""Movies below zero: CNMF's non-negative model needs fluorescence that is not negative.

Footprints, traces and the background are all non-negative, so a movie whose values sit below
zero (a camera offset subtracted too far, a baseline-subtracted export: an offset of -10 on the
demo movie found no component at all) cannot be explained: every trace projects to zero. The
pipeline shifts such a movie up by its dark level, the low percentile of its mean image, and
works on the shifted copy; a constant does not change the shapes or the activity.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.streaming import iter_chunks, movie_shape

#: Frames read to measure the dark level.
SAMPLE_FRAMES = 200
#: Percentile of the sampled mean image taken as the dark level.
DARK_PERCENTILE = 1.0


def negative_offset(movie, chunk_frames: int = 500) -> float:
    """How far below zero the movie's dark level is (0.0 when it is not negative).

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        Only the first SAMPLE_FRAMES frames are read.

    Returns
    -------
    float
        ``-dark`` when the dark level ``dark`` (the DARK_PERCENTILE percentile of the mean of
        the sampled frames) is negative, else 0.
    """
    T = movie_shape(movie)[0]
    total, n = None, 0
    for _, frames in iter_chunks(movie, min(chunk_frames, SAMPLE_FRAMES), stop=min(T, SAMPLE_FRAMES)):
        part = frames.astype(np.float64).sum(axis=0)
        total = part if total is None else total + part
        n += frames.shape[0]
    if not n:
        return 0.0
    mean = total / n
    finite = mean[np.isfinite(mean)]
    if finite.size == 0:
        return 0.0
    dark = float(np.percentile(finite, DARK_PERCENTILE))
    return -dark if dark < 0 else 0.0


class ShiftedMovie:
    """A read-only view of ``movie + offset`` (float32), sliced like the movie.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    offset : float
    """

    def __init__(self, movie, offset: float):
        self.movie = movie
        self.offset = float(offset)
        self.shape = tuple(int(v) for v in movie_shape(movie))
        self.dtype = np.dtype(np.float32)
        self.frame_rate = getattr(movie, "frame_rate", None)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        return np.asarray(self.movie[key], dtype=np.float32) + np.float32(self.offset)

"""Reading a movie in chunks of frames, so that no stage ever holds the whole movie twice.

Every CNMF stage reads the movie through :func:`iter_chunks`, which accepts anything with a
``.shape`` of (T, H, W) and slicing ``movie[a:b]`` -> ndarray: a NumPy array, a memory-mapped
file, an :class:`cnmf_gui.io.Movie` or a motion-corrected view. The chunk length adapts to the
frame size so that a chunk stays within a fixed memory budget whatever the field of view.
"""

from __future__ import annotations

import sys
from typing import Iterator

import numpy as np

from cnmf_gui.errors import InputFileError

#: Largest chunk, in bytes of float32, held at once (a few copies of it live during a pass).
CHUNK_BYTES = 32 * 2**20


def movie_shape(movie) -> tuple[int, int, int]:
    """(T, H, W) of a movie-like object, with a clear error for anything else."""
    shape = getattr(movie, "shape", None)
    if shape is None or len(shape) != 3:
        raise InputFileError(f"movie must have shape (T, H, W), got {shape!r}")
    T, H, W = (int(s) for s in shape)
    if T < 1 or H < 1 or W < 1:
        raise InputFileError(f"movie is empty: shape {(T, H, W)}")
    return T, H, W


def chunk_length(movie, chunk_frames: int, max_bytes: int = CHUNK_BYTES) -> int:
    """Frames per chunk: at most ``chunk_frames``, ``max_bytes`` of float32 and an eighth of the
    movie (so that a chunk's temporaries stay small next to the movie itself)."""
    T, H, W = movie_shape(movie)
    return int(max(1, min(chunk_frames, max_bytes // (4 * H * W), max(64, T // 8))))


def iter_chunks(movie, chunk_frames: int = 500, *, start: int = 0, stop: int | None = None,
                max_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(first_frame, frames)`` with ``frames`` a float32 array of shape (n, H, W).

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        Anything sliceable along time.
    chunk_frames : int
        Upper bound on frames per chunk; lowered for large frames (see :data:`CHUNK_BYTES`).
    start, stop : int
        Frame range to read.
    """
    T, _, _ = movie_shape(movie)
    stop = T if stop is None else min(stop, T)
    n = chunk_length(movie, chunk_frames, max_bytes)
    for a in range(start, stop, n):
        b = min(a + n, stop)
        raw = np.asarray(movie[a:b])
        with np.errstate(over="ignore"):     # beyond float32's range: reported just below
            frames = np.asarray(raw, dtype=np.float32)
        # integers are always finite; for floats (after the cast: float64 beyond float32's
        # range becomes inf) min and max are NaN or infinite exactly when some value is, and
        # cost two reductions instead of a boolean copy of the chunk and its scan
        checked = raw.dtype.kind not in "biu"
        if checked and not (np.isfinite(frames.min()) and np.isfinite(frames.max())):
            bad = a + int(np.nonzero(~np.isfinite(frames).reshape(b - a, -1).all(axis=1))[0][0])
            raise InputFileError(f"movie frame {bad} contains NaN or infinite values")
        raw = None
        yield a, frames
        frames = None
    release_freed_memory()


def release_freed_memory() -> None:
    """Give the memory freed by a pass over the movie back to the system.

    glibc's allocator keeps freed blocks below its (self-raising, up to 32 MB) mmap threshold in
    its heaps, one per thread: after motion correction's worker threads a 1024 x 1024 run held
    1.8 GB of freed chunks for the rest of the run (RssAnon 1.85 GB with nothing alive; 0.1 GB
    after a trim). ``malloc_trim(0)`` returns them; a no-op where it does not exist.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):   # not glibc (musl): nothing to trim
        pass

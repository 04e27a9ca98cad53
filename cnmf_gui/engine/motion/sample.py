"""The template's sample of frames, held compactly and read as float32 a few images at a time.

The template is built from ``template_frames`` frames (200 by default). As a float32 stack
that is 800 MB at 1024 x 1024, and the refinement used to keep an aligned copy of each half
and the halves themselves besides (about 4x the sample at its peak: 3.4 GB at 1024 x 1024,
the whole run's peak). Here the sample is held once, in the movie's own dtype when that is an
integer of at most 16 bits (exact in float32; half the bytes for uint16), and every step that
needs float32 images (spectra, shifts, means, correlations) converts a batch at a time;
aligned images are recomputed from the shifts when needed rather than stored.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.motion.parallel import batch_size, map_batches
from cnmf_gui.engine.motion.prep import clean_frames
from cnmf_gui.engine.motion.warp import shift_frames


class FrameStack:
    """The images ``stack[sel]`` of a sample, read as finite float32 a few at a time.

    Indexing returns float32 arrays (a copy of just those images), so the code that used a
    float32 stack works unchanged while the stack itself stays compact.

    Parameters
    ----------
    stack : ndarray of shape (N, H, W)
        Finite float32, or an integer dtype of at most 16 bits (exact in float32).
    sel : ndarray of shape (n,), int64, optional
        The images of ``stack`` this view holds (all of them when None).
    """

    def __init__(self, stack: np.ndarray, sel=None):
        self.stack = stack
        self.sel = np.arange(len(stack), dtype=np.int64) if sel is None else np.asarray(sel, np.int64)
        self.shape = (len(self.sel),) + tuple(stack.shape[1:])

    def __len__(self) -> int:
        return len(self.sel)

    def __getitem__(self, key) -> np.ndarray:
        idx = self.sel[key]
        if np.ndim(idx) == 0:
            return np.asarray(self.stack[int(idx)], np.float32)
        if len(idx) and idx[-1] - idx[0] == len(idx) - 1 and np.all(np.diff(idx) == 1):
            return np.asarray(self.stack[int(idx[0]):int(idx[-1]) + 1], np.float32)   # a run: no fancy index
        return np.asarray(self.stack[idx], np.float32)

    def subset(self, sel) -> "FrameStack":
        """The images ``self[sel]`` as a view of the same stack (nothing copied)."""
        return FrameStack(self.stack, self.sel[np.asarray(sel, np.int64)])

    @property
    def batch(self) -> int:
        """Images per batch (the motion code's FFT batch for this frame size)."""
        return batch_size(int(np.prod(self.shape[1:])))


def _exact_in_float32(dtype) -> bool:
    dtype = np.dtype(dtype)
    return dtype == np.bool_ or (dtype.kind in "ui" and dtype.itemsize <= 2)


def compact_sample(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sample as it will be held, and which of its frames are unusable.

    Parameters
    ----------
    raw : ndarray of shape (n, H, W), any real dtype
        Frames as read from the movie.

    Returns
    -------
    stack : ndarray of shape (n, H, W)
        ``raw`` itself when its dtype is exact in float32 (small integers: they are finite, and
        converted a batch at a time when used), else the frames as finite float32
        (:func:`~cnmf_gui.engine.motion.prep.clean_frames`).
    unusable : ndarray of shape (n,), bool
        Frames that are entirely non-finite or constant.
    """
    if not _exact_in_float32(raw.dtype) or len(raw) == 0:
        stack, unusable, _ = clean_frames(raw)
        return stack, unusable
    step = batch_size(int(np.prod(raw.shape[1:])))
    unusable = np.concatenate([clean_frames(raw[a:a + step])[1] for a in range(0, len(raw), step)])
    return raw, unusable


def mean_image(frames, idx) -> np.ndarray:
    """``frames[idx].mean(axis=0)`` in float32, as NumPy computes it, without copying the images.

    NumPy reduces the outer axis of a float32 stack by adding its images one after another in
    float32; this does the same a batch at a time.

    Parameters
    ----------
    frames : FrameStack or ndarray of shape (n, H, W)
    idx : ndarray of shape (k,), int64, k >= 1

    Returns
    -------
    ndarray of shape (H, W), float32
    """
    idx = np.asarray(idx, np.int64)
    step = batch_size(int(np.prod(frames.shape[1:])))
    acc = None
    for a in range(0, len(idx), step):
        for img in np.asarray(frames[idx[a:a + step]], np.float32):
            if acc is None:
                acc = img.copy()
            else:
                acc += img
    return (acc / np.float32(len(idx))).astype(np.float32)


def aligned_images(frames, idx, moved, order: int) -> np.ndarray:
    """Images ``frames[idx]`` moved by ``moved[idx]`` (as read when ``moved`` is None).

    Aligned images are recomputed from the shifts rather than stored: a stored aligned copy of
    the sample was the template stage's largest array.

    Parameters
    ----------
    frames : FrameStack or ndarray of shape (n, H, W)
    idx : ndarray of shape (k,), int64
    moved : ndarray of shape (n, 2), or None
        [dy, dx] per image (:func:`~cnmf_gui.engine.motion.warp.shift_frames`).
    order : {1, 3}

    Returns
    -------
    ndarray of shape (k, H, W), float32
    """
    imgs = np.asarray(frames[idx], np.float32)
    return imgs if moved is None else shift_frames(imgs, moved[idx], order=order)


def aligned_mean(frames, idx, moved, order: int, n_workers: int) -> np.ndarray:
    """Mean of ``aligned_images(frames, idx, moved, order)``, (H, W) float32 (float64 sums, in order)."""
    idx = np.asarray(idx, np.int64)
    acc = np.zeros(frames.shape[1:], np.float64)
    step = batch_size(int(np.prod(frames.shape[1:])))
    span = step * max(1, n_workers)
    for a in range(0, len(idx), span):
        part = idx[a:a + span]
        for imgs in map_batches(lambda u, v: aligned_images(frames, part[u:v], moved, order), len(part), step,
                                n_workers):
            for img in imgs:
                acc += img
    return (acc / max(len(idx), 1)).astype(np.float32)

"""Piecewise-rigid registration: shifts of overlapping patches, held near the rigid shift.

Following NoRMCorre (Pnevmatikakis & Giovannucci 2017), the field of view is tiled with
overlapping square patches; each patch of a frame is registered to the same patch of the
template, with its shift allowed to deviate from the frame's rigid shift by at most
``max_deviation_rigid`` px. The patch shifts, placed at the patch centres, are interpolated
to every pixel as a smooth field (:func:`cnmf_gui.engine.motion.warp.warp_frames`).

Each frame is first moved by its rigid shift rounded to whole pixels (an exact copy, no
interpolation), so that every patch of the frame overlaps its template patch; the patch search
then only needs the small residual window. Patches are registered exactly like whole frames
(:mod:`~cnmf_gui.engine.motion.rigid`): only the template patch is windowed, with a zero band
as wide as the search so the FFT's wrap-around never enters the correlation.

References
----------
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. Journal of Neuroscience Methods 291:83-94.
Guizar-Sicairos M., Thurman S.T., Fienup J.R. (2008) Efficient subpixel image registration
algorithms. Optics Letters 33(2):156-158.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnmf_gui.engine.motion.prep import SpectralPrep
from cnmf_gui.engine.motion.rigid import register_spectra
from cnmf_gui.errors import ParameterError

# Patch pixels registered per call (see PatchRegistrar.estimate).
PATCH_BATCH_PIXELS = 2 ** 20


@dataclass(frozen=True)
class PatchGrid:
    """Overlapping square patches covering a frame.

    Attributes
    ----------
    size : int
        Side of a patch, px.
    row_starts : ndarray of shape (gy,), int
        First row of each patch row; the last patch ends at the frame's last row.
    col_starts : ndarray of shape (gx,), int
    centers : ndarray of shape (gy, gx, 2), float64
        [row, col] of each patch's centre.
    """

    size: int
    row_starts: np.ndarray
    col_starts: np.ndarray
    centers: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.row_starts), len(self.col_starts)


def _starts(n: int, size: int, stride: int) -> np.ndarray:
    starts = list(range(0, n - size + 1, stride))
    if starts[-1] + size < n:
        starts.append(n - size)  # the last patch ends flush with the edge: no pixel left out
    return np.asarray(starts, np.int64)


def make_patch_grid(shape, patch_size: int, patch_overlap: int) -> PatchGrid:
    """Tile a frame with overlapping patches.

    Parameters
    ----------
    shape : (int, int)
        (H, W).
    patch_size : int
        Side of a patch (MotionParams.patch_size).
    patch_overlap : int
        Overlap between neighbours (MotionParams.patch_overlap), smaller than ``patch_size``.

    Returns
    -------
    PatchGrid

    Raises
    ------
    ParameterError
        When the patch is larger than the frame.
    """
    H, W = int(shape[0]), int(shape[1])
    if patch_size > H or patch_size > W:
        raise ParameterError(
            f"parameter motion.patch_size = {patch_size} px is larger than the frame ({H} x {W} px): "
            f"expected at most {min(H, W)}")
    stride = max(1, patch_size - patch_overlap)
    rows = _starts(H, patch_size, stride)
    cols = _starts(W, patch_size, stride)
    half = (patch_size - 1) / 2.0
    centers = np.stack(np.meshgrid(rows + half, cols + half, indexing="ij"), axis=-1).astype(float)
    return PatchGrid(size=int(patch_size), row_starts=rows, col_starts=cols, centers=centers)


class PatchRegistrar:
    """Registers the patches of frames to the patches of one template.

    Parameters
    ----------
    template : ndarray of shape (H, W), float32
    grid : PatchGrid
    max_deviation : float
        Largest deviation of a patch's shift from the frame's rigid shift, px.
    upsample_factor : int
    taper_fraction, highpass_sigma : float
        As for whole frames (MotionParams).
    extra_weight : ndarray of shape (ps, ps // 2 + 1), optional
        Wiener weight of the template patches (see :class:`SpectralPrep`).
    """

    def __init__(self, template: np.ndarray, grid: PatchGrid, max_deviation: float,
                 upsample_factor: int, taper_fraction: float, highpass_sigma: float, extra_weight=None):
        self.grid = grid
        self.max_deviation = float(max_deviation)
        self.upsample_factor = int(upsample_factor)
        ps = grid.size
        # The residual after the whole-pixel rigid move is within max_deviation + 0.5 px.
        reach = int(math.ceil(self.max_deviation + 0.5))
        self.prep = SpectralPrep((ps, ps), taper_fraction, highpass_sigma, margin=reach + 1,
                                 extra_weight=extra_weight)
        self.search = reach
        patches = self.extract(template[None].astype(np.float32))[0]   # (gy, gx, ps, ps)
        self.template_spectra = self.prep.template_spectrum(patches)   # (gy, gx, ps, ps//2+1)
        # A patch with (almost) no texture gives a meaningless peak: it follows the rigid shift.
        energy = np.abs(self.template_spectra) ** 2
        energy = energy.reshape(energy.shape[:2] + (-1,)).sum(axis=-1)
        self.textured = energy > 1e-6 * max(float(np.median(energy)), 1e-30)

    def extract(self, frames: np.ndarray) -> np.ndarray:
        """Patches of frames, shape (n, gy, gx, ps, ps), float32 (a copy)."""
        ps = self.grid.size
        n = frames.shape[0]
        gy, gx = self.grid.shape
        out = np.empty((n, gy, gx, ps, ps), np.float32)
        # One block copy per patch (rows of ps contiguous values): much faster than a fancy-
        # indexed gather through a sliding-window view.
        for i, a in enumerate(self.grid.row_starts):
            for j, b in enumerate(self.grid.col_starts):
                out[:, i, j] = frames[:, a:a + ps, b:b + ps]
        return out

    def estimate(self, frames: np.ndarray, rigid: np.ndarray) -> np.ndarray:
        """Patch shifts of frames.

        Parameters
        ----------
        frames : ndarray of shape (n, H, W), float32, finite
        rigid : ndarray of shape (n, 2)
            The frames' rigid shifts [dy, dx].

        Returns
        -------
        ndarray of shape (n, gy, gx, 2), float32
            [dy, dx] of each patch, within ``max_deviation`` of the rigid shift.
        """
        n, H, W = frames.shape
        gy, gx = self.grid.shape
        rigid = np.asarray(rigid, float)
        out = np.broadcast_to(rigid[:, None, None, :], (n, gy, gx, 2)).astype(np.float32)
        if self.max_deviation == 0 or n == 0:
            return out
        ps = self.grid.size
        whole = np.round(rigid).astype(np.int64)
        # A few frames' patches at a time: their spectra stay below ~8 MB, which the allocator
        # recycles; larger arrays are mapped fresh from the OS each time and every page faults
        # on first touch (that cost as much as the FFTs themselves).
        step = max(1, PATCH_BATCH_PIXELS // (gy * gx * ps * ps))
        patches = np.empty((min(step, n), gy, gx, ps, ps), np.float32)
        residual = np.empty((n, gy, gx, 2))
        for a in range(0, n, step):
            b = min(a + step, n)
            for i in range(a, b):
                self._extract_moved(frames[i], whole[i], patches[i - a])
            spectra = self.prep.frame_spectra(patches[:b - a])          # (k, gy, gx, ps, ps//2+1)
            residual[a:b] = register_spectra(spectra, self.template_spectra[None], (ps, ps),
                                             self.search, self.upsample_factor)[0]
        total = whole[:, None, None, :] + residual
        dev = np.clip(total - rigid[:, None, None, :], -self.max_deviation, self.max_deviation)
        dev[:, ~self.textured] = 0.0
        out = (rigid[:, None, None, :] + dev).astype(np.float32)
        return out

    def _extract_moved(self, frame: np.ndarray, whole: np.ndarray, out: np.ndarray) -> None:
        """Patches of ``frame`` moved by the whole-pixel shift ``whole`` (edges held), into ``out``.

        The moved frame is ``J(r, c) = I(r - dy, c - dx)``: a patch at (a, b) of J is the block
        of I at (a - dy, b - dx), copied as is unless it crosses the frame's edge.
        """
        H, W = frame.shape
        ps = self.grid.size
        dy, dx = int(whole[0]), int(whole[1])
        for i, a in enumerate(self.grid.row_starts):
            r0 = int(a) - dy
            rows = None if 0 <= r0 and r0 + ps <= H else np.clip(np.arange(r0, r0 + ps), 0, H - 1)
            for j, b in enumerate(self.grid.col_starts):
                c0 = int(b) - dx
                if rows is None and 0 <= c0 and c0 + ps <= W:
                    out[i, j] = frame[r0:r0 + ps, c0:c0 + ps]
                    continue
                ri = np.arange(r0, r0 + ps) if rows is None else rows
                ci = np.clip(np.arange(c0, c0 + ps), 0, W - 1)
                out[i, j] = frame[np.clip(ri, 0, H - 1)[:, None], ci[None, :]]

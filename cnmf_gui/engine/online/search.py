"""The residual buffer of online CNMF and the search for new components in it.

The last ``L`` corrected frames (and the demixed traces, kept by the state) are kept in ring
buffers of fixed size, and so is the residual ``r_t = y_t - A c_t - b f_t`` binned (b x b pixels
averaged, b = 2 for somata of 3 px radius or more) and smoothed over a neuron's size: the state
computes it on arrival on the binned grid (binning is linear: the binned frame minus the binned
footprints and background), so no full-resolution residual is made or kept. A search takes,
per binned pixel, the largest 3-frame mean of that smoothed residual over the buffer divided by
its noise (a peak-to-noise ratio of what no component explains), and at the best peaks fits a
rank-1 non-negative factorisation of the full-resolution residual on a patch around it, made
from the buffered frames and traces (Giovannucci et al. 2017). A candidate becomes a component only when the batch evaluation's
rule accepts it (:func:`cnmf_gui.engine.evaluation.classify` on its SNR, spatial consistency,
area and compactness, measured by the batch functions on the buffer).

References
----------
Giovannucci A. et al. (2017) OnACID: online analysis of calcium imaging data in real time. NIPS 30.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.engine.evaluation import classify, spatial_consistency, trace_snr
from cnmf_gui.engine.footprints import areas, compactness
from cnmf_gui.results import STATUS_ACCEPTED

#: Frames averaged at each time point of the search (a transient lasts longer than noise).
SEARCH_FRAMES = 3
#: NMF iterations of a candidate.
NMF_ITERATIONS = 8
#: Footprint pixels below this fraction of the peak are dropped.
SUPPORT_FRACTION = 0.2


@dataclass
class Candidate:
    """A component found in the buffer, accepted by the evaluation rule.

    footprint : sparse (P, 1), unit norm; trace : (L,) raw trace on the buffer frames (oldest
    first); sn : its noise level; metrics : dict of float; centre : (row, col).
    """

    footprint: sp.csc_matrix
    trace: np.ndarray
    sn: float
    metrics: dict
    centre: tuple


class ResidualBuffer:
    """Ring buffers of the last ``length`` corrected frames and smoothed binned residuals.

    Parameters
    ----------
    length : int
    shape : (H, W)
    radius : float
        Neuron radius, px (sets the binning and smoothing of the search image).
    noise : ndarray of shape (H, W)
        Per-pixel noise of the movie (from the initialisation).
    """

    def __init__(self, length: int, shape, radius: float, noise: np.ndarray):
        self.length = int(length)
        self.shape = (int(shape[0]), int(shape[1]))
        H, W = self.shape
        self.radius = float(radius)
        self.bin = 2 if radius >= 3 and H >= 32 and W >= 32 else 1
        self.frames = np.zeros((self.length, H * W), np.float32)
        self.smooth = np.zeros((self.length,) + self._binned_shape(), np.float32)
        # mean of the smoothed residual over the SEARCH_FRAMES frames ending at each frame
        self.mean3 = np.zeros_like(self.smooth)
        self.count = 0
        self.size = max(1, int(round(self.radius / self.bin)))
        var = self._smoothed(np.asarray(noise, np.float64) ** 2)
        n = self.bin ** 2 * self.size ** 2
        # the smoothed residual averages n pixels: its noise is the root mean variance / sqrt(n)
        self.noise = np.sqrt(np.maximum(var, 1e-12) / n).astype(np.float32)
        self.tabu = np.full(self._binned_shape(), -1, np.int64)

    def _binned_shape(self):
        H, W = self.shape
        return (H // self.bin, W // self.bin)

    def _smoothed(self, image: np.ndarray) -> np.ndarray:
        """Binned (mean of b x b pixels) and box-filtered over a neuron's size; linear in ``image``."""
        h, w = self._binned_shape()
        b = self.bin
        if b > 1:
            # strided sums: several times faster than a mean over the axes of a 4-D reshape
            binned = image[0:h * b:b, 0:w * b:b].astype(np.float32)
            for dr in range(b):
                for dc in range(b):
                    if dr or dc:
                        binned += image[dr:h * b:b, dc:w * b:b]
            binned *= 1.0 / (b * b)
        else:
            binned = np.asarray(image, np.float32)
        return ndimage.uniform_filter(binned, size=max(1, int(round(self.radius / b))), mode="constant")

    def binning(self) -> sp.csr_matrix:
        """The binning as a matrix (Pb, P): mean of each bin x bin block, the pixels beyond the
        last whole bin dropped (as :meth:`_smoothed` does)."""
        H, W = self.shape
        h, w = self._binned_shape()
        b = self.bin
        r, c = np.divmod(np.arange(H * W), W)
        keep = (r < h * b) & (c < w * b)
        rows = (r[keep] // b) * w + c[keep] // b
        return sp.csr_matrix((np.full(int(keep.sum()), 1.0 / (b * b)), (rows, np.flatnonzero(keep))),
                             shape=(h * w, H * W))

    def push(self, binned_residual: np.ndarray, frame: np.ndarray) -> None:
        """Add one frame's binned residual (Pb,) and corrected frame (P,)."""
        i = self.count % self.length
        self.frames[i] = frame
        self.commit(i, binned_residual)

    def commit(self, i: int, binned_residual: np.ndarray) -> None:
        """The frame was written into ring slot ``i`` (the next one) in place: smooth its
        binned residual (Pb,) into the ring and count the frame."""
        ndimage.uniform_filter(np.asarray(binned_residual, np.float32).reshape(self._binned_shape()),
                               size=self.size, mode="constant", output=self.smooth[i])
        self.count += 1
        self._mean3(i)

    def _mean3(self, i: int) -> None:
        n = min(SEARCH_FRAMES, self.count)
        out = self.mean3[i]
        np.copyto(out, self.smooth[i])
        for j in range(1, n):
            out += self.smooth[(i - j) % self.length]
        out *= 1.0 / n

    def explain(self, footprint, trace: np.ndarray) -> None:
        """Take ``footprint x trace`` (a new component on the buffer frames, oldest first) out of
        the smoothed residuals (binning and smoothing are linear), on the footprint's box only
        (the smoothed footprint is zero outside it). The full-resolution residual of a search
        is made from the traces, which then hold the new component's."""
        order = self.order()
        pix = footprint.indices
        vals = footprint.data.astype(np.float32)
        (r0, r1, c0, c1), local = self._smoothed_box(pix, vals)
        trace = np.asarray(trace, np.float32)
        for i, ti in zip(order, trace):
            self.smooth[i, r0:r1, c0:c1] -= ti * local
        # the 3-frame means of the box, over the frames in time order (oldest first); the box
        # is taken before the frames are put in order (the ring's whole images are megabytes)
        box = self.smooth[:, r0:r1, c0:c1][order]
        csum = np.cumsum(box, axis=0, dtype=np.float64)
        for j, i in enumerate(order):
            lo = j - SEARCH_FRAMES
            window = csum[j] - (csum[lo] if lo >= 0 else 0.0)
            self.mean3[i, r0:r1, c0:c1] = window / min(SEARCH_FRAMES, j + 1)

    def _smoothed_box(self, pix: np.ndarray, vals: np.ndarray):
        """:meth:`_smoothed` of an image that is ``vals`` at the flat pixels ``pix`` and zero
        elsewhere, computed on a box of the binned grid around them; returns the box
        (r0, r1, c0, c1) and the smoothed image on it (equal to the whole image's there, zero
        outside it: the box reaches beyond the filter's width, and "constant" mode pads with
        the zeros the whole image has there)."""
        b = self.bin
        h, w = self._binned_shape()
        rows, cols = np.divmod(np.asarray(pix), self.shape[1])
        pad = self.size + 1
        r0, r1 = max(rows.min() // b - pad, 0), min(rows.max() // b + pad + 1, h)
        c0, c1 = max(cols.min() // b - pad, 0), min(cols.max() // b + pad + 1, w)
        image = np.zeros(((r1 - r0) * b, (c1 - c0) * b), np.float32)
        keep = (rows < h * b) & (cols < w * b)        # pixels beyond the last whole bin are not binned
        image[rows[keep] - r0 * b, cols[keep] - c0 * b] = vals[keep]
        if b > 1:
            image = image.reshape(r1 - r0, b, c1 - c0, b).mean(axis=(1, 3), dtype=np.float32)
        local = ndimage.uniform_filter(image, size=self.size, mode="constant")
        return (r0, r1, c0, c1), local

    def order(self) -> np.ndarray:
        """Ring positions from the oldest frame to the newest."""
        n = min(self.count, self.length)
        return (np.arange(self.count - n, self.count) % self.length).astype(int)

    def peaks(self, min_pnr: float, max_peaks: int, now: int) -> list[tuple[int, int]]:
        """Centres (row, col) of the strongest unexplained transients, at most ``max_peaks``."""
        if self.count < SEARCH_FRAMES or max_peaks <= 0:
            return []
        # the order of the frames does not matter for the maximum: no gathered copy of the ring
        score = self.mean3[:min(self.count, self.length)].max(axis=0)
        score /= self.noise / np.sqrt(SEARCH_FRAMES)
        score[self.tabu > now] = 0.0
        out = []
        reach = max(1, int(np.ceil(2 * self.radius / self.bin)))
        for _ in range(max_peaks):
            i = int(np.argmax(score))
            r, c = divmod(i, score.shape[1])
            if not score[r, c] >= min_pnr:
                break
            out.append((r, c))
            score[max(r - reach, 0):r + reach + 1, max(c - reach, 0):c + reach + 1] = 0.0
        return out

    def forbid(self, peak, until: int) -> None:
        """Do not search at this (binned) peak again before frame ``until``."""
        r, c = peak
        reach = max(1, int(np.ceil(self.radius / self.bin)))
        self.tabu[max(r - reach, 0):r + reach + 1, max(c - reach, 0):c + reach + 1] = until

    def candidate(self, peak, noise: np.ndarray, eval_params, neuron_radius: float, residual_patch):
        """Fit and test a candidate at a binned peak; returns (Candidate or None, reason).

        ``residual_patch(rows, cols)`` gives the residual of the buffer frames (oldest first) on
        the patch of those rows and columns, shape (L, len(rows) * len(cols)), float64.
        """
        H, W = self.shape
        row = min(peak[0] * self.bin + self.bin // 2, H - 1)
        col = min(peak[1] * self.bin + self.bin // 2, W - 1)
        half = int(np.ceil(2.5 * self.radius))
        rr = np.arange(max(row - half, 0), min(row + half + 1, H))
        cc = np.arange(max(col - half, 0), min(col + half + 1, W))
        box = (rr[:, None] * W + cc[None, :]).ravel()
        D = residual_patch(rr, cc)                                        # (L, n), only the box
        dr = rr[:, None] - row
        dc = cc[None, :] - col
        centre = ((dr ** 2 + dc ** 2) <= max(1.0, self.radius / 2) ** 2).ravel()
        c = np.maximum(D[:, centre].mean(axis=1), 0.0)
        if not c.any():
            return None, "no positive transient"
        a = np.zeros(len(box))
        for _ in range(NMF_ITERATIONS):
            a = np.maximum(D.T @ c, 0.0) / max(c @ c, 1e-12)
            nrm = a @ a
            if nrm <= 0:
                return None, "empty footprint"
            c = np.maximum(D @ a, 0.0) / nrm
        a[a < SUPPORT_FRACTION * a.max()] = 0.0
        a = _connected_at(a.reshape(len(rr), len(cc)), row - rr[0], col - cc[0]).ravel()
        nrm = np.linalg.norm(a)
        if nrm <= 0:
            return None, "empty footprint"
        a /= nrm
        nz = np.flatnonzero(a)
        # box is in increasing pixel order, so (box[nz], [0, n]) is already a sorted CSC column
        A = sp.csc_matrix((a[nz], box[nz], [0, len(nz)]), shape=(H * W, 1))
        trace = D @ a                                                     # raw trace on the buffer
        sn = float(np.sqrt(np.sum(a[nz] ** 2 * np.asarray(noise).ravel()[box[nz]].astype(float) ** 2)))
        denoised = np.maximum(ndimage.uniform_filter1d(trace, SEARCH_FRAMES), 0.0)
        # the batch measures on the patch alone (the candidate is zero outside it)
        h, w = len(rr), len(cc)
        local = sp.csc_matrix((a[nz], nz, [0, len(nz)]), shape=(h * w, 1))
        metrics = {"snr": trace_snr(denoised[None], np.array([sn])), "r_value": np.ones(1),
                   "area": areas(local), "compactness": compactness(local, (h, w))}
        # A higher r_value never makes the rule reject (it only accepts, or spares from "not
        # compact" and "low spatial consistency"): a candidate the rule rejects even with the
        # highest r_value, 1, is rejected without measuring it (a tenth of a second per
        # hundred candidates at 512 x 512), and the decisions are the same.
        status, reasons = classify(metrics, eval_params, neuron_radius=neuron_radius, explain=True)
        if status[0] != STATUS_ACCEPTED:
            return None, str(reasons[0])
        metrics["r_value"] = spatial_consistency(D.reshape(-1, h, w), local, denoised[None], np.zeros((h, w)))
        status, reasons = classify(metrics, eval_params, neuron_radius=neuron_radius, explain=True)
        if status[0] != STATUS_ACCEPTED:
            return None, str(reasons[0])
        return Candidate(footprint=A, trace=trace, sn=sn, metrics={k: float(v[0]) for k, v in metrics.items()},
                         centre=(row, col)), ""


def _connected_at(img: np.ndarray, r: int, c: int) -> np.ndarray:
    """The connected part of ``img > 0`` that holds (r, c) (or the largest one)."""
    labels, n = ndimage.label(img > 0)
    if n <= 1:
        return img
    keep = labels[r, c]
    if keep == 0:
        keep = 1 + int(np.argmax(ndimage.sum(img > 0, labels, index=np.arange(1, n + 1))))
    return np.where(labels == keep, img, 0.0)

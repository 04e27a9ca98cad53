"""Quality numbers for motion correction, computed in the same pass as the correction.

- Per-frame Pearson correlation with the template, before and after correction, on the frame's
  interior (a border as wide as the movie's motion is left out so that edge filling after
  correction and content entering the field before it weigh the same on both sides).
- Crispness: the Frobenius norm of the spatial gradient of the mean image (a blurred mean
  image, the signature of uncorrected motion, has a small gradient), before and after.
- Bad frames: correlation after correction more than ``bad_frame_threshold`` robust standard
  deviations (1.4826 x the median absolute deviation) below the median, plus frames with no
  usable content (all NaN, or constant).
- Residual motion: shifts of corrected frames re-estimated against the template, on a sample.
- Principal-component residual motion: for each leading principal component of a (binned)
  sample of frames, the shift between ``mean + 2 sd * PC`` and ``mean - 2 sd * PC``. Motion
  shows up as components that look like the spatial derivative of the mean image and so
  displace it; activity only changes brightness. Unlike the top/bottom-frame averages of
  suite2p's registration metric, the two images come from the component itself, so the
  metric works for movies of any length (three frames or more).

References
----------
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. J Neurosci Methods 291:83-94 (crispness,
correlation with the template).
Pachitariu M. et al. (2017) Suite2p: beyond 10,000 neurons with standard two-photon
microscopy. bioRxiv 061507 (registration metrics along principal components).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from cnmf_gui.engine.motion.prep import SpectralPrep
from cnmf_gui.engine.motion.rigid import register_spectra

MAD_TO_SD = 1.4826
# Correlations live in [-1, 1]: below this spread, frames are as alike as float noise allows.
MIN_ROBUST_SD = 1e-3


def interior(shape, border: int) -> tuple[slice, slice]:
    """Row and column slices leaving ``border`` px out on every side (at most a quarter)."""
    H, W = shape
    by = int(min(max(border, 0), H // 4))
    bx = int(min(max(border, 0), W // 4))
    return slice(by, H - by), slice(bx, W - bx)


@numba.njit(cache=True, nogil=True)
def _correlations(frames, template, r0, r1, c0, c1, out, acc, include):
    n = frames.shape[0]
    H, W = frames.shape[1], frames.shape[2]
    P = (r1 - r0) * (c1 - c0)
    # The template's own mean and norm over the crop.
    tm = 0.0
    for r in range(r0, r1):
        for c in range(c0, c1):
            tm += template[r, c]
    tm /= max(P, 1)
    tt = 0.0
    for r in range(r0, r1):
        for c in range(c0, c1):
            d = template[r, c] - tm
            tt += d * d
    for i in range(n):
        sx = 0.0
        sxx = 0.0
        sxt = 0.0
        f = frames[i]
        if include[i]:
            # The running sum for the mean image, while the frame is in cache.
            for r in range(H):
                for c in range(W):
                    acc[r, c] += f[r, c]
        for r in range(r0, r1):
            for c in range(c0, c1):
                v = np.float64(f[r, c])
                sx += v
                sxx += v * v
                sxt += v * (template[r, c] - tm)
        var = sxx - sx * sx / max(P, 1)
        den = math.sqrt(max(var, 0.0) * tt)
        out[i] = sxt / den if den > 0 else 0.0


def frame_correlations(frames: np.ndarray, template: np.ndarray, crop=None, *, accumulate=None,
                       include=None) -> np.ndarray:
    """Pearson correlation of each frame with the template; 0 where either has no variance.

    Parameters
    ----------
    frames : ndarray of shape (n, H, W), float32, finite
    template : ndarray of shape (H, W)
    crop : (slice, slice), optional
        Region compared (default: all); see :func:`interior`.
    accumulate : ndarray of shape (H, W), float64, optional
        Whole frames are added to it in the same pass (for mean images).
    include : ndarray of shape (n,), bool, optional
        Which frames to add to ``accumulate`` (default: all).

    Returns
    -------
    ndarray of shape (n,), float64
    """
    frames = np.ascontiguousarray(frames, dtype=np.float32)
    n, H, W = frames.shape
    rs, cs = crop if crop is not None else (slice(0, H), slice(0, W))
    r0, r1, _ = rs.indices(H)
    c0, c1, _ = cs.indices(W)
    out = np.zeros(n)
    if accumulate is None:
        acc, inc = np.zeros((1, 1)), np.zeros(n, np.bool_)
    else:
        acc = accumulate
        inc = np.ones(n, np.bool_) if include is None else np.asarray(include, np.bool_)
    _correlations(frames, np.asarray(template, np.float64), r0, r1, c0, c1, out, acc, inc)
    return out


def crispness(image: np.ndarray) -> float:
    """Frobenius norm of the spatial gradient of an image (larger = sharper).

    Parameters
    ----------
    image : ndarray of shape (H, W)

    Returns
    -------
    float
    """
    img = np.asarray(image, np.float64)
    if min(img.shape) < 2 or not np.isfinite(img).all():
        return 0.0
    gy, gx = np.gradient(img)
    return float(np.sqrt((gy * gy + gx * gx).sum()))


def bad_frames(corr: np.ndarray, usable: np.ndarray, threshold: float) -> np.ndarray:
    """Frames whose correlation falls far below its robust typical value.

    Parameters
    ----------
    corr : ndarray of shape (T,)
        Correlation with the template after correction.
    usable : ndarray of shape (T,), bool
        False for frames with no usable content (always bad).
    threshold : float
        Robust standard deviations below the median.

    Returns
    -------
    ndarray of shape (T,), bool
    """
    bad = ~np.asarray(usable, bool)
    good = corr[~bad]
    if good.size:
        med = float(np.median(good))
        sd = max(MAD_TO_SD * float(np.median(np.abs(good - med))), MIN_ROBUST_SD)
        bad = bad | (corr < med - threshold * sd)
    return bad


@numba.njit(cache=True, nogil=True)
def _bin(frames, factor, out):
    n, h, w = out.shape
    scale = np.float32(1.0 / (factor * factor))
    for i in range(n):
        for r in range(h):
            o = out[i, r]
            for k in range(factor):
                row = frames[i, r * factor + k]
                for c in range(w):
                    acc = np.float32(0.0)
                    for j in range(factor):
                        acc += row[c * factor + j]
                    o[c] += acc
            for c in range(w):
                o[c] *= scale


def bin_frames(frames: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor`` x ``factor`` blocks (the remainder at the far edges is dropped).

    Parameters
    ----------
    frames : ndarray of shape (n, H, W)

    Returns
    -------
    ndarray of shape (n, H // factor, W // factor), float32
    """
    frames = np.asarray(frames, np.float32)
    n, H, W = frames.shape
    if factor <= 1:
        return frames.copy()
    out = np.zeros((n, H // factor, W // factor), np.float32)
    _bin(frames, int(factor), out)
    return out


def pc_bin_factor(shape, target: int = 128) -> int:
    """Bin factor that brings the longer side to about ``target`` px for the PC metric."""
    return max(1, int(math.ceil(max(shape) / target)))


def pc_motion(frames: np.ndarray, *, n_components: int = 3, bin_factor: int = 1,
              upsample_factor: int = 20) -> np.ndarray:
    """Displacement carried by each leading principal component of a sample of frames.

    Parameters
    ----------
    frames : ndarray of shape (n, h, w), float32
        Frames (already binned by ``bin_factor``), n >= 3.
    n_components : int
        Leading components measured.
    bin_factor : int
        The binning already applied; shifts are reported in original pixels.
    upsample_factor : int
        Sub-pixel precision of each measurement, in binned pixels.

    Returns
    -------
    ndarray of shape (n_components,), float64
        Length (px) of the shift between ``mean - 2 sd * PC`` and ``mean + 2 sd * PC``; NaN
        for components that do not exist (fewer frames than components + 1).
    """
    n, h, w = frames.shape
    out = np.full(n_components, np.nan)
    if n < 3 or h < 8 or w < 8:
        return out
    x = frames.reshape(n, -1).astype(np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    # PCs from the n x n Gram matrix (n is a few hundred, pixels many thousands).
    gram = xc @ xc.T
    evals, evecs = np.linalg.eigh(gram)
    order = np.argsort(evals)[::-1]
    prep = SpectralPrep((h, w), 0.1, 0.0, margin=2)
    for j, k in enumerate(order[:min(n_components, n - 1)]):
        if evals[k] <= 1e-12 * max(evals[order[0]], 1e-300):
            out[j] = 0.0
            continue
        comp = evecs[:, k] @ xc                  # spatial component, norm sqrt(eval)
        comp /= np.linalg.norm(comp)
        sd = math.sqrt(evals[k] / n)             # standard deviation of the scores
        plus = (mean + 2 * sd * comp).reshape(h, w).astype(np.float32)
        minus = (mean - 2 * sd * comp).reshape(h, w).astype(np.float32)
        shift, _, _ = register_spectra(prep.frame_spectra(plus[None]), prep.template_spectrum(minus),
                                       (h, w), max(h, w) / 4, upsample_factor)
        out[j] = float(np.hypot(*shift[0])) * bin_factor
    return out


#: Predicted shift error (px, one standard deviation) beyond which the user is warned; real
#: two-photon movies predict 0.01-0.05 px, a textureless static movie 0.25 px.
UNCERTAIN_PX = 0.15


def reliability_warning(metrics: dict) -> str | None:
    """One sentence for the user when registration could not be trusted, else None.

    Parameters
    ----------
    metrics : dict
        ``MotionResult.metrics``; reads ``template_trusted_fraction`` (share of the template's
        own bins whose correlation peak passed the trust test) and ``unreliable_fraction``
        (share of frames whose shift failed it and was interpolated from neighbours).
    """
    trusted = metrics.get("template_trusted_fraction")
    unreliable = metrics.get("unreliable_fraction")
    predicted = metrics.get("predicted_precision")
    if trusted is not None and float(trusted) < 0.5:
        return ("registration not possible: the movie is too noisy for a trustworthy template, "
                "so frames were left uncorrected")
    if unreliable is not None and float(unreliable) > 0.2:
        return (f"{float(unreliable):.0%} of frames had no trustworthy shift and took their "
                "neighbours' (check the motion QC)")
    if predicted is not None and np.size(predicted) and float(np.max(predicted)) > UNCERTAIN_PX:
        # A movie with little fine texture (a haze, a smooth glow) registers, but only roughly:
        # a static such movie came out with frames 0.5-1.4 px apart. Say how rough.
        n = int(metrics.get("temporal_bin", 1) or 1)
        where = f" even in bins of {n} frames" if n > 1 else ""
        return (f"motion estimates are uncertain: about +/-{float(np.max(predicted)):.2f} px{where} "
                "(the movie has little fine texture; check the motion QC)")
    return None

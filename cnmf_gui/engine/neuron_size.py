"""How big the neurons are: the soma radius estimated from the summary images.

A scale-space search (Lindeberg 1998): the scale-normalised Laplacian of Gaussian,
``-sigma^2 * LoG_sigma * image``, of a bright disc of radius R peaks at its centre for
``sigma = R / sqrt(2)``. The local maxima of that response over position and scale are blobs,
each with its own scale; the radius reported is the area-weighted median over the strongest
blobs of the local correlation image (active somata, free of the static texture of the mean
image), so that no single odd structure decides.

What it measures is the radius of the disc with a soma's *shape* area (its pixels above 20 % of
its peak, :data:`.footprints.SHAPE_FRACTION`), blur and attached processes included: the area
the evaluation compares with that disc (``*_area_discs``). On the realistic synthetic movies
(13 conditions, cells of radius 3-4.5 to 7-10 px) the estimate is within -11 % to +7 % (median
+2 %) of the true footprints' shape-equivalent radius, and 1-19 % (median 16 %) above the
generator's nominal body radius (the soma before the optics' blur, without its processes) -- a different quantity,
not an error of the estimate; its half-maximum radius is smaller still (the estimate is 14-36 %
above it).

References
----------
Lindeberg T. (1998) Feature detection with automatic scale selection. International Journal of
Computer Vision 30(2):79-116.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

log = logging.getLogger("cnmf_gui.engine")

#: Smallest and largest soma radius searched, px.
MIN_RADIUS = 1.5
MAX_RADIUS = 25.0
#: Radii searched grow by this factor from one scale to the next.
SCALE_STEP = 2 ** 0.25
#: Blob strengths are in robust standard deviations of the response; weaker blobs are noise.
MIN_STRENGTH = 4.0
#: At most this many of the strongest blobs of each image vote.
MAX_VOTES = 30
#: Fewest blobs an image must hold for its radius to be trusted.
MIN_BLOBS = 3
#: Radius used when the images hold no blob at all (e.g. a blank movie).
FALLBACK_RADIUS = 4.0


@dataclass
class Blobs:
    """Blobs found by the scale-space search.

    Attributes
    ----------
    rows, cols : ndarray of shape (n,)
        Centre of each blob, px.
    radius : ndarray of shape (n,)
        Radius of each blob, px (``sqrt(2)`` times its scale).
    strength : ndarray of shape (n,)
        Scale-normalised response in robust standard deviations of that scale's response.
    response : ndarray of shape (n,)
        Scale-normalised response in the image's units (a disc's contrast, whatever its size).
    """

    rows: np.ndarray
    cols: np.ndarray
    radius: np.ndarray
    strength: np.ndarray
    response: np.ndarray

    def __len__(self) -> int:
        return len(self.radius)


def _radii(shape) -> np.ndarray:
    top = min(MAX_RADIUS, min(shape) / 6.0)
    n = max(1, int(math.floor(math.log(max(top, MIN_RADIUS) / MIN_RADIUS) / math.log(SCALE_STEP))) + 1)
    return MIN_RADIUS * SCALE_STEP ** np.arange(n)


def _robust_sd(x: np.ndarray) -> float:
    med = np.median(x)
    mad = np.median(np.abs(x - med))
    return float(1.4826 * mad) if mad > 0 else float(np.std(x))


def find_blobs(image: np.ndarray, radii=None, *, min_strength: float = MIN_STRENGTH,
               mask: np.ndarray | None = None) -> Blobs:
    """Bright blobs of ``image``, each with its own radius (scale-space maxima of the LoG).

    Parameters
    ----------
    image : ndarray of shape (H, W)
    radii : sequence of float, optional
        Radii searched, px, increasing (default MIN_RADIUS to MAX_RADIUS, or a sixth of the frame).
    min_strength : float
        Smallest response kept, in robust standard deviations of the response at that scale.
    mask : ndarray of shape (H, W) bool, optional
        Pixels where a blob centre may lie (default: all but a border of one radius).

    Returns
    -------
    Blobs
        Strongest first. A blob at the smallest or the largest radius searched is kept only
        when it is a maximum over the scales on its side too (the search cannot tell it is).
    """
    img = np.nan_to_num(np.asarray(image, dtype=np.float64))
    H, W = img.shape
    radii = _radii(img.shape) if radii is None else np.asarray(radii, float)
    empty = Blobs(*(np.zeros(0) for _ in range(5)))
    if img.size == 0 or not np.any(img != img.flat[0]):
        return empty
    stack = np.empty((len(radii), H, W))
    sds = np.empty(len(radii))
    for i, r in enumerate(radii):
        sigma = r / math.sqrt(2.0)
        stack[i] = -sigma ** 2 * ndimage.gaussian_laplace(img, sigma, mode="reflect")
        sds[i] = _robust_sd(stack[i])
    # Maxima are taken on the scale-normalised response itself (comparable across scales);
    # strength, for the threshold, is in units of each scale's own spread.
    peaks = stack == ndimage.maximum_filter(stack, size=3, mode="nearest")
    score = stack / np.where(sds > 0, sds, np.inf)[:, None, None]
    peaks &= score >= min_strength
    s_idx, rows, cols = np.nonzero(peaks)
    if len(s_idx) == 0:
        return empty
    rad = radii[s_idx]
    keep = (rows >= rad) & (rows < H - rad) & (cols >= rad) & (cols < W - rad)
    if mask is not None:
        keep &= np.asarray(mask, bool)[rows, cols]
    s_idx, rows, cols = s_idx[keep], rows[keep], cols[keep]
    strength = score[s_idx, rows, cols]
    response = stack[s_idx, rows, cols]
    radius = _refine_scale(stack, radii, s_idx, rows, cols)
    order = np.argsort(-response, kind="stable")
    return Blobs(rows[order].astype(float), cols[order].astype(float), radius[order],
                 strength[order], response[order])


def _refine_scale(stack, radii, s_idx, rows, cols) -> np.ndarray:
    """Radius of each maximum between the sampled scales: the vertex of the parabola through the
    responses at the scale below, at and above it, in log radius (the scales are log-spaced)."""
    out = radii[s_idx].astype(float)
    inner = (s_idx > 0) & (s_idx < len(radii) - 1)
    if not np.any(inner):
        return out
    i, r, c = s_idx[inner], rows[inner], cols[inner]
    lo, mid, hi = stack[i - 1, r, c], stack[i, r, c], stack[i + 1, r, c]
    curv = lo - 2 * mid + hi
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curv < 0, 0.5 * (lo - hi) / curv, 0.0)
    step = math.log(radii[1] / radii[0]) if len(radii) > 1 else 0.0
    out[inner] = radii[i] * np.exp(np.clip(offset, -0.5, 0.5) * step)
    return out


def _votes(blobs: Blobs) -> np.ndarray:
    """Radii of the strongest blobs that do not sit inside a stronger one (nested maxima)."""
    chosen = []
    for i in range(len(blobs)):
        r, c, rad = blobs.rows[i], blobs.cols[i], blobs.radius[i]
        inside = any((r - blobs.rows[j]) ** 2 + (c - blobs.cols[j]) ** 2 < blobs.radius[j] ** 2
                     for j in chosen)
        if not inside:
            chosen.append(i)
        if len(chosen) >= MAX_VOTES:
            break
    return blobs.radius[chosen]


def _area_weighted_median(radii: np.ndarray) -> float:
    """Median of the radii with each blob weighted by its area: the size that covers half the
    area of the blobs. Small bright specks (boutons, dendrite cross-sections), numerous on real
    movies, then cannot outvote the somata."""
    order = np.sort(np.asarray(radii, float))
    cum = np.cumsum(order ** 2)
    return float(order[np.searchsorted(cum, 0.5 * cum[-1])])


def estimate_neuron_radius(mean_image: np.ndarray, correlation: np.ndarray | None = None) -> float:
    """Typical soma radius, px, from the local correlation image (or the mean image).

    Parameters
    ----------
    mean_image : ndarray of shape (H, W)
        Used when the correlation image holds fewer than MIN_BLOBS blobs (e.g. too few frames).
    correlation : ndarray of shape (H, W), optional
        Active somata are its blobs, free of the mean image's static texture (vessels, nuclei,
        the structure of the neuropil).

    Returns
    -------
    float
        Area-weighted median radius of the MAX_VOTES strongest blobs, by the scale-normalised
        response (which, for a bright disc, is its contrast whatever its size); FALLBACK_RADIUS
        when neither image holds a blob.

    References
    ----------
    Lindeberg T. (1998) Int J Comput Vis 30(2):79-116.
    """
    for image in (correlation, mean_image):
        if image is None:
            continue
        votes = _votes(find_blobs(image))
        if len(votes) >= MIN_BLOBS:
            return _area_weighted_median(votes)
    return FALLBACK_RADIUS


def resolve_neuron_radius(params, summary):
    """``params`` with ``init.neuron_radius`` estimated from the summary images when it is 0.

    Parameters
    ----------
    params : PipelineParams
    summary : SummaryImages

    Returns
    -------
    PipelineParams
        The same object when the user set a radius; else a copy with the estimate (see
        :func:`estimate_neuron_radius`), logged and rounded to 0.01 px.
    """
    if params.init.neuron_radius > 0:
        return params
    radius = max(round(estimate_neuron_radius(summary.mean, summary.correlation), 2), 0.5)
    log.info("neuron radius estimated from the summary images: %.2f px (set init.neuron_radius "
             "to override)", radius)
    return params.replace("init", neuron_radius=radius)

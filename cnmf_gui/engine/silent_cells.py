"""Somata that are visible in the mean image but never fire: footprints for inactive cells.

CNMF finds cells by their activity, so a soma that is silent during the recording has no
component, and a user looking at the mean image sees a cell and no outline. Such somata are
blobs of the mean image, at the scale of the neurons, that no component covers. Each gets a
footprint from the mean image itself (the blob's contrast above its surround), and its trace is
then extracted like every other component's; the evaluation marks it inactive when it has no
events.

What a soma looks like is learnt from the components found: their mean footprint (a ring for
ring-shaped somata with dark nuclei, a disc otherwise) is the template, and places where the
mean image matches it (normalised cross-correlation) with a contrast comparable to the active
somata's are somata.

References
----------
Lewis J. P. (1995) Fast normalized cross-correlation. Vision Interface 95:120-123.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.engine.footprints import SHAPE_FRACTION, areas, centroids, compactness

#: Half-width of the soma template, in soma radii.
TEMPLATE_REACH = 1.6
#: A place is a soma when the mean image there correlates with the soma template at least this
#: much (normalised cross-correlation) ...
MIN_SHAPE_CORRELATION = 0.5
#: ... and its contrast is at least this fraction of the median contrast of the active somata
MIN_RELATIVE_CONTRAST = 0.5
#: ... and stands out of the image's texture: this many robust standard deviations of the
#: contrast over the whole image (on synthetic movies with cell-sized static texture, half of
#: the false somata are below 1.5; few silent somata are).
MIN_CONTRAST_Z = 1.5
#: Fewest active components to learn the somata's look and brightness from.
MIN_ACTIVE = 3
#: A component covers a place when its shape holds it or its centre is within this many radii.
COVER_REACH = 0.75
#: Pixels of a new footprint: contrast at least this fraction of the blob's peak contrast.
FOOTPRINT_FRACTION = 0.3


def soma_template(A: sp.csc_matrix, shape: tuple[int, int], neuron_radius: float) -> np.ndarray:
    """What a soma looks like here: the mean of the footprints ``A``, each centred on its centroid
    and scaled to a peak of 1 (a ring for ring-shaped somata); a disc when ``A`` is empty.

    Returns
    -------
    ndarray of shape (2h+1, 2h+1)
        Zero mean, unit norm; h = ceil(TEMPLATE_REACH * neuron_radius).
    """
    H, W = shape
    h = int(math.ceil(TEMPLATE_REACH * neuron_radius))
    yy, xx = np.mgrid[-h:h + 1, -h:h + 1]
    acc = np.zeros((2 * h + 1, 2 * h + 1))
    A = sp.csc_matrix(A, dtype=float)
    cent = centroids(A, shape) if A.shape[1] else np.zeros((0, 2))
    n = 0
    for k in range(A.shape[1]):
        if not np.all(np.isfinite(cent[k])):
            continue
        r0, c0 = int(round(cent[k, 0])), int(round(cent[k, 1]))
        if r0 - h < 0 or c0 - h < 0 or r0 + h >= H or c0 + h >= W:
            continue
        col = A[:, k].toarray().reshape(H, W)[r0 - h:r0 + h + 1, c0 - h:c0 + h + 1]
        if col.max() > 0:
            acc += col / col.max()
            n += 1
    if n == 0:
        acc = (yy ** 2 + xx ** 2 <= neuron_radius ** 2).astype(float)
    acc -= acc.mean()
    norm = np.linalg.norm(acc)
    return acc / norm if norm > 0 else acc


def _shape_match(img: np.ndarray, template: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Contrast (image correlated with the zero-mean, unit-norm template) and the normalised
    cross-correlation of every window of ``img`` with the template."""
    contrast = ndimage.correlate(img, template, mode="reflect")
    size = template.shape[0]
    n = size * size
    m1 = ndimage.uniform_filter(img, size, mode="reflect")
    m2 = ndimage.uniform_filter(img * img, size, mode="reflect")
    spread = np.sqrt(np.maximum(m2 - m1 * m1, 0) * n)
    with np.errstate(divide="ignore", invalid="ignore"):
        ncc = np.where(spread > 0, contrast / spread, 0.0)
    return contrast, ncc


def find_silent_somata(mean_image: np.ndarray, A: sp.csc_matrix, neuron_radius: float, *,
                       active: np.ndarray | None = None, min_compactness: float = 0.6,
                       max_cells: int = 500) -> sp.csc_matrix:
    """Footprints of somata of the mean image that no component covers.

    Parameters
    ----------
    mean_image : ndarray of shape (H, W)
    A : csc_matrix of shape (H*W, K)
        Footprints of the components found so far.
    neuron_radius : float
        Soma radius, px.
    active : ndarray of shape (K,) bool, optional
        Components that cover the place they are at, and whose footprints show what a soma
        looks like (default: all).
    min_compactness : float
        Smallest compactness of a new footprint (see :func:`.footprints.compactness`).
    max_cells : int
        At most this many new footprints (the best matches first).

    Returns
    -------
    csc_matrix of shape (H*W, n)
        Non-negative, unit-norm footprints; n may be 0.
    """
    img = np.nan_to_num(np.asarray(mean_image, float))
    H, W = img.shape
    P = H * W
    A = sp.csc_matrix(A, dtype=float)
    K = A.shape[1]
    active = np.ones(K, bool) if active is None else np.asarray(active, bool)
    r = float(neuron_radius)
    empty = sp.csc_matrix((P, 0))
    if not np.any(img != img.flat[0]):
        return empty
    Aa = A[:, np.flatnonzero(active)].tocsc()
    if Aa.shape[1] < MIN_ACTIVE:
        # nothing to learn what a soma looks like, or how bright it is, from
        return empty
    template = soma_template(Aa, (H, W), r)
    contrast, ncc = _shape_match(img, template)
    size = max(3, int(round(r)) | 1)
    peaks = (ncc == ndimage.maximum_filter(ncc, size=size, mode="nearest")) & (ncc >= MIN_SHAPE_CORRELATION)
    h = template.shape[0] // 2
    peaks[:h // 2] = peaks[H - h // 2:] = False
    peaks[:, :h // 2] = peaks[:, W - h // 2:] = False
    rows, cols = np.nonzero(peaks)

    covered = np.zeros((H, W), bool)
    cent = centroids(Aa, (H, W)) if Aa.shape[1] else np.zeros((0, 2))
    ref = []
    for k in range(Aa.shape[1]):
        seg = slice(Aa.indptr[k], Aa.indptr[k + 1])
        val = Aa.data[seg]
        if len(val) == 0:
            continue
        covered.flat[Aa.indices[seg][val >= SHAPE_FRACTION * val.max()]] = True
        if np.all(np.isfinite(cent[k])):
            rr, cc = int(round(cent[k, 0])), int(round(cent[k, 1]))
            # the disc's box only (the whole field per component cost K x H x W)
            (ra, rb), (ca, cb) = _span(cent[k, 0], COVER_REACH * r, H), _span(cent[k, 1], COVER_REACH * r, W)
            yy, xx = np.arange(ra, rb)[:, None], np.arange(ca, cb)[None, :]
            covered[ra:rb, ca:cb] |= (yy - cent[k, 0]) ** 2 + (xx - cent[k, 1]) ** 2 <= (COVER_REACH * r) ** 2
            ref.append(contrast[min(max(rr, 0), H - 1), min(max(cc, 0), W - 1)])
    floor = MIN_RELATIVE_CONTRAST * np.median(ref) if ref else 0.0
    centre = np.median(contrast)
    spread = 1.4826 * np.median(np.abs(contrast - centre))
    floor = max(floor, centre + MIN_CONTRAST_Z * spread)
    keep = ~covered[rows, cols] & (contrast[rows, cols] > max(floor, 0.0))
    rows, cols = rows[keep], cols[keep]
    order = np.argsort(-ncc[rows, cols], kind="stable")

    local = img - _surround(img, r)
    taken = covered.copy()
    feet = []       # (flat pixel indices, values) of each new footprint: never a dense field each
    for i in order:
        if len(feet) >= max_cells:
            break
        found = _blob_footprint(local, rows[i], cols[i], r, taken)
        if found is None:
            continue
        foot, (ra, rb, ca, cb) = found
        rr, cc = np.nonzero(foot)
        pix = ((rr + ra) * W + (cc + ca)).astype(np.int32 if P < 2**31 else np.int64)
        col = sp.csc_matrix((foot[rr, cc], pix, [0, len(pix)]), shape=(P, 1))
        if not _soma_like(col, r, min_compactness, (H, W)):
            continue
        taken[ra:rb, ca:cb] |= foot > 0
        feet.append((pix, foot[rr, cc]))
    if not feet:
        return empty
    return _unit_columns(feet, P)


def _unit_columns(feet, P: int) -> sp.csc_matrix:
    """Footprints given as (pixels, values) scaled to unit norm, as a (P, n) csc_matrix.

    The norms are summed in the order of a dense (P, n) array's column norms (NumPy adds a
    column's squares pixel by pixel when n >= 2; a single column is summed pairwise, so it is
    made dense), which keeps the footprints bit for bit those of the dense computation.
    """
    if len(feet) == 1:
        dense = np.zeros((P, 1))
        dense[feet[0][0], 0] = feet[0][1]
        norms = np.linalg.norm(dense, axis=0)
    else:
        norms = np.array([np.sqrt(np.cumsum(v * v)[-1]) for _, v in feet])
    data, indices, indptr = [], [], [0]
    for (pix, v), norm in zip(feet, norms):
        v = v / norm
        keep = v != 0
        data.append(v[keep])
        indices.append(pix[keep])
        indptr.append(indptr[-1] + int(keep.sum()))
    return sp.csc_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(P, len(feet)))


def _span(centre: float, reach: float, n: int) -> tuple[int, int]:
    """Indices a:b (within 0..n) holding every point within ``reach`` of ``centre``, with a pixel to spare."""
    return max(int(math.floor(centre - reach)) - 1, 0), min(int(math.ceil(centre + reach)) + 2, n)


def _soma_like(col: sp.csc_matrix, radius: float, min_compactness: float, shape) -> bool:
    """A soma's size (half a disc to two discs) and a compact shape, not a patch of neuropil."""
    area = areas(col)[0]
    disc = math.pi * radius ** 2
    return 0.5 * disc <= area <= 2.0 * disc and compactness(col, shape)[0] >= min_compactness


def _surround(mean_image: np.ndarray, radius: float) -> np.ndarray:
    """Local level around the somata: a median over a window of several somata."""
    size = max(3, int(round(6 * radius)) | 1)
    return ndimage.median_filter(mean_image, size=size, mode="reflect")


def _blob_footprint(contrast: np.ndarray, row: float, col: float, radius: float,
                    taken: np.ndarray):
    """The blob's contrast, on its connected pixels above FOOTPRINT_FRACTION of its peak, within
    1.5 radii of its centre; None when that is too small to be a soma or already taken.

    Returns
    -------
    (foot, (r0, r1, c0, c1)) or None
        ``foot`` on the box rows r0:r1, columns c0:c1 of the field (the disc's box and a pixel
        of background around it, so that labels and filled holes are those of the whole field).
    """
    H, W = contrast.shape
    r0, c0 = int(round(row)), int(round(col))
    if taken[r0, c0]:
        return None
    reach = 1.5 * radius
    (ra, rb), (ca, cb) = _span(row, reach, H), _span(col, reach, W)
    contrast, taken = contrast[ra:rb, ca:cb], taken[ra:rb, ca:cb]
    r0, c0 = r0 - ra, c0 - ca
    yy, xx = np.ogrid[ra:rb, ca:cb]
    disk = (yy - row) ** 2 + (xx - col) ** 2 <= reach ** 2
    inner = (yy - row) ** 2 + (xx - col) ** 2 <= (0.5 * radius) ** 2
    peak = contrast[inner].max() if np.any(inner) else contrast[r0, c0]
    if not peak > 0:
        return None
    mask = disk & (contrast >= FOOTPRINT_FRACTION * peak) & ~taken
    labels, _ = ndimage.label(mask)
    # the connected piece holding the centre (or, for a ring soma with a dark nucleus, the
    # piece with most pixels within half a radius of it)
    lab = labels[r0, c0]
    if lab == 0:
        near = labels[inner & (labels > 0)]
        if len(near) == 0:
            return None
        lab = np.bincount(near).argmax()
    piece = labels == lab
    # fill the nucleus: a soma's footprint is the whole cell body
    piece = ndimage.binary_fill_holes(piece)
    if piece.sum() < 0.25 * math.pi * radius ** 2:
        return None
    foot = np.where(piece, np.maximum(contrast, 0), 0.0)
    if not np.any(foot > 0):
        return None
    return foot, (ra, rb, ca, cb)

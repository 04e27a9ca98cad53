"""Shape descriptors of footprints: centroids, areas, compactness, elongation, flatness, outlines.

Used by the evaluation (area, compactness, elongation, flatness), the GUI (outlines drawn over the movie, centroids for
labels) and the export (centroid row/col and area per component). A footprint's *shape* is the
set of its pixels at or above ``fraction`` of its peak (default 0.2).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

#: Default threshold, as a fraction of each footprint's peak, that defines its shape.
SHAPE_FRACTION = 0.2


def _columns(A: sp.spmatrix):
    A = sp.csc_matrix(A)
    A.sort_indices()
    for k in range(A.shape[1]):
        seg = slice(A.indptr[k], A.indptr[k + 1])
        yield A.indices[seg], A.data[seg]


def _shape_pixels(pix, val, fraction):
    if len(val) == 0 or val.max() <= 0:
        return pix[:0]
    return pix[val >= fraction * val.max()]


def _shape_coords(A, shape, fraction):
    """Yield ``(k, rows, cols)`` of each non-empty footprint's shape pixels (see :func:`areas`)."""
    for k, (pix, val) in enumerate(_columns(A)):
        sel = _shape_pixels(pix, val, fraction)
        if len(sel):
            yield (k, *np.divmod(sel, shape[1]))


def centroids(A: sp.spmatrix, shape: tuple[int, int]) -> np.ndarray:
    """Intensity-weighted centre of each footprint.

    Parameters
    ----------
    A : sparse matrix of shape (H*W, K)
    shape : (H, W)

    Returns
    -------
    ndarray of shape (K, 2)
        [row, col]; NaN for an empty footprint.
    """
    W = shape[1]
    out = np.full((A.shape[1], 2), np.nan)
    for k, (pix, val) in enumerate(_columns(A)):
        total = val.sum()
        if total > 0:
            r, c = np.divmod(pix, W)
            out[k] = (r @ val / total, c @ val / total)
    return out


def areas(A: sp.spmatrix, *, fraction: float = SHAPE_FRACTION) -> np.ndarray:
    """Pixels of each footprint at or above ``fraction`` of its peak, shape (K,) float."""
    return np.array([len(_shape_pixels(p, v, fraction)) for p, v in _columns(A)], dtype=float)


def compactness(A: sp.spmatrix, shape: tuple[int, int], *, fraction: float = SHAPE_FRACTION) -> np.ndarray:
    """How disk-like each footprint's shape is: area / (2 pi Rg^2), 1 for a disk.

    Rg^2 is the mean squared distance of the shape's pixels from their centre (the radius of
    gyration); a disk of radius R has Rg^2 = R^2 / 2, so the ratio is 1 for a disk and falls
    for elongated or fragmented shapes.

    Returns
    -------
    ndarray of shape (K,)
        NaN for an empty footprint.
    """
    out = np.full(A.shape[1], np.nan)
    for k, r, c in _shape_coords(A, shape, fraction):
        # a pixel is a unit square: its own second moment (1/12 per axis) keeps one pixel finite
        rg2 = r.var() + c.var() + 1.0 / 6.0
        out[k] = min(len(r) / (2 * np.pi * rg2), 1.0)
    return out


def elongation(A: sp.spmatrix, shape: tuple[int, int], *, fraction: float = SHAPE_FRACTION) -> np.ndarray:
    """How much longer than wide each footprint's shape is: sqrt(l1 / l2) of the covariance of
    its pixels' positions (l1 >= l2 its eigenvalues), 1 for a disc or a square.

    A soma is round to oval (1 to ~1.6); a stretch of dendrite or axon is a line (2 and more).
    Unlike :func:`compactness`, a ragged but round outline is not elongated.

    Returns
    -------
    ndarray of shape (K,)
        NaN for an empty footprint.
    """
    out = np.full(A.shape[1], np.nan)
    for k, r, c in _shape_coords(A, shape, fraction):
        # each pixel is a unit square (second moment 1/12 per axis), so one pixel scores 1
        cov = np.cov(np.vstack([r, c]).astype(float), bias=True) + np.eye(2) / 12.0
        small, large = np.linalg.eigvalsh(cov)
        out[k] = float(np.sqrt(large / small))
    return out


def flatness(A: sp.spmatrix, *, low: float = 0.1, high: float = 0.5) -> np.ndarray:
    """How flat-topped each footprint's profile is: the fraction of its pixels at or above
    ``low`` of its peak that are at or above ``high`` of it.

    A soma in the focal plane is a disc (or a ring round a dark nucleus) whose edge the optics
    blur by less than a pixel: most of it is near its peak, and it scores about 0.5 to 0.7 at
    any size. A cell above or below the focal plane reaches the image blurred by the axial
    point-spread function into a bell; a 2-D Gaussian of any width scores
    ``ln(high) / ln(low)`` = ln 2 / ln 10 = 0.30 (:data:`GAUSSIAN_FLATNESS`). The measure needs
    no soma size, so it does not depend on the radius estimate.

    Parameters
    ----------
    A : sparse matrix of shape (H*W, K)
    low, high : float
        Fractions of each footprint's peak, 0 < low < high <= 1.

    Returns
    -------
    ndarray of shape (K,)
        NaN for an empty footprint.
    """
    out = np.full(A.shape[1], np.nan)
    for k, (_, val) in enumerate(_columns(A)):
        if len(val) == 0 or val.max() <= 0:
            continue
        peak = val.max()
        out[k] = np.count_nonzero(val >= high * peak) / np.count_nonzero(val >= low * peak)
    return out


#: :func:`flatness` of a 2-D Gaussian of any width (ln 2 / ln 10): a bell-shaped, out-of-focus source.
GAUSSIAN_FLATNESS = float(np.log(2.0) / np.log(10.0))


def outline(mask: np.ndarray) -> list[np.ndarray]:
    """Closed outlines of a binary image along pixel edges.

    Parameters
    ----------
    mask : bool ndarray of shape (h, w)

    Returns
    -------
    list of ndarrays of shape (n, 2)
        [row, col] vertices at pixel corners (pixel (r, c) spans r-0.5..r+0.5), each loop
        closed (last vertex equals the first), traced clockwise around the shape.
    """
    m = np.pad(np.asarray(mask, bool), 1)
    nxt: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def add(a, b):
        nxt.setdefault(a, []).append(b)

    # corners are (row, col) of the top-left corner of a pixel in the padded grid
    rs, cs = np.nonzero(m[1:-1, 1:-1])
    for r, c in zip(rs + 1, cs + 1):
        if not m[r - 1, c]:
            add((r, c), (r, c + 1))            # top edge, left to right
        if not m[r, c + 1]:
            add((r, c + 1), (r + 1, c + 1))    # right edge, downwards
        if not m[r + 1, c]:
            add((r + 1, c + 1), (r + 1, c))    # bottom edge, right to left
        if not m[r, c - 1]:
            add((r + 1, c), (r, c))            # left edge, upwards
    loops = []
    while nxt:
        start = next(iter(nxt))
        loop = [start]
        cur = start
        while True:
            outs = nxt.get(cur)
            if not outs:
                break
            nb = outs.pop()
            if not outs:
                del nxt[cur]
            loop.append(nb)
            cur = nb
            if cur == start:
                break
        pts = np.asarray(loop, float) - 1.5    # back to unpadded pixel-centre coordinates
        loops.append(pts)
    return loops


def contours(A: sp.spmatrix, shape: tuple[int, int], *, fraction: float = SHAPE_FRACTION
             ) -> list[list[np.ndarray]]:
    """Outline of each footprint's shape (pixels at or above ``fraction`` of its peak).

    Parameters
    ----------
    A : sparse matrix of shape (H*W, K)
    shape : (H, W)
    fraction : float

    Returns
    -------
    list (length K) of lists of ndarrays of shape (n, 2)
        [row, col] vertices of each closed loop (see :func:`outline`); empty for an empty
        footprint.
    """
    W = shape[1]
    out = []
    for pix, val in _columns(A):
        sel = _shape_pixels(pix, val, fraction)
        if len(sel) == 0:
            out.append([])
            continue
        r, c = np.divmod(sel, W)
        r0, c0 = r.min(), c.min()
        box = np.zeros((r.max() - r0 + 1, c.max() - c0 + 1), bool)
        box[r - r0, c - c0] = True
        out.append([loop + (r0, c0) for loop in outline(box)])
    return out

"""Seeding a missed cell: one new component fitted around a user's click.

The new footprint is initialised as the rank-1 non-negative factorisation of the residual
``Y - A C - b f`` on a disc of two neuron radii around the seed (started from the residual's
local correlation with the seed pixel's neighbourhood), then refitted jointly with the
components whose footprints overlap that disc by a few HALS sweeps restricted to each footprint's
support. Only a local window (the disc and the overlapping footprints' bounding box) is read, so
the cost does not grow with the field of view, and components that do not overlap are untouched.

References
----------
Pnevmatikakis et al., "Simultaneous denoising, deconvolution, and demixing of calcium imaging
data", Neuron 89(2), 2016 (the model Y = A C + b f + E).
Cichocki & Phan, "Fast local algorithms for large scale nonnegative matrix and tensor
factorizations", IEICE Trans. 92(3), 2009 (HALS).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.movie_window import read_window


@dataclass
class SeedFit:
    """A seeded component and the refit of the components it overlaps.

    Attributes
    ----------
    footprint : ndarray of shape (H*W,)
        The new footprint (unit L2 norm), pixel index ``row * W + col`` like ``A``.
    trace : ndarray of shape (T,)
        Its raw trace (``F``: calcium plus noise, in footprint units).
    overlapping : ndarray of shape (K_o,), int
        Column indices in ``A`` of the components refitted with it.
    overlap_footprints : ndarray of shape (H*W, K_o)
        Their refitted footprints (support never grows).
    overlap_traces : ndarray of shape (K_o, T)
        Their refitted raw traces.
    """

    footprint: np.ndarray
    trace: np.ndarray
    overlapping: np.ndarray
    overlap_footprints: np.ndarray
    overlap_traces: np.ndarray


def _disc(shape, seed, radius):
    rr, cc = np.ogrid[:shape[0], :shape[1]]
    return (rr - seed[0]) ** 2 + (cc - seed[1]) ** 2 <= radius ** 2


def seed_component(movie, A, C, seed, neuron_radius, b=None, f=None, n_iter: int = 10) -> SeedFit:
    """Fit one new component at ``seed`` (see the module).

    Parameters
    ----------
    movie : array of shape (T, H, W)
        Motion-corrected movie (a memmap is fine: only a window is read).
    A : sparse matrix of shape (H*W, K)
        Current footprints, pixel index ``row * W + col`` (DESIGN.md).
    C : ndarray of shape (K, T)
        Their traces in the same units as the model (the ones with ``Y ~ A C + b f``).
    seed : (int, int)
        (row, col) of the click.
    neuron_radius : float
        Typical soma radius, px; the seed searches a disc of twice this.
    b : ndarray of shape (H*W, nb), optional
    f : ndarray of shape (nb, T), optional
        Background.
    n_iter : int
        Rank-1 and joint HALS sweeps.

    Returns
    -------
    SeedFit
    """
    T, H, W = movie.shape
    row, col = int(seed[0]), int(seed[1])
    if not (0 <= row < H and 0 <= col < W):
        raise ValueError(f"seed ({row}, {col}) is outside the {H}x{W} field of view")
    A = sp.csc_matrix(A)
    C = np.asarray(C, float)
    rad = max(2.0 * float(neuron_radius), 2.0)
    disc_img = _disc((H, W), (row, col), rad)
    disc_flat = disc_img.ravel()
    # Components overlapping the disc are refitted; the window covers them entirely.
    overlapping = columns_touching(A, np.flatnonzero(disc_flat))
    rows_, cols_ = np.nonzero(disc_img)
    for k in overlapping:
        pr, pc = np.divmod(A.indices[A.indptr[k]:A.indptr[k + 1]], W)
        rows_, cols_ = np.append(rows_, pr), np.append(cols_, pc)
    r0, r1, c0, c1 = rows_.min(), rows_.max() + 1, cols_.min(), cols_.max() + 1
    win_idx = (np.arange(r0, r1)[:, None] * W + np.arange(c0, c1)[None]).ravel()  # row-major, like A
    h, w = r1 - r0, c1 - c0
    Y = read_window(movie, (0, T), (r0, r1), (c0, c1)).astype(float).reshape(T, -1).T  # (P, T), row-major
    A_w = window_columns(A, win_idx)
    disc_w = disc_flat[win_idx]
    # Only the disc and the overlapping footprints' pixels enter the fit (every footprint is zero
    # elsewhere), so the rest of the bounding box is never computed on.
    U = np.flatnonzero(disc_w | (A_w[:, overlapping] > 0).any(axis=1))
    A_u = A_w[U]
    present = np.flatnonzero(A_u.any(axis=0))
    R = Y[U] - A_u[:, present] @ C[present]
    if b is not None and f is not None and np.asarray(b).size:
        R -= np.asarray(b, float)[win_idx[U]] @ np.asarray(f, float)
    D = disc_w[U]
    # Static offsets (the missed cell's resting level, texture) are not activity: remove a low
    # per-pixel quantile so the factorisation sees transients.
    R_d = R[D]
    R_act = R_d - np.percentile(R_d, 20, axis=1, keepdims=True)
    # Start: correlation of each disc pixel with the mean trace of the seed's 3x3 neighbourhood.
    near = _disc((H, W), (row, col), 1.5).ravel()[win_idx][U][D]
    ref = R_act[near].mean(axis=0)
    ref = ref - ref.mean()
    Rc = R_act - R_act.mean(axis=1, keepdims=True)
    corr = Rc @ ref / (np.linalg.norm(Rc, axis=1) * np.linalg.norm(ref) + 1e-12)
    a = np.maximum(corr, 0)
    if not a.any():
        a = near.astype(float)
    a = a / np.linalg.norm(a)
    c = np.maximum(a @ R_act, 0)
    disc_pixels = U[D]
    for _ in range(n_iter):
        a = np.maximum(R_act @ c, 0) / max(c @ c, 1e-12)
        img = np.zeros(h * w)
        img[disc_pixels] = a
        a = _largest_blob(img, h, w, (row - r0, col - c0))[disc_pixels]
        na = np.linalg.norm(a)
        if na == 0:
            raise ValueError(f"no activity to seed at ({row}, {col})")
        a /= na
        c = np.maximum(a @ R_act, 0)
    # Joint HALS: the new component plus the overlapping ones, each footprint on its own
    # support; everything else (other components, background) stays subtracted.
    a_u = np.zeros(len(U))
    a_u[D] = a
    c = c + a @ (R_d - R_act)
    Ak = np.column_stack([A_u[:, overlapping], a_u]) if overlapping.size else a_u[:, None]
    Ck = np.vstack([C[overlapping], c[None]]) if overlapping.size else c[None]
    masks = Ak > 0
    Yk = R + Ak[:, :-1] @ Ck[:-1] if overlapping.size else R
    for _ in range(n_iter):
        AtY, AtA = Ak.T @ Yk, Ak.T @ Ak
        for k in range(Ak.shape[1]):
            if AtA[k, k] > 0:
                Ck[k] = Ck[k] + (AtY[k] - AtA[k] @ Ck) / AtA[k, k]
        YCt, CCt = Yk @ Ck.T, Ck @ Ck.T
        for k in range(Ak.shape[1]):
            if CCt[k, k] > 0:
                Ak[:, k] = np.where(masks[:, k], np.maximum(Ak[:, k] + (YCt[:, k] - Ak @ CCt[:, k]) / CCt[k, k], 0), 0)
    # Unit-norm footprints, scale carried by the traces (the convention of the pipeline's A).
    norms = np.linalg.norm(Ak, axis=0)
    norms[norms == 0] = 1.0
    Ak, Ck = Ak / norms, Ck * norms[:, None]
    full = np.zeros((H * W, Ak.shape[1]))
    full[win_idx[U]] = Ak
    return SeedFit(footprint=full[:, -1], trace=Ck[-1], overlapping=overlapping,
                   overlap_footprints=full[:, :-1], overlap_traces=Ck[:-1])


def columns_touching(A: sp.csc_matrix, pixels: np.ndarray) -> np.ndarray:
    """Columns of ``A`` (CSC) with a non-zero weight on any of ``pixels`` (never row-slices ``A``:
    row access into a CSC matrix of a 512 x 512 field took seconds)."""
    if A.shape[1] == 0:
        return np.zeros(0, int)
    column = np.repeat(np.arange(A.shape[1]), np.diff(A.indptr))
    hit = np.isin(A.indices, pixels) & (A.data != 0)
    return np.flatnonzero(np.bincount(column[hit], minlength=A.shape[1]))


def window_columns(A: sp.csc_matrix, pixels: np.ndarray) -> np.ndarray:
    """``A[pixels].toarray()`` for a CSC ``A``, built from its columns: shape (len(pixels), K)."""
    lut = np.full(A.shape[0], -1, np.int64)
    lut[pixels] = np.arange(len(pixels))
    column = np.repeat(np.arange(A.shape[1]), np.diff(A.indptr))
    pos = lut[A.indices]
    inside = pos >= 0
    out = np.zeros((len(pixels), A.shape[1]))
    out[pos[inside], column[inside]] = A.data[inside]
    return out


def _largest_blob(a, h, w, centre):
    """Keep the connected part of ``a > 0`` containing (or nearest to) ``centre``."""
    from scipy import ndimage

    img = a.reshape((h, w))
    labels, n = ndimage.label(img > 0)
    if n <= 1:
        return a
    lab = labels[centre]
    if lab == 0:
        dist = ndimage.distance_transform_edt(labels == 0, return_indices=True)[1]
        lab = labels[dist[0][centre], dist[1][centre]]
    return np.where(labels == lab, img, 0).ravel()


def typical_radius(A, default: float = 4.0) -> float:
    """Median equivalent radius sqrt(area / pi) of the footprints (pixels above 20 % of the peak), px.

    Used when the neuron radius was left to be estimated (0): the fitted cells say how big a
    cell is. ``default`` when there are none.
    """
    A = sp.csc_matrix(A)
    if A.shape[1] == 0:
        return float(default)
    column = np.repeat(np.arange(A.shape[1]), np.diff(A.indptr))
    data = np.abs(A.data)
    peak = np.zeros(A.shape[1])
    np.maximum.at(peak, column, data)
    counts = np.bincount(column[data > 0.2 * peak[column]], minlength=A.shape[1])
    return float(max(np.median(np.sqrt(counts / np.pi)), 1.0))

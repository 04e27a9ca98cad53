"""Temporal update of CNMF: traces by block coordinate descent with noise-constrained deconvolution.

Given footprints A (P, K) and background b (P, nb), each trace c_k solves the deconvolution
problem of its raw trace y_k = c_k + (a_k^T (Y - A C - b f)) / ||a_k||^2, the residual projected
on its footprint. Components whose footprints do not overlap do not interact, so they are
updated together in groups (a greedy colouring of the overlap graph): exact block coordinate
descent, with one call of ``deconvolve_many`` per group. The movie enters only through A^T Y and
b^T Y, accumulated over chunks.

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299 (temporal update, Methods).
Friedrich J., Zhou P. & Paninski L. (2017) Fast online deconvolution of calcium imaging data.
PLoS Comput Biol 13(3):e1005423 (the per-trace solver used by ``deconvolve_many``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.streaming import iter_chunks, movie_shape
from cnmf_gui.progress import SubProgress, checkpoint

log = logging.getLogger("cnmf_gui.engine")

#: Shorter movies are not deconvolved (the AR fit needs autocovariances at several lags).
MIN_FRAMES_AR = 20


@dataclass
class TemporalResult:
    """Traces after a temporal update, all (K, T) or (K,) unless said otherwise.

    Attributes
    ----------
    C : denoised calcium; S : deconvolved activity; F : raw traces (C + baseline + residual);
    baseline, sn, lam, epsilon : per component; g : (K, p) AR coefficients;
    f : (nb, T) temporal background.
    """

    C: np.ndarray
    S: np.ndarray
    F: np.ndarray
    baseline: np.ndarray
    sn: np.ndarray
    g: np.ndarray
    lam: np.ndarray
    epsilon: np.ndarray
    f: np.ndarray


@numba.njit(parallel=True, cache=True, nogil=True)
def _project(Y, indptr, indices, data, out):
    """out[k, t] = sum_q data[q] Y[t, indices[q]] over footprint k's pixels (A^T Y, row-major Y)."""
    K = len(indptr) - 1
    n = Y.shape[0]
    for k in numba.prange(K):
        for t in range(n):
            row = Y[t]
            s = 0.0
            for q in range(indptr[k], indptr[k + 1]):
                s += data[q] * row[indices[q]]
            out[k, t] = s


def trace_statistics(movie, A: sp.csc_matrix, b: np.ndarray, *, chunk_frames: int = 500,
                     progress=None) -> tuple[np.ndarray, np.ndarray]:
    """A^T Y and b^T Y, streaming the movie once.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    A : csc_matrix of shape (H*W, K)
    b : ndarray of shape (H*W, nb)

    Returns
    -------
    AtY : ndarray of shape (K, T)
    btY : ndarray of shape (nb, T)
    """
    T, H, W = movie_shape(movie)
    A = sp.csc_matrix(A)
    A.sort_indices()
    indptr = A.indptr.astype(np.int64)
    indices = A.indices.astype(np.int64)
    data = A.data.astype(np.float32)
    bt = np.ascontiguousarray(b.T, dtype=np.float32)
    AtY = np.zeros((A.shape[1], T))
    btY = np.zeros((b.shape[1], T))
    for start, frames in iter_chunks(movie, chunk_frames):
        n = frames.shape[0]
        Y = frames.reshape(n, H * W)
        if A.shape[1]:
            _project(Y, indptr, indices, data, AtY[:, start:start + n])
        if b.shape[1]:
            btY[:, start:start + n] = bt @ Y.T
        checkpoint(progress, (start + n) / T, f"trace statistics: frame {start + n}/{T}")
    return AtY, btY


def overlap_groups(AtA: sp.spmatrix) -> list[np.ndarray]:
    """Greedy colouring of the overlap graph: groups of components with disjoint footprints.

    Parameters
    ----------
    AtA : sparse matrix of shape (K, K)
        Non-zero where two footprints overlap.

    Returns
    -------
    list of int ndarrays, covering 0..K-1 once
    """
    G = sp.csr_matrix(AtA)
    K = G.shape[0]
    colour = np.full(K, -1)
    # colour the most connected components first: fewer colours
    order = np.argsort(-np.diff(G.indptr), kind="stable")
    for k in order:
        used = set(colour[G.indices[G.indptr[k]:G.indptr[k + 1]]].tolist())
        c = 0
        while c in used:
            c += 1
        colour[k] = c
    return [np.nonzero(colour == c)[0] for c in range(colour.max() + 1)] if K else []


def _deconvolver():
    """``deconvolve_many`` of the deconvolution engine, or None where it is not installed."""
    try:
        from cnmf_gui.engine.deconvolution import deconvolve_many
    except ImportError:
        log.warning("the deconvolution engine is not available: traces are not deconvolved (p = 0)")
        return None
    return deconvolve_many


def _deconvolve_group(Y, deconv, p, deconvolve_many, g, progress):
    """Deconvolve raw traces Y (k, T); returns c, s, baseline, sn, g, lam, epsilon."""
    k, T = Y.shape
    if p > 0:
        # p = 2 with auto_order: AR(1) or AR(2) per component, from its spectrum (g is (k, 2)).
        order = "auto" if p == 2 and getattr(deconv, "auto_order", False) else p
        sn = None
        if order == 1 and getattr(deconv, "noise_fit", "band") == "joint" and T >= 4:
            # The upper band of a fast indicator's spectrum at a low frame rate still holds
            # calcium power, so the band level overstates the noise (~2x at 7.5 Hz) and
            # over-smooths C; the joint Whittle fit of noise floor + kinetics separates the two.
            # The kinetics of that fit may be AR(2) (chosen by BIC where the rise is resolved):
            # an AR(1) spectrum fitted to a resolved rise puts calcium power where the noise
            # floor is and halves sn (realistic movies at 30 Hz), so the noise constraint is
            # infeasible on most traces and C is not denoised.
            from cnmf_gui.engine.deconvolution.spectral import auto_kinetics
            sn = auto_kinetics(Y, noise_range=deconv.noise_range, noise_method=deconv.noise_method,
                               lags=deconv.lags, max_order=2)[1]
        # refine_g: the autocovariance g of a trace with a resolved rise, bursts and drifts is
        # too slow (GCaMP6s at 30 Hz: 3.9 s for a 1.3 s decay); with s >= 0 no c can then follow
        # the faster decays, the noise constraint is infeasible and C lags F. Refitting g on the
        # spike support of the first solve recovers the decay.
        res = deconvolve_many(Y, p=order, g=g, sn=sn, epsilon=deconv.epsilon, s_min=deconv.s_min,
                              method=deconv.method, baseline=deconv.baseline, progress=progress,
                              refine_g=bool(getattr(deconv, "refine_g", False)) and g is None)
        return (np.asarray(res.c), np.asarray(res.s), np.asarray(res.b), np.asarray(res.sn),
                np.asarray(res.g).reshape(k, -1), np.asarray(res.lam), np.asarray(res.epsilon))
    from cnmf_gui.engine.summary import pixel_noise
    sn = pixel_noise(Y.T[:, :, None], deconv.noise_range, deconv.noise_method).ravel() \
        if T >= 4 else np.zeros(k)
    c = np.maximum(Y, 0)
    return (c, c.copy(), np.zeros(k), sn, np.zeros((k, 0)), np.full(k, np.nan),
            np.full(k, float(deconv.epsilon)))


def update_temporal(AtY: np.ndarray, AtA: sp.spmatrix, Atb: np.ndarray, C: np.ndarray,
                    btY: np.ndarray, btb: np.ndarray, f: np.ndarray, deconv, *,
                    g: np.ndarray | None = None, update_background: bool = True,
                    progress=None) -> TemporalResult:
    """One block-coordinate-descent pass over all traces, then the temporal background.

    Parameters
    ----------
    AtY : ndarray of shape (K, T)
        A^T Y.
    AtA : sparse or dense (K, K)
        A^T A.
    Atb : ndarray of shape (K, nb)
        A^T b.
    C : ndarray of shape (K, T)
        Current traces (the starting point).
    btY : ndarray of shape (nb, T)
    btb : ndarray of shape (nb, nb)
    f : ndarray of shape (nb, T)
        Current temporal background.
    deconv : DeconvParams
        p, epsilon, s_min, baseline, method, noise band.
    g : ndarray of shape (K, p), optional
        Fixed AR coefficients (None: estimated per trace).
    update_background : bool
    progress : Progress, optional

    Returns
    -------
    TemporalResult
    """
    K, T = AtY.shape
    AtA = sp.csr_matrix(AtA)
    diag = AtA.diagonal().astype(float)
    C = np.array(C, dtype=float, copy=True)
    f = np.array(f, dtype=float, copy=True)
    out_s = np.zeros((K, T))
    p_eff = deconv.p if T >= MIN_FRAMES_AR else 0
    if deconv.p > 0 and p_eff == 0 and K:
        log.warning("movie has %d frames, too short to fit the calcium kinetics (at least %d): "
                    "traces are not deconvolved (p = 0)", T, MIN_FRAMES_AR)
    deconvolve_many = _deconvolver() if p_eff > 0 and K else None
    if deconvolve_many is None:
        p_eff = 0
    baseline, sn, lam = np.zeros(K), np.zeros(K), np.full(K, np.nan)
    eps = np.full(K, float(deconv.epsilon))
    g_out = np.zeros((K, p_eff))
    groups = overlap_groups(AtA) if K else []
    done = 0
    for group in groups:
        resid = AtY[group] - AtA[group] @ C - Atb[group] @ f
        safe = np.where(diag[group] > 0, diag[group], 1.0)
        Y = C[group] + resid / safe[:, None]
        sub = SubProgress(progress, done / max(K, 1), (done + len(group)) / max(K, 1))
        gg = None if g is None or g.shape[1] != p_eff else g[group]
        c, s, bl, sig, gk, lk, ek = _deconvolve_group(Y, deconv, p_eff, deconvolve_many, gg, sub)
        C[group], out_s[group] = c, s
        baseline[group], sn[group], lam[group], eps[group] = bl, sig, lk, ek
        if p_eff:
            g_out[group, :min(gk.shape[1], p_eff)] = gk[:, :p_eff]
        done += len(group)
        checkpoint(progress, done / max(K, 1), f"temporal update: {done}/{K} components")
    nb = f.shape[0]
    if nb and update_background:
        btA = Atb.T                                  # (nb, K)
        for i in range(nb):
            if btb[i, i] <= 0:
                continue
            rest = btb[i] @ f - btb[i, i] * f[i]
            f[i] = np.maximum((btY[i] - btA[i] @ C - rest) / btb[i, i], 0.0)
    safe = np.where(diag > 0, diag, 1.0)
    F = C + (AtY - AtA @ C - Atb @ f) / safe[:, None] if K else np.zeros((0, T))
    return TemporalResult(C=C, S=out_s, F=F, baseline=baseline, sn=sn, g=g_out, lam=lam,
                          epsilon=eps, f=f)

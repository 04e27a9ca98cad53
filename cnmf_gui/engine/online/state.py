"""The state of online CNMF and what one frame does to it.

Per frame (Giovannucci et al. 2017): demix the corrected frame on the current footprints and
background (HALS from the previous frame's values), keep the raw trace ``F = c + A^T r /
||a||^2``, deconvolve every trace by one step of pool merging, add the frame to the sufficient
statistics ``Y C^T`` (on each footprint's neighbourhood), ``Y f^T`` and ``[C; f][C; f]^T`` (sums,
not averages: HALS only uses their ratios), push the residual into the search buffer; every
``search_every`` frames look for new components there, every ``update_every`` frames update
the footprints and background by HALS on the statistics (the batch engine's sweep,
:func:`cnmf_gui.engine.spatial._hals_components`, and the background model's own step).

Memory is fixed apart from the traces: the statistics live on the footprints' neighbourhoods,
the buffers have a fixed length, and the traces (F, C, S, each K x T float32) grow.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.online.columns import MaskColumns
from cnmf_gui.engine.online.deconv import OnlineAR1
from cnmf_gui.engine.online.kernels import (accumulate_frame, add_masked_products2, add_outer_sparse,
                                             csr_matvec64, demix_frame, dense_products64, masked_products,
                                             residual_into)
from cnmf_gui.engine.online.search import ResidualBuffer
from cnmf_gui.engine.online.traces import TraceStore
from cnmf_gui.engine.spatial import _hals_components, dilate_supports, restrict

#: HALS sweeps over the footprints at each update.
UPDATE_SWEEPS = 2


class OnlineState:
    """Footprints, background, statistics, traces and buffers of an online run.

    Parameters
    ----------
    A : csc_matrix of shape (P, K)
        Initial footprints.
    background : LowRankBackground
        The background model (only its spatial part ``b`` is used; f is estimated per frame).
    deconv : OnlineAR1
        Deconvolution state of the K traces.
    shape : (H, W)
    radius : float
        Neuron radius, px.
    noise : ndarray of shape (H, W)
        Per-pixel noise.
    online : OnlineParams
    dilation : float
        Neighbourhood of a footprint, in radii (cnmf.dilation_radius).
    """

    def __init__(self, A, background, deconv: OnlineAR1, shape, radius, noise, online, dilation: float):
        self.shape = (int(shape[0]), int(shape[1]))
        self.P = self.shape[0] * self.shape[1]
        self.radius = float(radius)
        self.dilation = float(dilation)
        self.params = online
        self.background = background
        self.b = np.asarray(background.b, float)
        self.nb = self.b.shape[1]
        A = sp.csc_matrix(A, dtype=float)
        A.sort_indices()
        masks = dilate_supports(A, self.shape, max(1.0, self.radius * self.dilation))
        masks.sort_indices()
        # per neighbourhood entry: the footprint, Y C^T, and the frames weighted by each
        # denoised trace (the online form of the batch evaluation's "movie during the
        # component's transients", see spatial_values)
        self.cols = MaskColumns(masks, {"a_vals": restrict(A, masks), "U": np.zeros(masks.nnz),
                                        "Ut": np.zeros(masks.nnz)})
        self.deconv = deconv
        K = A.shape[1]
        self.wsum = np.zeros(K)
        self.fw = np.zeros((K, self.nb))
        self.fsum = np.zeros(self.nb)
        self.ysum = np.zeros(self.P)
        self.vmax = np.full(self.P, -np.inf, np.float32)
        self.Ub = np.zeros((self.P, self.nb))
        self.V = np.zeros((K + self.nb, K + self.nb))
        self.c = np.zeros(K + self.nb)
        self.traces = TraceStore(K, self.nb)
        self.buffer = ResidualBuffer(online.buffer_frames, self.shape, self.radius, noise)
        self.noise = np.asarray(noise, np.float32)
        self.hals_ring = np.zeros((online.buffer_frames, K + self.nb), np.float32)
        self.born = np.zeros(K, np.int64)
        self.t = 0
        self._rebuild()

    # ------------------------------------------------------------------------------------------
    @property
    def K(self) -> int:
        return self.cols.K

    @property
    def masks(self) -> sp.csc_matrix:
        """Neighbourhood of each footprint, (P, K) pattern."""
        return self.cols.matrix()

    @property
    def a_vals(self) -> np.ndarray:
        """Footprint values on the masks' entries, (nnz,) (a view: HALS writes into it)."""
        return self.cols.a_vals

    @property
    def U(self) -> np.ndarray:
        return self.cols.U

    @property
    def Ut(self) -> np.ndarray:
        return self.cols.Ut

    @property
    def A(self) -> sp.csc_matrix:
        # copies: eliminate_zeros works in place and the mask pattern must stay whole
        A = sp.csc_matrix((self.a_vals.copy(), self.cols.indices.copy(), self.cols.indptr.copy()),
                          shape=(self.P, self.K))
        A.eliminate_zeros()
        return A

    def _rebuild(self) -> None:
        """Products of the footprints that each frame uses, after they changed."""
        A = self.A                    # without the zeros of the neighbourhoods: what a frame is demixed on
        A.sort_indices()
        self._Acols = MaskColumns(A, {"data": A.data.astype(np.float32)})
        AtA = np.zeros((self.K + self.nb,) * 2)
        AtA[:self.K, :self.K] = (A.T @ A).toarray()
        AtB = np.asarray(A.T @ self.b)
        AtA[:self.K, self.K:] = AtB
        AtA[self.K:, :self.K] = AtB.T
        AtA[self.K:, self.K:] = self.b.T @ self.b
        self.AtA = AtA
        self._b32 = np.ascontiguousarray(self.b, np.float32)
        self._bt = np.ascontiguousarray(self.b.T, np.float32)
        self._frame_arrays()

    def _frame_arrays(self) -> None:
        """The arrays the per-frame kernels take (views of the footprints), after a change."""
        Ac = self._Acols
        # column k of A in CSC is row k of A^T in CSR: the same three arrays serve both products
        self._A = (Ac.indptr, Ac.indices, Ac.data)
        diag = np.diag(self.AtA)[:self.K]
        self.norms = np.sqrt(np.maximum(diag, 0.0))
        # a footprint emptied by an update explains nothing: its raw trace is 0, not noise / 0
        self._diag = np.where(diag > 1e-12, diag, np.inf)
        self._indptr = self.cols.indptr
        self._indices = self.cols.indices
        self._Aty = np.zeros(self.K + self.nb)
        self._grad = np.zeros(self.K + self.nb)

    def overlaps(self, a: sp.csc_matrix) -> np.ndarray:
        """``A^T a`` for one footprint ``a`` (P, 1): its product with every component, (K,)."""
        a = sp.csc_matrix(a)
        dense = np.zeros(self.P, np.float32)
        dense[a.indices] = a.data
        return csr_matvec64(*self._A, dense, np.zeros(self._Acols.K))

    def _append_products(self, a: sp.csc_matrix) -> None:
        """AtA and the footprints grown by one column ``a`` (P, 1) inserted as component K (the
        background stays last): one product with the new column, not all K^2 again."""
        K, nb = self.K - 1, self.nb             # self.cols already holds the new column
        a = sp.csc_matrix(a, dtype=np.float64)
        a.sort_indices()
        row = np.zeros(K + 1 + nb)
        row[:K] = self.overlaps(a)
        row[K] = float(a.data @ a.data)
        row[K + 1:] = a.data @ self.b[a.indices]
        idx = np.r_[np.arange(K), K + 1 + np.arange(nb)]
        AtA = np.zeros((K + 1 + nb,) * 2)
        AtA[np.ix_(idx, idx)] = self.AtA
        AtA[K] = row
        AtA[:, K] = row
        self.AtA = AtA
        self._Acols.append(a.indices, {"data": a.data.astype(np.float32)})
        self._frame_arrays()

    # ------------------------------------------------------------------------------------------
    def step(self, y: np.ndarray) -> None:
        """Process one corrected frame ``y`` of shape (P,), float32.

        Every pass over the frame's pixels is a compiled loop that writes into preallocated
        arrays (the ring buffers' slots, the sums): at 512 x 512 a temporary frame costs as much
        as the arithmetic.
        """
        t = self.t
        K, nb = self.K, self.nb
        Aty = self._Aty
        csr_matvec64(*self._A, y, Aty[:K])
        dense_products64(self._bt, y, Aty[K:])
        c = demix_frame(self.AtA, Aty, self.c, self.params.demix_iterations, self._grad)
        # F = c + A^T r / ||a||^2, with A^T r = A^T y - A^T [A b] c: the gradient at the solution
        F = c[:K] + self._grad[:K] / self._diag
        self.traces.ensure(t + 1)
        tr = self.traces
        tr.F[:K, t] = F
        tr.f[:, t] = c[K:]
        c_now = self.deconv.step(F, t, tr.C, tr.S)
        add_masked_products2(self.U, self.Ut, self._indptr, self._indices, y, c[:K], c_now)
        self.wsum += c_now
        if nb:
            self.fw += np.outer(c_now, c[K:])
            self.fsum += c[K:]
        add_outer_sparse(self.V, c)
        self.hals_ring[self.buffer.count % self.buffer.length] = c
        buf = self.buffer
        slot = buf.count % buf.length
        residual_into(buf.residual[slot], y, self._b32, c[K:], *self._A, c[:K])
        accumulate_frame(y, self.ysum, self.vmax, self.Ub, c[K:], buf.frames[slot])
        buf.commit(slot)
        self.t = t + 1

    # ------------------------------------------------------------------------------------------
    def spatial_values(self) -> np.ndarray:
        """Spatial consistency of every component over the whole run, shape (K,).

        The batch rule (:func:`cnmf_gui.engine.evaluation.spatial_consistency`): the Pearson
        correlation, over the footprint's neighbourhood, between the footprint and the movie
        during its transients minus the mean image and the background's fluctuation. Online the
        frames are weighted by the component's denoised trace instead of selected by it (every
        frame counts as much as the component is active in it), so no frame need be kept.
        NaN where a component never fired.
        """
        T = max(self.t, 1)
        mean = self.ysum / T
        fmean = self.fsum / T
        out = np.full(self.K, np.nan)
        ptr, idx = self.cols.indptr, self.cols.indices
        for k in range(self.K):
            if self.wsum[k] <= 0:
                continue
            pix = idx[ptr[k]:ptr[k + 1]]
            a = self.a_vals[ptr[k]:ptr[k + 1]]
            img = self.Ut[ptr[k]:ptr[k + 1]] / self.wsum[k] - mean[pix]
            if self.nb:
                img -= self.b[pix] @ (self.fw[k] / self.wsum[k] - fmean)
            if np.count_nonzero(a) >= 3 and np.std(img) > 0 and np.std(a) > 0:
                out[k] = np.corrcoef(a, img)[0, 1]
        return out

    # ------------------------------------------------------------------------------------------
    def update_footprints(self) -> None:
        """HALS on the statistics: footprints, then the background's spatial part."""
        K = self.K
        V = self.V
        if K:
            indptr, indices = self.cols.indptr, self.cols.indices
            col_of = np.repeat(np.arange(K), np.diff(indptr))
            pattern = self.masks.astype(bool).astype(np.float64)
            overlap = (pattern.T @ pattern).tocsr()
            overlap.sort_indices()
            Wcf = V[:K, K:]
            stamp = np.full(self.P, -1, np.int64)
            pos = np.zeros(self.P, np.int64)
            for _ in range(UPDATE_SWEEPS):
                bterm = (self.b[indices] * Wcf[col_of]).sum(axis=1) if self.nb else np.zeros(len(indices))
                _hals_components(self.a_vals, indptr, indices, self.U, np.ascontiguousarray(V[:K, :K]), bterm,
                                 overlap.indptr.astype(np.int64), overlap.indices.astype(np.int64), stamp, pos)
        if self.nb:
            A = sp.csc_matrix((self.a_vals, self.cols.indices, self.cols.indptr), shape=(self.P, K))
            self.background.b = self.b
            self.b = self.background.update_spatial(self.Ub, np.asarray(A @ V[:K, K:]), V[K:, K:])
        self._rebuild()

    # ------------------------------------------------------------------------------------------
    def add_component(self, cand, *, g: float, lam_per_sn: float, epsilon: float) -> int:
        """A candidate from the buffer becomes component K (statistics from the buffer frames)."""
        K, nb, t = self.K, self.nb, self.t
        order = self.buffer.order()
        L = len(order)
        mask = dilate_supports(cand.footprint, self.shape, max(1.0, self.radius * self.dilation))
        mask.sort_indices()
        vals = restrict(cand.footprint, mask)
        trace = np.maximum(np.asarray(cand.trace, float), 0.0)
        # statistics of the new component over the buffer frames (it was zero before them)
        # gather the mask's pixels first: the buffer holds whole frames
        u_new = masked_products(self.buffer.frames[:, mask.indices][order], trace,
                                np.arange(mask.nnz, dtype=np.int64))
        cross = self.hals_ring[order].astype(float).T @ trace            # (K + nb,)
        self.cols.append(mask.indices, {"a_vals": vals, "U": u_new, "Ut": u_new})
        self.wsum = np.append(self.wsum, trace.sum())
        self.fw = np.vstack([self.fw, self.hals_ring[order][:, K:].astype(float).T @ trace])
        idx = np.r_[np.arange(K), K + 1 + np.arange(nb)]               # old rows in the new layout
        V = np.zeros((K + 1 + nb,) * 2)
        V[np.ix_(idx, idx)] = self.V
        V[K, idx] = cross
        V[idx, K] = cross
        V[K, K] = trace @ trace
        self.V = V
        c = np.zeros(K + 1 + nb)
        c[idx] = self.c
        c[K] = trace[-1]
        self.c = c
        ring = np.zeros((self.hals_ring.shape[0], K + 1 + nb), np.float32)
        ring[:, idx] = self.hals_ring
        ring[order, K] = trace
        self.hals_ring = ring
        self.born = np.append(self.born, t - L)
        self.traces.add_row(t)
        self.traces.F[K, t - L:t] = cand.trace
        self.deconv.add(g, 0.0, lam_per_sn * cand.sn, cand.sn, epsilon)
        self.deconv.history(K, cand.trace, t - L, self.traces.C, self.traces.S)
        self._append_products(cand.footprint)
        return K

"""The state of online CNMF and what one frame does to it.

Per frame (Giovannucci et al. 2017): demix the corrected frame on the current footprints and
background (HALS from the previous frame's values), keep the raw trace ``F = c + A^T r /
||a||^2``, deconvolve every trace (one step of pool merging; the AR(2) traces by windows of the
batch solver, :mod:`.deconv_ar2`), keep the frame and its traces in the ring buffers, and put
its residual, made on the search's binned grid, into the search buffer. Every ``STATS_BLOCK``
frames the sufficient statistics ``Y C^T`` (on each footprint's neighbourhood), ``Y w^T`` and
``[C; f][C; f]^T`` (sums, not averages: HALS only uses their ratios) take the block's frames
from the ring buffers (``Y f^T`` and the sums are added per frame); every ``search_every``
frames look for new components in the buffer, every ``update_every`` frames update the
footprints and background by HALS on the statistics (the batch engine's sweep,
:func:`cnmf_gui.engine.spatial._hals_components`, and the background model's own step).

Memory is fixed apart from the traces: the statistics live on the footprints' neighbourhoods,
the buffers have a fixed length, and the traces (F, C, S, each K x T float32) grow.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.online.columns import MaskColumns
from cnmf_gui.engine.online.deconv import OnlineAR1
from cnmf_gui.engine.online.growth import ComponentGrowth
from cnmf_gui.engine.online.kernels import (accumulate_frame, add_masked_block, csr_matvec64, demix_frame,
                                             dense_products64, residual_into)
from cnmf_gui.engine.online.search import ResidualBuffer
from cnmf_gui.engine.online.traces import TraceStore
from cnmf_gui.engine.spatial import _hals_components, dilate_supports, restrict

#: HALS sweeps over the footprints at each update.
UPDATE_SWEEPS = 2
#: Frames whose products ``Y C^T`` and ``C C^T`` are added to the statistics together (from the
#: ring buffers): one pass over the statistics per block instead of per frame.
STATS_BLOCK = 10


class OnlineState(ComponentGrowth):
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

    ar2 = None      # a state pickled before the AR(2) traces has none

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
        # the binned grid of the search: the frame, footprints and background binned (the
        # residual is made there), and the per-frame arrays the kernels write into
        self._binning = self.buffer.binning()
        self._ybin = np.zeros(self._binning.shape[0], np.float32)
        self._rbin = np.zeros(self._binning.shape[0], np.float32)
        self.noise = np.asarray(noise, np.float32)
        # per frame of the buffer: the demixed [c; f] and each trace's current deconvolved value
        self.hals_ring = np.zeros((online.buffer_frames, K + self.nb))
        self.now_ring = np.zeros((online.buffer_frames, K))
        self.pending: list[int] = []      # ring slots whose products are not in U, Ut, V yet
        self.born = np.zeros(K, np.int64)
        self.ar2 = None               # WindowedAR2 of the traces the batch fitted with AR(2), if any
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
        self._boxes = np.array([self._box(A.indices[A.indptr[k]:A.indptr[k + 1]]) for k in range(self.K)],
                               np.int64).reshape(self.K, 4)
        AtA = np.zeros((self.K + self.nb,) * 2)
        AtA[:self.K, :self.K] = (A.T @ A).toarray()
        AtB = np.asarray(A.T @ self.b)
        AtA[:self.K, self.K:] = AtB
        AtA[self.K:, :self.K] = AtB.T
        AtA[self.K:, self.K:] = self.b.T @ self.b
        self.AtA = AtA
        self._bt = np.ascontiguousarray(self.b.T, np.float32)
        self._bbin = np.ascontiguousarray(self._binning @ self.b, np.float32)
        Abin = sp.csc_matrix(self._binning @ A)
        Abin.sort_indices()
        self._Abin_cols = MaskColumns(Abin, {"data": Abin.data.astype(np.float32)})
        self._frame_arrays()

    def _frame_arrays(self) -> None:
        """The arrays the per-frame kernels take (views of the footprints), after a change."""
        Ac = self._Acols
        # column k of A in CSC is row k of A^T in CSR: the same three arrays serve both products
        self._A = (Ac.indptr, Ac.indices, Ac.data)
        Bc = self._Abin_cols
        self._Abin = (Bc.indptr, Bc.indices, Bc.data)
        diag = np.diag(self.AtA)[:self.K]
        self.norms = np.sqrt(np.maximum(diag, 0.0))
        # a footprint emptied by an update explains nothing: its raw trace is 0, not noise / 0
        self._diag = np.where(diag > 1e-12, diag, np.inf)
        self._indptr = self.cols.indptr
        self._indices = self.cols.indices
        self._Aty = np.zeros(self.K + self.nb)
        self._grad = np.zeros(self.K + self.nb)

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
        if self.ar2 is not None:
            self.ar2.step(t + 1, tr.F, tr.C, tr.S)
        self.wsum += c_now
        if nb:
            self.fw += np.outer(c_now, c[K:])
            self.fsum += c[K:]
        buf = self.buffer
        slot = buf.count % buf.length
        self.hals_ring[slot] = c
        self.now_ring[slot] = c_now
        self.pending.append(slot)
        accumulate_frame(y, self.ysum, self.vmax, self.Ub, c[K:], buf.frames[slot], self.shape[1], buf.bin,
                         self._ybin)
        residual_into(self._rbin, self._ybin, self._bbin, c[K:], *self._Abin, c[:K])
        buf.commit(slot, self._rbin)
        self.t = t + 1
        if len(self.pending) >= min(STATS_BLOCK, buf.length):
            self.flush_statistics()

    def flush_statistics(self) -> None:
        """Add the pending frames' ``Y C^T`` (on the masks), ``Y w^T`` and ``[C; f][C; f]^T``
        to the statistics (their frames and traces are still in the ring buffers)."""
        if not self.pending:
            return
        slots = np.asarray(self.pending, np.int64)
        self.pending = []
        add_masked_block(self.U, self.Ut, self._indptr, self._indices, self.buffer.frames, slots,
                         self.hals_ring, self.now_ring)
        block = self.hals_ring[slots]
        self.V += block.T @ block

    def finish_traces(self) -> None:
        """C and S complete up to now (the pools still open, the AR(2) frames not final yet)."""
        self.deconv.finish(self.traces.C, self.traces.S)
        if self.ar2 is not None:
            self.ar2.finish(self.t, self.traces.F, self.traces.C, self.traces.S)

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
        self.flush_statistics()
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
        self.flush_statistics()
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

"""What a new component does to the state of online CNMF, and the footprints near a place.

:class:`ComponentGrowth` is a part of :class:`.state.OnlineState` (its methods use the state's
arrays): a candidate from the residual buffer becomes a component, with its statistics over the
buffered frames, its row and column of ``[A b]^T [A b]`` and its binned footprint; the products
of a footprint with the others and the full-resolution residual of a patch visit only the
components whose bounding box meets it.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.online.kernels import column_products64, masked_products
from cnmf_gui.engine.spatial import dilate_supports, restrict


class ComponentGrowth:
    """Methods of :class:`.state.OnlineState` about new components and nearby footprints."""

    def _box(self, pix: np.ndarray) -> tuple[int, int, int, int]:
        """Bounding box (first row, last row, first column, last column) of flat pixels; an
        empty one for none."""
        if len(pix) == 0:
            return (1, 0, 1, 0)
        r, c = np.divmod(pix, self.shape[1])
        return (int(r.min()), int(r.max()), int(c.min()), int(c.max()))

    def overlaps(self, a: sp.csc_matrix) -> np.ndarray:
        """``A^T a`` for one footprint ``a`` (P, 1): its product with every component, (K,).

        Only the components whose bounding box meets a's are visited (the others' products are
        exactly 0): a new component's products were a pass over every footprint's pixels.
        """
        a = sp.csc_matrix(a)
        out = np.zeros(self._Acols.K)
        r0, r1, c0, c1 = self._box(a.indices)
        bx = self._boxes
        near = np.flatnonzero((bx[:, 0] <= r1) & (bx[:, 1] >= r0) & (bx[:, 2] <= c1) & (bx[:, 3] >= c0))
        if len(near) == 0:
            return out
        dense = np.zeros(self.P, np.float32)
        dense[a.indices] = a.data
        return column_products64(*self._A, dense, near, out)

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
        self._boxes = np.vstack([self._boxes, np.array(self._box(a.indices), np.int64)[None]])
        abin = sp.csc_matrix(self._binning @ a)
        abin.sort_indices()
        self._Abin_cols.append(abin.indices, {"data": abin.data.astype(np.float32)})
        self._frame_arrays()

    def residual_patch(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The residual ``y - A c - b f`` of the buffered frames (oldest first) on the patch of
        these (increasing) rows and columns, shape (L, len(rows) * len(cols)), float64: made
        from the buffered frames and demixed traces, with the footprints whose bounding box
        meets the patch."""
        W = self.shape[1]
        order = self.buffer.order()
        box = (rows[:, None] * W + cols[None, :]).ravel()
        D = self.buffer.frames[:, box][order].astype(np.float64)
        ring = self.hals_ring[order]
        K = self.K
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])
        bx = self._boxes
        near = np.flatnonzero((bx[:, 0] <= r1) & (bx[:, 1] >= r0) & (bx[:, 2] <= c1) & (bx[:, 3] >= c0))
        if len(near):
            Ac = self._Acols
            patch = np.zeros((len(box), len(near)))
            w = c1 - c0 + 1
            for j, k in enumerate(near):
                pix = Ac.indices[Ac.indptr[k]:Ac.indptr[k + 1]]
                r, c = np.divmod(pix, W)
                inside = (r >= r0) & (r <= r1) & (c >= c0) & (c <= c1)
                patch[(r[inside] - r0) * w + (c[inside] - c0), j] = Ac.data[Ac.indptr[k]:Ac.indptr[k + 1]][inside]
            D -= ring[:, near] @ patch.T
        if self.nb:
            D -= ring[:, K:] @ self.b[box].T
        return D

    # ------------------------------------------------------------------------------------------
    def add_component(self, cand, *, g: float, lam_per_sn: float, epsilon: float) -> int:
        """A candidate from the buffer becomes component K (statistics from the buffer frames)."""
        # the pending frames' products first, without the new component (its statistics over
        # the whole buffer are added here)
        self.flush_statistics()
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
        ring = np.zeros((self.hals_ring.shape[0], K + 1 + nb))
        ring[:, idx] = self.hals_ring
        ring[order, K] = trace
        self.hals_ring = ring
        now = np.zeros((self.now_ring.shape[0], K + 1))
        now[:, :K] = self.now_ring
        self.now_ring = now
        self.born = np.append(self.born, t - L)
        self.traces.add_row(t)
        self.traces.F[K, t - L:t] = cand.trace
        self.deconv.add(g, 0.0, lam_per_sn * cand.sn, cand.sn, epsilon)
        self.deconv.history(K, cand.trace, t - L, self.traces.C, self.traces.S)
        self._append_products(cand.footprint)
        return K

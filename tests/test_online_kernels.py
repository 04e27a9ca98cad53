"""The per-frame kernels of online CNMF against plain numpy/scipy on random problems with known
answers: NNLS demixing and its gradient, residual, sums, growing masks, the local smoothing of
a new component's footprint out of the residual buffer."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy import ndimage
from scipy.optimize import nnls

from cnmf_gui.engine.online.columns import MaskColumns
from cnmf_gui.engine.online.kernels import (accumulate_frame, add_masked_block, csr_matvec64, demix_frame,
                                            dense_products64, residual_into)
from cnmf_gui.engine.online.search import ResidualBuffer


def _footprints(rng, P=400, K=12, nnz=30):
    A = sp.random(P, K, density=nnz / P, random_state=np.random.RandomState(int(rng.integers(1 << 30))),
                  format="csc", data_rvs=lambda n: rng.random(n) + 0.1)
    A.sort_indices()
    return A


def test_demixing_converges_to_nnls_and_returns_its_gradient():
    rng = np.random.default_rng(0)
    A = _footprints(rng).toarray()
    b = rng.random((A.shape[0], 1))
    M = np.hstack([A, b])
    truth = np.maximum(rng.normal(size=M.shape[1]), 0.0)
    y = M @ truth + 0.05 * rng.normal(size=M.shape[0])
    AtA, Aty = M.T @ M, M.T @ y
    grad = np.zeros(M.shape[1])
    c = demix_frame(AtA, Aty, rng.random(M.shape[1]), 500, grad)
    ref, _ = nnls(M, y)
    assert np.allclose(c, ref, atol=1e-6)
    assert np.allclose(grad, Aty - AtA @ c, atol=1e-9)
    # a warm start at the answer stays there after one sweep
    c2 = demix_frame(AtA, Aty, ref.copy(), 1, grad)
    assert np.allclose(c2, ref, atol=1e-6)


def test_footprint_products_residual_and_sums():
    rng = np.random.default_rng(1)
    A = _footprints(rng)
    P, K = A.shape
    A32 = A.astype(np.float32)
    arrays = (A32.indptr.astype(np.int64), A32.indices.astype(np.int64), A32.data)
    y = (rng.random(P) * 1000).astype(np.float32)
    out = csr_matvec64(*arrays, y, np.zeros(K))        # CSC columns = CSR rows of A^T
    assert np.allclose(out, A32.toarray().astype(float).T @ y, rtol=1e-6)
    b = rng.random((P, 2)).astype(np.float32)
    cb = rng.random(2)
    c = np.where(rng.random(K) < 0.5, 0.0, rng.random(K))
    r = residual_into(np.empty(P, np.float32), y, b, cb, *arrays, c)
    assert np.allclose(r, y - b @ cb - A32.toarray() @ c, atol=1e-3)
    assert np.allclose(dense_products64(np.ascontiguousarray(b.T), y, np.zeros(2)),
                       b.T.astype(float) @ y.astype(float), rtol=1e-12)
    H, W = 20, 20                          # P = 400 px
    for binning, (h, w) in ((1, (20, 20)), (3, (6, 6))):   # 3 x 3 bins: the last 2 rows and columns are left out
        ysum, vmax, Ub, slot = np.ones(P), np.full(P, -np.inf, np.float32), np.zeros((P, 2)), np.empty(P, np.float32)
        ybin = np.full(h * w, 7.0, np.float32)
        accumulate_frame(y, ysum, vmax, Ub, cb, slot, W, binning, ybin)
        assert np.allclose(ysum, 1 + y) and np.array_equal(vmax, y) and np.array_equal(slot, y)
        assert np.allclose(Ub, np.outer(y, cb))
        img = y.reshape(H, W)[:h * binning, :w * binning].astype(float)
        want = img.reshape(h, binning, w, binning).mean(axis=(1, 3)).ravel()
        assert np.allclose(ybin, want, rtol=1e-6)


def test_block_of_frames_adds_the_masked_products_of_each_frame():
    rng = np.random.default_rng(5)
    masks = _footprints(rng, P=300, K=9, nnz=40)
    P, K = masks.shape
    L = 12
    Y = (rng.random((L, P)) * 1000).astype(np.float32)
    c_ring, w_ring = rng.random((L, K + 1)), np.where(rng.random((L, K)) < 0.5, 0.0, rng.random((L, K)))
    slots = np.array([7, 8, 9, 10, 11, 0, 1])                 # a block that wraps around the ring
    U, V = np.ones(masks.nnz), np.zeros(masks.nnz)
    add_masked_block(U, V, masks.indptr.astype(np.int64), masks.indices.astype(np.int64), Y, slots, c_ring, w_ring)
    pattern = masks.toarray() != 0
    Yb = Y[slots].astype(float)
    for name, got, ring, start in (("U", U, c_ring, 1.0), ("V", V, w_ring, 0.0)):
        dense = Yb.T @ ring[slots, :K]                            # (P, K): sum_j y_j c_j^T
        want = sp.csc_matrix(np.where(pattern, dense, 0.0))
        want.sort_indices()
        assert np.array_equal(want.indices, masks.indices)
        assert np.allclose(got, start + want.data, rtol=1e-12), name


def test_mask_columns_grow_like_hstack_and_share_their_values():
    rng = np.random.default_rng(2)
    A = _footprints(rng, K=5)
    cols = MaskColumns(A, {"v": A.data.copy(), "u": np.zeros(A.nnz, np.float32)})
    mats = [A]
    for _ in range(40):                      # past several doublings of the capacity
        new = _footprints(rng, K=1)
        cols.append(new.indices, {"v": new.data, "u": np.ones(new.nnz, np.float32)})
        mats.append(new)
    whole = sp.hstack(mats, format="csc")
    assert cols.K == 45 and np.array_equal(cols.matrix("v").toarray(), whole.toarray())
    assert cols.u.dtype == np.float32 and cols.u[:A.nnz].sum() == 0 and cols.u[A.nnz:].min() == 1
    cols.v[:] = 2.0                          # callers write into the values in place
    assert np.all(cols.matrix("v").data == 2.0)
    # a pickled copy still writes through its views, and grows from what was written
    import pickle
    copy = pickle.loads(pickle.dumps(cols))
    copy.v[:] = 3.0
    copy.append(np.array([0, 1]), {"v": np.array([4.0, 4.0]), "u": np.zeros(2, np.float32)})
    assert copy.K == 46 and np.all(copy.matrix("v").data[:-2] == 3.0) and np.all(cols.v == 2.0)


def test_explaining_a_component_equals_recomputing_the_smoothed_buffer():
    rng = np.random.default_rng(3)
    H, W, L = 41, 37, 8                      # odd sides: pixels beyond the last whole bin
    buf = ResidualBuffer(L, (H, W), 4.0, np.ones((H, W)))
    binning = buf.binning()
    assert buf.bin == 2 and binning.shape == (20 * 18, H * W)
    residual = rng.normal(size=(L + 3, H * W))
    for r in residual:                       # the ring has wrapped
        buf.push(binning @ r, np.zeros(H * W, np.float32))
    # what the ring holds: the smoothed binned residual, as _smoothed makes it of a whole image
    residual = residual[3:]
    order = buf.order()
    for j, i in enumerate(order):
        assert np.allclose(buf.smooth[i], buf._smoothed(residual[j].reshape(H, W)), atol=1e-5)
    for centre in ((20, 18), (1, 1), (H - 1, W - 1)):      # inside and at the borders
        rr, cc = np.meshgrid(np.arange(H), np.arange(W), indexing="ij")
        img = np.exp(-((rr - centre[0]) ** 2 + (cc - centre[1]) ** 2) / 8.0)
        img[img < 0.05] = 0
        foot = sp.csc_matrix(img.reshape(-1, 1))
        trace = rng.random(L).astype(np.float32)
        residual = residual - trace[:, None].astype(float) * img.ravel().astype(np.float32)[None]
        mean3_before = buf.mean3.copy()
        buf.explain(foot, trace)
        for j, i in enumerate(order):
            assert np.allclose(buf.smooth[i], buf._smoothed(residual[j].reshape(H, W)), atol=1e-5)
        # where the smoothed footprint is: the 3-frame means of the new smoothed residual in
        # time order; far from it: untouched
        near = buf._smoothed(img) != 0
        rows, cols = np.nonzero(near)           # outside the bounding box of near, widened
        far = np.ones_like(near)
        pad = buf.size + 2
        far[max(rows.min() - pad, 0):rows.max() + pad + 1, max(cols.min() - pad, 0):cols.max() + pad + 1] = False
        sm = buf.smooth[order]
        for j, i in enumerate(order):
            lo = max(j - 2, 0)
            assert np.allclose(buf.mean3[i][near], sm[lo:j + 1].mean(axis=0)[near], atol=1e-5)
            assert np.array_equal(buf.mean3[i][far], mean3_before[i][far])
    # the filter is the one the whole image uses
    assert buf.size == max(1, int(round(4.0 / buf.bin)))
    box = ndimage.uniform_filter(np.ones((5, 5), np.float32), size=buf.size, mode="constant")
    assert box[2, 2] == 1.0


def test_deconvolution_state_grows_in_place_and_survives_pickling():
    import pickle

    from cnmf_gui.engine.online.deconv import OnlineAR1
    K = 3
    d = OnlineAR1(np.full(K, 0.9), np.zeros(K), np.full(K, 0.1), np.ones(K), np.zeros(K), pool_limit=16)
    C, S = np.zeros((32, 40), np.float32), np.zeros((32, 40), np.float32)
    rng = np.random.default_rng(4)
    for t in range(10):
        d.step(rng.random(K) * 3, t, C, S)
    copy = pickle.loads(pickle.dumps(d))
    for _ in range(10):                      # past the spare rows (8): the rows are reallocated
        copy.add(0.9, 0.0, 0.1, 1.0, 0.0)
    assert np.shares_memory(copy.pools, copy._pools) and copy.pools.shape[0] == K + 10
    assert np.array_equal(copy.pools[:K], d.pools) and not copy.pools[K:].any()
    copy.step(rng.random(K + 10) * 3, 10, C, S)
    copy.finish(C, S)                        # the old traces' pools are intact: no empty pool
    assert np.all(np.isfinite(C)) and C[:K, :11].any()

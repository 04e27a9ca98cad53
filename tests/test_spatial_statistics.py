"""The spatial update's sufficient statistics (Y C^T on each neighbourhood, Y f^T) against the
dense products they stand for, on fields larger than one pixel block of the kernel."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from cnmf_gui.engine.spatial import dilate_supports, pixel_statistics


def _field(seed, T, shape, K):
    """Random movie, traces with many exact zeros (as deconvolved traces have), and random
    disc-shaped footprints (some at the field's edges, some overlapping)."""
    rng = np.random.default_rng(seed)
    H, W = shape
    movie = rng.standard_normal((T, H, W)).astype(np.float32) * 3 + 10
    C = np.maximum(rng.standard_normal((K, T)) - 0.5, 0.0)
    f = rng.uniform(0.5, 1.5, (2, T))
    rows, cols = rng.integers(0, H, K), rng.integers(0, W, K)
    A = sp.lil_matrix((H * W, K))
    for k in range(K):
        A[rows[k] * W + cols[k], k] = 1.0
    return movie, C, f, sp.csc_matrix(A)


@pytest.mark.parametrize("seed, T, shape, K, chunk", [(0, 90, (37, 53), 12, 25),
                                                      (1, 40, (16, 200), 7, 40),
                                                      (2, 33, (30, 30), 0, 10)])
def test_pixel_statistics_equal_the_dense_products_on_each_neighbourhood(seed, T, shape, K, chunk):
    movie, C, f, A = _field(seed, T, shape, K)
    masks = dilate_supports(A, shape, 4.0)
    U, Ub = pixel_statistics(movie, C, f, masks, chunk_frames=chunk)
    Y = movie.reshape(T, -1).astype(np.float64)
    dense = Y.T @ C.T                                  # (P, K) on every pixel
    pattern = masks.tocoo()
    # U is in the pattern's CSC order; compare entry by entry through a CSC of U
    got = sp.csc_matrix((U, masks.indices, masks.indptr), shape=masks.shape).toarray()
    want = np.where(masks.toarray() > 0, dense, 0.0)
    assert masks.nnz == len(U) and (K == 0 or pattern.nnz > 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4 * np.abs(dense).max(initial=1.0))
    np.testing.assert_allclose(Ub, Y.T @ f.T, rtol=1e-5)


def test_pixel_statistics_do_not_depend_on_the_chunk_length():
    movie, C, f, A = _field(3, 120, (40, 40), 9)
    masks = dilate_supports(A, (40, 40), 5.0)
    U1, _ = pixel_statistics(movie, C, f, masks, chunk_frames=7)
    U2, _ = pixel_statistics(movie, C, f, masks, chunk_frames=120)
    # each entry is summed frame by frame in order whatever the chunks: identical sums
    np.testing.assert_array_equal(U1, U2)

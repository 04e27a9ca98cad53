"""Unit tests of the CNMF building blocks on small hand-made arrays with known answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from cnmf_gui.engine.dff import compute_dff, running_percentile
from cnmf_gui.engine.footprints import areas, centroids, compactness, contours, outline
from cnmf_gui.engine.merging import find_merge_groups, merge_refit
from cnmf_gui.engine.spatial import (clean_footprints, dilate_supports, pixel_statistics, restrict,
                                     update_spatial)
from cnmf_gui.engine.summary import compute_summary
from cnmf_gui.engine.temporal import overlap_groups, trace_statistics, update_temporal
from cnmf_gui.params import DeconvParams


def _blob(shape, center, radius):
    r, c = np.mgrid[:shape[0], :shape[1]]
    img = np.exp(-((r - center[0]) ** 2 + (c - center[1]) ** 2) / (2 * (radius / 2) ** 2))
    img[img < 0.05] = 0
    return img


def _toy(seed=0, T=300, noise=0.0):
    """Three overlapping blobs with sparse non-negative traces and a flat background."""
    rng = np.random.default_rng(seed)
    shape = (20, 24)
    feet = np.stack([_blob(shape, (8, 8), 4), _blob(shape, (10, 13), 4), _blob(shape, (14, 18), 4)])
    C = np.maximum(rng.standard_normal((3, T)), 0) * rng.uniform(1, 3, (3, 1))
    b = np.full(shape[0] * shape[1], 2.0)
    f = np.ones((1, T))
    A = feet.reshape(3, -1).T
    Y = (A @ C + b[:, None] @ f).T.reshape(T, *shape) + noise * rng.standard_normal((T, *shape))
    return Y.astype(np.float32), A, C, b[:, None], f, shape


# -------------------------------------------------------------------------------------- summary

def test_summary_images_match_direct_computation_and_do_not_depend_on_chunking():
    rng = np.random.default_rng(1)
    movie = (rng.standard_normal((150, 9, 11)) + np.linspace(0, 2, 150)[:, None, None]
             * rng.random((9, 11)) + 50).astype(np.float32)
    s1, n1 = compute_summary(movie, chunk_frames=1000)
    s2, n2 = compute_summary(movie, chunk_frames=40)
    m = movie.astype(float)
    assert np.allclose(s1.mean, m.mean(axis=0), atol=1e-4)
    assert np.array_equal(s1.max, movie.max(axis=0))
    r, c = 4, 5
    expected = np.mean([np.corrcoef(m[:, r, c], m[:, r + dr, c + dc])[0, 1]
                        for dr in (-1, 0, 1) for dc in (-1, 0, 1) if dr or dc])
    assert s1.correlation[r, c] == pytest.approx(expected, abs=1e-5)
    corner = np.mean([np.corrcoef(m[:, 0, 0], m[:, i, j])[0, 1] for i, j in ((0, 1), (1, 0), (1, 1))])
    assert s1.correlation[0, 0] == pytest.approx(corner, abs=1e-5)
    assert np.allclose(s1.correlation, s2.correlation, atol=1e-5)
    assert np.allclose(s1.pnr, (s1.max - s1.mean) / n1, rtol=1e-4)


def test_pixel_noise_recovers_white_noise_level():
    rng = np.random.default_rng(2)
    movie = (3.0 * rng.standard_normal((2000, 6, 6)) + 10).astype(np.float32)
    _, noise = compute_summary(movie, chunk_frames=500)
    assert np.median(noise) == pytest.approx(3.0, rel=0.05)


# -------------------------------------------------------------------------------------- spatial

def test_hals_recovers_footprints_and_background_from_exact_statistics():
    Y, A_true, C, b_true, f, shape = _toy()
    A0 = sp.csc_matrix(np.where(A_true > 0, 0.5, 0.0))
    masks = dilate_supports(A0, shape, 2.0)
    U, Ub = pixel_statistics(Y, C, f, masks, chunk_frames=64)
    A, b = update_spatial(restrict(A0, masks), masks, np.zeros_like(b_true), C, f, U, Ub, n_sweeps=200)
    assert np.allclose(A.toarray(), A_true, atol=1e-3)
    assert np.allclose(b, b_true, atol=1e-3)


def test_footprints_stay_inside_their_neighbourhood():
    Y, A_true, C, b_true, f, shape = _toy()
    A0 = sp.csc_matrix(np.where(A_true > 0.5, 1.0, 0.0))
    masks = dilate_supports(A0, shape, 0.0)
    U, Ub = pixel_statistics(Y, C, f, masks)
    A, _ = update_spatial(restrict(A0, masks), masks, b_true, C, f, U, Ub)
    assert not np.any((A.toarray() > 0) & (masks.toarray() == 0))


def test_dilation_and_restriction():
    A = sp.csc_matrix(np.eye(25)[:, [12]])          # one pixel in the middle of a 5 x 5 frame
    M = dilate_supports(A, (5, 5), 1.0)
    assert sorted(M.indices) == [7, 11, 12, 13, 17]
    vals = restrict(sp.csc_matrix(np.eye(25)[:, [12]] * 3 + np.eye(25)[:, [0]]), M)
    assert vals.tolist() == [0, 0, 3, 0, 0]          # pixel 0 is outside the neighbourhood


def test_clean_footprints_keeps_the_piece_around_the_peak_and_normalises():
    img = np.zeros((10, 10))
    img[1:4, 1:4] = 1.0
    img[7:9, 7:9] = 0.5                                # a separate piece: dropped
    img[5, 5] = 0.01                                   # below 10 % of the peak: dropped
    A, norms, keep = clean_footprints(sp.csc_matrix(img.reshape(-1, 1)), (10, 10))
    out = A.toarray().reshape(10, 10)
    assert np.count_nonzero(out) == 9 and out[1:4, 1:4].min() > 0
    assert np.linalg.norm(out) == pytest.approx(1.0) and norms[0] == pytest.approx(3.0)
    empty, _, keep = clean_footprints(sp.csc_matrix((100, 1)), (10, 10))
    assert empty.shape == (100, 0) and len(keep) == 0


# ------------------------------------------------------------------------------------- temporal

def test_overlap_groups_are_a_proper_colouring():
    rng = np.random.default_rng(3)
    G = sp.random(40, 40, density=0.1, random_state=4)
    G = ((G + G.T + sp.eye(40)) > 0).astype(float)
    groups = overlap_groups(G)
    assert sorted(np.concatenate(groups).tolist()) == list(range(40))
    dense = G.toarray()
    for g in groups:
        sub = dense[np.ix_(g, g)] - np.eye(len(g))
        assert not sub.any()
    del rng


def test_temporal_update_without_deconvolution_recovers_traces():
    Y, A_true, C_true, b, f, shape = _toy()
    A = sp.csc_matrix(A_true)
    AtY, btY = trace_statistics(Y, A, b, chunk_frames=50)
    tr = update_temporal(AtY, (A.T @ A).tocsr(), np.asarray(A.T @ b), np.zeros_like(C_true), btY,
                         b.T @ b, f, DeconvParams(p=0), update_background=False)
    for _ in range(100):
        tr = update_temporal(AtY, (A.T @ A).tocsr(), np.asarray(A.T @ b), tr.C, btY, b.T @ b, f,
                             DeconvParams(p=0), update_background=False)
    assert np.allclose(tr.C, C_true, atol=1e-3)
    assert np.allclose(tr.F, tr.C, atol=1e-3)          # exact data: no residual


# -------------------------------------------------------------------------------------- merging

def test_merge_refit_recovers_the_rank_one_union():
    rng = np.random.default_rng(5)
    a = _blob((16, 16), (8, 8), 5).ravel()
    c = np.maximum(rng.standard_normal(200), 0)
    left = np.where(np.arange(256) % 16 < 8, a, 0)
    right = a - left
    # each half carries the same trace at its own scale
    A_sub = sp.csc_matrix(np.column_stack([left / np.linalg.norm(left), right / np.linalg.norm(right)]))
    C_sub = np.vstack([c * np.linalg.norm(left), c * np.linalg.norm(right)])
    a_hat, c_hat = merge_refit(A_sub, C_sub)
    assert np.linalg.norm(a_hat) == pytest.approx(1.0)
    assert a_hat @ (a / np.linalg.norm(a)) > 0.9999
    assert np.allclose(np.outer(a_hat, c_hat), np.outer(a, c), atol=1e-6)


def test_merge_refit_is_not_an_average():
    # two different footprints whose traces differ: the refit is the best rank-1, not a mean
    A_sub = sp.csc_matrix(np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
    C_sub = np.array([[2.0, 0.0, 2.0], [1.0, 0.0, 1.0]])
    a, c = merge_refit(A_sub, C_sub)
    assert np.allclose(np.outer(a, c), A_sub @ C_sub, atol=1e-9)   # exactly rank 1 here
    with pytest.raises(ValueError):
        merge_refit(A_sub, C_sub[:1])


def test_merge_groups_need_overlap_and_correlation_or_a_duplicate_footprint():
    rng = np.random.default_rng(6)
    c = np.maximum(rng.standard_normal(300), 0)
    other = np.maximum(rng.standard_normal(300), 0)
    F = np.zeros((100, 5))
    F[0:10, 0] = 1; F[5:15, 1] = 1          # overlap, same trace -> merged
    F[40:50, 2] = 1                          # same trace, no overlap -> alone
    F[70:80, 3] = 1; F[71:80, 4] = 1         # near-identical footprints, unrelated traces
    C = np.vstack([c, c + 0.01 * rng.standard_normal(300), c, c, other])
    A = sp.csc_matrix(F)
    groups = [g.tolist() for g in find_merge_groups(A, C, 0.85)]
    assert groups == [[0, 1]]
    groups = [g.tolist() for g in find_merge_groups(A, C, 0.85, duplicate_overlap=0.7)]
    assert groups == [[0, 1], [3, 4]]


# ------------------------------------------------------------------------------------------ dF/F

def test_dff_of_transients_on_a_drifting_baseline():
    T = 3000
    t = np.arange(T)
    baseline = 10 + 2 * t / T                          # slow drift
    F = baseline.copy()
    F[1000:1010] += baseline[1000:1010]                # a transient doubling the fluorescence
    # on a linear drift the running median is the drift itself
    dff = compute_dff(F[None], frame_rate=30, quantile=50, window_s=20)[0]
    assert dff[1005] == pytest.approx(1.0, abs=0.01)
    assert np.abs(dff[2000:2500]).max() < 0.005
    # a low percentile sits a little below a rising baseline: a few percent, not more
    low = compute_dff(F[None], frame_rate=30, quantile=8, window_s=20)[0]
    assert low[1005] == pytest.approx(1.0, abs=0.05)
    # background in the denominator
    dff_bg = compute_dff(F[None] - 5, frame_rate=30, quantile=50, window_s=20,
                         background=np.full((1, T), 5.0))[0]
    assert dff_bg[1005] == pytest.approx(1.0, abs=0.01)


def test_running_percentile_whole_trace_when_window_is_zero():
    X = np.arange(100.0)[None]
    assert np.allclose(running_percentile(X, 0, 50), 49.5)


# ---------------------------------------------------------------------------------- footprints

def test_footprint_shapes():
    disk = (_blob((41, 41), (20, 25), 20) > 0.5).astype(float)
    line = np.zeros((41, 41))
    line[20, 5:35] = 1
    A = sp.csc_matrix(np.column_stack([disk.ravel(), line.ravel()]))
    cen = centroids(A, (41, 41))
    assert np.allclose(cen[0], (20, 25), atol=1e-6)
    assert areas(A)[1] == 30
    comp = compactness(A, (41, 41))
    assert comp[0] > 0.95 and comp[1] < 0.2
    square = np.zeros((6, 7), bool)
    square[1:4, 2:5] = True
    (loop,) = outline(square)
    assert np.array_equal(loop[0], loop[-1]) and len(loop) == 13
    assert loop[:, 0].min() == 0.5 and loop[:, 0].max() == 3.5 and loop[:, 1].min() == 1.5
    cont = contours(A, (41, 41))
    assert len(cont) == 2 and len(cont[1]) == 1

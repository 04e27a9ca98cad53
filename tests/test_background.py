"""The background interface: the low-rank model is today's b f unchanged; the ring model (CNMF-E)
explains a one-photon background from its ring; both go through plain arrays and the session file."""

import numpy as np
import pytest
import scipy.sparse as sp

from cnmf_gui.engine.background import (BackgroundModel, LowRankBackground, RingBackground, SubtractedMovie,
                                        from_result, to_result)
from cnmf_gui.engine.spatial import update_spatial
from cnmf_gui.engine.temporal import update_temporal
from cnmf_gui.params import PipelineParams


def test_low_rank_renders_b_f_and_subtracts_it():
    rng = np.random.default_rng(0)
    H, W, T, nb = 6, 7, 20, 2
    b, f = rng.random((H * W, nb)), rng.random((nb, T))
    model = LowRankBackground(b, f, (H, W))
    assert isinstance(model, BackgroundModel) and model.model == "low_rank"
    np.testing.assert_allclose(model.render(3, 9), (b @ f[:, 3:9]).T.reshape(6, H, W), rtol=1e-6)
    np.testing.assert_allclose(model.render(3, 9, pixel_major=True), b @ f[:, 3:9], rtol=1e-6)
    frames = rng.random((6, H, W)).astype(np.float32)
    np.testing.assert_allclose(model.subtract(frames, 3), frames - model.render(3, 9), rtol=1e-6)
    back = from_result(to_result(model, T), (H, W))
    np.testing.assert_array_equal(back.b, b)
    np.testing.assert_array_equal(back.f, f)


def test_low_rank_updates_are_the_batch_fit_steps():
    """The interface's HALS steps for b and f are the ones update_spatial/update_temporal take
    (no components: the background is all there is to fit)."""
    rng = np.random.default_rng(1)
    P, T, nb = 30, 50, 2
    Y = rng.random((P, T))
    b0, f = rng.random((P, nb)), rng.random((nb, T))
    masks = sp.csc_matrix((P, 0))
    C = np.zeros((0, T))
    _, b_ref = update_spatial(np.zeros(0), masks, b0, C, f, np.zeros(0), Y @ f.T, n_sweeps=1)
    model = LowRankBackground(b0.copy(), f, (5, 6))
    model.update_spatial(Y @ f.T, np.zeros((P, nb)), f @ f.T)
    np.testing.assert_allclose(model.b, b_ref, rtol=1e-12)
    deconv = PipelineParams().deconvolution
    tr = update_temporal(np.zeros((0, T)), sp.csr_matrix((0, 0)), np.zeros((0, nb)), C, b_ref.T @ Y,
                         b_ref.T @ b_ref, f, deconv)
    model.update_temporal(b_ref.T @ Y, np.zeros((nb, T)), b_ref.T @ b_ref)
    np.testing.assert_allclose(model.f, tr.f, rtol=1e-12)


def _smooth_background(rng, T, H, W, n_blobs=6, sigma=14.0):
    """A one-photon-like background: broad blobs with their own slow time courses, plus a
    static pattern (vessels) that only the constant can explain."""
    rr, cc = np.mgrid[:H, :W]
    out = np.zeros((T, H, W), np.float32)
    for _ in range(n_blobs):
        r0, c0 = rng.uniform(0, H), rng.uniform(0, W)
        blob = np.exp(-((rr - r0) ** 2 + (cc - c0) ** 2) / (2 * sigma ** 2))
        course = np.convolve(rng.standard_normal(T + 40), np.ones(20) / 20, "same")[20:T + 20]
        out += (blob[None] * (1.0 + course[:, None, None])).astype(np.float32)
    static = 3.0 + 2.0 * (np.abs(cc - 0.7 * rr - 10) < 2)
    return out * 20 + static[None].astype(np.float32)


def test_ring_model_explains_a_smooth_fluctuating_background():
    rng = np.random.default_rng(2)
    T, H, W = 300, 48, 56
    Y = _smooth_background(rng, T, H, W) + rng.normal(0, 0.3, (T, H, W)).astype(np.float32)
    model = RingBackground((H, W), radius=9.0, factor=2)
    model.set_constant(Y.mean(axis=0))
    stats = model.new_statistics()
    for a in range(0, T, 64):
        model.accumulate(stats, Y[a:a + 64])
    model.solve(stats)
    B = np.concatenate([model.render(a, a + 64, frames=Y[a:a + 64]) for a in range(0, T, 64)])
    fluct = Y - Y.mean(axis=0)
    explained = 1 - np.var(Y - B) / np.var(fluct)
    assert explained > 0.95
    # no weight on the pixel itself or inside the ring: a pixel's own neuron never explains itself
    P = model.W.shape[0]
    assert np.all(model.W.diagonal() == 0) and model.W.nnz <= P * len(model.offsets)


def test_ring_model_round_trips_through_plain_arrays():
    rng = np.random.default_rng(3)
    T, H, W = 120, 40, 44
    Y = _smooth_background(rng, T, H, W)
    model = RingBackground((H, W), radius=8.0, factor=2)
    model.set_constant(Y.mean(axis=0))
    stats = model.new_statistics()
    model.accumulate(stats, Y)
    model.solve(stats)
    res = to_result(model, T)
    assert res.model == "ring" and res.b.shape == (H * W, 0) and res.f.shape == (0, T)
    back = from_result(res, (H, W))
    np.testing.assert_allclose(back.render(0, 10, frames=Y[:10]), model.render(0, 10, frames=Y[:10]), rtol=1e-5)
    sub = SubtractedMovie(Y, back)
    np.testing.assert_allclose(sub[5:9], Y[5:9] - model.render(5, 9, frames=Y[5:9]), rtol=1e-5, atol=1e-4)


def test_ring_radius_larger_than_the_frame_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        RingBackground((30, 40), radius=25.0)


def test_session_file_keeps_the_ring_model(tmp_path):
    from cnmf_gui.io.session_file import load_session, save_session
    from cnmf_gui.results import SessionData

    rng = np.random.default_rng(4)
    T, H, W = 60, 32, 36
    Y = _smooth_background(rng, T, H, W)
    model = RingBackground((H, W), radius=7.0, factor=2)
    model.set_constant(Y.mean(axis=0))
    stats = model.new_statistics()
    model.accumulate(stats, Y)
    model.solve(stats)
    data = SessionData(movie_path=None, movie_shape=(T, H, W), background=to_result(model, T))
    path = tmp_path / "s.h5"
    save_session(data, path)
    back = load_session(path).background
    assert back.model == "ring"
    again = from_result(back, (H, W))
    np.testing.assert_allclose(again.render(0, 5, frames=Y[:5]), model.render(0, 5, frames=Y[:5]), rtol=1e-5)


def test_two_photon_fit_returns_its_b_f_behind_the_interface():
    from cnmf_gui.engine.pipeline import run_cnmf
    from cnmf_gui.synthetic.legacy import make_movie

    s = make_movie(n_frames=200, shape=(40, 40), n_neurons=5, seed=5)
    comps, bg, _ = run_cnmf(s.movie, PipelineParams(frame_rate=30.0))
    assert bg.model == "low_rank" and bg.b.shape[1] == 1
    model = from_result(bg, (40, 40))
    np.testing.assert_allclose(model.render(0, 200, pixel_major=True), bg.b @ bg.f, rtol=1e-6)


def test_ring_grid_block_means_and_linear_upsampling():
    """Block means by hand (the last, shorter blocks too), and linear interpolation that keeps
    a plane exactly between block centres and constants everywhere."""
    from cnmf_gui.engine.background.ring_grid import Grid

    rng = np.random.default_rng(4)
    X = rng.random((3, 7, 9)).astype(np.float32)
    g = Grid((7, 9), 3)
    D = g.down(X)
    assert D.shape == (3, 3, 3) and g.coarse == (3, 3)
    np.testing.assert_allclose(D[:, 0, 0], X[:, :3, :3].mean(axis=(1, 2)), rtol=1e-6)
    np.testing.assert_allclose(D[:, 2, 2], X[:, 6:, 6:].mean(axis=(1, 2)), rtol=1e-6)   # a 1 x 3 block
    np.testing.assert_allclose(g.up(np.full((2, 3, 3), 5.0, np.float32)), 5.0, rtol=1e-6)
    g2 = Grid((16, 16), 2)
    rr, cc = np.mgrid[:16, :16]
    plane = (2.0 * rr - 0.5 * cc + 3)[None].astype(np.float32)
    back = g2.up(g2.down(plane))
    np.testing.assert_allclose(back[0, 1:15, 1:15], plane[0, 1:15, 1:15], atol=1e-4)

"""Known-answer tests of the ground-truth synthetic movies."""

import numpy as np
import pytest
from scipy import ndimage

from cnmf_gui.synthetic import ar_coefficients, make_movie, make_session, simulate_calcium


def test_seeded_and_deterministic():
    a = make_movie(n_frames=40, shape=(48, 48), n_neurons=5, seed=3)
    b = make_movie(n_frames=40, shape=(48, 48), n_neurons=5, seed=3)
    c = make_movie(n_frames=40, shape=(48, 48), n_neurons=5, seed=4)
    np.testing.assert_array_equal(a.movie, b.movie)
    assert not np.array_equal(a.movie, c.movie)


@pytest.mark.parametrize("ar_order", [1, 2])
def test_traces_follow_their_ar_model(ar_order):
    s = make_movie(n_frames=400, shape=(48, 48), n_neurons=4, ar_order=ar_order, seed=1)
    assert s.g.shape == (s.n_neurons, ar_order)
    for k in range(s.n_neurons):
        c, g = s.traces[k].astype(float), s.g[k]
        resid = c.copy()
        for i, gi in enumerate(g):
            resid[i + 1:] -= gi * c[:-(i + 1)]
        np.testing.assert_allclose(resid, s.spikes[k], atol=1e-4)
        assert (s.spikes[k] >= 0).all()
        # spikes happen exactly where the Poisson counts say
        np.testing.assert_array_equal(s.spikes[k] > 0, s.spike_counts[k] > 0)


def test_ar_coefficients_match_kernel_time_constants():
    g = ar_coefficients(30.0, 0.5)
    assert g[0] == pytest.approx(np.exp(-1 / 15))
    g2 = ar_coefficients(30.0, 0.5, 0.05)
    kernel = simulate_calcium(np.r_[1.0, np.zeros(200)], g2)
    # a difference of exponentials: rises, peaks after a few frames, decays with tau_decay
    assert 1 <= np.argmax(kernel) <= 6
    assert kernel[120] / kernel[90] == pytest.approx(np.exp(-30 / 15), rel=1e-3)


def test_footprints_are_somata_with_overlaps():
    s = make_movie(n_frames=10, shape=(96, 96), n_neurons=40, neuron_radius=4, min_distance=1.4, seed=2)
    areas = (s.footprints > 0.2).sum(axis=(1, 2))
    assert np.all(areas > np.pi * 2.5 ** 2) and np.all(areas < np.pi * 7 ** 2)
    assert np.allclose(s.footprints.max(axis=(1, 2)), 1.0)
    support = (s.footprints > 0).reshape(s.n_neurons, -1).astype(int)
    overlapping_pairs = np.triu(support @ support.T, 1) > 0
    assert overlapping_pairs.sum() >= 3
    # centres are where the footprints are
    com = np.array([ndimage.center_of_mass(f) for f in s.footprints])
    assert np.abs(com - s.centers).max() < 1.5


def test_rigid_truth_shifts_align_frames():
    """Applying the stored correction to raw frames makes a static scene static again."""
    s = make_movie(n_frames=30, shape=(64, 64), n_neurons=0, noise=0.0, shot_noise_gain=0.0,
                   motion="rigid", max_shift=4.0, seed=5)
    assert np.abs(s.shifts).max() > 1.0
    f = s.background[1][0]
    corrected = np.stack([ndimage.shift(s.movie[t] / f[t], s.shifts[t], order=3) for t in range(30)])
    inner = corrected[:, 8:-8, 8:-8]
    spread = inner.std(axis=0).mean() / inner.mean()
    raw_spread = (s.movie / f[:, None, None])[:, 8:-8, 8:-8].std(axis=0).mean() / inner.mean()
    assert spread < 0.02 < raw_spread


def test_nonrigid_field_varies_across_the_frame():
    s = make_movie(n_frames=20, shape=(64, 64), n_neurons=3, motion="nonrigid", max_shift=2.0,
                   deformation=1.5, seed=6)
    field = s.shift_field
    assert field.shape == (20, 64, 64, 2)
    assert field[:, :, :, 0].std(axis=(1, 2)).max() > 0.3
    np.testing.assert_allclose(field.mean(axis=(1, 2)), s.shifts, atol=1.6)


def test_noise_level_is_as_reported():
    s = make_movie(n_frames=400, shape=(48, 48), n_neurons=0, noise=0.3, shot_noise_gain=0.0, seed=7)
    # frame-to-frame differences of a slowly varying scene are noise * sqrt(2)
    est = np.diff(s.movie, axis=0).std() / np.sqrt(2)
    assert est == pytest.approx(0.3, rel=0.05)
    assert s.noise_sigma == pytest.approx(0.3)


def test_make_session_is_consistent(tmp_path):
    session, synth = make_session(n_frames=50, shape=(40, 40), n_neurons=4, folder=tmp_path)
    comps = session.components
    assert comps.A.shape == (40 * 40, synth.n_neurons)
    assert comps.C.shape == (synth.n_neurons, 50)
    np.testing.assert_array_equal(np.load(session.movie_path), synth.movie)
    assert session.summary.correlation.shape == (40, 40)
    assert set(np.unique(comps.status)) <= {0}


def test_bad_arguments():
    with pytest.raises(ValueError, match="motion"):
        make_movie(n_frames=5, motion="wobbly")
    with pytest.raises(ValueError, match="ar_order"):
        make_movie(n_frames=5, ar_order=3)

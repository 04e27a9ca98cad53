"""Known-answer tests of CNMF on synthetic movies: neurons found, traces and spikes recovered."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.pipeline import run_cnmf
from cnmf_gui.params import PipelineParams
from cnmf_gui.synthetic import make_movie
from tests.cnmf_scoring import score

# three movies that differ in density, SNR and overlap (each a few seconds)
MOVIES = {
    "sparse": dict(n_frames=800, shape=(80, 80), n_neurons=20, noise=0.25, min_distance=1.6, seed=11),
    "dense_overlapping": dict(n_frames=800, shape=(80, 80), n_neurons=45, noise=0.3, min_distance=1.0,
                              seed=12),
    "low_snr": dict(n_frames=1000, shape=(80, 80), n_neurons=20, noise=0.7, seed=13),
}


@pytest.fixture(scope="module", params=sorted(MOVIES))
def fitted(request):
    synth = make_movie(**MOVIES[request.param])
    params = PipelineParams(frame_rate=synth.frame_rate)
    comps, background, summary = run_cnmf(synth.movie, params)
    return request.param, synth, comps, background, summary


def test_neurons_are_found_one_to_one(fitted):
    name, synth, comps, _, _ = fitted
    s = score(comps, synth)
    assert s["f1"] >= 0.9, (name, s)


def test_traces_follow_the_true_calcium(fitted):
    name, synth, comps, _, _ = fitted
    s = score(comps, synth)
    assert s["trace_corr"] >= 0.95, (name, s)
    assert s["spike_corr"] >= 0.8, (name, s)


def test_result_is_consistent(fitted):
    _, synth, comps, background, summary = fitted
    T, H, W = synth.movie.shape
    K = comps.n_components
    assert comps.A.shape == (H * W, K)
    assert comps.A.min() >= 0 and comps.C.min() >= 0
    assert np.allclose(np.sqrt(comps.A.multiply(comps.A).sum(axis=0)), 1.0)
    for name in ("C", "S", "F", "dff"):
        arr = getattr(comps, name)
        assert arr.shape == (K, T) and np.all(np.isfinite(arr)), name
    assert list(comps.ids) == list(range(K))
    assert set(np.unique(comps.status)) <= {-1, 0, 1, 2}
    assert len(comps.reason) == K and all(comps.reason[comps.status != 1])
    assert background.b.shape[0] == H * W and background.f.shape[1] == T
    assert summary.correlation.shape == (H, W)


def test_seeds_are_honoured():
    synth = make_movie(n_frames=600, shape=(64, 64), n_neurons=8, min_distance=3.0, firing_rate=1.0,
                       seed=21)
    seeds = synth.centers[:3]
    comps, _, _ = run_cnmf(synth.movie, PipelineParams(), seeds=seeds)
    assert comps.n_components == 3
    from cnmf_gui.engine.footprints import centroids
    found = centroids(comps.A, (64, 64))
    # each seed gives the component of the neuron under it
    dist = np.linalg.norm(found[:, None] - seeds[None], axis=2)
    assert np.all(dist.min(axis=0) < 2.0)


def test_target_number_of_components_is_respected():
    synth = make_movie(n_frames=400, shape=(64, 64), n_neurons=12, seed=22)
    params = PipelineParams().replace("init", n_components=5)
    comps, _, _ = run_cnmf(synth.movie, params)
    assert 1 <= comps.n_components <= 5

"""Known answers of the benchmark scorer (benchmarks/scoring.py) on realistic synthetic truth."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy import ndimage

from benchmarks.scoring import (detection_scores, match_components, shift_errors, trace_scores,
                                truth_in_template)
from cnmf_gui.synthetic import make_realistic_movie


@pytest.fixture(scope="module")
def synth():
    return make_realistic_movie(n_frames=200, shape=(64, 72), n_cells=12, radius_range=(3.0, 6.0),
                                silent_fraction=0.25, motion_px=0.0, seed=21)


def test_shift_errors_ignore_the_template_offset_and_count_bad_frames():
    rng = np.random.default_rng(0)
    truth = rng.normal(0, 2, (100, 2))
    est = truth + [1.5, -0.7]                       # another template: a constant offset
    est[[10, 50]] += [[3.0, 0.0], [0.0, -0.6]]      # two frames wrong
    e = shift_errors(est, truth)
    np.testing.assert_allclose(e["offset"], [1.5, -0.7])
    assert e["n_over_half"] == 2 and e["worst"] == pytest.approx(3.0) and e["worst_frame"] == 10
    assert e["rmse"] == pytest.approx(np.sqrt((9 + 0.36) / 100))


def test_truth_itself_scores_perfectly_and_silent_cells_are_not_required(synth):
    K = synth.n_neurons
    A = sp.csc_matrix(synth.footprints.reshape(K, -1).T)
    active = synth.active
    pairs, cos = match_components(A, synth.footprints, synth.radii)
    assert len(pairs) == K and np.all(pairs[:, 0] == pairs[:, 1]) and np.allclose(cos, 1.0)
    full = detection_scores(pairs, K, active)
    assert full["f1"] == 1.0 and full["n_silent_found"] == (~active).sum()
    # only the active cells found: still perfect (nobody can be asked to find silent cells)
    idx = np.nonzero(active)[0]
    pairs, _ = match_components(A[:, idx], synth.footprints, synth.radii)
    assert detection_scores(pairs, len(idx), active)["f1"] == 1.0
    # half of the active cells found, plus as many fragments of noise: F1 = 0.5
    half = idx[: len(idx) // 2]
    rng = np.random.default_rng(1)
    junk = sp.csc_matrix(rng.random((A.shape[0], len(half))) * (rng.random((A.shape[0], len(half))) > 0.99))
    pairs, _ = match_components(sp.hstack([A[:, half], junk]).tocsc(), synth.footprints, synth.radii)
    d = detection_scores(pairs, 2 * len(half), active)
    assert d["precision"] == pytest.approx(0.5) and d["recall"] == pytest.approx(len(half) / len(idx))


def test_a_fragment_or_a_neighbour_is_not_a_match(synth):
    """A footprint moved by more than the cell's radius does not match; a small piece of the
    ring on one side has its centroid too far off."""
    k = int(np.argmax(synth.radii))
    f = synth.footprints[k]
    moved = ndimage.shift(f, (0, synth.radii[k] * 1.6), order=1)
    pairs, _ = match_components(moved.reshape(-1, 1), synth.footprints[k:k + 1], synth.radii[k:k + 1])
    assert len(pairs) == 0
    pairs, _ = match_components(f.reshape(-1, 1), truth_in_template(synth.footprints[k:k + 1], (0.0, 0.0)),
                                synth.radii[k:k + 1])
    assert len(pairs) == 1


def test_trace_scores_use_active_pairs_and_forgive_one_frame(synth):
    K = synth.n_neurons
    pairs = np.column_stack([np.arange(K), np.arange(K)])
    late = np.roll(synth.spikes, 1, axis=1)
    r = trace_scores(pairs, synth.active, synth.traces, synth.spikes, C=synth.traces, S=late)
    assert r["r_C"] == pytest.approx(1.0)
    assert len(r["r_C_all"]) == synth.active.sum()
    assert 0.4 < r["r_S"] < 1.0       # half of each 2-frame window still lines up

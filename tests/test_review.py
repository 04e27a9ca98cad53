"""Components a person would accept: duplicates, fragments, silent somata and the reasons given."""

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.duplicates import find_duplicates
from cnmf_gui.engine.evaluation import classify
from cnmf_gui.engine.silent_cells import find_silent_somata
from cnmf_gui.params import EvalParams

H, W = 48, 48
YY, XX = np.mgrid[:H, :W]


def _disc(r0, c0, radius):
    d = np.hypot(YY - r0, XX - c0)
    return np.clip(radius + 0.5 - d, 0, 1).ravel()


def _A(*columns):
    A = np.column_stack(columns)
    return sp.csc_matrix(A / np.linalg.norm(A, axis=0))


def _trace(rng, T=400, rate=0.03):
    s = (rng.random(T) < rate) * rng.uniform(0.5, 1.5, T)
    c = np.zeros(T)
    for t in range(T):
        c[t] = (0.9 * c[t - 1] if t else 0.0) + s[t]
    return c


def test_two_components_on_one_cell_the_weaker_is_the_duplicate():
    rng = np.random.default_rng(0)
    a = _disc(20, 20, 5)
    b = _disc(21, 21, 4.5)                       # the same cell, shifted by a pixel
    other = _disc(20, 34, 5)                     # a neighbour, touching
    C = np.vstack([_trace(rng), _trace(rng), _trace(rng)])
    dup, frag = find_duplicates(_A(a, b, other), C, np.array([10.0, 20.0, 15.0]), (H, W), 5.0)
    assert np.isnan(dup[1]) and dup[0] == 1 and np.isnan(dup[2])
    assert np.all(np.isnan(frag))
    # the kept one cannot itself be rejected: then nothing is a duplicate of it
    dup, _ = find_duplicates(_A(a, b, other), C, np.array([10.0, 20.0, 15.0]), (H, W), 5.0,
                             eligible=np.array([True, False, True]))
    assert np.isnan(dup[0]) and dup[1] == 0


def test_a_small_piece_with_the_cells_activity_is_a_fragment_one_with_its_own_is_not():
    rng = np.random.default_rng(1)
    cell = _disc(20, 20, 5)
    piece = _disc(20, 27, 1.5)                   # at the cell's edge, far smaller than a soma
    c = _trace(rng)
    own = _trace(rng)
    noise = rng.normal(0, 0.05, (2, len(c)))
    dup, frag = find_duplicates(_A(cell, piece), np.vstack([c, 0.3 * c + noise[0]]),
                                np.array([20.0, 5.0]), (H, W), 5.0)
    assert frag[1] == 0 and np.isnan(frag[0]) and np.all(np.isnan(dup))
    _, frag = find_duplicates(_A(cell, piece), np.vstack([c, own + noise[1]]),
                              np.array([20.0, 5.0]), (H, W), 5.0)
    assert np.all(np.isnan(frag))


def test_silent_somata_of_the_mean_image_get_footprints():
    rng = np.random.default_rng(2)
    centres = [(12, 12), (12, 34), (34, 12), (34, 34), (23, 23)]
    mean = 1.0 + rng.normal(0, 0.02, H * W)
    for r0, c0 in centres:
        mean += 2.0 * _disc(r0, c0, 4)
    mean = mean.reshape(H, W)
    A = _A(_disc(12, 12, 4), _disc(34, 34, 4), _disc(23, 23, 4))  # three active cells found, two silent not
    new = find_silent_somata(mean, A, 4.0)
    assert new.shape == (H * W, 2)
    found = sorted(tuple(int(round(v)) for v in np.divmod(int(np.argmax(new[:, k].toarray())), W))
                   for k in range(2))
    centre_of = [np.array(np.divmod(np.flatnonzero(new[:, k].toarray().ravel() > 0), W)).mean(axis=1)
                 for k in range(2)]
    assert sorted((round(r), round(c)) for r, c in centre_of) == [(12, 34), (34, 12)], found
    # unit norm, non-negative, about a soma's area
    assert np.allclose(sp.linalg.norm(new, axis=0), 1.0) and new.min() >= 0
    assert all(30 <= new[:, k].nnz <= 110 for k in range(2))
    # every soma covered: nothing new; fewer than three active cells: nothing to learn from
    assert find_silent_somata(mean, _A(*(_disc(r, c, 4) for r, c in centres)), 4.0).shape[1] == 0
    assert find_silent_somata(mean, _A(_disc(12, 12, 4), _disc(34, 34, 4)), 4.0).shape[1] == 0


def test_every_automatic_decision_has_its_reason():
    K = 9
    m = {"snr": np.array([10, 10, 10, 10, 0.5, 10, 1.5, 10, 10.0]),
         "r_value": np.array([0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.9]),
         "area": np.array([50, 50, 5, 50, 50, 20, 50, 50, 50.0]),
         "compactness": np.array([0.9, 0.9, 0.9, 0.45, 0.9, 0.9, 0.9, 0.9, 0.9]),
         "from_mean_image": np.array([0, 0, 0, 0, 0, 0, 1, 0, 0.0]),
         "duplicate_of": np.array([np.nan, 0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan]),
         "fragment_of": np.array([np.nan] * 8 + [0.0])}
    status, reasons = classify(m, EvalParams(), neuron_radius=4.0, explain=True)   # disc ~50 px
    assert status.tolist() == [1, -1, -1, 0, -1, 0, 2, -1, -1]
    assert list(reasons) == ["", "duplicate of 0", "too small", "irregular shape", "low SNR",
                             "smaller than a soma", "inactive: no events", "low spatial consistency",
                             "fragment of 0"]
    assert classify(m, EvalParams(), neuron_radius=4.0).tolist() == status.tolist()
    assert len(reasons) == K


def test_one_click_run_estimates_the_radius_and_marks_silent_somata_inactive():
    """Default parameters: the radius comes from the movie and is stored; two bright somata
    that never fire get inactive components; every non-accepted component says why."""
    from cnmf_gui.engine.pipeline import run_pipeline
    from cnmf_gui.params import PipelineParams
    from cnmf_gui.results import STATUS_INACTIVE
    from cnmf_gui.synthetic import make_movie

    synth = make_movie(n_frames=400, shape=(64, 64), n_neurons=8, neuron_radius=4.0, seed=5,
                       min_distance=2.5)
    movie = synth.movie.copy()
    yy, xx = np.mgrid[:64, :64]
    taken = synth.footprints.sum(axis=0) > 0.05
    silent = []
    for r0, c0 in [(r, c) for r in range(12, 53, 4) for c in range(12, 53, 4)]:
        disc = np.hypot(yy - r0, xx - c0) <= 3.5
        if not np.any(taken[np.hypot(yy - r0, xx - c0) <= 7]) and len(silent) < 2:
            movie += (0.6 * np.clip(4.0 - np.hypot(yy - r0, xx - c0), 0, 1))[None].astype(movie.dtype)
            silent.append((r0, c0))
            taken |= disc
    assert len(silent) == 2
    params = PipelineParams(frame_rate=30.0).replace("motion", enabled=False)
    data = run_pipeline(movie, params)
    r = data.params.init.neuron_radius
    assert 2.8 <= r <= 4.8, r
    comps = data.components
    inactive = np.flatnonzero(comps.status == STATUS_INACTIVE)
    for r0, c0 in silent:   # each silent soma lies in an inactive footprint
        assert any(comps.A[r0 * 64 + c0, k] > 0 for k in inactive), (r0, c0)
    assert all(comps.reason[k] == "inactive: no events" for k in inactive)
    assert all(comps.reason[k] for k in np.flatnonzero(comps.status != 1))
    assert np.sum(comps.status == 1) >= 7


def test_new_ids_keep_the_reasons_and_references_right():
    from cnmf_gui.results import Components
    K, T = 3, 5
    comps = Components(A=sp.identity(9, format="csc")[:, :K], C=np.zeros((K, T)), S=np.zeros((K, T)),
                       F=np.zeros((K, T)), dff=np.zeros((K, T)), baseline=np.zeros(K), sn=np.ones(K),
                       epsilon=np.zeros(K), g=np.zeros((K, 1)), status=np.array([1, -1, -1]),
                       ids=np.arange(K), reason=["", "duplicate of 0", "fragment of 0"],
                       metrics={"duplicate_of": np.array([np.nan, 0, np.nan]),
                                "fragment_of": np.array([np.nan, np.nan, 0])})
    new = comps.with_ids([40, 41, 42])
    assert list(new.ids) == [40, 41, 42]
    assert list(new.reason) == ["", "duplicate of 40", "fragment of 40"]
    assert new.metrics["duplicate_of"][1] == 40 and new.metrics["fragment_of"][2] == 40
    assert list(comps.reason) == ["", "duplicate of 0", "fragment of 0"]   # the original is unchanged

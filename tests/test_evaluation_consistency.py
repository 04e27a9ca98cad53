"""Spatial consistency (r_value) of footprints against a synthetic movie with known cells."""

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.evaluation import classify, spatial_consistency
from cnmf_gui.params import EvalParams

H, W, T = 32, 40, 1500
YY, XX = np.mgrid[:H, :W]


def _disc(r0, c0, radius):
    return np.clip(radius + 0.5 - np.hypot(YY - r0, XX - c0), 0, 1).ravel()


def _calcium(spikes, g=0.9):
    c = np.zeros(len(spikes))
    for t, s in enumerate(spikes):
        c[t] = (g * c[t - 1] if t else 0.0) + s
    return c


def test_a_neighbour_firing_with_a_cell_lowers_its_r_value_but_not_the_demixed_one():
    rng = np.random.default_rng(0)
    a, b = _disc(16, 12, 4), _disc(16, 21, 4)                # touching neighbours
    s_a = (rng.random(T) < 0.02) * rng.uniform(0.5, 1.5, T)
    # the neighbour fires in most of the cell's bursts (stronger) and on its own
    s_b = 2.0 * s_a * (rng.random(T) < 0.8) + (rng.random(T) < 0.01) * rng.uniform(0.5, 1.5, T)
    c_a, c_b = _calcium(s_a), _calcium(s_b)
    movie = (1.0 + np.outer(c_a, a) + np.outer(c_b, b) + rng.normal(0, 0.2, (T, H * W))).reshape(T, H, W)
    A = sp.csc_matrix(np.column_stack([a, b]) / np.linalg.norm([a, b], axis=1))
    C = np.vstack([c_a * np.linalg.norm(a), c_b * np.linalg.norm(b)])
    mean = movie.mean(axis=0)
    r, r_dem = spatial_consistency(movie, A, C, mean, demixed=True)
    assert r[0] < 0.8                       # the neighbour's light counts against the cell
    assert r_dem[0] > 0.95 and r_dem[1] > 0.95
    assert np.allclose(spatial_consistency(movie, A, C, mean), r)
    # a footprint that is not where the light is stays inconsistent, demixed or not
    wrong = sp.hstack([A, sp.csc_matrix(_disc(16, 33, 4)[:, None] / np.linalg.norm(_disc(16, 33, 4)))]).tocsc()
    r3, r3_dem = spatial_consistency(movie, wrong, np.vstack([C, C[0]]), mean, demixed=True)
    assert r3_dem[2] < 0.5 and r3[2] < 0.5


def test_the_demixed_route_accepts_only_a_near_perfect_match():
    metrics = {"snr": np.full(4, 10.0), "r_value": np.array([0.9, 0.6, 0.6, 0.6]),
               "r_value_demixed": np.array([0.9, 0.97, 0.9, np.nan]), "area": np.full(4, 80.0),
               "compactness": np.full(4, 0.9)}
    status, reasons = classify(metrics, EvalParams(), explain=True)
    assert status.tolist() == [1, 1, 0, 0] and reasons[2] == "r_value below min_r_value"
    assert classify(metrics, EvalParams(min_r_value_demixed=0.0)).tolist() == [1, 0, 0, 0]
    # it does not save what is rejected for its r_value
    metrics["r_value"] = np.array([0.9, 0.1, 0.6, 0.6])
    assert classify(metrics, EvalParams()).tolist()[1] == -1

"""'Smaller than a soma' is judged against the somata found, not only the radius estimate."""

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.engine.evaluation import MIN_AREA_REFERENCE, classify, soma_area
from cnmf_gui.engine.footprints import areas, compactness
from cnmf_gui.params import EvalParams


def _blurred_discs(radii, seed):
    """Footprints of somata of the given radii, blurred by the optics (sigma 0.6 px), each in
    its own 41 x 41 field, as a (41*41, K) matrix."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:41, :41]
    cols = []
    for r in radii:
        c = 20 + rng.uniform(-0.5, 0.5, 2)
        img = (np.hypot(yy - c[0], xx - c[1]) <= r).astype(float)
        cols.append(ndimage.gaussian_filter(img, 0.6).ravel())
    return sp.csc_matrix(np.column_stack(cols))


def _metrics(A):
    K = A.shape[1]
    return {"snr": np.full(K, 20.0), "r_value": np.full(K, 0.95), "area": areas(A),
            "compactness": compactness(A, (41, 41))}


def test_cells_at_the_small_end_of_the_population_are_accepted_under_a_high_radius_estimate():
    """Somata of radius 4 to 6.5 px (as in the sweep's movie A) and pieces of radius 2: with a radius
    estimate 13 % above the population's typical shape (the high end measured on the sweep) the
    disc calls the smallest cells "smaller than a soma"; the somata's own median area does not,
    and still holds back the pieces."""
    for seed in range(3):
        cells = np.linspace(4.0, 6.5, 30)                 # movie A's spread of radii
        pieces = np.full(4, 2.0)
        A = _blurred_discs(np.r_[cells, pieces], seed)
        m = _metrics(A)
        typical = np.sqrt(np.median(m["area"][:30]) / np.pi)
        high = 1.13 * typical
        # the old rule (the estimate's disc) loses the smallest cells ...
        assert np.all(m["area"][:2] < 0.5 * np.pi * high ** 2), m["area"][:2]
        status, reasons = classify(m, EvalParams(), neuron_radius=high, explain=True)
        # ... the somata's own areas keep them
        assert np.all(status[:30] == 1), (seed, reasons[:30])
        assert np.all(status[30:] != 1) and set(reasons[30:]) <= {"smaller than a soma", "too small"}


def test_too_few_somata_fall_back_to_the_disc():
    area = np.array([40.0, 50.0, 60.0])
    somata = np.ones(3, bool)
    assert soma_area(area, somata, 100.0) == 100.0
    area = np.linspace(40.0, 80.0, MIN_AREA_REFERENCE)
    assert soma_area(area, np.ones(MIN_AREA_REFERENCE, bool), 100.0) == np.median(area)
    # the reference is only what every other rule accepts
    somata = np.ones(MIN_AREA_REFERENCE, bool)
    somata[0] = False
    assert soma_area(area, somata, 100.0) == 100.0


def test_pieces_and_rejected_components_do_not_set_the_soma_area():
    """Twenty pieces that fail another rule (irregular) cannot drag the reference down."""
    rng = np.random.default_rng(4)
    A = _blurred_discs(np.r_[rng.uniform(4.5, 5.5, 12), np.full(20, 2.0)], 4)
    m = _metrics(A)
    m["compactness"][12:] = 0.3                          # the pieces are not soma-shaped
    status, reasons = classify(m, EvalParams(), neuron_radius=5.0, explain=True)
    assert np.all(status[:12] == 1)
    assert np.all(status[12:] == -1)
    # the same pieces, compact, are judged against the somata and held back as too small
    m["compactness"][12:] = 0.9
    status, reasons = classify(m, EvalParams(), neuron_radius=5.0, explain=True)
    assert np.all(status[12:] != 1), reasons[12:]

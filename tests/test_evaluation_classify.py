"""Initial status from metrics: sprawling footprints are rejected, compact ones judged by SNR and r."""

import numpy as np

from cnmf_gui.engine.evaluation import classify
from cnmf_gui.params import EvalParams


def test_compactness_rejects_sprawling_footprints_only():
    metrics = {"snr": np.array([10.0, 10.0, 10.0, 10.0]), "r_value": np.array([0.9, 0.9, 0.9, 0.5]),
               "area": np.array([80.0, 80.0, 80.0, 80.0]),
               "compactness": np.array([0.9, 0.2, np.nan, 0.9])}
    status = classify(metrics, EvalParams())
    assert status.tolist() == [1, -1, -1, 0]
    # 0 switches the rule off (and accept_compactness 0 lets irregular shapes be accepted)
    assert classify(metrics, EvalParams(min_compactness=0.0)).tolist() == [1, 0, 0, 0]
    assert classify(metrics, EvalParams(min_compactness=0.0, accept_compactness=0.0)).tolist() == [1, 1, 1, 0]


def test_area_far_beyond_a_soma_is_rejected_when_the_radius_is_known():
    metrics = {"snr": np.array([10.0, 10.0]), "r_value": np.array([0.9, 0.9]),
               "area": np.array([150.0, 250.0]), "compactness": np.array([0.9, 0.9])}
    # radius 4 px: a disc is ~50 px, the limit 4 discs ~201 px
    assert classify(metrics, EvalParams(), neuron_radius=4.0).tolist() == [1, -1]
    assert classify(metrics, EvalParams()).tolist() == [1, 1]  # no radius, no area rule
    assert classify(metrics, EvalParams(max_area_discs=0.0), neuron_radius=4.0).tolist() == [1, 1]


def _image_to_column(img):
    import scipy.sparse as sp
    return sp.csc_matrix(img.reshape(-1, 1))


def test_flatness_tells_a_blurred_bell_from_an_in_focus_soma():
    from scipy import ndimage

    from cnmf_gui.engine.footprints import GAUSSIAN_FLATNESS, flatness

    yy, xx = np.mgrid[-30:31, -30:31].astype(float)
    rho = np.hypot(yy, xx)
    # out-of-focus cells: Gaussian bells of any width score ln 2 / ln 10
    for sigma in (2.5, 3.5, 6.0):
        bell = np.exp(-0.5 * rho ** 2 / sigma ** 2)
        assert abs(flatness(_image_to_column(bell))[0] - GAUSSIAN_FLATNESS) < 0.05   # (pixels)
    # in-focus somata of radius 3 to 10 px, plain or ring-shaped round a dark nucleus, blurred
    # by a point-spread function of 0.5 px and sampled on pixels, score well above it
    for radius in (3.0, 5.0, 10.0):
        disc = (rho <= radius).astype(float)
        ring = disc * (1.0 - 0.6 * (rho <= 0.5 * radius))
        for soma in (disc, ring):
            blurred = ndimage.gaussian_filter(soma, 0.5)
            assert flatness(_image_to_column(blurred))[0] > GAUSSIAN_FLATNESS + 0.1
    assert np.isnan(flatness(_image_to_column(np.zeros((5, 5))))[0])


def test_a_component_blurrier_than_the_movies_somata_is_left_to_the_user_with_its_reason():
    # twelve somata (flatness 0.5 to 0.6), a Gaussian bell (0.28), a profile blurrier than the
    # somata but flatter than a bell (0.35) and one without a flatness
    n = 15
    metrics = {"snr": np.full(n, 10.0), "r_value": np.full(n, 0.9), "area": np.full(n, 80.0),
               "compactness": np.full(n, 0.9),
               "flatness": np.r_[np.linspace(0.5, 0.6, 12), 0.28, 0.35, np.nan]}
    status, reasons = classify(metrics, EvalParams(), explain=True)
    assert status.tolist() == [1] * 12 + [0, 1, 1]
    assert reasons[12] == "blurred: out of focus?"
    # 0 switches the rule off, and metrics without flatness (older sessions) are not judged on it
    assert classify(metrics, EvalParams(accept_flatness=0.0)).tolist() == [1] * n
    assert classify({k: v for k, v in metrics.items() if k != "flatness"}, EvalParams()).tolist() == [1] * n
    # on a movie whose somata are blurred by the optics too (median 0.32, as on mouse2p), a
    # soma at 0.27 is not blurrier than they are, a piece of neuropil at 0.15 is
    metrics["flatness"] = np.r_[np.linspace(0.25, 0.4, 12), 0.27, 0.15, 0.2]
    assert classify(metrics, EvalParams()).tolist() == [1] * 13 + [0, 1]
    # too few components to know what the movie's somata look like: nothing is judged on it
    few = {k: v[12:] for k, v in metrics.items()}
    assert classify(few, EvalParams()).tolist() == [1, 1, 1]


def test_elongation_tells_a_process_from_a_soma():
    import scipy.sparse as sp

    from cnmf_gui.engine.footprints import elongation

    yy, xx = np.mgrid[-20:21, -20:21].astype(float)
    shapes = {"disc": np.hypot(yy, xx) <= 5, "oval 1.5:1": (yy / 6) ** 2 + (xx / 4) ** 2 <= 1,
              "process 8:1": (np.abs(yy) <= 1) & (np.abs(xx) <= 12), "one pixel": (yy == 0) & (xx == 0)}
    A = sp.csc_matrix(np.column_stack([m.astype(float).ravel() for m in shapes.values()]))
    e = dict(zip(shapes, elongation(A, yy.shape)))
    assert e["one pixel"] == 1.0 and e["disc"] < 1.05
    assert 1.4 < e["oval 1.5:1"] < 1.6
    assert e["process 8:1"] > 4
    metrics = {"snr": np.full(3, 10.0), "r_value": np.full(3, 0.9), "area": np.full(3, 80.0),
               "compactness": np.full(3, 0.9), "elongation": np.array([1.0, 1.5, 2.5])}
    status, reasons = classify(metrics, EvalParams(), explain=True)
    assert status.tolist() == [1, 1, 0] and reasons[2] == "elongated: a process?"
    assert classify(metrics, EvalParams(accept_elongation=0.0)).tolist() == [1, 1, 1]

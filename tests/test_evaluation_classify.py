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

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
    # 0 switches the rule off
    assert classify(metrics, EvalParams(min_compactness=0.0)).tolist() == [1, 1, 1, 0]

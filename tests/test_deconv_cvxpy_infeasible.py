"""The CVXPY reference returns the closest fit for an infeasible noise constraint, as the fast
solver does (issue 12 item 9: `run` with {"deconvolution": {"method": "cvxpy"}} raised
RuntimeError "infeasible" with a traceback)."""

import numpy as np

from cnmf_gui.engine.deconvolution import deconvolve


def test_cvxpy_and_fast_agree_when_no_trace_meets_the_constraint():
    T = 200
    # Alternating 0, 10, 0, 10 with a baseline >= 0: calcium with AR(1) g = 0.95 cannot fall
    # from 10 to 0 in a frame, so every fit leaves a residual far above theta = 0.5 sqrt(T).
    y = np.where(np.arange(T) % 2 == 0, 0.0, 10.0)
    kwargs = dict(p=1, g=[0.95], sn=1.0, epsilon=-0.5, baseline="nonneg")
    fast = deconvolve(y, **kwargs)
    ref = deconvolve(y, method="cvxpy", **kwargs)
    assert fast.status == ref.status == "infeasible"
    assert fast.lam == ref.lam == 0.0
    # Both are the closest fit: the same residual (to solver accuracy).
    res_fast = np.linalg.norm(fast.c + fast.b - y)
    res_ref = np.linalg.norm(ref.c + ref.b - y)
    assert res_fast > 0.5 * np.sqrt(T)
    assert abs(res_fast - res_ref) <= 1e-3 * res_fast

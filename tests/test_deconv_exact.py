"""The fast solvers against CVXPY and against the KKT conditions, on random AR traces."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy import signal

from cnmf_gui.engine.deconvolution import deconvolve
from cnmf_gui.engine.deconvolution.kkt import kkt_residuals
from cnmf_gui.engine.deconvolution.reference_cvxpy import ar_operator


def simulate(T, g, sn, rate, baseline, seed):
    """AR(p) calcium from Bernoulli spikes with exponential amplitudes, plus white noise."""
    rng = np.random.default_rng(seed)
    spikes = (rng.random(T) < rate) * rng.exponential(1.0, T)
    calcium = signal.lfilter([1.0], np.concatenate([[1.0], -np.asarray(g)]), spikes)
    return calcium + baseline + sn * rng.standard_normal(T), spikes


def g_from_roots(d, r=None):
    return np.array([d]) if r is None else np.array([d + r, -d * r])


def check_against_cvxpy(y, g, sn, eps, baseline, *, property_test=True):
    fast = deconvolve(y, p=len(g), g=g, sn=sn, epsilon=eps, baseline=baseline)
    if fast.status == "infeasible":
        # The constraint cannot be met: the reference must agree.
        with pytest.raises(RuntimeError, match="infeasible"):
            deconvolve(y, p=len(g), g=g, sn=sn, epsilon=eps, baseline=baseline, method="cvxpy")
    if property_test:
        # Draws where c = 0 already fits, or no c can, have no optimum to compare.
        assume(fast.status == "optimal")
    assert fast.status == "optimal"
    ref = deconvolve(y, p=len(g), g=g, sn=sn, epsilon=eps, baseline=baseline, method="cvxpy")
    theta = fast.theta
    # Feasible to 1e-6 relative, non-negative spikes, s = G c.
    assert np.linalg.norm(fast.c + fast.b - y) <= theta * (1 + 1e-6)
    assert fast.s.min() >= 0
    G = ar_operator(g, y.size)
    np.testing.assert_allclose(G @ fast.c, fast.s, atol=1e-9 * max(1.0, np.abs(fast.s).max()))
    if baseline == "nonneg":
        assert fast.b >= 0
    if baseline == "zero":
        assert fast.b == 0
    obj_fast = fast.s.sum()
    obj_ref = float(np.sum(G @ ref.c))
    assert abs(obj_fast - obj_ref) <= 1e-4 * max(abs(obj_ref), 1e-12), (obj_fast, obj_ref)
    res = kkt_residuals(y, fast.c, fast.b, g, fast.lam, theta,
                        baseline="fixed" if baseline == "zero" else baseline)
    assert all(v < 1e-7 for v in res.values()), res


COMMON = dict(
    T=st.integers(20, 400),
    sn=st.floats(0.05, 1.0),
    eps=st.floats(-0.3, 0.5),
    rate=st.floats(0.005, 0.2),
    offset=st.floats(0.0, 2.0),
    baseline=st.sampled_from(["nonneg", "free", "zero"]),
    seed=st.integers(0, 2**31 - 1),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=st.floats(0.0, 0.99), **COMMON)
def test_ar1_matches_cvxpy(d, T, sn, eps, rate, offset, baseline, seed):
    g = g_from_roots(d)
    y, _ = simulate(T, g, sn, rate, offset, seed)
    check_against_cvxpy(y, g, sn, eps, baseline)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=st.floats(0.5, 0.99), r=st.floats(0.0, 0.7), **COMMON)
def test_ar2_matches_cvxpy(d, r, T, sn, eps, rate, offset, baseline, seed):
    g = g_from_roots(d, min(r, d))
    y, _ = simulate(T, g, sn, rate, offset, seed)
    check_against_cvxpy(y, g, sn, eps, baseline)


@pytest.mark.parametrize("g", [[-0.4], [1.2, -0.5], [0.3, 0.4]], ids=["ar1-negative", "ar2-complex", "ar2-mixed-sign"])
def test_other_stable_kinetics_match_cvxpy(g):
    """Stable but not calcium-like kernels go through the active-set solver; still exact."""
    y, _ = simulate(300, g, 0.3, 0.05, 0.5, 7)
    check_against_cvxpy(y, np.array(g), 0.3, 0.0, "free", property_test=False)


@pytest.mark.parametrize("p", [1, 2])
def test_long_trace_is_exact(p):
    """1e5 frames: the KKT conditions hold to rounding (linear memory, seconds at most)."""
    g = g_from_roots(0.95) if p == 1 else g_from_roots(0.95, 0.5)
    y, _ = simulate(100_000, g, 0.3, 0.03, 0.5, 11)
    res = deconvolve(y, p=p, g=g, sn=0.3)
    assert res.status == "optimal"
    kkt = kkt_residuals(y, res.c, res.b, g, res.lam, res.theta)
    assert all(v < 1e-8 for v in kkt.values()), kkt


def test_lambda_matches_cvxpy_dual():
    """The reported lam is the multiplier of the equivalent penalised problem."""
    g = g_from_roots(0.9)
    y, _ = simulate(300, g, 0.3, 0.05, 0.5, 3)
    fast = deconvolve(y, g=g, sn=0.3)
    ref = deconvolve(y, g=g, sn=0.3, method="cvxpy")
    assert fast.lam == pytest.approx(ref.lam, rel=1e-3)
    assert fast.b == pytest.approx(ref.b, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("start", [(0.0, None), (3.9, -22.0), (100.0, 5.0), (0.0, 1e3), (10.0, -1e3)])
def test_ar1_result_does_not_depend_on_the_starting_point(start):
    """deconvolve_many starts each trace from its neighbour's (lam, b); any start must reach
    the same optimum (a far-off b once stalled on a set of one-frame pools)."""
    from cnmf_gui.engine.deconvolution.ar1 import MODE_FREE, solve_ar1

    y, _ = simulate(3000, [0.94], 1.0, 0.03, 4.0, 21)
    T = y.size
    outs = []
    for lam0, b0 in [(0.0, float(np.mean(y))), (start[0], float(np.mean(y)) if start[1] is None else start[1])]:
        c = np.empty(T)
        s = np.empty(T)
        lam, b, _, status = solve_ar1(y, 0.94, float(T), MODE_FREE, 0.0, lam0, b0, 200, c, s)
        assert status == 0
        outs.append((lam, b, c.copy()))
    assert outs[1][0] == pytest.approx(outs[0][0], rel=1e-10)
    assert outs[1][1] == pytest.approx(outs[0][1], rel=1e-10)
    np.testing.assert_allclose(outs[1][2], outs[0][2], atol=1e-9)

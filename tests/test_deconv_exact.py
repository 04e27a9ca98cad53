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
        # The constraint cannot be met: the reference must agree, both returning the closest fit.
        ref = deconvolve(y, p=len(g), g=g, sn=sn, epsilon=eps, baseline=baseline, method="cvxpy")
        assert ref.status == "infeasible" and ref.lam == 0.0
        r_fast = np.linalg.norm(fast.c + fast.b - y)
        r_ref = np.linalg.norm(ref.c + ref.b - y)
        assert abs(r_fast - r_ref) <= 1e-4 * max(r_ref, 1e-12), (r_fast, r_ref)
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


# --- AR(2) solver internals: the chain fit, Lawson-Hanson at fixed lambda, hard cases ---------

def impulse_matrix(g, T):
    """Dense H = G^{-1} (column t: the calcium of a unit spike at frame t)."""
    return np.linalg.inv(ar_operator(g, T).toarray())


def test_ar2_chain_fit_on_a_given_set_is_least_squares():
    """Fit-only mode (max_iter=1, lam given) equals the dense penalised least-squares fit with
    spikes on that set, for each baseline mode, and agrees with the banded dual solver."""
    from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_FREE
    from cnmf_gui.engine.deconvolution.ar2 import solve_banded
    from cnmf_gui.engine.deconvolution.ar2_dual import solve_dual

    g = g_from_roots(0.93, 0.4)
    T = 240
    y, _ = simulate(T, g, 0.3, 0.05, 0.7, 17)
    rng = np.random.default_rng(4)
    active = (rng.random(T) < 0.15).astype(np.uint8)
    active[[0, 1, 2, T - 1]] = 1  # spikes at both ends and adjacent ones
    S = np.flatnonzero(active)
    HS = impulse_matrix(g, T)[:, S]
    lam = 0.8
    for mode, b_fixed in [(MODE_FIXED, 0.3), (MODE_FREE, 0.0)]:
        c = np.empty(T)
        s = np.empty(T)
        _, b, _, status = solve_banded(y, g[0], g[1], 0.0, mode, b_fixed, active.copy(), 1, lam, c, s)
        assert status == 0
        # Normal equations: H_S'(y - b - H_S s_S) = lam, and sum(r) = 0 for a free baseline.
        if mode == MODE_FIXED:
            assert b == b_fixed
            s_ref = np.linalg.solve(HS.T @ HS, HS.T @ (y - b_fixed) - lam)
        else:
            A = np.block([[HS.T @ HS, HS.sum(0)[:, None]], [HS.sum(0)[None, :], np.array([[T]])]])
            sol = np.linalg.solve(A, np.concatenate([HS.T @ y - lam, [y.sum()]]))
            s_ref = sol[:-1]
            assert b == pytest.approx(sol[-1], abs=1e-9)
        np.testing.assert_allclose(s[S], s_ref, atol=1e-9 * np.abs(s_ref).max())
        np.testing.assert_allclose(c, HS @ s_ref, atol=1e-9 * np.abs(c).max())
        assert not s[active == 0].any()
        c2 = np.empty(T)
        s2 = np.empty(T)
        solve_dual(y, g[0], g[1], 0.0, mode, b_fixed, active.copy(), 1, lam, c2, s2)
        np.testing.assert_allclose(c, c2, atol=1e-9 * np.abs(c).max())


@pytest.mark.parametrize("mode", [0, 1], ids=["b-fixed", "b-free"])
def test_ar2_lawson_hanson_on_the_chain_is_exact_nnls(mode):
    """The monotone fallback at fixed lambda, from a poor start (every other frame), reaches the
    penalised optimum: its KKT conditions hold, and with a fixed baseline it equals NNLS of
    y - b - lam G'1 on H (completing the square)."""
    from scipy import optimize

    from cnmf_gui.engine.deconvolution.ar2_chain import _N_CHAIN, chain_setup
    from cnmf_gui.engine.deconvolution.ar2_nnls import lawson_hanson_chain

    g = g_from_roots(0.9, 0.5)
    T = 200
    y, _ = simulate(T, g, 0.3, 0.06, 0.4, 23)
    lam = 0.5
    active = np.zeros(T, np.uint8)
    active[::2] = 1
    spk = np.zeros(T, np.int64)
    n = int(active.sum())
    spk[:n] = np.flatnonzero(active)
    c = np.empty(T)
    s = np.empty(T)
    n, b, ok = lawson_hanson_chain(y, g[0], g[1], chain_setup(y, g[0], g[1]), spk, n, lam, mode,
                                   0.2, 0.2, np.empty((_N_CHAIN, T)), np.empty(9), c, s, active, 1000)
    assert ok
    assert set(np.flatnonzero(s)) == set(spk[:n]) and s.min() >= 0
    # KKT of min 1/2||y - b - c||^2 + lam sum(G c), G c >= 0: w = H'r <= lam, = lam on spikes.
    r = y - b - c
    w = signal.lfilter([1.0], [1.0, -g[0], -g[1]], r[::-1])[::-1]
    assert w.max() <= lam * (1 + 1e-9)
    np.testing.assert_allclose(w[s > 0], lam, rtol=1e-9)
    if mode == 0:
        assert b == 0.2
        target = y - 0.2 - lam * (ar_operator(g, T).T @ np.ones(T))
        s_ref, _ = optimize.nnls(impulse_matrix(g, T), target, maxiter=50 * T)
        np.testing.assert_allclose(s, s_ref, atol=1e-8 * s_ref.max())
    else:
        assert abs(r.sum()) <= 1e-9 * np.linalg.norm(r) * np.sqrt(T)


@pytest.mark.parametrize("baseline", ["free", "zero", "nonneg"])
def test_ar2_unreachable_constraint_returns_the_closest_fit(baseline):
    """epsilon near -1: no c meets the constraint; the answer is the exact closest fit
    (lambda = 0), the same as NNLS on H (with the baseline as extra columns)."""
    from scipy import optimize

    g = g_from_roots(0.95, 0.6)
    T = 200
    y, _ = simulate(T, g, 0.3, 0.05, 0.5, 31)
    res = deconvolve(y, p=2, g=g, sn=0.3, epsilon=-0.9, baseline=baseline)
    assert res.status == "infeasible" and res.lam == 0.0
    H = impulse_matrix(g, T)
    extra = {"free": [np.ones(T), -np.ones(T)], "zero": [], "nonneg": [np.ones(T)]}[baseline]
    _, rnorm = optimize.nnls(np.column_stack([H] + extra), y, maxiter=50 * T)
    assert np.linalg.norm(y - res.b - res.c) == pytest.approx(rnorm, rel=1e-9)
    assert res.s.min() >= 0


# Cases found by random search where the primal-dual rule cycles (lambda frozen), or where the
# chain fit's rounding shows in w (slow kinetics, dense activity) and the dual solver polishes.
HARD_AR2 = [
    dict(T=270, d=0.8296880141726497, r=0.6912834588326303, sn=0.2865917707094867,
         eps=-0.17726688060923174, rate=0.06475926096643174, seed=1548271477,
         off=1.8069700679844491, baseline="free"),
    dict(T=200, d=0.9253820333506884, r=0.5351890370834399, sn=0.17069316256098288,
         eps=-0.006571828390745604, rate=0.00873627533862487, seed=1452994446,
         off=1.9496874865559501, baseline="nonneg"),
    dict(T=945, d=0.9021823860443747, r=0.6721259185055889, sn=0.0700790845934027,
         eps=-0.14865219297751214, rate=0.08748647799784404, seed=1417489877,
         off=1.1017022931780858, baseline="free"),
    dict(T=224, d=0.9485287430664853, r=0.560650881702686, sn=0.20295845353454672,
         eps=0.08186858327001639, rate=0.10092596008197588, seed=1374907184,
         off=1.9789655496348568, baseline="free"),
]


@pytest.mark.parametrize("case", HARD_AR2, ids=["cycling", "cycling-nonneg", "cycling-and-polish", "polish"])
def test_ar2_hard_cases_match_cvxpy(case):
    g = g_from_roots(case["d"], case["r"])
    rng = np.random.default_rng(case["seed"])
    T = case["T"]
    spikes = (rng.random(T) < case["rate"]) * rng.exponential(1.0, T)
    y = signal.lfilter([1.0], [1.0, -g[0], -g[1]], spikes) + case["off"] + case["sn"] * rng.standard_normal(T)
    check_against_cvxpy(y, g, case["sn"], case["eps"], case["baseline"], property_test=False)

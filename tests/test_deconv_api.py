"""deconvolve / deconvolve_many: known answers, options, bad input, progress and cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from scipy import signal

from cnmf_gui.engine import deconvolve, deconvolve_many
from cnmf_gui.engine.deconvolution import DeconvManyResult, DeconvResult
from cnmf_gui.engine.deconvolution.kinetics import g_to_tau, tau_to_g
from cnmf_gui.errors import Cancelled, ParameterError, UserError
from cnmf_gui.progress import CallbackProgress


def simulate(T, g, sn, rate=0.02, baseline=0.5, seed=0, amplitude=1.0):
    rng = np.random.default_rng(seed)
    spikes = (rng.random(T) < rate) * amplitude
    calcium = signal.lfilter([1.0], np.concatenate([[1.0], -np.asarray(g, float)]), spikes)
    return calcium + baseline + sn * rng.standard_normal(T), spikes, calcium


@pytest.mark.parametrize("g", [[0.95], [1.75, -0.765]], ids=["ar1", "ar2"])
def test_finds_simulated_spikes_with_estimated_parameters(g):
    y, spikes, calcium = simulate(3000, g, 0.2, seed=1)
    res = deconvolve(y, p=len(g))
    assert res.status == "optimal"
    assert res.sn == pytest.approx(0.2, rel=0.15)
    assert np.corrcoef(res.c, calcium)[0, 1] > 0.95
    # Spikes compared in bins of 4 frames, as in spikefinder.
    binned = lambda x: x[: x.size // 4 * 4].reshape(-1, 4).sum(1)
    assert np.corrcoef(binned(res.s), binned(spikes))[0, 1] > 0.8
    # The L1 fit shrinks c, so b sits a little above the true 0.5 (the trace mean is 0.9).
    assert res.b == pytest.approx(0.5, abs=0.15)


def test_estimated_kinetics_are_close_to_the_truth():
    y, _, _ = simulate(20000, [0.95], 0.2, seed=2)
    assert deconvolve(y, p=1).g[0] == pytest.approx(0.95, abs=0.02)


def test_refine_g_moves_a_wrong_g_towards_the_truth():
    y, _, _ = simulate(5000, [0.95], 0.1, rate=0.01, seed=3)
    refined = deconvolve(y, p=1, g=[0.85], sn=0.1, refine_g=True).g[0]
    assert abs(refined - 0.95) < abs(0.85 - 0.95) / 3


def test_epsilon_trades_fit_for_sparsity():
    y, _, _ = simulate(2000, [0.9], 0.3, seed=4)
    objs = [deconvolve(y, g=[0.9], sn=0.3, epsilon=e).s.sum() for e in (-0.2, 0.0, 0.3)]
    assert objs[0] > objs[1] > objs[2]


def test_large_epsilon_gives_zero_with_infinite_lambda():
    y, _, _ = simulate(500, [0.9], 0.3, seed=5)
    res = deconvolve(y, g=[0.9], sn=0.3, epsilon=9.0)
    assert res.status == "zero" and res.is_zero and np.isinf(res.lam)
    assert not res.c.any() and not res.s.any()
    assert res.b == pytest.approx(y.mean())


def test_unreachable_constraint_returns_a_fit_at_lambda_zero():
    y, _, _ = simulate(500, [0.9], 0.3, seed=6)
    res = deconvolve(y, g=[0.9], sn=0.3, epsilon=-0.99)
    assert res.status == "infeasible" and res.lam == 0.0
    assert np.linalg.norm(res.c + res.b - y) > res.theta


@pytest.mark.parametrize("baseline,expect", [("zero", 0.0), ("nonneg", 0.0)])
def test_baseline_options(baseline, expect):
    y, _, _ = simulate(1000, [0.9], 0.2, baseline=-0.3, seed=7)
    res = deconvolve(y, g=[0.9], sn=0.2, baseline=baseline, epsilon=0.5)
    assert res.b == expect
    free = deconvolve(y, g=[0.9], sn=0.2, baseline="free")
    assert free.b == pytest.approx(-0.3, abs=0.1)
    given = deconvolve(y, g=[0.9], sn=0.2, b=-0.25)
    assert given.b == -0.25


def test_p0_is_nonnegative_soft_fit():
    y, _, _ = simulate(300, [0.0], 0.2, seed=8)
    res = deconvolve(y, p=0, sn=0.2)
    assert res.g.shape == (0,)
    np.testing.assert_array_equal(res.c, res.s)
    assert res.c.min() >= 0


@pytest.mark.parametrize("g", [[0.9], [1.6, -0.63]], ids=["ar1", "ar2"])
def test_s_min_keeps_only_large_spikes(g):
    y, _, _ = simulate(2000, g, 0.2, seed=9)
    convex = deconvolve(y, p=len(g), g=g, sn=0.2)
    res = deconvolve(y, p=len(g), g=g, sn=0.2, s_min=0.5)
    on = res.s[res.s > 0]
    assert res.status == "thresholded" and on.size > 0 and on.min() >= 0.5
    assert (res.s > 0).sum() < (convex.s > 0).sum()
    rel = deconvolve(y, p=len(g), g=g, sn=0.2, s_min=-2.5)  # 2.5 sigma = 0.5
    np.testing.assert_allclose(rel.s, res.s)


def test_constant_and_zero_traces_give_zero():
    for trace in (np.zeros(100), np.full(100, 3.0)):
        res = deconvolve(trace)
        assert res.status == "zero" and not res.c.any() and res.b == trace[0]
    many = deconvolve_many(np.zeros((3, 50)))
    assert not many.c.any() and list(many.status) == ["zero"] * 3


@pytest.mark.parametrize("bad,frame", [(np.nan, 17), (np.inf, 0), (-np.inf, 99)])
def test_non_finite_value_names_the_frame(bad, frame):
    y = np.ones(100)
    y[frame] = bad
    with pytest.raises(UserError, match=f"frame {frame}"):
        deconvolve(y)


def test_non_finite_value_in_population_names_component_and_frame():
    Y = np.random.default_rng(0).standard_normal((5, 60))
    Y[3, 41] = np.nan
    with pytest.raises(UserError, match="component 3 .*frame 41"):
        deconvolve_many(Y)
    with pytest.raises(UserError, match="cell_d .*frame 41"):
        deconvolve_many(Y, labels=list("abcde") and ["cell_a", "cell_b", "cell_c", "cell_d", "cell_e"])


@pytest.mark.parametrize("kwargs,match", [
    (dict(epsilon=-1.0), "epsilon"),
    (dict(epsilon=np.nan), "epsilon"),
    (dict(g=[1.0]), "stable region"),
    (dict(g=[1.9, 0.2], p=2), "stable region"),
    (dict(g=[0.5, 0.1]), "p = 1"),
    (dict(p=3), "AR order"),
    (dict(sn=-1.0), "sn"),
    (dict(method="magic"), "method"),
    (dict(baseline="maybe"), "baseline"),
    (dict(s_min=np.inf), "s_min"),
])
def test_bad_parameters_raise_one_clear_error(kwargs, match):
    y, _, _ = simulate(100, [0.9], 0.2)
    with pytest.raises(ParameterError, match=match):
        deconvolve(y, **kwargs)


def test_too_short_and_wrong_shape():
    with pytest.raises(UserError, match="at least 4 frames"):
        deconvolve([1.0, 2.0, 3.0])
    with pytest.raises(UserError, match="1-D"):
        deconvolve(np.ones((3, 10)))
    with pytest.raises(UserError, match="2-D"):
        deconvolve_many(np.ones(10))
    with pytest.raises(ParameterError, match="shape"):
        deconvolve_many(np.ones((3, 10)), epsilon=[0.1, 0.2])


def test_many_equals_one_by_one():
    traces = np.array([simulate(800, [0.9], 0.2, seed=k)[0] for k in range(6)])
    eps = np.linspace(0.0, 0.3, 6)
    many = deconvolve_many(traces, g=[0.9], sn=0.2, epsilon=eps, n_workers=2)
    assert isinstance(many, DeconvManyResult) and len(many) == 6
    assert many.c.shape == (6, 800) and many.g.shape == (6, 1) and many.sn.shape == (6,)
    for k in range(6):
        one = deconvolve(traces[k], g=[0.9], sn=0.2, epsilon=eps[k])
        np.testing.assert_allclose(many.c[k], one.c)
        assert many.lam[k] == pytest.approx(one.lam)
        assert isinstance(many[k], DeconvResult)


def test_many_estimates_per_component_parameters():
    traces = np.array([simulate(3000, [g], 0.1 * (k + 1), seed=k)[0] for k, g in enumerate((0.8, 0.95))])
    many = deconvolve_many(traces, p=1)
    assert many.g[0, 0] < many.g[1, 0]
    assert many.sn[1] > many.sn[0]


def test_progress_reports_and_cancel_stops():
    traces = np.array([simulate(2000, [0.9], 0.2, seed=k)[0] for k in range(40)])
    seen = []
    deconvolve_many(traces, g=[0.9], sn=0.2, progress=CallbackProgress(lambda f, m: seen.append(f)))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)

    progress = CallbackProgress()
    progress.cancel()
    with pytest.raises(Cancelled):
        deconvolve_many(traces, g=[0.9], sn=0.2, progress=progress)
    # No deconvolution thread is left running after a cancel.
    assert not [t for t in threading.enumerate() if t.name.startswith("deconv")]


def test_tau_round_trip():
    g = tau_to_g(0.5, 0.05, 30.0)
    tau_d, tau_r = g_to_tau(g, 30.0)
    assert tau_d == pytest.approx(0.5) and tau_r == pytest.approx(0.05)
    assert g_to_tau(tau_to_g(1.0, 0.0, 100.0), 100.0) == pytest.approx((1.0, 0.0))


# --- Overhead removed from the exact solvers: the shortcuts must not change the answers ------

def test_closed_form_stability_agrees_with_the_roots():
    """validate._stable (closed form, p <= 2) against noise.is_stable (np.roots), including
    complex pairs and coefficients next to each edge of the stability triangle."""
    from cnmf_gui.engine.deconvolution.validate import _stable
    from cnmf_gui.engine.noise import is_stable

    rng = np.random.default_rng(11)
    draws = [rng.uniform([-2.2, -1.2], [2.2, 1.2]) for _ in range(4000)]
    edges = [np.array([g1, g2]) for g1, g2 in
             [(1.5, -0.5 + 1e-9), (1.5, -0.5 - 1e-9), (0.0, -1.0 + 1e-9), (0.0, 0.999999),
              (-1.5, -0.5 - 1e-9), (1.9, -0.9025), (1.0, -0.26), (0.0, -1.0 - 1e-9)]]
    for g in draws + edges:
        assert _stable(g) == is_stable(g), g
    for g1 in (-1.0, -0.999999, 0.0, 0.95, 0.9999999, 1.0, 1.2):
        assert _stable(np.array([g1])) == is_stable([g1])


def test_merge_only_moves_give_the_pools_of_a_fresh_pass():
    """Where (lam, b) moves so that lam and b + (1 - g) lam both rise, merging the existing
    pools gives exactly the pools that pool adjacent violators finds from single frames."""
    from cnmf_gui.engine.deconvolution.ar1 import _merge_only, merge_pools, pav_ar1

    rng = np.random.default_rng(12)
    for trial in range(200):
        T = int(rng.integers(5, 400))
        g = float(rng.uniform(0.0, 0.99))
        y = simulate(T, [g], float(rng.uniform(0.1, 1.0)), rate=0.05, seed=trial)[0]
        lam, b = float(rng.uniform(0, 3)), float(rng.uniform(-1, 2))
        d_lam = float(rng.uniform(0, 2))
        d_b = -(1 - g) * d_lam + float(rng.uniform(0, 1)) * (trial % 2)
        assert _merge_only(g, d_lam, d_b)
        P = np.empty((T, 8))
        n = merge_pools(lam + d_lam, b + d_b, pav_ar1(y, g, lam, b, P), P)
        F = np.empty((T, 8))
        m = pav_ar1(y, g, lam + d_lam, b + d_b, F)
        assert n == m
        np.testing.assert_array_equal(P[:n, :2], F[:m, :2])  # pool starts and lengths
        np.testing.assert_allclose(P[:n, 7] / P[:n, 6], F[:m, 7] / F[:m, 6], rtol=1e-9, atol=1e-9)  # values
    # A move against the rule is refused (it can split pools).
    assert not _merge_only(0.9, -0.1, 1.0) and not _merge_only(0.9, 1.0, -0.2)


@pytest.mark.parametrize("baseline", ["nonneg", "free", "zero"])
@pytest.mark.parametrize("g", [[0.95], [1.55, -0.57]], ids=["ar1", "ar2"])
def test_long_traces_meet_every_optimality_condition(g, baseline):
    """At T = 30,000 the AR(1) lambda iteration runs mostly over pools and the compiled
    solve does its own scaling and checks: the KKT conditions must still hold exactly."""
    from cnmf_gui.engine.deconvolution.kkt import kkt_residuals

    y, _, _ = simulate(30_000, g, 0.3, rate=0.03, seed=13)
    res = deconvolve(y, p=len(g), g=g, sn=0.3, baseline=baseline)
    assert res.status == "optimal"
    kkt = kkt_residuals(y, res.c, res.b, np.asarray(g), res.lam, res.theta,
                        baseline="fixed" if baseline == "zero" else baseline)
    assert all(v < 1e-7 for v in kkt.values()), kkt


def test_finite_check_by_the_sum_still_finds_bad_values():
    """A sum that overflows is not a bad value; NaN and inf are still found by frame."""
    huge = np.array([1e308, 1e308, 1.0, 2.0, 3.0])
    assert np.array_equal(V_check_trace(huge), huge)
    y = np.full(50, 2.0)
    y[7] = np.nan
    with pytest.raises(UserError, match="frame 7"):
        V_check_trace(y)
    y[7] = 1e308
    y[8] = -np.inf
    with pytest.raises(UserError, match="frame 8"):
        V_check_trace(y)


def V_check_trace(y):
    from cnmf_gui.engine.deconvolution.validate import check_trace

    return check_trace(y)


def test_result_arrays_are_new_and_in_the_traces_units():
    """The compiled solve scales internally: c and s come back in the trace's units, never
    aliasing the input, and scaling the trace scales the answer."""
    y, _, _ = simulate(1500, [0.9], 0.2, seed=14)
    y0 = y.copy()
    a = deconvolve(y, g=[0.9], sn=0.2)
    b = deconvolve(10.0 * y, g=[0.9], sn=2.0)
    np.testing.assert_array_equal(y, y0)
    assert not np.shares_memory(a.c, y) and not np.shares_memory(a.s, y)
    np.testing.assert_allclose(b.c, 10.0 * a.c, rtol=1e-9, atol=1e-9)
    assert b.lam == pytest.approx(10.0 * a.lam, rel=1e-9)
    assert b.b == pytest.approx(10.0 * a.b, rel=1e-9)

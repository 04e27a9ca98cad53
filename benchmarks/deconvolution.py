"""Speed and exactness of the deconvolution solvers, against CVXPY and OASIS in the same run.

Run: ``python -m benchmarks.deconvolution`` (from the repository root; about a minute plus
OASIS's AR(2), which grows with T^2). Prints:

1. ns per frame of ``deconvolve`` for AR(1) and AR(2) at T = 1e3, 1e4, 1e5, 1e6 (g and sigma
   given, baseline >= 0, epsilon 0), with the KKT residual as a check of exactness; then (1b)
   the same with g and sigma estimated from the trace;
2. the time ratio to CVXPY (default solver) at T = 3000, and the objective agreement;
3. where ``oasis-deconv`` is installed (``pip install oasis-deconv==0.3.2``; never a runtime
   dependency), the time ratio to ``oasis.functions.deconvolve(y, g=g, sn=sn, penalty=1)`` on
   the same traces and settings, and OASIS's objective gap above the exact optimum;
4. a population of 1,000 traces of 10,000 frames with fixed kinetics on all cores.

Timings are wall-clock on a shared machine; compare ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from scipy import signal

from cnmf_gui.engine.deconvolution import deconvolve, deconvolve_many
from cnmf_gui.engine.deconvolution.kkt import kkt_residuals
from cnmf_gui.engine.deconvolution.reference_cvxpy import ar_operator

G = {1: np.array([0.95]), 2: np.array([0.95 + 0.6, -0.95 * 0.6])}
SN = 0.3


def simulate(T: int, g, seed: int = 0, rate: float = 0.03) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spikes = (rng.random(T) < rate) * rng.exponential(1.0, T)
    return (signal.lfilter([1.0], np.concatenate([[1.0], -g]), spikes) + 0.5
            + SN * rng.standard_normal(T))


def timed(fn, min_seconds: float = 0.3):
    """Best-of-repeats wall time of fn() (repeats until min_seconds have passed)."""
    best = np.inf
    spent = 0.0
    out = None
    n = 0
    while spent < min_seconds or n < 1:
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        n += 1
    return best, out


def objective(c, g) -> float:
    return float(np.sum(ar_operator(g, c.size) @ c))


def worst_kkt(y, r, g) -> float:
    return max(kkt_residuals(y, r.c, r.b, g, r.lam, r.theta).values())


def section_scaling(sizes):
    print("1. ns per frame (g and sigma given, baseline >= 0); worst relative KKT residual")
    print(f"{'T':>9}{'AR(1) ns/frame':>16}{'KKT':>10}{'AR(2) ns/frame':>16}{'KKT':>10}")
    for T in sizes:
        row = f"{T:>9}"
        for p in (1, 2):
            y = simulate(T, G[p], seed=T + p)
            dt, r = timed(lambda: deconvolve(y, p=p, g=G[p], sn=SN), 0.3 if T < 10**6 else 0)
            row += f"{dt / T * 1e9:>16.0f}{worst_kkt(y, r, G[p]):>10.1e}"
        print(row, flush=True)


def section_estimated(sizes):
    print("\n1b. ns per frame with g and sigma estimated from the trace (same traces as 1)")
    print(f"{'T':>9}{'AR(1) ns/frame':>16}{'AR(2) ns/frame':>16}")
    for T in sizes:
        row = f"{T:>9}"
        for p in (1, 2):
            y = simulate(T, G[p], seed=T + p)
            dt, _ = timed(lambda: deconvolve(y, p=p), 0.3 if T < 10**6 else 0)
            row += f"{dt / T * 1e9:>16.0f}"
        print(row, flush=True)


def section_cvxpy(T=3000):
    print(f"\n2. CVXPY (default solver) at T = {T}")
    deconvolve(simulate(200, G[1]), g=G[1], sn=SN, method="cvxpy")  # import and set-up outside timing
    for p in (1, 2):
        y = simulate(T, G[p], seed=7 + p)
        t_fast, fast = timed(lambda: deconvolve(y, p=p, g=G[p], sn=SN))
        t_cvx, ref = timed(lambda: deconvolve(y, p=p, g=G[p], sn=SN, method="cvxpy"), 1.0)
        gap = (objective(ref.c, G[p]) - fast.s.sum()) / fast.s.sum()
        print(f"   AR({p}): fast {t_fast * 1e3:8.2f} ms, CVXPY {t_cvx * 1e3:8.1f} ms, "
              f"fast is {t_cvx / t_fast:7.0f}x faster; CVXPY objective - ours = {gap:+.1e} (relative)")
        if p == 2:
            _ar2_split(y, t_fast, t_cvx)


def _ar2_split(y, t_fast, t_cvx):
    """Where the AR(2) time goes: the AR(1) warm start (solver.py), the AR(2) active set, and
    the rest (checks, scaling, result) in Python."""
    from cnmf_gui.engine.deconvolution.ar1 import MODE_NONNEG, solve_ar1
    from cnmf_gui.engine.deconvolution.ar2 import solve_banded
    from cnmf_gui.engine.noise import ar_roots

    g = G[2]
    ys = y / SN
    T = y.size
    c = np.empty(T)
    s = np.empty(T)
    g_slow = float(np.real(ar_roots(g)).max())
    # deconvolve reaches these solvers inside one compiled call; called from Python they
    # compile their own entry first, which must stay outside the timing.
    solve_ar1(ys[:100], g_slow, 100.0, MODE_NONNEG, 0.0, 0.0, 0.0, 200, c, s)
    solve_banded(ys[:100], g[0], g[1], 100.0, MODE_NONNEG, 0.0, np.zeros(100, np.uint8), 200,
                 -1.0, c, s)
    t_ar1, _ = timed(lambda: solve_ar1(ys, g_slow, float(T), MODE_NONNEG, 0.0, 0.0, float(ys.mean()),
                                       200, c, s))
    start = (s > 0).astype(np.uint8)
    t_ar2, out = timed(lambda: solve_banded(ys, g[0], g[1], float(T), MODE_NONNEG, 0.0, start.copy(),
                                            200, -1.0, c, s))
    print(f"          of which AR(1) warm start {t_ar1 * 1e3:.3f} ms, AR(2) active set {t_ar2 * 1e3:.3f} ms "
          f"({out[2]} passes), Python {max(t_fast - t_ar1 - t_ar2, 0) * 1e3:.3f} ms; "
          f"the AR(2) active set alone is {t_cvx / t_ar2:.0f}x faster than CVXPY")


def section_oasis(sizes):
    try:
        from oasis.functions import deconvolve as oasis_deconvolve
    except ImportError:
        print("\n3. OASIS: oasis-deconv not installed (pip install oasis-deconv==0.3.2); skipped")
        return
    print("\n3. OASIS 0.3.2, deconvolve(y, g=g, sn=sn, penalty=1) (baseline fitted >= 0), same traces")
    print(f"{'':>4}{'T':>8}{'ours ms':>10}{'OASIS ms':>11}{'time ratio':>12}"
          f"{'OASIS obj gap':>15}{'OASIS ||r||/theta':>19}")
    for p, Ts in sizes.items():
        for T in Ts:
            y = simulate(T, G[p], seed=100 + T + p)
            t_fast, fast = timed(lambda: deconvolve(y, p=p, g=G[p], sn=SN))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t_oasis, out = timed(lambda: oasis_deconvolve(y, g=tuple(G[p]), sn=SN, penalty=1),
                                     0.3 if T <= 10**4 else 0)
            c_o, b_o = np.asarray(out[0]), float(out[2])
            gap = (objective(c_o, G[p]) - fast.s.sum()) / fast.s.sum()
            resid = np.linalg.norm(c_o + b_o - y) / fast.theta
            print(f"AR({p}){T:>8}{t_fast * 1e3:>10.2f}{t_oasis * 1e3:>11.2f}{t_fast / t_oasis:>12.2f}"
                  f"{gap:>+15.2e}{resid:>19.6f}", flush=True)


def section_population(K=1000, T=10_000):
    print(f"\n4. population: {K} traces x {T} frames, AR(1), g fixed, sigma estimated per trace")
    rng = np.random.default_rng(5)
    spikes = (rng.random((K, T)) < 0.03) * rng.exponential(1.0, (K, T))
    Y = signal.lfilter([1.0], [1.0, -0.95], spikes, axis=1) + 0.5 + SN * rng.standard_normal((K, T))
    deconvolve_many(Y[:4], g=G[1])  # compile / load the cache outside the timing
    cores = os.cpu_count() or 1
    for workers in sorted({1, cores}):
        t0 = time.perf_counter()
        res = deconvolve_many(Y, g=G[1], n_workers=workers)
        dt = time.perf_counter() - t0
        print(f"   {workers} thread(s): {dt:.2f} s ({dt / (K * T) * 1e9:.0f} ns per frame); "
              f"statuses {dict(zip(*np.unique(res.status, return_counts=True)))}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="deconvolution speed and exactness")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    args = ap.parse_args(argv)
    deconvolve(simulate(100, G[1]), g=G[1], sn=SN)
    deconvolve(simulate(100, G[2]), p=2, g=G[2], sn=SN)
    if args.quick:
        section_scaling([1000, 10_000])
        section_estimated([1000, 10_000])
        section_cvxpy(1000)
        section_oasis({1: [1000], 2: [1000]})
        section_population(50, 2000)
        return 0
    section_scaling([1000, 10_000, 100_000, 1_000_000])
    section_estimated([1000, 10_000, 100_000, 1_000_000])
    section_cvxpy(3000)
    section_oasis({1: [1000, 10_000, 100_000, 1_000_000], 2: [1000, 3000, 10_000, 30_000]})
    section_population()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Trace and spike accuracy of the deconvolution on rise-kinetics traces, against OASIS.

Run: ``python -m benchmarks.deconv_accuracy [--bleach] [--seeds 3]`` (from the repository root;
about a minute).

Traces are made in continuous time, not by the AR recursion the solvers assume: spikes at
sub-frame times (Poisson at 0.5 Hz plus bursts of 2-7 spikes), a difference-of-exponentials
kernel with GCaMP6f / 6s / jGCaMP8m-like time constants (each cell's within +-20 %), each frame
the average over its exposure, signal-dependent noise with one spike's peak at ``snr`` noise
standard deviations; ``--bleach`` multiplies by a slow bleaching and drift. For every indicator,
frame rate and SNR the table prints the mean over seeds of

- r(F): correlation of the raw trace with the true calcium;
- r(C): the same for the denoised calcium of each method (goal: >= r(F));
- r(S): correlation of the inferred activity with the true spike counts, both smoothed over 2
  frames (a Gaussian of 1 frame sd).

Methods: ours with ``p="auto"`` (the default of the pipeline), ours with AR(1) (the default
before), and OASIS AR(1) (``oasis.functions.deconvolve(y, g=(None,), penalty=1)``, its own
estimates of g and sigma) where ``oasis-deconv`` is installed, all in the same run.

Rise/decay time constants: GCaMP6f 50/400 ms, GCaMP6s 150/1300 ms (Chen et al. 2013, Nature
499:295-300); jGCaMP8m 10/250 ms (Zhang et al. 2023, Nature 615:884-891).
"""

from __future__ import annotations

import argparse
import itertools
import warnings

import numpy as np
from scipy import ndimage

from cnmf_gui.engine.deconvolution import deconvolve
from cnmf_gui.synthetic.kinetics import continuous_time_calcium

INDICATORS = {"GCaMP6f": (0.05, 0.40), "GCaMP6s": (0.15, 1.3), "GCaMP8m": (0.01, 0.25)}


def simulate(seed, indicator, fs, seconds=120.0, snr=5.0, bleach=False):
    """(F, true calcium, spike counts per frame), each of shape (T,)."""
    rng = np.random.default_rng(seed)
    tau_r, tau_d = (t * rng.uniform(0.8, 1.2) for t in INDICATORS[indicator])
    cal, spikes = continuous_time_calcium(rng, tau_r, tau_d, fs, seconds, max_burst=8, upsample=20)
    T = cal.size
    drift = np.ones(T)
    if bleach:
        drift = (0.8 + 0.2 * np.exp(-np.arange(T) / (T / 2))
                 + 0.05 * np.sqrt(10 * fs) * ndimage.gaussian_filter1d(rng.standard_normal(T), 10 * fs))
    y = (1.0 + 0.3 * cal) * drift
    return y + (0.3 / snr) * np.sqrt(y) * rng.standard_normal(T), cal, spikes


def corr(a, b) -> float:
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    return 0.0 if a.std() == 0 or b.std() == 0 else float(np.corrcoef(a, b)[0, 1])


def smooth(x):
    return ndimage.gaussian_filter1d(np.asarray(x, float), 1.0)


def methods() -> dict:
    out = {"auto": lambda y: deconvolve(y, p="auto"), "AR(1)": lambda y: deconvolve(y, p=1)}
    try:
        from oasis.functions import deconvolve as oasis_deconvolve
    except ImportError:
        print("oasis-deconv is not installed: OASIS columns skipped (pip install oasis-deconv==0.3.2)")
        return out

    def oasis(y):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c, s, *_ = oasis_deconvolve(y, g=(None,), penalty=1)
        return type("R", (), {"c": np.asarray(c), "s": np.asarray(s)})

    out["OASIS"] = oasis
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bleach", action="store_true", help="add bleaching and a slow drift")
    ap.add_argument("--seeds", type=int, default=3)
    args = ap.parse_args(argv)
    ms = methods()
    print(f"{'indicator':<9}{'Hz':>5}{'snr':>5}{'r(F)':>7}"
          + "".join(f"{'r(C) ' + m:>13}" for m in ms) + "".join(f"{'r(S) ' + m:>13}" for m in ms))
    worse = 0
    rows = 0
    for ind, fs, snr in itertools.product(INDICATORS, (7.5, 15.0, 30.0), (2.0, 5.0, 15.0)):
        rF, rC, rS = [], {m: [] for m in ms}, {m: [] for m in ms}
        for seed in range(args.seeds):
            F, cal, spikes = simulate(seed, ind, fs, snr=snr, bleach=args.bleach)
            rF.append(corr(F, cal))
            for m, fn in ms.items():
                res = fn(F)
                rC[m].append(corr(res.c, cal))
                rS[m].append(corr(smooth(res.s), smooth(spikes)))
        rows += 1
        worse += np.mean(rC["auto"]) < np.mean(rF)
        print(f"{ind:<9}{fs:>5.1f}{snr:>5.0f}{np.mean(rF):>7.3f}"
              + "".join(f"{np.mean(rC[m]):>13.3f}" for m in ms)
              + "".join(f"{np.mean(rS[m]):>13.3f}" for m in ms), flush=True)
    print(f"rows where r(C) of auto < r(F): {worse} of {rows}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Kinetics shared by a population against each trace's own, away from the one-photon generator.

    python -m benchmarks.one_photon_kinetics [--datasets 4.train 5.train ...]

On the spikefinder recordings of ``../shared/data/spikefinder`` (real spikes; 100 Hz resampled
to 20 Hz, the one-photon benchmark's rate, by averaging 5 samples and summing the spikes), the
mean over a dataset's cells of the correlation between inferred activity and true spikes, both
summed over 2 frames (100 ms), for: each trace's own spectral fit (``p="auto"``, refined), AR(1)
refined per trace, and :func:`cnmf_gui.engine.onephoton.kinetics.shared_kinetics` estimated once
for all cells of the dataset (each dataset: one indicator, one preparation). Free baseline (these
are dF/F traces with negative excursions).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from benchmarks.spikefinder import DATA

RATE = 20.0
FACTOR = 5          # 100 Hz -> 20 Hz


def _corr(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b) + 1e-300))


def _read(name):
    calcium = np.genfromtxt(DATA / f"{name}.calcium.csv", delimiter=",", skip_header=1).T
    spikes = np.genfromtxt(DATA / f"{name}.spikes.csv", delimiter=",", skip_header=1).T
    F, S = [], []
    for c, s in zip(calcium, spikes):
        n = int(np.sum(~np.isnan(c))) // FACTOR * FACTOR
        F.append(c[:n].reshape(-1, FACTOR).mean(1))
        S.append(np.nan_to_num(s[:n]).reshape(-1, FACTOR).sum(1))
    T = min(len(f) for f in F)
    return np.array([f[:T] for f in F]), np.array([s[:T] for s in S])


def compare(name) -> dict:
    from cnmf_gui.engine.deconvolution import deconvolve_many
    from cnmf_gui.engine.onephoton.kinetics import shared_kinetics
    from cnmf_gui.params import DeconvParams

    F, S = _read(name)
    two = lambda x: x[: len(x) // 2 * 2].reshape(-1, 2).sum(1)
    score = lambda X: float(np.mean([_corr(two(x), two(y)) for x, y in zip(X, S)]))
    out = {"cells": F.shape[0], "frames": F.shape[1]}
    out["per-component"] = score(deconvolve_many(F, p="auto", refine_g=True, baseline="free").s)
    out["AR(1)"] = score(deconvolve_many(F, p=1, refine_g=True, baseline="free").s)
    g = shared_kinetics(F, DeconvParams(baseline="free"))
    out["shared"] = score(deconvolve_many(F, p="auto", g=np.tile(g, (len(F), 1)), baseline="free").s)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", nargs="+", default=["4.train", "4.test", "5.train", "5.test", "6.train"])
    args = ap.parse_args(argv)
    print("| dataset | cells | frames (20 Hz) | per-component | AR(1) | shared |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.datasets:
        r = compare(name)
        print(f"| {name} | {r['cells']} | {r['frames']} | {r['per-component']:.3f} | {r['AR(1)']:.3f} | "
              f"{r['shared']:.3f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

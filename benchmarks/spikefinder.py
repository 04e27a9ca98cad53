"""Spike inference accuracy on real ground truth: the spikefinder datasets 4, 5 and 6.

Run: ``python -m benchmarks.spikefinder`` (from the repository root).

For every neuron of ``../shared/data/spikefinder`` (datasets 4: OGB-1 retina, 5: GCaMP6s V1,
6: GCaMP5k V1; train and test where present; 100 Hz), the inferred activity and the true spike
counts are summed into 40 ms bins (4 samples) and correlated (Pearson), as in Berens et al.
(2018). The mean per dataset is printed for cnmf_gui's deconvolution and, when ``oasis-deconv``
is installed, for OASIS on the same cells in the same run.

Settings are what a user would choose without the truth, the same for every dataset: every
parameter is estimated from each trace (noise level over the upper band of the spectrum below
its band limit, since these traces were resampled to 100 Hz from lower rates; AR kinetics from
the autocovariance over 0.2 s of lags after removing a 3 s running mean; a free baseline, as
these are dF/F traces with negative excursions), exactly what
``cnmf-gui deconvolve-traces --fs 100`` does. OASIS runs with its own defaults.

References
----------
Berens, P. et al. (2018). Community-based benchmarking improves spike rate inference from
two-photon calcium imaging data. PLoS Comput Biol 14(5):e1006157.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from cnmf_gui.cli.verb_deconvolve_traces import read_traces
from cnmf_gui.engine.deconvolution import deconvolve
from cnmf_gui.engine.deconvolution.kinetics import rate_defaults

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "spikefinder"
DATASETS = {4: "OGB-1 retina", 5: "GCaMP6s V1", 6: "GCaMP5k V1"}
BIN = 4  # 40 ms at 100 Hz
FS = 100.0


def binned_correlation(inferred: np.ndarray, truth: np.ndarray, bin_size: int = BIN) -> float:
    """Pearson correlation of two activity traces summed into bins of ``bin_size`` samples."""
    n = min(inferred.size, truth.size) // bin_size * bin_size
    a = inferred[:n].reshape(-1, bin_size).sum(1)
    b = truth[:n].reshape(-1, bin_size).sum(1)
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def load(dataset: int):
    """[(name, calcium, spikes)] over the train and test files of one dataset."""
    cells = []
    for split in ("train", "test"):
        cal = DATA / f"{dataset}.{split}.calcium.csv"
        spk = DATA / f"{dataset}.{split}.spikes.csv"
        if not cal.exists():
            continue
        names, calcium = read_traces(str(cal))
        _, spikes = read_traces(str(spk))
        for name, y, s in zip(names, calcium, spikes):
            n = min(y.size, s.size)
            cells.append((f"{split}/{name}", y[:n], s[:n]))
    return cells


def ours(y, p=1):
    """Every setting estimated from the trace, as ``cnmf-gui deconvolve-traces --fs 100``."""
    return deconvolve(y, p=p, noise_range="auto", baseline="free", **rate_defaults(FS)).s


def oasis_default(y, p=1):
    import warnings

    from oasis.functions import deconvolve as oasis_deconvolve

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its deprecation notice for g=(None,)
        out = oasis_deconvolve(y, g=(None,) * p, penalty=1)
    return np.asarray(out[1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--p", nargs="+", default=["auto", "1", "2"],
                    help="our AR orders to compare (default auto 1 2; OASIS runs AR(1), and AR(2) "
                         "with --oasis-ar2, which takes minutes: its time grows with T^2)")
    ap.add_argument("--oasis-ar2", action="store_true", help="also run OASIS AR(2)")
    args = ap.parse_args(argv)
    if not DATA.is_dir():
        print(f"spikefinder data not found at {DATA}; nothing to do")
        return 0
    try:
        import oasis  # noqa: F401
        have_oasis = True
    except ImportError:
        have_oasis = False
        print("oasis-deconv is not installed: OASIS columns skipped (pip install oasis-deconv==0.3.2)")
    methods = {}
    for p in args.p:
        p = p if p == "auto" else int(p)
        methods[f"ours AR({p})"] = lambda y, p=p: ours(y, p)
    if have_oasis:
        for p in (1, 2) if args.oasis_ar2 else (1,):
            methods[f"OASIS AR({p})"] = lambda y, p=p: oasis_default(y, p)
    print("per-neuron Pearson r of inferred activity vs true spikes in 40 ms bins, mean per dataset")
    print("ours: noise from the spectrum up to the band limit, g from the autocovariance (0.2 s of lags,")
    print("3 s running mean removed), baseline free, epsilon 0. OASIS: its defaults (g and sn estimated).")
    print(f"{'dataset':<22}{'cells':>6}" + "".join(f"{m:>14}" for m in methods))
    totals = {m: 0.0 for m in methods}
    for ds, label in DATASETS.items():
        cells = load(ds)
        scores = {m: [] for m in methods}
        for _, y, truth in cells:
            for m, fn in methods.items():
                t0 = time.perf_counter()
                s = fn(y)
                totals[m] += time.perf_counter() - t0
                scores[m].append(binned_correlation(s, truth))
        ref = "OASIS AR(1)"
        ratio = "".join(f"   {m.split()[1]}/OASIS {np.mean(scores[m]) / np.mean(scores[ref]):.3f}"
                        for m in ("ours AR(1)", "ours AR(auto)") if ref in scores and m in scores)
        print(f"{ds} {label:<20}{len(cells):>6}" + "".join(f"{np.mean(scores[m]):>14.3f}" for m in methods)
              + ratio, flush=True)
    print(f"{'seconds (all cells)':<28}" + "".join(f"{totals[m]:>14.2f}" for m in methods))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

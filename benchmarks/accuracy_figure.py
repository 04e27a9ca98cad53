"""The accuracy sweep's table as one figure: ours beside suite2p, row by row.

Run from the repository root, on the ``results.json`` files written by benchmarks/accuracy.py::

    python -m benchmarks.accuracy_figure OUT/results.json [MORE/results.json ...] --out docs/accuracy.png

Four panels, one group of bars per row of the sweep (mean over the seeds present): accepted
F1 (ours: status 1; suite2p: its classifier's cells), shift RMSE (px), median r with the true
calcium (our denoised C and raw F, suite2p's F - 0.7 Fneu) and median r of the deconvolved
activity with the true spikes (2-frame sums).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from benchmarks.accuracy import ROWS
from benchmarks.accuracy_table import combine

PANELS = [("accepted F1", lambda r: r["accepted"]["f1"]),
          ("shift RMSE (px)", lambda r: r["shift"]["rmse"]),
          ("r with true calcium", None),
          ("r(S) with true spikes", lambda r: r.get("r_S", np.nan))]


def _mean(results, row, tool, fn):
    vals = [fn(r[tool]) for r in results if r["row"] == row and tool in r and "error" not in r[tool]]
    vals = [v for v in vals if v is not None and np.isfinite(v)]
    return float(np.mean(vals)) if vals else np.nan


def draw(results: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in ROWS if any(x["row"] == r for x in results)]
    seeds = {r: len({x["seed"] for x in results if x["row"] == r}) for r in rows}
    x = np.arange(len(rows))
    fig, axes = plt.subplots(len(PANELS), 1, figsize=(11, 9), sharex=True)
    for ax, (title, fn) in zip(axes, PANELS):
        if fn is None:
            series = [("ours C", "ours", lambda r: r.get("r_C", np.nan), "#1f77b4"),
                      ("ours F", "ours", lambda r: r.get("r_F", np.nan), "#9ecae1"),
                      ("suite2p F", "suite2p", lambda r: r.get("r_F", np.nan), "#ff7f0e")]
        else:
            series = [("ours", "ours", fn, "#1f77b4"), ("suite2p", "suite2p", fn, "#ff7f0e")]
        w = 0.8 / len(series)
        lo = np.inf
        for i, (label, tool, f, colour) in enumerate(series):
            vals = np.array([_mean(results, row, tool, f) for row in rows])
            ax.bar(x + (i - (len(series) - 1) / 2) * w, vals, w, label=label, color=colour)
            if np.isfinite(vals).any():
                lo = min(lo, np.nanmin(vals))
        if "RMSE" not in title and np.isfinite(lo):
            ax.set_ylim(max(0.0, lo - 0.05), 1.0)
        ax.set_ylabel(title, fontsize=9)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(x, [f"{r}\n({seeds[r]} seed{'s' if seeds[r] > 1 else ''})" for r in rows], fontsize=8)
    fig.suptitle("cnmf-gui (defaults, only --fs) and suite2p 1.1.0 on realistic synthetic movies",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(out, dpi=80)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="results.json of benchmarks.accuracy runs")
    ap.add_argument("--out", required=True, help="PNG to write")
    args = ap.parse_args(argv)
    results = combine(args.results)       # the last run's result for each (row, seed)
    draw(results, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

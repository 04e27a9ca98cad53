"""The accuracy sweep's Markdown table from several runs: mean and spread over seeds, and commits.

Run from the repository root on the ``results.json`` files written by benchmarks/accuracy.py::

    python -m benchmarks.accuracy_table RUN1/results.json RUN2/results.json ... [--out table.md]

Runs are read in the order given; for each (row, seed) the result of the *last* run that has it
is kept, so re-measuring some rows after an engine change (``--cache`` reuses suite2p's output)
replaces only those. Each cell is ``ours / suite2p``: the mean over seeds, with ``±`` half the
range over seeds when there are several; the last columns give the seeds and the commit(s) each
row was measured at (ours; suite2p's output does not depend on our code).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from benchmarks.accuracy import COLUMNS, ROWS

#: Decimals of each column in the table.
DIGITS = {"RMSE": 3, "worst": 2, ">0.5": 0, "F1acc": 3, "F1all": 3, "r(C)": 3, "r(F)": 3, "r(S)": 3,
          "time": 0}


def combine(paths) -> list[dict]:
    """Results of several runs, the last run's result kept for each (row, seed)."""
    kept: dict = {}
    for path in paths:
        for res in json.loads(Path(path).read_text()):
            kept[(res["row"], res["seed"])] = res
    return [kept[k] for k in sorted(kept, key=lambda k: (list(ROWS).index(k[0]), k[1]))]


def _values(results, tool, fn):
    vals = []
    for r in results:
        if tool in r and "error" not in r[tool]:
            v = fn(r[tool])
            if v is not None and np.isfinite(v):
                vals.append(float(v))
    return vals


def _cell(vals, digits):
    if not vals:
        return "-"
    text = f"{np.mean(vals):.{digits}f}"
    if len(vals) > 1:
        text += f"±{(max(vals) - min(vals)) / 2:.{digits}f}"
    return text


def markdown(results: list[dict]) -> str:
    """One line per row: ``ours / suite2p`` per column, the seeds and the commits."""
    names = [c for c, _, _ in COLUMNS if c != "acc/all"]
    head = ("| row | condition | " + " | ".join(f"{c} ours / s2p" for c in names)
            + " | seeds | commit |")
    lines = [head, "|" + " --- |" * (4 + len(names))]
    for row in ROWS:
        rs = [r for r in results if r["row"] == row]
        if not rs:
            continue
        cells = []
        for name, fn, _ in COLUMNS:
            if name == "acc/all":
                continue
            pair = [_cell(_values(rs, tool, fn), DIGITS[name]) for tool in ("ours", "suite2p")]
            cells.append(" / ".join(pair))
        failed = [f"{r['seed']}" for r in rs if "error" in r.get("ours", {})]
        seeds = ",".join(str(r["seed"]) for r in rs) + (f" (ours failed: {','.join(failed)})" if failed else "")
        commits = ",".join(sorted({str(r.get("commit", "?")) for r in rs}))
        lines.append(f"| {row} | {ROWS[row][0]} | " + " | ".join(cells) + f" | {seeds} | {commits} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="results.json of benchmarks.accuracy runs, oldest first")
    ap.add_argument("--out", help="also write the table to this file")
    ap.add_argument("--json", help="write the combined results (one per row and seed) to this file")
    args = ap.parse_args(argv)
    results = combine(args.results)
    text = markdown(results)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

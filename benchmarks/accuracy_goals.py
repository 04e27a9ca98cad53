"""Issue 10's "must show" goals, row by row, from the accuracy sweep's results: met or not, with the numbers.

Run from the repository root on the ``results.json`` files written by benchmarks/accuracy.py::

    python -m benchmarks.accuracy_goals RUN1/results.json RUN2/results.json ... [--out goals.md]

As in benchmarks/accuracy_table.py, the last run given that has a (row, seed) wins. Each goal
is judged on the row's mean over its seeds (the numbers of the table), except the worst frame,
which is the worst over every seed; a seed whose RMSE is above suite2p's is named in the text:

- **motion**: our shift RMSE <= suite2p's, and no frame of ours off by more than 0.5 px;
- **F1**: accepted-component F1 >= 0.95 where suite2p's is >= 0.9, and never more than 0.02
  below suite2p's;
- **C vs F**: our median r(C) with the true calcium >= our median r(F);
- **spikes**: our median r(S) >= 0.95 on rows where suite2p's reaches 0.95 (otherwise n/a).

The issue's named movies also carry absolute targets (A: RMSE <= 0.1 px, F1 >= 0.95; B: 0.15
px, 0.95; C: 0.08 px, 0.97; trace r >= 0.99, spike r >= 0.95), printed as a second table.
A goal that cannot be judged (a tool failed or is absent) is "n/a", never "met".
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from benchmarks.accuracy import ROWS
from benchmarks.accuracy_table import combine

MAX_FRAME_PX = 0.5
F1_GOAL, F1_WHERE_S2P, F1_SLACK = 0.95, 0.9, 0.02
SPIKE_GOAL = 0.95
#: Issue 10's absolute targets for its named movies: (shift RMSE px, accepted F1).
NAMED = {"A": (0.10, 0.95), "B": (0.15, 0.95), "C": (0.08, 0.97)}
TRACE_R_GOAL = 0.99


def _mean(rs, tool, key):
    """Mean over seeds of one figure of a tool, NaN when no seed has it."""
    vals = []
    for r in rs:
        res = r.get(tool)
        if not res or "error" in res:
            continue
        v = key(res)
        if v is not None and np.isfinite(v):
            vals.append(float(v))
    return float(np.mean(vals)) if vals else float("nan")


def _ok(r, tool):
    return tool in r and "error" not in r[tool]


def _worst(rs, tool):
    vals = [r[tool]["shift"]["worst"] for r in rs if tool in r and "error" not in r[tool]]
    return max(vals) if vals else float("nan")


def _goal(met, text):
    """``met`` is True, False or None (n/a: a number is missing)."""
    return {"met": None if met is None else bool(met), "text": text}


def _known(*vals):
    return all(np.isfinite(v) for v in vals)


def check_row(rs: list[dict]) -> dict:
    """The four goals of one row (its results over seeds).

    Returns
    -------
    dict
        ``motion``, ``f1``, ``traces``, ``spikes``: each ``{"met": bool | None, "text": str}``.
    """
    rmse = _mean(rs, "ours", lambda r: r["shift"]["rmse"])
    rmse_s2p = _mean(rs, "suite2p", lambda r: r["shift"]["rmse"])
    worst = _worst(rs, "ours")
    f1 = _mean(rs, "ours", lambda r: r["accepted"]["f1"])
    f1_s2p = _mean(rs, "suite2p", lambda r: r["accepted"]["f1"])
    r_c = _mean(rs, "ours", lambda r: r.get("r_C"))
    r_f = _mean(rs, "ours", lambda r: r.get("r_F"))
    r_s = _mean(rs, "ours", lambda r: r.get("r_S"))
    r_s_s2p = _mean(rs, "suite2p", lambda r: r.get("r_S"))
    out = {}

    text = f"RMSE {rmse:.3f} vs s2p {rmse_s2p:.3f}, worst {worst:.2f} px"
    # the goal is judged on the row's mean; a seed where ours is above suite2p is still named
    above = [f"seed {r['seed']}: {r['ours']['shift']['rmse']:.3f} > {r['suite2p']['shift']['rmse']:.3f}"
             for r in rs if _ok(r, "ours") and _ok(r, "suite2p")
             and r["ours"]["shift"]["rmse"] > r["suite2p"]["shift"]["rmse"]]
    text += f" ({'; '.join(above)})" if above else ""
    out["motion"] = _goal((rmse <= rmse_s2p and worst <= MAX_FRAME_PX) if _known(rmse, rmse_s2p, worst)
                          else None, text)

    text = f"F1 {f1:.3f} vs s2p {f1_s2p:.3f}"
    if not _known(f1, f1_s2p):
        out["f1"] = _goal(None, text)
    else:
        near = f1 >= f1_s2p - F1_SLACK
        high = f1 >= F1_GOAL if f1_s2p >= F1_WHERE_S2P else True
        why = [] if near else [f"> {F1_SLACK} below s2p"]
        why += [] if high else [f"< {F1_GOAL} where s2p >= {F1_WHERE_S2P}"]
        out["f1"] = _goal(near and high, text + (f" ({'; '.join(why)})" if why else ""))

    out["traces"] = _goal(r_c >= r_f if _known(r_c, r_f) else None,
                          f"r(C) {r_c:.4f} vs r(F) {r_f:.4f} (C - F {r_c - r_f:+.4f})")

    text = f"r(S) {r_s:.3f}, s2p {r_s_s2p:.3f}"
    if not _known(r_s, r_s_s2p):
        out["spikes"] = _goal(None, text)
    elif r_s_s2p < SPIKE_GOAL:
        out["spikes"] = _goal(None, text + f" (s2p < {SPIKE_GOAL}: not required)")
    else:
        out["spikes"] = _goal(r_s >= SPIKE_GOAL, text)
    return out


def check_named(rs: list[dict], row: str) -> dict:
    """Issue 10's absolute targets on its named movie ``row`` (A, B or C)."""
    rmse_goal, f1_goal = NAMED[row]
    rmse = _mean(rs, "ours", lambda r: r["shift"]["rmse"])
    f1 = _mean(rs, "ours", lambda r: r["accepted"]["f1"])
    r_c = _mean(rs, "ours", lambda r: r.get("r_C"))
    r_s = _mean(rs, "ours", lambda r: r.get("r_S"))
    return {"motion": _goal(rmse <= rmse_goal if _known(rmse) else None, f"RMSE {rmse:.3f} (<= {rmse_goal})"),
            "f1": _goal(f1 >= f1_goal if _known(f1) else None, f"F1 {f1:.3f} (>= {f1_goal})"),
            "traces": _goal(r_c >= TRACE_R_GOAL if _known(r_c) else None, f"r(C) {r_c:.3f} (>= {TRACE_R_GOAL})"),
            "spikes": _goal(r_s >= SPIKE_GOAL if _known(r_s) else None, f"r(S) {r_s:.3f} (>= {SPIKE_GOAL})")}


def check(results: list[dict]) -> dict:
    """``{row: goals}`` for every row present, in the sweep's order, and ``{row: named goals}``."""
    rows = [row for row in ROWS if any(r["row"] == row for r in results)]
    by_row = {row: [r for r in results if r["row"] == row] for row in rows}
    return ({row: check_row(rs) for row, rs in by_row.items()},
            {row: check_named(rs, row) for row, rs in by_row.items() if row in NAMED})


def _word(goal):
    return {True: "met", False: "**NOT MET**", None: "n/a"}[goal["met"]]


def markdown(goals: dict, named: dict, results: list[dict]) -> str:
    """The checklist as Markdown: one line per row, then the named movies' targets and a tally."""
    names = ["motion", "f1", "traces", "spikes"]
    heads = ["motion: RMSE <= s2p, no frame > 0.5 px", "accepted F1 (>= 0.95 where s2p >= 0.9; >= s2p - 0.02)",
             "r(C) >= r(F)", "r(S) >= 0.95 where s2p >= 0.95"]
    lines = ["| row | seeds | " + " | ".join(heads) + " |", "|" + " --- |" * (2 + len(heads))]
    for row, g in goals.items():
        seeds = ",".join(str(r["seed"]) for r in results if r["row"] == row)
        lines.append(f"| {row} | {seeds} | " + " | ".join(f"{_word(g[n])}: {g[n]['text']}" for n in names) + " |")
    tally = {n: (sum(g[n]["met"] is True for g in goals.values()), sum(g[n]["met"] is False for g in goals.values()))
             for n in names}
    lines.append("")
    lines.append("Met / not met over rows: " + "; ".join(f"{n} {m} / {f}" for n, (m, f) in tally.items()) + ".")
    if named:
        lines += ["", "| movie | RMSE | accepted F1 | trace r | spike r |", "| --- | --- | --- | --- | --- |"]
        for row, g in named.items():
            lines.append(f"| {row} | " + " | ".join(f"{_word(g[n])}: {g[n]['text']}" for n in names) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", help="results.json of benchmarks.accuracy runs, oldest first")
    ap.add_argument("--out", help="also write the checklist to this file")
    args = ap.parse_args(argv)
    missing = [p for p in args.results if not Path(p).is_file()]
    if missing:
        print(f"accuracy_goals: no such results file: {missing[0]}", file=sys.stderr)
        return 2
    results = combine(args.results)
    goals, named = check(results)
    text = markdown(goals, named, results)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``cnmf-gui deconvolve-traces``: spikefinder-style CSVs and NPY in, three CSVs out."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from scipy import signal

from cnmf_gui.cli import main
from cnmf_gui.cli.verb_deconvolve_traces import output_paths, read_traces
from tests.conftest import data_file


def simulate(T, seed, g=0.9):
    rng = np.random.default_rng(seed)
    spikes = (rng.random(T) < 0.03) * 1.0
    return signal.lfilter([1.0], [1.0, -g], spikes) + 0.3 + 0.1 * rng.standard_normal(T)


def write_csv(path, header, columns):
    T = max(len(c) for c in columns)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        if header is not None:
            w.writerow(header)
        for t in range(T):
            w.writerow([repr(float(c[t])) if t < len(c) else "" for c in columns])


def read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_round_trip_with_padding(tmp_path):
    cols = [simulate(400, 0), simulate(300, 1)]
    src = tmp_path / "cells.csv"
    write_csv(src, ["0", "1"], cols)
    out = tmp_path / "result.csv"
    assert main(["deconvolve-traces", str(src), "--fs", "30", "--out", str(out), "--p", "1"]) == 0
    traces, spikes, summary = output_paths(out)
    assert traces == out and spikes.name == "result.spikes.csv" and summary.name == "result.summary.csv"
    rows = read_csv(traces)
    assert rows[0] == ["0", "1"] and len(rows) == 401
    assert rows[-1][1] == "" and rows[300][1] != "" and rows[301][1] == ""  # padding kept
    names, back = read_traces(str(spikes))
    assert [b.size for b in back] == [400, 300] and all(b.min() >= 0 for b in back)
    summ = read_csv(summary)
    assert summ[0] == ["name", "frames", "sigma", "g1", "g2", "tau_decay_s", "tau_rise_s",
                       "baseline", "lambda", "epsilon", "status"]
    assert [r[0] for r in summ[1:]] == ["0", "1"] and summ[2][1] == "300"
    g1 = float(summ[1][3])
    assert float(summ[1][5]) == pytest.approx(-1 / (30 * np.log(g1)))
    assert float(summ[1][2]) == pytest.approx(0.1, rel=0.3)


def test_npy_and_named_header(tmp_path):
    arr = np.stack([simulate(200, 2), simulate(200, 3)], axis=1)
    np.save(tmp_path / "t.npy", arr)
    assert main(["deconvolve-traces", str(tmp_path / "t.npy"), "--fs", "10", "--out",
                 str(tmp_path / "o.csv"), "--p", "2", "--epsilon", "0.1", "--s-min", "-2"]) == 0
    assert read_csv(tmp_path / "o.csv")[0] == ["0", "1"]
    assert {r[-1] for r in read_csv(tmp_path / "o.summary.csv")[1:]} <= {"thresholded", "zero"}
    write_csv(tmp_path / "n.csv", ["cell_a", "cell_b"], [simulate(100, 4), simulate(100, 5)])
    names, traces = read_traces(str(tmp_path / "n.csv"))
    assert names == ["cell_a", "cell_b"] and traces[0].size == 100
    write_csv(tmp_path / "h.csv", None, [simulate(100, 4)])
    names, traces = read_traces(str(tmp_path / "h.csv"))
    assert traces[0].size == 100  # a first row of data is not mistaken for a header


@pytest.mark.parametrize("content,match", [
    ("a,b\n1,2\n,3\n4,5\n5,6\n6,7\n", r"column 'a' has a missing value at frame 1"),
    ("a,b\n1,2\nx,3\n4,5\n", r"column 'a' line 3: 'x' is not a number"),
    ("a,b\n1,2\n2,3\n", r"at least 4"),
    ("", "no traces"),
])
def test_bad_csv_is_one_clear_line(tmp_path, capsys, content, match):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    out = tmp_path / "out.csv"
    assert main(["deconvolve-traces", str(src), "--fs", "30", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "bad.csv" in err
    import re
    assert re.search(match, err), err
    assert not out.exists() and not list(tmp_path.glob(".out*"))  # nothing half-written


def test_bad_options_and_no_overwrite(tmp_path, capsys):
    src = tmp_path / "in.csv"
    write_csv(src, ["0"], [simulate(50, 0)])
    assert main(["deconvolve-traces", str(src), "--fs", "0", "--out", str(tmp_path / "o.csv")]) == 2
    assert "--fs" in capsys.readouterr().err
    assert main(["deconvolve-traces", str(src), "--fs", "30", "--out", str(src)]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert main(["deconvolve-traces", str(src), "--fs", "30", "--epsilon", "-1", "--out",
                 str(tmp_path / "o.csv")]) == 2
    assert "epsilon" in capsys.readouterr().err
    assert main(["deconvolve-traces", str(tmp_path / "missing.csv"), "--fs", "30", "--out",
                 str(tmp_path / "o.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
    src.with_suffix(".txt").write_text("1\n2\n")
    assert main(["deconvolve-traces", str(tmp_path / "in.json"), "--fs", "30", "--out",
                 str(tmp_path / "o.csv")]) == 2


def test_real_subprocess_on_spikefinder(tmp_path):
    """The installed entry point on a real spikefinder file (NaN-padded columns)."""
    src = data_file("spikefinder/6.train.calcium.csv")
    out = tmp_path / "six.csv"
    proc = subprocess.run([sys.executable, "-m", "cnmf_gui", "deconvolve-traces", str(src), "--fs", "100",
                           "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    names, spikes = read_traces(str(out.with_suffix("").as_posix() + ".spikes.csv"))
    _, calcium = read_traces(str(src))
    assert len(names) == 9 and [s.size for s in spikes] == [c.size for c in calcium]
    statuses = [r[-1] for r in read_csv(tmp_path / "six.summary.csv")[1:]]
    assert statuses == ["optimal"] * 9

"""Inputs that gave tracebacks (issue 12 item 9) now give one line and exit 2, or a right answer.

--params naming a binary file or a deeply nested JSON; deconvolve-traces on a 0-byte .npy and
on values near 1e300 (now deconvolved exactly, by a power-of-two rescaling); make-demo with
--fs nan/inf, --seed -1, --size 8 100000 --frames 2, --frames 1 --size 8 8.
"""

import numpy as np
import pytest

from cnmf_gui.cli import main


def _one_line_error(capsys, argv, fragment):
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip()
    assert fragment in err, err
    assert "\n" not in err and "Traceback" not in err


@pytest.mark.parametrize("content, fragment", [
    (bytes(range(256)) * 8, "is not a text file"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
    (b'{"deconvolution": ' * 3000 + b"1" + b"}" * 3000, "nested too deeply"),
    (b'{"deconvolution": {"epsilon": NaN}}', "NaN"),
    (b'{"frame_rate": -3}', "frame_rate"),
])
def test_bad_params_files_are_one_line(tmp_path, capsys, content, fragment):
    params = tmp_path / "p.json"
    params.write_bytes(content)
    movie = tmp_path / "m.npy"
    np.save(movie, np.zeros((5, 16, 16), np.float32))
    _one_line_error(capsys, ["motion", str(movie), "--out", str(tmp_path / "c.h5"), "--params", str(params)],
                    fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npy", "p.json"]


@pytest.mark.parametrize("args, fragment", [
    (["--fs", "nan"], "--fs"), (["--fs", "inf"], "--fs"), (["--seed", "-1"], "--seed"),
    (["--size", "8", "100000", "--frames", "2"], "--size"), (["--frames", "1", "--size", "8", "8"], "--size"),
    (["--frames", "0"], "--frames"), (["--neurons", "100000", "--size", "16", "16"], "--neurons"),
    (["--frames", "100000", "--size", "2000", "2000"], "GiB"),
])
def test_make_demo_bad_arguments(tmp_path, capsys, args, fragment):
    _one_line_error(capsys, ["make-demo", str(tmp_path / "d.tif")] + args, fragment)
    assert list(tmp_path.iterdir()) == []


def test_make_demo_one_frame_and_small_frames_work(tmp_path):
    assert main(["make-demo", str(tmp_path / "d.npy"), "--frames", "1", "--size", "12", "12"]) == 0
    assert np.load(tmp_path / "d.npy").shape == (1, 12, 12)


def test_empty_and_archive_npy_traces(tmp_path, capsys):
    (tmp_path / "e.npy").write_bytes(b"")
    _one_line_error(capsys, ["deconvolve-traces", str(tmp_path / "e.npy"), "--fs", "30", "--out",
                             str(tmp_path / "o.csv")], "empty or truncated")
    np.save(tmp_path / "z.npy", np.ones(50, complex))
    _one_line_error(capsys, ["deconvolve-traces", str(tmp_path / "z.npy"), "--fs", "30", "--out",
                             str(tmp_path / "o.csv")], "complex128")


def _summary(path):
    lines = path.read_text().splitlines()
    return dict(zip(lines[0].split(","), lines[1].split(",")))


@pytest.mark.parametrize("factor", [1e300, 1e-250, 1.5e307 / 3])
def test_extreme_magnitudes_deconvolve_as_their_rescaled_trace(tmp_path, factor):
    rng = np.random.default_rng(4)
    y = np.zeros(300)
    for t in range(1, 300):
        y[t] = 0.9 * y[t - 1] + (rng.random() < 0.05)
    y += 0.1 * rng.normal(size=300)
    np.save(tmp_path / "a.npy", y)
    np.save(tmp_path / "b.npy", y * factor)
    for name in "ab":
        assert main(["deconvolve-traces", str(tmp_path / f"{name}.npy"), "--fs", "30", "--out",
                     str(tmp_path / f"{name}_out.csv")]) == 0
    a, b = _summary(tmp_path / "a_out.summary.csv"), _summary(tmp_path / "b_out.summary.csv")
    assert a["status"] == b["status"] == "optimal"
    assert float(b["g1"]) == pytest.approx(float(a["g1"]), rel=1e-9)
    for key in ("sigma", "baseline", "lambda"):
        assert float(b[key]) == pytest.approx(float(a[key]) * factor, rel=1e-9)
    spikes_a = np.loadtxt(tmp_path / "a_out.spikes.csv", skiprows=1)
    spikes_b = np.loadtxt(tmp_path / "b_out.spikes.csv", skiprows=1)
    np.testing.assert_allclose(spikes_b, spikes_a * factor, rtol=1e-9, atol=1e-12 * factor)


def test_run_reads_the_axes_it_is_told(tmp_path, capsys):
    """`run --axes` (issue 12, also found: run had no --axes/--plane to correct the metadata)."""
    from cnmf_gui.io import load_session
    from cnmf_gui.synthetic import make_movie

    movie = make_movie(n_frames=60, shape=(24, 20), n_neurons=3, seed=1, motion="none").movie
    np.save(tmp_path / "hwt.npy", np.ascontiguousarray(np.moveaxis(movie, 0, -1)))  # rows, columns, time
    assert main(["run", str(tmp_path / "hwt.npy"), "--out", str(tmp_path / "s.h5"), "--fs", "10",
                 "--axes", "hwt", "--no-motion", "--quiet"]) == 0
    data = load_session(tmp_path / "s.h5")
    assert tuple(data.movie_shape) == (60, 24, 20)
    assert data.movie_options.get("axes") == "hwt"
    capsys.readouterr()  # the run's own warnings (few components on so small a movie)
    _one_line_error(capsys, ["run", str(tmp_path / "hwt.npy"), "--out", str(tmp_path / "t.h5"), "--fs", "10",
                             "--axes", "xyz"],
                    "axes")

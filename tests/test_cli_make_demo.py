"""`cnmf-gui make-demo` and the shared error path."""

import subprocess
import sys

import h5py
import numpy as np
import tifffile

from cnmf_gui.cli import main


def test_make_demo_writes_movie_and_truth(tmp_path, capsys):
    out = tmp_path / "demo.tif"
    assert main(["make-demo", str(out), "--frames", "20", "--size", "32", "40", "--neurons", "3"]) == 0
    movie = tifffile.imread(out)
    assert movie.shape == (20, 32, 40)
    with h5py.File(tmp_path / "demo.truth.h5") as fh:
        assert fh["footprints"].shape[1:] == (32, 40)
        assert fh["shifts"].shape == (20, 2)
    assert "20 x 32 x 40" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.tif", "demo.truth.h5"]


def test_make_demo_bad_extension_is_one_line_exit_2(tmp_path, capsys):
    assert main(["make-demo", str(tmp_path / "demo.xyz")]) == 2
    err = capsys.readouterr().err.strip()
    assert "demo.xyz" in err and ".tif" in err and "\n" not in err
    assert list(tmp_path.iterdir()) == []


def test_version_and_module_entry_point():
    res = subprocess.run([sys.executable, "-m", "cnmf_gui", "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout.startswith("cnmf-gui ")

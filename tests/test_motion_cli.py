"""The ``cnmf-gui motion`` verb: one pass from a movie file to a corrected file with its QC."""

from __future__ import annotations

import json
import subprocess
import sys

import h5py
import numpy as np
import pytest
import tifffile

from cnmf_gui.cli import main
from cnmf_gui.io.writers import read_motion

from tests.test_motion_rigid import rmse, textured_movie


@pytest.fixture()
def movie_file(tmp_path):
    rng = np.random.default_rng(3)
    truth = rng.uniform(-2.5, 2.5, (40, 2))
    path = tmp_path / "raw.npy"
    np.save(path, np.round(textured_movie(truth, shape=(64, 72)) * 20).astype(np.uint16))
    return path, truth


def test_motion_verb_writes_corrected_hdf5_with_motion_group(tmp_path, movie_file, capsys):
    path, truth = movie_file
    out = tmp_path / "corrected.h5"
    assert main(["motion", str(path), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "correlation:" in text and "crispness:" in text and str(out) in text
    assert "flagged:      0 frames" in text
    result = read_motion(out)
    assert rmse(result.shifts, truth) < 0.05
    with h5py.File(out, "r") as fh:
        mov = fh["mov"][()]
        assert mov.shape == (40, 64, 72) and fh["mov"].attrs["source"].endswith("raw.npy")
    # The corrected frames agree with each other better than the raw ones (down to the noise).
    inner = (slice(None), slice(8, -8), slice(8, -8))
    raw = np.load(path).astype(np.float32)
    assert mov[inner].std(axis=0).mean() < 0.6 * raw[inner].std(axis=0).mean()


def test_motion_verb_pw_rigid_with_params_file_and_tiff_output(tmp_path, movie_file):
    path, _ = movie_file
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"motion": {"patch_size": 32, "patch_overlap": 16, "max_shift": 6}}))
    out = tmp_path / "corrected.tif"
    assert main(["motion", str(path), "--out", str(out), "--pw-rigid", "--params", str(params)]) == 0
    assert tifffile.imread(out).shape == (40, 64, 72)
    result = read_motion(tmp_path / "corrected.motion.h5")
    assert result.shifts_pw.shape == (40, 3, 4, 2)


@pytest.mark.parametrize("make_args, message", [
    (lambda d, raw: ["motion", str(d / "missing.tif"), "--out", str(d / "o.h5")], "missing.tif"),
    (lambda d, raw: ["motion", str(raw), "--out", str(d / "o.avi")], "expected a .h5"),
    (lambda d, raw: ["motion", str(raw), "--out", str(d / "o.h5"), "--params", str(d / "bad.json")],
     "motion.max_shift"),
    (lambda d, raw: ["motion", str(raw), "--out", str(d / "o.h5"), "--pw-rigid", "--params", str(d / "big.json")],
     "motion.patch_size"),
])
def test_motion_verb_bad_input_is_one_line_exit_2(tmp_path, movie_file, capsys, make_args, message):
    raw, _ = movie_file
    (tmp_path / "bad.json").write_text(json.dumps({"motion": {"max_shift": -1}}))
    (tmp_path / "big.json").write_text(json.dumps({"motion": {"patch_size": 128, "patch_overlap": 16}}))
    assert main(make_args(tmp_path, raw)) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnmf-gui motion: error:") and message in err and "\n" not in err
    assert not (tmp_path / "o.h5").exists()


def test_motion_verb_refuses_to_overwrite_its_input(tmp_path):
    raw = tmp_path / "raw.h5"
    with h5py.File(raw, "w") as fh:
        fh["data"] = np.zeros((3, 16, 16), np.float32)
    before = raw.read_bytes()
    result = subprocess.run([sys.executable, "-m", "cnmf_gui", "motion", str(raw), "--out", str(raw)],
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert "is the input movie" in result.stderr and "Traceback" not in result.stderr
    assert raw.read_bytes() == before


def test_motion_verb_refuses_to_overwrite_an_hdf5_named_with_its_dataset(tmp_path, capsys):
    raw = tmp_path / "raw.hdf5"
    with h5py.File(raw, "w") as fh:
        fh["data"] = np.zeros((3, 16, 16), np.float32)
    assert main(["motion", f"{raw}:/data", "--out", str(raw)]) == 2
    assert "is the input movie" in capsys.readouterr().err


def test_run_summary_counts_flagged_frames(tmp_path, capsys):
    from tests.motion_scenes import resampled_movie

    movie, _ = resampled_movie(n_frames=120, shape=(64, 72), n_cells=10, seed=4)
    movie[[30, 70]] = 0.0                      # two blank frames
    path = tmp_path / "raw.npy"
    np.save(path, movie)
    out = tmp_path / "s.h5"
    assert main(["run", str(path), "--out", str(out), "--fs", "30", "--quiet"]) == 0
    assert "motion: 2 flagged frames" in capsys.readouterr().out

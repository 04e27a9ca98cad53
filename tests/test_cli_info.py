"""``cnmf-gui info`` and ``cnmf-gui export``: output, and one line + exit 2 for bad input."""

from __future__ import annotations

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import tifffile

from cnmf_gui.cli import main
from cnmf_gui.io import save_session
from tests.conftest import ROOT, data_file
from tests.test_export_csv import _session


def _run(capsys, *argv):
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_info_on_the_real_compressed_tiff(capsys):
    path = data_file("mouse2p/mouse2p_2000x128x128.tiff")
    status, out, err = _run(capsys, "info", str(path))
    assert status == 0, err
    assert "2000 x 128 x 128 uint16" in out
    assert "frame rate:   unknown" in out
    assert "packbits" in out
    assert "66.5 MB" in out  # size on disk


def test_info_options_and_frame_rate(tmp_path, capsys):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f["a"] = np.zeros((9, 5, 3), np.float32)  # rows, cols, time
        f["b"] = np.zeros((2, 2, 2), np.float32)
        f["a"].attrs["frame_rate"] = 31.25
    status, out, err = _run(capsys, "info", str(path), "--dataset", "a", "--axes", "hwt")
    assert status == 0, err
    assert "3 x 9 x 5 float32" in out and "31.25 Hz" in out and "all finite" in out


def test_info_announces_a_guessed_axis_order_on_one_line(tmp_path, capsys):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        f["imaging"] = np.zeros((40, 30, 5), np.uint16)
    status, out, err = _run(capsys, "info", str(path))
    assert status == 0
    assert "5 x 40 x 30 uint16" in out
    assert err.count("\n") == 1 and "warning:" in err and "axes='thw'" in err


def test_info_series_from_several_files(tmp_path, capsys):
    for i in range(3):
        tifffile.imwrite(tmp_path / f"{i}.tif", np.full((4, 6), i, np.uint8))
    status, out, _ = _run(capsys, "info", *(str(tmp_path / f"{i}.tif") for i in range(3)))
    assert status == 0 and "3 x 4 x 6 uint8" in out and "tiff-series" in out


@pytest.mark.parametrize("make, match", [
    (lambda p: None, "not found"),
    (lambda p: p.write_text("hello"), "unknown movie format"),
    (lambda p: np.save(p.with_suffix(".npy"), np.zeros((4, 4))) or os.rename(p.with_suffix(".npy"), p.with_suffix(".tif")),
     "not a valid TIFF"),
])
def test_info_bad_input_is_one_line_and_exit_2(tmp_path, capsys, make, match):
    path = tmp_path / "bad.txt"
    make(path)
    target = path.with_suffix(".tif") if match == "not a valid TIFF" else path
    status, out, err = _run(capsys, "info", str(target))
    assert status == 2
    assert err.startswith("cnmf-gui info: error: ") and err.count("\n") == 1
    assert match in err and "Traceback" not in err


def test_info_reports_nan_and_exits_2(tmp_path, capsys):
    data = np.zeros((10, 4, 4), np.float32)
    data[6, 1, 1] = np.nan
    np.save(tmp_path / "nan.npy", data)
    status, out, err = _run(capsys, "info", str(tmp_path / "nan.npy"))
    assert "10 x 4 x 4 float32" in out
    assert status == 2 and "1 NaN or infinite value(s) in 1 frame(s) (first: 6)" in err
    status, out, _ = _run(capsys, "info", str(tmp_path / "nan.npy"), "--no-check")
    assert status == 0 and "not checked" in out


def test_info_bad_option_value(tmp_path, capsys):
    np.save(tmp_path / "m.npy", np.zeros((3, 4, 4)))
    status, _, err = _run(capsys, "info", str(tmp_path / "m.npy"), "--plane", "1")
    assert status == 2 and "plane=1 given but" in err


def test_info_summarises_a_session(tmp_path, capsys):
    save_session(_session(), tmp_path / "s.h5")
    status, out, _ = _run(capsys, "info", str(tmp_path / "s.h5"))
    assert status == 0 and "cnmf_gui session" in out
    assert "4 (2 accepted, 1 undecided, 1 rejected)" in out


def test_info_as_a_real_command():
    path = data_file("mouse2p/mouse2p_2000x128x128.tiff")
    done = subprocess.run([sys.executable, "-m", "cnmf_gui", "info", str(path)], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "2000 x 128 x 128 uint16" in done.stdout
    bad = subprocess.run([sys.executable, "-m", "cnmf_gui", "info", "/no/such/movie.tif"], capture_output=True,
                         text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "cnmf-gui info: error: movie file not found: /no/such/movie.tif"


def test_export_verb(tmp_path, capsys):
    save_session(_session(), tmp_path / "s.h5")
    status, out, err = _run(capsys, "export", str(tmp_path / "s.h5"), "--csv", str(tmp_path / "csv"))
    assert status == 0, err
    assert "exported 2 accepted components of 4" in out
    assert sorted(os.listdir(tmp_path / "csv")) == ["components.csv", "traces_C.csv", "traces_F.csv",
                                                    "traces_S.csv", "traces_dff.csv"]
    status, out, _ = _run(capsys, "export", str(tmp_path / "s.h5"), "--csv", str(tmp_path / "all"), "--all")
    assert status == 0 and "exported 4 components of 4" in out
    with open(tmp_path / "all" / "components.csv") as fh:
        assert len(fh.read().splitlines()) == 5


@pytest.mark.parametrize("argv, match", [
    (["export", "{tmp}/none.h5", "--csv", "{tmp}/out"], "session file not found"),
    (["export", "{tmp}/s.h5"], "give --csv DIR"),
    (["export", "{tmp}/movie.npy", "--csv", "{tmp}/out"], "not a cnmf_gui session file"),
])
def test_export_bad_input(tmp_path, capsys, argv, match):
    save_session(_session(), tmp_path / "s.h5")
    np.save(tmp_path / "movie.npy", np.zeros((2, 2, 2)))
    status, _, err = _run(capsys, *(a.format(tmp=tmp_path) for a in argv))
    assert status == 2 and match in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_session_summary_counts_every_status_of_the_table(tmp_path, capsys):
    """Inactive components (schema 2) are counted too; statuses that do not occur are left out."""
    from tests.test_session_file import _full_session

    save_session(_full_session(tmp_path), tmp_path / "s.h5")  # statuses 1, 0, -1, 2, 0
    assert main(["info", str(tmp_path / "s.h5")]) == 0
    assert "5 (1 accepted, 2 undecided, 1 rejected, 1 inactive)" in capsys.readouterr().out

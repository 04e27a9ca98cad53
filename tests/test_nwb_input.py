"""NWB movies in: the frames of a TwoPhotonSeries are the frames of the TIFF it was made from."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import numpy as np
import pytest
import tifffile

pynwb = pytest.importorskip("pynwb")

from cnmf_gui.errors import InputFileError  # noqa: E402
from cnmf_gui.io import open_movie  # noqa: E402


def _nwb_file(path, series, *, extra=None):
    """Write an NWB file with ``series``: a list of (kind, name, frames (T, H, W), rate, where)."""
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries
    from pynwb.ophys import OnePhotonSeries, OpticalChannel, TwoPhotonSeries

    nwb = NWBFile(session_description="test", identifier="x", session_start_time=datetime.now(timezone.utc))
    device = nwb.create_device(name="scope")
    plane = nwb.create_imaging_plane(name="plane", optical_channel=OpticalChannel(
        name="green", description="g", emission_lambda=510.0), device=device, description="d",
        excitation_lambda=920.0, imaging_rate=99.0, indicator="GCaMP6f", location="V1")
    module = None
    for kind, name, frames, rate, where in series:
        cls = TwoPhotonSeries if kind == "2p" else OnePhotonSeries
        # NWB stores an ImageSeries as [frame, x, y]: columns first.
        ts = cls(name=name, data=np.ascontiguousarray(frames.transpose(0, 2, 1)), imaging_plane=plane,
                 rate=rate, unit="a.u.")
        if where == "acquisition":
            nwb.add_acquisition(ts)
        else:
            module = module or nwb.create_processing_module(name="ophys", description="processed")
            module.add(ts)
    for item in extra or []:
        nwb.add_acquisition(TimeSeries(name=item, data=np.arange(5.0), unit="V", rate=1.0))
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _movie(T=12, H=10, W=7, seed=0):
    return np.random.default_rng(seed).integers(0, 4000, size=(T, H, W)).astype(np.uint16)


def test_same_frames_as_the_tiff(tmp_path):
    frames = _movie()
    tifffile.imwrite(tmp_path / "m.tif", frames)
    with open_movie(tmp_path / "m.tif") as tif:
        _nwb_file(tmp_path / "m.nwb", [("2p", "TwoPhotonSeries", tif[:], 30.0, "acquisition")])
        with open_movie(tmp_path / "m.nwb") as nwb:
            assert nwb.format == "nwb"
            assert nwb.shape == tif.shape == (12, 10, 7)
            assert nwb.frame_rate == 30.0
            np.testing.assert_array_equal(nwb[:], tif[:])
            np.testing.assert_array_equal(nwb[[5, 2]], tif[[5, 2]])
            assert "TwoPhotonSeries" in nwb.details["series"]


def test_one_photon_series_and_processing_series(tmp_path):
    frames = _movie(seed=1)
    # A corrected stack in a processing module does not compete with the acquired one.
    _nwb_file(tmp_path / "m.nwb", [("1p", "OnePhotonSeries", frames, 20.0, "acquisition"),
                                   ("2p", "corrected", frames[:, ::-1], 20.0, "processing")])
    with open_movie(tmp_path / "m.nwb") as movie:
        np.testing.assert_array_equal(movie[:], frames)
        assert movie.frame_rate == 20.0
    with open_movie(tmp_path / "m.nwb", dataset="corrected") as movie:
        np.testing.assert_array_equal(movie[:], frames[:, ::-1])


def test_two_series_need_dataset(tmp_path):
    a, b = _movie(seed=2), _movie(seed=3)
    path = _nwb_file(tmp_path / "two.nwb", [("2p", "green", a, 30.0, "acquisition"),
                                            ("2p", "red", b, 30.0, "acquisition")])
    with pytest.raises(InputFileError, match="holds 2 imaging series .*--dataset"):
        open_movie(path)
    with open_movie(path, dataset="red") as movie:
        np.testing.assert_array_equal(movie[:], b)
    with open_movie(path, dataset="/acquisition/green") as movie:
        np.testing.assert_array_equal(movie[:], a)
    with pytest.raises(InputFileError, match="no imaging series 'blue'.*green"):
        open_movie(path, dataset="blue")


def test_rows_first_file_that_says_so(tmp_path):
    """A writer that stored [frame, row, col] and a matching ``dimension`` [x, y] is read as such."""
    import h5py

    frames = _movie(H=6, W=9, seed=4)
    path = _nwb_file(tmp_path / "m.nwb", [("2p", "TwoPhotonSeries", frames, 15.0, "acquisition")])
    with h5py.File(path, "a") as h5:
        g = h5["acquisition/TwoPhotonSeries"]
        attrs = dict(g["data"].attrs)
        del g["data"]
        g["data"] = frames
        for k, v in attrs.items():
            g["data"].attrs[k] = v
        g["dimension"] = np.array([9, 6])  # x = 9 columns, y = 6 rows
    with open_movie(path) as movie:
        np.testing.assert_array_equal(movie[:], frames)


def test_cli_info_lists_the_series_and_bad_files_are_one_line(tmp_path, capsys):
    from cnmf_gui.cli import main

    a = _movie(seed=5)
    good = _nwb_file(tmp_path / "m.nwb", [("2p", "TwoPhotonSeries", a, 30.0, "acquisition"),
                                          ("2p", "corrected", a, 30.0, "processing")])
    assert main(["info", str(good)]) == 0
    out = capsys.readouterr().out
    assert "nwb" in out and "12 x 10 x 7" in out and "30 Hz" in out
    assert "/acquisition/TwoPhotonSeries (TwoPhotonSeries" in out and "/processing/ophys/corrected" in out

    empty = _nwb_file(tmp_path / "empty.nwb", [], extra=["voltage"])
    assert main(["info", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "holds no TwoPhotonSeries or OnePhotonSeries" in err and err.count("\n") == 1

    two = _nwb_file(tmp_path / "two.nwb", [("2p", "a", a, 30.0, "acquisition"), ("1p", "b", a, 30.0, "acquisition")])
    assert main(["info", str(two)]) == 2
    err = capsys.readouterr().err
    assert "holds 2 imaging series" in err and "--dataset" in err and err.count("\n") == 1
    assert main(["info", str(two), "--dataset", "b"]) == 0


def test_reader_needs_no_pynwb(tmp_path):
    """pynwb is an optional extra: the reader goes through h5py only."""
    _nwb_file(tmp_path / "m.nwb", [("2p", "TwoPhotonSeries", _movie(seed=6), 30.0, "acquisition")])
    code = ("import sys; sys.modules['pynwb'] = None; sys.modules['hdmf'] = None\n"
            "from cnmf_gui.io import open_movie\n"
            f"m = open_movie({str(tmp_path / 'm.nwb')!r}); print(m.shape, m.frame_rate)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "(12, 10, 7) 30.0"


def test_real_recording_through_nwb(tmp_path):
    """The real mouse two-photon movie (first 500 frames), written as NWB, reads back frame for frame."""
    from tests.conftest import data_file
    from cnmf_gui.io import open_movie as read

    source = data_file("mouse2p/mouse2p_first500.h5")
    with read(source, dataset="data/image") as movie:
        frames = movie[:]
    path = _nwb_file(tmp_path / "mouse.nwb", [("2p", "TwoPhotonSeries", frames, 30.0, "acquisition")])
    with read(path) as nwb:
        assert nwb.shape == frames.shape == (500, 128, 128)
        np.testing.assert_array_equal(nwb[::7], frames[::7])
        np.testing.assert_array_equal(nwb[499], frames[499])

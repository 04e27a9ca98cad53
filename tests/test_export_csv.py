"""CSV export: read back with csv/numpy and compare exactly with the session."""

from __future__ import annotations

import csv
import os

import numpy as np
import pytest
import scipy.sparse as sp

from cnmf_gui.errors import UserError
from cnmf_gui.io import export_csv
from cnmf_gui.results import Components, SessionData


def _session(frame_rate=20.0, K=4, T=30, H=6, W=5, seed=3):
    rng = np.random.default_rng(seed)
    # Footprints with known centroids: component k covers two pixels with weights 1 and 3.
    A = np.zeros((H * W, K))
    pixels = [((0, 0), (0, 4)), ((5, 0), (1, 0)), ((2, 2), (3, 3)), ((5, 4), (5, 3))]
    for k, ((r1, c1), (r2, c2)) in enumerate(pixels[:K]):
        A[r1 * W + c1, k] = 1.0
        A[r2 * W + c2, k] = 3.0
    comps = Components(A=sp.csc_matrix(A), C=rng.random((K, T)).astype(np.float32),
                       S=rng.exponential(size=(K, T)), F=rng.normal(size=(K, T)) * 1e-7,
                       dff=rng.normal(size=(K, T)), baseline=rng.random(K), sn=rng.random(K),
                       epsilon=np.zeros(K), g=rng.random((K, 1)), status=np.array([1, -1, 0, 1])[:K],
                       ids=np.array([7, 12, 3, 40])[:K],
                       reason=np.array(["", "duplicate of 7", "inactive: no events", 'a, "b"'])[:K],
                       metrics={"snr": rng.random(K) * 10, "r_value": rng.random(K).astype(np.float32),
                                "per_frame": rng.random((K, T))})
    comps.dff[0, 5] = np.nan
    return SessionData(movie_path=None, movie_shape=(T, H, W), frame_rate=frame_rate, components=comps)


def _read(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def test_accepted_traces_round_trip_exactly(tmp_path):
    data = _session()
    written = export_csv(data, tmp_path / "out")
    assert [p.name for p in written] == ["traces_C.csv", "traces_S.csv", "traces_F.csv", "traces_dff.csv",
                                        "components.csv"]
    keep = [0, 3]  # accepted only
    for kind in ("C", "S", "F", "dff"):
        header, rows = _read(tmp_path / "out" / f"traces_{kind}.csv")
        assert header == ["frame", "time_s", "7", "40"]
        assert len(rows) == 30
        truth = getattr(data.components, kind)[keep]
        values = np.array([[float(v) for v in row[2:]] for row in rows]).T.astype(truth.dtype)
        np.testing.assert_array_equal(values, truth)  # exact, NaN included
        np.testing.assert_array_equal([int(r[0]) for r in rows], np.arange(30))
        np.testing.assert_array_equal([float(r[1]) for r in rows], np.arange(30) / 20.0)


def test_numpy_reads_the_tables(tmp_path):
    data = _session()
    export_csv(data, tmp_path)
    table = np.genfromtxt(tmp_path / "traces_C.csv", delimiter=",", names=True)
    np.testing.assert_array_equal(table["7"].astype(np.float32), data.components.C[0])


def test_component_table(tmp_path):
    data = _session()
    data.components.status[2] = 2  # inactive: a silent soma
    export_csv(data, tmp_path, include_all=True)
    header, rows = _read(tmp_path / "components.csv")
    assert header == ["id", "status", "centroid_row", "centroid_col", "area_px", "r_value", "snr", "reason"]
    assert [r[0] for r in rows] == ["7", "12", "3", "40"]
    assert [r[1] for r in rows] == ["accepted", "rejected", "inactive", "accepted"]
    assert [r[7] for r in rows] == ["", "duplicate of 7", "inactive: no events", 'a, "b"']
    # weights 1 and 3 -> centroid three quarters of the way to the heavier pixel
    expected = [(0.0, 3.0), (2.0, 0.0), (2.75, 2.75), (5.0, 3.25)]
    for row, (r, c) in zip(rows, expected):
        assert (float(row[2]), float(row[3])) == (r, c)
        assert row[4] == "2"
    np.testing.assert_array_equal([float(r[6]) for r in rows], data.components.metrics["snr"])
    np.testing.assert_array_equal(np.array([float(r[5]) for r in rows], np.float32),
                                  data.components.metrics["r_value"])
    header, _ = _read(tmp_path / "traces_S.csv")
    assert header == ["frame", "time_s", "7", "12", "3", "40"]


def test_unknown_frame_rate_leaves_time_empty(tmp_path):
    export_csv(_session(frame_rate=None), tmp_path)
    _, rows = _read(tmp_path / "traces_C.csv")
    assert all(r[1] == "" for r in rows)
    table = np.genfromtxt(tmp_path / "traces_C.csv", delimiter=",", names=True)
    assert np.isnan(table["time_s"]).all()


def test_no_components_or_bad_folder(tmp_path):
    with pytest.raises(UserError, match="no components"):
        export_csv(SessionData(movie_path=None, movie_shape=(3, 2, 2)), tmp_path)
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="it is a file"):
        export_csv(_session(), tmp_path / "file")


def test_export_replaces_files_atomically(tmp_path):
    export_csv(_session(seed=1), tmp_path)
    export_csv(_session(seed=2), tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["components.csv", "traces_C.csv", "traces_F.csv",
                                            "traces_S.csv", "traces_dff.csv"]
    _, rows = _read(tmp_path / "traces_C.csv")
    assert np.float32(rows[0][2]) == _session(seed=2).components.C[0, 0]

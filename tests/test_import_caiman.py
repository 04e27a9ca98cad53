"""CaImAn results in: an HDF5 file laid out as CaImAn's ``cnm.save('x.hdf5')`` writes it (estimates and
params groups, sparse A as data/indices/indptr/shape with column-major pixels, None as the text
'NoneType') imports with the true footprints, traces, background and statuses."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
import tifffile

from cnmf_gui.cli import main
from cnmf_gui.io import load_session
from cnmf_gui.session import Session
from cnmf_gui.session.importing import import_results


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    from cnmf_gui.synthetic.legacy import make_movie

    # Not square, so that a row/column mix-up cannot go unnoticed.
    sim = make_movie(n_frames=200, shape=(40, 56), n_neurons=6, frame_rate=10.0, seed=11)
    folder = tmp_path_factory.mktemp("caiman")
    tifffile.imwrite(folder / "movie.tif", sim.movie)
    return sim, folder / "movie.tif"


def _none(group, name):
    group[name] = np.bytes_("NoneType")


def write_caiman(path, sim, *, dims=None, evaluated=True, seed=0):
    """A result file in CaImAn's layout, from the synthetic truth (what a perfect CNMF would give)."""
    rng = np.random.default_rng(seed)
    K, H, W = sim.footprints.shape
    T = sim.traces.shape[1]
    # CaImAn's pixels are column-major (Fortran order) of the (rows, columns) frame.
    A = sp.csc_matrix(sim.footprints.reshape(K, -1, order="F").T.astype(np.float64))
    b = np.full((H * W, 1), 0.5)
    with h5py.File(path, "w") as h5:
        est = h5.create_group("estimates")
        for key in ("data", "indices", "indptr"):
            est[f"A/{key}"] = getattr(A, key)
        est["A/shape"] = np.array(A.shape)
        est["C"] = sim.traces.astype(np.float64)
        est["S"] = sim.spikes.astype(np.float64)
        est["YrA"] = rng.normal(0, 0.1, size=(K, T))
        est["b"] = b
        est["f"] = np.ones((1, T))
        est["dims"] = np.array(dims if dims is not None else (H, W))
        est["neurons_sn"] = np.full(K, 0.1)
        est["g"] = np.asarray(sim.g, float)
        est["bl"] = np.zeros(K)
        est["SNR_comp"] = np.linspace(1, 6, K)
        est["r_values"] = np.linspace(0.2, 0.9, K)
        _none(est, "cnn_preds")
        _none(est, "W")
        if evaluated:
            est["idx_components"] = np.arange(2, K)
            est["idx_components_bad"] = np.array([0, 1])
        else:
            _none(est, "idx_components")
            _none(est, "idx_components_bad")
        h5["dims"] = np.array((H, W))
        h5["params/data/fr"] = 10.0
        h5["params/data/decay_time"] = 0.4
        h5["params/temporal/p"] = 1
        _none(h5, "dview")
        h5["runmode"] = np.bytes_("CNMF")
    return path


def test_imports_footprints_traces_background_and_statuses(truth, tmp_path):
    sim, movie = truth
    path = write_caiman(tmp_path / "cnm.hdf5", sim)
    session = Session()
    import_results(session, path, movie)
    comps = session.components
    K = sim.footprints.shape[0]
    assert comps.n_components == K
    np.testing.assert_array_equal(comps.status, [-1, -1] + [1] * (K - 2))
    assert comps.reason[0].startswith("CaImAn: rejected (SNR 1.00, r 0.20")
    # Row-major footprints equal the true images: the column-major pixels were reordered.
    np.testing.assert_allclose(comps.A.toarray().T.reshape(K, 40, 56), sim.footprints, atol=1e-6)
    np.testing.assert_allclose(comps.C, sim.traces, atol=1e-6)
    np.testing.assert_allclose(comps.S, sim.spikes, atol=1e-6)
    with h5py.File(path) as h5:
        np.testing.assert_allclose(comps.F, h5["estimates/C"][()] + h5["estimates/YrA"][()])
    np.testing.assert_allclose(comps.metrics["caiman_r_value"], np.linspace(0.2, 0.9, K))
    assert "cnn" not in comps.metrics  # stored as 'NoneType'
    assert session.data.background.b.shape == (40 * 56, 1)
    assert session.frame_rate == 10.0 and session.data.motion is None
    entry = json.loads(session.data.curation_log[-1])
    assert entry["action"] == "import" and entry["tool"] == "caiman"
    assert entry["tool_settings"]["data"]["fr"] == 10.0
    # Curation works on it: merge refit, epsilon rerun, undo.
    before = session.components
    new_id = session.merge([int(session.ids[2]), int(session.ids[3])])
    session.deconvolve([new_id], epsilon=0.2)
    session.undo()
    session.undo()
    assert session.components is before


def test_not_evaluated_means_undecided(truth, tmp_path):
    sim, movie = truth
    session = Session()
    import_results(session, write_caiman(tmp_path / "cnm.hdf5", sim, evaluated=False), movie)
    assert np.all(session.components.status == 0)


def test_cli_and_bad_input(truth, tmp_path, capsys):
    sim, movie = truth
    good = write_caiman(tmp_path / "cnm.hdf5", sim)
    out = tmp_path / "s.h5"
    assert main(["import", str(good), "--movie", str(movie), "--out", str(out), "--quiet"]) == 0
    assert "imported 6 components from CaImAn (4 accepted, 0 undecided, 2 rejected)" in capsys.readouterr().out
    assert load_session(out).components.n_components == 6

    def fails(argv, *words):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and all(w in err for w in words), err

    # dims that contradict A: the file itself is inconsistent.
    bad = write_caiman(tmp_path / "bad.hdf5", sim, dims=(56, 41))
    fails(["import", str(bad), "--movie", str(movie), "--out", str(tmp_path / "x.h5")], "dims 56 x 41")
    # dims that agree with A but not with the movie.
    flipped = write_caiman(tmp_path / "flipped.hdf5", sim, dims=(56, 40))
    fails(["import", str(flipped), "--movie", str(movie), "--out", str(tmp_path / "x.h5")],
          "CaImAn dims 56 x 40", "40 x 56")
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, np.zeros((150, 40, 56), np.float32))
    fails(["import", str(good), "--movie", str(other), "--out", str(tmp_path / "x.h5")], "200 frames", "has 150")
    (tmp_path / "junk.hdf5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    fails(["import", str(tmp_path / "junk.hdf5"), "--movie", str(movie), "--out", str(tmp_path / "x.h5")],
          "junk.hdf5")
    assert not (tmp_path / "x.h5").exists()

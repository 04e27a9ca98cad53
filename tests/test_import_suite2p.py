"""suite2p results in: a plane folder written by suite2p 1.1.0 itself (benchmarks/suite2p_fixture.py,
64 x 64 x 300 synthetic movie) imports with its ROIs, statuses, traces and offsets, and then
curates like our own results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from cnmf_gui.cli import main
from cnmf_gui.io import load_session
from cnmf_gui.session import Session
from cnmf_gui.session.importing import import_results

DATA = Path(__file__).parent / "data" / "suite2p_plane0"


@pytest.fixture(scope="module")
def movie_path(tmp_path_factory):
    """The movie suite2p ran on, made again from the generator arguments stored beside its output."""
    from cnmf_gui.synthetic.legacy import make_movie

    kwargs = json.loads((DATA / "movie.json").read_text())["kwargs"]
    kwargs["shape"] = tuple(kwargs["shape"])
    path = tmp_path_factory.mktemp("s2p") / "movie.tif"
    tifffile.imwrite(path, make_movie(**kwargs).movie)
    return path


def _suite2p():
    load = lambda name: np.load(DATA / name, allow_pickle=True)  # noqa: E731
    return (load("stat.npy"), load("iscell.npy"), load("F.npy"), load("Fneu.npy"),
            load("reg_outputs.npy").item())


def test_imports_rois_statuses_traces_and_offsets(movie_path):
    stat, iscell, F, Fneu, reg = _suite2p()
    session = Session()
    import_results(session, DATA, movie_path)
    comps = session.components
    K = len(stat)
    assert comps.n_components == K == 11
    expected = np.where(iscell[:, 0] > 0.5, 1, -1)
    np.testing.assert_array_equal(comps.status, expected)
    assert (comps.status == 1).sum() == int(iscell[:, 0].sum())
    assert all("suite2p: not a cell" in r for r in comps.reason[expected == -1])
    np.testing.assert_allclose(comps.metrics["cell_probability"], iscell[:, 1])
    # Footprints on exactly the ROI's pixels, shaped like lam; traces F - 0.7 Fneu.
    for k, roi in enumerate(stat):
        column = comps.A[:, k].toarray().ravel()
        pixels = roi["ypix"] * 64 + roi["xpix"]
        assert set(np.flatnonzero(column)) == set(pixels[roi["lam"] > 0])
        np.testing.assert_allclose(column[pixels] / column[pixels].max(), roi["lam"] / roi["lam"].max(), rtol=1e-6)
    np.testing.assert_allclose(comps.F, F.astype(float) - 0.7 * Fneu.astype(float))
    # Our deconvolution filled C and S (S = G C holds), SNR and the evaluation's metrics exist.
    assert comps.C.shape == comps.S.shape == (K, 300) and np.all(comps.sn > 0)
    assert np.all(np.isfinite(comps.metrics["r_value"])) and np.all(np.isfinite(comps.metrics["snr"]))
    np.testing.assert_allclose(session.data.motion.shifts, -np.stack([reg["yoff"], reg["xoff"]], 1))
    assert session.frame_rate == 15.0
    # One line in the log says where the components came from.
    entries = [json.loads(line) for line in session.data.curation_log]
    assert [e["action"] for e in entries] == ["import"]
    assert entries[0]["tool"] == "suite2p" and entries[0]["source"] == str(DATA.resolve())
    assert entries[0]["statuses"] == {"accepted": 9, "rejected": 2, "undecided": 0}


def test_then_curates_like_our_own(movie_path, tmp_path):
    session = Session()
    import_results(session, DATA, movie_path)
    ids = [int(i) for i in session.ids[:2]]
    before = session.components
    new_id = session.merge(ids)
    assert session.n_components == 10 and new_id == int(before.ids.max()) + 1
    session.deconvolve([new_id], epsilon=0.4)
    assert session.epsilon_override(new_id) == 0.4
    session.undo()
    session.undo()
    assert session.components is before
    session.reject([ids[0]])
    out = session.save(tmp_path / "s.h5")
    data = load_session(out)
    assert data.components.status[0] == -1 and data.motion is not None
    # Reopened, the import line is still the start of the components' history.
    reopened = Session()
    reopened.open(out)
    assert not reopened.is_user_decided(ids[1]) and reopened.is_user_decided(ids[0])
    assert main(["export", str(out), "--csv", str(tmp_path / "csv")]) == 0
    assert (tmp_path / "csv" / "traces_C.csv").exists()


def test_cli_import_and_bad_input(movie_path, tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert main(["import", str(DATA), "--movie", str(movie_path), "--out", str(out), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "imported 11 components from suite2p (9 accepted, 0 undecided, 2 rejected)" in said
    assert load_session(out).components.n_components == 11

    def fails(argv, *words):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and all(w in err for w in words), err

    fails(["import", str(DATA), "--movie", str(movie_path), "--out", str(out)], "exists", "--force")
    broken = tmp_path / "plane0"
    shutil.copytree(DATA, broken)
    (broken / "iscell.npy").unlink()
    fails(["import", str(broken), "--movie", str(movie_path), "--out", str(tmp_path / "b.h5")],
          "has no iscell.npy")
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, np.zeros((300, 64, 60), np.uint16))
    fails(["import", str(DATA), "--movie", str(other), "--out", str(tmp_path / "c.h5")],
          "frame size 64 x 64", "64 x 60")
    tifffile.imwrite(other, np.zeros((200, 64, 64), np.uint16))
    fails(["import", str(DATA), "--movie", str(other), "--out", str(tmp_path / "c.h5")],
          "300 frames", "has 200")
    fails(["import", str(tmp_path), "--movie", str(other), "--out", str(tmp_path / "c.h5")],
          "not a suite2p plane folder")
    assert not (tmp_path / "b.h5").exists() and not (tmp_path / "c.h5").exists()


def test_statuses_back_to_suite2p(movie_path, tmp_path, capsys):
    """Curate here, continue in suite2p: iscell.npy gets the curated labels, the original is kept."""
    folder = tmp_path / "plane0"
    shutil.copytree(DATA, folder)
    original = np.load(folder / "iscell.npy")
    session = Session()
    import_results(session, folder, movie_path)
    ids = [int(i) for i in session.ids]
    session.reject([ids[0]])              # a suite2p cell the user rejects
    session.accept([ids[8]])              # a suite2p non-cell the user accepts
    session.merge([ids[3], ids[4]])       # two ROIs that are one cell here: no ROI of their own
    out = session.save(tmp_path / "s.h5")
    assert main(["export", str(out), "--suite2p-iscell", str(folder)]) == 0
    said = capsys.readouterr().out
    assert "2 ROI(s) were merged or split here" in said
    new = np.load(folder / "iscell.npy")
    expected = original[:, 0].copy()
    expected[[0, 3, 4]] = 0
    expected[8] = 1
    np.testing.assert_array_equal(new[:, 0], expected)
    np.testing.assert_array_equal(new[:, 1], original[:, 1])
    np.testing.assert_array_equal(np.load(folder / "iscell.before_cnmf_gui.npy"), original)
    # A second export keeps suite2p's original as the backup.
    session.undo()
    session.save(out)
    assert main(["export", str(out), "--suite2p-iscell", str(folder)]) == 0
    capsys.readouterr()
    np.testing.assert_array_equal(np.load(folder / "iscell.before_cnmf_gui.npy"), original)
    assert np.load(folder / "iscell.npy")[3, 0] == original[3, 0]
    # Another folder (other ROI count), or a session that is not a suite2p import: one line, exit 2.
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "iscell.npy", np.ones((3, 2)))
    assert main(["export", str(out), "--suite2p-iscell", str(other)]) == 2
    err = capsys.readouterr().err
    assert "has 3 ROIs but the session imported 11" in err and err.count("\n") == 1
    from cnmf_gui.synthetic.demo_session import make_session
    ours = tmp_path / "ours.h5"
    from cnmf_gui.io import save_session
    save_session(make_session(n_frames=50, n_neurons=3)[0], ours)
    assert main(["export", str(ours), "--suite2p-iscell", str(folder)]) == 2
    assert "do not come from suite2p" in capsys.readouterr().err


def test_older_folder_with_ops_only(movie_path, tmp_path):
    """suite2p 0.x keeps offsets, frame size, rate and the neuropil coefficient in ops.npy."""
    folder = tmp_path / "plane0"
    shutil.copytree(DATA, folder)
    reg = np.load(folder / "reg_outputs.npy", allow_pickle=True).item()
    (folder / "reg_outputs.npy").unlink()
    (folder / "settings.npy").unlink()
    np.save(folder / "ops.npy", {"yoff": reg["yoff"], "xoff": reg["xoff"], "refImg": reg["refImg"],
                                 "Ly": 64, "Lx": 64, "fs": 12.5, "neucoeff": 0.5})
    session = Session()
    import_results(session, folder, movie_path)
    _, _, F, Fneu, _ = _suite2p()
    np.testing.assert_allclose(session.components.F, F.astype(float) - 0.5 * Fneu.astype(float))
    np.testing.assert_allclose(session.data.motion.shifts, -np.stack([reg["yoff"], reg["xoff"]], 1))
    assert session.frame_rate == 12.5


def test_non_rigid_offsets_are_the_piecewise_motion(movie_path):
    """suite2p's block offsets on its 3 x 3 grid of 32-px blocks; with them the mean shift is nearer
    the generator's true (sub-pixel) motion than suite2p's whole-pixel rigid offsets alone."""
    from cnmf_gui.synthetic.legacy import make_movie

    kwargs = json.loads((DATA / "movie.json").read_text())["kwargs"]
    kwargs["shape"] = tuple(kwargs["shape"])
    truth = make_movie(**kwargs).shifts
    session = Session()
    import_results(session, DATA, movie_path)
    motion = session.data.motion
    assert motion.shifts_pw.shape == (300, 3, 3, 2)
    np.testing.assert_array_equal(motion.patch_centers[:, 0, 0], [16, 32, 48])
    np.testing.assert_array_equal(motion.patch_centers[0, :, 1], [16, 32, 48])

    def error(shifts):
        return np.sqrt(np.mean(((shifts - shifts.mean(0)) - (truth - truth.mean(0))) ** 2))

    rigid, piecewise = error(motion.shifts), error(motion.shifts_pw.mean(axis=(1, 2)))
    assert piecewise < 0.5 * rigid, (piecewise, rigid)
    # The corrected movie reads through them (what merge refits and the views show).
    frame = session.corrected_movie()[10]
    assert frame.shape == (64, 64) and np.all(np.isfinite(frame))

"""Session file: exact round trips, relative movie paths, atomic writes, migrations, bad files."""

from __future__ import annotations

import os

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from cnmf_gui.errors import InputFileError, UserError
from cnmf_gui.io import load_session, save_session
from cnmf_gui.io.session_file import SCHEMA_VERSION, is_session_file, upgrade
from cnmf_gui.params import PipelineParams
from cnmf_gui.results import Background, Components, MotionResult, SessionData, SummaryImages


def _full_session(tmp_path, K=5, T=40, H=12, W=10, nb=2, seed=0) -> SessionData:
    rng = np.random.default_rng(seed)
    A = sp.random(H * W, K, density=0.1, random_state=seed, format="csc")
    A.data = np.abs(A.data).astype(np.float32)
    comps = Components(
        A=A, C=rng.random((K, T)), S=rng.random((K, T)).astype(np.float32), F=rng.random((K, T)),
        dff=rng.normal(size=(K, T)), baseline=rng.random(K), sn=rng.random(K), epsilon=np.full(K, 0.1),
        g=rng.random((K, 2)), status=np.array([1, 0, -1, 2, 0][:K]), ids=np.arange(K) * 3 + 100,
        metrics={"snr": rng.random(K), "r_value": rng.random(K)}, lam=rng.random(K),
        reason=["", "low SNR", "duplicate of 100", "inactive: no events", "trop petit, ±"][:K])
    motion = MotionResult(shifts=rng.normal(size=(T, 2)).astype(np.float32),
                          template=rng.random((H, W)).astype(np.float32),
                          shifts_pw=rng.normal(size=(T, 2, 3, 2)).astype(np.float32),
                          patch_centers=rng.random((2, 3, 2)),
                          metrics={"corr_before": rng.random(T), "crispness_after": 1.25,
                                   "bad_frames": rng.random(T) > 0.8},
                          clamped=3)
    summary = SummaryImages(*(rng.random((H, W)) for _ in range(4)))
    background = Background(b=rng.random((H * W, nb)), f=rng.random((nb, T)))
    params = PipelineParams.from_dict({"deconvolution": {"epsilon": 0.1}, "frame_rate": 15.0})
    return SessionData(movie_path=str(tmp_path / "data" / "movie.tif"), movie_shape=(T, H, W),
                       movie_dtype="uint16", frame_rate=15.0, params=params, motion=motion,
                       summary=summary, components=comps, background=background,
                       curation_log=['{"op": "accept", "ids": [100]}', '{"op": "reject", "ids": [106]}'])


def _assert_same(a, b):
    """Field by field, exactly (values and dtypes)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_array_equal(a, b)
    elif sp.issparse(a):
        assert a.shape == b.shape and a.dtype == b.dtype
        assert (a != b).nnz == 0
    elif isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _assert_same(a[k], b[k])
    else:
        assert a == b


def test_full_round_trip_is_exact(tmp_path):
    data = _full_session(tmp_path)
    path = tmp_path / "session.h5"
    save_session(data, path)
    back = load_session(path)
    assert back.movie_path == data.movie_path
    assert back.movie_shape == data.movie_shape
    assert back.movie_dtype == "uint16" and back.frame_rate == 15.0
    assert back.params == data.params
    assert back.curation_log == data.curation_log
    for field in ("shifts", "template", "shifts_pw", "patch_centers", "metrics", "clamped"):
        _assert_same(getattr(back.motion, field), getattr(data.motion, field))
    _assert_same(back.summary.as_dict(), data.summary.as_dict())
    for field in ("A", "C", "S", "F", "dff", "baseline", "sn", "epsilon", "g", "status", "ids",
                  "metrics", "lam", "reason"):
        _assert_same(getattr(back.components, field), getattr(data.components, field))
    _assert_same(back.background.b, data.background.b)
    _assert_same(back.background.f, data.background.f)


def test_file_follows_the_design_schema(tmp_path):
    data = _full_session(tmp_path)
    path = tmp_path / "session.h5"
    save_session(data, path)
    with h5py.File(path, "r") as f:
        assert f.attrs["format"] == "cnmf_gui"
        assert f.attrs["schema_version"] == 2
        assert f.attrs["movie_path"] == "data/movie.tif"
        assert list(f.attrs["movie_shape"]) == [40, 12, 10]
        assert PipelineParams.from_json(f["params"].attrs["json"]) == data.params
        assert f["motion/shifts"].dtype == np.float32 and f["motion/shifts"].shape == (40, 2)
        assert f["components/A"].attrs["shape"].tolist() == [120, 5]
        A = sp.csc_matrix((f["components/A/data"][()], f["components/A/indices"][()],
                           f["components/A/indptr"][()]), shape=(120, 5))
        assert (A != data.components.A).nnz == 0
        assert f["components/status"].dtype == np.int8
        np.testing.assert_array_equal(f["components/id"][()], data.components.ids)
        assert f["background/b"].shape == (120, 2) and f["background/f"].shape == (2, 40)
        assert [s.decode() for s in f["curation/log"][()]] == data.curation_log
        for name in ("mean", "max", "correlation", "pnr"):
            assert f[f"summary/{name}"].shape == (12, 10)


def test_minimal_session_and_empty_components(tmp_path):
    path = tmp_path / "min.h5"
    save_session(SessionData(movie_path=None, movie_shape=(7, 4, 5)), path)
    back = load_session(path)
    assert back.movie_path is None and back.movie_shape == (7, 4, 5) and back.frame_rate is None
    assert back.params is None and back.motion is None and back.components is None
    assert back.curation_log == []


def test_session_with_no_components_round_trips(tmp_path):
    path = tmp_path / "empty.h5"
    data = SessionData(movie_path=None, movie_shape=(7, 4, 5), params=PipelineParams(),
                       components=Components.empty(20, 7))
    save_session(data, path)
    back = load_session(path)
    assert back.components.n_components == 0 and back.components.C.shape == (0, 7)
    assert back.params == PipelineParams()


def test_movie_path_stays_relative_when_both_move(tmp_path):
    data = _full_session(tmp_path)
    save_session(data, tmp_path / "session.h5")
    moved = tmp_path.parent / (tmp_path.name + "_moved")
    os.rename(tmp_path, moved)
    try:
        back = load_session(moved / "session.h5")
        assert back.movie_path == str(moved / "data" / "movie.tif")
    finally:
        os.rename(moved, tmp_path)


def test_movie_path_with_dataset_suffix_and_parent_folder(tmp_path):
    sub = tmp_path / "sessions"
    sub.mkdir()
    movie = str(tmp_path / "rec.h5") + ":/data/image"
    save_session(SessionData(movie_path=movie, movie_shape=(3, 2, 2)), sub / "s.h5")
    with h5py.File(sub / "s.h5", "r") as f:
        assert f.attrs["movie_path"] == "../rec.h5:/data/image"
    assert load_session(sub / "s.h5").movie_path == movie


def test_save_is_atomic_and_keeps_the_old_file_on_failure(tmp_path):
    path = tmp_path / "s.h5"
    save_session(_full_session(tmp_path), path)
    before = path.read_bytes()
    broken = _full_session(tmp_path)
    broken.params = object()  # fails half-way through writing
    with pytest.raises(TypeError):
        save_session(broken, path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["s.h5"]


def test_never_overwrites_a_file_that_is_not_a_session(tmp_path):
    movie = tmp_path / "movie.h5"
    with h5py.File(movie, "w") as f:
        f["movie"] = np.zeros((3, 4, 4))
    before = movie.read_bytes()
    with pytest.raises(UserError, match="not a cnmf_gui session file: refusing to overwrite"):
        save_session(SessionData(movie_path=str(movie), movie_shape=(3, 4, 4)), movie)
    assert movie.read_bytes() == before
    with pytest.raises(UserError, match="does not exist"):
        save_session(SessionData(movie_path=None, movie_shape=(3, 4, 4)), tmp_path / "no" / "s.h5")


def test_bad_session_files(tmp_path):
    with pytest.raises(InputFileError, match="session file not found"):
        load_session(tmp_path / "none.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(InputFileError, match="not a cnmf_gui session file \\(not HDF5\\)"):
        load_session(tmp_path / "text.h5")
    with h5py.File(tmp_path / "movie.h5", "w") as f:
        f["movie"] = np.zeros((3, 4, 4))
    with pytest.raises(InputFileError, match="no format='cnmf_gui' attribute"):
        load_session(tmp_path / "movie.h5")
    assert not is_session_file(tmp_path / "movie.h5")

    good = tmp_path / "good.h5"
    save_session(_full_session(tmp_path), good)
    assert is_session_file(good)
    data = good.read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[:len(data) // 2])
    with pytest.raises(InputFileError, match="cut.h5"):
        load_session(tmp_path / "cut.h5")


@pytest.mark.parametrize("edit, match", [
    (lambda f: f["components/C"].__setitem__(Ellipsis, 0) or f.__delitem__("components/C"),
     "dataset /components/C is missing"),
    (lambda f: f["components/A"].attrs.__setitem__("shape", [7, 5]), r"/components/A has shape \(7, 5\), expected \(120, 5\)"),
    (lambda f: f["params"].attrs.__setitem__("json", '{"nope": 1}'), "stored parameters are invalid"),
    (lambda f: f.attrs.__setitem__("movie_shape", [1, 2]), "movie_shape"),
    (lambda f: f.__delitem__("motion/shifts") or f["motion"].create_dataset("shifts", data=np.zeros((3, 2))),
     "/motion/shifts has shape"),
])
def test_damaged_groups_name_the_dataset(tmp_path, edit, match):
    path = tmp_path / "s.h5"
    save_session(_full_session(tmp_path), path)
    with h5py.File(path, "r+") as f:
        edit(f)
    with pytest.raises(InputFileError, match=match) as info:
        load_session(path)
    assert "\n" not in str(info.value)


def test_version_1_file_reads_as_version_2(tmp_path):
    """A file written before the inactive status and reasons existed: same data, empty reasons."""
    data = _full_session(tmp_path)
    data.components.status[data.components.status == 2] = 1
    path = tmp_path / "v1.h5"
    save_session(data, path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = 1
        del f["components/reason"]
    back = load_session(path)
    np.testing.assert_array_equal(back.components.status, data.components.status)
    assert list(back.components.reason) == [""] * data.components.n_components
    save_session(back, path)
    with h5py.File(path, "r") as f:
        assert f.attrs["schema_version"] == SCHEMA_VERSION == 2


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.h5"
    save_session(SessionData(movie_path=None, movie_shape=(3, 4, 4)), path)
    with h5py.File(path, "r+") as f:
        f.attrs["schema_version"] = SCHEMA_VERSION + 1
    with pytest.raises(InputFileError, match="written by a newer cnmf_gui .* update cnmf_gui"):
        load_session(path)


def test_migrations_are_chained_one_version_at_a_time():
    calls = []

    def v1_to_v2(tree):
        calls.append(1)
        tree["data"]["/components/renamed"] = tree["data"].pop("/components/old")
        return tree

    def v2_to_v3(tree):
        calls.append(2)
        tree["attrs"]["/"]["added_in_v3"] = True
        return tree

    tree = {"attrs": {"/": {"schema_version": 1}}, "data": {"/components/old": np.arange(3)}}
    out = upgrade(tree, 1, "x.h5", migrations={1: v1_to_v2, 2: v2_to_v3}, target=3)
    assert calls == [1, 2]
    assert out["attrs"]["/"]["schema_version"] == 3 and out["attrs"]["/"]["added_in_v3"]
    np.testing.assert_array_equal(out["data"]["/components/renamed"], np.arange(3))
    with pytest.raises(InputFileError, match="no migration from version 2"):
        upgrade({"attrs": {"/": {}}, "data": {}}, 2, "x.h5", migrations={1: v1_to_v2}, target=3)


def test_synthetic_session_round_trip(tmp_path):
    synthetic = pytest.importorskip("cnmf_gui.synthetic")
    data, _ = synthetic.make_session()
    save_session(data, tmp_path / "s.h5")
    back = load_session(tmp_path / "s.h5")
    np.testing.assert_array_equal(back.components.C, data.components.C)
    assert (back.components.A != data.components.A).nnz == 0
    assert back.params == data.params


# ---------------------------------------------------------------------------------------------
# Revision counter (issue 12 item 8, io part): every save writes revision + 1; a save that
# expects another revision is refused and writes nothing.
# ---------------------------------------------------------------------------------------------


def test_every_save_increments_the_revision_and_a_stale_save_is_refused(tmp_path):
    from cnmf_gui.io.session_revision import StaleSessionError, read_revision

    path = tmp_path / "s.h5"
    data = SessionData(movie_path=None, movie_shape=(5, 4, 4))
    assert read_revision(path) is None
    assert save_session(data, path) == 1
    assert read_revision(path) == 1
    loaded = read_revision(path)
    assert save_session(data, path, expected_revision=loaded) == 2  # we were current
    before = path.read_bytes()
    with pytest.raises(StaleSessionError, match="changed by another program .*revision 2, loaded 1"):
        save_session(data, path, expected_revision=1)  # someone saved revision 2 meanwhile
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.h5"]


def _save_expecting(path, tag, results):
    """Child process: save over revision 1, slowly, so that two of them overlap."""
    import time

    import cnmf_gui.io.session_file as session_file
    from cnmf_gui.io.session_revision import StaleSessionError

    real_write = session_file._write

    def slow_write(*args):
        time.sleep(1.5)  # longer than the other child's start-up: their saves overlap
        return real_write(*args)

    session_file._write = slow_write
    data = SessionData(movie_path=None, movie_shape=(5, 4, 4), curation_log=[tag])
    try:
        session_file.save_session(data, path, expected_revision=1)
        results.put("saved")
    except StaleSessionError:
        results.put("refused")


def test_two_concurrent_writers_cannot_both_win(tmp_path):
    """Without the lock both children pass the revision check and one change is lost."""
    import multiprocessing

    path = tmp_path / "s.h5"
    save_session(SessionData(movie_path=None, movie_shape=(5, 4, 4)), path)
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    children = [ctx.Process(target=_save_expecting, args=(str(path), tag, results)) for tag in "ab"]
    for child in children:
        child.start()
    outcome = sorted(results.get(timeout=60) for _ in children)
    for child in children:
        child.join(timeout=30)
    assert outcome == ["refused", "saved"], outcome

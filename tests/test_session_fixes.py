"""Regression tests for session defects found in review (Qt-free)."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.io import load_session
from cnmf_gui.session import Session
from cnmf_gui.synthetic import make_session


@pytest.fixture
def session(tmp_path):
    data, synth = make_session(n_frames=150, shape=(40, 40), n_neurons=5, seed=7, folder=tmp_path)
    s = Session()
    s.set_data(data, movie=synth.movie)
    return s


def fresh_pipeline_result(tmp_path, seed=8):
    """A result shaped like engine/pipeline.py's: ids 0..K-1, an empty curation log."""
    folder = tmp_path / f"run{seed}"
    folder.mkdir()
    data, _ = make_session(n_frames=150, shape=(40, 40), n_neurons=4, seed=seed, folder=folder)
    data.components.ids[:] = np.arange(data.components.n_components)
    return data


def test_pipeline_rerun_gets_new_ids_and_forgets_old_curation(session, tmp_path):
    s = session
    s.accept([2])
    s.apply_deconvolution(*s.deconvolution_request([1], epsilon=0.7).run())
    merged = s.merge([3, 4])
    used = set(int(i) for i in s.ids) | {3, 4}
    s.apply_pipeline_result(fresh_pipeline_result(tmp_path))
    new_ids = [int(i) for i in s.ids]
    assert new_ids == list(range(merged + 1, merged + 5))      # never an id used before
    assert not used & set(new_ids)
    assert all(not s.is_user_decided(i) and s.epsilon_override(i) is None for i in new_ids)
    assert s.dirty and s.next_id == merged + 5
    # The same holds after a save and reopen (replay honours the reset), and across a second run.
    path = tmp_path / "after.h5"
    s.accept([new_ids[0]])
    s.save(path)
    t = Session()
    t.open_session(path)
    assert t.is_user_decided(new_ids[0]) and not t.is_user_decided(2)
    assert t.next_id == merged + 5
    t.apply_pipeline_result(fresh_pipeline_result(tmp_path, seed=9))
    assert int(t.ids[0]) == merged + 5 and not any(t.is_user_decided(i) for i in t.ids)
    assert load_session(path).components.ids.tolist() == new_ids


def test_rerun_all_keeps_overrides_and_only_an_explicit_choice_drops_them(session, tmp_path):
    s = session
    s.apply_deconvolution(*s.deconvolution_request([1, 2], epsilon=0.4).run())
    s.set_param("deconvolution", "epsilon", 0.1)
    s.apply_deconvolution(*s.deconvolution_request().run())            # "Rerun all"
    assert s.epsilon_override(1) == 0.4 and s.epsilon_override(2) == 0.4
    assert np.allclose(s.components.epsilon[s.indices_of([0, 1, 2])], [0.1, 0.4, 0.4])
    s.apply_deconvolution(*s.deconvolution_request([1, 3]).run())      # selected, box unticked
    assert s.epsilon_override(1) == 0.4 and s.epsilon_override(3) is None
    s.apply_deconvolution(*s.deconvolution_request([2], use_global=True).run())
    assert s.epsilon_override(2) is None and s.components.epsilon[s.index_of(2)] == pytest.approx(0.1)
    # The log replays to the same overrides; undo brings the dropped one back.
    path = tmp_path / "overrides.h5"
    s.save(path)
    t = Session()
    t.open_session(path)
    assert t.epsilon_override(1) == 0.4 and t.epsilon_override(2) is None
    assert s.undo() and s.epsilon_override(2) == 0.4


def two_dataset_file(path):
    import h5py
    rng = np.random.default_rng(0)
    with h5py.File(path, "w") as f:
        f["a"] = rng.random((9, 5, 3)).astype(np.float32)      # rows, columns, time
        f["b"] = np.zeros((4, 6, 6), np.float32)
    return path


def test_movie_options_are_kept_and_used_to_reopen_the_movie(tmp_path):
    movie = two_dataset_file(tmp_path / "two.h5")
    s = Session()
    s.open_movie(movie, dataset="a", axes="hwt")
    assert s.data.movie_options == {"dataset": "a", "axes": "hwt"}
    s.save(tmp_path / "two.cnmf.h5")
    t = Session()
    messages = []
    t.subscribe("message", messages.append)
    t.open(tmp_path / "two.cnmf.h5")
    assert t.movie is not None and t.movie.shape == (3, 9, 5) and messages == []
    np.testing.assert_array_equal(t.movie[1], s.movie[1])


def test_a_movie_whose_shape_changed_is_refused_with_one_message(tmp_path):
    import h5py
    movie = two_dataset_file(tmp_path / "two.h5")
    s = Session()
    s.open_movie(movie, dataset="a", axes="hwt")
    s.save(tmp_path / "two.cnmf.h5")
    with h5py.File(movie, "a") as f:
        del f["a"]
        f["a"] = np.zeros((9, 5, 7), np.float32)               # 7 frames now, not 3
    t = Session()
    messages = []
    t.subscribe("message", messages.append)
    t.open(tmp_path / "two.cnmf.h5")
    assert t.movie is None and t.data.movie_shape == (3, 9, 5)
    assert len(messages) == 1 and "not the same movie" in messages[0] and "two.h5" in messages[0]


@pytest.mark.parametrize("kind", ["dataset in path", "glob"])
def test_the_worker_gets_its_own_reader_for_any_movie_path(tmp_path, kind):
    import tifffile

    from cnmf_gui.session.jobs import _own_movie
    frames = np.random.default_rng(1).integers(0, 999, (6, 7, 5)).astype(np.uint16)
    if kind == "glob":
        for k in range(3):
            tifffile.imwrite(tmp_path / f"run_{k}.tif", frames[2 * k:2 * k + 2])
        path = str(tmp_path / "run_*.tif")
    else:
        import h5py
        with h5py.File(tmp_path / "m.h5", "w") as f:
            f["x/movie"] = frames
            f["other"] = np.zeros((2, 3, 3))
        path = f"{tmp_path / 'm.h5'}:/x/movie"
    s = Session()
    s.open_movie(path)
    open_it, close_it = _own_movie(s)
    s.movie = None                       # the worker must not need the session's reader
    movie = open_it()
    try:
        assert movie.shape == frames.shape
        np.testing.assert_array_equal(movie[4], frames[4])
    finally:
        close_it(movie)
    assert s.save_target().name == ("run.cnmf.h5" if kind == "glob" else "m.cnmf.h5")

"""A file holding several movies (HDF5 datasets, NWB imaging series): the window asks which one.

The command line names it with ``--dataset``; before this the window could only show the error
that says so, and the user had no way to open such a file from the window at all.
"""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from cnmf_gui.errors import SeveralMoviesError
from cnmf_gui.io import open_movie
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def _two_movies(path):
    rng = np.random.default_rng(7)
    green = rng.integers(0, 4000, size=(30, 16, 12)).astype(np.uint16)
    red = rng.integers(0, 4000, size=(30, 16, 12)).astype(np.uint16)
    with h5py.File(path, "w") as h5:
        h5["imaging/green"] = green
        h5["imaging/red"] = red
    return green, red


class _Picker:
    """Stands in for the list dialog: records what it was shown and picks ``index`` (None: cancel)."""

    def __init__(self, index):
        self.index = index
        self.shown = None

    def __call__(self, parent, title, label, items):
        self.shown = list(items)
        return self.index


def test_the_error_carries_the_choices(tmp_path):
    path = tmp_path / "two.h5"
    _two_movies(path)
    with pytest.raises(SeveralMoviesError) as caught:
        open_movie(path)
    assert caught.value.choices == ["/imaging/green", "/imaging/red"]
    assert all("(30, 16, 12)" in label for label in caught.value.labels)


def test_the_window_asks_which_movie_and_opens_it_and_the_session_remembers(
        qtbot, window, monkeypatch, tmp_path):
    from cnmf_gui.gui import dialogs
    w = window
    path = tmp_path / "two.h5"
    green, red = _two_movies(path)
    picker = _Picker(1)
    monkeypatch.setattr(dialogs, "choose_item", picker)
    assert w.open_path(path)
    assert len(picker.shown) == 2 and "/imaging/red" in picker.shown[1]
    assert w.error_dialog is None
    np.testing.assert_array_equal(w.session.movie[:], red)
    assert w.session.data.movie_options == {"dataset": "/imaging/red"}
    # Saved and opened again, the session reads the same movie without asking.
    saved = tmp_path / "s.h5"
    w.session.save(saved)
    picker.shown = None
    assert w.open_path(saved)
    assert picker.shown is None
    np.testing.assert_array_equal(w.session.movie[:], red)


def test_cancelling_the_choice_opens_nothing_and_shows_no_error(qtbot, window, monkeypatch, tmp_path):
    from cnmf_gui.gui import dialogs
    w = window
    path = tmp_path / "two.h5"
    _two_movies(path)
    before = w.session.data.movie_path
    monkeypatch.setattr(dialogs, "choose_item", _Picker(None))
    assert not w.open_path(path)
    assert w.error_dialog is None
    assert w.session.data.movie_path == before


def test_an_nwb_file_with_two_series_asks_too(qtbot, window, monkeypatch, tmp_path):
    pytest.importorskip("pynwb")
    from cnmf_gui.gui import dialogs
    from tests.test_nwb_input import _nwb_file
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4000, size=(12, 10, 7)).astype(np.uint16)
    b = rng.integers(0, 4000, size=(12, 10, 7)).astype(np.uint16)
    path = _nwb_file(tmp_path / "two.nwb", [("2p", "green", a, 30.0, "acquisition"),
                                            ("2p", "red", b, 30.0, "acquisition")])
    picker = _Picker(0)
    monkeypatch.setattr(dialogs, "choose_item", picker)
    assert window.open_path(path)
    assert "TwoPhotonSeries" in picker.shown[0] and "30 Hz" in picker.shown[0]
    np.testing.assert_array_equal(window.session.movie[:], a)
    assert window.session.data.frame_rate == 30.0

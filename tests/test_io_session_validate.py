"""A damaged session is refused on load with one line naming the first problem (issue 12 item 10).

Each case edits one thing of a valid session file, as a hand edit or a broken writer would:
before the validation these loaded without complaint and failed later in deconvolve, export,
screenshot or the window.
"""

import h5py
import numpy as np
import pytest

from cnmf_gui.cli import main
from cnmf_gui.errors import InputFileError
from cnmf_gui.io import load_session, save_session
from cnmf_gui.results import STATUS_NAMES
from tests.test_session_file import _full_session


def _replace(f, key, value):
    del f[key]
    f[key] = value


CASES = [
    ("C shorter than the movie", lambda f: _replace(f, "components/C", f["components/C"][:, :30]),
     "/components/C has 30 frames but the movie has 40"),
    ("a status of 7", lambda f: _replace(f, "components/status", np.array([1, 0, 7, 2, 0], np.int8)),
     "/components/status of id 106 is 7, expected one of"),
    ("duplicate ids", lambda f: _replace(f, "components/id", np.array([100, 103, 103, 109, 112])),
     "/components/id repeats id 103"),
    ("negative frame rate", lambda f: f.attrs.__setitem__("frame_rate", -5.0),
     "frame_rate is -5 Hz, expected a positive number"),
    ("infinite frame rate", lambda f: f.attrs.__setitem__("frame_rate", np.inf), "frame_rate is inf Hz"),
    ("zero frames", lambda f: f.attrs.__setitem__("movie_shape", [0, 12, 10]), "movie_shape attribute"),
    ("text where numbers belong", lambda f: _replace(f, "components/S", np.array([["x"] * 40] * 5, dtype="S1")),
     "/components/S holds |S1 values, expected numbers"),
    ("NaN in the traces", lambda f: f["components/C"].__setitem__((1, 3), np.nan),
     r"/components/C has a non-finite value at \(1, 3\)"),
    ("negative footprint", lambda f: f["components/A/data"].__setitem__(0, -1.0),
     "/components/A has negative weights"),
    ("sn of the wrong length", lambda f: _replace(f, "components/sn", np.ones(4)),
     r"/components/sn has shape \(4,\), expected \(5\)"),
    ("background of another length", lambda f: _replace(f, "background/f", np.ones((2, 39))),
     r"/background/f has shape \(2, 39\), expected \(2, 40\)"),
    ("summary image of another size", lambda f: _replace(f, "summary/mean", np.ones((10, 12))),
     r"/summary/mean has shape \(10, 12\), expected \(12, 10\)"),
    ("reasons missing one", lambda f: _replace(f, "components/reason", np.array(["a"] * 4, dtype=object)),
     "/components/reason has 4 entries for 5 components"),
]


@pytest.mark.parametrize("name, edit, match", CASES, ids=[c[0] for c in CASES])
def test_damage_is_named_on_load(tmp_path, name, edit, match):
    path = tmp_path / "s.h5"
    save_session(_full_session(tmp_path), path)
    load_session(path)  # valid before the edit
    with h5py.File(path, "r+") as f:
        edit(f)
    with pytest.raises(InputFileError, match=match) as info:
        load_session(path)
    message = str(info.value)
    assert message.startswith(f"{path} is damaged: ") and "\n" not in message


def test_allowed_statuses_come_from_the_one_table(tmp_path, monkeypatch):
    """A status the table gains (schema migrations) is accepted without touching the validator."""
    path = tmp_path / "s.h5"
    save_session(_full_session(tmp_path), path)
    with h5py.File(path, "r+") as f:
        _replace(f, "components/status", np.array([1, 0, 3, 2, 0], np.int8))
    with pytest.raises(InputFileError, match="is 3"):
        load_session(path)
    monkeypatch.setitem(STATUS_NAMES, 3, "future")
    assert list(load_session(path).components.status) == [1, 0, 3, 2, 0]


@pytest.mark.parametrize("verb", [["deconvolve"], ["export", "--csv", "OUT"], ["info"]])
def test_every_verb_reports_the_damage_in_one_line(tmp_path, capsys, verb):
    path = tmp_path / "s.h5"
    save_session(_full_session(tmp_path), path)
    with h5py.File(path, "r+") as f:
        f.attrs["frame_rate"] = -5.0
    before = path.read_bytes()
    args = [verb[0], str(path)] + [str(tmp_path / a) if a == "OUT" else a for a in verb[1:]]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert "frame_rate is -5 Hz" in err and "\n" not in err
    assert path.read_bytes() == before

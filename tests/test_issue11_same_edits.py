"""The same curation through the window (clicks and keys), ``cnmf-gui curate`` and the Python API
gives the same session file: statuses, ids, epsilon overrides and log lines (but for their time
stamps); and replaying that log on the uncurated session reproduces it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from cnmf_gui.cli import main
from cnmf_gui.io import load_session, save_session
from cnmf_gui.session import Session, read_log
from tests.test_gui_main import click_component
from tests.test_gui_support import answers, no_dangling_threads, synthetic, window  # noqa: F401

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

CLI = ["--reject", "1", "--accept", "0,2", "--merge", "3,4", "--thresholds", "--epsilon", "0.5",
       "--components", "5", "--undo", "1", "--accept", "5"]


def by_api(s: Session) -> None:
    s.reject([1])
    s.accept([0, 2])
    s.merge([3, 4])
    s.apply_thresholds()
    s.deconvolve([5], epsilon=0.5)
    s.undo()
    s.accept([5])


def click_row(qtbot, w, component_id) -> None:
    """Click the component's row in the table (after a merge the movie's pixels name other ids)."""
    table = w.table.table
    rect = table.visualRect(table.model().index(w.table.row_of(component_id), 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def by_window(qtbot, w) -> None:
    key = qtbot.keyClick
    click_component(qtbot, w, 1)
    key(w.table.table, Qt.Key.Key_R)
    click_component(qtbot, w, 0)
    click_component(qtbot, w, 2, Qt.KeyboardModifier.ControlModifier)
    key(w.table.table, Qt.Key.Key_A)
    click_component(qtbot, w, 3)
    click_component(qtbot, w, 4, Qt.KeyboardModifier.ControlModifier)
    qtbot.mouseClick(w.curation.buttons["merge"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(w.curation.buttons["thresholds"], Qt.MouseButton.LeftButton)
    click_row(qtbot, w, 5)
    assert w.session.selection == (5,)
    w.deconv.override_value.setValue(0.5)
    with qtbot.waitSignal(w.worker.finished, timeout=30000):
        qtbot.mouseClick(w.deconv.rerun_selected, Qt.MouseButton.LeftButton)
    key(w.table.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    key(w.table.table, Qt.Key.Key_A)
    with qtbot.waitSignal(w.worker.finished, timeout=30000):
        key(w.table.table, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)


def curated(path):
    """What must match: statuses, ids, overrides, decisions, log lines without time stamps."""
    data = load_session(path)
    facts = read_log(data.curation_log)
    lines = []
    for line in data.curation_log:
        entry = json.loads(line)
        entry.pop("time", None)
        lines.append(entry)
    c = data.components
    return {"ids": c.ids.tolist(), "status": c.status.tolist(), "overrides": facts.overrides,
            "decided": sorted(facts.user_decided), "log": lines}, c


@pytest.fixture
def base(tmp_path):
    data, synth = synthetic(tmp_path)
    path = tmp_path / "base.h5"
    save_session(data, path)
    return path, synth


def test_window_cli_and_api_write_the_same_curation_and_replay_reproduces_it(qtbot, window, base, tmp_path):
    path, synth = base
    files = {name: tmp_path / f"{name}.h5" for name in ("window", "cli", "api")}
    for f in files.values():
        shutil.copy(path, f)

    w = window
    assert w.open_path(files["window"])
    w.synth = synth
    by_window(qtbot, w)
    assert not w.session.dirty

    assert main(["curate", str(files["cli"])] + CLI) == 0

    s = Session()
    s.open(files["api"])
    by_api(s)
    s.save()

    results = {name: curated(f) for name, f in files.items()}
    ref, ref_comps = results["api"]
    actions = [e["action"] for e in ref["log"]]
    assert actions == ["status", "status", "merge", "status", "deconvolution", "undo", "status"]
    assert ref["overrides"] == {} and 6 in ref["ids"] and 3 not in ref["ids"]
    for name in ("window", "cli"):
        got, comps = results[name]
        assert got == ref, name
        assert np.allclose(comps.C, ref_comps.C) and np.allclose(comps.epsilon, ref_comps.epsilon)

    # Replay: the uncurated session plus the log gives the curated one, line for line.
    fresh = tmp_path / "replayed.h5"
    shutil.copy(path, fresh)
    r = Session()
    r.open(fresh)
    lines = load_session(files["cli"]).curation_log
    assert r.replay(lines) == len(lines)
    r.save()
    got, comps = curated(fresh)
    assert got == ref and np.allclose(comps.C, ref_comps.C)


def test_replay_of_a_mix_with_an_override_left_in_place(base, tmp_path):
    path, _ = base
    s = Session()
    s.open(path)
    s.deconvolve([2, 3], epsilon=0.8)
    s.reject([4])
    new = s.merge([0, 1])
    s.undo()
    s.redo()
    s.deconvolve(None)                      # "Rerun all": overrides kept
    s.undecide([4])
    r = Session()
    r.open(path)
    r.replay(s.data.curation_log)
    assert r.ids.tolist() == s.ids.tolist() and r.components.status.tolist() == s.components.status.tolist()
    assert dict(r.curation.state.overrides) == dict(s.curation.state.overrides) == {2: 0.8, 3: 0.8}
    assert r.has(new) and np.allclose(r.components.C, s.components.C)
    strip = [{k: v for k, v in json.loads(x).items() if k != "time"} for x in s.data.curation_log]
    assert [{k: v for k, v in json.loads(x).items() if k != "time"} for x in r.data.curation_log] == strip

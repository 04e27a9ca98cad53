"""Issue 10 item 4: every automatic decision carries a reason the table shows; a user decision
carries none (the schema: empty for user decisions); undo and replay restore both."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.io.session_file import load_session
from cnmf_gui.params import PipelineParams
from cnmf_gui.session import Session
from cnmf_gui.synthetic import make_session


@pytest.fixture
def session(tmp_path):
    data, synth = make_session(n_frames=150, shape=(40, 40), n_neurons=5, seed=7, folder=tmp_path)
    K = data.components.n_components
    data.components.metrics = {"snr": np.array([10.0, 10.0, 0.5, 10.0, 10.0]),
                               "r_value": np.full(K, 0.95), "area": np.array([400.0, 30, 30, 30, 30]),
                               "compactness": np.full(K, 0.9)}
    data.components.status = np.zeros(K, np.int8)
    data.components.reason = np.full(K, "", dtype=object)
    data.params = PipelineParams(frame_rate=30.0).replace("init", neuron_radius=4.0)
    s = Session()
    s.set_data(data, movie=synth.movie)
    return s


def reasons(s):
    return [str(r) for r in s.components.reason]


def test_thresholds_give_reasons_and_a_user_decision_clears_its_own(session):
    s = session
    s.apply_thresholds()
    assert [s.status_of(i) for i in range(5)] == [-1, 1, -1, 1, 1]
    got = reasons(s)
    assert got[0] == "too large" and got[3] == got[4] == ""
    assert "SNR" in got[2] or "low" in got[2]
    s.set_status([0], 1)                      # the user overrules "too large"
    assert reasons(s)[0] == ""
    assert reasons(s)[2] == got[2]            # others keep theirs
    s.undo()
    assert reasons(s)[0] == "too large" and s.status_of(0) == -1


def test_replay_reproduces_the_reasons(session, tmp_path):
    s = session
    path = tmp_path / "plain.h5"
    s.save(path)
    s.apply_thresholds()
    s.set_status([2], 1)
    s.save(tmp_path / "curated.h5")
    curated = load_session(tmp_path / "curated.h5")
    r = Session()
    r.open(path)
    assert r.replay(curated.curation_log) == len(curated.curation_log)
    assert reasons(r) == [str(x) for x in curated.components.reason]
    assert reasons(r)[2] == "" and reasons(r)[0] == "too large"


def test_the_table_shows_the_reason(qtbot, session):
    from cnmf_gui.gui.component_table import COLUMNS, ComponentTable

    session.apply_thresholds()
    table = ComponentTable(session)
    qtbot.addWidget(table)
    col = COLUMNS.index("reason")
    shown = {table.model.data(table.model.index(row, 0)): table.model.data(table.model.index(row, col))
             for row in range(5)}
    assert shown["0"] == "too large" and shown["3"] == ""

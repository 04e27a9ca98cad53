"""The Qt-free session: curation edits, undo/redo, the append-only log, ids, autosave."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnmf_gui.errors import UserError
from cnmf_gui.session import Session, find_recovery, recovery_path_for
from cnmf_gui.session import Autosaver
from cnmf_gui.session import read_log as replay
from cnmf_gui.synthetic import make_session
from tests.test_gui_support import requires


@pytest.fixture
def session_and_truth(tmp_path):
    data, synth = make_session(n_frames=150, shape=(40, 40), n_neurons=5, seed=7, folder=tmp_path)
    s = Session()
    s.set_data(data, movie=synth.movie)
    return s, synth


def record(s: Session, *events):
    seen = []
    for e in events:
        s.subscribe(e, lambda *args, e=e: seen.append((e, args)))
    return seen


def test_status_edits_undo_redo_and_events(session_and_truth):
    s, _ = session_and_truth
    seen = record(s, "status", "dirty", "log")
    s.select([1, 3])
    assert s.reject() == 2
    assert [s.status_of(i) for i in (1, 3)] == [-1, -1]
    assert ("status", ((1, 3),)) in seen and ("dirty", (True,)) in seen
    assert s.undo() and [s.status_of(i) for i in (1, 3)] == [0, 0]
    assert s.redo() and s.status_of(1) == -1
    assert not s.redo()
    actions = [json.loads(line)["action"] for line in s.data.curation_log]
    assert actions == ["status", "undo", "redo"]


def test_a_new_edit_after_undo_clears_redo(session_and_truth):
    s, _ = session_and_truth
    s.reject([0])
    s.undo()
    s.accept([2])
    assert not s.history.can_redo and s.status_of(0) == 0 and s.status_of(2) == 1


def test_thresholds_leave_user_decisions_alone(session_and_truth):
    s, _ = session_and_truth
    s.reject([0])
    s.accept([1])
    ev = s.params.evaluation
    # Thresholds that would accept everything and then reject everything.
    everything = type(ev)(min_snr=0.0, min_r_value=-1.0, snr_lowest=0.0, r_value_lowest=-1.0)
    s.apply_thresholds(everything)
    assert s.status_of(0) == -1 and all(s.status_of(i) == 1 for i in (1, 2, 3, 4))
    nothing = type(ev)(min_snr=1e6, min_r_value=1.0, snr_lowest=1e6, r_value_lowest=-1.0)
    s.apply_thresholds(nothing)
    assert s.status_of(0) == -1 and s.status_of(1) == 1
    assert all(s.status_of(i) == -1 for i in (2, 3, 4))
    # Setting a component back to undecided by hand returns it to the thresholds.
    s.undecide([1])
    s.apply_thresholds(nothing)
    assert s.status_of(1) == -1


def test_select_at_picks_the_strongest_footprint(session_and_truth):
    s, synth = session_and_truth
    for k in range(synth.n_neurons):
        r, c = np.unravel_index(np.argmax(synth.footprints[k]), synth.footprints[k].shape)
        if synth.footprints[k, r, c] >= np.delete(synth.footprints[:, r, c], k).max():
            assert s.select_at(r + 0.5, c + 0.5) == k
            assert s.selection == (k,)
    assert s.component_at(-1, 5) is None


def test_unknown_event_and_bad_ids_are_refused(session_and_truth):
    s, _ = session_and_truth
    with pytest.raises(ValueError, match="unknown session event"):
        s.subscribe("nonsense", print)
    with pytest.raises(UserError, match="no component with id 99"):
        s.reject([99])
    with pytest.raises(UserError, match="at least two"):
        s.merge([1])


def test_log_survives_a_save_and_reload(session_and_truth, tmp_path):
    s, synth = session_and_truth
    s.reject([0])
    s.accept([2])
    s.undo()            # the accept of 2 is undone: 2 is not a user decision any more
    s.accept([4])
    path = tmp_path / "curated.h5"
    s.save(path)
    assert not s.dirty
    t = Session()
    t.open(path)
    assert t.data.curation_log == s.data.curation_log
    assert t.is_user_decided(0) and t.is_user_decided(4) and not t.is_user_decided(2)
    assert [t.status_of(i) for i in range(5)] == [s.status_of(i) for i in range(5)]
    # More edits append; nothing earlier changes.
    t.reject([1])
    assert t.data.curation_log[:len(s.data.curation_log)] == s.data.curation_log
    # Every line has its own seq (the undo line too): 0 reject, 1 accept, 2 undo, 3 accept, 4 reject.
    assert json.loads(t.data.curation_log[-1])["seq"] == 4


def test_replay_counts_bad_lines_and_keeps_max_id():
    lines = ['{"seq": 0, "action": "merge", "ids": [1, 2], "new_id": 9}', "not json",
             '{"action": "undo", "seq": 0}', '{"seq": 1, "action": "status", "source": "user", '
             '"status": -1, "ids": [3]}']
    out = replay(lines)
    assert out.bad_lines == 1 and out.max_id == 9 and out.user_decided == {3} and out.next_seq == 2


@requires("cnmf_gui.engine", "deconvolve")
def test_merge_refits_new_id_and_ids_are_never_reused(session_and_truth):
    s, _ = session_and_truth
    K = s.n_components
    new = s.merge([1, 2])
    assert new == 5 and s.n_components == K - 1 and not s.has(1) and not s.has(2)
    k = s.index_of(new)
    union = set(s.footprint(new).ravel().nonzero()[0])
    assert union  # a footprint, not empty
    assert np.all(np.isfinite(s.components.C[k]))
    entry = json.loads(s.data.curation_log[-1])
    assert entry["action"] == "merge" and entry["ids"] == [1, 2] and entry["new_id"] == 5
    assert [o["id"] for o in entry["originals"]] == [1, 2]
    s.undo()
    assert s.has(1) and s.has(2) and not s.has(5)
    assert s.merge([3, 4]) == 6        # 5 was used once: never again


@requires("cnmf_gui.engine", "deconvolve_many")
def test_deconvolution_rerun_keeps_curation_and_records_overrides(session_and_truth):
    s, _ = session_and_truth
    s.reject([0])
    status = s.components.status.copy()
    request = s.deconvolution_request([1, 2], epsilon=0.4)
    s.apply_deconvolution(*request.run())
    assert np.array_equal(s.components.status, status)
    assert s.epsilon_override(1) == 0.4 and s.epsilon_override(3) is None
    assert np.allclose(s.components.epsilon[s.indices_of([1, 2])], 0.4)
    # Rerun all: overrides stay, the others take the global epsilon.
    s.set_param("deconvolution", "epsilon", 0.1)
    request = s.deconvolution_request()
    assert np.allclose(request.epsilon, [0.1, 0.4, 0.4, 0.1, 0.1])


def test_autosave_writes_a_recovery_file_offered_after_a_crash(session_and_truth, tmp_path):
    s, _ = session_and_truth
    path = tmp_path / "session.h5"
    s.save(path)
    s.reject([3])
    saver = Autosaver()
    saver.save_async(s.snapshot(), s.recovery_path())
    assert saver.flush() and saver.writes == 1
    assert s.recovery_path() == recovery_path_for(path)
    assert find_recovery(path) == recovery_path_for(path)
    t = Session()
    t.open(path, use_recovery=True)
    assert t.status_of(3) == -1 and t.dirty and t.path == path
    t.save()
    assert find_recovery(path) is None and not t.dirty


def test_autosave_failure_is_reported_not_raised(tmp_path):
    errors = []

    def broken(data, path):
        raise OSError("disk full")
    saver = Autosaver(writer=broken, on_error=errors.append)
    saver.save_async(object(), tmp_path / "x.recovery.h5")
    saver.flush()
    assert errors and "disk full" in errors[0]


def test_changing_a_parameter_marks_the_session_unsaved_and_an_unchanged_one_does_not(tmp_path):
    from cnmf_gui.synthetic import make_session

    data, synth = make_session(n_frames=30, shape=(24, 24), n_neurons=2, folder=tmp_path)
    s = Session()
    s.set_data(data, movie=synth.movie)
    s.set_dirty(False)
    s.set_param("init", "neuron_radius", s.params.init.neuron_radius)  # same value: nothing to save
    assert not s.dirty
    s.set_param("init", "neuron_radius", 6.0)
    assert s.dirty and s.data.params.init.neuron_radius == 6.0

"""The edit journal (issue 12): every curation line on disk at once; restoring continues the log."""

from __future__ import annotations

import json

import numpy as np

from cnmf_gui.io import load_session, save_session
from cnmf_gui.io.journal import append_line, read_lines
from cnmf_gui.session import Session, recovery_path_for
from cnmf_gui.session.recovery import EditJournal, continuing, journal_path_for
from tests.test_gui_support import synthetic


def saved_session(tmp_path):
    data, _ = synthetic(tmp_path)
    path = tmp_path / "s.h5"
    s = Session()
    s.set_data(data)
    s.save(path)
    return s, path


def test_a_torn_last_line_is_dropped(tmp_path):
    path = tmp_path / "j"
    append_line(path, '{"seq": 0}')
    with open(path, "a") as f:
        f.write('{"seq": 1, "act')                 # the crash came mid-write
    assert read_lines(path) == ['{"seq": 0}']


def test_only_lines_that_continue_the_log_are_done_again():
    log = [json.dumps({"seq": i, "action": "status"}) for i in range(3)]
    more = [json.dumps({"seq": i, "action": "status"}) for i in range(2, 6)]
    assert continuing(more, log) == more[1:]               # seq 2 is in the log already
    gap = [json.dumps({"seq": 5, "action": "status"})]
    assert continuing(gap, log) == []                      # another file's journal
    reset = more[1:2] + [json.dumps({"seq": 4, "action": "pipeline"})] + more[3:]
    assert continuing(reset, log) == more[1:2]             # a pipeline run cannot be redone


def test_edits_after_the_autosave_and_before_it_are_restored_with_undo(tmp_path):
    s, path = saved_session(tmp_path)
    saved = s.components.status.copy()
    journal = EditJournal(s)
    s.reject([1])
    s.accept([2])
    save_session(s.snapshot(), recovery_path_for(path))    # an autosave
    s.merge([3, 4])
    s.reject([0])                                          # journaled only, then the crash
    shown_ids, shown = s.components.ids.copy(), s.components.status.copy()
    journal.close()
    assert len(read_lines(journal_path_for(recovery_path_for(path)))) == 4

    t = Session()
    t.open(path, use_recovery=True)
    assert np.array_equal(t.components.ids, shown_ids) and np.array_equal(t.components.status, shown)
    for _ in range(4):
        assert t.undo()
    assert not t.undo()                                    # back at the saved file, no further
    assert np.array_equal(t.components.status, saved)


def test_only_a_journal_after_a_save_is_offered_and_restored(tmp_path):
    from cnmf_gui.session import recovery_for_open
    s, path = saved_session(tmp_path)
    journal = EditJournal(s)
    s.reject([5])
    journal.close()
    assert not recovery_path_for(path).exists()            # killed before any autosave
    assert recovery_for_open(path) is not None
    t = Session()
    t.open(path, use_recovery=True)
    assert t.components.status[t.index_of(5)] == -1 and t.dirty


def test_saving_removes_the_journal(tmp_path):
    s, path = saved_session(tmp_path)
    journal = EditJournal(s)
    s.reject([1])
    assert journal_path_for(recovery_path_for(path)).exists()
    s.save(path)
    assert not journal_path_for(recovery_path_for(path)).exists()
    journal.close()


def test_an_earlier_crashs_journal_is_set_aside_not_extended(tmp_path):
    s, path = saved_session(tmp_path)
    old = journal_path_for(recovery_path_for(path))
    append_line(old, json.dumps({"seq": s.curation.history.next_seq, "action": "status", "ids": [0],
                                 "source": "user", "status": -1}))
    messages = []
    s.subscribe("message", messages.append)
    journal = EditJournal(s)
    s.accept([1])
    journal.close()
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("s.h5.recovery-") and p.name.endswith(".journal")]
    assert len(kept) == 1 and "status" in read_lines(kept[0])[0]
    assert len(read_lines(old)) == 1 and '"ids": [1]' in read_lines(old)[0]
    assert any("kept as" in m for m in messages)


def test_a_journal_that_cannot_be_written_is_told_and_the_edit_stands(tmp_path, monkeypatch):
    import errno

    from cnmf_gui.io import journal as io_journal
    s, path = saved_session(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(io_journal.os, "write", full)
    told = []
    journal = EditJournal(s, on_error=told.append)
    s.reject([1])
    journal.close()
    assert s.components.status[s.index_of(1)] == -1
    assert len(told) == 1 and "no space left" in told[0] and "s.h5" in told[0]


def test_a_line_appended_after_a_torn_one_is_whole(tmp_path):
    path = tmp_path / "j"
    path.write_text('{"seq": 0}\n{"seq": 1, "act')
    append_line(path, '{"seq": 1}')
    assert read_lines(path)[-1] == '{"seq": 1}'


def test_a_second_crash_before_saving_still_has_every_edit(tmp_path):
    s, path = saved_session(tmp_path)
    journal = EditJournal(s)
    s.reject([1])
    s.accept([2])
    journal.close()                                       # crash 1 (no autosave)
    t = Session()
    j2 = EditJournal(t)
    t.open(path, use_recovery=True)                       # restored...
    t.reject([3])                                         # ...edited again, crash 2
    shown = t.components.status.copy()
    j2.close()
    lines = read_lines(journal_path_for(recovery_path_for(path)))
    seqs = [json.loads(line)["seq"] for line in lines]
    assert seqs == list(range(seqs[0], seqs[0] + 3))             # each edit once
    u = Session()
    u.open(path, use_recovery=True)
    assert np.array_equal(u.components.status, shown)
    assert u.undo() and u.undo() and u.undo() and not u.undo()

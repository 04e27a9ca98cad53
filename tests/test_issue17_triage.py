"""Issue 17 item 4: triage the demo with only keys.

The queue orders the components nobody decided by how uncertain the rule's decision is; in the
window, T opens the triage view and A / R / U / M judge one component at a time through the
session's own commands (the same log lines as the Edit menu), Ctrl+Z goes back.
"""

from __future__ import annotations

import json

import numpy as np
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import QApplication

from cnmf_gui.params import EvalParams
from cnmf_gui.session.triage import margins
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def test_margins_follow_the_rule_that_decided():
    ev = EvalParams()
    m = margins({"snr": np.array([ev.min_snr, 10 * ev.min_snr, 1.6, 10 * ev.min_snr, 1.2]),
                 "r_value": np.array([0.99, 0.99, 0.5, 0.0, 0.5])}, ev)
    assert m[0] == 0                                            # accepted right on min_snr
    assert np.isclose(m[1], (0.99 - ev.min_r_value) / 0.2)      # accepted: the weakest criterion
    assert np.isclose(m[3], (ev.r_value_lowest - 0.0) / 0.2)    # rejected by r alone, whatever SNR
    assert 0 < m[4] < m[2] < m[1]                               # undecided: the nearer threshold (snr_lowest)
    # A rejection for another reason (a duplicate) is not in doubt.
    assert np.isinf(margins({"snr": np.array([5.0]), "r_value": np.array([0.9])}, ev, [-1])[0])


def _statuses(session):
    return {int(i): int(v) for i, v in zip(session.components.ids, session.components.status)}


def test_triage_the_demo_with_only_keys(qtbot, window):  # noqa: F811
    w = window
    s = w.session
    s.apply_thresholds()
    # One decision made beforehand: it stays out of the queue.
    decided = int(s.ids[0])
    s.reject([decided])
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_T)
    dialog = w.triage_dialog
    assert dialog.isVisible()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is dialog, timeout=3000)
    queue = dialog.queue
    order = list(queue.ids)
    assert decided not in order and len(order) == s.n_components - 1
    # The least certain first: undecided ones, then by margin.
    comps = s.components
    m = margins(comps.metrics, s.params.evaluation, comps.status)
    keys = [(comps.status[s.index_of(i)] != 0, m[s.index_of(i)]) for i in order]
    assert keys == sorted(keys)
    assert list(s.selection) == [order[0]]            # the main window follows the queue
    assert f"Component {order[0]}" in dialog.header.text()
    n_log = len(s.data.curation_log)
    pressed = {}
    for n, cid in enumerate(order):
        key, status = [(Qt.Key.Key_A, 1), (Qt.Key.Key_R, -1)][n % 2]
        assert queue.current == cid
        qtbot.keyClick(dialog, key)
        pressed[cid] = status
    assert dialog.header.text() == "Triage done"
    assert dialog.progress.text().startswith(f"{len(order)} of {len(order)} judged")
    got = _statuses(s)
    assert all(got[cid] == st for cid, st in pressed.items()) and got[decided] == -1
    lines = [json.loads(x) for x in s.data.curation_log[n_log:]]
    assert [(x["action"], x["ids"], x["status"]) for x in lines] == \
        [("status", [cid], st) for cid, st in pressed.items()]
    # Ctrl+Z takes the last decision back and returns to that component.
    qtbot.keyClick(dialog, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert queue.current == order[-1] and not s.is_user_decided(order[-1])
    assert dialog.progress.text().startswith(f"{len(order) - 1} of {len(order)} judged")
    # U keeps it for the thresholds (not a user decision), and the queue moves on.
    qtbot.keyClick(dialog, Qt.Key.Key_U)
    assert not s.is_user_decided(order[-1]) and queue.done
    dialog.close()
    QApplication.processEvents()


def test_m_merges_with_the_most_similar_overlapping_neighbour(qtbot, window):  # noqa: F811
    import scipy.sparse as sp

    from cnmf_gui.session.triage import TriageQueue, merge_partner

    s = window.session
    A = sp.csc_matrix(s.components.A)
    overlap = (A.T @ A).toarray()
    np.fill_diagonal(overlap, 0)
    pairs = np.argwhere(overlap > 0)
    assert len(pairs)
    queue = TriageQueue(s)
    k = int(pairs[0][0])
    cid = int(s.ids[k])
    queue.position = queue.ids.index(cid)
    partner, r = merge_partner(s, cid)
    assert s.has(partner) and -1 <= r <= 1
    n = s.n_components
    queue.decide("merge")
    assert s.n_components == n - 1 and not s.has(cid) and not s.has(partner)
    assert queue.current == list(s.selection)[0] and queue.current not in (cid, partner)
    assert json.loads(s.data.curation_log[-1])["action"] == "merge"
    assert queue.undo() and s.has(cid) and queue.current == cid

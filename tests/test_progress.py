"""The Qt-free progress and cancellation protocol."""

import threading

import pytest

from cnmf_gui.errors import Cancelled
from cnmf_gui.progress import CallbackProgress, NullProgress, Progress, SubProgress, checkpoint


def test_reports_and_cancel_from_another_thread():
    seen = []
    prog = CallbackProgress(lambda f, m: seen.append((f, m)))
    assert isinstance(prog, Progress)
    checkpoint(prog, 0.25, "a")
    t = threading.Thread(target=prog.cancel)
    t.start()
    t.join()
    with pytest.raises(Cancelled):
        checkpoint(prog, 0.5, "b")
    assert seen == [(0.25, "a"), (0.5, "b")]


def test_subprogress_maps_onto_parent_range():
    seen = []
    parent = CallbackProgress(lambda f, m: seen.append((round(f, 6), m)))
    sub = SubProgress(parent, 0.5, 0.75, prefix="cnmf")
    sub.report(0.0, "init")
    sub.report(1.0, "")
    sub.report(2.0, "clamped")
    assert seen == [(0.5, "cnmf: init"), (0.75, "cnmf"), (0.75, "cnmf: clamped")]


def test_none_and_null_never_cancel():
    checkpoint(None, 0.5)
    checkpoint(NullProgress(), 0.5)
    SubProgress(None, 0, 1).report(0.3)

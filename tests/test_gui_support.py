"""Fixtures and helpers shared by the GUI tests (no tests here).

Every GUI test gets an autouse check that no worker QThread is left running, and dialogs that
would block (questions) are answered by a scripted ``answers`` list instead of a user.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.session import Session


def engine_has(module: str, name: str) -> bool:
    import importlib
    try:
        return hasattr(importlib.import_module(module), name)
    except ImportError:
        return False


def requires(module: str, name: str):
    """Skip a test until the engine function it exercises has landed."""
    return pytest.mark.skipif(not engine_has(module, name), reason=f"{module}.{name} not available yet")


@pytest.fixture(autouse=True)
def no_dangling_threads():
    yield
    from cnmf_gui.gui.worker import running_threads
    left = running_threads()
    assert not left, f"{len(left)} worker thread(s) still running after the test"


class Answers:
    """Scripted answers to :func:`cnmf_gui.gui.dialogs.ask`, used in order."""

    def __init__(self):
        self.script: list[str] = []
        self.asked: list[str] = []

    def push(self, *values: str) -> None:
        self.script.extend(values)

    def __call__(self, parent, title, question, buttons=("Yes", "No")):
        self.asked.append(title)
        # With nothing scripted, the last button (the cautious one: No / Cancel / Ignore).
        return self.script.pop(0) if self.script else buttons[-1]


@pytest.fixture
def answers(monkeypatch):
    from cnmf_gui.gui import dialogs
    scripted = Answers()
    monkeypatch.setattr(dialogs, "ask", scripted)
    return scripted


def synthetic(tmp_path, n_frames=200, shape=(48, 48), n_neurons=6, seed=3):
    from cnmf_gui.synthetic import make_session
    data, synth = make_session(n_frames=n_frames, shape=shape, n_neurons=n_neurons, seed=seed, folder=tmp_path)
    return data, synth


@pytest.fixture
def window(qtbot, tmp_path, answers, monkeypatch):
    """A main window showing a small synthetic session (6 neurons, 48 x 48, 200 frames).

    The user's folder (autosaves of never-saved sessions) is the test's own.
    """
    from PyQt6.QtCore import QSettings

    from cnmf_gui.app import configure_pyqtgraph
    from cnmf_gui.gui.main_window import MainWindow

    monkeypatch.setenv("CNMF_GUI_HOME", str(tmp_path / "home"))
    configure_pyqtgraph()
    data, synth = synthetic(tmp_path)
    session = Session()
    w = MainWindow(session, settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    session.set_data(data, movie=synth.movie)
    w.synth = synth
    yield w
    w._closing_ok = True
    w.shutdown()


def strongest_pixel(synth, session, component_id):
    """(row, col) where component ``component_id`` dominates every other footprint."""
    k = session.index_of(component_id)
    fp = synth.footprints.astype(float)
    others = np.delete(fp, k, axis=0).max(axis=0) if len(fp) > 1 else 0 * fp[0]
    score = np.where(fp[k] > others, fp[k], -1)
    r, c = np.unravel_index(np.argmax(score), score.shape)
    return int(r), int(c)

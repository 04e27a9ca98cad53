"""Issue 17 item 1 in the window: Shift+click on a missed cell seeds it through the session's
command, with the same result as the API; a click outside the movie says why in one message."""

from __future__ import annotations

import dataclasses

import numpy as np
from PyQt6.QtCore import Qt

from cnmf_gui.io import save_session
from cnmf_gui.session import Session
from cnmf_gui.synthetic import make_session
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401
from tests.test_issue17_seed_session import _drop, _strip


def test_shift_click_seeds_the_missed_cell_like_the_api(qtbot, window, tmp_path):  # noqa: F811
    drop = 2
    data, synth = make_session(n_frames=300, shape=(48, 48), n_neurons=6, seed=3, folder=tmp_path)
    data = dataclasses.replace(data, components=_drop(data.components, drop))
    base = tmp_path / "base.h5"
    save_session(data, str(base))
    row, col = np.round(synth.centers[drop]).astype(int)

    api = Session()
    api.open_session(str(base))
    api_id = api.seed(row, col)

    w = window
    session = w.session
    session.open_session(str(base))
    n_before = session.n_components
    viewport = w.movie_view.graphics.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                     w.movie_view.widget_pos(row, col))
    assert session.n_components == n_before + 1
    assert list(session.selection) == [api_id]
    assert (session.components.A != api.components.A).nnz == 0
    np.testing.assert_allclose(session.components.C, api.components.C)
    assert _strip(session.data.curation_log) == _strip(api.data.curation_log)
    # Undo takes the seeded cell back out.
    qtbot.mouseClick(w.curation.buttons["undo"], Qt.MouseButton.LeftButton)
    assert session.n_components == n_before

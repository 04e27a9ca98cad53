"""Issue 17 item 2: split a component that covers two cells back into the two cells.

Known answer: a synthetic session with the truth as components; the two closest true cells are
merged (one component covering both), then split, automatically and at two clicks. Each part must
match one true cell (footprint cosine >= 0.85, denoised trace r >= 0.9), with new ids, undoable,
logged, the same through the API, ``cnmf-gui curate --split`` and a replayed log, and in the
window with Alt+click twice.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PyQt6.QtCore import Qt

from cnmf_gui.session import Session
from cnmf_gui.synthetic import make_session
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def merged_pair(seed, folder=None):
    data, synth = make_session(n_frames=300, shape=(48, 48), n_neurons=6, seed=seed, folder=folder)
    s = Session()
    s.set_data(data, movie=synth.movie)
    c = synth.centers
    d = np.hypot(c[:, None, 0] - c[None, :, 0], c[:, None, 1] - c[None, :, 1])
    d[np.eye(len(c), dtype=bool)] = np.inf
    i, j = np.unravel_index(np.argmin(d), d.shape)
    merged = s.merge([int(s.ids[i]), int(s.ids[j])])
    return s, synth, (int(i), int(j)), merged


def match(s, synth, pair, new_ids):
    """(cosine, r) of each new component against the true cell it resembles most; both cells matched."""
    found = []
    for cid in new_ids:
        k = s.index_of(cid)
        a = s.components.A[:, k].toarray().ravel()
        cos = [a @ synth.footprints[q].ravel() / (np.linalg.norm(a) * np.linalg.norm(synth.footprints[q]))
               for q in pair]
        q = pair[int(np.argmax(cos))]
        found.append((q, max(cos), np.corrcoef(s.components.C[k], synth.traces[q])[0, 1]))
    assert sorted(f[0] for f in found) == sorted(pair), found
    return found


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_split_recovers_the_two_cells(seed):
    s, synth, pair, merged = merged_pair(seed)
    before = s.components
    new_ids = s.split(merged)
    assert len(new_ids) == 2 and not set(new_ids) & set(before.ids.tolist())
    assert merged not in s.components.ids and s.n_components == before.n_components + 1
    assert list(s.selection) == new_ids
    for q, cos, r in match(s, synth, pair, new_ids):
        assert cos >= 0.85, (seed, q, cos)
        assert r >= 0.9, (seed, q, r)
    # The other components are untouched.
    for cid in before.ids:
        if cid != merged:
            k0, k1 = int(np.flatnonzero(before.ids == cid)[0]), s.index_of(cid)
            assert (before.A[:, k0] != s.components.A[:, k1]).nnz == 0
    entry = json.loads(s.data.curation_log[-1])
    assert entry["action"] == "split" and entry["split"] == merged and entry["new_ids"] == new_ids
    assert s.undo()
    assert (s.components.A != before.A).nnz == 0 and np.array_equal(s.components.ids, before.ids)
    assert list(s.selection) == [merged]
    assert s.redo() and list(s.selection) == new_ids


def test_split_at_two_clicks_and_bad_points():
    from cnmf_gui.errors import UserError

    s, synth, pair, merged = merged_pair(3)
    points = np.round(synth.centers[list(pair)]).astype(int)
    new_ids = s.split(merged, points)
    for q, cos, r in match(s, synth, pair, new_ids):
        assert cos >= 0.85 and r >= 0.9, (q, cos, r)
    s.undo()
    with pytest.raises(UserError, match="two points"):
        s.split(merged, points[:1])
    with pytest.raises(UserError, match="not on the component"):
        s.split(merged, [[0, 0], [47, 47]])
    assert s.components.n_components == len(s.ids)       # nothing changed by the refusals


def _strip(lines):
    return [{k: v for k, v in json.loads(x).items() if k != "time"} for x in lines]


def test_split_same_through_api_cli_and_replay(tmp_path, capsys):
    from cnmf_gui.cli import main
    from cnmf_gui.io import load_session, save_session

    s, synth, pair, merged = merged_pair(1, folder=tmp_path)
    base = tmp_path / "base.h5"
    save_session(s.data, str(base))
    cli = tmp_path / "cli.h5"
    assert main(["curate", str(base), "--split", str(merged), "--out", str(cli)]) == 0
    assert "new ids" in capsys.readouterr().out
    api = Session()
    api.open_session(str(base))
    api.split(merged)
    by_cli = load_session(str(cli))
    assert _strip(by_cli.curation_log) == _strip(api.data.curation_log)
    assert (by_cli.components.A != api.components.A).nnz == 0
    np.testing.assert_allclose(by_cli.components.C, api.components.C)
    fresh = Session()
    fresh.open_session(str(base))
    fresh.replay(by_cli.curation_log[-1:])      # the split (the merge before it is in base already)
    assert np.array_equal(fresh.components.ids, api.components.ids)
    assert (fresh.components.A != api.components.A).nnz == 0
    # An id that does not exist: one line, exit status 2.
    assert main(["curate", str(base), "--split", "999", "--out", str(tmp_path / "x.h5")]) == 2
    assert "999" in capsys.readouterr().err


def test_alt_click_twice_splits_in_the_window(qtbot, window, tmp_path):  # noqa: F811
    from cnmf_gui.io import save_session

    s0, synth, pair, merged = merged_pair(3, folder=tmp_path)
    base = tmp_path / "base.h5"
    save_session(s0.data, str(base))
    w = window
    session = w.session
    session.open_session(str(base))
    session.select([merged])
    viewport = w.movie_view.graphics.viewport()
    for q in pair:
        row, col = np.round(synth.centers[q]).astype(int)
        qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier,
                         w.movie_view.widget_pos(row, col))
    assert merged not in session.ids
    new_ids = list(session.selection)
    for q, cos, r in match(session, synth, pair, new_ids):
        assert cos >= 0.85 and r >= 0.9, (q, cos, r)
    assert json.loads(session.data.curation_log[-1])["points"] is not None
    # The S key splits the selection automatically; Ctrl+Z undoes it.
    session.undo()
    session.select([merged])
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_S)
    assert merged not in session.ids and len(session.selection) == 2
    qtbot.keyClick(w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert merged in session.ids


def test_local_metrics_equal_the_whole_movie_evaluation():
    """Seed and split evaluate new components on a window around them: the same values as the
    evaluation over whole frames."""
    import scipy.sparse as sp

    from cnmf_gui.session.edits import local_metrics
    from cnmf_gui.session.merge import merged_metrics

    s, synth, pair, merged = merged_pair(2)
    comps = s.components
    cols = [0, 1, comps.n_components - 1]
    feet = comps.A[:, cols].toarray()
    local = local_metrics(s, feet, comps.C[cols], comps.sn[cols])
    for j, k in enumerate(cols):
        whole = merged_metrics(s, sp.csc_matrix(feet[:, j:j + 1]), comps.C[k], float(comps.sn[k]))
        assert set(local[j]) == set(whole)
        for key in whole:
            np.testing.assert_allclose(local[j][key], whole[key], rtol=1e-6, err_msg=key)

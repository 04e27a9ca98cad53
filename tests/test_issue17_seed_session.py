"""Issue 17 item 1 (session part): the seed command through the API, undo and replay.

A synthetic session holding every true cell but one; ``Session.seed`` at the missing cell's
centre adds a component matching it, refits only the overlapping components, and undo gives back
the components exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from cnmf_gui.results import Components
from cnmf_gui.session import Session
from cnmf_gui.synthetic import make_session


def _drop(comps: Components, k: int) -> Components:
    keep = np.setdiff1d(np.arange(comps.n_components), [k])
    return Components(
        A=comps.A[:, keep].tocsc(), C=comps.C[keep], S=comps.S[keep], F=comps.F[keep], dff=comps.dff[keep],
        baseline=comps.baseline[keep], sn=comps.sn[keep], epsilon=comps.epsilon[keep], g=comps.g[keep],
        status=comps.status[keep], ids=comps.ids[keep], lam=comps.lam[keep],
        metrics={key: np.asarray(v)[keep] for key, v in comps.metrics.items()})


def seeded_session(tmp_path, drop=2):
    data, synth = make_session(n_frames=300, shape=(48, 48), n_neurons=6, seed=3, folder=tmp_path)
    data = dataclasses.replace(data, components=_drop(data.components, drop))
    s = Session()
    s.set_data(data, movie=synth.movie)
    return s, synth


def test_seed_recovers_and_undo_restores(tmp_path):
    drop = 2
    s, synth = seeded_session(tmp_path, drop)
    before = s.components
    row, col = np.round(synth.centers[drop]).astype(int)
    new_id = s.seed(row, col)
    after = s.components
    assert new_id not in before.ids and after.n_components == before.n_components + 1
    k = int(np.flatnonzero(after.ids == new_id)[0])
    a = after.A[:, k].toarray().ravel()
    truth = synth.footprints[drop].ravel()
    cos = a @ truth / (np.linalg.norm(a) * np.linalg.norm(truth))
    r = np.corrcoef(after.C[k], synth.traces[drop])[0, 1]
    assert cos >= 0.9, cos
    assert r >= 0.95, r
    assert np.isfinite(after.metrics["snr"][k])
    # Components whose footprints do not touch the new one are untouched.
    touching = np.asarray((abs(before.A).T @ sp.csc_matrix(abs(after.A[:, k]))).todense()).ravel() > 0
    for j in np.flatnonzero(~touching):
        assert (before.A[:, j] != after.A[:, j]).nnz == 0
        assert np.array_equal(before.C[j], after.C[j])
    line = s.log_lines[-1] if hasattr(s, "log_lines") else None
    assert s.undo()
    back = s.components
    assert np.array_equal(back.ids, before.ids)
    assert (back.A != before.A).nnz == 0 and np.array_equal(back.C, before.C)
    assert s.redo() and np.array_equal(s.components.ids, after.ids)
    del line


def _strip(lines):
    import json
    return [{k: v for k, v in json.loads(x).items() if k != "time"} for x in lines]


def test_seed_same_through_api_cli_and_replay(tmp_path, capsys):
    from cnmf_gui.cli import main
    from cnmf_gui.io import load_session, save_session

    drop = 2
    s, synth = seeded_session(tmp_path, drop)
    row, col = np.round(synth.centers[drop]).astype(int)
    base = tmp_path / "base.h5"
    save_session(s.data, str(base))
    cli = tmp_path / "cli.h5"
    assert main(["curate", str(base), "--seed", f"{row},{col}", "--out", str(cli)]) == 0
    assert "new id" in capsys.readouterr().out
    api = Session()
    api.open_session(str(base))
    api.seed(row, col)
    by_cli = load_session(str(cli))
    assert _strip(by_cli.curation_log) == _strip(api.data.curation_log)
    assert (by_cli.components.A != api.components.A).nnz == 0
    assert np.array_equal(by_cli.components.ids, api.components.ids)
    np.testing.assert_allclose(by_cli.components.C, api.components.C)
    # Replaying the log on the unseeded session reproduces the seed.
    fresh = Session()
    fresh.open_session(str(base))
    assert fresh.replay(by_cli.curation_log) >= 1
    assert (fresh.components.A != api.components.A).nnz == 0
    # A malformed point: one clear line, exit status 2.
    assert main(["curate", str(base), "--seed", "3", "--out", str(tmp_path / "x.h5")]) == 2
    assert "ROW,COL" in capsys.readouterr().err

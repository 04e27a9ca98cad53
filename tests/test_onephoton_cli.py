"""`cnmf-gui run --preset one-photon`: the preset says what it set, the session keeps the ring
background and reopens it, the background and demixed views work; the check at open warns; a
ring larger than the frame is one line naming the key."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnmf_gui.cli import main
from cnmf_gui.synthetic.one_photon import make_one_photon_movie


@pytest.fixture(scope="module")
def one_photon_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onep")
    synth = make_one_photon_movie(n_frames=400, shape=(80, 80), n_neurons=8, motion_px=1.5, seed=7)
    path = folder / "miniscope.npy"
    np.save(path, synth.movie)
    return path


def test_run_one_photon_preset_writes_a_ring_session_that_reopens(one_photon_file, tmp_path, capsys):
    from cnmf_gui.engine.model_views import ModelViews
    from cnmf_gui.session import Session

    out = tmp_path / "s.h5"
    assert main(["run", str(one_photon_file), "--out", str(out), "--preset", "one-photon", "--fs", "20"]) == 0
    captured = capsys.readouterr()
    assert "preset one-photon: " in captured.out and "cnmf.background_model = 'ring'" in captured.out
    assert "looks one-photon" not in captured.err          # the preset is already right
    session = Session()
    session.open(str(out))
    data = session.data
    assert data.background.model == "ring" and data.params.cnmf.background_model == "ring"
    assert data.components.n_components >= 6
    comps = data.components
    views = ModelViews(session.movie, comps, data.background, motion=data.motion,
                       colours=np.ones((comps.n_components, 3)))
    t = int(np.argmax(comps.C.sum(axis=0)))
    bg = views.background(t)
    frame = views.corrected(t)
    # the ring background carries the bright haze: most of the frame, but not the cells
    assert 0.7 < bg.mean() / frame.mean() < 1.1
    sub = views.background_subtracted(t)
    assert abs(sub.mean()) < 0.2 * frame.mean()
    assert views.demixed(t).shape == (80, 80, 3) and views.demixed(t).max() > 0


def test_run_warns_when_a_one_photon_movie_gets_two_photon_parameters(one_photon_file, tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert main(["run", str(one_photon_file), "--out", str(out), "--no-motion", "--fs", "20", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "looks one-photon" in err and "--preset one-photon" in err


def test_ring_radius_too_large_is_one_line_naming_the_key(one_photon_file, tmp_path, capsys):
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"cnmf": {"ring_radius": 500}}))
    out = tmp_path / "s.h5"
    code = main(["run", str(one_photon_file), "--out", str(out), "--preset", "one-photon", "--no-motion",
                 "--params", str(params), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnmf-gui run: error:") and "\n" not in err and "cnmf.ring_radius" in err
    assert not out.exists()

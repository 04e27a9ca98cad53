"""`cnmf-gui run` and `cnmf-gui deconvolve`: session files written whole, curation kept, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnmf_gui.cli import main
from cnmf_gui.synthetic import make_movie


@pytest.fixture(scope="module")
def movie_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    synth = make_movie(n_frames=300, shape=(48, 48), n_neurons=6, min_distance=2.5, seed=51)
    path = folder / "movie.npy"
    np.save(path, synth.movie)
    return path


@pytest.fixture(scope="module")
def session_file(movie_file):
    out = movie_file.parent / "session.h5"
    assert main(["run", str(movie_file), "--out", str(out), "--no-motion", "--fs", "30", "--quiet"]) == 0
    return out


def test_run_writes_a_session_and_reports(movie_file, tmp_path, capsys):
    from cnmf_gui.io import load_session

    out = tmp_path / "s.h5"
    assert main(["run", str(movie_file), "--out", str(out), "--no-motion", "--fs", "30"]) == 0
    text = capsys.readouterr().out
    assert "components" in text and "stage timings" in text and "total" in text
    data = load_session(out)
    assert data.components.n_components >= 5
    # the radius was not given: the one estimated is printed and stored
    r = data.params.init.neuron_radius
    assert r > 0 and f"neuron radius: {r:g} px (estimated from the movie)" in text
    assert " inactive) -> " in text
    assert data.frame_rate == 30.0 and data.params.motion.enabled is False
    assert [p.name for p in tmp_path.iterdir()] == ["s.h5"]      # no temporary file left


def test_run_with_a_parameter_file(movie_file, tmp_path):
    from cnmf_gui.io import load_session

    params = tmp_path / "p.json"
    params.write_text(json.dumps({"init": {"n_components": 2}, "motion": {"enabled": False}}))
    out = tmp_path / "s.h5"
    assert main(["run", str(movie_file), "--out", str(out), "--params", str(params), "--quiet"]) == 0
    assert load_session(out).components.n_components <= 2


@pytest.mark.parametrize("case", ["bad_key", "missing_folder", "movie_itself", "not_a_session", "bad_fs",
                                  "missing_movie"])
def test_run_bad_input_is_one_line_and_writes_nothing(case, movie_file, tmp_path, capsys):
    out = tmp_path / "s.h5"
    args = ["run", str(movie_file), "--out", str(out), "--no-motion", "--quiet"]
    if case == "bad_key":
        p = tmp_path / "p.json"
        p.write_text(json.dumps({"init": {"radius": 3}}))
        args += ["--params", str(p)]
    elif case == "missing_folder":
        args[3] = str(tmp_path / "nope" / "s.h5")
    elif case == "movie_itself":
        args[3] = str(movie_file)
    elif case == "not_a_session":
        out.write_text("precious notes")
    elif case == "bad_fs":
        args += ["--fs", "-3"]
    elif case == "missing_movie":
        args[1] = str(tmp_path / "missing.tif")
    before = movie_file.read_bytes()
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnmf-gui run: error:") and "\n" not in err
    assert movie_file.read_bytes() == before
    if case == "not_a_session":
        assert out.read_text() == "precious notes"
    else:
        assert not out.exists()


def test_interrupted_run_leaves_no_file(movie_file, tmp_path, monkeypatch):
    import cnmf_gui.engine.pipeline as pipeline

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "run_pipeline", interrupted)
    out = tmp_path / "s.h5"
    assert main(["run", str(movie_file), "--out", str(out), "--quiet"]) == 130
    assert list(tmp_path.iterdir()) == []


def test_deconvolve_in_place_keeps_curation(session_file, tmp_path):
    from cnmf_gui.io import load_session, save_session

    data = load_session(session_file)
    K = data.components.n_components
    data.components.status[:] = -1                         # the user's decisions
    data.components.status[0] = 1
    data.curation_log.append(json.dumps({"action": "reject_all_but_one"}))
    path = tmp_path / "curated.h5"
    save_session(data, path)
    ids = data.components.ids
    assert main(["deconvolve", str(path), "--epsilon", "0.5", "--components", f"{ids[0]},{ids[1]}"]) == 0
    after = load_session(path)
    c0, c1 = data.components, after.components
    assert np.array_equal(c1.status, c0.status) and np.array_equal(c1.ids, c0.ids)
    assert np.allclose(c1.F, c0.F)                          # the data is untouched
    assert np.allclose(c1.epsilon[:2], 0.5) and np.allclose(c1.epsilon[2:], c0.epsilon[2:])
    assert np.allclose(c1.C[2:], c0.C[2:])
    # a looser noise constraint gives a smoother trace: farther from the raw trace
    for k in (0, 1):
        assert np.linalg.norm(c1.C[k] + c1.baseline[k] - c1.F[k]) >= \
            np.linalg.norm(c0.C[k] + c0.baseline[k] - c0.F[k]) - 1e-9
    assert after.curation_log[:-1] == data.curation_log
    entry = json.loads(after.curation_log[-1])
    # The window's command and line: a seq, and an override that reading the log gives back.
    assert entry["action"] == "deconvolution" and entry["epsilon"] == 0.5 and entry["override"]
    assert entry["ids"] == [int(i) for i in ids[:2]] and isinstance(entry["seq"], int)
    from cnmf_gui.session import read_log
    assert read_log(after.curation_log).overrides == {int(ids[0]): 0.5, int(ids[1]): 0.5}
    assert K == c1.n_components


def test_deconvolve_all_updates_the_parameters(session_file, tmp_path):
    from cnmf_gui.io import load_session

    path = tmp_path / "s.h5"
    path.write_bytes(session_file.read_bytes())
    assert main(["deconvolve", str(path), "--epsilon", "0.2"]) == 0
    data = load_session(path)
    assert data.params.deconvolution.epsilon == 0.2 and np.allclose(data.components.epsilon, 0.2)


@pytest.mark.parametrize("extra,message", [(["--components", "999"], "id 999"),
                                           (["--components", "x-2"], "'x-2'"),
                                           (["--epsilon", "-1"], "epsilon")])
def test_deconvolve_bad_input(session_file, tmp_path, capsys, extra, message):
    path = tmp_path / "s.h5"
    path.write_bytes(session_file.read_bytes())
    before = path.read_bytes()
    assert main(["deconvolve", str(path)] + extra) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert path.read_bytes() == before


def test_deconvolve_missing_session(tmp_path, capsys):
    assert main(["deconvolve", str(tmp_path / "none.h5")]) == 2
    assert "not found" in capsys.readouterr().err


def test_run_over_a_curated_session_refuses_and_with_force_keeps_its_ids_retired(movie_file, session_file,
                                                                                 tmp_path, capsys):
    from cnmf_gui.io import load_session

    out = tmp_path / "s.h5"
    out.write_bytes(session_file.read_bytes())
    assert main(["curate", str(out), "--reject", "0"]) == 0
    before = out.read_bytes()
    old = load_session(out)
    capsys.readouterr()
    assert main(["run", str(movie_file), "--out", str(out), "--no-motion", "--fs", "30", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--force" in err and err.count("\n") == 1 and out.read_bytes() == before
    assert main(["run", str(movie_file), "--out", str(out), "--no-motion", "--fs", "30", "--quiet",
                 "--force"]) == 0
    new = load_session(out)
    assert int(new.components.ids.min()) > int(old.components.ids.max())      # never reused
    entries = [json.loads(line) for line in new.curation_log]
    assert [e["action"] for e in entries] == ["pipeline"]
    assert entries[0]["first_id"] == int(old.components.ids.max()) + 1

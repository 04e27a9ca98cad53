"""Issue 11, "Why": each rule written once. Every test here failed on the main before the
session package (thresholds that un-rejected, a CLI rerun that replay could not see, metrics
missing on merged components, an engine that wrote the session's log, one failing subscriber
that silenced the others) and passes now."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cnmf_gui.cli import main
from cnmf_gui.params import PipelineParams
from cnmf_gui.session import Session
from cnmf_gui.synthetic import make_session


@pytest.fixture
def made(tmp_path):
    data, synth = make_session(n_frames=150, shape=(40, 40), n_neurons=5, seed=7, folder=tmp_path)
    return data, synth


def test_apply_thresholds_is_the_pipelines_rule_and_never_unrejects(made):
    """Three components the pipeline rejects (area 400 px, compactness 0.1, r_value NaN) stay
    rejected after Apply thresholds (the old copy of the rule made them accepted, accepted,
    undecided)."""
    from cnmf_gui.engine.evaluation import classify

    data, synth = made
    K = data.components.n_components
    metrics = {"snr": np.full(K, 10.0), "r_value": np.full(K, 0.95), "area": np.full(K, 30.0),
               "compactness": np.full(K, 0.9)}
    metrics["area"][0] = 400.0
    metrics["compactness"][1] = 0.1
    metrics["r_value"][2] = np.nan
    # the radius a pipeline run stores (the default 0 means "estimate it from the movie")
    params = PipelineParams(frame_rate=30.0).replace("init", neuron_radius=4.0)
    rule = classify(metrics, params.evaluation, neuron_radius=params.init.neuron_radius)
    assert list(rule) == [-1, -1, -1, 1, 1]
    data.components.metrics = metrics
    data.components.status = rule.copy()
    data.params = params
    s = Session()
    s.set_data(data, movie=synth.movie)
    s.apply_thresholds()
    assert [s.status_of(i) for i in range(K)] == [-1, -1, -1, 1, 1]


def test_a_command_line_rerun_after_a_window_override_is_what_replay_and_rerun_all_see(made, tmp_path):
    """Override 0.5 for component 3 in the window, then ``cnmf-gui deconvolve --epsilon 0.2``:
    reopening gives no override for 3, and Rerun all keeps 0.2 (it used to restore 0.5)."""
    data, synth = made
    s = Session()
    s.set_data(data, movie=synth.movie)
    s.apply_deconvolution(*s.deconvolution_request([3], epsilon=0.5).run())
    path = tmp_path / "s.h5"
    s.save(path)
    assert main(["deconvolve", str(path), "--epsilon", "0.2"]) == 0
    t = Session()
    t.open(path)
    assert t.epsilon_override(3) is None
    assert t.components.epsilon[t.index_of(3)] == pytest.approx(0.2)
    t.apply_deconvolution(*t.deconvolution_request(None).run())      # "Rerun all"
    assert t.components.epsilon[t.index_of(3)] == pytest.approx(0.2)


def test_a_window_rerun_recomputes_snr_like_the_command_line(made):
    from cnmf_gui.engine.evaluation import trace_snr

    data, synth = made
    s = Session()
    s.set_data(data, movie=synth.movie)
    s.apply_deconvolution(*s.deconvolution_request([1, 2], epsilon=1.0).run())
    k = s.indices_of([1, 2])
    comps = s.components
    assert np.allclose(np.asarray(comps.metrics["snr"])[k], trace_snr(comps.C[k], comps.sn[k]))


def test_every_line_of_the_log_has_a_sequence_number_whoever_wrote_it(made, tmp_path):
    """Pipeline run (session), window-style edits (API) and the command line: one format."""
    data, synth = made
    movie = tmp_path / "movie.npy"
    np.save(movie, synth.movie)
    out = tmp_path / "s.h5"
    assert main(["run", str(movie), "--out", str(out), "--fs", "30", "--no-motion", "--quiet"]) == 0
    assert main(["curate", str(out), "--reject", "0"]) == 0
    assert main(["deconvolve", str(out), "--epsilon", "0.3"]) == 0
    s = Session()
    s.open(out)
    s.accept([1])
    s.undo()
    entries = [json.loads(line) for line in s.data.curation_log]
    seqs = [e["seq"] for e in entries]
    assert all(isinstance(q, int) for q in seqs) and seqs == sorted(set(seqs))
    assert [e["action"] for e in entries] == ["pipeline", "status", "deconvolution", "status", "undo"]


def test_a_merged_component_gets_its_metrics_from_the_evaluation_code(made):
    from cnmf_gui.engine.evaluation import trace_snr

    data, synth = made
    s = Session()
    s.set_data(data, movie=synth.movie)
    new = s.merge([1, 2])
    k = s.index_of(new)
    m = {key: float(np.asarray(v)[k]) for key, v in s.components.metrics.items()}
    assert np.isfinite(m["snr"]) and np.isfinite(m["r_value"]) and np.isfinite(m["area"]) and m["area"] > 0
    assert m["snr"] == pytest.approx(float(trace_snr(s.components.C[k:k + 1], s.components.sn[k:k + 1])[0]))
    if "compactness" in s.components.metrics:
        assert np.isfinite(m["compactness"])


def test_one_failing_subscriber_does_not_silence_the_others(made, caplog):
    data, synth = made
    s = Session()
    s.set_data(data, movie=synth.movie)
    heard = []

    def broken(ids):
        raise RuntimeError("a broken view")
    s.subscribe("selection", broken)
    s.subscribe("selection", heard.append)
    s.select([1])
    assert heard == [(1,)]
    assert "a broken view" in caplog.text


def test_subscriptions_are_handles_that_release(made):
    data, synth = made
    s = Session()
    heard = []
    handle = s.subscribe("frame", heard.append)
    s.set_data(data, movie=synth.movie)
    s.set_frame(3)
    handle.release()
    handle.release()                       # twice is harmless
    s.set_frame(4)
    assert heard == [0, 3]


def test_saving_over_a_file_someone_else_saved_since_is_refused(made, tmp_path):
    """Two sessions (say a window and a ``cnmf-gui curate``) open one file; the second save
    would silently drop the first one's edits: it is refused and the file keeps them."""
    from cnmf_gui.errors import UserError
    from cnmf_gui.io import load_session

    data, synth = made
    path = tmp_path / "s.h5"
    first = Session()
    first.set_data(data, movie=synth.movie)
    first.save(path)
    a, b = Session(), Session()
    a.open(path)
    b.open(path)
    a.reject([1])
    a.save()
    b.accept([2])
    with pytest.raises(UserError, match="changed by another program"):
        b.save()
    assert load_session(path).components.status[1] == -1
    assert main(["curate", str(path), "--accept", "3"]) == 0      # loads the new revision: fine
    a.reject([4])
    with pytest.raises(UserError):
        a.save()

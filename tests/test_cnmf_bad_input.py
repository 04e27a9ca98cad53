"""CNMF on movies and parameters that leave nothing to find or cannot be solved."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from cnmf_gui.engine.pipeline import run_cnmf
from cnmf_gui.errors import InputFileError, ParameterError
from cnmf_gui.params import PipelineParams
from cnmf_gui.synthetic import make_movie


def test_pure_noise_gives_zero_components_and_says_why(caplog):
    rng = np.random.default_rng(0)
    movie = (100 + 5 * rng.standard_normal((300, 48, 48))).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="cnmf_gui.engine"):
        comps, background, summary = run_cnmf(movie, PipelineParams())
    assert comps.n_components == 0
    assert comps.C.shape == (0, 300) and comps.A.shape == (48 * 48, 0)
    assert background.f.shape[1] == 300
    assert any("no components found" in r.getMessage() for r in caplog.records)


def test_constant_frames_give_zero_components():
    movie = np.full((100, 32, 32), 7.0, np.float32)
    comps, _, summary = run_cnmf(movie, PipelineParams())
    assert comps.n_components == 0
    assert np.all(summary.correlation == 0) and np.all(np.isfinite(summary.pnr))


def test_too_few_frames_is_a_clear_error():
    with pytest.raises(InputFileError, match="5 frames"):
        run_cnmf(np.zeros((5, 16, 16), np.float32), PipelineParams())


def test_movie_too_short_for_the_ar_fit_runs_without_deconvolution(caplog):
    synth = make_movie(n_frames=15, shape=(32, 32), n_neurons=3, firing_rate=5.0, seed=3)
    with caplog.at_level(logging.WARNING, logger="cnmf_gui.engine"):
        comps, _, _ = run_cnmf(synth.movie, PipelineParams().replace("init", n_components=3))
    assert comps.n_components >= 1
    assert comps.g.shape[1] == 0
    assert any("too short" in r.getMessage() for r in caplog.records)


def test_neuron_radius_larger_than_the_frame():
    movie = np.random.default_rng(1).random((50, 20, 20)).astype(np.float32)
    with pytest.raises(ParameterError, match="init.neuron_radius"):
        run_cnmf(movie, PipelineParams().replace("init", neuron_radius=15))


def test_thresholds_that_admit_nothing_give_zero_components():
    synth = make_movie(n_frames=200, shape=(32, 32), n_neurons=4, seed=4)
    params = PipelineParams().replace("init", min_pnr=1e6)
    comps, _, _ = run_cnmf(synth.movie, params)
    assert comps.n_components == 0


def test_nan_in_the_movie_is_named():
    movie = np.ones((40, 16, 16), np.float32)
    movie[17, 3, 4] = np.nan
    with pytest.raises(InputFileError, match="frame 17"):
        run_cnmf(movie, PipelineParams())


def test_seed_outside_the_frame():
    synth = make_movie(n_frames=100, shape=(32, 32), n_neurons=2, seed=5)
    with pytest.raises(ParameterError, match="seed 1"):
        run_cnmf(synth.movie, PipelineParams(), seeds=[(10, 10), (40, 3)])


def test_not_a_movie():
    with pytest.raises(InputFileError, match="shape"):
        run_cnmf(np.zeros((10, 10)), PipelineParams())

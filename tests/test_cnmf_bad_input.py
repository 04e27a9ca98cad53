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


@pytest.fixture(scope="module")
def offset_case():
    """A small movie and what CNMF finds in it as made (motion off, default parameters)."""
    from tests.cnmf_scoring import match_footprints

    synth = make_movie(n_frames=400, shape=(56, 56), n_neurons=8, min_distance=2.5, seed=41)
    params = PipelineParams(frame_rate=30.0)

    def found(movie):
        comps, _, summary = run_cnmf(movie, params)
        accepted = np.flatnonzero(comps.status == 1)
        return len(match_footprints(comps.A[:, accepted], synth.footprints)), summary

    return synth, found, found(synth.movie)[0]


@pytest.mark.parametrize("name", ["below zero", "offset 1e4", "8 bit", "saturated"])
def test_offsets_bit_depth_and_saturation_find_the_same_cells(offset_case, name):
    """All-negative values (an offset of -10 found nothing before), a large constant offset,
    8-bit quantisation and clipped bright pixels find the cells the plain movie gives."""
    synth, found, reference = offset_case
    m = synth.movie.astype(np.float32)
    lo, hi = np.percentile(m, [0.1, 99.9])
    movie = {"below zero": m - m.max() - 10.0, "offset 1e4": m + 1e4,
             "8 bit": np.clip((m - lo) / (hi - lo) * 255, 0, 255).astype(np.uint8),
             "saturated": np.minimum(m, np.percentile(m, 98))}[name]
    n, summary = found(movie)
    assert reference >= 7 and n >= reference - 1, (name, n, reference)
    if name == "below zero":   # the images keep the movie's own values
        assert summary.mean.max() < -9.0

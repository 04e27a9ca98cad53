"""One-photon (CNMF-E): known answers on small synthetic one-photon movies, the streaming
correlation-PNR images, seeds, presets, the check at open, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.scoring import detection_scores, match_components, trace_scores
from cnmf_gui.engine.onephoton import correlation_pnr, highpass, select_seeds
from cnmf_gui.engine.onephoton.detect import looks_one_photon
from cnmf_gui.engine.pipeline import run_cnmf
from cnmf_gui.errors import ParameterError
from cnmf_gui.params import PipelineParams
from cnmf_gui.presets import apply_preset
from cnmf_gui.synthetic import make_movie
from cnmf_gui.synthetic.one_photon import make_one_photon_movie


def _movie(seed, **kw):
    args = dict(n_frames=600, shape=(80, 80), n_neurons=10, background_ratio=6.0, motion_px=0.0, seed=seed)
    args.update(kw)
    return make_one_photon_movie(**args)


def _one_photon_params():
    return apply_preset(PipelineParams(frame_rate=20.0), "one-photon")[0]


def _score(comps, synth):
    sel = comps.status == 1
    A = comps.A[:, np.nonzero(sel)[0]]
    pairs, _ = match_components(A, synth.footprints, synth.radii)
    det = detection_scores(pairs, A.shape[1], synth.active)
    return det, trace_scores(pairs, synth.active, synth.traces, synth.spikes, C=comps.C[sel])


def test_generator_is_uint8_with_a_dominant_background():
    s = _movie(0, n_frames=200, background_ratio=20.0, resting=6.0, motion_px=3.0, bleaching=0.14)
    assert s.movie.dtype == np.uint8 and s.movie.shape == (200, 80, 80)
    assert np.mean(s.background[0]) > 10 * 6.0            # background many times the resting level
    assert s.bleaching[-1] == pytest.approx(0.86, abs=1e-3)
    assert np.abs(s.shifts).max() > 1.0
    assert s.footprints.shape[0] == len(s.traces) == len(s.centers)


@pytest.mark.parametrize("seed", [0, 2])
def test_one_photon_known_answer(seed):
    synth = _movie(seed)
    comps, background, summary = run_cnmf(synth.movie, _one_photon_params())
    det, tr = _score(comps, synth)
    assert det["f1"] >= 0.9, det
    assert tr["r_C"] >= 0.9, tr
    assert background.model == "ring" and background.b.shape[1] == 0
    # the summary shows the images the seeds came from (high-pass filtered movie)
    assert summary.pnr.max() > 10 and summary.correlation.max() > 0.8


def _images_in_memory(movie, radius):
    """The same images from the whole filtered movie at once (the reference for streaming)."""
    from cnmf_gui.engine.onephoton.images import NOISE_CUT, NOISE_FRAMES, _first_chunk_levels
    Z = highpass(movie, radius)
    base, noise = _first_chunk_levels(Z[:NOISE_FRAMES])
    Z = Z - base
    Z[Z < NOISE_CUT * noise] = 0
    X = (Z - Z.mean(0)) / np.maximum(Z.std(0), 1e-12)
    corr = np.zeros(movie.shape[1:])
    H, W = corr.shape
    for i in range(H):
        for j in range(W):
            rs = [np.mean(X[:, i, j] * X[:, i + di, j + dj]) for di in (-1, 0, 1) for dj in (-1, 0, 1)
                  if (di or dj) and 0 <= i + di < H and 0 <= j + dj < W
                  and Z[:, i, j].std() > 0 and Z[:, i + di, j + dj].std() > 0]
            corr[i, j] = np.sum(rs) / sum(1 for di in (-1, 0, 1) for dj in (-1, 0, 1)
                                          if (di or dj) and 0 <= i + di < H and 0 <= j + dj < W)
    return corr, Z.max(0) / noise


def test_correlation_pnr_streams_to_the_in_memory_answer():
    synth = _movie(1, n_frames=300, shape=(40, 44), n_neurons=4)
    small = correlation_pnr(synth.movie, 5.0, chunk_frames=37)
    whole = correlation_pnr(synth.movie, 5.0, chunk_frames=300)
    np.testing.assert_allclose(small.correlation, whole.correlation, atol=1e-5)
    np.testing.assert_allclose(small.pnr, whole.pnr, rtol=1e-5)
    corr, pnr = _images_in_memory(synth.movie.astype(np.float32), 5.0)
    np.testing.assert_allclose(small.correlation, corr, atol=1e-4)
    np.testing.assert_allclose(small.pnr, pnr, rtol=1e-4)


def test_seeds_sit_on_the_cells_and_follow_the_thresholds():
    synth = _movie(3)
    r = float(np.median(synth.radii))
    im = correlation_pnr(synth.movie, r)
    seeds = select_seeds(im.correlation, im.pnr, 0.8, 10.0, r)
    d = np.hypot(*(seeds[:, None, :] - synth.centers[None, :, :]).transpose(2, 0, 1))
    assert (d.min(axis=0) < r).mean() >= 0.9                      # every cell has a seed
    middle = float(np.median(im.pnr[seeds[:, 0], seeds[:, 1]]))
    strict = select_seeds(im.correlation, im.pnr, 0.8, middle + 1e-3, r)
    assert 0 < len(strict) < len(seeds)
    assert np.all(im.pnr[strict[:, 0], strict[:, 1]] > middle)
    assert len(select_seeds(im.correlation, im.pnr, 1.01, 0.0, r)) == 0


def test_presets_say_what_they_set_and_keep_the_users_keys():
    p, changes = apply_preset(PipelineParams(), "one-photon")
    assert p.cnmf.background_model == "ring" and p.init.method == "corr_pnr"
    assert "cnmf.background_model = 'ring'" in changes
    p2, _ = apply_preset(PipelineParams().replace("init", min_pnr=4.0), "one-photon", keep={"init.min_pnr"})
    assert p2.init.min_pnr == 4.0
    back, _ = apply_preset(p, "two-photon")
    assert back == PipelineParams()
    with pytest.raises(ParameterError, match="unknown preset"):
        apply_preset(PipelineParams(), "three-photon")


def test_the_check_at_open_tells_one_photon_from_two_photon():
    from cnmf_gui.session.preset_check import preset_hint

    one = _movie(0, n_frames=300, shape=(128, 128), n_neurons=20).movie
    two = make_movie(n_frames=300, shape=(96, 96), n_neurons=20, seed=1).movie
    assert looks_one_photon(one).one_photon and not looks_one_photon(two).one_photon
    assert "one-photon preset" in preset_hint(one, PipelineParams())
    assert preset_hint(one, _one_photon_params()) is None
    assert "looks two-photon" in preset_hint(two, _one_photon_params())
    assert preset_hint(two, PipelineParams()) is None


def test_one_photon_preset_on_a_two_photon_movie_is_sensible():
    synth = make_movie(n_frames=400, shape=(64, 64), n_neurons=10, seed=4)
    synth.radii = np.full(synth.n_neurons, 4.0)           # the legacy generator does not say
    comps, _, _ = run_cnmf(synth.movie, _one_photon_params())
    det, tr = _score(comps, synth)
    assert det["recall"] >= 0.7 and tr["r_C"] >= 0.8, (det, tr)


def test_ring_radius_larger_than_the_field_is_one_error_naming_the_key():
    synth = _movie(0, n_frames=100, shape=(40, 40), n_neurons=3)
    params = _one_photon_params().replace("cnmf", ring_radius=60.0)
    with pytest.raises(ParameterError, match=r"cnmf\.ring_radius"):
        run_cnmf(synth.movie, params)

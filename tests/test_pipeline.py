"""The headless pipeline: motion, CNMF, deconvolution, evaluation, dF/F, session, views."""

from __future__ import annotations


import numpy as np
import pytest

from cnmf_gui.engine.model_views import ModelViews
from cnmf_gui.engine.pipeline import run_cnmf, run_pipeline
from cnmf_gui.errors import Cancelled
from cnmf_gui.params import PipelineParams
from cnmf_gui.progress import CallbackProgress
from cnmf_gui.synthetic import make_movie
from tests.cnmf_scoring import score


@pytest.fixture(scope="module")
def moving():
    return make_movie(n_frames=500, shape=(72, 72), n_neurons=15, motion="rigid", max_shift=3.0,
                      min_distance=2.0, seed=41)


def test_pipeline_with_motion_correction(moving):
    params = PipelineParams(frame_rate=moving.frame_rate)
    data = run_pipeline(moving.movie, params)
    assert data.motion is not None
    err = np.abs(data.motion.shifts - moving.shifts)
    assert np.median(err) < 0.5
    s = score(data.components, moving)
    assert s["f1"] >= 0.85 and s["trace_corr"] >= 0.9, s
    assert data.movie_shape == moving.movie.shape and data.frame_rate == 30.0
    assert data.params.frame_rate == 30.0
    # The engine neither writes the session's log nor reads where the movie lives.
    assert data.curation_log == [] and data.movie_path is None


def test_motion_matters_on_a_moving_movie(moving):
    """Without correction, footprints blur: fewer neurons are found one to one."""
    with_motion = run_pipeline(moving.movie, PipelineParams(frame_rate=30.0))
    without = run_pipeline(moving.movie, PipelineParams(frame_rate=30.0).replace("motion", enabled=False))
    assert without.motion is None
    assert score(with_motion.components, moving)["trace_corr"] > score(without.components, moving)["trace_corr"]


def test_session_round_trip(tmp_path):
    from cnmf_gui.io import load_session, save_session

    synth = make_movie(n_frames=300, shape=(48, 48), n_neurons=6, min_distance=2.5, seed=42)
    data = run_pipeline(synth.movie, PipelineParams(frame_rate=30.0).replace("motion", enabled=False))
    path = tmp_path / "s.h5"
    save_session(data, path)
    back = load_session(path)
    c0, c1 = data.components, back.components
    assert c1.n_components == c0.n_components > 0
    assert np.allclose(c1.A.toarray(), c0.A.toarray()) and np.allclose(c1.C, c0.C)
    assert np.array_equal(c1.status, c0.status) and np.array_equal(c1.ids, c0.ids)
    assert np.allclose(back.background.f, data.background.f)


def test_cancel_stops_the_run():
    synth = make_movie(n_frames=300, shape=(48, 48), n_neurons=6, seed=43)
    seen = []

    def on_report(fraction, message):
        seen.append(message)
        if len(seen) == 5:
            progress.cancel()

    progress = CallbackProgress(on_report)
    with pytest.raises(Cancelled):
        run_pipeline(synth.movie, PipelineParams(frame_rate=30.0).replace("motion", enabled=False),
                     progress=progress)
    assert len(seen) == 5


def test_progress_is_monotonic_and_reaches_one():
    synth = make_movie(n_frames=300, shape=(48, 48), n_neurons=6, seed=44)
    fractions = []
    run_pipeline(synth.movie, PipelineParams(frame_rate=30.0).replace("motion", enabled=False),
                 progress=CallbackProgress(lambda f, m: fractions.append(f)))
    assert fractions[-1] == pytest.approx(1.0)
    assert all(b >= a - 1e-9 for a, b in zip(fractions, fractions[1:]))


def test_model_views_are_the_model_frame_by_frame():
    synth = make_movie(n_frames=200, shape=(40, 40), n_neurons=5, min_distance=2.5, seed=45)
    comps, background, _ = run_cnmf(synth.movie, PipelineParams(frame_rate=30.0))
    views = ModelViews(synth.movie, comps, background, colours=np.ones((comps.n_components, 3)))
    t = 123
    A_C = (comps.A @ comps.C[:, t]).reshape(40, 40)
    bf = (background.b @ background.f[:, t]).reshape(40, 40)
    assert np.allclose(views.denoised(t), A_C, rtol=1e-4, atol=1e-4)
    assert np.allclose(views.background(t), bf, rtol=1e-4, atol=1e-3)
    assert np.allclose(views.raw(t), synth.movie[t])
    assert np.allclose(views.residual(t), synth.movie[t] - views.denoised(t) - views.background(t), atol=1e-3)
    assert np.allclose(views.background_subtracted(t), synth.movie[t] - views.background(t), atol=1e-3)
    rgb = views.demixed(t)
    assert rgb.shape == (40, 40, 3) and rgb.dtype == np.float32 and rgb.min() >= 0
    # the model explains the movie: the residual is noise-sized
    assert np.std(views.residual(t)) < 2 * synth.noise_map.mean()
    with pytest.raises(IndexError):
        views.denoised(200)

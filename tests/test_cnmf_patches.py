"""CNMF on overlapping patches: the grid, the executors and the result on a synthetic movie."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.patches import LocalExecutor, SerialExecutor, fit_patches, patch_grid
from cnmf_gui.engine.summary import compute_summary
from cnmf_gui.params import PipelineParams
from cnmf_gui.synthetic import make_movie
from cnmf_gui.engine.pipeline import run_cnmf
from tests.cnmf_scoring import match_footprints, score


@pytest.mark.parametrize("shape,size,overlap", [((128, 128), 64, 16), ((100, 37), 32, 8), ((20, 20), 64, 8)])
def test_patch_grid_covers_the_frame_with_the_overlap(shape, size, overlap):
    boxes = patch_grid(shape, size, overlap)
    cover = np.zeros(shape, int)
    for r0, r1, c0, c1 in boxes:
        assert r1 - r0 == min(size, shape[0]) and c1 - c0 == min(size, shape[1])
        cover[r0:r1, c0:c1] += 1
    assert cover.min() >= 1
    rows = sorted({b[0] for b in boxes})
    for a, b in zip(rows, rows[1:]):
        assert a + size - b >= overlap


def _square(x):
    return x * x


def test_executors_run_functions():
    assert SerialExecutor().submit(_square, 7).result() == 49
    fut = SerialExecutor().submit(_square, "x")
    with pytest.raises(TypeError):
        fut.result()
    pool = LocalExecutor(1)
    try:
        assert pool.submit(_square, 6).result(timeout=120) == 36
    finally:
        pool.shutdown()


def test_patches_find_neurons_across_borders():
    synth = make_movie(n_frames=500, shape=(96, 96), n_neurons=30, seed=31)
    params = PipelineParams(frame_rate=30.0).replace("cnmf", patch_size=48, patch_overlap=12)
    summary, noise = compute_summary(synth.movie)
    fit = fit_patches(synth.movie, summary, noise, params, executor=SerialExecutor())
    pairs = match_footprints(fit.A, synth.footprints)
    assert len(pairs) >= 28
    centres = synth.centers[pairs[:, 1]]
    # patches start at 0, 24 and 48: neurons cut by a patch border are found whole
    on_border = np.any(np.abs(centres[:, :, None] - np.array([24, 48])) < 5, axis=(1, 2))
    assert on_border.sum() >= 5
    # without the merge across borders each of those would be there two to four times
    assert fit.A.shape[1] <= 36


def test_patch_pipeline_accepts_each_neuron_once():
    synth = make_movie(n_frames=500, shape=(96, 96), n_neurons=30, seed=31)
    params = PipelineParams(frame_rate=30.0).replace("cnmf", patch_size=48, patch_overlap=12, n_workers=1)
    comps, _, _ = run_cnmf(synth.movie, params)
    s = score(comps, synth)
    assert s["f1"] >= 0.9 and s["trace_corr"] >= 0.95, s

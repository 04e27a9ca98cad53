"""Initialisation's time bins do not depend on how the movie is cut into chunks.

At 1024 x 1024 the streaming passes read 8 frames a chunk (32 MB of float32) while a long movie's
bins hold more frames than that (53 for 13,400 frames): bins straddled chunks, the working copy got
the wrong bins in the wrong places, and a movie of over ~2,000 frames crashed in initialisation
(issue 16's larger-than-RAM run). These tests cut small movies the same way.
"""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine import initialization
from cnmf_gui.engine.streaming import iter_chunks
from cnmf_gui.engine.summary import compute_summary
from cnmf_gui.synthetic import make_movie


@pytest.mark.parametrize("tsub, chunk", [(5, 3), (5, 7), (4, 8), (6, 1), (3, 50)])
def test_bins_are_the_means_of_consecutive_frames_whatever_the_chunks(monkeypatch, tsub, chunk):
    frames = np.random.default_rng(1).normal(size=(23, 4, 5)).astype(np.float32)
    monkeypatch.setattr(initialization, "iter_chunks",
                        lambda movie, n: iter_chunks(movie, n, max_bytes=chunk * 4 * 4 * 5))
    got = list(initialization.binned_chunks(frames, tsub, 10))
    starts = [first for first, _ in got]
    bins = np.concatenate([b for _, b in got])
    n_bins = -(-23 // tsub)
    expected = np.stack([frames[k * tsub:(k + 1) * tsub].mean(axis=0) for k in range(n_bins)])
    assert bins.shape == expected.shape
    np.testing.assert_allclose(bins, expected, rtol=1e-5, atol=1e-6)
    assert starts == sorted(starts) and starts[0] == 0
    assert all(b.dtype == np.float32 for _, b in got)


def test_initialisation_finds_the_same_components_with_chunks_smaller_than_a_bin(monkeypatch):
    truth = make_movie(n_frames=600, shape=(40, 40), n_neurons=6, seed=3)
    movie = truth.movie.astype(np.float32)
    monkeypatch.setattr(initialization, "choose_tsub", lambda T, P: 6)
    images, noise = compute_summary(movie)
    corr = images.correlation
    whole = initialization.initialize(movie, noise, corr, neuron_radius=3.0, n_components=5)
    # 7-frame chunks: no chunk boundary falls on a bin boundary for long
    monkeypatch.setattr(initialization, "iter_chunks",
                        lambda m, n: iter_chunks(m, n, max_bytes=7 * 4 * 40 * 40))
    cut = initialization.initialize(movie, noise, corr, neuron_radius=3.0, n_components=5)
    assert whole.A.shape == cut.A.shape and whole.A.shape[1] == 5
    np.testing.assert_allclose(cut.centers, whole.centers)
    np.testing.assert_allclose(cut.A.toarray(), whole.A.toarray(), rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(cut.C, whole.C, rtol=1e-3, atol=1e-4 * np.abs(whole.C).max())

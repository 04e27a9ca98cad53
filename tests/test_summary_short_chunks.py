"""Per-pixel noise when chunks are short (large frames): gathered into whole periodograms."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.summary import compute_summary


def test_short_chunks_give_the_noise_of_whole_periodograms():
    # 1024 x 1024 frames come in chunks of 8 (32 MB); the noise then came from the last chunk
    # alone. Chunks of 8 gathered four at a time give exactly the chunks-of-32 estimate.
    rng = np.random.default_rng(5)
    sigma = (1.0 + 4.0 * rng.random((10, 12))).astype(np.float32)
    movie = (sigma * rng.standard_normal((640, 10, 12)) + 50.0).astype(np.float32)
    _, by_32 = compute_summary(movie, chunk_frames=32)
    _, by_8 = compute_summary(movie, chunk_frames=8)
    np.testing.assert_array_equal(by_8, by_32)
    # and it is the known noise level, pixel by pixel (20 periodograms of 32 frames each)
    assert np.median(by_8 / sigma) == pytest.approx(1.0, rel=0.05)
    assert np.abs(by_8 / sigma - 1.0).max() < 0.3


def test_a_short_movie_in_short_chunks_still_gets_a_noise_estimate():
    rng = np.random.default_rng(6)
    movie = (2.0 * rng.standard_normal((20, 8, 8)) + 10.0).astype(np.float32)
    summary, noise = compute_summary(movie, chunk_frames=8)
    assert np.all(noise > 0) and np.all(np.isfinite(summary.pnr))
    assert np.median(noise) == pytest.approx(2.0, rel=0.3)

"""Reading a movie in chunks: the frames come back as float32, whole, in order; a non-finite
value is named by its frame whatever the source's dtype."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.streaming import iter_chunks
from cnmf_gui.errors import InputFileError


@pytest.mark.parametrize("dtype", [np.uint16, np.int16, np.uint8, np.float32, np.float64])
def test_chunks_are_the_movie_as_float32_in_order(dtype):
    rng = np.random.default_rng(4)
    movie = rng.integers(0, 200, (23, 6, 5)).astype(dtype)
    chunks = list(iter_chunks(movie, 5))
    assert [a for a, _ in chunks] == [0, 5, 10, 15, 20]
    got = np.concatenate([c for _, c in chunks])
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, movie.astype(np.float32))


@pytest.mark.parametrize("bad, dtype", [(np.nan, np.float32), (np.inf, np.float32), (-np.inf, np.float64),
                                        (1e39, np.float64)])   # beyond float32: inf after the cast
def test_a_non_finite_value_is_named_by_its_frame(bad, dtype):
    movie = np.ones((30, 4, 4), dtype)
    movie[17, 2, 3] = bad
    with pytest.raises(InputFileError, match="movie frame 17 contains NaN or infinite values"):
        for _ in iter_chunks(movie, 8):
            pass

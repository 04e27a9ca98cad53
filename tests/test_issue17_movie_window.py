"""Windows of a motion-corrected view read only around the pixels asked for, and equal the
full-frame correction there (seeding, splitting and event snippets read them)."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.motion import CorrectedMovie
from cnmf_gui.engine.movie_window import read_window
from cnmf_gui.results import MotionResult


class FramesOnly:
    """A movie that only answers time slices (like a file reader)."""

    def __init__(self, data):
        self.data, self.shape, self.dtype = data, data.shape, data.dtype

    def __getitem__(self, key):
        assert not isinstance(key, tuple)
        return self.data[key]


@pytest.mark.parametrize("box", [((3, 40), (10, 22), (5, 19)), ((0, 60), (0, 9), (30, 40))])
def test_rigid_window_equals_full_frame_correction(box):
    rng = np.random.default_rng(0)
    raw = rng.normal(size=(60, 40, 40)).astype(np.float32)
    shifts = rng.uniform(-3.5, 3.5, size=(60, 2)).astype(np.float32)
    view = CorrectedMovie(FramesOnly(raw), MotionResult(shifts=shifts, template=raw[0]))
    (t0, t1), (r0, r1), (c0, c1) = box
    full = np.asarray(view[t0:t1])[:, r0:r1, c0:c1]
    np.testing.assert_allclose(read_window(view, *box), full, atol=1e-5)
    np.testing.assert_array_equal(read_window(FramesOnly(raw), *box), raw[t0:t1, r0:r1, c0:c1])
    np.testing.assert_array_equal(read_window(raw, *box), raw[t0:t1, r0:r1, c0:c1])

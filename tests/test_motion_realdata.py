"""Motion correction on real recordings (skipped where ../shared/data is absent)."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.motion import estimate_motion
from cnmf_gui.io import open_movie
from cnmf_gui.params import MotionParams

from tests.conftest import data_file

pytestmark = pytest.mark.realdata


def test_mouse2p_correction_raises_correlation_and_crispness():
    path = data_file("mouse2p/mouse2p_2000x128x128.tiff")
    with open_movie(path) as movie:
        # Read straight from the compressed TIFF, in chunks.
        result = estimate_motion(movie[:600], MotionParams(chunk_frames=128))
    m = result.metrics
    assert m["corr_after"].mean() > m["corr_before"].mean() + 0.03
    assert m["crispness_after"] > 1.1 * m["crispness_before"]
    # It moves mostly along rows (the README: ~11 px peak to peak over the whole movie).
    p2p = np.ptp(result.shifts, axis=0)
    assert p2p[0] > 4.0 and p2p[0] > 2 * p2p[1]
    assert result.clamped == 0
    assert m["residual_rms"] < 0.1
    assert np.nanmax(m["pc_shift_after"]) < 0.5 < np.nanmax(m["pc_shift_before"])


def test_mouse2p_piecewise_rigid_also_improves():
    path = data_file("mouse2p/mouse2p_2000x128x128.tiff")
    with open_movie(path) as movie:
        result = estimate_motion(movie[:300], MotionParams(pw_rigid=True, patch_size=64, patch_overlap=32))
    m = result.metrics
    assert m["corr_after"].mean() > m["corr_before"].mean() + 0.03
    assert m["crispness_after"] > 1.1 * m["crispness_before"]
    assert result.shifts_pw.shape == (300, 3, 3, 2)


def test_allen_low_snr_snippet_correlation_and_crispness_go_up():
    path = data_file("small/allen/792757260_test_data.h5")
    with open_movie(path, dataset="input_frames") as movie:
        result = estimate_motion(movie)
    m = result.metrics
    assert m["corr_after"].mean() > m["corr_before"].mean()
    assert m["crispness_after"] > m["crispness_before"]
    assert np.all(np.isfinite(result.shifts))

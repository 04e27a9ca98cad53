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


def test_mouse2p_every_frame_is_trusted_and_single_frames_suffice():
    path = data_file("mouse2p/mouse2p_first500.h5")
    with open_movie(path, dataset="data/image") as movie:
        result = estimate_motion(movie[:300], MotionParams(pc_metric=False))
    m = result.metrics
    assert m["temporal_bin"] == 1
    assert not m["unreliable_frames"].any()
    # Clear somata: every peak stands far above the noise's (the threshold is 8).
    assert m["peak_snr"].min() > 30
    assert m["predicted_precision"].max() < 0.1


def test_allen_low_snr_snippet_is_flagged_unreliable_and_left_unmoved():
    """The snippet has no structure that registration could follow.

    Its frames are sparse photon counts (per-pixel noise sd ~160 around a mean of ~264); means
    of its even and odd frames (50 each) share structure only at periods above ~20 px (a broad
    illumination gradient): at 0.05-0.5 cycles/px their cross-spectrum is below 0.1 of their
    noise. suite2p in the Allen pipeline registered it to its 20 px limit (``ave_image`` is
    that result; it correlates 0.04 with the raw mean). Single frames then align their noise to
    a template made of it (the previous behaviour: shifts of sd ~7 px spanning +-15 px). The
    truth is therefore not measurable from these 100 frames; the head-fixed recording's motion
    is small, and the right answer is to leave frames where they are (|shift| <= 1 px, and
    smooth: no jump above 0.5 px between frames) and say that the registration is unreliable.
    """
    path = data_file("small/allen/792757260_test_data.h5")
    with open_movie(path, dataset="input_frames") as movie:
        result = estimate_motion(movie)
    m = result.metrics
    assert np.all(np.isfinite(result.shifts))
    assert np.abs(result.shifts).max() <= 1.0
    assert np.abs(np.diff(result.shifts, axis=0)).max() <= 0.5
    # Frames were averaged (single frames are hopeless) and still no peak stood out.
    assert m["temporal_bin"] > 1
    assert m["predicted_precision_single"].min() > 1.0
    assert m["unreliable_frames"].mean() > 0.9 and m["bad_frames"].mean() > 0.9
    assert np.median(m["peak_snr"]) < 8.0
    # Not one of the template's own bins stands out against the others.
    assert m["template_trusted_fraction"] < 0.5


@pytest.mark.parametrize("part, params", [
    (slice(0, 80), MotionParams()),
    (slice(20, 100), MotionParams()),
    (slice(None), MotionParams(temporal_bin=5)),
    (slice(None), MotionParams(pw_rigid=True, patch_size=48, patch_overlap=24)),
])
def test_allen_low_snr_verdict_holds_for_other_parts_and_settings(part, params):
    path = data_file("small/allen/792757260_test_data.h5")
    with open_movie(path, dataset="input_frames") as movie:
        result = estimate_motion(np.asarray(movie[part]), params)
    assert result.metrics["unreliable_frames"].all()
    assert np.abs(result.shifts).max() <= 1.0

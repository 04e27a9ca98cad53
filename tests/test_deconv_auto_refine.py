"""Known answers for p="auto" with refine_g (the CNMF default): AR(1) refined first, then AR(2)
from its decay where the spectrum resolved a rise (deconvolution.single.solve_auto).

Traces are made in continuous time (difference of exponentials, spikes at sub-frame times,
bursts, each frame the average over its exposure), not by the AR recursion the solvers assume.
"""

import numpy as np
import pytest

from cnmf_gui.engine.deconvolution import deconvolve
from cnmf_gui.engine.deconvolution.kinetics import RISE_RATIO
from cnmf_gui.engine.noise import ar_roots
from tests import calcium_traces

#: (rise, decay) in seconds: GCaMP6s (Chen et al. 2013, Nature 499:295).
GCAMP6S = (0.15, 1.3)


def rise_trace(seed, fs=30.0, seconds=100.0, snr=5.0, kinetics=GCAMP6S):
    """(F, true calcium, spike counts per frame), each of shape (T,); a cell's own kinetics."""
    return calcium_traces.rise_trace(seed, kinetics, fs, seconds, snr, jitter=True)


def _r(a, b):
    return float(np.corrcoef(a, b)[0, 1])


def _r_spikes(s, spikes):
    return _r(s[:-1] + s[1:], spikes[:-1] + spikes[1:])     # 2-frame sums, as the sweep scores


def test_auto_refined_places_the_spikes_of_a_slow_rise_better_than_ar1():
    gain_s, gain_c = [], []
    for seed in range(4):
        F, cal, spikes = rise_trace(seed)
        one = deconvolve(F, p=1, refine_g=True)
        auto = deconvolve(F, p="auto", refine_g=True)
        assert auto.g.shape == (2,) and auto.g[1] != 0          # the 4.5-frame rise is resolved
        gain_s.append(_r_spikes(auto.s, spikes) - _r_spikes(one.s, spikes))
        gain_c.append(_r(auto.c, cal) - _r(one.c, cal))
    # AR(1) spreads each spike over the rise; measured gains 0.10-0.20.
    assert np.median(gain_s) > 0.05 and min(gain_s) > 0.0
    assert min(gain_c) > -0.002


def test_refining_an_ar1_choice_keeps_it_ar1():
    F, _, _ = rise_trace(3, kinetics=(0.005, 0.25))   # GCaMP8m-like: no rise to resolve
    res = deconvolve(F, p="auto", g=[0.9, 0.0], refine_g=True)
    assert res.g[1] == 0.0 and res.g[0] != 0.9


@pytest.mark.parametrize("start", [(0.95, 0.9), (0.9, 0.3)])
def test_refined_ar2_rise_stays_at_least_ratio_times_faster_than_the_decay(start):
    F, _, _ = rise_trace(5)
    d, r = start
    res = deconvolve(F, p=2, g=[d + r, -d * r], refine_g=True)
    roots = np.sort(np.real(ar_roots(res.g)))[::-1]
    assert np.all(np.isreal(ar_roots(res.g)))
    assert roots[1] <= roots[0] ** RISE_RATIO + 1e-9

"""Kinetics shared by all components (deconvolution.kinetics = "shared", the one-photon preset):
the onset ratio of AR(1) spikes, the estimate on traces made in continuous time (not by the AR
model), and the fit passing one g to every component."""

import numpy as np
import pytest

from tests.calcium_traces import rise_trace
from cnmf_gui.engine.deconvolution import deconvolve_many
from cnmf_gui.engine.deconvolution.kinetics import g_to_tau
from cnmf_gui.engine.onephoton.kinetics import onset_ratios, shared_kinetics
from cnmf_gui.params import DeconvParams


def _corr(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float(a @ b / np.sqrt((a @ a) * (b @ b)))


def _spike_r(S, spikes):
    """Median correlation of 2-frame sums (the one-photon benchmark's score)."""
    two = lambda x: x[: len(x) // 2 * 2].reshape(-1, 2).sum(1)
    return float(np.median([_corr(two(s), two(t)) for s, t in zip(S, spikes)]))


def test_onset_ratio_of_an_ar2_spike_seen_through_ar1_is_its_rise_root():
    # AR(1) at the decay d turns one AR(2) spike into a (1, r, r^2, ...): the ratio is r
    r, sn = 0.4, 1.0
    S = np.zeros((2, 60))
    S[0, 10:15] = 20 * r ** np.arange(5)
    S[0, 30:33] = 8 * np.array([1.0, 0.5, 0.25])        # second onset: ratio 0.5
    S[0, 45:47] = [3.0, 1.0]                            # below 5 sn: not an onset
    S[1, 20:23] = [2.0, 30.0, 6.0]                      # the 30 follows a spike: not a clean onset
    got = onset_ratios(S, np.array([sn, sn]))
    np.testing.assert_allclose(np.sort(got), [0.4, 0.5])


def _traces(kinetics, fs, snr, n=30):
    rows = [rise_trace(seed, kinetics, fs=fs, seconds=100.0, snr=snr, jitter=True) for seed in range(n)]
    return np.array([r[0] for r in rows]), np.array([r[2] for r in rows])


@pytest.mark.parametrize("snr", [3.0, 5.0])
def test_shared_kinetics_of_a_fast_indicator_beat_each_traces_own_fit(snr):
    # GCaMP6f-like at 20 Hz (rise ~1 frame, made in continuous time with bursts): each trace's
    # spectral fit makes the rise too slow; the shared estimate's spikes are closer to the truth
    fs = 20.0
    F, spikes = _traces((0.05, 0.4), fs, snr)
    g = shared_kinetics(F, DeconvParams())
    decay, rise = g_to_tau(g, fs)
    assert decay == pytest.approx(0.4, rel=0.2)
    assert 0.0 < rise < 0.2
    own = deconvolve_many(F, p="auto", refine_g=True)
    shared = deconvolve_many(F, p="auto", g=np.tile(g, (len(F), 1)))
    assert _spike_r(shared.s, spikes) > _spike_r(own.s, spikes) + 0.05


def test_a_resolved_rise_is_kept_from_the_spectral_fits():
    # GCaMP6s-like at 30 Hz: a rise of ~4.5 frames, resolved in the spectrum
    F, _ = _traces((0.15, 1.3), 30.0, 4.0, n=20)
    decay, rise = g_to_tau(shared_kinetics(F, DeconvParams()), 30.0)
    assert decay == pytest.approx(1.3, rel=0.3)
    assert rise == pytest.approx(0.15, rel=0.5)


def test_the_one_photon_fit_gives_every_component_the_same_kinetics():
    from cnmf_gui.engine.pipeline import run_cnmf
    from cnmf_gui.params import PipelineParams
    from cnmf_gui.presets import apply_preset
    from cnmf_gui.synthetic.one_photon import make_one_photon_movie

    synth = make_one_photon_movie(n_frames=400, shape=(64, 64), n_neurons=6, background_ratio=6.0,
                                  motion_px=0.0, seed=3)
    params = apply_preset(PipelineParams(frame_rate=20.0), "one-photon")[0].replace("init", neuron_radius=5.0)
    assert params.deconvolution.kinetics == "shared"
    comps, _, _ = run_cnmf(synth.movie, params)
    assert comps.n_components >= 3 and comps.g.shape == (comps.n_components, 2)
    np.testing.assert_allclose(comps.g, np.tile(comps.g[0], (comps.n_components, 1)))
    decay, _ = g_to_tau(comps.g[0], 20.0)
    assert 0.2 < decay < 0.8                              # GCaMP6f: 0.4 s +- 20 %
    per_cell = run_cnmf(synth.movie, params.replace("deconvolution", kinetics="per_component"))[0]
    assert not np.allclose(per_cell.g, np.tile(per_cell.g[0], (per_cell.n_components, 1)))

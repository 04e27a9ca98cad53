"""Where the one-photon spike r is lost (issue 13): the raw traces F of a cnmf_gui session
deconvolved again with other kinetics, against what the noise alone allows.

    python -m benchmarks.one_photon --movies easy hard --ceilings   (after or with a run)

For the accepted components matched to true cells: median spike r (2-frame sums) of

- ``as run``: the session's S;
- ``per-component``: F deconvolved with each trace's own spectral fit (``p="auto"``, refined);
- ``AR(1)``: F with AR(1) kinetics refined per trace;
- ``shared``: F with the kinetics shared by all (:mod:`cnmf_gui.engine.onephoton.kinetics`; for a
  session run before the preset used them);
- ``true kinetics``: F with each cell's true AR(2) coefficients (what the kinetics can give);
- ``noise ceiling``: the true calcium, scaled to F, plus white noise at each trace's noise level,
  deconvolved with the true kinetics (what this noise allows at best, with no background left,
  no neighbours and the right model);

and ``slow residual``: the fraction of the power of ``F - a * calcium`` below 0.5 Hz (white
noise: 0.05), i.e. background or neighbours leaking into F.
"""

from __future__ import annotations

import numpy as np

from benchmarks.scoring import _two_frame_sum, corr, match_components, shift_errors, truth_in_template


def spike_ceilings(session_path: str, synth, frame_rate: float = 20.0) -> dict:
    """The rows above for one session (see the module docstring); values are medians."""
    from cnmf_gui.engine.deconvolution import deconvolve_many
    from cnmf_gui.engine.onephoton.kinetics import shared_kinetics
    from cnmf_gui.io import load_session
    from cnmf_gui.params import DeconvParams

    data = load_session(session_path)
    comps = data.components
    keep = np.nonzero(comps.status == 1)[0]
    offset = shift_errors(data.motion.shifts, synth.shifts)["offset"] if data.motion is not None else [0.0, 0.0]
    pairs, _ = match_components(comps.A[:, keep], truth_in_template(synth.footprints, offset), synth.radii)
    pairs = [(keep[i], j) for i, j in pairs if synth.active[j]]
    idx = np.array([i for i, _ in pairs], int)
    cells = np.array([j for _, j in pairs], int)
    F = comps.F[idx].astype(float)
    calcium = synth.traces[cells].astype(float)
    spikes = synth.spikes[cells].astype(float)
    g_true = np.asarray(synth.g, float)[cells]

    def spike_r(S):
        return float(np.median([corr(_two_frame_sum(s), _two_frame_sum(t)) for s, t in zip(S, spikes)]))

    out = {"as run": spike_r(comps.S[idx])}
    out["per-component"] = spike_r(deconvolve_many(F, p="auto", refine_g=True).s)
    out["AR(1)"] = spike_r(deconvolve_many(F, p=1, refine_g=True).s)
    g = shared_kinetics(F, DeconvParams())
    out["shared"] = spike_r(deconvolve_many(F, p="auto", g=np.tile(g, (len(F), 1))).s)
    truth_fit = deconvolve_many(F, p=2, g=g_true)
    out["true kinetics"] = spike_r(truth_fit.s)
    scale = np.array([np.polyfit(c, f, 1)[0] for c, f in zip(calcium, F)])
    rng = np.random.default_rng(0)
    noisy = scale[:, None] * calcium + np.asarray(truth_fit.sn)[:, None] * rng.standard_normal(F.shape)
    out["noise ceiling"] = spike_r(deconvolve_many(noisy, p=2, g=g_true).s)
    resid = F - scale[:, None] * calcium
    resid -= resid.mean(axis=1, keepdims=True)
    freqs = np.fft.rfftfreq(F.shape[1], 1.0 / frame_rate)
    power = np.abs(np.fft.rfft(resid, axis=1)) ** 2
    out["slow residual"] = float(np.median(power[:, freqs < 0.5].sum(1) / power.sum(1)))
    return out


def ceiling_line(movie: str, c: dict) -> str:
    return f"{movie}: spike r " + ", ".join(f"{k} {v:.3f}" for k, v in c.items())

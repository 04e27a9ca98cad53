"""Re-running the deconvolution of chosen components with a new noise constraint.

The raw traces F stay as they are (they are data); the denoised traces C, the activity S and
the deconvolution's by-products (baseline, lambda, epsilon) are replaced, the trace SNR is
recomputed, and everything the user curated (status, ids) is kept. Each trace keeps its noise
level and, when the model order is unchanged, its kinetics, so only epsilon changes the answer.

References
----------
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299 (the noise-constrained problem).
Friedrich J., Zhou P. & Paninski L. (2017) PLoS Comput Biol 13(3):e1005423.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cnmf_gui.engine.evaluation import trace_snr
from cnmf_gui.errors import ParameterError
from cnmf_gui.results import Components


def redeconvolve(components: Components, indices, deconv, *, epsilon: float | None = None,
                 progress=None) -> Components:
    """A copy of ``components`` with the chosen traces deconvolved again.

    Parameters
    ----------
    components : Components
    indices : sequence of int
        Positions (not ids) of the components to re-run.
    deconv : DeconvParams
        Model order, s_min, baseline, solver.
    epsilon : float, optional
        The new relaxation of the noise constraint (default ``deconv.epsilon``).
    progress : Progress, optional

    Returns
    -------
    Components
        New arrays; the input is not modified.
    """
    from cnmf_gui.engine.deconvolution import deconvolve_many

    eps = deconv.epsilon if epsilon is None else float(epsilon)
    if not eps > -1:
        raise ParameterError(f"parameter epsilon = {eps} is out of range: expected (-1, 10]")
    idx = np.asarray(list(indices), dtype=int)
    K = components.n_components
    if idx.size and (idx.min() < 0 or idx.max() >= K):
        raise ParameterError(f"component positions must be in 0..{K - 1}")
    out = dataclasses.replace(components, C=components.C.copy(), S=components.S.copy(),
                              baseline=np.array(components.baseline, float),
                              sn=np.array(components.sn, float),
                              epsilon=np.array(components.epsilon, float),
                              lam=np.array(components.lam, float), metrics=dict(components.metrics),
                              status=components.status.copy(), ids=components.ids.copy())
    if idx.size == 0:
        return out
    p = deconv.p
    g_old = np.asarray(components.g, float)
    g = g_old[idx] if g_old.shape[1] == p and p > 0 and np.all(np.any(g_old[idx] != 0, axis=1)) else None
    sn = np.asarray(components.sn, float)[idx]
    sn = sn if np.all(sn > 0) else None
    res = deconvolve_many(np.asarray(components.F, float)[idx], p=p, g=g, sn=sn, epsilon=eps,
                          s_min=deconv.s_min, method=deconv.method, baseline=deconv.baseline,
                          progress=progress)
    out.C[idx] = res.c
    out.S[idx] = res.s
    out.baseline[idx] = res.b
    out.sn[idx] = res.sn
    out.epsilon[idx] = res.epsilon
    out.lam[idx] = res.lam
    g_new = np.zeros((K, p))
    g_new[:, :min(p, g_old.shape[1])] = g_old[:, :min(p, g_old.shape[1])]
    g_new[idx] = np.asarray(res.g).reshape(len(idx), -1)[:, :p]
    out.g = g_new
    if "snr" in out.metrics:
        snr = np.array(out.metrics["snr"], float)
        snr[idx] = trace_snr(out.C[idx], out.sn[idx])
        out.metrics["snr"] = snr
    return out

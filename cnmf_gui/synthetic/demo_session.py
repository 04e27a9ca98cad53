"""A ground-truth-like session (for GUI, io and export tests and the installers' smoke test)."""

from __future__ import annotations

import numpy as np

from cnmf_gui.synthetic.legacy import make_movie

__all__ = ["make_session"]


def make_session(n_frames: int = 300, shape: tuple[int, int] = (64, 64), n_neurons: int = 8,
                 seed: int = 0, folder=None, **movie_kwargs):
    """A session whose components are the truth of a synthetic movie, as CNMF would report it.

    Parameters
    ----------
    n_frames, shape, n_neurons, seed, **movie_kwargs
        Passed to :func:`make_movie`.
    folder : path-like, optional
        When given, the movie is saved there as ``synthetic_movie.npy`` and the session's
        ``movie_path`` points at it; otherwise ``movie_path`` is None.

    Returns
    -------
    session : SessionData
        Components (A, C, S, F, dF/F, noise, kinetics, plausible metrics, all undecided, ids
        0..K-1), background, summary images and default parameters.
    synth : SyntheticMovie
    """
    import os

    from cnmf_gui.params import PipelineParams
    from cnmf_gui.results import Background, Components, SessionData, SummaryImages

    synth = make_movie(n_frames=n_frames, shape=shape, n_neurons=n_neurons, seed=seed, **movie_kwargs)
    mov = synth.movie
    T, H, W = mov.shape
    K = synth.n_neurons
    A = synth.footprints_sparse
    rng = np.random.default_rng(seed + 1)
    # F: C plus the residual a real fit leaves (noise projected on the footprint).
    a = synth.footprints.reshape(K, -1)
    # Noise of a footprint-weighted average a^T Y / ||a||^2 is sigma / ||a||.
    sn = np.full(K, synth.noise_sigma) / np.maximum(np.linalg.norm(a, axis=1), 1e-12)
    C = synth.traces.astype(float)
    # As the engine defines it: F = C + baseline + residual; dF/F relative to the resting level.
    f0 = synth.baselines[:, None]
    F = C + f0 + sn[:, None] * rng.standard_normal((K, T))
    dff = (F - f0) / f0
    from cnmf_gui.engine.summary import compute_summary

    summary, _ = compute_summary(mov)
    snr = C.max(axis=1) / np.maximum(sn, 1e-12) if T else np.zeros(K)
    comps = Components(
        A=A, C=C, S=synth.spikes.astype(float), F=F, dff=dff, baseline=synth.baselines.copy(),
        sn=sn, epsilon=np.zeros(K), g=synth.g.copy(), status=np.zeros(K, np.int8),
        ids=np.arange(K, dtype=np.int64),
        metrics={"snr": snr, "r_value": np.clip(0.95 - 0.02 * rng.random(K), -1, 1),
                 "area": (a > 0.2).sum(axis=1).astype(float)})
    b, f = synth.background
    background = Background(b=b.reshape(b.shape[0], -1).T.copy(), f=f.copy())
    movie_path = None
    if folder is not None:
        from cnmf_gui.atomic import atomic_path

        movie_path = os.path.abspath(os.path.join(os.fspath(folder), "synthetic_movie.npy"))
        with atomic_path(movie_path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, mov)
    session = SessionData(movie_path=movie_path, movie_shape=(T, H, W), movie_dtype="float32",
                          frame_rate=synth.frame_rate,
                          params=PipelineParams(frame_rate=synth.frame_rate),
                          summary=summary, components=comps, background=background)
    return session, synth

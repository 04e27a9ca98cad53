"""The original ground-truth generator (``make_movie``): CNMF's own model with a Fourier-shift motion.

A movie is built the way the CNMF model says it is made (Pnevmatikakis et al., Neuron 2016),
with the nuisances real recordings have:

    Y[t] = shift_t( sum_k a_k (c_k[t] + b_k) + B f[t] ) + noise

- footprints ``a_k``: elliptical somata of random size, elongation and orientation, some with a
  dim nucleus (nuclear exclusion of GCaMP), placed with a minimum distance that allows overlaps;
- calcium ``c_k``: AR(1) or AR(2) responses to Poisson spike trains with variable amplitudes;
- a resting fluorescence ``b_k`` per neuron (cells are visible in the mean image);
- a low-rank background: a smooth illumination field and a static fine texture (neuropil,
  vessels), modulated by slow temporal fluctuations;
- shot noise (variance proportional to the signal) and read noise;
- rigid motion (a smooth random walk with occasional jumps, applied as an exact Fourier shift) or
  non-rigid motion (rigid plus a smooth spatial deformation, cubic interpolation).

This movie follows the model the engine fits and its rigid motion is the operator phase
correlation inverts: it flatters the engine. Kept because tests and the demo rely on it; accuracy
is measured on :func:`cnmf_gui.synthetic.make_realistic_movie` (benchmarks/accuracy.py).
Everything is seeded (``np.random.default_rng(seed)``) and deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.synthetic.footprints import place_centers, soma_legacy
from cnmf_gui.synthetic.kinetics import ar_coefficients, simulate_calcium
from cnmf_gui.synthetic.motion import LegacyDeformation, fourier_shift, rigid_random_walk
from cnmf_gui.synthetic.scene import periodic_texture
from cnmf_gui.synthetic.truth import SyntheticMovie

__all__ = ["make_movie"]


def make_movie(n_frames: int = 1000, shape: tuple[int, int] = (128, 128), n_neurons: int = 30,
               neuron_radius: float = 4.0, frame_rate: float = 30.0, ar_order: int = 1,
               tau_decay: float = 0.5, tau_rise: float = 0.08, firing_rate: float = 0.5,
               spike_amplitude: float = 1.0, noise: float = 0.25, shot_noise_gain: float = 0.02,
               background_level: float = 1.0, background_rank: int = 1, texture: float = 0.3,
               resting_level: float = 0.5, min_distance: float = 1.6, motion: str | None = None,
               max_shift: float = 3.0, deformation: float = 1.0, seed: int = 0) -> SyntheticMovie:
    """Make a synthetic two-photon movie with known truth.

    Parameters
    ----------
    n_frames : int
        T.
    shape : (int, int)
        (H, W) of a frame.
    n_neurons : int
        K requested; fewer are placed when the field cannot hold them at ``min_distance``.
    neuron_radius : float
        Typical soma radius, px.
    frame_rate : float
        Hz.
    ar_order : {1, 2}
        AR(1): instantaneous rise and exponential decay; AR(2): finite rise time too.
    tau_decay, tau_rise : float
        Kinetics, s (each neuron varies by +-20 %). ``tau_rise`` is used for AR(2) only.
    firing_rate : float
        Mean Poisson rate, Hz (varies per neuron, log-normally).
    spike_amplitude : float
        Mean calcium jump per spike at the footprint's peak (the unit of the movie).
    noise : float
        Read-noise standard deviation, in units of ``spike_amplitude``.
    shot_noise_gain : float
        Shot-noise variance per unit of signal.
    background_level : float
        Mean of the background.
    background_rank : int
        nb, the number of background components (>= 1).
    texture : float
        Strength of the static fine texture relative to the background level.
    resting_level : float
        Mean resting fluorescence of neurons, in units of ``spike_amplitude``.
    min_distance : float
        Minimum distance between centres, in neuron radii (< 2 gives overlapping somata).
    motion : {None, "rigid", "nonrigid"}
    max_shift : float
        Largest rigid displacement, px.
    deformation : float
        Amplitude of the non-rigid part, px.
    seed : int

    Returns
    -------
    SyntheticMovie

    References
    ----------
    Pnevmatikakis E.A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of
    calcium imaging data. Neuron 89(2):285-299.
    """
    if motion not in (None, "none", "rigid", "nonrigid"):
        raise ValueError(f"motion must be None, 'rigid' or 'nonrigid', got {motion!r}")
    if ar_order not in (1, 2):
        raise ValueError(f"ar_order must be 1 or 2, got {ar_order!r}")
    motion = None if motion == "none" else motion
    rng = np.random.default_rng(seed)
    T = int(n_frames)
    H, W = int(shape[0]), int(shape[1])

    # Canvas with a margin, so that moving the field of view brings real content into view.
    reach = (max_shift + (deformation if motion == "nonrigid" else 0.0)) if motion else 0.0
    m = int(math.ceil(reach)) + 2 if motion else 0
    CH, CW = H + 2 * m, W + 2 * m

    # --- neurons
    centers_c = place_centers(rng, n_neurons, (CH, CW), margin=m + neuron_radius,
                               min_distance=min_distance * neuron_radius)
    K = len(centers_c)
    radii = neuron_radius * rng.uniform(0.8, 1.25, K)
    foot_c = np.stack([soma_legacy(rng, (CH, CW), c, r) for c, r in zip(centers_c, radii)]) if K else \
        np.zeros((0, CH, CW), np.float32)

    g = np.zeros((K, ar_order))
    counts = np.zeros((K, T), np.int64)
    spikes = np.zeros((K, T))
    traces = np.zeros((K, T))
    rates = firing_rate * rng.lognormal(0.0, 0.5, K)
    for k in range(K):
        td = tau_decay * rng.uniform(0.8, 1.2)
        tr = tau_rise * rng.uniform(0.8, 1.2) if ar_order == 2 else None
        g[k] = ar_coefficients(frame_rate, td, tr)
        counts[k] = rng.poisson(rates[k] / frame_rate, T)
        amps = spike_amplitude * rng.gamma(10.0, 0.1, T)  # mean 1, CV ~0.3 per spike
        spikes[k] = counts[k] * amps
        traces[k] = simulate_calcium(spikes[k], g[k])
        if ar_order == 2:
            # Scale so one spike peaks near spike_amplitude, as in AR(1).
            peak = simulate_calcium(np.r_[1.0, np.zeros(int(5 * frame_rate))], g[k]).max()
            spikes[k] /= peak
            traces[k] /= peak
    baselines = resting_level * spike_amplitude * rng.uniform(0.5, 1.5, K)

    # --- background: smooth illumination plus static texture, rank nb
    nb = max(int(background_rank), 1)
    illum = 1.0 + 0.3 * periodic_texture(rng, (CH, CW), corr_length=max(CH, CW) / 4)
    fine = periodic_texture(rng, (CH, CW), corr_length=1.5)
    vessels = np.clip(periodic_texture(rng, (CH, CW), corr_length=6.0), None, -1.0) + 1.0
    static = np.clip(illum * (1.0 + texture * (fine + 0.8 * vessels)), 0.05, None)
    bg_spatial_c = np.empty((nb, CH, CW))
    bg_spatial_c[0] = background_level * static
    for i in range(1, nb):
        bg_spatial_c[i] = 0.3 * background_level * np.clip(
            1.0 + periodic_texture(rng, (CH, CW), corr_length=max(CH, CW) / 6), 0, None)
    t_axis = np.arange(T) / frame_rate
    bg_temporal = np.empty((nb, T))
    for i in range(nb):
        slow = ndimage.gaussian_filter1d(rng.standard_normal(T), sigma=max(frame_rate * 2, 1)) if T else []
        slow = np.asarray(slow)
        slow = slow / (np.abs(slow).max() + 1e-12)
        bg_temporal[i] = 1.0 + 0.1 * slow + 0.05 * np.sin(2 * math.pi * t_axis / (20.0 + 10 * i))

    # --- motion
    disp = rigid_random_walk(rng, T, max_shift) if motion else np.zeros((T, 2))
    deform = None
    if motion == "nonrigid":
        walk = ndimage.gaussian_filter1d(rng.standard_normal((T, 2)), sigma=5.0, axis=0) if T else np.zeros((0, 2))
        walk = walk / (np.abs(walk).max(axis=0, keepdims=True) + 1e-12)
        deform = LegacyDeformation(deformation * walk, rng.uniform(0, 2 * math.pi, 2), 1.0, 1.0, H, W)

    # --- render frame by frame (memory: the output plus a few canvases)
    movie = np.empty((T, H, W), np.float32)
    # Footprints cover a few hundred pixels each: a sparse product per frame is ~100x cheaper
    # than a dense (K x pixels) one on large fields.
    foot_flat = sp.csr_matrix(foot_c.reshape(K, CH * CW).T)
    bg_flat = bg_spatial_c.reshape(nb, -1)
    ky = np.fft.fftfreq(CH)[:, None]
    kx = np.fft.rfftfreq(CW)[None, :]
    read = noise * spike_amplitude
    rows_c = np.arange(CH, dtype=float)
    cols_c = np.arange(CW, dtype=float)
    for t in range(T):
        clean = (foot_flat @ (traces[:, t] + baselines) + bg_temporal[:, t] @ bg_flat).reshape(CH, CW)
        if motion is None:
            frame = clean
        elif motion == "rigid":
            frame = fourier_shift(np.fft.rfft2(clean), disp[t, 0], disp[t, 1], ky, kx)[m:m + H, m:m + W]
        else:
            dy, dx = deform.at(t)
            rr = rows_c[m:m + H, None] - disp[t, 0] - dy
            cc = cols_c[None, m:m + W] - disp[t, 1] - dx
            frame = ndimage.map_coordinates(clean, [rr, cc], order=3, mode="wrap")
        frame = np.clip(frame, 0.0, None).astype(np.float32)
        sd = np.sqrt(np.float32(read ** 2) + np.float32(shot_noise_gain) * frame)
        movie[t] = frame + sd * rng.standard_normal((H, W), dtype=np.float32)

    crop = (slice(None), slice(m, m + H), slice(m, m + W))
    footprints = foot_c[crop].astype(np.float32)
    bg_spatial = bg_spatial_c[crop].astype(np.float32)
    mean_clean = (traces.mean(axis=1) + baselines) @ footprints.reshape(K, H * W) + \
        bg_temporal.mean(axis=1) @ bg_spatial.reshape(nb, -1) if T else np.zeros(H * W)
    noise_map = np.sqrt(read ** 2 + shot_noise_gain * np.reshape(mean_clean, (H, W)))

    return SyntheticMovie(
        movie=movie, footprints=footprints, traces=traces.astype(np.float32),
        spikes=spikes.astype(np.float32), spike_counts=counts, baselines=baselines, g=g,
        centers=centers_c - m, background=(bg_spatial, bg_temporal.astype(np.float32)),
        shifts=(-disp).astype(np.float32), noise_sigma=float(read),
        noise_map=noise_map.astype(np.float32), frame_rate=float(frame_rate), motion=motion,
        _deform=deform)

"""Ground-truth synthetic calcium-imaging movies for tests, benchmarks and the demo.

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
- rigid motion (a smooth random walk with occasional jumps) or non-rigid motion (rigid plus a
  smooth spatial deformation).

Everything is seeded (``np.random.default_rng(seed)``) and deterministic.

Shift convention, as everywhere in cnmf_gui: applying the shift ``[dy, dx]`` to an image ``I``
gives ``J(r, c) = I(r - dy, c - dx)``. ``SyntheticMovie.shifts`` holds the *correction*: the shift
that, applied to raw frame t, aligns it with the motion-free movie (what motion correction
should recover).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

__all__ = ["SyntheticMovie", "make_movie", "make_session", "ar_coefficients", "simulate_calcium"]


@dataclass
class SyntheticMovie:
    """A synthetic movie and the truth it was made from.

    Attributes
    ----------
    movie : ndarray of shape (T, H, W), float32
        The recording as a microscope would deliver it (with motion and noise).
    footprints : ndarray of shape (K, H, W), float32
        True spatial footprints (peak 1), in motion-free coordinates.
    traces : ndarray of shape (K, T), float32
        True calcium ``c_k`` (without the resting fluorescence).
    spikes : ndarray of shape (K, T), float32
        True spike amplitudes ``s_k = G c_k``.
    spike_counts : ndarray of shape (K, T), int
        Number of spikes in each frame.
    baselines : ndarray of shape (K,)
        Resting fluorescence ``b_k`` of each neuron.
    g : ndarray of shape (K, p)
        AR coefficients of each neuron.
    centers : ndarray of shape (K, 2)
        [row, col] of each footprint's centre.
    background : tuple (spatial (nb, H, W), temporal (nb, T))
        The low-rank background ``B f``.
    shifts : ndarray of shape (T, 2), float32
        The rigid correction [dy, dx] per frame (zeros without motion). For non-rigid motion, the
        rigid part of it.
    noise_sigma : float
        Read-noise standard deviation.
    noise_map : ndarray of shape (H, W)
        Expected total noise standard deviation per pixel (read and mean shot noise).
    frame_rate : float
        Hz.
    motion : str or None
        None, "rigid" or "nonrigid".
    """

    movie: np.ndarray
    footprints: np.ndarray
    traces: np.ndarray
    spikes: np.ndarray
    spike_counts: np.ndarray
    baselines: np.ndarray
    g: np.ndarray
    centers: np.ndarray
    background: tuple
    shifts: np.ndarray
    noise_sigma: float
    noise_map: np.ndarray
    frame_rate: float
    motion: str | None = None
    _deform: tuple | None = field(default=None, repr=False)

    @property
    def n_neurons(self) -> int:
        return int(self.footprints.shape[0])

    @property
    def footprints_sparse(self) -> sp.csc_matrix:
        """Footprints as a (H*W, K) CSC matrix, pixel index ``row * W + col`` (DESIGN.md)."""
        K, H, W = self.footprints.shape
        return sp.csc_matrix(self.footprints.reshape(K, H * W).T)

    def shift_field_at(self, t: int) -> np.ndarray:
        """Correction shift [dy, dx] at every pixel of frame ``t``, shape (H, W, 2).

        For rigid motion this is the frame's rigid correction everywhere. For non-rigid motion it
        is the negated displacement at each pixel (exact to first order in the deformation's
        gradient, which is small by construction).
        """
        H, W = self.movie.shape[1:]
        out = np.empty((H, W, 2), np.float32)
        out[...] = self.shifts[t]
        if self._deform is not None:
            dy, dx = _deformation(self._deform, t, H, W)
            out[..., 0] -= dy
            out[..., 1] -= dx
        return out

    @property
    def shift_field(self) -> np.ndarray | None:
        """Correction at every pixel of every frame, shape (T, H, W, 2); None without motion.

        Materialises T*H*W*2 floats: use :meth:`shift_field_at` for long movies.
        """
        if self.motion is None:
            return None
        return np.stack([self.shift_field_at(t) for t in range(self.movie.shape[0])])

    def save_truth(self, path) -> None:
        """Write the truth to an HDF5 file (atomically): one dataset per attribute above."""
        from cnmf_gui.atomic_h5 import atomic_h5

        with atomic_h5(path) as fh:
            fh.attrs["format"] = "cnmf_gui-synthetic-truth"
            fh.attrs["frame_rate"] = self.frame_rate
            fh.attrs["noise_sigma"] = self.noise_sigma
            fh.attrs["motion"] = self.motion or "none"
            for name in ("footprints", "traces", "spikes", "spike_counts", "baselines", "g",
                         "centers", "shifts", "noise_map"):
                fh.create_dataset(name, data=getattr(self, name), compression="gzip")
            fh.create_dataset("background_spatial", data=self.background[0], compression="gzip")
            fh.create_dataset("background_temporal", data=self.background[1], compression="gzip")


# ----------------------------------------------------------------------------------------------
# Calcium dynamics
# ----------------------------------------------------------------------------------------------


def ar_coefficients(frame_rate: float, tau_decay: float, tau_rise: float | None = None) -> np.ndarray:
    """AR coefficients of a calcium kernel sampled at ``frame_rate``.

    Parameters
    ----------
    frame_rate : float
        Hz.
    tau_decay : float
        Decay time constant, s.
    tau_rise : float, optional
        Rise time constant, s. Given, the kernel is a difference of exponentials: AR(2).

    Returns
    -------
    g : ndarray of shape (1,) or (2,)
        ``c[t] = g[0] c[t-1] (+ g[1] c[t-2]) + s[t]``.
    """
    d = math.exp(-1.0 / (tau_decay * frame_rate))
    if tau_rise is None:
        return np.array([d])
    r = math.exp(-1.0 / (tau_rise * frame_rate))
    return np.array([d + r, -d * r])


def simulate_calcium(spikes: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Run the AR recursion ``c[t] = sum_i g[i] c[t-1-i] + s[t]`` along the last axis.

    Parameters
    ----------
    spikes : ndarray of shape (T,)
    g : ndarray of shape (p,)

    Returns
    -------
    ndarray of shape (T,)
    """
    from scipy.signal import lfilter

    return lfilter([1.0], np.r_[1.0, -np.asarray(g, float)], spikes)


# ----------------------------------------------------------------------------------------------
# Spatial pieces
# ----------------------------------------------------------------------------------------------


def _periodic_texture(rng, shape, corr_length: float) -> np.ndarray:
    """Zero-mean, unit-std random texture with correlation length ``corr_length`` px.

    Filtered in the Fourier domain, so it is periodic: a Fourier shift of the canvas then has no
    wrap-around seam.
    """
    H, W = shape
    noise = rng.standard_normal(shape)
    ky = np.fft.fftfreq(H)[:, None]
    kx = np.fft.fftfreq(W)[None, :]
    transfer = np.exp(-2 * (math.pi * corr_length) ** 2 * (ky ** 2 + kx ** 2))
    tex = np.real(np.fft.ifft2(np.fft.fft2(noise) * transfer))
    tex -= tex.mean()
    return tex / (tex.std() + 1e-12)


def _soma(rng, shape, center, radius) -> np.ndarray:
    """One soma-like footprint on a canvas: an elliptical, soft-edged blob, peak 1."""
    H, W = shape
    elong = rng.uniform(0.75, 1.3)
    ry, rx = radius * elong, radius / elong
    theta = rng.uniform(0, math.pi)
    half = int(math.ceil(2.5 * radius)) + 1
    r0, c0 = int(round(center[0])), int(round(center[1]))
    rows = np.arange(max(r0 - half, 0), min(r0 + half + 1, H))
    cols = np.arange(max(c0 - half, 0), min(c0 + half + 1, W))
    dr = rows[:, None] - center[0]
    dc = cols[None, :] - center[1]
    u = dr * math.cos(theta) + dc * math.sin(theta)
    v = -dr * math.sin(theta) + dc * math.cos(theta)
    rho = np.sqrt((u / ry) ** 2 + (v / rx) ** 2)
    # Flat-ish top falling off softly at the membrane: a generalised Gaussian.
    blob = np.exp(-0.5 * (rho / 0.75) ** 4) + 0.15 * np.exp(-0.5 * (rho / 1.1) ** 2)
    if rng.random() < 0.5:
        # Dim nucleus: GCaMP is excluded from the nucleus in many preparations.
        blob *= 1.0 - 0.45 * np.exp(-0.5 * (rho / 0.4) ** 2)
    blob[blob < 0.02 * blob.max()] = 0.0
    out = np.zeros(shape, np.float32)
    out[np.ix_(rows, cols)] = blob / blob.max()
    return out


def _place_centers(rng, n, shape, margin, min_distance) -> np.ndarray:
    """Random centres at least ``min_distance`` px apart (fewer if the field is full)."""
    H, W = shape
    centers: list[tuple[float, float]] = []
    attempts = 0
    while len(centers) < n and attempts < 200 * max(n, 1):
        attempts += 1
        cand = (rng.uniform(margin, H - 1 - margin), rng.uniform(margin, W - 1 - margin))
        if all((cand[0] - r) ** 2 + (cand[1] - c) ** 2 >= min_distance ** 2 for r, c in centers):
            centers.append(cand)
    return np.array(centers, float).reshape(-1, 2)


# ----------------------------------------------------------------------------------------------
# Motion
# ----------------------------------------------------------------------------------------------


def _rigid_displacements(rng, T, max_shift) -> np.ndarray:
    """Smooth random walk with occasional jumps, bounded by ``max_shift`` px. Shape (T, 2)."""
    if max_shift <= 0 or T == 0:
        return np.zeros((T, 2))
    steps = rng.standard_normal((T, 2)) * 0.3 * max_shift
    jumps = (rng.random(T) < 0.01)[:, None] * rng.uniform(-1, 1, (T, 2)) * max_shift
    walk = np.cumsum(steps, axis=0)
    walk = ndimage.gaussian_filter1d(walk, sigma=3.0, axis=0) + np.cumsum(jumps, axis=0)
    walk -= np.median(walk, axis=0)
    # Squash into (-max_shift, max_shift) while keeping small motions linear.
    scale = np.abs(walk).max(axis=0) + 1e-12
    walk = max_shift * 0.95 * np.tanh(walk / scale * 1.5) / math.tanh(1.5)
    walk += rng.uniform(-0.5, 0.5, (T, 2)) * 0.1 * max_shift  # jitter makes shifts sub-pixel
    return np.clip(walk, -max_shift, max_shift)


def _deformation(deform, t, H, W):
    """Smooth non-rigid displacement (dy, dx), each (H, W), of frame ``t``."""
    amp, phases, kr, kc = deform
    rr = np.arange(H)[:, None] / H
    cc = np.arange(W)[None, :] / W
    a = amp[t]
    dy = a[0] * np.sin(2 * math.pi * (kr * rr + 0.5 * kc * cc) + phases[0])
    dx = a[1] * np.sin(2 * math.pi * (0.5 * kr * rr + kc * cc) + phases[1])
    return dy.astype(np.float32), dx.astype(np.float32)


def _fourier_shift(canvas_fft, dy, dx, ky, kx) -> np.ndarray:
    """Shift a periodic canvas by (dy, dx) px with a Fourier phase ramp (exact sub-pixel)."""
    ramp = np.exp(-2j * math.pi * (ky * dy + kx * dx))
    return np.fft.irfft2(canvas_fft * ramp, s=(ky.shape[0], 2 * (kx.shape[1] - 1)))


# ----------------------------------------------------------------------------------------------
# The generator
# ----------------------------------------------------------------------------------------------


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
    centers_c = _place_centers(rng, n_neurons, (CH, CW), margin=m + neuron_radius,
                               min_distance=min_distance * neuron_radius)
    K = len(centers_c)
    radii = neuron_radius * rng.uniform(0.8, 1.25, K)
    foot_c = np.stack([_soma(rng, (CH, CW), c, r) for c, r in zip(centers_c, radii)]) if K else \
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
    illum = 1.0 + 0.3 * _periodic_texture(rng, (CH, CW), corr_length=max(CH, CW) / 4)
    fine = _periodic_texture(rng, (CH, CW), corr_length=1.5)
    vessels = np.clip(_periodic_texture(rng, (CH, CW), corr_length=6.0), None, -1.0) + 1.0
    static = np.clip(illum * (1.0 + texture * (fine + 0.8 * vessels)), 0.05, None)
    bg_spatial_c = np.empty((nb, CH, CW))
    bg_spatial_c[0] = background_level * static
    for i in range(1, nb):
        bg_spatial_c[i] = 0.3 * background_level * np.clip(
            1.0 + _periodic_texture(rng, (CH, CW), corr_length=max(CH, CW) / 6), 0, None)
    t_axis = np.arange(T) / frame_rate
    bg_temporal = np.empty((nb, T))
    for i in range(nb):
        slow = ndimage.gaussian_filter1d(rng.standard_normal(T), sigma=max(frame_rate * 2, 1)) if T else []
        slow = np.asarray(slow)
        slow = slow / (np.abs(slow).max() + 1e-12)
        bg_temporal[i] = 1.0 + 0.1 * slow + 0.05 * np.sin(2 * math.pi * t_axis / (20.0 + 10 * i))

    # --- motion
    disp = _rigid_displacements(rng, T, max_shift) if motion else np.zeros((T, 2))
    deform = None
    if motion == "nonrigid":
        walk = ndimage.gaussian_filter1d(rng.standard_normal((T, 2)), sigma=5.0, axis=0) if T else np.zeros((0, 2))
        walk = walk / (np.abs(walk).max(axis=0, keepdims=True) + 1e-12)
        deform = (deformation * walk, rng.uniform(0, 2 * math.pi, 2), 1.0, 1.0)

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
            frame = _fourier_shift(np.fft.rfft2(clean), disp[t, 0], disp[t, 1], ky, kx)[m:m + H, m:m + W]
        else:
            dy, dx = _deformation(deform, t, H, W)
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


# ----------------------------------------------------------------------------------------------
# A ground-truth-like session (for GUI, io and export tests)
# ----------------------------------------------------------------------------------------------


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
        movie_path = os.path.abspath(os.path.join(os.fspath(folder), "synthetic_movie.npy"))
        np.save(movie_path, mov)
    session = SessionData(movie_path=movie_path, movie_shape=(T, H, W), movie_dtype="float32",
                          frame_rate=synth.frame_rate,
                          params=PipelineParams(frame_rate=synth.frame_rate),
                          summary=summary, components=comps, background=background)
    return session, synth

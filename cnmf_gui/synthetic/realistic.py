"""A synthetic two-photon movie that does not follow the engine's own model (issue 10).

The scene is continuous (drawn on a fine grid, ``upsample`` samples per pixel, larger than the
field of view), and each frame is made the way a microscope makes it: the brain moves (rigid
trajectory with fast jumps plus a smooth non-rigid field), the moved scene is sampled at the
pixel positions by cubic-spline interpolation after a point-spread function and the pixels' area
integral, then photons are counted (Poisson) and read noise is added. No Fourier shift is used:
that is the exact operator phase correlation inverts.

The scene: ring somata with dark nuclei (radius 3-10 px), some with dendrite-like processes;
silent cells (visible, never firing); bursty firing through AR(2) indicator kinetics with
published rise and decay times (GCaMP6f, 6s, 8m) and responses that differ across cells; a
neuropil of out-of-focus processes and somata, each firing on its own, plus a diffuse haze that
follows their population activity; static autofluorescence and vessel shadows;
vignetting fixed in the frame; slow bleaching of everything.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.synthetic.footprints import cell_patch, place_centers
from cnmf_gui.synthetic.kinetics import (INDICATORS, bursty_spike_counts, indicator_traces,
                                         synchronous_events)
from cnmf_gui.synthetic.motion import (SmoothDeformation, rigid_trajectory, sample_scene,
                                       sample_scene_translated)
from cnmf_gui.synthetic.noise import photon_noise
from cnmf_gui.synthetic.scene import (diffuse_neuropil, illumination, neuropil_sources, optics,
                                      spline_columns, static_background)
from cnmf_gui.synthetic.truth import SyntheticMovie

__all__ = ["make_realistic_movie"]

def make_realistic_movie(n_frames: int = 2000, shape: tuple[int, int] = (160, 192), n_cells: int = 60,
                         radius_range: tuple[float, float] = (4.0, 6.5),
                         photons_per_unit: float | None = 10.0, motion_px: float = 3.0,
                         nonrigid_px: float = 0.0, frame_rate: float = 30.0,
                         indicator: str = "GCaMP6f", silent_fraction: float = 0.2,
                         firing_rate: float = 0.3, sync_rate: float = 0.02, process_fraction: float = 0.4,
                         neuropil: float = 1.0, background: float = 0.5, vignetting: float = 0.3,
                         bleach: float = 0.25,
                         read_noise: float = 1.0, jump_rate: float = 1 / 30.0, psf_sigma: float = 0.5,
                         upsample: int = 2, displacements: np.ndarray | None = None,
                         seed: int = 0) -> SyntheticMovie:
    """Make a synthetic two-photon movie with known truth, by physics rather than by CNMF's model.

    Parameters
    ----------
    n_frames : int
        T (default 2000).
    shape : (int, int)
        (H, W) of the field of view (default (160, 192)).
    n_cells : int
        Cells requested in the field of view (default 60); fewer when it cannot hold them.
    radius_range : (float, float)
        Soma radii are uniform in this range, px (default (4, 6.5)).
    photons_per_unit : float or None
        Photons per unit of fluorescence (the unit is the median peak response of a soma's
        brightest pixel to one spike): the signal-to-noise ratio (default 10). None: no noise, the
        movie is the expected fluorescence in units.
    motion_px : float
        Largest rigid displacement, px (default 3; 0: none).
    nonrigid_px : float
        Largest non-rigid displacement on top of the rigid one, px (default 0).
    frame_rate : float
        Hz (default 30; 7-30 are typical).
    indicator : {"GCaMP6f", "GCaMP6s", "GCaMP8m"}
        Kinetics (default "GCaMP6f"; time constants in :data:`kinetics.INDICATORS`).
    silent_fraction : float
        Fraction of cells that never fire (default 0.2).
    firing_rate : float
        Median single-spike rate, Hz (default 0.3; log-normal across cells), plus bursts.
    sync_rate : float
        Network events per second in which many active cells burst together (default 0.02:
        about one per 50 s; :func:`kinetics.synchronous_events`).
    process_fraction : float
        Fraction of cells with 1-3 dendrite-like processes (default 0.4).
    neuropil, background : float
        Mean neuropil and static fluorescence, units (defaults 1.0 and 0.5).
    vignetting : float
        Illumination loss in the frame's corners (default 0.3); fixed in the frame, it does not
        move with the brain.
    bleach : float
        Fraction of the fluorescence lost by the last frame (default 0.25).
    read_noise : float
        Read-noise standard deviation, photons (default 1).
    jump_rate : float
        Fast motion jumps per second (default 1/30).
    psf_sigma : float
        Lateral point-spread function standard deviation, px (default 0.5).
    upsample : int
        Fine-grid samples per pixel (default 2).
    displacements : ndarray of shape (T, 2), optional
        Replaces the random rigid trajectory (brain displacement, px; the correction is its
        negative). With the same seed and ``motion_px`` the scene is the same, so zeros give
        the motion-free movie of a moving one.
    seed : int

    Returns
    -------
    SyntheticMovie
        ``movie`` in photons (or units without noise), ``shifts`` the rigid correction (the
        negated rigid displacement), ``active``, ``radii``, ``bleaching``, ``indicator`` set.
    """
    if indicator not in INDICATORS:
        raise ValueError(f"indicator must be one of {sorted(INDICATORS)}, got {indicator!r}")
    lo, hi = float(radius_range[0]), float(radius_range[1])
    if not 0 < lo <= hi:
        raise ValueError(f"radius_range must be 0 < lo <= hi, got {radius_range!r}")
    T, H, W, u = int(n_frames), int(shape[0]), int(shape[1]), int(upsample)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6)]
    rng_cells, rng_act, rng_np, rng_static, rng_motion, rng_noise = streams
    # Independent streams: changing the motion or the noise leaves the scene and activity alone.

    # margin: the motion's reach plus room for the optics and for processes leaving the field
    reach = max(motion_px, float(np.abs(displacements).max(initial=0.0)) if displacements is not None else 0.0)
    m = int(math.ceil(reach + nonrigid_px)) + 6
    ch, cw = u * (H + 2 * m), u * (W + 2 * m)

    # --- cells: footprints on the fine grid (spline coefficients) and at the pixels (truth)
    radii = rng_cells.uniform(lo, hi, n_cells)
    centers = place_centers(rng_cells, n_cells, (H, W), margin=0.7 * lo, min_distance=1.6 * radii)
    K = len(centers)
    radii = radii[:K]
    cell_patches = []
    feet = np.zeros((K, H, W), np.float32)
    fine_r, fine_c = u * (np.arange(H) + m), u * (np.arange(W) + m)   # pixels on the fine grid
    for k in range(K):
        n_proc = int(rng_cells.integers(1, 4)) if rng_cells.random() < process_fraction else 0
        r0, c0, patch = cell_patch(rng_cells, u * (centers[k] + m), radii[k], u, n_proc)
        patch = optics(patch, u, psf_sigma)
        pr = np.nonzero((fine_r >= r0) & (fine_r < r0 + patch.shape[0]))[0]
        pc = np.nonzero((fine_c >= c0) & (fine_c < c0 + patch.shape[1]))[0]
        feet[k][np.ix_(pr, pc)] = patch[np.ix_(fine_r[pr] - r0, fine_c[pc] - c0)]
        scale = 1.0 / max(float(feet[k].max()), 1e-12)
        feet[k] *= scale
        cell_patches.append((r0, c0, patch * scale))
    A_fine = spline_columns(cell_patches, (ch, cw))

    # --- activity
    active = np.ones(K, bool)
    active[rng_act.permutation(K)[:int(round(silent_fraction * K))]] = False
    rates = firing_rate * rng_act.lognormal(0.0, 0.6, K)
    counts = np.zeros((K, T), np.int64)
    for k in np.nonzero(active)[0]:
        counts[k] = bursty_spike_counts(rng_act, T, frame_rate, rates[k],
                                        burst_rate=0.05 * rng_act.lognormal(0.0, 0.7))
    counts[active] = synchronous_events(rng_act, counts[active], frame_rate, sync_rate)
    traces, spikes, g, _ = indicator_traces(rng_act, counts, frame_rate, indicator)
    # cells differ in expression and in calcium per spike: responses vary ~1.5x across cells
    response = rng_act.lognormal(0.0, 0.35, K)
    traces *= response[:, None]
    spikes *= response[:, None]
    baselines = rng_act.uniform(1.0, 3.0, K)

    # --- neuropil (independent out-of-focus sources plus a haze) and static background
    static, vessels = static_background(rng_static, (ch, cw), u)
    illum = illumination(rng_static, (H, W), vignetting)
    N_fine, kind = neuropil_sources(rng_np, (ch, cw), u, psf_sigma, K, H * W, vessels)
    P = N_fine.shape[1]
    # each source fires like a cell (out-of-focus somata) or a dendrite (more often, smaller)
    np_rate = np.where(kind == 1, firing_rate, 2 * firing_rate) * rng_np.lognormal(0.0, 0.6, P)
    np_counts = np.stack([bursty_spike_counts(rng_np, T, frame_rate, r, burst_rate=0.05) for r in np_rate]) \
        if P else np.zeros((0, T), np.int64)
    np_calcium = indicator_traces(rng_np, np_counts, frame_rate, indicator)[0]
    # resolved sources are dim and respond weakly: most of the neuropil is the unresolved haze
    np_rest = neuropil * np.where(kind == 1, rng_np.uniform(0.2, 0.5, P), rng_np.uniform(0.1, 0.35, P))
    np_amp = np_rest[:, None] * (1.0 + rng_np.uniform(0.1, 0.4, P)[:, None] * np_calcium)   # (P, T)
    slow = ndimage.gaussian_filter1d(rng_np.standard_normal(T), 10 * frame_rate) if T else np.zeros(0)
    slow /= max(np.abs(slow).max(initial=0.0), 1e-12)
    population = np_calcium.mean(axis=0) if P else np.zeros(T)
    diffuse_tc = 1.0 + 0.3 * ndimage.gaussian_filter1d(population - population.mean(), frame_rate) + 0.05 * slow
    maps = np.stack([ndimage.spline_filter(optics(mp, u, psf_sigma), order=3).astype(np.float32)
                     for mp in (0.7 * neuropil * diffuse_neuropil(rng_np, (ch, cw), u, vessels),
                                background * static)]).reshape(2, -1)
    dense_tc = np.vstack([diffuse_tc[None], np.ones((1, T))]).astype(np.float32)         # (2, T)
    sources = sp.hstack([A_fine, N_fine]).tocsc()

    # --- bleaching of everything: slow exponential, 1 - bleach left at the end
    t_s = np.arange(T) / frame_rate
    tau_b = 0.7 * max(T / frame_rate, 1e-9)
    bleaching = 1.0 - bleach * (1.0 - np.exp(-t_s / tau_b)) / (1.0 - math.exp(-T / frame_rate / tau_b))

    # --- motion
    disp = rigid_trajectory(rng_motion, T, frame_rate, motion_px, jump_rate) if motion_px > 0 else np.zeros((T, 2))
    if displacements is not None:
        disp = np.asarray(displacements, float).reshape(T, 2)
    deform = SmoothDeformation(rng_motion, T, frame_rate, (H, W), nonrigid_px) if nonrigid_px > 0 else None
    motion = None if not np.any(disp) and deform is None else ("rigid" if deform is None else "nonrigid")

    # --- frames
    gain = 1.0 if photons_per_unit is None else float(photons_per_unit)
    knot_r = (u * (np.arange(H) + m)).astype(np.float64)
    knot_c = (u * (np.arange(W) + m)).astype(np.float64)
    pix_r, pix_c = knot_r[:, None] + np.zeros((1, W)), knot_c[None, :] + np.zeros((H, 1))
    movie = np.empty((T, H, W), np.float32)
    amp = (traces + baselines[:, None]).astype(np.float32)
    amp_all = np.vstack([amp, np_amp]).astype(np.float32)                                 # (K+P, T)
    for t in range(T):
        # einsum, not @: a threaded BLAS matrix-vector product is ~20x slower on a loaded machine
        canvas = (np.einsum("q,qp->p", dense_tc[:, t], maps) + sources @ amp_all[:, t]).reshape(ch, cw)
        if deform is None:
            frame = sample_scene_translated(canvas, knot_r - u * disp[t, 0], knot_c - u * disp[t, 1])
        else:
            ddy, ddx = deform.at(t)
            frame = sample_scene(canvas, pix_r - u * (disp[t, 0] + ddy), pix_c - u * (disp[t, 1] + ddx))
        expected = np.maximum(frame, 0.0) * illum * np.float32(bleaching[t] * gain)
        movie[t] = expected if photons_per_unit is None else photon_noise(rng_noise, expected, read_noise)

    # --- truth summaries in movie units
    knots = (slice(u * m, u * (m + H), u), slice(u * m, u * (m + W), u))
    mean_dense = (np.einsum("q,qp->p", dense_tc.mean(axis=1), maps)
                  + N_fine @ np_amp.mean(axis=1).astype(np.float32)).reshape(ch, cw)
    bg_mean = _values_at_knots(mean_dense, knots)
    mean_img = gain * bleaching.mean() * illum * (bg_mean + np.tensordot(amp.mean(axis=1), feet, 1))
    read = read_noise if photons_per_unit is not None else 0.0
    noise_map = np.sqrt(read ** 2 + (mean_img if photons_per_unit is not None else 0.0))
    return SyntheticMovie(
        movie=movie, footprints=feet, traces=traces.astype(np.float32), spikes=spikes.astype(np.float32),
        spike_counts=counts, baselines=baselines, g=g, centers=centers,
        background=((gain * illum * bg_mean)[None].astype(np.float32),
                    (bleaching * (dense_tc.mean(axis=0) / max(dense_tc.mean(), 1e-12)))[None].astype(np.float32)),
        shifts=(-disp).astype(np.float32), noise_sigma=float(read), noise_map=noise_map.astype(np.float32),
        frame_rate=float(frame_rate), motion=motion, active=active, radii=radii,
        bleaching=bleaching.astype(np.float32), indicator=indicator, _deform=deform)


def _values_at_knots(coeffs, knots):
    """Values of a cubic-spline image (given by its coefficients) at integer knots."""
    # At a knot a cubic B-spline has weights 1/6, 4/6, 1/6 along each axis.
    w = np.array([1.0, 4.0, 1.0]) / 6.0
    vals = ndimage.correlate1d(ndimage.correlate1d(coeffs, w, axis=0, mode="nearest"), w, axis=1,
                               mode="nearest")
    return vals[knots]

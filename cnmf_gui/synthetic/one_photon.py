"""A synthetic one-photon (miniscope) movie with ground truth (issue 13).

What makes one-photon data hard, made the way a microendoscope makes it: in-focus somata
(elliptical, blurred, some overlapping) under out-of-focus fluorescence several times brighter
than their resting level (``background_ratio``, 3-30) that fluctuates on its own (many large
blurred out-of-focus cells firing with slow kinetics, plus a slow global haze), dark blood
vessels, vignetting fixed to the sensor, bleaching of everything, rigid brain motion, photon
shot noise and read noise, and 8-bit output like a miniscope's camera.

Scale: in-focus cells rest at ``resting`` counts at their peak pixel; the background averages
``background_ratio * resting``; each cell's largest response is ``peak_ratio`` times its resting
level (``background_ratio / peak_ratio`` tells how the background compares with the responses).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from cnmf_gui.synthetic.footprints import place_centers
from cnmf_gui.synthetic.kinetics import bursty_spike_counts, indicator_traces
from cnmf_gui.synthetic.motion import rigid_trajectory
from cnmf_gui.synthetic.truth import SyntheticMovie

__all__ = ["make_one_photon_movie"]


def _soma(rng, shape, center, radius):
    """Blurred elliptical soma, peak 1, cut below 2 % (the footprint of an in-focus cell)."""
    H, W = shape
    R = int(math.ceil(2.2 * radius))
    r0, c0 = int(round(center[0])), int(round(center[1]))
    rr, cc = np.mgrid[max(r0 - R, 0):min(r0 + R + 1, H), max(c0 - R, 0):min(c0 + R + 1, W)]
    theta = rng.uniform(0, math.pi)
    ecc = rng.uniform(0.75, 1.0)
    dr, dc = rr - center[0], cc - center[1]
    u = dr * math.cos(theta) + dc * math.sin(theta)
    v = -dr * math.sin(theta) + dc * math.cos(theta)
    sigma = radius / 1.4
    prof = np.exp(-(u ** 2 / (2 * sigma ** 2) + v ** 2 / (2 * (sigma * ecc) ** 2)))
    prof[prof < 0.02] = 0.0
    img = np.zeros(shape, np.float32)
    img[rr, cc] = prof
    return img


def _vessels(rng, shape, n_vessels):
    """Absorption (0..~0.5) of a few meandering vessels of 2-6 px width."""
    H, W = shape
    mask = np.zeros(shape, np.float32)
    for _ in range(n_vessels):
        r, c = rng.uniform(0, H), rng.uniform(0, W)
        angle = rng.uniform(0, 2 * math.pi)
        width = rng.uniform(2.0, 6.0)
        strength = rng.uniform(0.25, 0.5)
        pts = []
        for _ in range(int(2 * (H + W))):
            angle += rng.normal(0, 0.08)
            r, c = r + math.sin(angle), c + math.cos(angle)
            if not (-10 <= r < H + 10 and -10 <= c < W + 10):
                break
            pts.append((r, c))
        line = np.zeros(shape, np.float32)
        for r, c in pts:
            if 0 <= r < H and 0 <= c < W:
                line[int(r), int(c)] = 1.0
        line = ndimage.gaussian_filter(line, width / 2.5)
        mask = np.maximum(mask, strength * np.clip(line / max(line.max(), 1e-9), 0, 1))
    return mask


def _smooth(rng, T, sigma):
    x = ndimage.gaussian_filter1d(rng.standard_normal(T + int(6 * sigma)), sigma)[int(3 * sigma):][:T]
    return x / max(np.abs(x).max(), 1e-9)


def make_one_photon_movie(n_frames: int = 2000, shape: tuple[int, int] = (256, 256), n_neurons: int = 60,
                          background_ratio: float = 6.0, peak_ratio: float = 8.0, resting: float = 12.0,
                          radius_range: tuple[float, float] = (4.5, 6.5), min_distance: float = 1.6,
                          n_out_of_focus: int | None = None, n_vessels: int = 3, vignetting: float = 0.4,
                          bleaching: float = 0.1, motion_px: float = 3.0, read_noise: float = 1.5,
                          frame_rate: float = 20.0, indicator: str = "GCaMP6f", seed: int = 0) -> SyntheticMovie:
    """A one-photon movie (uint8) and its truth.

    Parameters
    ----------
    n_frames : int
    shape : (H, W)
    n_neurons : int
        In-focus cells (all active).
    background_ratio : float
        Mean background over the cells' resting brightness (3-30).
    peak_ratio : float
        A cell's largest response over its resting brightness.
    resting : float
        Resting brightness of a cell at its centre, counts (photons).
    radius_range : (float, float)
        Soma radius, px.
    min_distance : float
        Closest centre-to-centre distance in radii (below 2: cells overlap).
    n_out_of_focus : int, optional
        Out-of-focus cells making the fluctuating background (default 3 per in-focus cell).
    n_vessels : int
    vignetting : float
        Relative drop of the illumination at the corners.
    bleaching : float
        Fraction of the fluorescence lost over the recording.
    motion_px : float
        Largest rigid displacement, px.
    read_noise : float
        Gaussian read noise, counts.
    frame_rate : float
        Hz.
    indicator : str
        Kinetics of the in-focus cells (see ``synthetic.kinetics.INDICATORS``).
    seed : int

    Returns
    -------
    SyntheticMovie
        ``movie`` is uint8 (T, H, W); ``traces`` are the cells' responses in counts at their
        centre pixel before vignetting and bleaching; ``background`` is (mean image (1, H, W),
        bleaching (1, T)).
    """
    rng = np.random.default_rng(seed)
    T = int(n_frames)
    H, W = (int(s) for s in shape)
    pad = int(math.ceil(motion_px)) + 2
    Hp, Wp = H + 2 * pad, W + 2 * pad
    # ---- in-focus cells (motion-free coordinates of the padded canvas)
    radii_all = rng.uniform(*radius_range, size=n_neurons)
    centers = place_centers(rng, n_neurons, (H, W), margin=radius_range[1], min_distance=min_distance * radii_all)
    K = len(centers)
    radii = radii_all[:K]
    feet = np.stack([_soma(rng, (Hp, Wp), c + pad, r) for c, r in zip(centers, radii)]) if K \
        else np.zeros((0, Hp, Wp), np.float32)
    counts = np.stack([bursty_spike_counts(rng, T, frame_rate, rng.uniform(0.05, 0.4)) for _ in range(K)]) \
        if K else np.zeros((0, T), int)
    calcium, spikes, g, _ = indicator_traces(rng, counts, frame_rate, indicator)
    amp = resting * peak_ratio * rng.uniform(0.6, 1.2, K) / np.maximum(calcium.max(axis=1), 1e-9)
    traces = (calcium * amp[:, None]).astype(np.float32)
    spikes = (spikes * amp[:, None]).astype(np.float32)
    A = sp.csr_matrix(feet.reshape(K, -1).T, dtype=np.float32)                    # (Hp*Wp, K)
    # ---- out-of-focus cells: blurred 3-8 cell radii (tens of micrometres out of the focal plane), slow kinetics
    n_oof = 3 * max(K, 10) if n_out_of_focus is None else int(n_out_of_focus)
    oof_c = place_centers(rng, n_oof, (Hp, Wp), margin=0, min_distance=0)
    sig = rng.uniform(15.0, 40.0, len(oof_c))
    oof_s = np.empty((len(oof_c), Hp * Wp), np.float32)
    for i, ((r, c), s) in enumerate(zip(oof_c, sig)):      # separable Gaussians
        oof_s[i] = np.outer(np.exp(-(np.arange(Hp) - r) ** 2 / (2 * s ** 2)),
                            np.exp(-(np.arange(Wp) - c) ** 2 / (2 * s ** 2))).ravel()
    oof_counts = np.stack([bursty_spike_counts(rng, T, frame_rate, rng.uniform(0.05, 0.3)) for _ in oof_c])
    oof_t = indicator_traces(rng, oof_counts, frame_rate, "GCaMP6s")[0]
    oof_t = ndimage.gaussian_filter1d(oof_t, 2.0, axis=1).astype(np.float32)
    # ---- static background: smooth autofluorescence, scaled with the fluctuating part to the
    # requested mean; the out-of-focus activity is about a quarter of the background's level
    static = ndimage.gaussian_filter(rng.standard_normal((Hp, Wp)), 30)
    static = 1.0 + 0.6 * static / max(np.abs(static).max(), 1e-9)
    level = background_ratio * resting
    oof_mean = (oof_s.T @ oof_t.mean(axis=1)).reshape(Hp, Wp)
    oof_scale = 0.25 * level / max(oof_mean.mean(), 1e-9)
    static = (static * (level - oof_scale * oof_mean.mean()) / static.mean()).astype(np.float32)
    haze = 1.0 + 0.05 * _smooth(rng, T, 10 * frame_rate)
    vessels = (1.0 - _vessels(rng, (Hp, Wp), n_vessels)).astype(np.float32)
    # ---- optics fixed to the sensor and time courses of the whole scene
    vr, vc = np.mgrid[:H, :W]
    d2 = ((vr - (H - 1) / 2) / (H / 2)) ** 2 + ((vc - (W - 1) / 2) / (W / 2)) ** 2
    vign = (1.0 - vignetting * d2 / 2).astype(np.float32)
    bleach = (1.0 - bleaching) ** (np.arange(T) / max(T - 1, 1))
    disp = rigid_trajectory(rng, T, frame_rate, motion_px) if motion_px > 0 else np.zeros((T, 2))
    movie = np.empty((T, H, W), np.uint8)
    clipped = 0
    for a in range(0, T, 100):
        b = min(a + 100, T)
        neur = np.asarray(A @ (resting + traces[:, a:b])).T.reshape(-1, Hp, Wp) if K else 0.0
        bg = (np.float32(oof_scale) * (oof_t[:, a:b].T @ oof_s)).reshape(-1, Hp, Wp) + static[None]
        scene = (bg * haze[a:b, None, None].astype(np.float32) + neur) * vessels[None]
        expected = np.empty((b - a, H, W), np.float32)
        for i, t in enumerate(range(a, b)):
            expected[i] = ndimage.shift(scene[i], disp[t], order=1, mode="nearest")[pad:pad + H, pad:pad + W]
        expected *= vign[None] * bleach[a:b, None, None].astype(np.float32)
        # shot noise (Poisson; at tens of photons and more, a Gaussian of the same variance) and
        # read noise, then the camera's 8 bits
        np.maximum(expected, 0, out=expected)
        noise = rng.standard_normal(expected.shape, dtype=np.float32)
        noise *= np.sqrt(expected + np.float32(read_noise ** 2))
        expected += noise
        clipped += int((expected > 255).sum())
        np.clip(np.rint(expected, out=expected), 0, 255, out=expected)
        movie[a:b] = expected
    mean_image = (static * vessels)[pad:pad + H, pad:pad + W] * vign
    noise_map = np.sqrt(np.maximum(mean_image, 0) + read_noise ** 2)
    return SyntheticMovie(
        movie=movie, footprints=feet[:, pad:pad + H, pad:pad + W].copy(), traces=traces, spikes=spikes,
        spike_counts=counts, baselines=np.full(K, float(resting)), g=g, centers=centers,
        background=(mean_image[None].astype(np.float32), bleach[None].astype(np.float32)),
        shifts=(-disp).astype(np.float32), noise_sigma=float(read_noise), noise_map=noise_map.astype(np.float32),
        frame_rate=float(frame_rate), motion="rigid" if motion_px > 0 else None, active=np.ones(K, bool),
        radii=radii, bleaching=bleach.astype(np.float32), indicator=indicator)

"""The soma radius is estimated from the images: known radii of discs, rings and real-like scenes."""

import numpy as np
import pytest

from cnmf_gui.engine.neuron_size import FALLBACK_RADIUS, estimate_neuron_radius, find_blobs


def _scene(radius, n=30, shape=(128, 128), ring=False, specks=0, seed=0):
    """Bright discs (or rings with a dark nucleus) of one radius on a noisy background, plus
    small bright specks (boutons) that must not outvote them."""
    rng = np.random.default_rng(seed)
    H, W = shape
    yy, xx = np.mgrid[:H, :W]
    img = rng.normal(0, 0.05, shape)
    placed = []
    while len(placed) < n:
        c = rng.uniform(radius + 2, [H - radius - 2, W - radius - 2])
        if all(np.hypot(*(c - p)) > 2.4 * radius for p in placed):
            placed.append(c)
        if len(placed) < n and rng.random() < 0.01:
            break
    for r0, c0 in placed:
        d = np.hypot(yy - r0, xx - c0)
        cell = 1.0 / (1.0 + np.exp((d - radius) / 0.4))          # soft-edged disc
        if ring:
            cell *= 1.0 - 0.6 * np.exp(-0.5 * (d / (0.4 * radius)) ** 2)
        img += rng.uniform(0.6, 1.2) * cell
    for _ in range(specks):
        r0, c0 = rng.uniform(0, H), rng.uniform(0, W)
        img += 0.8 * np.exp(-0.5 * ((yy - r0) ** 2 + (xx - c0) ** 2) / 0.8 ** 2)
    return img


@pytest.mark.parametrize("radius", [3.0, 5.0, 8.0])
def test_radius_of_discs_is_found(radius):
    img = _scene(radius, n=25 if radius < 6 else 12, shape=(128, 128) if radius < 6 else (160, 160))
    est = estimate_neuron_radius(img, img)
    assert abs(est - radius) <= 0.2 * radius, est


def test_rings_with_dark_nuclei_and_many_specks():
    img = _scene(6.0, n=15, ring=True, specks=60, seed=3)
    est = estimate_neuron_radius(img, img)
    assert 4.8 <= est <= 7.2, est


def test_blob_positions_and_scales():
    img = np.zeros((64, 64))
    yy, xx = np.mgrid[:64, :64]
    img[np.hypot(yy - 20, xx - 20) <= 4] = 1.0
    img[np.hypot(yy - 44, xx - 40) <= 7] = 1.0
    blobs = find_blobs(img)
    top = sorted(zip(blobs.rows[:2], blobs.cols[:2], blobs.radius[:2]), key=lambda b: b[2])
    assert np.allclose(top[0][:2], (20, 20), atol=1) and abs(top[0][2] - 4) < 0.6
    assert np.allclose(top[1][:2], (44, 40), atol=1) and abs(top[1][2] - 7) < 1.0


def test_blank_images_give_the_fallback():
    assert estimate_neuron_radius(np.zeros((40, 40)), np.zeros((40, 40))) == FALLBACK_RADIUS
    assert len(find_blobs(np.full((30, 30), 7.0))) == 0

"""Evaluation's memory: flat in the recording's length, bounded when footprints sprawl."""

import tracemalloc

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine import consistency
from cnmf_gui.engine.consistency import spatial_consistency, transient_frames
from cnmf_gui.engine.evaluation import evaluate
from cnmf_gui.params import EvalParams

H = W = 48
CENTRES = [(10, 10), (10, 30), (24, 20), (36, 12), (36, 36), (20, 40)]


def _model(n_frames, seed=0, stray=False):
    """Movie (T, H, W) float32 of Gaussian cells with AR(1) calcium, footprints A (H*W, K), C."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:H, :W]
    feet = np.stack([np.exp(-((yy - r) ** 2 + (xx - c) ** 2) / 8.0).ravel() for r, c in CENTRES], 1)
    feet[feet < 0.05] = 0
    if stray:      # faint pixels in two opposite corners: every bounding box is the whole field
        feet[[0, H * W - 1], :] = 1e-3
    spikes = rng.random((len(CENTRES), n_frames)) < 0.03
    C = np.zeros(spikes.shape)
    for t in range(n_frames):
        C[:, t] = (0.9 * C[:, t - 1] if t else 0) + spikes[:, t]
    movie = (feet @ C).T + 5.0 + rng.normal(0, 0.3, (n_frames, H * W))
    return movie.reshape(n_frames, H, W).astype(np.float32), sp.csc_matrix(feet), C


def _peak(fn):
    tracemalloc.start()
    try:
        out = fn()
        return out, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_evaluation_memory_does_not_grow_with_the_number_of_frames():
    peaks = []
    for T in (300, 1200):
        movie, A, C = _model(T)
        mean = movie.mean(axis=0)
        b = mean.reshape(-1, 1).astype(float)
        f = np.ones((1, T))
        sn = np.full(A.shape[1], 0.3)
        (metrics, _), peak = _peak(lambda: evaluate(movie, A, C, sn, mean, EvalParams(), b=b, f=f,
                                                    chunk_frames=50, demixed=True))
        assert np.all(metrics["r_value"] > 0.5)              # it measured something real
        peaks.append(peak)
    # 4x the frames: the same chunks and per-component sums; holding the movie or a
    # (pixels x frames) array would add 4 x 2.6 MB here
    assert peaks[1] < 1.25 * peaks[0], peaks


def test_sprawling_footprints_are_summed_in_bounded_passes_with_the_same_result(monkeypatch):
    movie, A, C = _model(400, seed=1, stray=True)
    mean = movie.mean(axis=0)
    (r_one, dem_one), peak_one = _peak(lambda: spatial_consistency(movie, A, C, mean, demixed=True,
                                                                   chunk_frames=64))
    # room for one sprawling box's sums at a time: six passes over the movie
    monkeypatch.setattr(consistency, "SUMS_BYTES", 8 * H * W)
    (r_many, dem_many), peak_many = _peak(lambda: spatial_consistency(movie, A, C, mean, demixed=True,
                                                                      chunk_frames=64))
    assert np.array_equal(r_one, r_many) and np.array_equal(dem_one, dem_many)
    box_sums = 8 * H * W * (len(CENTRES) - 1)           # what one pass held beyond the budget
    assert peak_many < peak_one - 0.6 * box_sums, (peak_one, peak_many)
    # known answer: Pearson correlation of footprint and the mean over transients on the box
    for k in range(A.shape[1]):
        fr = transient_frames(C[k])
        rows, cols = np.divmod(A[:, k].nonzero()[0], W)
        r0, r1 = max(rows.min() - 3, 0), min(rows.max() + 4, H)
        c0, c1 = max(cols.min() - 3, 0), min(cols.max() + 4, W)
        img = movie[fr].astype(float).mean(axis=0) - mean
        a = A[:, k].toarray().reshape(H, W)
        assert np.isclose(r_many[k], np.corrcoef(a[r0:r1, c0:c1].ravel(), img[r0:r1, c0:c1].ravel())[0, 1])


def test_silent_somata_footprints_are_not_held_as_dense_fields():
    from cnmf_gui.engine.silent_cells import find_silent_somata

    rng = np.random.default_rng(5)
    shape, n, r = (160, 160), 120, 4.0
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    cents = rng.uniform(2, np.array(shape) - 2, (n, 2))
    feet = np.stack([np.exp(-((yy - a) ** 2 + (xx - b) ** 2) / (2 * (r / 1.3) ** 2)).ravel() for a, b in cents], 1)
    feet[feet < 0.05] = 0
    img = (feet @ rng.uniform(0.5, 2, n)).reshape(shape) + 1 + 0.05 * rng.standard_normal(shape)
    A = sp.csc_matrix(feet[:, :n // 3])          # a third are active; the rest are silent somata
    new, peak = _peak(lambda: find_silent_somata(img, A, r))
    assert new.shape[1] >= 20
    norms = sp.linalg.norm(new, axis=0)
    assert np.allclose(norms, 1.0) and new.min() >= 0
    # the image and its few full-field companions (filters, masks), not a field per footprint
    field = img.nbytes
    assert peak < 12 * field < new.shape[1] * field, (peak / field, new.shape[1])

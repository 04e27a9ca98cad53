"""Issue 17 item 1 (engine part): seeding a missed cell recovers it.

Known answer: a synthetic movie whose model holds every true cell but one; seeding at the
missing cell's centre must give back its footprint (cosine >= 0.9) and trace (r >= 0.95), and
refit only the components that overlap the seed's disc.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from cnmf_gui.engine.seeding import seed_component
from cnmf_gui.synthetic import make_movie


def _model(m):
    A = np.stack([fp.ravel() for fp in m.footprints], 1)
    C = m.traces + m.baselines[:, None]
    bs, bt = m.background
    b = np.stack([x.ravel() for x in bs], 1)
    return A, C, b, bt


@pytest.mark.parametrize("seed", [0, 1])
def test_seed_recovers_dropped_cell(seed):
    m = make_movie(n_frames=400, shape=(64, 64), n_neurons=12, seed=seed)
    A, C, b, f = _model(m)
    K = A.shape[1]
    drop = 3
    keep = [k for k in range(K) if k != drop]
    centre = np.round(m.centers[drop]).astype(int)
    fit = seed_component(m.movie, sp.csc_matrix(A[:, keep]), C[keep], centre, 4.0, b=b, f=f)
    truth = A[:, drop]
    cos = fit.footprint @ truth / (np.linalg.norm(fit.footprint) * np.linalg.norm(truth))
    r = np.corrcoef(fit.trace, m.traces[drop])[0, 1]
    assert cos >= 0.9, cos
    assert r >= 0.95, r
    # Only components touching the 2-radius disc are refitted, on their own support.
    H, W = m.movie.shape[1:]
    rr, cc = np.ogrid[:H, :W]
    disc = (((rr - centre[0]) ** 2 + (cc - centre[1]) ** 2) <= 8.0 ** 2).ravel()
    expected = [i for i, k in enumerate(keep) if A[disc, k].any()]
    assert list(fit.overlapping) == expected
    for j, i in enumerate(fit.overlapping):
        assert np.all(fit.overlap_footprints[A[:, keep[i]] == 0, j] == 0)
        # An overlapping true cell keeps its identity after the joint refit.
        assert np.corrcoef(fit.overlap_traces[j], C[keep[i]])[0, 1] > 0.9


def test_seed_outside_field_is_refused():
    m = make_movie(n_frames=50, shape=(32, 32), n_neurons=2, seed=0)
    A, C, b, f = _model(m)
    with pytest.raises(ValueError, match="outside"):
        seed_component(m.movie, sp.csc_matrix(A), C, (40, 3), 4.0, b=b, f=f)

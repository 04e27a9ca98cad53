"""Online CNMF engine (issue 14): exact online deconvolution, known-answer detection, a cell that
appears after initialisation, bounded memory, and agreement with the batch pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from cnmf_gui.engine.deconvolution.ar1 import pav_ar1
from cnmf_gui.engine.online import OnlineCNMF, run_online, to_session_data
from cnmf_gui.engine.online.deconv import OnlineAR1
from cnmf_gui.params import PipelineParams
from cnmf_gui.synthetic import make_movie


def _batch_penalised(y, g, lam, b):
    """The batch pool-merging solver on the online objective (the last frame's penalty is
    lam (1 - g) like every other frame's: the batch solver gives it lam, so add lam g to y)."""
    y = np.array(y, float)
    y[-1] += lam * g
    P = np.zeros((len(y), 8))
    n = pav_ar1(y, g, lam, b, P)
    c = np.zeros(len(y))
    for i in range(n):
        s, L = int(P[i, 0]), int(P[i, 1])
        c[s:s + L] = max(P[i, 7] / P[i, 6], 0.0) * g ** np.arange(L)
    return c


@pytest.mark.parametrize("pool_limit", [16, 4096])
def test_online_pool_merging_is_the_batch_optimum_at_every_frame(pool_limit):
    rng = np.random.default_rng(3)
    T, g, b, lam = 400, 0.92, 0.5, 0.3
    spikes = (rng.random(T) < 0.04) * rng.exponential(2.0, T)
    c = np.zeros(T)
    for t in range(T):
        c[t] = (g * c[t - 1] if t else 0.0) + spikes[t]
    y = c + b + 0.3 * rng.standard_normal(T)
    online = OnlineAR1([g], [b], [lam], [0.3], [0.0], pool_limit=pool_limit)
    C = np.zeros((1, T), np.float32)
    S = np.zeros((1, T), np.float32)
    for t in range(T):
        now = online.step(y[t:t + 1], t, C, S)
        if t in (50, 199, T - 1):
            ref = _batch_penalised(y[:t + 1], g, lam, b)
            assert now[0] == pytest.approx(ref[t], abs=1e-6)   # the newest value, before finishing
    online.finish(C, S)
    ref = _batch_penalised(y, g, lam, b)
    assert np.max(np.abs(C[0] - ref)) < 1e-5
    # S is G C
    assert np.allclose(S[0][1:], C[0][1:] - g * C[0][:-1], atol=1e-5)
    assert np.corrcoef(C[0], c)[0, 1] > 0.95


def _score(A, truth, sel=None):
    from benchmarks.scoring import detection_scores, match_components
    A = A if sel is None else A[:, sel]
    pairs, _ = match_components(A, truth.footprints, np.full(len(truth.footprints), 4.0))
    active = truth.spike_counts.sum(axis=1) > 0
    return pairs, detection_scores(pairs, A.shape[1], active)


@pytest.fixture(scope="module")
def movie():
    return make_movie(n_frames=600, shape=(64, 64), n_neurons=8, seed=4)


def _params(**online):
    p = PipelineParams(frame_rate=30.0).replace("motion", enabled=False).replace("init", neuron_radius=4.0)
    return p.replace("online", init_frames=200, update_every=100, **online)


def test_online_finds_the_cells_and_their_traces(movie):
    out = run_online(iter(movie.movie), _params())
    comps = out.data.components
    assert out.stopped is None and out.data.movie_shape == (600, 64, 64)
    assert comps.C.shape == (comps.n_components, 600)
    pairs, det = _score(comps.A, movie)
    assert det["recall"] >= 0.85
    r = [np.corrcoef(comps.C[i], movie.traces[j])[0, 1] for i, j in pairs]
    assert np.median(r) > 0.9
    assert len(out.latency) == 400


def _with_new_cell(movie, shape_of):
    """The movie with one more cell, silent for the first 250 frames and firing after, placed
    away from the others; ``shape_of(dy, dx)`` gives its footprint from the offsets (H, W) to
    its centre. Returns frames, footprint (H, W) and trace (T,)."""
    rng = np.random.default_rng(11)
    frames = movie.movie.copy()
    T, H, W = frames.shape
    taken = movie.centers
    spots = [(r, c) for r in range(8, H - 8, 2) for c in range(8, W - 8, 2)
             if np.min(np.hypot(taken[:, 0] - r, taken[:, 1] - c)) > 12]
    row, col = spots[len(spots) // 2]
    yy, xx = np.mgrid[:H, :W]
    blob = shape_of(yy - row, xx - col)
    trace = np.zeros(T)
    spikes = np.zeros(T)
    spikes[250:][rng.random(T - 250) < 0.04] = 1.0
    for t in range(1, T):
        trace[t] = 0.9 * trace[t - 1] + spikes[t]
    frames += (trace[:, None, None] * blob * 2.0).astype(np.float32)
    return frames, blob, trace


def test_a_cell_that_appears_after_initialisation_becomes_a_component(movie):
    """A new cell, silent during initialisation, fires later: it is found in the residual buffer,
    with its footprint where it is and its trace following the injected one."""
    frames, blob, trace = _with_new_cell(movie, lambda dy, dx: np.exp(-(dy ** 2 + dx ** 2) / (2 * 2.5 ** 2)))
    run = OnlineCNMF(_params())
    run.initialize(frames[:200])
    k0 = run.n_components
    for f in frames[200:]:
        run.process(f)
    assert run.added, "no component was added"
    data = to_session_data(run)
    A = data.components.A.toarray()
    cos = blob.ravel() @ A / np.linalg.norm(blob) / np.maximum(np.linalg.norm(A, axis=0), 1e-12)
    k = int(np.argmax(cos))
    assert k >= k0 and cos[k] > 0.8
    assert np.corrcoef(data.components.C[k, 260:], trace[260:])[0, 1] > 0.8


def test_a_component_found_online_meets_the_batch_shape_rules(movie):
    """A source twice as long as it is wide (a stretch of process, not a soma) that fires after
    initialisation is added by the search (its compactness passes), and the final status gives
    it the batch review's doubt, "elongated", from its footprint at the end: a component found
    online has no shape measures of its own until the results are made."""
    def oval(dy, dx):                 # semi-axes 7.5 and 3 px, flat top, soft edge
        rho = np.hypot(dy / 7.5, dx / 3.0)
        return 1.0 / (1.0 + np.exp((rho - 1.0) / 0.08))

    frames, blob, _ = _with_new_cell(movie, oval)
    out = run_online(iter(frames), _params())
    comps = out.data.components
    A = comps.A.toarray()
    cos = blob.ravel() @ A / np.linalg.norm(blob) / np.maximum(np.linalg.norm(A, axis=0), 1e-12)
    k = int(np.argmax(cos))
    assert cos[k] > 0.8
    assert comps.metrics["elongation"][k] > 2.0
    assert comps.status[k] == 0 and comps.reason[k].startswith("elongated")
    # the cells of the movie keep their status: round, so still accepted
    pairs, _ = _score(comps.A, movie)
    assert np.mean(comps.status[pairs[:, 0]] == 1) >= 0.85


def test_memory_apart_from_traces_does_not_grow(movie):
    run = OnlineCNMF(_params(max_new=0))
    run.initialize(movie.movie[:200])
    st = run.state

    def fixed_bytes():
        arrays = [st.U, st.Ub, st.V, st.c, st.hals_ring, st.now_ring, st.buffer.frames,
                  st.buffer.smooth, st.deconv.pools, st.a_vals, run.sum, run.max]
        return sum(a.nbytes for a in arrays)

    for f in movie.movie[200:300]:
        run.process(f)
    before = fixed_bytes()
    for f in movie.movie[300:600]:
        run.process(f)
    assert fixed_bytes() == before
    assert st.traces.F.shape[1] < 2 * 600 + 1024   # traces: amortised doubling only


def test_the_residual_of_a_patch_is_the_buffered_frames_minus_every_component(movie):
    """The search's full-resolution residual, made from the buffered frames and traces with the
    footprints near the patch only, equals y - A c - b f with every footprint; the binned
    residual each frame adds to the ring is the same residual binned."""
    run = OnlineCNMF(_params())
    run.initialize(movie.movie[:200])
    for f in movie.movie[200:258]:           # the last frame is not a search's (a new component
        run.process(f)                        # would be in A but not in that frame's binned residual)
    st = run.state
    assert st.t % st.params.search_every
    order = st.buffer.order()
    K = st.K
    A = st._Acols.matrix("data").toarray().astype(float)        # what the frames are demixed on
    full = st.buffer.frames[order].astype(float) - st.hals_ring[order][:, :K] @ A.T \
        - st.hals_ring[order][:, K:] @ st.b.T
    H, W = st.shape
    for rows, cols in ((np.arange(10, 30), np.arange(5, 22)), (np.arange(0, 9), np.arange(50, 64))):
        box = (rows[:, None] * W + cols[None, :]).ravel()
        assert np.allclose(st.residual_patch(rows, cols), full[:, box], rtol=1e-9, atol=1e-6)
    # the newest frame's binned residual, as the step made it
    newest = order[-1]
    assert np.allclose(st._rbin, st._binning @ full[-1], atol=1e-3 * np.abs(full[-1]).max())
    assert np.allclose(st.buffer.smooth[newest], st.buffer._smoothed(full[-1].reshape(H, W)),
                       atol=1e-3 * np.abs(full[-1]).max())

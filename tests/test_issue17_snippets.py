"""Issue 17 item 3: event snippets show a true cell lighting up in its own footprint.

On a realistic synthetic movie (cells, a neuropil with its own time courses, photon noise; no
motion), the snippets of the true cells' top events have a higher in-footprint/outside contrast
than those of a neuropil component (a broad footprint away from every cell, its trace the movie
there, deconvolved like any other). The window shows them for the selected component.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from cnmf_gui.engine.redeconvolve import redeconvolve_rows
from cnmf_gui.engine.snippets import event_snippets, footprint_contrast, impulse_peak, top_events
from cnmf_gui.params import PipelineParams
from cnmf_gui.synthetic import make_realistic_movie
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401


def test_top_events_are_the_largest_apart_and_inside():
    s = np.zeros(100)
    s[[5, 30, 32, 60, 98]] = [9, 5, 4, 3, 8]
    # 5 and 98 leave no room for the window; 32 is too close to 30.
    assert top_events(s, 3, separation=10, before=10, after=10).tolist() == [30, 60]


def test_impulse_peak_is_the_calcium_response_to_one_unit_of_s():
    assert impulse_peak([0.95]) == 1.0 and impulse_peak(np.zeros(0)) == 1.0 and impulse_peak([0.9, 0.0]) == 1.0
    # AR(2) with roots d (decay) and r (rise): h_t = (d^(t+1) - r^(t+1)) / (d - r).
    for d, r in [(0.99, 0.8), (0.95, 0.5), (0.999, 0.9)]:
        t = np.arange(20000)
        h = (d ** (t + 1) - r ** (t + 1)) / (d - r)
        assert impulse_peak([d + r, -d * r]) == pytest.approx(h.max(), rel=1e-9)


def test_events_below_the_noise_floor_are_not_shown():
    # One large event and five small ones on an AR(2) trace with unit noise: only the large one
    # (response 20 noise SDs) is seen; the small ones (response 1 SD) are not.
    T, fs = 600, 30
    movie = np.random.default_rng(0).normal(size=(T, 16, 16)).astype(np.float32)
    fp = np.zeros((16, 16))
    fp[5:11, 5:11] = 1
    g = [0.99 + 0.8, -0.99 * 0.8]
    gain = impulse_peak(g)
    s = np.zeros(T)
    s[[100, 170, 330, 410, 490]] = 1.0 / gain
    s[250] = 20.0 / gain
    snip = event_snippets(movie, fp.ravel(), s, before=fs, after=2 * fs, noise=1.0, g=g)
    assert snip.frames.tolist() == [250]
    # Without a noise level every event of S is shown, largest first.
    every = event_snippets(movie, fp.ravel(), s, before=fs, after=2 * fs)
    assert every.frames[0] == 250 and every.n_events == 6
    # An AR(1) trace's S is its jump: 20 SDs shown, 1 SD not.
    assert event_snippets(movie, fp.ravel(), s * gain, before=fs, after=2 * fs, noise=1.0, g=[0.95]).n_events == 1


@pytest.mark.parametrize("seed", [1, 2])
def test_true_cells_light_up_in_their_footprint_and_neuropil_does_not(seed):
    m = make_realistic_movie(n_frames=900, shape=(64, 64), n_cells=10, motion_px=0.0, firing_rate=0.5,
                             seed=seed)
    fs = m.frame_rate
    before, after = int(fs), int(2 * fs)
    cells = []
    for k in np.flatnonzero(m.active):
        snip = event_snippets(m.movie, m.footprints[k].ravel(), m.spikes[k], before=before, after=after)
        if snip.n_events >= 3:
            assert snip.crops.shape == (snip.n_events, before + 1 + after) + snip.footprint.shape
            np.testing.assert_allclose(snip.average, snip.crops.mean(axis=0), atol=1e-5)
            cells.append(footprint_contrast(snip))
    assert len(cells) >= 3
    # Neuropil: a broad footprint where no cell is, its trace the movie there.
    H, W = m.movie.shape[1:]
    cells_map = m.footprints.sum(axis=0)
    far = ndimage.distance_transform_edt(cells_map < 0.05 * cells_map.max())
    r, c = np.unravel_index(np.argmax(far), far.shape)
    rr, cc = np.mgrid[:H, :W]
    fp = np.exp(-((rr - r) ** 2 + (cc - c) ** 2) / (2 * 6.0 ** 2))
    trace = m.movie.reshape(m.movie.shape[0], -1) @ fp.ravel() / fp.sum()
    spikes = redeconvolve_rows(trace[None], None, None, 0.0, PipelineParams().deconvolution).s[0]
    neuropil = footprint_contrast(event_snippets(m.movie, fp.ravel(), spikes, before=before, after=after))
    assert np.median(cells) > 3 * max(neuropil, 0.1), (cells, neuropil)
    assert np.mean(np.array(cells) > neuropil) >= 0.75, (cells, neuropil)


def test_session_snippets_follow_the_frame_rate_and_cache():
    from cnmf_gui.session import Session
    from cnmf_gui.session.snippets import contrast, event_snippets as session_snippets
    from cnmf_gui.synthetic import make_session

    data, synth = make_session(n_frames=300, shape=(48, 48), n_neurons=6, seed=3)
    s = Session()
    s.set_data(data, movie=synth.movie)
    cid = int(s.ids[0])
    snip = session_snippets(s, cid)
    assert snip.before == int(round(s.frame_rate)) and snip.crops.shape[1] == 3 * snip.before + 1
    assert session_snippets(s, cid) is snip                   # cached while nothing changed
    assert contrast(s, cid) == footprint_contrast(snip)
    # The crop holds the footprint, the events are the largest of S.
    assert np.isclose(snip.footprint.sum(), s.components.A[:, 0].sum())
    np.testing.assert_array_equal(snip.amplitudes, s.components.S[0][snip.frames])
    assert np.all(np.diff(snip.amplitudes) <= 0)
    # only events whose response is at least 3 noise SDs of the trace
    k0 = s.index_of(cid)
    gain = impulse_peak(s.components.g[k0])
    assert np.all(snip.amplitudes * gain >= 3 * s.components.sn[k0])
    s.reject([cid])
    assert session_snippets(s, cid) is not snip               # an edit: computed again


def test_snippets_dock_plays_the_selected_components_events(qtbot, window):  # noqa: F811
    w = window
    s = w.session
    dock = w.docks["snippets"]
    dock.show()
    dock.raise_()
    # The component with the most events the 1 s + 2 s window fits around (a 200-frame movie).
    inside = [(s.components.S[k, 30:-60] > 0).sum() for k in range(s.n_components)]
    cid = int(s.ids[int(np.argmax(inside))])
    s.select([cid])
    view = w.snippets
    qtbot.waitUntil(lambda: view.snippets is not None, timeout=5000)
    n = view.snippets.n_events
    assert n >= 1 and len(view.boxes) == n + 1              # the average and one panel per event
    assert f"Component {cid}" in view.title.text() and "inside/outside" in view.title.text()
    assert view.playing
    shown = view._t
    qtbot.waitUntil(lambda: view._t != shown, timeout=2000)  # it loops
    # The average panel shows the event-triggered average of the crops at the current frame.
    np.testing.assert_allclose(view.boxes[0][1].image, view.snippets.average[view._t])
    view.play_box.setChecked(False)
    assert not view.playing
    s.select([])
    qtbot.waitUntil(lambda: view.snippets is None and not view.boxes, timeout=2000)

"""Curating a one-photon (ring background) session: the seed fits the missed cell, not the
out-of-focus haze, and merge/seed metrics are measured on the movie with the ring background
removed, as the pipeline's own metrics are."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from benchmarks.scoring import match_components
from cnmf_gui.cli import main
from cnmf_gui.io import load_session
from cnmf_gui.session import Session
from tests.test_issue17_seed_session import _drop
from cnmf_gui.session.merge import merged_metrics
from cnmf_gui.synthetic.one_photon import make_one_photon_movie


@pytest.fixture(scope="module")
def ring_session(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onep_curation")
    synth = make_one_photon_movie(n_frames=500, shape=(80, 80), n_neurons=9, background_ratio=10.0,
                                  motion_px=0.0, seed=5)
    path = folder / "miniscope.npy"
    np.save(path, synth.movie)
    out = folder / "s.h5"
    assert main(["run", str(path), "--out", str(out), "--preset", "one-photon", "--fs", "20", "--quiet"]) == 0
    return load_session(out), synth



def _session(data, synth):
    s = Session()
    s.set_data(data, movie=synth.movie)
    return s


def test_seed_in_a_ring_session_fits_the_missed_cell(ring_session):
    data, synth = ring_session
    assert data.background.model == "ring"
    comps = data.components
    pairs, _ = match_components(comps.A, synth.footprints, synth.radii)
    k, true = pairs[0]                     # a cell the run found: take it out, then seed it back
    s = _session(dataclasses.replace(data, components=_drop(comps, k)), synth)
    offset = np.zeros(2) if data.motion is None else np.median(data.motion.shifts, axis=0)
    row, col = np.round(synth.centers[true] + offset).astype(int)
    new_id = s.seed(int(row), int(col))
    after = s.components
    j = int(np.flatnonzero(after.ids == new_id)[0])
    a = after.A[:, j].toarray().ravel()
    pairs_after, _ = match_components(sp.csc_matrix(a[:, None]), synth.footprints, synth.radii)
    assert [int(p[1]) for p in pairs_after] == [int(true)]     # the same cell, not the haze
    r = np.corrcoef(after.C[j], synth.traces[true])[0, 1]
    assert r >= 0.9, r
    # its metrics look like the other cells' (the pipeline's), not like the background's
    assert after.metrics["r_value"][j] >= np.percentile(comps.metrics["r_value"], 10) - 0.1
    assert after.metrics["snr"][j] >= 0.5 * np.median(comps.metrics["snr"])


def test_merge_metrics_in_a_ring_session_are_the_pipelines(ring_session):
    """The metrics an edit gives a component are those the pipeline gave it: the same movie
    (ring background removed) and mean image (without b0)."""
    data, synth = ring_session
    s = _session(data, synth)
    comps = data.components
    for k in range(min(4, comps.n_components)):
        got = merged_metrics(s, comps.A[:, [k]].tocsc(), comps.C[k], float(comps.sn[k]))
        assert got["r_value"] == pytest.approx(comps.metrics["r_value"][k], abs=0.02), k
        assert got["snr"] == pytest.approx(comps.metrics["snr"][k], rel=0.05), k


def test_merging_two_ring_components_keeps_the_background_out_of_the_dff(ring_session):
    data, synth = ring_session
    s = _session(data, synth)
    ids = [int(i) for i in data.components.ids[:2]]
    new_id = s.merge(ids)
    after = s.components
    j = int(np.flatnonzero(after.ids == new_id)[0])
    assert np.isfinite(after.metrics["r_value"][j])
    # dF/F's denominator includes the bright ring constant b0 under the footprint: small dF/F
    assert np.nanmax(after.dff[j]) < 2 * max(np.nanmax(data.components.dff[:2]), 1e-6)


def test_nwb_export_of_a_ring_session(ring_session, tmp_path):
    """The components, traces and summary images go to NWB as for two-photon; NWB has no type for
    the ring model (W, b0), so no background segmentation is written (the session file keeps it)."""
    pynwb = pytest.importorskip("pynwb")
    from cnmf_gui.io.export_nwb import export_nwb

    data, _ = ring_session
    comps = data.components
    out = export_nwb(data, tmp_path / "ring.nwb", include_all=True)
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        ophys = io.read().processing["ophys"]
        ps = ophys["ImageSegmentation"]["PlaneSegmentation"]
        assert list(ps["component_id"][:]) == list(comps.ids)
        assert "Background" not in ophys["ImageSegmentation"].plane_segmentations
        np.testing.assert_array_equal(ophys["Fluorescence"]["C"].data[:], comps.C.T)
        np.testing.assert_array_equal(ophys["DfOverF"]["dff"].data[:], comps.dff.T)
        np.testing.assert_array_equal(ophys["SummaryImages"]["pnr"].data[:], data.summary.pnr.T)

"""NWB export: read back with pynwb (counts, shapes, statuses, traces equal) and nwbinspector."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp

pynwb = pytest.importorskip("pynwb")

from cnmf_gui.errors import UserError  # noqa: E402
from cnmf_gui.io.export_nwb import export_nwb  # noqa: E402
from cnmf_gui.params import PipelineParams  # noqa: E402
from cnmf_gui.results import Background, Components, MotionResult, SessionData, SummaryImages  # noqa: E402


def _session(K=4, T=40, H=6, W=5, seed=5):
    rng = np.random.default_rng(seed)
    A = sp.random(H * W, K, density=0.3, random_state=seed, format="csc")
    comps = Components(A=A, C=rng.random((K, T)).astype(np.float32), S=rng.exponential(size=(K, T)),
                       F=rng.normal(size=(K, T)), dff=rng.normal(size=(K, T)), baseline=rng.random(K),
                       sn=rng.random(K), epsilon=np.zeros(K), g=rng.random((K, 1)),
                       status=np.array([1, -1, 0, 2]), ids=np.array([7, 12, 3, 40]),
                       reason=np.array(["", "duplicate of 7", "", "no events"]),
                       metrics={"snr": rng.random(K) * 10})
    img = lambda: rng.random((H, W)).astype(np.float32)  # noqa: E731
    return SessionData(movie_path=None, movie_shape=(T, H, W), frame_rate=15.0, components=comps,
                       summary=SummaryImages(mean=img(), max=img(), correlation=img(), pnr=img()),
                       motion=MotionResult(shifts=rng.normal(size=(T, 2)).astype(np.float32), template=img()),
                       params=PipelineParams(),
                       background=Background(b=rng.random((H * W, 2)), f=rng.random((2, T))),
                       curation_log=[json.dumps({"seq": 1, "time": 3.5, "op": "accept", "ids": [7]}),
                                     json.dumps({"seq": 2, "time": 4.0, "op": "merge", "ids": [3, 12],
                                                 "new_id": 41})])


@pytest.mark.parametrize("include_all", [False, True])
def test_round_trip(tmp_path, include_all):
    data = _session()
    out = export_nwb(data, tmp_path / "s.nwb", include_all=include_all,
                     metadata={"indicator": "GCaMP6f", "location": "V1", "excitation_lambda": 920.0})
    keep = np.arange(4) if include_all else np.array([0])
    comps = data.components
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        ophys = nwb.processing["ophys"]
        ps = ophys["ImageSegmentation"]["PlaneSegmentation"]
        assert len(ps) == len(keep)
        assert list(ps["component_id"][:]) == list(comps.ids[keep])
        names = {1: "accepted", -1: "rejected", 0: "undecided", 2: "inactive"}
        assert list(ps["status"][:]) == [names[s] for s in comps.status[keep]]
        masks = np.asarray(ps["image_mask"][:])
        # NWB's [x, y]: columns first (W = 5, H = 6).
        assert masks.shape == (len(keep), 5, 6)
        np.testing.assert_allclose(masks.transpose(0, 2, 1), comps.A.toarray()[:, keep].T.reshape(-1, 6, 5))
        bg = ophys["ImageSegmentation"]["Background"]
        np.testing.assert_allclose(np.asarray(bg["image_mask"][:]).transpose(0, 2, 1),
                                   data.background.b.T.reshape(2, 6, 5))
        np.testing.assert_allclose(ophys["BackgroundFluorescence"]["f"].data[:], data.background.f.T)
        np.testing.assert_allclose(ps["snr"][:], comps.metrics["snr"][keep])
        for iface, name, arr in [("Fluorescence", "F", comps.F), ("Fluorescence", "C", comps.C),
                                 ("DfOverF", "dff", comps.dff), ("Deconvolved", "S", comps.S)]:
            series = ophys[iface][name]
            assert series.rate == 15.0
            np.testing.assert_array_equal(series.data[:], arr[keep].T)
        np.testing.assert_array_equal(ophys["SummaryImages"]["pnr"].data[:], data.summary.pnr.T)
        np.testing.assert_array_equal(ophys["xy_translation"].data[:], data.motion.shifts[:, ::-1])
        log = ophys["curation_log"]
        assert [{key: json.loads(log[key][i]) for key in log.colnames if log[key][i]}
                for i in range(len(log))] == [json.loads(e) for e in data.curation_log]
        params = dict(zip(ophys["parameters"]["parameter"][:], ophys["parameters"]["value"][:]))
        assert json.loads(params["motion.max_shift"]) == data.params.to_dict()["motion"]["max_shift"]
        assert nwb.imaging_planes["ImagingPlane"].indicator == "GCaMP6f"


def test_nwbinspector_finds_nothing_critical(tmp_path):
    nwbinspector = pytest.importorskip("nwbinspector")
    meta = {"session_description": "V1, drifting gratings", "indicator": "GCaMP6f",
            "location": "Primary visual area", "excitation_lambda": 920.0, "emission_lambda": 510.0,
            "subject": {"subject_id": "m1", "species": "Mus musculus", "sex": "F", "age": "P90D",
                        "description": "wild type"}}
    out = export_nwb(_session(), tmp_path / "s.nwb", include_all=True, metadata=meta)
    messages = list(nwbinspector.inspect_nwbfile(nwbfile_path=str(out)))
    # Suggestions (experimenter, institution, keywords...) are the user's metadata to give;
    # anything stronger is ours.
    serious = [m for m in messages if m.importance.name != "BEST_PRACTICE_SUGGESTION"]
    assert not serious, [m.message for m in serious]


def test_no_overwrite_without_force(tmp_path):
    target = tmp_path / "s.nwb"
    target.write_bytes(b"keep")
    with pytest.raises(UserError, match="exists"):
        export_nwb(_session(), target)
    assert target.read_bytes() == b"keep"
    export_nwb(_session(), target, force=True)
    assert target.read_bytes() != b"keep"


def test_export_verb_writes_nwb(tmp_path, capsys):
    from cnmf_gui.cli import main
    from cnmf_gui.io import save_session

    save_session(_session(), tmp_path / "s.h5")
    meta = tmp_path / "meta.json"
    meta.write_text(json.dumps({"indicator": "GCaMP7s", "session_description": "test"}))
    assert main(["export", str(tmp_path / "s.h5"), "--nwb", str(tmp_path / "o.nwb"), "--all",
                 "--metadata", str(meta)]) == 0
    assert "exported 4 of 4 components" in capsys.readouterr().out
    with pynwb.NWBHDF5IO(str(tmp_path / "o.nwb"), "r") as io:
        nwb = io.read()
        assert len(nwb.processing["ophys"]["ImageSegmentation"]["PlaneSegmentation"]) == 4
        assert nwb.imaging_planes["ImagingPlane"].indicator == "GCaMP7s"
    # Existing file without --force, unknown metadata key: one line, exit 2, file untouched.
    before = (tmp_path / "o.nwb").read_bytes()
    assert main(["export", str(tmp_path / "s.h5"), "--nwb", str(tmp_path / "o.nwb")]) == 2
    assert "exists" in capsys.readouterr().err
    meta.write_text(json.dumps({"indicatr": "x"}))
    assert main(["export", str(tmp_path / "s.h5"), "--nwb", str(tmp_path / "o.nwb"), "--force",
                 "--metadata", str(meta)]) == 2
    err = capsys.readouterr().err
    assert "unknown key(s) indicatr" in err and err.count("\n") == 1
    assert (tmp_path / "o.nwb").read_bytes() == before


def test_motion_correction_links_the_stacks(tmp_path):
    """Given a corrected movie file, a MotionCorrection links it and the raw movie (not copied)."""
    import tifffile

    nwbinspector = pytest.importorskip("nwbinspector")
    data = _session()
    T, H, W = data.movie_shape
    raw, corrected = tmp_path / "raw.tif", tmp_path / "corrected.tif"
    frames = np.random.default_rng(1).integers(0, 100, size=(T, H, W)).astype(np.uint16)
    tifffile.imwrite(raw, frames)
    tifffile.imwrite(corrected, frames[:, ::-1])
    data.movie_path = str(raw)
    meta = {"subject": {"subject_id": "m1", "species": "Mus musculus", "sex": "F", "age": "P90D"},
            "session_description": "test", "indicator": "GCaMP6f", "location": "V1"}
    out = export_nwb(data, tmp_path / "s.nwb", include_all=True, metadata=meta, corrected=corrected)
    import h5py
    with h5py.File(out, "r") as h5:  # linked, not copied: no frames inside
        assert h5["acquisition/TwoPhotonSeries/data"].size == 0
        assert h5["processing/ophys/MotionCorrection/CorrectedImageStack/corrected/data"].size == 0
    with pynwb.NWBHDF5IO(str(out), "r") as io:
        nwb = io.read()
        stack = nwb.processing["ophys"]["MotionCorrection"].corrected_image_stacks["CorrectedImageStack"]
        assert list(stack.corrected.external_file[:]) == ["corrected.tif"]
        assert stack.original is nwb.acquisition["TwoPhotonSeries"]
        assert list(stack.original.external_file[:]) == ["raw.tif"]
        np.testing.assert_array_equal(stack.xy_translation.data[:], data.motion.shifts[:, ::-1])
    serious = [m for m in nwbinspector.inspect_nwbfile(nwbfile_path=str(out))
               if m.importance.name in ("CRITICAL", "PYNWB_VALIDATION", "ERROR")]
    assert not serious, [m.message for m in serious]
    # The NWB reader follows the link back to the raw movie's frames.
    from cnmf_gui.io import open_movie
    with open_movie(out) as movie:
        np.testing.assert_array_equal(movie[:], frames)
    with pytest.raises(UserError, match="corrected movie not found"):
        export_nwb(data, tmp_path / "t.nwb", corrected=tmp_path / "missing.tif")

"""NWB export of a session (Neurodata Without Borders 2, written with pynwb).

What goes where (processing module ``ophys``):

- ``ImageSegmentation`` / ``PlaneSegmentation``: one weighted ``image_mask`` per exported
  component, with columns ``component_id`` (stable id), ``status`` (accepted, undecided,
  rejected, inactive), ``reason`` and every per-component metric; ``Background``: the
  low-rank background's spatial components, their traces f in ``BackgroundFluorescence``.
  Images are stored ``[x, y]`` (columns first) as the NWB schema says and NWB's tools
  (neuroconv, roiextractors) read them; :mod:`cnmf_gui.io.nwb_source` reads movies the same way.
- ``Fluorescence``: ``RoiResponseSeries`` ``F`` (raw fluorescence) and ``C`` (denoised);
  ``DfOverF``: ``dff``; ``Deconvolved``: ``S`` (spike estimate).
- ``SummaryImages`` (``Images``): mean, max, correlation, pnr.
- motion: rigid ``xy_translation`` (T, 2) [dx, dy] in pixels, when motion correction ran. Given
  a corrected movie file (``corrected=``, e.g. written by ``cnmf-gui motion``), a
  ``MotionCorrection`` / ``CorrectedImageStack`` links it and the raw movie (an acquisition
  ``TwoPhotonSeries``) as external files, relative to the NWB file: linked, not copied (the
  schema needs both stacks for a MotionCorrection, so without one the translation stands alone).
- ``parameters`` and ``curation_log``: JSON text (``LabMetaData`` is not needed for that).

Metadata the session does not know (indicator, location, excitation wavelength, session
description, subject) comes from an optional JSON file; unknown values are written as
"unknown" rather than invented. The file is written whole or not at all
(:mod:`cnmf_gui.atomic`) and never replaces an existing file unless ``force``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from cnmf_gui.atomic_h5 import atomic_h5
from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_NAMES

METADATA_KEYS = ("session_description", "identifier", "session_start_time", "indicator", "location",
                 "excitation_lambda", "emission_lambda", "device", "subject", "imaging_rate")


def read_metadata(path) -> dict:
    """Read the metadata JSON (an object with keys from :data:`METADATA_KEYS`)."""
    try:
        with open(os.fspath(path), encoding="utf-8") as fh:
            meta = json.load(fh)
    except OSError as exc:
        raise UserError(f"cannot read metadata {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise UserError(f"metadata {path} is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise UserError(f"metadata {path} must hold a JSON object")
    unknown = sorted(set(meta) - set(METADATA_KEYS))
    if unknown:
        raise UserError(f"metadata {path}: unknown key(s) {', '.join(unknown)}; "
                        f"known: {', '.join(METADATA_KEYS)}")
    return meta


def export_nwb(data, path, include_all: bool = False, metadata: dict | None = None,
               force: bool = False, corrected=None) -> Path:
    """Write a session's results to one NWB file.

    Parameters
    ----------
    data : SessionData
        Must hold components (footprints ``A`` of shape (H*W, K), traces of shape (K, T)).
    path : path-like
        Destination ``.nwb`` file.
    include_all : bool
        Export every component (their ``status`` column says which is which) rather than only
        the accepted ones.
    metadata : dict, optional
        See :func:`read_metadata`.
    force : bool
        Replace ``path`` if it exists.
    corrected : path-like, optional
        A motion-corrected movie file to link (with the raw movie) in a ``MotionCorrection``.

    Returns
    -------
    Path of the written file.
    """
    try:
        import pynwb  # noqa: F401
    except ImportError:
        raise UserError("NWB export needs pynwb: pip install 'cnmf-gui[nwb]'") from None
    path = Path(os.fspath(path))
    if path.exists() and not force:
        raise UserError(f"{path} exists; give --force to replace it")
    comps = data.components
    if comps is None:
        raise UserError("the session holds no components to export: run CNMF first")
    meta = dict(metadata or {})
    status = np.asarray(comps.status)
    keep = np.arange(comps.n_components) if include_all else np.flatnonzero(status == 1)
    links = None
    if corrected is not None:
        if data.motion is None or not data.movie_path:
            raise UserError("--corrected needs a session with motion correction and its movie file")
        if not os.path.isfile(os.fspath(corrected)):
            raise UserError(f"corrected movie not found: {corrected}")
        links = {name: os.path.relpath(os.path.abspath(os.fspath(p)), os.path.dirname(os.path.abspath(path)))
                 for name, p in (("original", data.movie_path), ("corrected", corrected))}
    nwb = _build(data, keep, meta, links)
    from pynwb import NWBHDF5IO
    with atomic_h5(path) as fh:
        # pynwb writes into the open temporary HDF5 file; atomic_h5 renames it when complete.
        with NWBHDF5IO(mode="w", file=fh) as io:
            io.write(nwb)
    return path


def _build(data, keep: np.ndarray, meta: dict, links: dict | None = None):
    """The in-memory NWBFile for components ``keep``."""
    from hdmf.common import DynamicTable
    from pynwb import NWBFile
    from pynwb.base import Images
    from pynwb.image import GrayscaleImage
    from pynwb.file import Subject
    from pynwb.ophys import DfOverF, Fluorescence, ImageSegmentation, OpticalChannel
    comps = data.components
    T, H, W = (int(n) for n in data.movie_shape)
    rate = data.frame_rate or meta.get("imaging_rate")
    start = meta.get("session_start_time")
    start = datetime.fromisoformat(start) if start else datetime.now(timezone.utc)
    if start.tzinfo is None:
        start = start.replace(tzinfo=timezone.utc)
    subject = meta.get("subject")
    nwb = NWBFile(
        session_description=str(meta.get("session_description", "calcium imaging analysed with cnmf-gui")),
        identifier=str(meta.get("identifier", os.urandom(8).hex())),
        session_start_time=start,
        subject=Subject(**subject) if isinstance(subject, dict) else None,
    )
    device = nwb.create_device(name=str(meta.get("device", "microscope")),
                               description="imaging device (from the metadata file, if given)")
    channel = OpticalChannel(name="OpticalChannel", description="imaging channel",
                             emission_lambda=float(meta.get("emission_lambda", np.nan)))
    plane = nwb.create_imaging_plane(
        name="ImagingPlane", optical_channel=channel, device=device,
        description=f"{H} x {W} pixels, {T} frames",
        excitation_lambda=float(meta.get("excitation_lambda", np.nan)),
        imaging_rate=float(rate) if rate else np.nan,
        indicator=str(meta.get("indicator", "unknown")), location=str(meta.get("location", "unknown")))
    ophys = nwb.create_processing_module(name="ophys", description="cnmf-gui results")

    seg = ImageSegmentation(name="ImageSegmentation")
    ophys.add(seg)
    ps = seg.create_plane_segmentation(name="PlaneSegmentation", imaging_plane=plane,
                                       description="CNMF spatial footprints (weighted)")
    status = np.asarray(comps.status)
    reason = (np.asarray(comps.reason, dtype=object) if comps.reason is not None
              else np.full(comps.n_components, "", dtype=object))
    names = sorted(k for k, v in comps.metrics.items() if np.shape(v) == (comps.n_components,))
    ps.add_column("component_id", "stable component id (cnmf-gui)")
    ps.add_column("status", "curation status: accepted, undecided, rejected or inactive")
    ps.add_column("reason", "why the automatic status was given (may be empty)")
    for name in names:
        ps.add_column(name, f"evaluation metric {name}")
    A = comps.A.tocsc()
    for k in keep:
        mask = A[:, k].toarray().reshape(H, W).T  # [x, y]
        row = {"image_mask": mask, "component_id": int(comps.ids[k]),
               "status": STATUS_NAMES.get(int(status[k]), str(int(status[k]))),
               "reason": str(reason[k])}
        row.update({name: float(np.asarray(comps.metrics[name])[k]) for name in names})
        ps.add_roi(**row)

    if len(keep):
        region = ps.create_roi_table_region(region=list(range(len(keep))), description="exported components")
        timing = {"rate": float(rate)} if rate else {"rate": 1.0}
        unit_note = "" if rate else " (frame rate unknown: time axis is in frames)"

        # Each interface joins the file before its series, so that the series' ``rois``
        # region and the PlaneSegmentation share an ancestor (hdmf checks this).
        traces = {"Fluorescence": (Fluorescence, [("F", comps.F, "raw fluorescence of each component"),
                                                  ("C", comps.C, "denoised calcium trace of each component")]),
                  "DfOverF": (DfOverF, [("dff", comps.dff, "dF/F of each component")]),
                  "Deconvolved": (Fluorescence, [("S", comps.S, "deconvolved activity (spike estimate)")])}
        for iface_name, (kind, rows) in traces.items():
            iface = kind(name=iface_name)
            ophys.add(iface)
            for name, values, desc in rows:
                iface.create_roi_response_series(name=name, data=np.asarray(values)[keep].T, rois=region,
                                                 unit="n.a." if name == "dff" else "a.u.",
                                                 description=desc + unit_note, **timing)

    if data.summary is not None:
        images = Images(name="SummaryImages", description="summary images of the movie")
        for name, img in data.summary.as_dict().items():
            images.add_image(GrayscaleImage(name=name, data=np.asarray(img, dtype=np.float32).T,
                                            description=f"{name} image"))
        ophys.add(images)
    _add_background(nwb, ophys, seg, plane, data, rate)
    if data.motion is not None:
        _add_motion(nwb, ophys, plane, data, rate, links)
    params = data.params
    if params is not None:
        flat = _flatten(params.to_dict() if hasattr(params, "to_dict") else dict(params))
        table = DynamicTable(name="parameters", description="pipeline parameters, one row each; "
                             "value is JSON text")
        table.add_column("parameter", "dotted name, e.g. motion.max_shift")
        table.add_column("value", "JSON text of the value")
        for name, value in flat.items():
            table.add_row(parameter=name, value=json.dumps(value, default=str))
        ophys.add(table)
    # One row per edit and one column per key of the edits (seq, time, the command and its
    # arguments), each cell the JSON text of the value ("" when an edit has no such key):
    # readable without cnmf-gui, and no cell holds a whole JSON object (nwbinspector asks so).
    entries = [json.loads(line) for line in data.curation_log]
    keys = sorted({key for entry in entries for key in entry})
    log = DynamicTable(name="curation_log", description="the user's curation edits in order, one per "
                       "row; each cell is the JSON text of that key's value, empty when absent")
    for key in keys:
        log.add_column(key, f"JSON text of '{key}'")
    for entry in entries:
        log.add_row(**{key: json.dumps(entry[key]) if key in entry else "" for key in keys})
    ophys.add(log)
    return nwb


def _flatten(tree: dict, prefix: str = "") -> dict:
    """Nested parameter groups as ``{"group.name": value}`` (one table row per parameter)."""
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _add_background(nwb, module, seg, plane, data, rate) -> None:
    """The low-rank background b f: its own PlaneSegmentation and traces (a ring model has none)."""
    from pynwb.ophys import Fluorescence

    bg = data.background
    b = None if bg is None else np.asarray(bg.b, float)
    if b is None or b.ndim != 2 or b.shape[1] == 0:
        return
    T, H, W = (int(n) for n in data.movie_shape)
    ps = seg.create_plane_segmentation(name="Background", imaging_plane=plane,
                                       description="low-rank background: spatial components b (one row each)")
    for j in range(b.shape[1]):
        ps.add_roi(image_mask=b[:, j].reshape(H, W).T)
    region = ps.create_roi_table_region(region=list(range(b.shape[1])), description="background components")
    iface = Fluorescence(name="BackgroundFluorescence")
    module.add(iface)
    iface.create_roi_response_series(name="f", data=np.asarray(bg.f, float).T, rois=region, unit="a.u.",
                                     description="temporal background components f", rate=float(rate) if rate else 1.0)


def _add_motion(nwb, module, plane, data, rate, links) -> None:
    """Rigid shifts as xy_translation ([x, y] in pixels); in a MotionCorrection when the stacks are linked."""
    from pynwb.base import TimeSeries
    from pynwb.image import ImageSeries
    from pynwb.ophys import CorrectedImageStack, MotionCorrection, TwoPhotonSeries

    shifts = np.asarray(data.motion.shifts, dtype=np.float32)
    xy = shifts[:, ::-1].copy()  # stored as [dy, dx]; NWB asks for x then y
    timing = {"rate": float(rate) if rate else 1.0}
    ts = TimeSeries(name="xy_translation", data=xy, unit="pixels", description="rigid shift [dx, dy] applied "
                    "to each raw frame", **timing)
    if links is None:
        module.add(ts)
        return
    T, H, W = (int(n) for n in data.movie_shape)
    linked = dict(format="external", starting_frame=[0], dimension=[W, H], unit="n.a.", num_samples=T, **timing)
    raw = TwoPhotonSeries(name="TwoPhotonSeries", imaging_plane=plane, external_file=[links["original"]],
                          description="the raw movie (linked, not copied)", **linked)
    nwb.add_acquisition(raw)
    corrected = ImageSeries(name="corrected", external_file=[links["corrected"]],
                            description="the motion-corrected movie (linked, not copied)", **linked)
    module.add(MotionCorrection(corrected_image_stacks=[CorrectedImageStack(corrected=corrected, original=raw,
                                                                             xy_translation=ts)]))

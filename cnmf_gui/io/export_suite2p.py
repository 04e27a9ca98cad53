"""Curated statuses back to suite2p: ``iscell.npy`` of the plane folder a session was imported from.

A suite2p user curates here and continues in suite2p (its GUI, its NWB writer). ROI k of the
folder is the component whose id is ``first_id + k`` of the session's ``import`` line. Its new
``iscell`` row is [is a cell, classifier probability]: accepted and inactive (a silent soma is
still a cell) -> 1, rejected -> 0, undecided -> suite2p's own label; the probability column is
kept. ROIs that were merged or split here have no component of their own any more and are
written as not a cell (the merged component is not a suite2p ROI); the count is returned.

The old ``iscell.npy`` is kept as ``iscell.before_cnmf_gui.npy`` (the first one only: later
exports never replace suite2p's original); both files are written all or none through
:func:`cnmf_gui.atomic.atomic_paths`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from cnmf_gui.atomic import atomic_paths
from cnmf_gui.errors import InputFileError, UserError
from cnmf_gui.results import STATUS_ACCEPTED, STATUS_INACTIVE, STATUS_REJECTED

BACKUP = "iscell.before_cnmf_gui.npy"


@dataclass
class IscellExport:
    """What :func:`export_suite2p_iscell` wrote."""

    path: str
    backup: str | None
    n_cells: int
    n_rois: int
    n_gone: int


def _import_line(log: list[str]) -> dict | None:
    found = None
    for line in log:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        if entry.get("reset") and entry.get("action") == "pipeline":
            found = None             # a later pipeline run replaced the imported components
        elif entry.get("action") == "import":
            found = entry
    return found


def export_suite2p_iscell(data, folder) -> IscellExport:
    """Write the session's statuses as ``folder/iscell.npy``.

    Parameters
    ----------
    data : SessionData
        A session made by ``cnmf-gui import`` of a suite2p plane folder.
    folder : path-like
        That plane folder (``stat.npy`` and ``iscell.npy`` inside).

    Raises
    ------
    UserError
        The session was not imported from suite2p, or the folder's ROIs are not the ones imported.
    """
    folder = os.fspath(folder)
    entry = _import_line(data.curation_log)
    if entry is None or entry.get("tool") != "suite2p":
        raise UserError("--suite2p-iscell needs a session made from suite2p results (cnmf-gui import PLANE_FOLDER); "
                        "this session's components do not come from suite2p")
    iscell_path = os.path.join(folder, "iscell.npy")
    if not os.path.isfile(iscell_path):
        raise InputFileError(f"{folder} is not a suite2p plane folder: no iscell.npy")
    try:
        old = np.load(iscell_path)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read {iscell_path}: {exc}") from None
    n_rois, first = int(entry["n_components"]), int(entry["first_id"])
    if old.ndim != 2 or old.shape[0] != n_rois:
        raise UserError(f"{iscell_path} has {old.shape[0] if old.ndim else 0} ROIs but the session imported "
                        f"{n_rois} from {entry.get('source')}: not the same suite2p result")
    new = np.array(old, copy=True)
    comps = data.components
    position = {int(i): k for k, i in enumerate(comps.ids)} if comps is not None else {}
    gone = 0
    for roi in range(n_rois):
        k = position.get(first + roi)
        if k is None:
            new[roi, 0] = 0
            gone += 1
            continue
        status = int(comps.status[k])
        if status in (STATUS_ACCEPTED, STATUS_INACTIVE):
            new[roi, 0] = 1
        elif status == STATUS_REJECTED:
            new[roi, 0] = 0
    backup = os.path.join(folder, BACKUP)
    keep_backup = not os.path.exists(backup)
    targets = [iscell_path] + ([backup] if keep_backup else [])
    with atomic_paths(targets, [".npy"] * len(targets)) as tmps:
        with open(tmps[0], "wb") as fh:
            np.save(fh, new)
        if keep_backup:
            with open(tmps[1], "wb") as fh:
                np.save(fh, old)
    return IscellExport(path=iscell_path, backup=backup if keep_backup else None,
                        n_cells=int(new[:, 0].sum()), n_rois=n_rois, n_gone=gone)

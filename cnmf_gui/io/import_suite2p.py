"""suite2p plane folders (``suite2p/plane0``) as :class:`~cnmf_gui.io.import_result.ImportedResults`.

What is read (suite2p 0.x and 1.x write the same per-ROI files):

- ``stat.npy``: each ROI's pixels ``ypix``, ``xpix`` and weights ``lam`` -> a footprint, scaled so
  that footprint times trace is the ROI's share of the movie (suite2p's trace is the
  ``lam``-weighted mean of its pixels: the footprint is ``lam * sum(lam) / sum(lam**2)``);
- ``iscell.npy`` (K, 2): [is a cell, classifier probability] -> accepted / rejected; required;
- ``F.npy``, ``Fneu.npy`` (K, T) -> the raw trace ``F - c Fneu`` with suite2p's neuropil
  coefficient c (0.7 unless its settings say otherwise);
- ``spks.npy`` (K, T): checked for shape only: S is re-estimated from F with this program's
  deconvolution, so that S = G C holds as for every other component;
- registration: ``reg_outputs.npy`` (1.x) or ``ops.npy`` (0.x): rigid ``yoff``, ``xoff`` (suite2p
  reads pixel (r + yoff, c + xoff) of the raw frame: the shift [dy, dx] = [-yoff, -xoff]) and
  ``refImg`` as the template; non-rigid block offsets ``yoff1``, ``xoff1`` (T, blocks) on suite2p's
  block grid (``block_size`` from its settings: ceil(1.5 L / size) blocks per axis, evenly spaced,
  offsets interpolated between block centres) as the piecewise-rigid motion, total shift
  -(rigid + block offset);
- frame rate and settings from ``settings.npy`` (1.x) or ``ops.npy``; the frame size from
  ``ops.npy`` / ``db.npy`` / the mean image.

These ``.npy`` files hold pickled Python objects (suite2p's format): open only folders you trust.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from cnmf_gui.errors import InputFileError
from cnmf_gui.io.import_result import ImportedResults, jsonable

NEUROPIL_COEFFICIENT = 0.7


def _load(folder: str, name: str, *, required: bool = True, what: str = ""):
    path = os.path.join(folder, name)
    if not os.path.isfile(path):
        if required:
            raise InputFileError(f"suite2p folder {folder} has no {name}{what}")
        return None
    try:
        value = np.load(path, allow_pickle=True)
    except (OSError, ValueError, EOFError) as exc:
        raise InputFileError(f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else 'corrupt'}") from None
    if value.dtype == object and value.ndim == 0:
        value = value.item()
    return value


def _frame_shape(folder: str, dicts: list, hint) -> tuple | None:
    for d in dicts:
        if isinstance(d, dict) and "Ly" in d and "Lx" in d:
            return int(d["Ly"]), int(d["Lx"])
    db = _load(folder, "db.npy", required=False)
    if isinstance(db, dict) and "Ly" in db and "Lx" in db:
        return int(db["Ly"]), int(db["Lx"])
    for d in dicts:
        if isinstance(d, dict) and np.ndim(d.get("meanImg")) == 2:
            return tuple(int(n) for n in np.shape(d["meanImg"]))
    return None if hint is None else tuple(int(n) for n in hint)


def _footprints(stat, shape, folder) -> sp.csc_matrix:
    H, W = shape
    rows, cols, vals = [], [], []
    for k, roi in enumerate(stat):
        try:
            y = np.asarray(roi["ypix"], np.int64).ravel()
            x = np.asarray(roi["xpix"], np.int64).ravel()
            lam = np.asarray(roi["lam"], float).ravel()
        except (KeyError, TypeError, IndexError):
            raise InputFileError(f"{folder}/stat.npy: ROI {k} has no ypix, xpix and lam") from None
        if not (y.size == x.size == lam.size):
            raise InputFileError(f"{folder}/stat.npy: ROI {k} has {y.size} ypix, {x.size} xpix, {lam.size} lam")
        if y.size and (y.min() < 0 or x.min() < 0 or y.max() >= H or x.max() >= W):
            raise InputFileError(f"{folder}/stat.npy: ROI {k} reaches pixel ({int(y.max())}, {int(x.max())}) "
                                 f"outside the {H} x {W} frame")
        lam = np.clip(lam, 0, None)
        power = float(np.dot(lam, lam))
        scale = float(lam.sum()) / power if power > 0 else 0.0
        rows.append(y * W + x)
        cols.append(np.full(y.size, k))
        vals.append(lam * scale)
    K = len(stat)
    if K == 0:
        return sp.csc_matrix((H * W, 0))
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(H * W, K))
    A.sum_duplicates()
    return A


def _block_starts(L: int, size: int) -> tuple[int, np.ndarray]:
    """suite2p's blocks along one axis: the size used and the start of each block."""
    if size >= L:
        return L, np.zeros(1, int)
    n = int(np.ceil(1.5 * L / size))
    return size, np.linspace(0, L - size, n).astype(int)


def _blocks(d: dict, settings, ops, shape, rigid):
    """Piecewise shifts (T, ny, nx, 2) and block centres (ny, nx, 2), or None without block offsets."""
    y1, x1 = d.get("yoff1"), d.get("xoff1")
    if y1 is None or x1 is None or np.ndim(y1) != 2 or np.shape(y1) != np.shape(x1):
        return None
    size = None
    for src in (settings.get("registration") if isinstance(settings, dict) else None, ops):
        if isinstance(src, dict) and src.get("block_size") is not None:
            size = [int(v) for v in np.ravel(src["block_size"])][:2]
            break
    if size is None or len(size) != 2:
        return None
    (by, ystart), (bx, xstart) = _block_starts(shape[0], size[0]), _block_starts(shape[1], size[1])
    ny, nx = len(ystart), len(xstart)
    if np.shape(y1) != (rigid.shape[0], ny * nx):
        return None          # another block layout than this version's: keep the rigid shifts
    centers = np.stack(np.meshgrid((2 * ystart + by) // 2, (2 * xstart + bx) // 2, indexing="ij"), axis=-1)
    # suite2p samples raw pixel r + yoff + yoff1(r); this program's shift moves r - dy to r.
    block = np.stack([np.asarray(y1, float), np.asarray(x1, float)], axis=-1).reshape(-1, ny, nx, 2)
    return rigid[:, None, None, :] - block, centers.astype(float)


def read_suite2p(folder, frame_shape=None) -> ImportedResults:
    """Read one suite2p plane folder.

    Parameters
    ----------
    folder : path-like
        The plane folder (``.../suite2p/plane0``).
    frame_shape : (H, W), optional
        The movie's frame size, used when the folder does not say it (no ops/db/mean image).

    Returns
    -------
    ImportedResults

    Raises
    ------
    InputFileError
        A missing required file (``stat.npy``, ``iscell.npy``, ``F.npy``, ``Fneu.npy``), files
        that disagree on the number of ROIs or frames, ROIs outside the frame.
    """
    folder = os.fspath(folder)
    stat = _load(folder, "stat.npy")
    iscell = _load(folder, "iscell.npy", what=" (suite2p's cell/not-cell labels, which the import needs as "
                                              "statuses)")
    F = np.asarray(_load(folder, "F.npy"), float)
    Fneu = np.asarray(_load(folder, "Fneu.npy"), float)
    spks = _load(folder, "spks.npy", required=False)
    settings = _load(folder, "settings.npy", required=False)
    reg = _load(folder, "reg_outputs.npy", required=False)
    ops = _load(folder, "ops.npy", required=False)
    dicts = [d for d in (reg, ops, settings) if isinstance(d, dict)]
    K = len(stat)
    iscell = np.asarray(iscell, float)
    if iscell.ndim == 1:
        iscell = np.stack([iscell, np.full(iscell.shape, np.nan)], axis=1)
    for name, arr, shape in (("iscell.npy", iscell, (K, iscell.shape[-1])), ("F.npy", F, (K, F.shape[-1])),
                             ("Fneu.npy", Fneu, F.shape)):
        if arr.ndim != 2 or arr.shape != shape:
            raise InputFileError(f"{folder}/{name} has shape {arr.shape} but stat.npy has {K} ROIs"
                                 + (f" and F.npy {F.shape}" if name == "Fneu.npy" else ""))
    if spks is not None and np.shape(spks) != F.shape:
        raise InputFileError(f"{folder}/spks.npy has shape {np.shape(spks)}, F.npy {F.shape}: not one result")
    shape = _frame_shape(folder, dicts, frame_shape)
    if shape is None:
        raise InputFileError(f"suite2p folder {folder} does not say the frame size (no ops.npy, db.npy or "
                             f"reg_outputs.npy): give the movie")
    extraction = settings.get("extraction", {}) if isinstance(settings, dict) else {}
    coefficient = float(extraction.get("neuropil_coefficient",
                                       ops.get("neucoeff", NEUROPIL_COEFFICIENT) if isinstance(ops, dict)
                                       else NEUROPIL_COEFFICIENT))
    is_cell = iscell[:, 0] > 0.5
    probability = iscell[:, 1]
    status = np.where(is_cell, 1, -1).astype(np.int8)
    reason = np.array(["" if c else f"suite2p: not a cell (classifier p={p:.2f})" for c, p in zip(is_cell, probability)],
                      dtype=object)
    metrics = {"cell_probability": probability}
    for key in ("skew", "compact", "npix"):
        values = [roi.get(key, np.nan) if isinstance(roi, dict) else np.nan for roi in stat]
        metrics[f"suite2p_{key}"] = np.asarray(values, float)

    shifts = template = shifts_pw = centers = None
    notes = [f"footprints from stat.npy (lam), statuses from iscell.npy, F = F - {coefficient:g} Fneu"]
    for d in dicts:
        if "yoff" in d and "xoff" in d and np.shape(d["yoff"]) == (F.shape[1],):
            shifts = -np.stack([np.asarray(d["yoff"], float), np.asarray(d["xoff"], float)], axis=1)
            ref = d.get("refImg")
            template = np.asarray(ref, np.float32) if np.shape(ref) == shape else None
            pw = _blocks(d, settings, ops, shape, shifts)
            if pw is not None:
                shifts_pw, centers = pw
            notes.append("registration offsets (yoff, xoff" + (", and non-rigid yoff1, xoff1 per block" if pw
                                                               else "") + ") as the motion result")
            break
    rate = None
    for d in (settings, ops):
        if isinstance(d, dict) and d.get("fs"):
            rate = float(d["fs"])
            break
    params = jsonable({k: v for k, v in (settings or ops or {}).items()
                       if k in ("fs", "tau", "diameter", "version", "registration", "detection", "extraction",
                                "classification", "neucoeff", "nonrigid", "threshold_scaling")})
    return ImportedResults(tool="suite2p", source=os.path.abspath(folder), frame_shape=shape,
                           A=_footprints(stat, shape, folder), F=F - coefficient * Fneu, status=status,
                           reason=reason, metrics=metrics, shifts=shifts, shifts_pw=shifts_pw,
                           patch_centers=centers, template=template,
                           frame_rate=rate, params=params, notes=notes)

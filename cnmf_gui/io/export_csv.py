"""CSV export of curated results: one table per kind of trace and one table of components.

Files written (DESIGN.md):

- ``traces_C.csv``, ``traces_S.csv``, ``traces_F.csv``, ``traces_dff.csv``: one row per
  frame; columns ``frame``, ``time_s``, then one column per exported component, headed by its
  stable id.
- ``components.csv``: one row per exported component: ``id``, ``status`` (``accepted``,
  ``undecided``, ``rejected``, ``inactive``), ``centroid_row``, ``centroid_col``
  (footprint-weighted centre, pixels), ``area_px`` (the footprint's area in pixels: the
  evaluation's ``area`` metric, pixels at or above 20 % of the peak, which the size thresholds
  and the table's size column use; pixels with any weight when there is no such metric), then
  every other metric, sorted by name, then ``reason`` (why the automatic status was given; may
  be empty). One area column: a second one with another definition only confused readers.

By default only accepted components are exported; ``include_all`` exports every component
(their status says which is which).

``time_s`` is ``frame / frame_rate``. When the frame rate is unknown the ``time_s`` cells are
left empty (CSV readers read them as missing, e.g. NaN in NumPy or pandas) rather than
inventing a rate; comments in CSV files break too many readers to explain it there.

Values are written with the shortest text that reads back to the identical number in the
array's own precision (float32 stays exact as float32, float64 as float64).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from cnmf_gui.atomic import atomic_paths
from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_NAMES

TRACE_KINDS = ("C", "S", "F", "dff")


def _csv_field(value: str) -> str:
    """Quote free text the way CSV readers expect (RFC 4180) when it holds a comma or a quote."""
    value = str(value).replace("\r", " ").replace("\n", " ")
    if any(ch in value for ch in ',"'):
        return '"' + value.replace('"', '""') + '"'
    return value


def _text(values: np.ndarray) -> np.ndarray:
    """Shortest round-trip text of each value; integers as integers."""
    values = np.asarray(values)
    if values.dtype.kind == "f" and values.dtype.itemsize not in (4, 8):
        values = values.astype(np.float64)
    if values.dtype == bool:
        values = values.astype(np.int8)
    return values.astype(str)


def _write_rows(path, header: list[str], columns: list[np.ndarray]) -> None:
    """Write equal-length columns (numbers or text) as CSV to ``path`` (a temporary file).

    Rows are formatted a block at a time so memory stays bounded for long recordings.
    """
    n_rows = len(columns[0]) if columns else 0
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\n")
        for start in range(0, n_rows, 2048):
            block = np.stack([_text(col[start:start + 2048]) for col in columns], axis=1)
            fh.write("\n".join(",".join(row) for row in block) + "\n")


def footprint_centroids(A, frame_shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted centroid (row, col) and area of each footprint.

    Parameters
    ----------
    A : scipy.sparse matrix of shape (H*W, K)
        Footprints, pixel index ``row * W + col``.
    frame_shape : tuple (H, W)

    Returns
    -------
    rows, cols : ndarray of shape (K,)
        Centre of mass in pixels (NaN for an empty footprint).
    area : ndarray of shape (K,), int
        Number of pixels with a positive weight.
    """
    import scipy.sparse as sp

    H, W = frame_shape
    A = sp.csc_matrix(A)
    pixel = np.arange(H * W)
    weights = np.asarray(A.sum(axis=0)).ravel().astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = np.asarray(A.T @ (pixel // W).astype(np.float64)).ravel() / weights
        cols = np.asarray(A.T @ (pixel % W).astype(np.float64)).ravel() / weights
    rows[weights == 0] = np.nan
    cols[weights == 0] = np.nan
    area = np.asarray((A > 0).sum(axis=0)).ravel().astype(np.int64)
    return rows, cols, area


def export_csv(data, folder, *, include_all: bool = False) -> list[Path]:
    """Write the session's traces and component table as CSV files in ``folder``.

    Parameters
    ----------
    data : SessionData
        Must hold components.
    folder : path-like
        Created if missing. Existing files of the same names are replaced, all five or none
        (a full disk half-way leaves the previous export whole).
    include_all : bool
        Export every component, not only the accepted ones.

    Returns
    -------
    list of Path
        The files written: the four trace tables, then ``components.csv``.

    Raises
    ------
    UserError
        The session holds no components, or ``folder`` is an existing file.
    """
    folder = Path(os.fspath(folder))
    comps = data.components
    if comps is None:
        raise UserError("the session holds no components to export: run CNMF first")
    if folder.exists() and not folder.is_dir():
        raise UserError(f"cannot export to {folder}: it is a file, expected a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"cannot create export folder {folder}: {exc.strerror}") from None

    status = np.asarray(comps.status)
    keep = np.arange(comps.n_components) if include_all else np.flatnonzero(status == 1)
    ids = np.asarray(comps.ids)[keep]
    T = comps.n_frames
    frames = np.arange(T)
    if data.frame_rate:
        times = frames / float(data.frame_rate)
    else:
        times = np.full(T, "", dtype="<U1")
    header = ["frame", "time_s"] + [str(int(i)) for i in ids]

    written = [folder / f"traces_{kind}.csv" for kind in TRACE_KINDS] + [folder / "components.csv"]
    with atomic_paths(written) as tmps:
        for kind, tmp in zip(TRACE_KINDS, tmps):
            traces = np.asarray(getattr(comps, kind))[keep]
            _write_rows(tmp, header, [frames, times] + list(traces))
        _write_rows(tmps[-1], *_component_table(data, keep, ids))
    return written


def _component_table(data, keep: np.ndarray, ids: np.ndarray) -> tuple[list[str], list[np.ndarray]]:
    """Header and columns of ``components.csv`` for the components ``keep``."""
    comps = data.components
    status = np.asarray(comps.status)
    H, W = int(data.movie_shape[1]), int(data.movie_shape[2])
    rows, cols, area = footprint_centroids(comps.A[:, keep], (H, W))
    if np.shape(comps.metrics.get("area")) == (comps.n_components,):
        area = np.asarray(comps.metrics["area"], float)[keep]
    # One column per per-component metric; anything else (e.g. a per-frame array) has no place here.
    names = sorted(k for k, v in comps.metrics.items()
                   if k not in ("id", "status", "centroid_row", "centroid_col", "area_px", "area", "reason")
                   and np.shape(v) == (comps.n_components,))
    table_header = ["id", "status", "centroid_row", "centroid_col", "area_px"] + names + ["reason"]
    columns = [ids, np.array([STATUS_NAMES.get(int(s), str(int(s))) for s in status[keep]], dtype=str),
               rows, cols, area]
    columns += [np.asarray(comps.metrics[k])[keep] for k in names]
    reason = comps.reason if comps.reason is not None else np.full(comps.n_components, "", dtype=object)
    columns.append(np.array([_csv_field(r) for r in np.asarray(reason, dtype=object)[keep]], dtype=object))
    return table_header, columns

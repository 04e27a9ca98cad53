"""What an importer reads from another tool's results, before the session makes a session of it.

Plain arrays in this program's conventions (footprints ``A`` sparse (H*W, K) with pixel index
``row * W + col``, traces (K, T), shifts [dy, dx] as :class:`~cnmf_gui.results.MotionResult`
applies them), plus where they came from. The session (``cnmf_gui.session.importing``)
checks them against the movie, fills in what the tool does not give with this program's own
steps and logs the import.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from cnmf_gui.errors import InputFileError


@dataclass
class ImportedResults:
    """Another tool's segmentation and traces.

    Attributes
    ----------
    tool : str
        ``"suite2p"`` or ``"caiman"``.
    source : str
        The plane folder or file read.
    frame_shape : tuple (H, W)
    A : scipy.sparse.csc_matrix of shape (H*W, K)
    F : ndarray of shape (K, T)
        Raw traces (suite2p: F - 0.7 Fneu; CaImAn: C + YrA).
    status : ndarray of shape (K,), int8
        1 accepted, -1 rejected, 0 undecided.
    reason : ndarray of shape (K,), str
        Why the tool gave that status.
    C, S : ndarray of shape (K, T) or None
        Denoised traces and activity, when the tool has both (CaImAn).
    sn, baseline : ndarray of shape (K,) or None
    g : ndarray of shape (K, p) or None
    metrics : dict of str to ndarray of shape (K,)
    background : tuple (b (H*W, nb), f (nb, T)) or None
    shifts : ndarray of shape (T, 2) or None
        Rigid [dy, dx] that aligned each raw frame.
    shifts_pw : ndarray of shape (T, gy, gx, 2) or None
        Piecewise-rigid [dy, dx] per block (rigid part included), as MotionResult holds them.
    patch_centers : ndarray of shape (gy, gx, 2) or None
        [row, col] of each block's centre.
    template : ndarray of shape (H, W) or None
        The tool's reference image (the motion template).
    frame_rate : float or None
    params : dict
        The tool's own settings that say how the result was made (JSON-able), for provenance.
    notes : list of str
        What was taken from where, for the log line.
    """

    tool: str
    source: str
    frame_shape: tuple
    A: sp.csc_matrix
    F: np.ndarray
    status: np.ndarray
    reason: np.ndarray
    C: np.ndarray | None = None
    S: np.ndarray | None = None
    sn: np.ndarray | None = None
    baseline: np.ndarray | None = None
    g: np.ndarray | None = None
    metrics: dict = field(default_factory=dict)
    background: tuple | None = None
    shifts: np.ndarray | None = None
    shifts_pw: np.ndarray | None = None
    patch_centers: np.ndarray | None = None
    template: np.ndarray | None = None
    frame_rate: float | None = None
    params: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)

    @property
    def n_components(self) -> int:
        return int(self.A.shape[1])

    @property
    def n_frames(self) -> int:
        return int(self.F.shape[1])


def jsonable(value, depth: int = 0):
    """A JSON-able copy of a settings value (small arrays as lists, the rest as text)."""
    if depth > 4:
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value][:64]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        if value.size > 64:
            return f"array {value.shape} {value.dtype}"
        return jsonable(value.tolist(), depth + 1)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def detect_tool(path) -> str:
    """``"suite2p"`` for a plane folder (``stat.npy`` inside), ``"caiman"`` for an HDF5 file.

    Raises
    ------
    InputFileError
        Neither (the message says what each import expects).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "stat.npy")):
            return "suite2p"
        planes = sorted(p for p in os.listdir(path) if p.startswith("plane")
                        and os.path.isfile(os.path.join(path, p, "stat.npy")))
        hint = f" (it has plane folders: give one, e.g. {os.path.join(path, planes[0])})" if planes else ""
        raise InputFileError(f"{path} is not a suite2p plane folder: no stat.npy{hint}")
    if not os.path.exists(path):
        raise InputFileError(f"results not found: {path}")
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head == b"\x89HDF\r\n\x1a\n":
        return "caiman"
    raise InputFileError(f"{path} is neither a suite2p plane folder nor a CaImAn HDF5 file (.hdf5)")


def read_results(path) -> ImportedResults:
    """Read a suite2p plane folder or a CaImAn HDF5 file, whichever ``path`` is."""
    if detect_tool(path) == "suite2p":
        from cnmf_gui.io.import_suite2p import read_suite2p
        return read_suite2p(path)
    from cnmf_gui.io.import_caiman import read_caiman
    return read_caiman(path)

"""CaImAn results saved with ``cnm.save("x.hdf5")`` as :class:`~cnmf_gui.io.import_result.ImportedResults`.

CaImAn writes its CNMF object's attributes as an HDF5 tree: ``/estimates`` (the Estimates
object's attributes), ``/params`` (one group per parameter group) and ``/dims``. A value of
None is stored as the text ``NoneType``; a sparse matrix as a group of ``data``, ``indices``,
``indptr`` and ``shape`` (CSC). What is read from ``/estimates``:

- ``A`` (d1*d2, K) sparse footprints, pixels in column-major (Fortran) order of the (d1, d2) =
  (rows, columns) frame -> reordered to this program's row-major pixels;
- ``C``, ``S``, ``YrA`` (K, T): F = C + YrA (CaImAn's raw trace), C and S as they are;
- ``neurons_sn``, ``g``, ``bl`` (noise, AR coefficients, baseline) when present;
- ``b`` (d1*d2, nb), ``f`` (nb, T): the low-rank background (a one-photon ring model is not imported);
- ``idx_components`` / ``idx_components_bad`` (or the curated ``accepted_list`` /
  ``rejected_list``) -> accepted / rejected, the rest undecided;
- ``SNR_comp``, ``r_values``, ``cnn_preds`` as metrics; ``dims`` the frame size; the frame
  rate from ``/params/data/fr``.
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from cnmf_gui.errors import InputFileError
from cnmf_gui.io.import_result import ImportedResults, jsonable


def _is_none(node) -> bool:
    import h5py

    if not isinstance(node, h5py.Dataset) or node.dtype.kind not in "SOU":
        return False
    value = node[()]
    value = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return value == "NoneType"


def _array(group, name: str, dtype=float):
    import h5py

    node = group.get(name)
    if node is None or _is_none(node):
        return None
    if isinstance(node, h5py.Group):
        return node
    value = node[()]
    if isinstance(value, bytes) or (isinstance(value, np.ndarray) and value.dtype.kind in "SOU"):
        return None
    return np.asarray(value, dtype=dtype)


def _sparse(group, path: str, name: str):
    import h5py

    node = group.get(name)
    if node is None or _is_none(node):
        return None
    if isinstance(node, h5py.Dataset):
        value = np.asarray(node[()], float)
        return sp.csc_matrix(value.reshape(value.shape[0], -1))
    try:
        shape = tuple(int(n) for n in np.asarray(node["shape"][()]).ravel())
        return sp.csc_matrix((node["data"][()], node["indices"][()], node["indptr"][()]), shape=shape)
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(f"{path}: /estimates/{name} is not a sparse matrix (data, indices, indptr, shape): "
                             f"{exc}") from None


def _fortran_to_row_major(dims: tuple) -> np.ndarray:
    """``perm[i]``: CaImAn's pixel index of our pixel i (row * W + col)."""
    H, W = dims
    # CaImAn's index of pixel (r, c) is r + c * H; laid out as a (W, H) grid its transpose puts
    # that index at [r, c], and the row-major ravel at r * W + c.
    return np.arange(H * W).reshape(W, H).T.ravel()


def _group_params(h5) -> dict:
    import h5py

    out = {}
    params = h5.get("params")
    if not isinstance(params, h5py.Group):
        return out
    for key, grp in params.items():
        if isinstance(grp, h5py.Group):
            out[key] = {k: jsonable(v[()]) for k, v in grp.items() if isinstance(v, h5py.Dataset)}
    return out


def _indices(est, name: str, K: int, path: str):
    value = _array(est, name, dtype=float)
    if value is None:
        return None
    idx = np.asarray(value, float).ravel()
    if idx.size and (np.any(idx != np.round(idx)) or idx.min() < 0 or idx.max() >= K):
        raise InputFileError(f"{path}: /estimates/{name} holds indices outside 0..{K - 1}")
    return idx.astype(np.int64)


def read_caiman(path) -> ImportedResults:
    """Read a CaImAn CNMF result saved as HDF5.

    Raises
    ------
    InputFileError
        Not HDF5, no ``/estimates/A`` or ``C``, or arrays whose sizes disagree with ``dims``.
    """
    import h5py

    path = os.fspath(path)
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(f"cannot open {path} as HDF5 (truncated or corrupt?): {exc}") from None
    with h5:
        est = h5.get("estimates")
        if not isinstance(est, h5py.Group):
            raise InputFileError(f"{path} is not a CaImAn result: no /estimates group (save it with cnm.save('x.hdf5'))")
        A = _sparse(est, path, "A")
        C = _array(est, "C")
        if A is None or C is None:
            raise InputFileError(f"{path}: /estimates has no A or C: CNMF has not been fitted in this file")
        dims = _array(est, "dims")
        if dims is None:
            dims = _array(h5, "dims")
        if dims is None or np.size(dims) != 2:
            raise InputFileError(f"{path}: no 2-D dims (/estimates/dims or /dims): expected [rows, columns]")
        H, W = (int(n) for n in np.asarray(dims).ravel())
        C = np.atleast_2d(C)
        K, T = C.shape
        if A.shape != (H * W, K):
            raise InputFileError(f"{path}: /estimates/A has shape {A.shape} but dims {H} x {W} and C ({K} "
                                 f"components) need ({H * W}, {K})")
        YrA = _array(est, "YrA")
        S = _array(est, "S")
        for name, arr in (("YrA", YrA), ("S", S)):
            if arr is not None and np.shape(arr) != (K, T):
                raise InputFileError(f"{path}: /estimates/{name} has shape {np.shape(arr)}, C has {(K, T)}")
        order = _fortran_to_row_major((H, W))
        A = A.tocsr()[order].tocsc()
        notes = ["footprints A (column-major pixels reordered), C and S as CaImAn gave them, F = C + YrA"]
        background = None
        b, f = _array(est, "b"), _array(est, "f")
        if isinstance(b, np.ndarray) and isinstance(f, np.ndarray) and b.size and f.size:
            b = b.reshape(H * W, -1)
            f = np.atleast_2d(f)
            if f.shape == (b.shape[1], T):
                background = (b[order], f)
                notes.append(f"low-rank background b, f ({b.shape[1]} components)")
        elif est.get("W") is not None and not _is_none(est["W"]):
            notes.append("CaImAn's one-photon ring background (W, b0) is not imported")

        status = np.zeros(K, np.int8)
        accepted = _indices(est, "accepted_list", K, path)
        rejected = _indices(est, "rejected_list", K, path)
        if accepted is None or (accepted.size == 0 and (rejected is None or rejected.size == 0)):
            accepted = _indices(est, "idx_components", K, path)
            rejected = _indices(est, "idx_components_bad", K, path)
            source = "idx_components / idx_components_bad"
        else:
            source = "accepted_list / rejected_list"
        if accepted is not None:
            status[accepted] = 1
        if rejected is not None:
            status[rejected] = -1
        notes.append(f"statuses from {source}" if accepted is not None or rejected is not None
                     else "no component evaluation in the file: every component undecided")

        metrics, reason = {}, np.full(K, "", dtype=object)
        for ours, theirs in (("caiman_snr", "SNR_comp"), ("caiman_r_value", "r_values"), ("cnn", "cnn_preds")):
            value = _array(est, theirs)
            if value is not None and np.size(value) == K:
                metrics[ours] = np.asarray(value, float).ravel()
        for k in np.flatnonzero(status == -1):
            said = ", ".join(f"{name} {metrics[key][k]:.2f}" for key, name in
                             (("caiman_snr", "SNR"), ("caiman_r_value", "r"), ("cnn", "CNN")) if key in metrics)
            reason[k] = "CaImAn: rejected" + (f" ({said})" if said else "")

        def per_component(name):
            value = _array(est, name)
            return np.asarray(value, float).ravel() if value is not None and np.size(value) == K else None

        sn, baseline = per_component("neurons_sn"), per_component("bl")
        g = _array(est, "g")
        g = np.asarray(g, float).reshape(K, -1) if g is not None and np.size(g) and np.size(g) % K == 0 else None
        params = _group_params(h5)
        rate = params.get("data", {}).get("fr")
        rate = float(rate) if isinstance(rate, (int, float)) and rate > 0 else None
    F = C + (YrA if YrA is not None else 0.0)
    return ImportedResults(tool="caiman", source=os.path.abspath(path), frame_shape=(H, W), A=A, F=F,
                           status=status, reason=reason, C=C, S=S, sn=sn, baseline=baseline, g=g, metrics=metrics, background=background,
                           frame_rate=rate, params=params, notes=notes)

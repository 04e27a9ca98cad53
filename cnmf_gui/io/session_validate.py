"""Check a session file's content completely on load, and name the first problem.

A damaged or hand-edited session (C shorter than the movie, a status of 7, duplicate ids, a
frame rate of -5) would otherwise load and fail later, far from the cause: in deconvolution,
the export or a click in the window. :func:`validate_tree` runs on the raw tree that
:func:`cnmf_gui.io.session_file.load_session` read (after the schema migrations), before any
result object is built, and raises :class:`~cnmf_gui.errors.InputFileError` with one line:
``PATH is damaged: WHAT is WRONG (expected ...)``.

The allowed statuses come from :data:`cnmf_gui.results.STATUS_NAMES`, the one table of them.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.results import STATUS_NAMES

# Per-component arrays of shape (K, T) with T the movie's frame count.
_TRACES = ("C", "S", "F", "dff")
# Per-component vectors of shape (K,).
_VECTORS = ("baseline", "sn", "epsilon", "lam")
# Those that must be finite (dF/F divides by a baseline that may be 0; lam is NaN where unknown).
_FINITE = ("C", "S", "F")


class _Checker:
    def __init__(self, path: str, data: dict):
        self.path = path
        self.data = data

    def fail(self, what: str):
        raise InputFileError(f"{self.path} is damaged: {what}")

    def array(self, key: str, shape: tuple, kinds: str = "biuf", finite: bool = False):
        """The dataset ``key`` (if present) with ``shape`` (None entries: any) and dtype kind."""
        if key not in self.data:
            return None
        value = np.asarray(self.data[key])
        if value.dtype.kind not in kinds:
            self.fail(f"{key} holds {value.dtype} values, expected numbers")
        if value.ndim != len(shape) or any(want is not None and got != want
                                           for got, want in zip(value.shape, shape)):
            expected = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            self.fail(f"{key} has shape {value.shape}, expected {expected}")
        if finite and value.dtype.kind == "f" and value.size and not np.isfinite(value).all():
            where = np.unravel_index(int(np.flatnonzero(~np.isfinite(value.ravel()))[0]), value.shape)
            self.fail(f"{key} has a non-finite value at {tuple(int(i) for i in where)}")
        return value


def validate_tree(tree: dict, path: str) -> None:
    """Raise InputFileError naming the first inconsistency of a session tree, else return.

    Parameters
    ----------
    tree : dict
        ``{"attrs": {"/group": {...}}, "data": {"/group/name": array}}`` at the current schema.
    path : str
        The session file, for the message.
    """
    root = tree["attrs"]["/"]
    groups = tree["attrs"]
    check = _Checker(path, tree["data"])

    raw_shape = np.asarray(root.get("movie_shape", ()))
    if raw_shape.dtype.kind not in "iu" or raw_shape.shape != (3,) or (raw_shape < 1).any():
        check.fail(f"movie_shape attribute {raw_shape.tolist()} is not [T, H, W] of positive integers")
    T, H, W = (int(n) for n in raw_shape)
    rate = root.get("frame_rate")
    if rate is not None:
        try:
            rate = float(np.asarray(rate).item())
        except (TypeError, ValueError):
            check.fail(f"frame_rate attribute {rate!r} is not a number")
        # NaN is how early files said "unknown"; anything else must be a real frame rate.
        if not np.isnan(rate) and not (np.isfinite(rate) and rate > 0):
            check.fail(f"frame_rate is {rate:g} Hz, expected a positive number")
    dtype = root.get("movie_dtype")
    if dtype is not None:
        try:
            np.dtype(dtype.decode() if isinstance(dtype, bytes) else str(dtype))
        except TypeError:
            check.fail(f"movie_dtype attribute {dtype!r} is not a NumPy type")

    if "/motion" in groups:
        check.array("/motion/shifts", (T, 2), "f", finite=True)
        check.array("/motion/template", (H, W), "biuf")
        check.array("/motion/shifts_pw", (T, None, None, 2), "f")
    if "/summary" in groups:
        for name in ("mean", "max", "correlation", "pnr"):
            check.array(f"/summary/{name}", (H, W), "biuf")
    if "/components" in groups:
        _validate_components(check, groups, T, H, W)
    if "/background" in groups:
        b = check.array("/background/b", (H * W, None), "f", finite=True)
        nb = None if b is None else b.shape[1]
        check.array("/background/f", (nb, T), "f", finite=True)
        model = groups["/background"].get("model", "low_rank")
        model = model.decode() if isinstance(model, bytes) else str(model)
        if model not in ("low_rank", "ring"):
            check.fail(f"/background has model {model!r}, expected 'low_rank' or 'ring'")
        if model == "ring":
            check.array("/background/ring/b0", (H, W), "f", finite=True)
            check.array("/background/ring/W_data", (None,), "f", finite=True)
            for key in ("W_indices", "W_indptr", "W_shape", "radius", "factor"):
                if f"/background/ring/{key}" not in check.data:
                    check.fail(f"dataset /background/ring/{key} is missing")


def _validate_components(check: _Checker, groups: dict, T: int, H: int, W: int) -> None:
    data = check.data
    ids = check.array("/components/id", (None,), "iu")
    if ids is None:
        check.fail("dataset /components/id is missing")
    K = ids.shape[0]
    a_shape = tuple(int(n) for n in np.asarray(groups.get("/components/A", {}).get("shape", ())).ravel())
    if a_shape != (H * W, K):
        check.fail(f"/components/A has shape {a_shape}, expected ({H * W}, {K}) for {H} x {W} pixels "
                   f"and {K} ids")
    a_values = check.array("/components/A/data", (None,), "biuf", finite=True)
    if a_values is not None and a_values.size and a_values.min() < 0:
        check.fail("/components/A has negative weights: footprints are non-negative")
    if K and ids.min() < 0:
        check.fail(f"/components/id has a negative id ({int(ids.min())})")
    unique, counts = np.unique(ids, return_counts=True)
    if (counts > 1).any():
        check.fail(f"/components/id repeats id {int(unique[np.argmax(counts > 1)])}: ids must be unique")
    for name in _TRACES:
        key = f"/components/{name}"
        if key not in data:
            check.fail(f"dataset {key} is missing")
        value = check.array(key, (K, None), "f", finite=name in _FINITE)
        if value.shape[1] != T:
            check.fail(f"{key} has {value.shape[1]} frames but the movie has {T}")
    for name in _VECTORS:
        check.array(f"/components/{name}", (K,), "f", finite=name in _FINITE)
    check.array("/components/g", (K, None), "f", finite=True)
    status = check.array("/components/status", (K,), "iu")
    if status is None:
        check.fail("dataset /components/status is missing")
    bad = ~np.isin(status, np.fromiter(STATUS_NAMES, dtype=np.int64))
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        allowed = ", ".join(f"{v} {n}" for v, n in sorted(STATUS_NAMES.items()))
        check.fail(f"/components/status of id {int(ids[k])} is {int(status[k])}, expected one of {allowed}")
    reason = data.get("/components/reason")
    if reason is not None and not isinstance(reason, str) and len(reason) != K:
        check.fail(f"/components/reason has {len(reason)} entries for {K} components")

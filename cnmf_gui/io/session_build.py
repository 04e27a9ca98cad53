"""Build a :class:`~cnmf_gui.results.SessionData` from a session file's tree, checking it.

The tree is what :func:`cnmf_gui.io.session_file.load_session` read and upgraded to the current
schema: ``{"attrs": {"/group": {...}}, "data": {"/group/name": array}}``. Every group is
optional; within a group, a missing or misshapen dataset is an
:class:`~cnmf_gui.errors.InputFileError` that names it.
"""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np

from cnmf_gui.errors import InputFileError, ParameterError
from cnmf_gui.io.session_validate import validate_tree
from cnmf_gui.results import Background, Components, MotionResult, SessionData, SummaryImages

_COMPONENT_ARRAYS = ("C", "S", "F", "dff", "baseline", "sn", "epsilon", "g", "status", "id")


def absolute_movie_path(stored: str, session_path: str) -> str:
    """Undo the relative path stored by save_session: relative to the session's folder."""
    folder = os.path.dirname(os.path.abspath(session_path))
    return os.path.normpath(os.path.join(folder, stored.replace("/", os.sep)))


def text(value) -> str | None:
    """An HDF5 attribute (bytes, str or 0-d array) as str; None stays None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return text(value[()])
    return str(value)


def _need(data: dict, key: str, path: str, ndim: int | None = None):
    if key not in data:
        raise InputFileError(f"{path} is damaged: dataset {key} is missing")
    value = data[key]
    if ndim is not None and np.ndim(value) != ndim:
        raise InputFileError(f"{path} is damaged: {key} has {np.ndim(value)} dimensions, expected {ndim}")
    return np.asarray(value)


def _group_items(data: dict, prefix: str) -> dict:
    """Datasets directly under ``prefix`` (e.g. "/components/metrics/"), by short name."""
    return {k[len(prefix):]: v for k, v in data.items() if k.startswith(prefix) and "/" not in k[len(prefix):]}


def _reasons(value):
    """``/components/reason`` as a list of str (None when absent: version-1 files)."""
    if value is None:
        return None
    return [value] if isinstance(value, str) else [text(v) for v in value]


def build_session(tree: dict, path: str) -> SessionData:
    import scipy.sparse as sp

    from cnmf_gui.params import PipelineParams

    validate_tree(tree, path)
    root = tree["attrs"]["/"]
    data = tree["data"]
    groups = tree["attrs"]
    shape = tuple(int(n) for n in np.asarray(root.get("movie_shape", ())).ravel())
    if len(shape) != 3:
        raise InputFileError(f"{path} is damaged: movie_shape attribute {shape} is not [T, H, W]")
    T, H, W = shape
    stored_movie = text(root.get("movie_path"))
    frame_rate = root.get("frame_rate")
    frame_rate = None if frame_rate is None or not np.isfinite(frame_rate) else float(frame_rate)

    params = None
    if "/params" in groups:
        params_json = text(groups["/params"].get("json"))
        if params_json is None:
            raise InputFileError(f"{path} is damaged: /params has no 'json' attribute")
        try:
            params = PipelineParams.from_json(params_json)
        except ParameterError as exc:
            raise InputFileError(f"{path}: stored parameters are invalid: {exc}") from None

    motion = None
    if "/motion" in groups:
        metrics = {}
        for key, value in _group_items(data, "/motion/metrics/").items():
            value = np.asarray(value)
            metrics[key] = value.item() if value.ndim == 0 else value
        motion = MotionResult(shifts=_need(data, "/motion/shifts", path, 2),
                              template=_need(data, "/motion/template", path, 2),
                              shifts_pw=data.get("/motion/shifts_pw"),
                              patch_centers=data.get("/motion/patch_centers"),
                              metrics=metrics, clamped=int(groups["/motion"].get("clamped", 0)))
        if motion.shifts.shape != (T, 2):
            raise InputFileError(f"{path} is damaged: /motion/shifts has shape {motion.shifts.shape}, "
                                 f"expected ({T}, 2)")

    summary = None
    if "/summary" in groups:
        summary = SummaryImages(**{k: _need(data, f"/summary/{k}", path, 2)
                                   for k in ("mean", "max", "correlation", "pnr")})

    components = None
    if "/components" in groups:
        a_shape = tuple(int(n) for n in np.asarray(groups.get("/components/A", {}).get("shape", ())).ravel())
        if len(a_shape) != 2 or a_shape[0] != H * W:
            raise InputFileError(f"{path} is damaged: /components/A shape {a_shape} does not match "
                                 f"{H * W} pixels")
        try:
            A = sp.csc_matrix((_need(data, "/components/A/data", path, 1),
                               _need(data, "/components/A/indices", path, 1),
                               _need(data, "/components/A/indptr", path, 1)), shape=a_shape)
            A.check_format(full_check=True)
        except ValueError as exc:
            raise InputFileError(f"{path} is damaged: /components/A is not a valid sparse matrix: {exc}") from None
        arrays = {k: _need(data, f"/components/{k}", path) for k in _COMPONENT_ARRAYS}
        try:
            components = Components(A=A, C=arrays["C"], S=arrays["S"], F=arrays["F"], dff=arrays["dff"],
                                    baseline=arrays["baseline"], sn=arrays["sn"], epsilon=arrays["epsilon"],
                                    g=arrays["g"], status=arrays["status"], ids=arrays["id"],
                                    metrics={k: np.asarray(v) for k, v in
                                             _group_items(data, "/components/metrics/").items()},
                                    lam=data.get("/components/lam"),
                                    reason=_reasons(data.get("/components/reason")))
        except ValueError as exc:
            raise InputFileError(f"{path} is damaged: {exc}") from None

    background = None
    if "/background" in groups:
        model = text(groups["/background"].get("model")) or "low_rank"
        arrays = _group_items(data, "/background/ring/") if model == "ring" else None
        background = Background(b=_need(data, "/background/b", path, 2), f=_need(data, "/background/f", path, 2),
                                model=model, arrays=arrays)

    log = data.get("/curation/log", [])
    log = [log] if isinstance(log, str) else list(log)

    kwargs = dict(movie_path=absolute_movie_path(stored_movie, path) if stored_movie else None,
                  movie_shape=shape, movie_dtype=text(root.get("movie_dtype")) or "float32",
                  frame_rate=frame_rate, params=params, motion=motion, summary=summary,
                  components=components, background=background, curation_log=log)
    options = text(root.get("movie_options"))
    if options and "movie_options" in {f.name for f in dataclasses.fields(SessionData)}:
        kwargs["movie_options"] = json.loads(options)
    return SessionData(**kwargs)

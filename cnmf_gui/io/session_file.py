"""The session file: one HDF5 file holding a movie reference, parameters and every result.

Schema version 1 is laid out in DESIGN.md. Beyond it (additions, never removals):
``/motion/patch_centers`` (gy, gx, 2), ``/motion`` attr ``clamped``, ``/components/lam`` (K,),
root attr ``movie_options`` (JSON of the options the movie was opened with, when known).

Schema version 2 adds the status value 2 (inactive: a soma of the mean image without calcium
events) to ``/components/status`` and ``/components/reason`` (K,) UTF-8 strings. A version-1
file is a valid version-2 file (no inactive components, every reason empty), so its migration
changes nothing but the number; a version-1 program refuses a version-2 file, which may hold a
status it does not know.

Writing goes to a temporary file renamed into place, so a crash never leaves half a session.
Reading loads the whole file into a plain tree ``{"attrs": {group: {...}}, "data": {path:
array}}``, upgrades it one schema version at a time through :data:`MIGRATIONS`, then builds a
:class:`~cnmf_gui.results.SessionData`; a file from a newer program is refused.
"""

from __future__ import annotations

import json
import os
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from cnmf_gui import __version__
from cnmf_gui.atomic import check_target
from cnmf_gui.atomic_h5 import atomic_h5
from cnmf_gui.errors import InputFileError, UserError
from cnmf_gui.io.session_revision import ATTRIBUTE as REVISION_ATTRIBUTE, locked, next_revision
from cnmf_gui.io.session_build import build_session, text as _text
from cnmf_gui.results import SessionData

FORMAT = "cnmf_gui"
SCHEMA_VERSION = 2
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"



def _v1_to_v2(tree: dict) -> dict:
    """Version 2 only added a status value and the optional ``/components/reason``: nothing to do."""
    return tree


# MIGRATIONS[n] upgrades a tree of schema version n to version n + 1. Add one function per new
# schema version; load_session chains them. Read-only so that nothing changes it at run time.
MIGRATIONS: Mapping[int, Callable[[dict], dict]] = MappingProxyType({1: _v1_to_v2})


# ----------------------------------------------------------------------------------------------
# Saving
# ----------------------------------------------------------------------------------------------


def is_session_file(path) -> bool:
    """True when ``path`` is an HDF5 file whose root says ``format="cnmf_gui"``."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            if fh.read(8) != HDF5_MAGIC:
                return False
    except OSError:
        return False
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return _text(h5.attrs.get("format")) == FORMAT
    except OSError:
        return False


def _relative_movie_path(movie_path: str, session_path: str) -> str:
    """The movie's path relative to the session's folder, '/'-separated; absolute when it must be."""
    folder = os.path.dirname(os.path.abspath(session_path))
    absolute = os.path.abspath(movie_path)
    try:
        rel = os.path.relpath(absolute, folder)
    except ValueError:  # another drive on Windows: no relative path exists
        return absolute.replace(os.sep, "/")
    return rel.replace(os.sep, "/")


def _params_json(params) -> str | None:
    if params is None:
        return None
    if hasattr(params, "to_json"):
        return params.to_json()
    if isinstance(params, dict):
        return json.dumps(params, indent=2, sort_keys=True)
    raise TypeError(f"SessionData.params must be PipelineParams, a dict or None, got {type(params).__name__}")


def save_session(data: SessionData, path, *, expected_revision: int | None = None) -> int:
    """Write ``data`` to the session file ``path`` (HDF5, schema version :data:`SCHEMA_VERSION`).

    Parameters
    ----------
    data : SessionData
        Only ``movie_shape`` is required; every result group is written only when present.
    path : path-like
        Destination. Written to a temporary file beside it and renamed into place; an
        existing file is replaced only if it is itself a cnmf_gui session file.
    expected_revision : int, optional
        The revision the caller loaded (:func:`~cnmf_gui.io.session_revision.read_revision`
        right after :func:`load_session`): the save is refused if the file has another one now.

    Returns
    -------
    int
        The revision written (root attribute ``revision``, +1 over the replaced file's).

    Raises
    ------
    UserError
        The destination folder does not exist, or ``path`` is an existing file that is not a
        session (e.g. the movie itself), which is never overwritten.
    StaleSessionError
        ``expected_revision`` was given and the file was saved by someone else since.
    """
    # The one writer's checks (missing folder, a folder, a read-only file); replacing is the
    # session rule below, not --force.
    path = check_target(path, force=True, what="session")
    # The movie itself (or any other file) is never a session file, so this also protects it.
    if os.path.exists(path) and not is_session_file(path):
        raise UserError(f"{path} exists and is not a cnmf_gui session file: refusing to overwrite it")
    with locked(path):
        revision = next_revision(path, expected_revision)
        with atomic_h5(path) as h5:
            _write(h5, data, path)
            h5.attrs[REVISION_ATTRIBUTE] = np.int64(revision)
    return revision


def _write(h5, data: SessionData, path: str) -> None:
    attrs = h5.attrs
    attrs["format"] = FORMAT
    attrs["schema_version"] = SCHEMA_VERSION
    attrs["created_by"] = f"cnmf_gui {__version__}"
    if data.movie_path:
        attrs["movie_path"] = _relative_movie_path(str(data.movie_path), path)
    attrs["movie_shape"] = np.asarray(data.movie_shape, dtype=np.int64)
    attrs["movie_dtype"] = str(np.dtype(data.movie_dtype))
    if data.frame_rate is not None:
        attrs["frame_rate"] = float(data.frame_rate)
    options = getattr(data, "movie_options", None)
    if options:
        attrs["movie_options"] = json.dumps(options, sort_keys=True)

    text = _params_json(data.params)
    if text is not None:
        h5.create_group("params").attrs["json"] = text

    if data.motion is not None:
        m = data.motion
        g = h5.create_group("motion")
        g["shifts"] = np.asarray(m.shifts, dtype=np.float32)
        g["template"] = np.asarray(m.template)
        if m.shifts_pw is not None:
            g["shifts_pw"] = np.asarray(m.shifts_pw, dtype=np.float32)
        if m.patch_centers is not None:
            g["patch_centers"] = np.asarray(m.patch_centers)
        g.attrs["clamped"] = int(m.clamped)
        metrics = g.create_group("metrics")
        for key, value in (m.metrics or {}).items():
            metrics[key] = np.asarray(value)

    if data.summary is not None:
        g = h5.create_group("summary")
        for key, value in data.summary.as_dict().items():
            g[key] = np.asarray(value)

    if data.components is not None:
        c = data.components
        g = h5.create_group("components")
        a = g.create_group("A")
        A = c.A.tocsc()
        A.sort_indices()
        a["data"] = A.data
        a["indices"] = A.indices.astype(np.int64)
        a["indptr"] = A.indptr.astype(np.int64)
        a.attrs["shape"] = np.asarray(A.shape, dtype=np.int64)
        for key in ("C", "S", "F", "dff", "baseline", "sn", "epsilon", "g", "status"):
            g[key] = np.asarray(getattr(c, key))
        g["id"] = np.asarray(c.ids, dtype=np.int64)
        if c.lam is not None:
            g["lam"] = np.asarray(c.lam, dtype=float)
        reason = c.reason if c.reason is not None else [""] * c.n_components
        g.create_dataset("reason", data=np.array([str(r) for r in reason], dtype=object),
                         dtype=h5py_string_dtype())
        metrics = g.create_group("metrics")
        for key, value in (c.metrics or {}).items():
            metrics[key] = np.asarray(value)

    if data.background is not None:
        g = h5.create_group("background")
        g.attrs["model"] = getattr(data.background, "model", "low_rank") or "low_rank"
        g["b"] = np.asarray(data.background.b)
        g["f"] = np.asarray(data.background.f)
        if g.attrs["model"] == "ring":   # one-photon (CNMF-E): sparse ring weights W and constant b0
            ring = g.create_group("ring")
            for key, value in (data.background.arrays or {}).items():
                ring[key] = np.asarray(value)

    g = h5.create_group("curation")
    g.create_dataset("log", data=np.array([str(line) for line in data.curation_log], dtype=object),
                     dtype=h5py_string_dtype())


def h5py_string_dtype():
    import h5py

    return h5py.string_dtype(encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# Loading
# ----------------------------------------------------------------------------------------------


def _read_tree(h5) -> dict:
    """Everything in the file: ``{"attrs": {"/group": {...}}, "data": {"/group/name": array}}``."""
    import h5py

    tree: dict = {"attrs": {"/": dict(h5.attrs)}, "data": {}}

    def visit(name, obj):
        key = "/" + name
        if obj.attrs:
            tree["attrs"][key] = dict(obj.attrs)
        if isinstance(obj, h5py.Dataset):
            if h5py.check_string_dtype(obj.dtype) is not None:
                tree["data"][key] = [str(s) for s in obj.asstr()[()]] if obj.ndim else str(obj.asstr()[()])
            else:
                tree["data"][key] = obj[()]
        else:
            tree["attrs"].setdefault(key, {})

    h5.visititems(visit)
    return tree


def upgrade(tree: dict, version: int, path: str, *, migrations: Mapping[int, Callable] = MIGRATIONS,
            target: int = SCHEMA_VERSION) -> dict:
    """Bring a session tree from schema ``version`` up to ``target``, one version at a time.

    Raises
    ------
    InputFileError
        The file is newer than this program, or no migration exists for a step.
    """
    if version > target:
        raise InputFileError(f"{path} was written by a newer cnmf_gui (session schema version {version}; "
                             f"this program reads up to {target}): update cnmf_gui to open it")
    while version < target:
        step = migrations.get(version)
        if step is None:
            raise InputFileError(f"{path} has session schema version {version}, which this program "
                                 f"cannot upgrade (no migration from version {version})")
        tree = step(tree)
        version += 1
        tree["attrs"]["/"]["schema_version"] = version
    return tree


def load_session(path) -> SessionData:
    """Read a session file written by :func:`save_session` (any schema version up to ours).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    SessionData
        With ``movie_path`` made absolute again (relative to the session file's folder).

    Raises
    ------
    InputFileError
        Missing file, not HDF5, not a session, a newer schema, or a damaged group (the
        message names the dataset).
    """
    import h5py

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise InputFileError(f"session file not found: {path}")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputFileError(f"cannot read session file {path}: {exc.strerror}") from None
    if head != HDF5_MAGIC:
        raise InputFileError(f"{path} is not a cnmf_gui session file (not HDF5)")
    try:
        with h5py.File(path, "r") as h5:
            if _text(h5.attrs.get("format")) != FORMAT:
                raise InputFileError(f"{path} is not a cnmf_gui session file (no format='cnmf_gui' attribute; "
                                     f"to open it as a movie, open it as a movie)")
            tree = _read_tree(h5)
    except InputFileError:
        raise
    except (OSError, KeyError, ValueError, RuntimeError) as exc:
        raise InputFileError(f"cannot read session file {path} (truncated or corrupt?): {exc}") from None
    try:
        version = int(np.asarray(tree["attrs"]["/"]["schema_version"]).item())
    except (KeyError, TypeError, ValueError):
        raise InputFileError(f"{path} has no valid schema_version attribute: not a complete session file") from None
    tree = upgrade(tree, version, path)
    try:
        return build_session(tree, path)
    except InputFileError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise InputFileError(f"{path} is damaged: {exc}") from None

"""Reading movies and writing session files and exports (never imports Qt).

The public names are imported on first use, so ``import cnmf_gui.io`` stays cheap and h5py or
tifffile load only when a file of theirs is opened.

- :func:`open_movie` -> :class:`Movie` (lazy (T, H, W) frames from TIFF, HDF5, NPY, series)
- :func:`save_session` / :func:`load_session` (the HDF5 session file of DESIGN.md);
  :func:`read_revision` and ``save_session(..., expected_revision=N)`` refuse a stale save
- :func:`export_csv` (curated traces and component tables as CSV)
"""

from __future__ import annotations

import importlib

# export_csv is imported eagerly: its module has the same name, and a lazy import would leave
# the package attribute pointing at the module instead of the function.
from cnmf_gui.io.export_csv import export_csv
from cnmf_gui.io.movie import Movie, open_movie

_EXPORTS = {
    "save_session": "cnmf_gui.io.session_file",
    "load_session": "cnmf_gui.io.session_file",
    "is_session_file": "cnmf_gui.io.session_file",
    "SCHEMA_VERSION": "cnmf_gui.io.session_file",
    "read_revision": "cnmf_gui.io.session_revision",
    "StaleSessionError": "cnmf_gui.io.session_revision",
}

__all__ = sorted(set(_EXPORTS) | {"export_csv", "Movie", "open_movie"})


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cnmf_gui.io' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))

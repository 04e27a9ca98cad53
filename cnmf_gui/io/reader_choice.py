"""Which reader opens a path: a folder of TIFFs, a file (by extension, checked against its first
bytes), ``FILE.h5:/dataset`` or a glob; the helpers behind :func:`cnmf_gui.io.movie.open_movie`.

Each returns a :class:`~cnmf_gui.io.movie.Movie` from the reader modules, imported when needed so
that opening a TIFF never loads h5py.
"""

from __future__ import annotations

import glob
import os
from typing import TYPE_CHECKING

from cnmf_gui.errors import InputFileError, ParameterError
from cnmf_gui.io.paths import CONTAINER, DATASET_IN_PATH, format_from_extension, natural_key, sniff_format, tiffs_in_folder

if TYPE_CHECKING:
    from cnmf_gui.io.movie import Movie


def _open_path(text: str, format: str | None, options: dict) -> Movie:
    if os.path.isdir(text):
        return _open_files(tiffs_in_folder(text), text, options)
    if os.path.isfile(text):
        return _open_file(text, format, options)
    match = DATASET_IN_PATH.match(text)
    if match and os.path.isfile(match["file"]):
        if options["dataset"] is not None and options["dataset"].strip("/") != match["dataset"].strip("/"):
            raise ParameterError(f"{text} names dataset {match['dataset']} but option dataset="
                                 f"{options['dataset']!r} names another: give only one")
        return _open_file(match["file"], format or "hdf5", dict(options, dataset=match["dataset"]))
    if glob.has_magic(text):
        files = [f for f in glob.glob(text) if os.path.isfile(f)]
        if not files:
            raise InputFileError(f"no files match {text}")
        files.sort(key=natural_key)
        if len(files) == 1:
            return _open_file(files[0], format, options)
        return _open_files(files, text, options)
    raise InputFileError(f"movie file not found: {text}")


def _open_file(path: str, format: str | None, options: dict) -> Movie:
    if not os.path.exists(path):
        raise InputFileError(f"movie file not found: {path}")
    if not os.access(path, os.R_OK):
        raise InputFileError(f"cannot read {path}: permission denied")
    fmt = format or format_from_extension(path)
    sniffed = sniff_format(path)
    if fmt is None:
        ext = os.path.splitext(path)[1] or "(none)"
        hint = f"; it looks like {sniffed.upper()}: pass format='{sniffed}'" if sniffed else ""
        raise InputFileError(f"unknown movie format {ext} for {path}: expected .tif/.tiff, .h5/.hdf5, "
                             f".nwb, .npy or a folder of TIFFs{hint}")
    if sniffed != CONTAINER.get(fmt, fmt):
        if os.path.getsize(path) == 0:
            raise InputFileError(f"{path} is empty (0 bytes): expected a {fmt.upper()} movie")
        what = f"it is {sniffed.upper()}" if sniffed else "its first bytes are not a known header"
        raise InputFileError(f"{path} is not a valid {fmt.upper()} file ({what})")
    _reject_options(path, fmt, options)
    if fmt == "tiff":
        from cnmf_gui.io.tiff_source import open_tiff
        return open_tiff(path, axes=options["axes"], plane=options["plane"], channel=options["channel"])
    if fmt == "hdf5":
        from cnmf_gui.io.hdf5_source import open_hdf5
        return open_hdf5(path, **options)
    if fmt == "nwb":
        from cnmf_gui.io.nwb_source import open_nwb
        return open_nwb(path, **options)
    from cnmf_gui.io.npy_source import open_npy
    return open_npy(path, axes=options["axes"], plane=options["plane"], channel=options["channel"])


def _open_files(files: list[str], source: str | None, options: dict) -> Movie:
    for f in files:
        fmt = format_from_extension(f)
        if fmt != "tiff":
            raise InputFileError(f"{f}: a movie split across files must be TIFF files (.tif, .tiff)")
    _reject_options(files[0], "tiff", options)
    from cnmf_gui.io.tiff_series import TiffSeriesMovie
    if source is None:
        source = os.path.commonpath([os.path.abspath(f) for f in files])
    return TiffSeriesMovie(files, source=source, axes=options["axes"], plane=options["plane"],
                           channel=options["channel"])


def _reject_options(path: str, fmt: str, options: dict) -> None:
    if fmt not in ("hdf5", "nwb") and options.get("dataset") is not None:
        raise ParameterError(f"option dataset applies to HDF5 and NWB files only, but {path} is {fmt.upper()}")

"""Where a movie is and what kind of file it is: extensions, magic bytes, natural order.

Kept apart from the readers so that choosing a reader never imports one.
"""

from __future__ import annotations

import os
import re

from cnmf_gui.errors import InputFileError

TIFF_EXTENSIONS = (".tif", ".tiff", ".btf", ".tf2", ".tf8")
HDF5_EXTENSIONS = (".h5", ".hdf5", ".hdf", ".he5")
NPY_EXTENSIONS = (".npy",)
NWB_EXTENSIONS = (".nwb",)
# "file.h5:/group/name" names a dataset inside an HDF5 file.
DATASET_IN_PATH = re.compile(r"^(?P<file>.+\.(?:h5|hdf5|hdf|he5)):(?P<dataset>/?[^:\\]+)$", re.IGNORECASE)
MAGIC = {b"II*\x00": "tiff", b"MM\x00*": "tiff", b"II+\x00": "tiff", b"MM\x00+": "tiff",
         b"\x89HDF\r\n\x1a\n": "hdf5", b"\x93NUMPY": "npy"}
# Formats stored inside another's container: their first bytes are the container's.
CONTAINER = {"nwb": "hdf5"}


def natural_key(path: str):
    """Sort key that orders ``2.tif`` before ``10.tif``."""
    name = os.path.basename(path)
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)], path


def sniff_format(path: str) -> str | None:
    """The format a file's first bytes announce (``"tiff"``, ``"hdf5"``, ``"npy"``) or None."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return None
    for magic, fmt in MAGIC.items():
        if head.startswith(magic):
            return fmt
    return None


def format_from_extension(path: str) -> str | None:
    ext = os.path.splitext(path)[1].lower()
    if ext in TIFF_EXTENSIONS:
        return "tiff"
    if ext in HDF5_EXTENSIONS:
        return "hdf5"
    if ext in NPY_EXTENSIONS:
        return "npy"
    if ext in NWB_EXTENSIONS:
        return "nwb"
    return None


def tiffs_in_folder(folder: str) -> list[str]:
    files = [os.path.join(folder, f) for f in os.listdir(folder)
             if f.lower().endswith(TIFF_EXTENSIONS) and not f.startswith(".")]
    if not files:
        raise InputFileError(f"folder {folder} holds no TIFF files (.tif, .tiff): expected a movie "
                             f"split across TIFF files")
    return sorted(files, key=natural_key)


def describe_size(n_bytes: int) -> str:
    """``1234567`` -> ``'1.2 MB'`` (powers of 1000, as file managers show)."""
    size = float(n_bytes)
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"

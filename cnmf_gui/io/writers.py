"""Writing a motion-corrected movie to HDF5 or TIFF, chunk by chunk, and the motion results.

Layout of what is written (the names of the session file's ``/motion`` group, DESIGN.md):

- ``OUT.h5`` / ``OUT.hdf5``: dataset ``/mov`` (T, H, W) float32, chunked by whole frames, with
  attrs ``source`` (the raw movie's path when known), ``motion`` ("rigid" or
  "piecewise-rigid") and ``motion_group`` ("/motion"); and the group ``/motion``:
  ``shifts`` (T, 2) [dy, dx], ``template`` (H, W), ``shifts_pw`` (T, gy, gx, 2) and
  ``patch_centers`` (gy, gx, 2) when piecewise-rigid, attr ``clamped``, and
  ``metrics/<name>`` for every QC number.
- ``OUT.tif`` / ``OUT.tiff``: one float32 page per frame (BigTIFF when the movie needs more
  than 4 GB); the motion results go to a separate HDF5 file (see :func:`motion_sidecar`).

Every file is written to a temporary name beside the destination and renamed into place when
complete (:mod:`cnmf_gui.atomic`, :func:`cnmf_gui.atomic_h5.atomic_h5` for HDF5): a cancel, an
error or a full disk leaves nothing behind, never touches an existing file, and is one line
naming the file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np

from cnmf_gui.atomic import WriteError, atomic_paths, describe
from cnmf_gui.atomic_h5 import atomic_h5, check_h5_error, h5_on_temporary
from cnmf_gui.errors import InputFileError, UserError
from cnmf_gui.progress import checkpoint
from cnmf_gui.results import MotionResult

HDF5_SUFFIXES = (".h5", ".hdf5")
TIFF_SUFFIXES = (".tif", ".tiff")
DATASET = "mov"
# Frames per HDF5 chunk: about 1 MiB per chunk, whole frames only.
_CHUNK_BYTES = 2 ** 20
# Classic TIFF addresses 4 GB; stay well under it (IFDs and tags take room too).
_BIGTIFF_BYTES = 2 ** 32 - 2 ** 25


def output_kind(path) -> str:
    """``"hdf5"`` or ``"tiff"`` from the file's extension; UserError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix in HDF5_SUFFIXES:
        return "hdf5"
    if suffix in TIFF_SUFFIXES:
        return "tiff"
    raise UserError(f"cannot write a corrected movie to {os.fspath(path)}: expected a .h5, .hdf5, .tif or "
                    f".tiff file name")


def motion_sidecar(path) -> Path:
    """Where the motion results of a TIFF output go: ``OUT.motion.h5`` beside ``OUT.tif``."""
    p = Path(path)
    return p.with_name(p.stem + ".motion.h5")


def write_motion_group(group, result: MotionResult) -> None:
    """Write a MotionResult into an (empty) h5py group, with the session file's names."""
    group.create_dataset("shifts", data=np.asarray(result.shifts, np.float32))
    group.create_dataset("template", data=np.asarray(result.template, np.float32))
    if result.shifts_pw is not None:
        group.create_dataset("shifts_pw", data=np.asarray(result.shifts_pw, np.float32))
    if result.patch_centers is not None:
        group.create_dataset("patch_centers", data=np.asarray(result.patch_centers, np.float32))
    group.attrs["clamped"] = int(result.clamped)
    metrics = group.create_group("metrics")
    for key, value in (result.metrics or {}).items():
        metrics.create_dataset(key, data=np.asarray(value))


def read_motion(path) -> MotionResult:
    """Read the ``/motion`` group of a file written here (or of a session file).

    Raises
    ------
    InputFileError
        The file cannot be opened or has no ``/motion`` group.
    """
    import h5py

    try:
        fh = h5py.File(os.fspath(path), "r")
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read motion results from {os.fspath(path)}: {exc}") from None
    with fh:
        if "motion" not in fh or "shifts" not in fh["motion"]:
            raise InputFileError(f"{os.fspath(path)} has no /motion group with shifts: expected a file "
                                 f"written by 'cnmf-gui motion' or a session file")
        g = fh["motion"]
        metrics = {}
        for key, ds in g.get("metrics", {}).items():
            value = ds[()]
            metrics[key] = float(value) if np.ndim(value) == 0 else np.asarray(value)
        return MotionResult(
            shifts=g["shifts"][()], template=g["template"][()],
            shifts_pw=g["shifts_pw"][()] if "shifts_pw" in g else None,
            patch_centers=g["patch_centers"][()] if "patch_centers" in g else None,
            metrics=metrics, clamped=int(g.attrs.get("clamped", 0)))


def write_motion(result: MotionResult, path) -> Path:
    """Write a MotionResult alone to an HDF5 file (group ``/motion``), atomically."""
    path = Path(path)
    with atomic_h5(path) as fh:
        write_motion_group(fh.create_group("motion"), result)
    return path


class CorrectedWriter:
    """Receives corrected frames in order and writes them to HDF5 or TIFF.

    Use as a context manager; call :meth:`write` with consecutive chunks and :meth:`finish`
    with the motion result before leaving the block. The file appears under its final name only
    when the block ends without an error; a TIFF output and its ``.motion.h5`` sidecar
    (:func:`motion_sidecar`) appear together or not at all.

    Parameters
    ----------
    path : path-like
        ``.h5``/``.hdf5`` or ``.tif``/``.tiff``.
    shape : (int, int, int)
        (T, H, W) of the movie.
    attrs : dict, optional
        Attributes for the HDF5 dataset.
    """

    def __init__(self, path, shape, attrs=None):
        self.path = Path(path)
        self.kind = output_kind(path)
        self.shape = tuple(int(s) for s in shape)
        self.attrs = dict(attrs or {})
        self.written = 0
        self._stack = None
        self._target = None
        self._tiff = None

    def __enter__(self):
        stack = contextlib.ExitStack()
        try:
            T, H, W = self.shape
            if self.kind == "hdf5":
                fh = stack.enter_context(atomic_h5(self.path))
                per_chunk = int(max(1, min(T, _CHUNK_BYTES // max(H * W * 4, 1))))
                self._target = fh.create_dataset(DATASET, shape=(T, H, W), dtype=np.float32,
                                                 chunks=(per_chunk, H, W) if T else None)
                for key, value in self.attrs.items():
                    self._target.attrs[key] = value
                self._file = fh
            else:
                import tifffile

                self._tmps = stack.enter_context(atomic_paths([self.path, motion_sidecar(self.path)]))
                bigtiff = T * H * W * 4 > _BIGTIFF_BYTES
                self._tiff = stack.enter_context(tifffile.TiffWriter(self._tmps[0], bigtiff=bigtiff))
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def write(self, start: int, frames: np.ndarray) -> None:
        """Write frames ``start .. start + len(frames)`` (must follow the previous ones)."""
        if start != self.written:
            raise ValueError(f"frames must be written in order: expected frame {self.written}, got {start}")
        frames = np.asarray(frames, np.float32)
        if self.kind == "hdf5":
            self._target[start:start + len(frames)] = frames
            check_h5_error(self._file)  # a full disk stops the work now, not after the last frame
        else:
            try:
                for frame in frames:
                    # One page per frame, all in one contiguous series.
                    self._tiff.write(frame, contiguous=True, photometric="minisblack")
            except OSError as exc:
                raise WriteError(f"cannot write {self.path}: {describe(exc)}") from None
        self.written += len(frames)

    def finish(self, result: MotionResult | None = None) -> None:
        """Check that every frame arrived; store the motion result (group ``/motion`` of an
        HDF5 output, the sidecar of a TIFF output, which therefore needs it)."""
        if self.written != self.shape[0]:
            raise ValueError(f"only {self.written} of {self.shape[0]} frames were written")
        if self.kind == "hdf5":
            if result is not None:
                write_motion_group(self._file.create_group("motion"), result)
            return
        if result is None:
            raise ValueError("a TIFF output needs the motion result for its .motion.h5 sidecar")
        with h5_on_temporary(self._tmps[1], os.fspath(motion_sidecar(self.path))) as fh:
            write_motion_group(fh.create_group("motion"), result)

    def __exit__(self, exc_type, exc, tb):
        # ExitStack closes the file, then renames it into place (or deletes it on error).
        return self._stack.__exit__(exc_type, exc, tb)


def write_corrected(movie, motion_result: MotionResult, path, *, progress=None, chunk_frames: int = 256) -> Path:
    """Write a motion-corrected movie chunk by chunk, never holding the whole movie in memory.

    Parameters
    ----------
    movie : array_like of shape (T, H, W)
        The raw movie: a NumPy array or any object with ``.shape`` and slicing (e.g. a
        :class:`cnmf_gui.io.Movie`).
    motion_result : MotionResult
        From :func:`cnmf_gui.engine.motion.estimate_motion` on this movie.
    path : path-like
        ``.h5``/``.hdf5`` (dataset ``/mov`` plus the ``/motion`` group) or ``.tif``/``.tiff``
        (frames; the results go to :func:`motion_sidecar` beside it, written together).
    progress : Progress, optional
        Reports fractions; cancelling raises :class:`~cnmf_gui.errors.Cancelled` and leaves no
        file.
    chunk_frames : int
        Frames corrected and written at a time.

    Returns
    -------
    Path
        ``path``.
    """
    from cnmf_gui.engine.motion import CorrectedMovie

    output_kind(path)
    view = CorrectedMovie(movie, motion_result)
    T = view.shape[0]
    attrs = {"motion": "piecewise-rigid" if motion_result.shifts_pw is not None else "rigid",
             "motion_group": "/motion"}
    source = getattr(movie, "path", None)
    if source is not None:
        attrs["source"] = os.fspath(source) if not isinstance(source, (list, tuple)) else os.fspath(source[0])
    checkpoint(progress, 0.0, "writing: corrected movie")
    with CorrectedWriter(path, view.shape, attrs) as writer:
        for start, frames in view.iter_chunks(chunk_frames):
            writer.write(start, frames)
            checkpoint(progress, (start + len(frames)) / max(T, 1), f"writing: frame {start + len(frames)} of {T}")
        writer.finish(motion_result)
    return Path(path)

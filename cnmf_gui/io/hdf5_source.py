"""HDF5 movies: the one 3-D dataset of a file, or the one named, in any stored axis order.

Contiguous, uncompressed datasets are memory-mapped (NumPy reads them faster than h5py);
chunked or compressed ones are read through h5py one run of frames at a time.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from cnmf_gui.errors import InputFileError, ParameterError, SeveralMoviesError
from cnmf_gui.io.array_source import ArrayMovie, OffsetTable, _reason
from cnmf_gui.io.guarded_map import guard
from cnmf_gui.io.layout import Layout, parse_axes_option

# A last axis this many times shorter than both others is taken for time (SIMA stores
# movies as rows, columns, time); the guess is announced with a warning.
_GUESS_RATIO = 4
_FRAME_RATE_ATTRS = ("frame_rate", "fs", "fps", "frame_rate_hz", "sampling_rate", "rate")


class AxisOrderWarning(UserWarning):
    """The stored axis order was guessed from the shape; pass ``axes=`` to say it."""


def _datasets(h5) -> list:
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            found.append(obj)

    h5.visititems(visit)
    return found


def _pick_dataset(h5, path: str, dataset: str | None):
    import h5py

    if dataset is not None:
        if not isinstance(dataset, str):
            raise ParameterError(f"option dataset must be a dataset name such as '/data/image', got {dataset!r}")
        obj = h5.get(dataset)
        if not isinstance(obj, h5py.Dataset):
            names = ", ".join(f"{d.name} {d.shape}" for d in _datasets(h5) if len(d.shape) >= 2) or "none"
            raise InputFileError(f"{path} has no dataset {dataset!r}; its image datasets are: {names}")
        return obj
    candidates = [d for d in _datasets(h5) if len(d.shape) == 3 and d.dtype.kind in "biuf"]
    if len(candidates) == 1:
        return candidates[0]
    if len(candidates) > 1:
        labels = [f"{d.name} {d.shape}" for d in candidates]
        raise SeveralMoviesError(f"{path} holds several 3-D datasets ({', '.join(labels)}): pick one with "
                                 f"dataset=NAME, --dataset NAME or {path}:NAME",
                                 [d.name for d in candidates], labels)
    higher = [d for d in _datasets(h5) if len(d.shape) > 3 and d.dtype.kind in "biuf"]
    if len(higher) == 1:
        return higher[0]  # the layout explains how to pick a plane or channel
    if higher:
        names = ", ".join(f"{d.name} {d.shape}" for d in higher)
        raise InputFileError(f"{path} holds no 3-D dataset but several of higher dimension ({names}): "
                             f"pick one with dataset=NAME and give axes= and plane= or channel=")
    shown = ", ".join(f"{d.name} {d.shape}" for d in _datasets(h5)) or "none"
    raise InputFileError(f"{path} holds no 3-D (T x H x W) dataset; its datasets are: {shown}")


def _labelled_axes(ds) -> str | None:
    """Axis letters from HDF5 dimension scales' labels ("t"/"time", "y"/"row", ...), if all set."""
    words = {"t": "t", "time": "t", "frame": "t", "frames": "t", "y": "h", "row": "h", "rows": "h",
             "h": "h", "x": "w", "col": "w", "column": "w", "columns": "w", "w": "w",
             "z": "z", "plane": "z", "planes": "z", "c": "c", "channel": "c", "channels": "c"}
    try:
        labels = [str(dim.label).strip().lower() for dim in ds.dims]
    except Exception:  # dimension scales are optional and some files carry broken ones
        return None
    letters = [words.get(label) for label in labels]
    if None in letters:
        return None
    return "".join(letters)


def _frame_rate(h5, ds) -> float | None:
    for obj in (ds, h5):
        for key in _FRAME_RATE_ATTRS:
            if key in obj.attrs:
                try:
                    value = float(np.asarray(obj.attrs[key]).ravel()[0])
                except (TypeError, ValueError, IndexError):
                    continue
                if np.isfinite(value) and value > 0:
                    return value
    return None


def open_hdf5(path: str, *, dataset: str | None = None, axes: str | None = None,
              plane: int | None = None, channel: int | None = None) -> ArrayMovie:
    """Open one dataset of an HDF5 file as a movie.

    Parameters
    ----------
    path : str
        The HDF5 file.
    dataset : str, optional
        Name of the dataset; by default the only 3-D numeric dataset in the file.
    axes : str, optional
        Stored axis order, e.g. ``"hwt"`` for (rows, columns, time). Without it, dimension
        labels are used when present; otherwise (T, H, W) is assumed, except that a last axis
        at least 4 times shorter than both others is read as time, with an
        :class:`AxisOrderWarning`.
    plane, channel : int, optional
        Which plane / channel to read from 4-D or 5-D data.

    Returns
    -------
    ArrayMovie
    """
    import h5py

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(f"cannot open {path} as HDF5 (truncated or corrupt?): {_reason(exc)}") from None
    try:
        ds = _pick_dataset(h5, path, dataset)
        name = f"{path}:{ds.name}"
        if ds.dtype.kind not in "biuf":
            raise InputFileError(f"{name} holds {ds.dtype} values: expected integers or floats")
        shape = ds.shape
        guessed = False
        if axes is not None:
            letters = parse_axes_option(axes, len(shape), name)
        elif (labelled := _labelled_axes(ds)) is not None and sorted(labelled) == sorted(set(labelled)):
            letters = labelled
        elif len(shape) == 3:
            guessed = shape[2] * _GUESS_RATIO <= min(shape[0], shape[1])
            letters = "hwt" if guessed else "thw"
        elif len(shape) == 2:
            letters = "hw"
        else:
            raise InputFileError(
                f"{name} has {len(shape)}-D data of shape {shape}: say which axis is which with axes= "
                f"(e.g. axes='tzhw') and pick a plane with plane=N or a channel with channel=N "
                f"(--axes tzhw --plane 0 on the command line)")
        layout = Layout(shape, letters, name, plane=plane, channel=channel)
        if guessed:
            warnings.warn(f"{name} of shape {shape} read as rows x columns x time (axes='hwt') because its "
                          f"last axis is much shorter; pass axes='thw' if it is time x rows x columns",
                          AxisOrderWarning, stacklevel=5)
        frame_rate = _frame_rate(h5, ds)
        array, storage = _memory_map(path, ds, layout)
        reopen = path if dataset is None else f"{path}:{ds.name}"
        details = {"dataset": ds.name, "storage": storage}
        if array is not None:
            h5.close()
            return ArrayMovie(guard(array, path), layout, fancy=True, format="hdf5", path=reopen, paths=[path],
                              frame_rate=frame_rate, details=details)
        ds = _tune_chunk_cache(h5, ds, layout)
        return ArrayMovie(_DatasetReader(ds), layout, fancy=False, closer=h5.close, format="hdf5", path=reopen,
                          paths=[path], frame_rate=frame_rate, details=details)
    except BaseException:
        h5.close()
        raise


def _tune_chunk_cache(h5, ds, layout: Layout):
    """Reopen a chunked dataset with a chunk cache suited to reading frames.

    Chunks holding whole frames without filters are best read straight into our buffer, so the
    cache is turned off (it would add one copy per chunk). Chunks cut across frames (e.g. a
    movie stored as rows, columns, time) or compressed need a cache large enough that reading
    frame after frame does not decode each chunk again: 64 MB.
    """
    import h5py

    chunks = ds.chunks
    if chunks is None:
        return ds
    whole_frames = all(chunks[i] == ds.shape[i] for i, a in enumerate(layout.axes) if a in "hw")
    unfiltered = ds.compression is None and not ds.shuffle and not ds.fletcher32 and ds.scaleoffset is None
    nbytes = 0 if (whole_frames and unfiltered) else 64 * 2**20
    try:
        dapl = h5py.h5p.create(h5py.h5p.DATASET_ACCESS)
        dapl.set_chunk_cache(10007, nbytes, 0.75)
        return h5py.Dataset(h5py.h5d.open(h5.id, ds.name.encode("utf-8"), dapl))
    except Exception:  # the default cache still reads correctly, only slower
        return ds


class _DatasetReader:
    """Reads slices of an h5py dataset with ``read_direct`` into a fresh array.

    For whole-frame slices this is about 1.5 times as fast as ``dataset[key]``, whose general
    selection machinery dominates when chunks are single frames.
    """

    def __init__(self, ds):
        self._ds = ds
        self.dtype = ds.dtype
        self.shape = ds.shape

    def __getitem__(self, key):
        if not all(isinstance(k, slice) for k in key):
            return self._ds[key]
        shape = tuple(len(range(*k.indices(n))) for k, n in zip(key, self.shape))
        out = np.empty(shape, self.dtype)
        if out.size:
            self._ds.read_direct(out, source_sel=key)
        return out


def _memory_map(path: str, ds, layout: Layout):
    """A read-only memory map of an unfiltered dataset's storage, or (None, description).

    Contiguous datasets map directly. Chunked ones map too when each chunk holds whole frames
    along the stored first axis and the chunks lie in the file at a constant stride (as when
    written frame after frame): HDF5's per-chunk bookkeeping then costs more than the copy.
    """
    chunks = ds.chunks
    if chunks is not None:
        filters = ", ".join(f for f in (ds.compression, "shuffle" if ds.shuffle else None,
                                        "fletcher32" if ds.fletcher32 else None) if f)
        described = f"chunked {chunks}" + (f", {filters}" if filters else "")
        array = None if filters or ds.scaleoffset is not None else _map_chunks(path, ds, layout)
        return array, described + (", memory-mapped" if array is not None else "")
    try:
        offset = ds.id.get_offset()
    except Exception:  # external or virtual storage has no single offset
        offset = None
    if offset is None or ds.size == 0:
        return None, "contiguous (not memory-mappable)"
    try:
        array = np.memmap(path, mode="r", dtype=ds.dtype, offset=offset, shape=ds.shape, order="C")
    except (ValueError, OSError) as exc:
        raise InputFileError(f"{path}:{ds.name} is truncated or unreadable: {_reason(exc)}") from None
    return array, "contiguous, memory-mapped"


def _map_chunks(path: str, ds, layout: Layout):
    """Strided view of the file over chunks of whole frames, or None when they do not fit."""
    chunks, shape = ds.chunks, ds.shape
    if layout.axes[0] != "t" or tuple(chunks[1:]) != tuple(shape[1:]) or ds.size == 0 \
            or not hasattr(ds.id, "chunk_iter"):
        return None
    n_chunks = -(-shape[0] // chunks[0])
    found: list[tuple[int, int]] = []
    try:
        ds.id.chunk_iter(lambda info: found.append((info.chunk_offset[0], info.byte_offset)))
    except Exception:  # older HDF5 without H5Dchunk_iter: h5py reads them
        return None
    if len(found) != n_chunks:  # unwritten chunks have no storage (they read as fill value)
        return None
    found.sort()
    offsets = np.array([o for _, o in found], dtype=np.int64)
    chunk_bytes = int(np.prod(chunks)) * ds.dtype.itemsize
    frame_bytes = int(np.prod(shape[1:])) * ds.dtype.itemsize
    if int(offsets.max()) + chunk_bytes > os.path.getsize(path):
        return None
    stride = int(offsets[1] - offsets[0]) if n_chunks > 1 else chunk_bytes
    even = not np.any(np.diff(offsets) != stride) and (stride == chunk_bytes or (chunks[0] == 1 and stride > chunk_bytes))
    if not even:
        # HDF5 puts its chunk index between data chunks now and then: gather frame by frame.
        frames = np.arange(shape[0])
        return OffsetTable(path, offsets[frames // chunks[0]] + (frames % chunks[0]) * frame_bytes,
                           shape, ds.dtype)
    span = int(offsets[-1] - offsets[0]) + chunk_bytes
    raw = np.memmap(path, mode="r", dtype=np.uint8, offset=int(offsets[0]), shape=(span,))
    inner = [ds.dtype.itemsize]
    for n in reversed(shape[2:]):
        inner.insert(0, inner[0] * n)
    # chunks of one frame: a frame every `stride` bytes; chunks of k frames: back to back
    step = stride if chunks[0] == 1 else frame_bytes
    return np.ndarray(shape, dtype=ds.dtype, buffer=raw, strides=(step, *inner))

"""TIFF and BigTIFF movies, including ImageJ hyperstacks and ScanImage files.

Three ways to read, fastest first, chosen at open from the file's layout:

1. the image data is one contiguous uncompressed block: memory-map it whole;
2. every page is uncompressed and pages are evenly spaced (an IFD between frames, as ImageJ and
   many microscopes write): memory-map the file once and view it with a page stride;
3. otherwise (compressed pages, uneven spacing): decode the pages asked for, on demand, keeping
   a small least-recently-used cache of decoded pages for scrubbing back and forth.

tifffile does the parsing; its log messages (e.g. about the malformed ImageJ metadata some
acquisition programs write) are kept from the user, and its failures become one-line
:class:`~cnmf_gui.errors.InputFileError` messages.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections import OrderedDict

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.io.array_source import ArrayMovie, OffsetTable, _reason
from cnmf_gui.io.guarded_map import guard
from cnmf_gui.io.layout import Layout, parse_axes_option

CACHE_BYTES = 32 * 2**20
# tifffile logs (rather than raises) when an IFD chain is broken; these mean the file is
# truncated or corrupt. Other messages, e.g. "ImageJ series metadata invalid" for files whose
# metadata merely overstates their size, are harmless and stay hidden.
_CORRUPTION_MARKERS = ("invalid page offset", "corrupted tag list", "failed to reshape", "truncated",
                       "invalid ifd", "unexpected end")
_TIFF_AXES = {"T": "t", "I": "t", "Q": "t", "Z": "z", "C": "c", "S": "c", "Y": "h", "X": "w"}


class _Silence(logging.Filter):
    """Swallows tifffile's log records (kept in ``records`` for error messages)."""

    def __init__(self):
        super().__init__()
        self.records: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        # Drop tifffile's "<tifffile.TiffPages @8>" prefixes: the user knows which file it is.
        self.records.append(re.sub(r"<[^>]*>\s*", "", record.getMessage()).strip())
        return False

    def corruption(self) -> str | None:
        """The first message that says the file is truncated or corrupt, if any."""
        return next((m for m in self.records if any(k in m.lower() for k in _CORRUPTION_MARKERS)), None)


@contextlib.contextmanager
def quiet_tifffile():
    """Keep tifffile's warnings (malformed ImageJ metadata, odd tags) off the user's terminal."""
    logger = logging.getLogger("tifffile")
    silence = _Silence()
    logger.addFilter(silence)
    try:
        yield silence
    finally:
        logger.removeFilter(silence)


class TiffPageArray:
    """Array-like view of a TIFF series whose pages must be decoded one at a time.

    Parameters
    ----------
    tif : tifffile.TiffFile
        Open file; this object closes it.
    pages : list of tifffile.TiffPage or TiffFrame
        One per page of the series, in order.
    shape : tuple of int
        Shape of the series: leading axes enumerate pages, trailing axes are ``page_shape``.
    page_shape : tuple of int
    dtype : numpy.dtype
    cache_bytes : int
        Budget for the cache of decoded pages.
    """

    def __init__(self, tif, pages, shape, page_shape, dtype, cache_bytes: int = CACHE_BYTES):
        self._tif = tif
        self._pages = pages
        self.shape = tuple(shape)
        self.page_shape = tuple(page_shape)
        self.dtype = np.dtype(dtype)
        self.ndim = len(self.shape)
        self._lead = self.shape[:self.ndim - len(self.page_shape)]
        page_bytes = max(int(np.prod(self.page_shape)) * self.dtype.itemsize, 1)
        self._capacity = max(4, cache_bytes // page_bytes)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()  # tifffile's file handle and our cache are not thread-safe

    def _page(self, i: int) -> np.ndarray:
        with self._lock:
            hit = self._cache.get(i)
            if hit is not None:
                self._cache.move_to_end(i)
                return hit
            page = self._pages[i]
            if page is None:
                raise InputFileError(f"cannot read {self._tif.filehandle.path}: page {i} is missing "
                                     f"(truncated or corrupt file)")
            try:
                with quiet_tifffile():
                    data = page.asarray()
            except Exception as exc:  # codecs raise their own exception types
                raise InputFileError(f"cannot decode page {i} of {self._tif.filehandle.path} "
                                     f"(truncated or corrupt file): {_reason(exc)}") from exc
            data = data.reshape(self.page_shape)
            self._cache[i] = data
            if len(self._cache) > self._capacity:
                self._cache.popitem(last=False)
            return data

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        key = key + (slice(None),) * (self.ndim - len(key))
        n_lead = len(self._lead)
        grid = np.arange(int(np.prod(self._lead)), dtype=np.int64).reshape(self._lead)[key[:n_lead]]
        grid = np.asarray(grid)
        flat = grid.ravel()
        out = np.empty((flat.size,) + self.page_shape, self.dtype)
        for j, i in enumerate(flat):
            out[j] = self._page(int(i))
        out = out.reshape(grid.shape + self.page_shape)
        return out[(slice(None),) * grid.ndim + tuple(key[n_lead:])]

    def close(self) -> None:
        with self._lock:
            self._cache.clear()
            self._tif.close()


def _appended_stacks(all_series, page) -> bool:
    """Whether several series are stacks of whole-page frames of one size (appended writes)."""
    first = all_series[0]
    return (len(all_series) > 1 and len(first.shape) == 3 and first.axes[0] in "QITZ"
            and page is not None and tuple(page.shape) == tuple(first.shape[1:])
            and all(s.axes == first.axes and s.dtype == first.dtype and s.shape[1:] == first.shape[1:]
                    for s in all_series))


def _tiff_letters(axes: str, shape) -> str:
    """Map tifffile's axis codes to ours; samples count as channels unless channels exist."""
    has_channels = any(a == "C" and n > 1 for a, n in zip(axes, shape))
    letters = []
    for a in axes:
        letter = _TIFF_AXES.get(a, "q")
        if a == "S" and has_channels:
            letter = "q"
        letters.append(letter)
    return "".join(letters)


def _number(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if np.isfinite(value) and value > 0 else None


def tiff_frame_rate(tif, *, per_volume: bool = False) -> float | None:
    """Frames per second from ScanImage, ImageJ, OME or tifffile metadata, or None.

    Parameters
    ----------
    tif : tifffile.TiffFile
    per_volume : bool
        For ScanImage volume imaging, the rate of one plane's frames (the volume rate).
    """
    if tif.is_scanimage:
        try:
            frame_data = (tif.scanimage_metadata or {}).get("FrameData", {})
        except Exception:  # ScanImage metadata is optional; tifffile may fail on old versions
            frame_data = {}
        return scanimage_frame_rate(frame_data, tif.pages.first.description, per_volume=per_volume)
    if tif.is_imagej:
        meta = tif.imagej_metadata or {}
        interval = _number(meta.get("finterval"))
        if interval:
            return 1.0 / interval
        return _number(meta.get("fps"))
    if tif.is_ome:
        match = re.search(r'TimeIncrement="([0-9.eE+-]+)"', tif.pages.first.description or "")
        unit = re.search(r'TimeIncrementUnit="(\w+)"', tif.pages.first.description or "")
        interval = _number(match.group(1)) if match else None
        if interval:
            scale = {"ms": 1e-3, "us": 1e-6, "µs": 1e-6, "min": 60.0, "h": 3600.0}.get(unit.group(1) if unit else "s", 1.0)
            return 1.0 / (interval * scale)
    if tif.is_shaped:
        meta = (tif.shaped_metadata or ({},))[0]
        for key in ("frame_rate", "fps", "fs"):
            if _number(meta.get(key)):
                return _number(meta.get(key))
    return None


def scanimage_frame_rate(frame_data: dict, description: str | None = "", *,
                         per_volume: bool = False) -> float | None:
    """ScanImage frame rate: ``SI.hRoiManager.scanFrameRate`` (2016 and later), else the
    ``scanFrameRate`` / ``frameRate`` entries older versions write in each page's description.

    With ``per_volume``, the volume rate (``scanVolumeRate``), which is each plane's rate.
    """
    if per_volume:
        rate = _number(frame_data.get("SI.hRoiManager.scanVolumeRate"))
        if rate:
            return rate
    rate = _number(frame_data.get("SI.hRoiManager.scanFrameRate"))
    if rate:
        return rate
    for pattern in (r"scanFrameRate\s*=\s*([0-9.eE+-]+)", r"state\.acq\.frameRate\s*=\s*([0-9.eE+-]+)"):
        match = re.search(pattern, description or "")
        if match and _number(match.group(1)):
            return _number(match.group(1))
    return None


def _format_name(tif) -> str:
    if tif.is_scanimage:
        return "scanimage-tiff"
    if tif.is_imagej:
        return "imagej-tiff"
    if tif.is_ome:
        return "ome-tiff"
    return "bigtiff" if tif.is_bigtiff else "tiff"


def open_tiff(path: str, *, axes: str | None = None, plane: int | None = None, channel: int | None = None,
              allow_single_frame: bool = False, cache_bytes: int = CACHE_BYTES) -> ArrayMovie:
    """Open a TIFF or BigTIFF file as a movie.

    Parameters
    ----------
    path : str
    axes : str, optional
        Axis order of tifffile's (squeezed) series shape, to override its metadata.
    plane, channel : int, optional
        Which plane / channel of a hyperstack to read.
    allow_single_frame : bool
        Read a 2-D image as a one-frame movie (for a movie split into one file per frame).
    cache_bytes : int
        Budget of the decoded-page cache for compressed files.

    Returns
    -------
    ArrayMovie
    """
    import tifffile

    with quiet_tifffile() as log:
        try:
            tif = tifffile.TiffFile(path)
        except Exception as exc:  # tifffile raises TiffFileError, ValueError, struct.error, ...
            raise InputFileError(f"cannot read {path} as TIFF (truncated or corrupt?): {_reason(exc)}") from None
        try:
            return _open_series(tif, path, axes, plane, channel, allow_single_frame, cache_bytes, log)
        except BaseException:
            tif.close()
            raise


def _open_series(tif, path, axes, plane, channel, allow_single_frame, cache_bytes, log) -> ArrayMovie:
    try:
        all_series = tif.series
        series = all_series[0]
        page = series.keyframe
        shape, tiff_axes = tuple(series.shape), series.axes
        # Frames written one at a time, each with its own description, come out as many
        # identical series: they are the frames of one movie.
        combined = len(all_series) > 1 and all(s.shape == series.shape and s.dtype == series.dtype
                                               and s.axes == series.axes for s in all_series)
        appended = _appended_stacks(all_series, page)
        # A contiguous series is memory-mapped from its first offset; listing its pages would
        # parse every IFD, which for a 4 GB file costs more than the whole open should.
        offset = None if combined or appended else series.dataoffset
        pages = None
        if offset is None:
            if appended:
                # A movie written in several appends: each write is a stack of frames, one page
                # each; the frames follow each other (not a second time axis).
                pages = [p for s in all_series for p in s.pages]
                shape = (len(pages),) + shape[1:]
            elif combined:
                pages = [p for s in all_series for p in s.pages]
                shape, tiff_axes = (len(all_series),) + shape, "I" + tiff_axes
            else:
                pages = list(series.pages)
    except InputFileError:
        raise
    except Exception as exc:
        raise InputFileError(f"cannot read {path} as TIFF (truncated or corrupt?): {_reason(exc)}") from None
    if page is None or (pages is not None and not pages):
        raise InputFileError(f"{path} holds no images")
    damage = log.corruption()
    if damage:
        raise InputFileError(f"{path} is truncated or corrupt: only {len(tif.pages)} page(s) could be read "
                             f"({damage})")
    page_shape = tuple(page.shape)
    if pages is not None and (int(np.prod(shape)) != len(pages) * int(np.prod(page_shape))
                              or shape[len(shape) - len(page_shape):] != page_shape):
        # Metadata promised a shape the pages do not fill (e.g. a truncated ImageJ file): fall
        # back to what is really there, one page per frame.
        shape, tiff_axes = (len(pages),) + page_shape, "I" + page.axes
    if axes is not None:
        letters = parse_axes_option(axes, len(shape), path)
    elif tif.is_shaped and len(shape) == 3 and tiff_axes == "YXQ" and shape[2] == 1:
        # tifffile stores a (T, H, 1) array as one T x H page with a trailing axis of 1: a
        # movie of width 1, not one frame of T x H.
        letters = "thw"
    else:
        letters = _tiff_letters(tiff_axes, shape)
    if allow_single_frame and "t" not in letters and not any(a in "zq" and n > 1 for a, n in zip(letters, shape)):
        shape, letters = (1,) + shape, "t" + letters
    layout = Layout(shape, letters, path, plane=plane, channel=channel, time_from_extra=axes is None)

    dtype = series.dtype.newbyteorder(tif.byteorder)
    file_size = os.path.getsize(path)
    fmt = _format_name(tif)
    frame_rate = tiff_frame_rate(tif, per_volume="z" in layout.axes and plane is not None)
    compression = getattr(page.compression, "name", str(page.compression)).lower()
    details = {"compression": "none" if compression in ("none", "1") else compression}
    common = dict(format=fmt, path=path, frame_rate=frame_rate, details=details)

    if offset is not None:
        end = offset + int(np.prod(shape)) * dtype.itemsize
        if end > file_size:
            raise InputFileError(f"{path} is truncated: its images need {end} bytes but the file has "
                                 f"{file_size}")
        array = np.memmap(path, mode="r", dtype=dtype, offset=offset, shape=shape)
        tif.close()
        details["storage"] = "memory-mapped"
        return ArrayMovie(guard(array, path), layout, fancy=True, **common)

    if any(p is None for p in pages):
        missing = next(i for i, p in enumerate(pages) if p is None)
        raise InputFileError(f"{path} is truncated or corrupt: page {missing} of {len(pages)} is missing")
    ends = [p.dataoffsets[-1] + p.databytecounts[-1] if len(p.dataoffsets) else 0 for p in pages]
    if max(ends) > file_size:
        first = next(i for i, e in enumerate(ends) if e > file_size)
        raise InputFileError(f"{path} is truncated: page {first} of {len(pages)} needs bytes up to {max(ends)} "
                             f"but the file has {file_size}")

    strided = _strided_pages(path, pages, page, shape, dtype)
    if strided is not None:
        tif.close()
        details["storage"] = "memory-mapped (page by page)"
        return ArrayMovie(guard(strided, path), layout, fancy=True, **common)

    details["storage"] = f"pages decoded on demand (cache {cache_bytes // 2**20} MB)"
    array = TiffPageArray(tif, pages, shape, page_shape, page.dtype, cache_bytes)
    return ArrayMovie(array, layout, fancy=True, closer=array.close, **common)


def _strided_pages(path, pages, keyframe, shape, dtype):
    """A memory-mapped view of uncompressed pages, or None when pages must be decoded.

    Evenly spaced pages give a strided view of the file (vectorised reads); unevenly spaced
    ones (IFDs of varying size between frames, as ScanImage writes) a table of page offsets.
    """
    if not keyframe.is_final or len(pages) < 1:
        return None
    try:
        offsets = np.array([p.dataoffsets[0] for p in pages], dtype=np.int64)
        contiguous = all(p.is_contiguous for p in pages)
    except Exception:  # unusual pages (tiles, sub-IFDs): let the decoder handle them
        return None
    if not contiguous:
        return None
    page_shape = tuple(keyframe.shape)
    n_lead = len(shape) - len(page_shape)
    stride = int(offsets[1] - offsets[0]) if len(offsets) > 1 else 0
    if len(offsets) > 1 and (stride <= 0 or np.any(np.diff(offsets) != stride)):
        return OffsetTable(path, offsets.reshape(shape[:n_lead]), shape, dtype)
    inner = [dtype.itemsize]
    for n in reversed(page_shape[1:]):
        inner.insert(0, inner[0] * n)
    lead = [stride or int(np.prod(page_shape)) * dtype.itemsize]
    for n in reversed(shape[1:n_lead]):
        lead.insert(0, lead[0] * n)
    span = int(offsets[-1] - offsets[0]) + int(np.prod(page_shape)) * dtype.itemsize
    raw = np.memmap(path, mode="r", dtype=np.uint8, offset=int(offsets[0]), shape=(span,))
    return np.ndarray(shape, dtype=dtype, buffer=raw, strides=tuple(lead[:n_lead] + inner))

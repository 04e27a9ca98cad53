"""Frames from a source that may still be growing: a file read as if live, a folder that the
acquisition software fills with numbered TIFF files, or a TIFF/HDF5 file being appended to.

:class:`FrameStream` yields frames one at a time (float32, (H, W)). With ``follow`` it polls
the source for more until nothing new arrived for ``until_idle`` seconds (forever when None);
without it, the source is read once as it is. A frame is only read when it is complete:

- TIFF: a page is read when its IFD is whole and every strip or tile of its data lies inside
  the file; when the chain stops at an offset beyond the end, or a page's data runs past it,
  the stream waits (following) or reports the page as truncated (not following, or when a
  later file of the folder already exists);
- folder: files in natural order of their names (``frame_2`` before ``frame_10``); a file is
  read page by page as it grows;
- HDF5: the first dimension of the dataset (opened read-only, SWMR where the writer allows)
  says how many frames are written.

Every problem ends the stream with one :class:`~cnmf_gui.errors.InputFileError` line naming
the source and what was wrong (empty or vanished folder, truncated page, a frame of another
size, nothing new for ``until_idle`` seconds); what was read before it stays read.
"""

from __future__ import annotations

import logging
import os
import re
import struct
import time
from pathlib import Path

import numpy as np

from cnmf_gui.errors import InputFileError

TIFF_SUFFIXES = (".tif", ".tiff")
HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf")
#: Pages read per visit of a file (bounds memory between two frames handed out).
PAGES_PER_VISIT = 64


class StreamIdle(InputFileError):
    """Nothing new arrived for ``until_idle`` seconds (the normal end of a followed stream)."""


def natural_key(name: str):
    """Sort key that puts ``frame_2`` before ``frame_10``."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _next_ifd_offset(fh, offset: int, bigtiff: bool, byteorder: str) -> int | None:
    """Offset of the IFD after the one at ``offset`` (0 at the end), None when not all written."""
    count_fmt, count_size, entry, next_fmt = ("Q", 8, 20, "Q") if bigtiff else ("H", 2, 12, "I")
    fh.seek(offset)
    raw = fh.read(count_size)
    if len(raw) < count_size:
        return None
    (count,) = struct.unpack(byteorder + count_fmt, raw)
    fh.seek(offset + count_size + count * entry)
    raw = fh.read(struct.calcsize(next_fmt))
    if len(raw) < struct.calcsize(next_fmt):
        return None
    return struct.unpack(byteorder + next_fmt, raw)[0]


class _quiet_tifffile:
    """Silence tifffile's warnings about a chain that ends beyond the file while it is read:
    a file being written looks like that, and the stream decides what it means."""

    def __enter__(self):
        self._logger = logging.getLogger("tifffile")
        self._filter = lambda record: False
        self._logger.addFilter(self._filter)

    def __exit__(self, *exc):
        self._logger.removeFilter(self._filter)
        return False


class GrowingTiff:
    """Reads the complete pages of a TIFF that may be growing.

    The file stays open (pages are then found in O(1) each, following the IFD chain) while its
    size does not change; when it grows it is opened again, since the chain read so far may have
    ended where the writer was.
    """

    def __init__(self, path: str):
        self.path = path
        self._tif = None
        self._fh = None
        self._size = -1

    def close(self) -> None:
        if self._tif is not None:
            self._tif.close()
            self._fh.close()
        self._tif = self._fh = None

    def _open(self, size: int) -> bool:
        import tifffile
        self.close()
        try:
            with _quiet_tifffile():
                self._tif = tifffile.TiffFile(self.path)
        except (tifffile.TiffFileError, ValueError, struct.error, OSError):
            self._tif = None
            return False
        self._fh = open(self.path, "rb")
        self._size = size
        return True

    def pages(self, start: int, limit: int = PAGES_PER_VISIT):
        """Complete pages ``start`` ..

        Returns
        -------
        frames : list of ndarray (H, W)
        state : str
            ``"end"`` (the chain ends after the last page read), ``"more"`` (more complete pages
            follow: call again), or ``"incomplete"`` (the next page is not whole yet, or never
            will be: the file is truncated).
        """
        import tifffile

        frames = []
        size = os.path.getsize(self.path)
        if (self._tif is None or size != self._size) and not self._open(size):
            return frames, "incomplete"
        tif = self._tif
        i = start
        while len(frames) < limit:
            try:
                with _quiet_tifffile():
                    page = tif.pages[i]
            except (IndexError, tifffile.TiffFileError, ValueError, struct.error, KeyError):
                page = None
            if page is None:
                if i == 0:
                    return frames, "incomplete"
                prev = tif.pages[i - 1]
                nxt = _next_ifd_offset(self._fh, prev.offset, tif.is_bigtiff, tif.byteorder)
                if nxt != 0:
                    self.close()      # the chain may go on once the writer has written more
                return frames, ("end" if nxt == 0 else "incomplete")
            ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts)]
            if not ends or max(ends) > size or 0 in page.databytecounts:
                self.close()
                return frames, "incomplete"
            arr = np.asarray(page.asarray())
            if arr.ndim != 2:
                arr = np.squeeze(arr)
            if arr.ndim != 2:
                raise InputFileError(f"{self.path}: page {i} has shape {arr.shape}: expected one 2-D frame per page")
            frames.append(arr.astype(np.float32, copy=False))
            i += 1
        return frames, "more"


class FrameStream:
    """Frames of a source, one at a time, as they become available.

    Parameters
    ----------
    source : str or Path
        A movie file (any format :func:`cnmf_gui.io.open_movie` reads; TIFF and HDF5 may grow)
        or a folder of TIFF files.
    follow : bool
        Keep polling for new frames (a live acquisition); otherwise read what is there.
    until_idle : float or None
        With ``follow``: end when nothing new arrived for this many seconds (None: never; the
        caller stops the stream).
    poll : float
        Seconds between two looks at the source while waiting.
    dataset : str, optional
        HDF5 dataset (default: the only 3-D one).
    heartbeat : bool
        While waiting, yield None after each poll (so the consumer can save, report or stop
        while no frame arrives).
    clock, sleep : callable, optional
        The time source of ``until_idle`` (default ``time.monotonic``) and the wait between two
        polls (default ``time.sleep``): a test replaces them to step the stream and its writer
        in a fixed order instead of racing them.
    """

    def __init__(self, source, *, follow: bool = False, until_idle: float | None = None, poll: float = 0.05,
                 dataset: str | None = None, heartbeat: bool = False, clock=None, sleep=None):
        self.source = Path(source)
        self._clock = time.monotonic if clock is None else clock
        self._sleep = time.sleep if sleep is None else sleep
        self.heartbeat = bool(heartbeat)
        self.follow = bool(follow)
        self.until_idle = until_idle
        self.poll = float(poll)
        self.dataset = dataset
        self.n_read = 0
        self.shape: tuple[int, int] | None = None
        self.frame_rate = None
        self._seen = 0
        if not self.source.exists():
            raise InputFileError(f"{self.source}: no such file or folder")
        if self.source.is_dir():
            self.kind = "folder"
        elif self.source.suffix.lower() in TIFF_SUFFIXES:
            self.kind = "tiff"
        elif self.source.suffix.lower() in HDF5_SUFFIXES and follow:
            self.kind = "hdf5"
        else:
            self.kind = "movie"

    def available(self) -> int:
        """Frames the source holds as far as the stream has seen (for the lag)."""
        return max(self._seen, self.n_read)

    # ------------------------------------------------------------------------------------------
    def __iter__(self):
        source = {"folder": self._folder, "tiff": self._tiff_file, "hdf5": self._hdf5,
                  "movie": self._movie}[self.kind]
        for frame in source():
            yield None if frame is None else self._checked(frame)

    def _checked(self, frame: np.ndarray) -> np.ndarray:
        frame = np.asarray(frame, np.float32)
        if self.shape is None:
            self.shape = frame.shape
        elif frame.shape != self.shape:
            raise InputFileError(f"{self.source}: frame {self.n_read} is {frame.shape[0]} x {frame.shape[1]} px, "
                                 f"the stream started with {self.shape[0]} x {self.shape[1]} px")
        self.n_read += 1
        return frame

    def _idle(self, since: float, what: str):
        """Wait one poll (a generator: yields None once when ``heartbeat``); raise when
        following is over."""
        if self.until_idle is not None and self._clock() - since >= self.until_idle:
            raise StreamIdle(f"{self.source}: no new frame for {self.until_idle:g} s after {self.n_read} frames "
                             f"({what}): stream ended")
        self._sleep(self.poll)
        if self.heartbeat:
            yield None

    # ------------------------------------------------------------------------------------------
    def _movie(self):
        from cnmf_gui.io import open_movie
        movie = open_movie(self.source, dataset=self.dataset) if self.dataset else open_movie(self.source)
        try:
            self.frame_rate = getattr(movie, "frame_rate", None)
            T = movie.shape[0]
            self._seen = T
            step = 32
            for t0 in range(0, T, step):
                for frame in np.asarray(movie[t0:min(t0 + step, T)], np.float32):
                    yield frame
        finally:
            if hasattr(movie, "close"):
                movie.close()

    def _tiff_file(self):
        yield from self._grow_tiff(str(self.source), final=lambda: not self.follow)

    def _grow_tiff(self, path: str, final):
        """Pages of one TIFF as they are completed; ``final()`` says no more will be written."""
        done = 0
        since = self._clock()
        reader = GrowingTiff(path)
        try:
            yield from self._tiff_pages(reader, path, final, done, since)
        finally:
            reader.close()

    def _tiff_pages(self, reader, path, final, done, since):
        while True:
            # Whether the file is final is asked before reading it, not after: a writer finishes
            # a file before it starts the next, so a later file seen before the read means the
            # read saw all there will be. Asked after, the writer could complete this file and
            # start the next between the two looks, and a complete file was called truncated.
            is_final = final()
            try:
                frames, state = reader.pages(done)
            except FileNotFoundError:
                raise InputFileError(f"{path}: the file vanished after {self.n_read} frames") from None
            self._seen = max(self._seen, self.n_read + len(frames))
            for frame in frames:
                yield frame
            done += len(frames)
            if frames:
                since = self._clock()
            if state == "more":
                continue
            if state == "end" and is_final:
                return
            if state == "incomplete" and is_final:
                raise InputFileError(f"{path}: page {done} is truncated (the file ends inside it)")
            if state == "end" and not self.follow:
                return
            yield from self._idle(since, f"waiting for page {done} of {os.path.basename(path)}")

    def _listing(self) -> list[str]:
        try:
            names = [n for n in os.listdir(self.source) if n.lower().endswith(TIFF_SUFFIXES)
                     and not n.startswith(".")]
        except FileNotFoundError:
            raise InputFileError(f"{self.source}: the folder vanished after {self.n_read} frames") from None
        return [str(self.source / n) for n in sorted(names, key=natural_key)]

    def _folder(self):
        files = self._listing()
        if not files and not self.follow:
            raise InputFileError(f"{self.source}: the folder holds no TIFF files")
        index = 0
        since = self._clock()
        while True:
            files = self._listing()
            if index < len(files):
                path = files[index]
                later = lambda: len(self._listing()) > index + 1 or not self.follow  # noqa: E731
                for frame in self._grow_tiff(path, final=later):
                    since = self._clock()
                    yield frame
                index += 1
                continue
            if not self.follow:
                return
            what = "no TIFF file yet" if not files else f"waiting for the file after {os.path.basename(files[-1])}"
            yield from self._idle(since, what)

    def _hdf5(self):
        import h5py

        done = 0
        since = self._clock()
        while True:
            try:
                with h5py.File(self.source, "r", libver="latest", swmr=True) as fh:
                    dset = fh[self.dataset] if self.dataset else _only_movie(fh, self.source)
                    T = dset.shape[0]
                    self._seen = T
                    while done < T:
                        n = min(PAGES_PER_VISIT, T - done)
                        for frame in np.asarray(dset[done:done + n], np.float32):
                            yield frame
                        done += n
                        since = self._clock()
            except FileNotFoundError:
                raise InputFileError(f"{self.source}: the file vanished after {self.n_read} frames") from None
            except (OSError, KeyError):
                pass    # being written without SWMR: try again at the next poll
            yield from self._idle(since, f"waiting for frame {done}")


def _only_movie(fh, source):
    found = []
    fh.visititems(lambda name, obj: found.append(name) if getattr(obj, "ndim", 0) == 3 else None)
    if len(found) != 1:
        raise InputFileError(f"{source}: {len(found)} 3-D datasets: name the movie with --dataset")
    return fh[found[0]]

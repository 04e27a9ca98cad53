"""Patches on dask.distributed: a local cluster of processes, or an existing scheduler.

The patch runner (:mod:`cnmf_gui.engine.patches`) needs an executor with ``submit(fn, *args)``
returning a future with ``done()`` and ``result()``. :class:`DaskExecutor` wraps a
``distributed.Client``: on a ``LocalCluster`` of worker processes sized to the machine, or on a
scheduler the user started (``--scheduler tcp://HOST:PORT``; workers on other machines that see
the same file system). Its workers open the movie themselves: the movie handed to them is the
chain of lazy views (motion-corrected, cropped, shifted) over a :class:`ReopenableMovie`, which
pickles as the small "open the movie" callable built by the session, never as pixels. dask
retries a patch whose worker died (``allowed-failures``), so a killed worker does not end the run.

dask and distributed are an optional extra (``pip install "cnmf-gui[distributed]"``) and are
imported only inside the functions that need them.

References
----------
Rocklin M. (2015) Dask: parallel computation with blocked algorithms and task scheduling.
Proceedings of the 14th Python in Science Conference, 130-136.
"""

from __future__ import annotations

import logging
import os
import re

from cnmf_gui.errors import ParameterError

log = logging.getLogger("cnmf_gui.engine.patches")

#: What a scheduler address looks like: tcp://HOST:PORT (tls:// and bare HOST:PORT accepted).
ADDRESS = re.compile(r"^((tcp|tls|inproc|ucx|ws|wss)://)?[^\s/:]+(:\d{1,5})?$")
#: Seconds to wait for an existing scheduler before saying it cannot be reached.
CONNECT_TIMEOUT_S = 5


class ReopenableMovie:
    """A movie that pickles as the callable that opens it, not as its pixels.

    In this process it reads through ``movie`` (already open); sent to a worker process it
    carries only ``reopen`` (a picklable callable returning a movie, e.g. one that opens a file
    by path with the session's reader options) and opens the movie there on first access.

    Parameters
    ----------
    movie : array-like of shape (T, H, W) or None
        The open movie in this process (None: open it on first access).
    reopen : callable() -> array-like of shape (T, H, W)
        Must be picklable (a module-level class or ``functools.partial``, not a closure).
    """

    def __init__(self, movie, reopen):
        self._movie = movie
        self._reopen = reopen
        self._opened_here = movie is None
        source = movie if movie is not None else self._open()
        self.shape = tuple(int(v) for v in source.shape)
        self.dtype = getattr(source, "dtype", None)
        self.frame_rate = getattr(source, "frame_rate", None)
        self.ndim = 3

    def _open(self):
        if self._movie is None:
            self._movie = self._reopen()
            self._opened_here = True
        return self._movie

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        return self._open()[key]

    def __getattr__(self, name):
        # only called for attributes not set above: the reader's own (path, iter_chunks, ...)
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._open(), name)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_movie"] = None           # the reader stays here; the worker opens its own
        state["_opened_here"] = False
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def release(self) -> None:
        """Close the movie if this object opened it (in a worker); the caller's stays open."""
        if self._opened_here and self._movie is not None:
            close = getattr(self._movie, "close", None)
            if close is not None:
                close()
            self._movie = None
            self._opened_here = False


def base_of(movie):
    """The movie at the bottom of a chain of lazy views (``.movie`` / ``.raw`` links)."""
    for _ in range(16):
        if isinstance(movie, ReopenableMovie):
            return movie
        inner = getattr(movie, "movie", None)
        if inner is None:
            inner = getattr(movie, "raw", None)
        if inner is None:
            return movie
        movie = inner
    return movie


def reopenable(movie) -> bool:
    """True when workers can open ``movie`` themselves (its chain ends in a ReopenableMovie)."""
    return isinstance(base_of(movie), ReopenableMovie)


def release_views(movie) -> None:
    """Close what a worker opened under a chain of views."""
    base = base_of(movie)
    if isinstance(base, ReopenableMovie):
        base.release()


def check_address(address: str) -> str:
    """The scheduler address, stripped, or ParameterError naming the parameter."""
    address = (address or "").strip()
    if address and not ADDRESS.match(address):
        raise ParameterError(f"parameter cnmf.scheduler = {address!r}: expected a dask scheduler "
                             f"address such as tcp://HOST:8786")
    return address


def dask_available() -> bool:
    """True when dask.distributed can be imported (the optional ``distributed`` extra)."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        return False
    return True


def _limit_threads_in_worker() -> None:
    """One numerical thread per worker process: the cluster runs one process per core."""
    from cnmf_gui.engine.patches import _limit_threads
    _limit_threads()


class DaskExecutor:
    """Runs patch tasks on a dask.distributed cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://HOST:PORT``); empty or None starts a
        ``LocalCluster`` of ``n_workers`` processes with one thread each, closed by
        :meth:`shutdown`.
    n_workers : int
        Worker processes of the local cluster (0 = one per core).

    Attributes
    ----------
    client : distributed.Client
    remote : bool
        Always True: tasks run in other processes, which open a reopenable movie themselves
        (others are sent each patch's pixels).
    description : str
        Where the tasks run, for the run summary.
    """

    remote = True

    def __init__(self, scheduler: str | None = None, n_workers: int = 0):
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:
            raise ParameterError("patches on dask need the optional 'distributed' extra: "
                                 "pip install \"cnmf-gui[distributed]\"") from exc
        address = check_address(scheduler or "")
        self._cluster = None
        if address:
            try:
                self.client = Client(address, timeout=CONNECT_TIMEOUT_S)
            except OSError as exc:
                raise ParameterError(f"parameter cnmf.scheduler = {address}: no dask scheduler answered "
                                     f"there ({exc.__class__.__name__})") from exc
            self.description = f"dask scheduler {address}"
        else:
            n = n_workers if n_workers > 0 else (os.cpu_count() or 1)
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                         # any free port: another dask on this machine may hold 8787
                                         dashboard_address=":0", silence_logs=logging.ERROR)
            self.client = Client(self._cluster)
            self.description = f"local dask cluster of {n} worker processes"
        self.client.run(_limit_threads_in_worker)

    @property
    def n_workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def share(self, obj):
        """Send ``obj`` to the workers once; the returned future stands for it in ``submit``."""
        return self.client.scatter(obj, broadcast=True, hash=False)

    def submit(self, fn, *args):
        # pure=False: two patches with equal inputs are still two tasks
        return self.client.submit(fn, *args, pure=False)

    def cancel(self, futures) -> None:
        self.client.cancel(list(futures))

    def shutdown(self, cancel_futures: bool = False) -> None:
        try:
            self.client.close()
        finally:
            if self._cluster is not None:
                self._cluster.close()
                self._cluster = None

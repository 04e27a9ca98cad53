"""CNMF on overlapping patches of a large field of view, then one refinement on the whole field.

The field is cut into overlapping square patches; each is initialised and fitted independently
(through an executor: local processes now, any engine with ``submit(fn, *args) -> future``
later, e.g. dask). Footprints are put back in the whole field; a neuron on an overlap is found
twice, so duplicates (overlapping footprints, correlated traces) are merged by a rank-1 refit;
a final pass of spatial and temporal updates on the whole field reconciles everything.

References
----------
Giovannucci A. et al. (2019) CaImAn an open source tool for scalable calcium imaging data
analysis. eLife 8:e38173 (patch-wise CNMF and merging across patches).
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import math
import multiprocessing
import os
import time
from typing import Any, Callable, Protocol

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.fit import FitResult, _merge, fit_cnmf
from cnmf_gui.engine.merging import find_merge_groups
from cnmf_gui.engine.neuron_size import resolve_neuron_radius
from cnmf_gui.engine.streaming import iter_chunks, movie_shape
from cnmf_gui.progress import SubProgress, checkpoint


log = logging.getLogger("cnmf_gui.engine.patches")


class Executor(Protocol):
    """What the patch runner needs of a compute engine."""

    def submit(self, fn: Callable, *args: Any) -> cf.Future:
        """Run ``fn(*args)`` somewhere; return a future of its result."""


class SerialExecutor:
    """Runs each task at once in this process (one worker, or debugging)."""

    def submit(self, fn, *args) -> cf.Future:
        fut: cf.Future = cf.Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # the caller sees it on .result(), like a real executor
            fut.set_exception(exc)
        return fut

    def shutdown(self, cancel_futures: bool = False) -> None:
        pass


def _limit_threads() -> None:
    """In a worker process: one numerical thread each, so workers do not oversubscribe cores."""
    try:
        import numba
        numba.set_num_threads(1)
    except Exception:  # numba threading layer unavailable: nothing to limit
        pass


# How often a worker checks that the process that started it is still there, s.
PARENT_CHECK_S = 0.5


def _exit_with_parent(parent_pid: int) -> None:
    """In a worker process: exit as soon as the parent is gone (killed -9, crashed).

    Without this, killing ``cnmf-gui run`` left its workers computing (hundreds of MB each) for
    a result nobody would read. An orphan is re-parented, so its parent id changes; checked by a
    daemon thread (portable, unlike Linux's PR_SET_PDEATHSIG, which also fires when the parent
    *thread* that started the worker ends, e.g. a GUI job thread).
    """
    import threading
    import time

    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _init_worker(parent_pid: int) -> None:
    _exit_with_parent(parent_pid)
    _limit_threads()


class LocalExecutor:
    """A pool of local worker processes (spawned, so no thread state is forked)."""

    def __init__(self, n_workers: int = 0):
        n = n_workers if n_workers > 0 else (os.cpu_count() or 1)
        self.n_workers = n
        self._pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=_init_worker, initargs=(os.getpid(),))

    def submit(self, fn, *args) -> cf.Future:
        return self._pool.submit(fn, *args)

    def shutdown(self, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=True, cancel_futures=cancel_futures)


def patch_grid(shape: tuple[int, int], size: int, overlap: int) -> list[tuple[int, int, int, int]]:
    """Overlapping patches covering a frame.

    Parameters
    ----------
    shape : (H, W)
    size : int
        Side of a patch, px (patches at the far edges are shifted inwards to keep this size).
    overlap : int
        Pixels shared by neighbouring patches.

    Returns
    -------
    list of (row0, row1, col0, col1), half-open
    """
    def starts(n):
        if size >= n:
            return [0]
        # as few patches as give at least `overlap` shared pixels, spread evenly
        count = math.ceil((n - overlap) / max(1, size - overlap))
        return sorted({int(round(i * (n - size) / (count - 1))) for i in range(count)})
    H, W = shape
    return [(r, min(r + size, H), c, min(c + size, W)) for r in starts(H) for c in starts(W)]


def auto_patch_size(shape: tuple[int, int], overlap: int) -> int:
    """Side of the patches when patches run (on a scheduler) but ``cnmf.patch_size`` is 0: a
    2 x 2 grid, enough to keep two to four workers busy."""
    return int(math.ceil((max(shape) + overlap) / 2))


def _fit_patch(crop: np.ndarray, noise: np.ndarray, correlation: np.ndarray, params):
    """Worker: initialise and fit one patch; returns (A csc, C, f, b) in patch coordinates."""
    from cnmf_gui.engine.initialization import initialize

    ip = params.init
    init = initialize(crop, noise, correlation, neuron_radius=ip.neuron_radius,
                      n_components=ip.n_components, min_corr=ip.min_corr, min_pnr=ip.min_pnr,
                      max_components=ip.max_components, n_background=params.cnmf.n_background,
                      chunk_frames=params.cnmf.chunk_frames)
    if init.A.shape[1] == 0:
        return init.A, np.zeros((0, crop.shape[0])), init.f
    fit = fit_cnmf(crop, init.A, init.C, init.f, params)
    return fit.A, fit.temporal.C, fit.temporal.f


def _read_crops(movie, boxes, chunk_frames):
    """The movie restricted to each box, (T, h, w) float32 each, reading the movie once."""
    T = movie_shape(movie)[0]
    crops = [np.empty((T, r1 - r0, c1 - c0), np.float32) for r0, r1, c0, c1 in boxes]
    for start, frames in iter_chunks(movie, chunk_frames):
        for crop, (r0, r1, c0, c1) in zip(crops, boxes):
            crop[start:start + frames.shape[0]] = frames[:, r0:r1, c0:c1]
    return crops


def _embed(A_patch: sp.csc_matrix, box, shape) -> sp.csc_matrix:
    r0, r1, c0, c1 = box
    W = shape[1]
    A_patch = sp.csc_matrix(A_patch)
    rr, cc = np.divmod(A_patch.indices, c1 - c0)
    idx = (rr + r0) * W + (cc + c0)
    return sp.csc_matrix((A_patch.data, idx, A_patch.indptr), shape=(shape[0] * shape[1], A_patch.shape[1]))


def _fit_patch_remote(movie, box, noise, correlation, params):
    """Worker on a cluster: read this patch's pixels from the movie (opened here), fit it.

    ``movie`` is the chain of lazy views over a movie the worker reopens from its path; only
    the box's pixels are kept, chunk by chunk. Returns the compact patch result of
    :func:`_fit_patch`.
    """
    from cnmf_gui.engine.cropping import CroppedMovie
    from cnmf_gui.engine.distributed import release_views

    _limit_threads()
    try:
        crop = _read_crops(CroppedMovie(movie, box), [(0, box[1] - box[0], 0, box[3] - box[2])],
                           params.cnmf.chunk_frames)[0]
    finally:
        release_views(movie)
    return _fit_patch(crop, noise, correlation, params)


def make_executor(params, n_patches: int):
    """The executor for ``n_patches`` patches, from ``cnmf.scheduler`` and ``cnmf.n_workers``.

    A scheduler address: that dask cluster. Else one worker (or one patch): this process.
    Else a local dask cluster of ``n_workers`` processes (one per core when 0) when dask is
    installed, or a local process pool. Workers open a reopenable movie themselves; any other
    movie's patches are read here and sent to them (see :func:`fit_patches`).
    """
    from cnmf_gui.engine.distributed import DaskExecutor, dask_available

    cp = params.cnmf
    scheduler = getattr(cp, "scheduler", "")
    if scheduler:
        return DaskExecutor(scheduler)
    n = cp.n_workers if cp.n_workers > 0 else (os.cpu_count() or 1)
    if n == 1 or n_patches == 1:
        return SerialExecutor()
    if dask_available():
        return DaskExecutor(None, n)
    return LocalExecutor(n)


def _collect(futures: dict, results: list, executor, progress, total: int) -> None:
    """Wait for ``futures`` (future -> patch index), checking for cancellation while waiting."""
    pending = dict(futures)
    try:
        while pending:
            done = [f for f in pending if f.done()]
            for fut in done:
                results[pending.pop(fut)] = fut.result()
            n = sum(r is not None for r in results)
            checkpoint(progress, 0.7 * n / total, f"patches: {n}/{total}")
            if pending and not done:
                time.sleep(POLL_S)
    except BaseException:
        cancel = getattr(executor, "cancel", None)
        if cancel is not None:
            cancel(pending)
        for fut in pending:
            fut.cancel()
        raise


#: How often the patch runner looks at its futures (and at a cancel request), s.
POLL_S = 0.1


def fit_patches(movie, summary, noise, params, *, executor: Executor | None = None,
                progress=None) -> FitResult:
    """CNMF patch by patch, merged across borders and refined on the whole field.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        When it is a chain of lazy views over a
        :class:`~cnmf_gui.engine.distributed.ReopenableMovie`, a remote executor's workers open
        it themselves; otherwise each patch's pixels are read here and sent to them.
    summary : SummaryImages
        Of the whole movie (the correlation image guides each patch's initialisation).
    noise : ndarray of shape (H, W)
        Per-pixel noise.
    params : PipelineParams
        ``cnmf.patch_size``, ``cnmf.patch_overlap``, ``cnmf.n_workers`` and ``cnmf.scheduler``
        set the cutting and where patches run (:func:`make_executor`); ``init.n_components``
        is per patch; ``init.neuron_radius`` 0 is estimated from ``summary`` for the whole field.
    executor : Executor, optional
        Where patches run (default: :func:`make_executor`). One with ``remote = True``
        (:class:`~cnmf_gui.engine.distributed.DaskExecutor`) gets the movie and reads each
        patch in the worker; others are sent each patch's pixels.
    progress : Progress, optional

    Returns
    -------
    FitResult
    """
    from cnmf_gui.engine.distributed import reopenable

    T, H, W = movie_shape(movie)
    params = resolve_neuron_radius(params, summary)  # one radius for every patch
    cp = params.cnmf
    size = cp.patch_size if cp.patch_size > 0 else auto_patch_size((H, W), cp.patch_overlap)
    boxes = patch_grid((H, W), size, cp.patch_overlap)
    own = executor is None
    if own:
        executor = make_executor(params, len(boxes))
    log.info("patches: %d patches of %d px on %s", len(boxes), size,
             getattr(executor, "description", type(executor).__name__))
    results: list = [None] * len(boxes)
    try:
        if getattr(executor, "remote", False) and reopenable(movie):
            # every patch at once: the scheduler queues them, workers read their own pixels
            shared = executor.share(movie)
            futures = {executor.submit(_fit_patch_remote, shared, box, noise[box[0]:box[1], box[2]:box[3]],
                                       summary.correlation[box[0]:box[1], box[2]:box[3]], params): i
                       for i, box in enumerate(boxes)}
            _collect(futures, results, executor, progress, len(boxes))
        else:
            width = max(1, getattr(executor, "n_workers", 1))
            # read and submit one batch of patches at a time: only `width` crops live at once
            for b0 in range(0, len(boxes), width):
                batch = list(range(b0, min(b0 + width, len(boxes))))
                crops = _read_crops(movie, [boxes[i] for i in batch], cp.chunk_frames)
                futures = {}
                for i, crop in zip(batch, crops):
                    r0, r1, c0, c1 = boxes[i]
                    futures[executor.submit(_fit_patch, crop, noise[r0:r1, c0:c1],
                                            summary.correlation[r0:r1, c0:c1], params)] = i
                del crops
                _collect(futures, results, executor, progress, len(boxes))
    except BaseException:   # cancelled, interrupted or failed: stop the other patches
        if own:
            executor.shutdown(cancel_futures=True)
        raise
    if own:
        executor.shutdown()

    # ---- back to the whole field; merge duplicates on the overlaps
    blocks, traces, fs = [], [], []
    for box, (A_p, C_p, f_p) in zip(boxes, results):
        if A_p.shape[1]:
            blocks.append(_embed(A_p, box, (H, W)))
            traces.append(C_p)
        if f_p.shape[0]:
            fs.append(f_p / np.maximum(f_p.mean(axis=1, keepdims=True), 1e-12))
    nb = cp.n_background
    f = np.mean(fs, axis=0) if fs else np.ones((nb, T))
    if not blocks:
        return FitResult(A=sp.csc_matrix((H * W, 0)), temporal=None, b=np.zeros((H * W, nb)))
    A = sp.hstack(blocks).tocsc()
    C = np.vstack(traces)
    groups = find_merge_groups(A, C, cp.merge_threshold, cp.merge_overlap)
    n_merged = sum(len(g) - 1 for g in groups)
    if groups:
        A, C = _merge(A, C, np.zeros_like(C), groups)
    checkpoint(progress, 0.75, f"patches: {A.shape[1]} components after merging across borders")
    fit = fit_cnmf(movie, A, C, f, params, progress=SubProgress(progress, 0.75, 1.0))
    fit.n_merged += n_merged
    return fit

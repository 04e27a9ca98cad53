"""The long jobs of a session, as callables ``fn(progress) -> result`` for any thread.

Each factory copies what the job needs from the session in the calling (main) thread, so the
job itself never touches the session (the window's worker rule) and the user may keep curating
while it runs; the caller applies the result in the main thread (``Session.apply_*``).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np


def _own_movie(session):
    """``(open, close)`` for the worker's movie, prepared in the main thread.

    A movie from a file gets the worker's own reader (readers are not assumed thread-safe), opened
    with the session's movie options from its path as given (``FILE.h5:/dataset`` and globs
    included) and checked against the session's movie shape; ``close`` closes it. A movie that
    only lives in memory is shared (reads only) and never closed by the job.
    """
    data = session.data
    in_memory = session.movie is None or isinstance(session.movie, np.ndarray)
    if data is not None and data.movie_path and not in_memory:
        saved = copy.copy(data)  # the path, options and shape as they are now
        saved.movie_options = dict(data.movie_options or {})

        def open_it():
            from cnmf_gui.session.files import open_movie_as_saved
            return open_movie_as_saved(saved)

        def close_it(movie):
            if hasattr(movie, "close"):
                movie.close()
        return open_it, close_it
    movie = session.movie
    return (lambda: movie), (lambda _movie: None)


def _movie_job(session, run):
    """A job that opens its own reader of the session's movie, calls ``run(movie, progress)``
    and releases the reader whatever happens."""
    get_movie, release = _own_movie(session)

    def job(progress):
        movie = get_movie()
        try:
            return run(movie, progress)
        finally:
            release(movie)
    return job


def run_pipeline(session):
    """Motion correction (when enabled), CNMF, deconvolution, evaluation, dF/F -> SessionData."""
    from cnmf_gui.session.reopen import for_patch_workers, opener_for
    params = session.params
    # patch workers in other processes open the movie themselves from this (picklable) callable
    opener = opener_for(session)

    def run(movie, progress):
        from cnmf_gui.engine.pipeline import run_pipeline as pipeline
        return pipeline(for_patch_workers(movie, opener, params), params, progress=progress)
    return _movie_job(session, run)


def estimate_motion(session):
    """Motion correction only -> MotionResult."""
    params = session.params.motion

    def run(movie, progress):
        from cnmf_gui.engine.motion import estimate_motion as estimate
        return estimate(movie, params, progress=progress)
    return _movie_job(session, run)


def save_session(snapshot, path, expected_revision: int | None = None):
    """Write the session file (atomically: io.save_session) -> the file's new revision.

    ``expected_revision``: the revision the session loaded from ``path``; the save is refused
    (StaleSessionError) when someone else saved the file since.
    """
    def job(progress):
        from cnmf_gui.io import save_session as save
        return save(snapshot, path, expected_revision=expected_revision)
    return job


def export_csv(snapshot, folder, include_all: bool):
    """CSV export exactly as DESIGN.md describes -> list of written paths."""
    def job(progress):
        from cnmf_gui.io import export_csv as export
        return export(snapshot, folder, include_all=include_all)
    return job


def make_demo(n_frames: int = 1000, shape=(128, 128), n_neurons: int = 30, seed: int = 0):
    """Make (or reuse) the synthetic demo movie in the user's data folder -> its path."""
    def job(progress):
        import numpy as np

        from cnmf_gui.atomic import atomic_path
        from cnmf_gui.paths import demo_dir
        from cnmf_gui.progress import checkpoint
        from cnmf_gui.synthetic import make_movie

        folder = demo_dir()
        path = folder / f"demo_{n_frames}x{shape[0]}x{shape[1]}_{n_neurons}n_s{seed}.npy"
        truth = path.with_suffix(".truth.h5")
        if path.exists() and truth.exists():
            return path
        checkpoint(progress, 0.0, "simulating")
        synth = make_movie(n_frames=n_frames, shape=tuple(shape), n_neurons=n_neurons, seed=seed,
                           motion="rigid")
        checkpoint(progress, 0.8, "writing")
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, synth.movie)
        synth.save_truth(truth)
        return path
    return job

"""The long jobs the window runs in its worker, as callables ``fn(progress) -> result``.

Each factory copies what the job needs from the session in the main thread, so the job itself
never touches the session (the worker's rule) and the user may keep curating while it runs.
"""

from __future__ import annotations

from pathlib import Path


def _own_movie(session):
    """A movie object for the worker: its own reader when the movie is a file (readers are not
    assumed thread-safe), else the session's in-memory array (reads only)."""
    path = session.data.movie_path if session.data is not None else None
    if path and Path(path).exists():
        def open_it():
            from cnmf_gui.io import open_movie
            return open_movie(path)
        return open_it
    movie = session.movie
    return lambda: movie


def run_pipeline(session):
    """Motion correction (when enabled), CNMF, deconvolution, evaluation, dF/F -> SessionData."""
    get_movie = _own_movie(session)
    params = session.params

    def job(progress):
        from cnmf_gui.engine.pipeline import run_pipeline as run
        movie = get_movie()
        try:
            return run(movie, params, progress=progress)
        finally:
            if movie is not session.movie and hasattr(movie, "close"):
                movie.close()
    return job


def estimate_motion(session):
    """Motion correction only -> MotionResult."""
    get_movie = _own_movie(session)
    params = session.params.motion

    def job(progress):
        from cnmf_gui.engine.motion import estimate_motion as run
        movie = get_movie()
        try:
            return run(movie, params, progress=progress)
        finally:
            if movie is not session.movie and hasattr(movie, "close"):
                movie.close()
    return job


def save_session(snapshot, path):
    """Write the session file (atomically: io.save_session) -> path."""
    def job(progress):
        from cnmf_gui.io import save_session as save
        save(snapshot, path)
        return Path(path)
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

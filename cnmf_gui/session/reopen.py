"""The picklable "open the movie" callable that patch workers on a cluster use.

The engine never opens files; a worker process of a dask cluster still has to read its patch.
The session therefore hands the engine a :class:`MovieOpener`: the movie's path, the reader
options it was opened with and its shape, which pickles in a few bytes and opens the same movie
(checked by shape) in whatever process calls it. Workers on other machines must see the file
at the same path (a shared file system).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class MovieOpener:
    """Opens the session's movie by path, with its reader options; checks its shape.

    Parameters
    ----------
    movie_path : str
        As :func:`cnmf_gui.io.open_movie` takes it (absolute: workers may run elsewhere).
    movie_shape : tuple (T, H, W)
    movie_options : dict
        Reader options (dataset, axes, plane, channel).
    """

    movie_path: str
    movie_shape: tuple
    movie_options: dict = field(default_factory=dict)

    def __call__(self):
        from cnmf_gui.session.files import open_movie_as_saved
        return open_movie_as_saved(self)


def opener_for(session):
    """The :class:`MovieOpener` of the session's movie, or None when it only lives in memory."""
    import numpy as np
    data = session.data
    if data is None or not data.movie_path or session.movie is None or isinstance(session.movie, np.ndarray):
        return None
    return MovieOpener(str(data.movie_path), tuple(int(v) for v in data.movie_shape),
                       dict(data.movie_options or {}))


def patches_may_run(params) -> bool:
    """True when CNMF may cut the field into patches (the movie then goes to workers)."""
    cp = params.cnmf
    return cp.patch_size > 0 or bool(cp.scheduler)


def for_patch_workers(movie, opener, params):
    """``movie`` as the engine should get it: reopenable by patch workers when patches may run."""
    if opener is None or not patches_may_run(params):
        return movie
    from cnmf_gui.engine.distributed import ReopenableMovie
    return ReopenableMovie(movie, opener)

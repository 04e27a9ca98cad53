"""What the PNR x correlation inspector asks of the session: the two images of the open movie
(computed once, streamed) and the seeds two thresholds would keep. The window never computes."""

from __future__ import annotations

import numpy as np

from cnmf_gui.errors import UserError

__all__ = ["SeedInspectorModel"]


class SeedInspectorModel:
    """The correlation and PNR images of the session's movie and the seeds at given thresholds.

    Parameters
    ----------
    session : Session
        With a movie open. ``init.neuron_radius`` sets the filter (the radius estimated by the
        last run when it was 0; 4 px when nothing is known yet).
    images : (correlation, pnr), optional
        Use these instead of computing them (e.g. the summary of a one-photon run).
    """

    def __init__(self, session, images=None):
        self.session = session
        p = session.params
        self.radius = float(p.init.neuron_radius) or 4.0
        if images is None:
            summary = session.data.summary if session.data is not None else None
            if summary is not None and p.init.method == "corr_pnr":
                images = (summary.correlation, summary.pnr)     # what the one-photon run used
            else:
                movie = session.frames.corrected_movie() if session.movie is not None else None
                if movie is None:
                    raise UserError("the seed inspector needs the movie: open it first")
                from cnmf_gui.engine.onephoton import correlation_pnr
                im = correlation_pnr(movie, self.radius, chunk_frames=p.cnmf.chunk_frames)
                images = (im.correlation, im.pnr)
        self.correlation = np.asarray(images[0], np.float32)
        self.pnr = np.asarray(images[1], np.float32)

    def seeds(self, min_corr: float, min_pnr: float) -> np.ndarray:
        """(n, 2) [row, col] of the seeds these thresholds keep, best first."""
        from cnmf_gui.engine.onephoton import select_seeds
        return select_seeds(self.correlation, self.pnr, min_corr, min_pnr, self.radius,
                            max_seeds=self.session.params.init.max_components)

    def candidates(self, n: int = 5000, seed: int = 0) -> np.ndarray:
        """(m, 2) [correlation, pnr] of up to ``n`` pixels (a fixed random sample) for the scatter."""
        c, p = self.correlation.ravel(), self.pnr.ravel()
        idx = np.arange(c.size)
        if c.size > n:
            idx = np.sort(np.random.default_rng(seed).choice(c.size, n, replace=False))
        return np.column_stack([c[idx], p[idx]])

    def apply(self, min_corr: float, min_pnr: float) -> None:
        """Use these thresholds for the next run (init.min_corr, init.min_pnr)."""
        self.session.set_param("init", "min_corr", float(min_corr))
        self.session.set_param("init", "min_pnr", float(min_pnr))

"""``--refine``: after an online run, one batch CNMF pass on the whole movie, seeded with the
online components' centres (the online footprints say where the cells are; the batch pass fits
footprints and traces on every frame at once)."""

from __future__ import annotations

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.results import STATUS_REJECTED


def refine(session, *, progress=None) -> int:
    """Replace the session's components by a seeded batch fit; returns the number of components.

    The motion shifts of the online run are kept (the movie is read through them); the new
    components get new ids, and the log records the run, as after any pipeline run.
    """
    from cnmf_gui.engine.cropping import motion_border
    from cnmf_gui.engine.footprints import centroids
    from cnmf_gui.engine.motion import CorrectedMovie
    from cnmf_gui.engine.pipeline import run_cnmf

    data = session.data
    if session.movie is None or data is None or data.components is None:
        raise InputFileError("--refine needs the whole movie readable after the online run")
    comps = data.components
    keep = np.flatnonzero(comps.status != STATUS_REJECTED)
    if keep.size == 0:
        return 0
    seeds = centroids(comps.A[:, keep], session.image_shape)
    source = session.movie
    border = None
    if data.motion is not None:
        source = CorrectedMovie(session.movie, data.motion)
        border = motion_border(np.asarray(data.motion.shifts, float), session.image_shape)
        H, W = session.image_shape
        top, bottom, left, right = border
        inside = ((seeds[:, 0] >= top) & (seeds[:, 0] < H - bottom) & (seeds[:, 1] >= left)
                  & (seeds[:, 1] < W - right))
        seeds = seeds[inside]      # a component in the band without data for every frame is not refitted
    new, background, summary = run_cnmf(source, session.params, seeds=seeds, border=border, progress=progress)
    import dataclasses
    result = dataclasses.replace(data, components=new, background=background, summary=summary)
    session.apply_pipeline_result(result)
    return new.n_components

"""Compiling the numerical kernels before they are needed (issue 17: "say what is happening").

The deconvolution and CNMF kernels are numba functions compiled on their first call and cached
on disk (``cache=True``); on a fresh install the first pipeline run spends most of its time
compiling (measured: 109 s against 18 s for the second run of the same 64 x 64 x 500 movie on a
busy 2-core machine). :func:`warm_up` runs the pipeline once on a tiny synthetic movie, which
compiles every kernel a run uses with the same argument types, so the window can do it in the
background at launch (saying so in its status bar) and the user's first run, in the window or
with ``cnmf-gui run``, is as fast as the next. With a warm cache it takes about a second.
"""

from __future__ import annotations

import time


def warm_up() -> float:
    """Run the pipeline on a 48 x 48 x 300 synthetic movie (results discarded); returns seconds."""
    from cnmf_gui.engine.pipeline import run_pipeline
    from cnmf_gui.engine.redeconvolve import redeconvolve_rows
    from cnmf_gui.params import PipelineParams
    from cnmf_gui.synthetic import make_movie

    start = time.perf_counter()
    synth = make_movie(n_frames=300, shape=(48, 48), n_neurons=5, motion="rigid", seed=0)
    params = PipelineParams(frame_rate=synth.frame_rate)
    data = run_pipeline(synth.movie, params)
    comps = data.components
    if comps is not None and comps.n_components:
        # Both model orders: a user's epsilon rerun or a split may use the other one.
        for p in (1, 2):
            redeconvolve_rows(comps.F[:1], None, None, 0.0, params.replace("deconvolution", p=p).deconvolution)
    return time.perf_counter() - start


def _marker():
    """The file that says the kernels of this install were compiled (version, numba, cache place)."""
    import hashlib
    import os

    import numba

    import cnmf_gui
    from cnmf_gui.paths import user_data_dir

    where = os.environ.get("NUMBA_CACHE_DIR") or os.path.dirname(os.path.abspath(cnmf_gui.__file__))
    key = f"{getattr(cnmf_gui, '__version__', '')}|{numba.__version__}|{where}"
    return user_data_dir() / f"kernels-compiled-{hashlib.sha1(key.encode()).hexdigest()[:12]}"


def is_warm() -> bool:
    """Whether this install's kernels were compiled already (by a warm-up or a finished run)."""
    try:
        return _marker().exists()
    except OSError:
        return False


def mark_warm() -> None:
    """Remember that the kernels are compiled (an unwritable user folder only costs a warm-up)."""
    try:
        _marker().touch()
    except OSError:
        pass

"""``cnmf-gui run MOVIE --out SESSION.h5``: the whole pipeline, headless, with a progress bar."""

from __future__ import annotations

import logging
import os
import sys
import time

NAME = "run"
HELP = "run motion correction, CNMF, deconvolution, evaluation and dF/F on a movie; write a session file"


def add_arguments(parser) -> None:
    parser.add_argument("movie", help="movie file (TIFF, HDF5, NPY, a folder of TIFFs, ...)")
    parser.add_argument("--out", required=True, help="session file to write (HDF5, e.g. SESSION.h5)")
    parser.add_argument("--params", help="parameters as JSON (one object per stage; missing keys default)")
    parser.add_argument("--fs", type=float, help="frame rate in Hz (overrides the movie's and the parameters')")
    parser.add_argument("--no-motion", action="store_true", help="skip motion correction")
    parser.add_argument("--preset", choices=("one-photon", "two-photon"),
                        help="set the parameters for a kind of recording (one-photon: CNMF-E's ring background "
                             "and correlation-PNR seeds); keys in --params win")
    parser.add_argument("--dataset", help="HDF5: the dataset to read when there are several")
    parser.add_argument("--axes", help="stored axis order when the file's metadata is wrong or missing, "
                                       "e.g. thw, hwt, tzhw")
    parser.add_argument("--plane", type=int, help="the plane (z) to read from a volume")
    parser.add_argument("--channel", type=int, help="the channel to read from a multi-channel file")
    parser.add_argument("--scheduler", help="run CNMF patches on this dask scheduler (tcp://HOST:PORT); its "
                                            "workers must see the movie at the same path")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no timings")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even when it holds curation (its ids stay retired)")


class StageClock:
    """Progress that forwards to another and adds up the time spent in each stage.

    The time since the previous report goes to the stage (message prefix before ':') of the
    current report, so stages that alternate (spatial, temporal, spatial, ...) are summed, not
    spanned; the stage times add up to the wall time.
    """

    def __init__(self, inner=None):
        self.inner = inner
        self._last = time.perf_counter()
        self.seconds: dict[str, float] = {}

    def report(self, fraction: float, message: str = "") -> None:
        now = time.perf_counter()
        stage = message.split(":", 1)[0].strip() or "other"
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._last
        self._last = now
        if self.inner is not None:
            self.inner.report(fraction, message)

    def cancel_requested(self) -> bool:
        return self.inner.cancel_requested() if self.inner is not None else False


class _StderrHandler(logging.Handler):
    """Engine warnings (e.g. 'no components found') as one line each on stderr."""

    def emit(self, record):
        print(f"cnmf-gui run: {record.levelname.lower()}: {record.getMessage()}", file=sys.stderr)


class _PatchNotes(logging.Handler):
    """Collects what the patch runner decided (where patches ran) for the run summary."""

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.lines: list[str] = []
        self._logger = logging.getLogger("cnmf_gui.engine.patches")
        self._level = self._logger.level
        self._logger.setLevel(logging.INFO)
        self._logger.addHandler(self)

    def emit(self, record):
        self.lines.append(record.getMessage())

    def close(self):
        self._logger.removeHandler(self)
        self._logger.setLevel(self._level)
        super().close()

    def summary(self) -> str:
        if self.lines:
            return self.lines[-1]
        # measured (benchmarks/scale.py --patches): on one 2-core machine the whole field was
        # faster than patches on 1 or 2 local workers, so patches are opt-in
        return ("patches: none, CNMF ran on the whole field (cnmf.patch_size = 0; on this kind of "
                "machine patches were slower; use them with --scheduler for a cluster)")


def _check_output(out: str, movie: str) -> None:
    from cnmf_gui.errors import UserError
    from cnmf_gui.session import is_session_file

    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UserError(f"--out {out}: folder {folder} does not exist")
    if os.path.exists(movie) and os.path.abspath(out) == os.path.abspath(movie):
        raise UserError(f"--out {out} is the movie itself: choose another file name")
    if os.path.exists(out) and not is_session_file(out):
        raise UserError(f"--out {out} exists and is not a cnmf_gui session file: refusing to overwrite it")


def params_from_args(args):
    """The parameters of ``--params P.json`` (defaults without it) with ``--fs`` applied."""
    from cnmf_gui.errors import ParameterError
    from cnmf_gui.params import PipelineParams, load_params
    params = load_params(args.params) if args.params else PipelineParams()
    if args.fs is not None:
        if not args.fs > 0:
            raise ParameterError(f"--fs must be a positive frame rate in Hz, got {args.fs}")
        params = params.replace(None, frame_rate=args.fs)
    return params


def run(args) -> int:
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.session import OverwriteRefused, Session, motion_warning

    params = params_from_args(args)
    if args.no_motion:
        params = params.replace("motion", enabled=False)
    if args.scheduler is not None:
        params = params.replace("cnmf", scheduler=args.scheduler)
    if getattr(args, "preset", None):
        from cnmf_gui.presets import apply_preset, explicit_keys
        keep = set()
        if args.params:
            import json
            with open(args.params, encoding="utf-8") as fh:
                keep = explicit_keys(json.load(fh))
        params, changes = apply_preset(params, args.preset, keep=keep)
        if not args.quiet:
            print(f"preset {args.preset}: " + (", ".join(changes) if changes else "nothing to change"))
    _check_output(args.out, args.movie)
    session = Session(params)
    if not args.force and session.curation_at_risk(args.out):
        raise OverwriteRefused(f"--out {args.out} holds curated work that this run would replace: "
                               f"choose another file, or --force to replace it (its ids stay retired)")
    options = {k: v for k, v in (("dataset", args.dataset), ("axes", args.axes), ("plane", args.plane),
                                 ("channel", args.channel)) if v is not None}
    handler = _StderrHandler(level=logging.WARNING)
    logger = logging.getLogger("cnmf_gui.engine")
    logger.addHandler(handler)
    patch_notes = _PatchNotes()
    bar = TerminalProgress(enabled=False if args.quiet else None)
    progress = StageClock(bar)
    t0 = time.perf_counter()
    from cnmf_gui.session import warmup
    try:
        session.open_movie(args.movie, **options)
        if getattr(session, "preset_hint", None):
            print(f"cnmf-gui run: warning: {session.preset_hint}", file=sys.stderr)
        # Ids of a session being replaced stay retired: the new components number after them.
        session.retire_ids_of(args.out)
        if not warmup.is_warm() and not args.quiet:
            # Once the input is known to be good: a bad input still gets its one line only.
            print("first run on this installation: the numerical kernels are compiled once (about a "
                  "minute; later runs skip this)", file=sys.stderr)
        try:
            session.run_pipeline(progress=progress)
            bar.finish()
            t_save = time.perf_counter()
            session.save(args.out, force=True)
            t_end = time.perf_counter()
            warmup.mark_warm()
        finally:
            session.close_movie()
    finally:
        logger.removeHandler(handler)
        patch_notes.close()
    data = session.data
    if data.motion is not None:
        warning = motion_warning(data.motion.metrics)
        if warning:
            print(f"cnmf-gui run: warning: motion correction: {warning}", file=sys.stderr)
    comps = data.components
    counts = [int((comps.status == s).sum()) for s in (1, 0, -1, 2)]
    print(f"{comps.n_components} components ({counts[0]} accepted, {counts[1]} undecided, "
          f"{counts[2]} rejected, {counts[3]} inactive) -> {args.out}")
    if data.motion is not None and "n_flagged" in (data.motion.metrics or {}):
        print(f"motion: {int(data.motion.metrics['n_flagged'])} flagged frames (blank, flashed, untrusted, or "
              f"out of step with their neighbours: see the Motion QC panel)")
    print(patch_notes.summary())
    how = "set by you" if params.init.neuron_radius > 0 else "estimated from the movie"
    print(f"neuron radius: {data.params.init.neuron_radius:g} px ({how})")
    if not args.quiet:
        print("stage timings:")
        for stage, seconds in progress.seconds.items():
            print(f"  {stage:<24} {seconds:8.2f} s")
        print(f"  {'write session':<24} {t_end - t_save:8.2f} s")
        print(f"  {'total':<24} {t_end - t0:8.2f} s")
    return 0

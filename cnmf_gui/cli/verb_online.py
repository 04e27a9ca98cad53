"""``cnmf-gui online SOURCE --out SESSION.h5``: online CNMF on a file, or a folder/file that grows.

A live line on the terminal (frames processed, fps, components, lag behind the source); the
session is written every ``online.checkpoint_seconds`` (atomically, through the session writer)
so that a crash loses at most that much; Ctrl+C stops the run after the current frame and
writes the session. A problem of the source (a truncated page, a frame of another size, a
folder that vanished) ends the run with one line on stderr and exit status 2, the session so far
written; with ``--until-idle S`` a followed source that brings nothing new for S seconds ends the
run normally.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

NAME = "online"
HELP = "online CNMF (OnACID) on a movie, or on a folder or file that is still being written"


def add_arguments(parser) -> None:
    parser.add_argument("source", help="movie file, growing TIFF/HDF5 file, or folder of numbered TIFF files")
    parser.add_argument("--out", required=True, help="session file to write (HDF5, e.g. SESSION.h5)")
    parser.add_argument("--follow", action="store_true", help="keep reading frames as they are written")
    parser.add_argument("--until-idle", type=float, metavar="SECONDS",
                        help="with --follow: stop when no new frame arrived for this many seconds")
    parser.add_argument("--params", help="parameters as JSON (the 'online' stage and the batch stages "
                                         "used to initialise)")
    parser.add_argument("--fs", type=float, help="frame rate in Hz")
    parser.add_argument("--refine", action="store_true",
                        help="at the end, one batch pass on the whole movie seeded with the online components")
    parser.add_argument("--poll", type=float, default=0.05, help="seconds between looks at a growing source")
    parser.add_argument("--quiet", action="store_true", help="no live line")
    parser.add_argument("--force", action="store_true", help="replace --out even when it holds curation")


class LiveLine:
    """The run's live line on stderr (redrawn in place on a terminal, every 10 s otherwise)."""

    def __init__(self, enabled: bool, stream=None):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.stop = threading.Event()
        self._last = 0.0
        self._shown = False

    def report(self, fraction: float, message: str = "") -> None:
        if not self.enabled or not message:
            return
        now = time.monotonic()
        if self.tty:
            self.stream.write(f"\r{message[:100]:<100}")
            self._shown = True
        elif now - self._last >= 10.0:
            self.stream.write(message + "\n")
            self._last = now
        self.stream.flush()

    def cancel_requested(self) -> bool:
        return self.stop.is_set()

    def finish(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()


def run(args) -> int:
    from cnmf_gui.cli.verb_run import _check_output, params_from_args
    from cnmf_gui.errors import ParameterError, UserError
    from cnmf_gui.io import save_session
    from cnmf_gui.io.frame_stream import StreamIdle
    from cnmf_gui.session import OverwriteRefused, Session
    from cnmf_gui.session.online import OnlineRun

    params = params_from_args(args)
    if args.until_idle is not None and not args.until_idle > 0:
        raise ParameterError(f"--until-idle must be a positive number of seconds, got {args.until_idle}")
    if args.until_idle is not None and not args.follow:
        raise ParameterError("--until-idle only applies with --follow")
    if not args.poll > 0:
        raise ParameterError(f"--poll must be a positive number of seconds, got {args.poll}")
    _check_output(args.out, args.source)
    session = Session(params)
    if not args.force and session.curation_at_risk(args.out):
        raise OverwriteRefused(f"--out {args.out} holds curated work that this run would replace: "
                               f"choose another file, or --force to replace it")
    session.retire_ids_of(args.out)
    line = LiveLine(enabled=not args.quiet)
    run_ = OnlineRun(session, args.source, follow=args.follow, until_idle=args.until_idle, poll=args.poll,
                     on_checkpoint=lambda data: save_session(data, args.out))
    # Ctrl+C: finish the current frame and write what there is (a second Ctrl+C interrupts).
    def first_interrupt(*_):
        line.stop.set()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, first_interrupt)
    try:
        outcome = run_.job()(line)
    finally:
        signal.signal(signal.SIGINT, previous)
        line.finish()
    if outcome.data is None:
        raise UserError(f"{args.source}: {outcome.stopped}")
    run_.apply_outcome(outcome)
    session.save(args.out, force=True)
    if args.refine:
        from cnmf_gui.session.online_refine import refine
        refine(session)
        session.save(args.out, force=True)
    comps = session.components
    counts = [int((comps.status == s).sum()) for s in (1, 0, -1, 2)]
    print(f"{session.n_frames} frames, {comps.n_components} components ({counts[0]} accepted, {counts[1]} "
          f"undecided, {counts[2]} rejected, {counts[3]} inactive) -> {args.out}")
    if not args.quiet and len(outcome.latency):
        lat = outcome.latency * 1e3
        print(f"online: {outcome.fps:.1f} frames/s after {outcome.init_seconds:.1f} s of initialisation; "
              f"latency per frame median {float(sorted(lat)[len(lat) // 2]):.1f} ms")
    if outcome.stopped and not isinstance(outcome.error, StreamIdle) and outcome.stopped != "stopped by the user":
        print(f"cnmf-gui online: error: {outcome.stopped} (the session so far is written to {args.out})",
              file=sys.stderr)
        return 2
    if outcome.stopped:
        print(f"online: {outcome.stopped}")
    return 0

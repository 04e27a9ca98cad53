"""``cnmf-gui import PLANE_FOLDER|CAIMAN.hdf5 --movie MOVIE --out SESSION.h5``: another tool's results
as a session to curate (see :mod:`cnmf_gui.session.importing`)."""

from __future__ import annotations

import os

NAME = "import"
HELP = "make a session of suite2p (plane folder) or CaImAn (.hdf5) results, to curate here"


def add_arguments(parser) -> None:
    parser.add_argument("results", help="a suite2p plane folder (suite2p/plane0, with stat.npy and iscell.npy) "
                                        "or a CaImAn result saved with cnm.save('x.hdf5')")
    parser.add_argument("--movie", required=True, help="the movie the results were made from (same shape)")
    parser.add_argument("--out", required=True, help="the session file to write (.h5)")
    parser.add_argument("--fs", type=float, help="frame rate (Hz) when neither the movie nor the results say it")
    parser.add_argument("--params", help="parameters JSON (deconvolution, evaluation, dF/F settings)")
    parser.add_argument("--dataset", help="HDF5/NWB movie: the dataset or imaging series to read")
    parser.add_argument("--force", action="store_true",
                        help="replace --out even when it holds curation (its ids stay retired)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.errors import ParameterError, UserError
    from cnmf_gui.io.import_result import detect_tool
    from cnmf_gui.params import PipelineParams, load_params
    from cnmf_gui.session import OverwriteRefused, Session, is_session_file
    from cnmf_gui.session.importing import TOOL_NAMES, import_results

    if args.fs is not None and not args.fs > 0:
        raise ParameterError(f"--fs must be a positive frame rate in Hz, got {args.fs}")
    out = os.path.abspath(args.out)
    folder = os.path.dirname(out)
    if not os.path.isdir(folder):
        raise UserError(f"--out {args.out}: folder {folder} does not exist")
    for given in (args.movie, args.results):
        if os.path.exists(given) and os.path.abspath(given) == out:
            raise UserError(f"--out {args.out} is an input: choose another file name")
    if os.path.exists(out) and not is_session_file(out):
        raise UserError(f"--out {args.out} exists and is not a cnmf_gui session file: refusing to overwrite it")
    params = load_params(args.params) if args.params else PipelineParams()
    session = Session(params)
    if os.path.exists(out) and not args.force:
        raise OverwriteRefused(f"--out {args.out} exists: choose another file, or --force to replace it "
                               f"(its ids stay retired)")
    bar = TerminalProgress(enabled=False if args.quiet else None)
    options = {"dataset": args.dataset} if args.dataset else None
    try:
        import_results(session, args.results, args.movie, movie_options=options, frame_rate=args.fs,
                       retire_ids_of=out if os.path.exists(out) else None, progress=bar)
        bar.finish()
        session.save(out, force=True)
    finally:
        session.close_movie()
    comps = session.components
    tool = TOOL_NAMES[detect_tool(args.results)]
    counts = [int((comps.status == s).sum()) for s in (1, 0, -1)]
    print(f"imported {comps.n_components} components from {tool} ({counts[0]} accepted, {counts[1]} undecided, "
          f"{counts[2]} rejected), ids {int(comps.ids.min()) if comps.n_components else '-'}"
          f"..{int(comps.ids.max()) if comps.n_components else '-'} -> {args.out}")
    return 0


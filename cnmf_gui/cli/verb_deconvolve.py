"""``cnmf-gui deconvolve SESSION.h5``: re-run deconvolution in place, keeping the curation.

The same path as ``cnmf-gui curate SESSION.h5 --epsilon E [--components IDS]`` (one command of
the session, logged like the window's rerun).
"""

from __future__ import annotations

NAME = "deconvolve"
HELP = "re-run the deconvolution of a session's components (new epsilon), keeping status, ids and log"


def add_arguments(parser) -> None:
    parser.add_argument("session", help="session file written by `cnmf-gui run` or the application")
    parser.add_argument("--epsilon", type=float,
                        help="relaxation of the noise constraint (default: the session's parameter); "
                             "with --components their override, else the new global epsilon")
    parser.add_argument("--components", metavar="IDS",
                        help="component ids to re-run, e.g. 3,5,10-12 (default: all)")


def run(args) -> int:
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.cli.verb_curate import apply_steps
    from cnmf_gui.errors import UserError
    from cnmf_gui.session import Session

    session = Session()
    session.open_session(args.session)
    if session.components is None or session.n_components == 0:
        raise UserError(f"{args.session} holds no components to deconvolve")
    eps = session.params.deconvolution.epsilon if args.epsilon is None else args.epsilon
    session.params.replace("deconvolution", epsilon=eps)        # one line naming a bad value
    progress = TerminalProgress()
    said = apply_steps(session, [("epsilon", eps)], args.components, progress=progress, where=args.session)
    progress.finish()
    session.save(args.session)
    print(f"{said[0]} -> {args.session}")
    return 0

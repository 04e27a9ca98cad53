"""``cnmf-gui deconvolve SESSION.h5``: re-run deconvolution in place, keeping the curation."""

from __future__ import annotations

import datetime
import json

NAME = "deconvolve"
HELP = "re-run the deconvolution of a session's components (new epsilon), keeping status, ids and log"


def add_arguments(parser) -> None:
    parser.add_argument("session", help="session file written by `cnmf-gui run` or the application")
    parser.add_argument("--epsilon", type=float,
                        help="relaxation of the noise constraint (default: the session's parameter)")
    parser.add_argument("--components", metavar="IDS",
                        help="component ids to re-run, e.g. 3,5,10-12 (default: all)")


def run(args) -> int:
    import numpy as np

    from cnmf_gui.cli.ids import parse_ids
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.engine.redeconvolve import redeconvolve
    from cnmf_gui.errors import ParameterError, UserError
    from cnmf_gui.io import load_session, save_session
    from cnmf_gui.params import PipelineParams

    data = load_session(args.session)
    comps = data.components
    if comps is None or comps.n_components == 0:
        raise UserError(f"{args.session} holds no components to deconvolve")
    params = data.params if isinstance(data.params, PipelineParams) else PipelineParams()
    if args.epsilon is not None and not -1 < args.epsilon <= 10:
        raise ParameterError(f"--epsilon = {args.epsilon} is out of range: expected (-1, 10]")
    eps = params.deconvolution.epsilon if args.epsilon is None else args.epsilon
    if args.components is not None:
        indices = parse_ids(args.components, "--components").indices(comps.ids, args.session)
    else:
        indices = list(range(comps.n_components))
    progress = TerminalProgress()
    data.components = redeconvolve(comps, indices, params.deconvolution, epsilon=eps, progress=progress)
    progress.finish()
    if len(indices) == comps.n_components:
        data.params = params.replace("deconvolution", epsilon=eps)
    entry = {"time": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
             "action": "deconvolve", "epsilon": eps,
             "ids": [int(i) for i in np.asarray(comps.ids)[indices]]}
    data.curation_log = list(data.curation_log) + [json.dumps(entry)]
    save_session(data, args.session)
    print(f"deconvolved {len(indices)} component(s) with epsilon = {eps:g} -> {args.session}")
    return 0

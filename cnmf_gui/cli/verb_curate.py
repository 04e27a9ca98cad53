"""``cnmf-gui curate SESSION.h5 [--accept IDS] [--reject IDS] ... [--undo N]``: headless curation.

The edits are the window's: each option runs a row of the action table
(:data:`cnmf_gui.session.actions.ACTIONS`) or the session's deconvolution rerun, through the same
commands, logged the same way, so a lab can script its curation rules and a file curated here
matches one curated by hand with the same edits. Options run in the order given; the session
file is rewritten in place (atomically) unless ``--out`` names another file.
"""

from __future__ import annotations

import argparse
import sys

from cnmf_gui.session.actions import ACTIONS

NAME = "curate"
HELP = "curate a session without the window: accept, reject, merge, split, seed, thresholds, epsilon, undo"


class _Step(argparse.Action):
    """Keeps every curation option with its value in the order typed (``args.steps``)."""

    def __call__(self, parser, namespace, values, option_string=None):
        steps = list(getattr(namespace, "steps", None) or [])
        steps.append((self.dest, values))
        namespace.steps = steps


def resolve_ids(session, text: str, option: str, where: str) -> list[int]:
    """The ids of ``session`` that ``text`` ('3,5,10-12') names (a range: the ids it holds)."""
    from cnmf_gui.cli.ids import parse_ids
    return [int(session.ids[k]) for k in parse_ids(text, option).indices(session.ids, where)]


def add_arguments(parser) -> None:
    parser.add_argument("session", help="session file written by `cnmf-gui run` or the application")
    for act in ACTIONS:
        if act.cli is None:
            continue
        if act.cli_ids:
            parser.add_argument(act.cli, dest=act.id, metavar="IDS", action=_Step,
                                help=f"{act.title.replace(' selected', '')}: ids like 3,5,10-12 ({act.tip})")
        else:
            parser.add_argument(act.cli, dest=act.id, nargs=0, action=_Step, help=act.tip)
    parser.add_argument("--epsilon", dest="epsilon", type=float, action=_Step,
                        help="re-run the deconvolution with this epsilon: of --components (their "
                             "override), or of all components (the new global epsilon; overrides dropped)")
    parser.add_argument("--components", metavar="IDS",
                        help="with --epsilon: the component ids it applies to (default: all)")
    parser.add_argument("--seed", dest="seed", metavar="ROW,COL", action=_Step,
                        help="fit a missed cell at this pixel as a new component (the overlapping "
                             "components are refitted with it); needs the movie")
    parser.add_argument("--undo", dest="undo", type=int, metavar="N", action=_Step,
                        help="undo the last N edits made by this command")
    parser.add_argument("--out", help="write the curated session here instead of in place")
    parser.add_argument("--force", action="store_true",
                        help="with --out: replace a file holding curation this session did not load")


def apply_steps(session, steps, components: str | None = None, progress=None, where: str = "the session"
                ) -> list[str]:
    """Run the options in order on ``session``; returns one line per step for the terminal."""
    from cnmf_gui.errors import UserError
    from cnmf_gui.session.actions import BY_ID

    said = []
    for name, value in steps:
        if name == "epsilon":
            ids = resolve_ids(session, components, "--components", where) if components else None
            if ids is None:
                session.deconvolve(None, use_global=True, global_epsilon=value, progress=progress)
                said.append(f"deconvolved all {session.n_components} components with epsilon = {value:g}")
            else:
                session.deconvolve(ids, epsilon=value, progress=progress)
                said.append(f"deconvolved {len(ids)} component(s) with epsilon override {value:g}")
        elif name == "seed":
            try:
                row, col = (int(v) for v in value.split(","))
            except ValueError:
                raise UserError(f"--seed {value}: expected ROW,COL (two integers)") from None
            said.append(f"seed {row},{col} -> new id {session.seed(row, col)}")
        elif name == "undo":
            if value < 1:
                raise UserError(f"--undo {value}: expected a positive number of edits")
            for k in range(value):
                if not session.undo():
                    raise UserError(f"--undo {value}: only {k} edit(s) of this command to undo")
            said.append(f"undid {value} edit(s)")
        else:
            act = BY_ID[name]
            if act.cli_ids:
                ids = resolve_ids(session, value, act.cli, where)
                out = act.run(session, ids)
                said.append(f"{act.id} {','.join(map(str, ids))}" + (f" -> new id {out}" if name == "merge" else "")
                            + (f" -> new ids {','.join(map(str, out))}" if name == "split" else ""))
            else:
                acc, rej, und = act.run(session)
                said.append(f"thresholds: {acc} accepted, {rej} rejected, {und} undecided (your decisions kept)")
    return said


def run(args) -> int:
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.errors import UserError
    from cnmf_gui.session import Session

    steps = getattr(args, "steps", None) or []
    if args.components and not any(name == "epsilon" for name, _ in steps):
        raise UserError("--components goes with --epsilon")
    if not steps:
        raise UserError("nothing to do: give --accept, --reject, --undecide, --merge, --thresholds, "
                        "--split, --epsilon, --seed or --undo")
    session = Session()
    # What the window shows in its status bar (a movie not found: a merge then has no r_value).
    session.subscribe("message", lambda text: print(f"cnmf-gui curate: warning: {text}", file=sys.stderr))
    session.open_session(args.session)
    if session.components is None or session.n_components == 0:
        raise UserError(f"{args.session} holds no components to curate")
    progress = TerminalProgress()
    said = apply_steps(session, steps, args.components, progress=progress, where=args.session)
    progress.finish()
    out = session.save(args.out or args.session, force=args.force)
    for line in said:
        print(line)
    counts = [int((session.components.status == v).sum()) for v in (1, 0, -1)]
    print(f"{session.n_components} components ({counts[0]} accepted, {counts[1]} undecided, "
          f"{counts[2]} rejected) -> {out}")
    return 0

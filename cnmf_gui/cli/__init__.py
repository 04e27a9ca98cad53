"""Command line entry point ``cnmf-gui`` (also ``python -m cnmf_gui``).

Each verb lives in its own module ``cnmf_gui/cli/verb_<name>.py`` exposing::

    NAME = "deconvolve-traces"          # the verb as typed
    HELP = "one line for --help"
    def add_arguments(parser): ...      # argparse arguments of the verb
    def run(args) -> int: ...           # does the work; returns the exit status

Verbs are discovered at start-up, so adding one never touches this file. Every verb shares one
error path: a :class:`~cnmf_gui.errors.UserError` prints one line on stderr and exits with 2,
no traceback unless ``--debug``. Invoked with a file and no verb, the main window opens.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import os
import sys
import warnings

from cnmf_gui import __version__
from cnmf_gui.errors import Cancelled, UserError

EXIT_USER_ERROR = 2
EXIT_CANCELLED = 130


def _verb_modules():
    """Import every ``verb_*`` module of this package, sorted by verb name."""
    mods = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("verb_"):
            mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return sorted(mods, key=lambda m: m.NAME)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (not the usage block), like every other error here."""

    def error(self, message):
        text = " ".join(str(message).split())
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {text} (see {self.prog} --help)\n")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = _Parser(
        prog="cnmf-gui",
        description="Calcium imaging: motion correction, CNMF, deconvolution and curation. "
                    "Without a verb, opens the main window (with FILE if given).")
    parser.add_argument("--version", action="version", version=f"cnmf-gui {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs = {}
    for mod in _verb_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks for errors")
        mod.add_arguments(p)
        verbs[mod.NAME] = mod
    return parser, verbs


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, verbs = build_parser()
    # `cnmf-gui FILE` (no verb) opens the window: route it to the `open` verb when present.
    first = next((a for a in argv if not a.startswith("-")), None)
    if "open" in verbs and (first is None and not any(a in ("-h", "--help", "--version") for a in argv)
                            or first is not None and first not in verbs):
        argv = ["open"] + argv
    args = parser.parse_args(argv)
    if args.verb is None:
        parser.print_help()
        return 0
    debug = getattr(args, "debug", False)
    try:
        with warnings.catch_warnings():
            # One line per warning, like errors (not Python's file:line and source line).
            warnings.showwarning = _one_line_warning(args.verb)
            status = verbs[args.verb].run(args)
        return int(status or 0)
    except BrokenPipeError:
        # `cnmf-gui info x.tif | head -1`: the reader left, which is no error of ours. Later
        # writes (and the interpreter's flush at exit) go nowhere instead of failing again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except UserError as exc:
        if debug:
            raise
        text = " ".join(str(exc).split())  # one line, whatever the message held
        print(f"cnmf-gui {args.verb}: error: {text}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:
        # Disk full, permission denied, a folder that vanished: the user's problem to fix, so
        # one line naming the file, like any other user error.
        if debug:
            raise
        where = f" {exc.filename}:" if getattr(exc, "filename", None) else ""
        text = " ".join(str(exc.strerror or exc).split())
        print(f"cnmf-gui {args.verb}: error:{where} {text}", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        if debug:
            raise
        print(f"cnmf-gui {args.verb}: error: not enough memory for this request (a smaller movie, "
              f"fewer frames or patches)", file=sys.stderr)
        return EXIT_USER_ERROR
    except Cancelled:
        print(f"cnmf-gui {args.verb}: cancelled", file=sys.stderr)
        return EXIT_CANCELLED
    except KeyboardInterrupt:
        print(f"\ncnmf-gui {args.verb}: interrupted", file=sys.stderr)
        return EXIT_CANCELLED


def _one_line_warning(verb: str):
    """A ``warnings.showwarning`` that prints ``cnmf-gui VERB: warning: TEXT`` on one line."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        print(f"cnmf-gui {verb}: warning: {text}", file=sys.stderr if file is None else file)
    return show

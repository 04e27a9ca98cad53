"""``cnmf-gui screenshot FILE --out PNG [--view NAME]``: render the main window to a PNG.

Without a display the window is rendered offscreen; under an X server (e.g. Xvfb) it is the real
window. Used for the documentation and to check a session by eye.
"""

from __future__ import annotations

import os

from cnmf_gui.errors import InputFileError, UserError
from cnmf_gui.session import VIEWS

NAME = "screenshot"
HELP = "render the main window with FILE (movie or session) to a PNG"


def add_arguments(parser) -> None:
    parser.add_argument("file", help="a movie or a session file")
    parser.add_argument("--out", required=True, help="PNG file to write")
    parser.add_argument("--view", default=None, choices=sorted(VIEWS),
                        help="what the image shows (default: corrected when available, else raw)")
    parser.add_argument("--size", type=int, nargs=2, default=(1400, 900), metavar=("W", "H"),
                        help="window size in pixels (default 1400 900)")
    parser.add_argument("--frame", type=int, default=None, help="frame to show (default: the middle)")
    parser.add_argument("--select", type=int, nargs="*", default=None, metavar="ID",
                        help="component ids to select (default: the two with the highest SNR)")
    parser.add_argument("--outlines", default="not rejected",
                        choices=("all", "accepted", "not rejected", "undecided", "rejected", "inactive", "none"),
                        help="which components' outlines to draw (default: not rejected, as in the window)")
    parser.add_argument("--dock", default=None, choices=("traces", "motion", "log"),
                        help="bottom dock to bring to the front (default traces)")


def run(args) -> int:
    if not os.path.exists(args.file):
        raise InputFileError(f"{args.file}: no such file")
    if not args.out.lower().endswith(".png"):
        raise UserError(f"{args.out}: expected a .png output file")
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        raise UserError(f"{args.out}: folder {folder} does not exist")
    from cnmf_gui.gui.screenshot import render
    render(args.file, args.out, view=args.view, size=tuple(args.size), frame=args.frame,
           select=args.select, dock=args.dock, outlines=args.outlines)
    print(f"wrote {args.out}")
    return 0

"""``cnmf-gui [FILE]``: open the main window, with a movie or a session file when given."""

from __future__ import annotations

import os

from cnmf_gui.errors import InputFileError

NAME = "open"
HELP = "open the main window (with a movie or a session file)"


def add_arguments(parser) -> None:
    parser.add_argument("file", nargs="?", help="a movie (TIFF, HDF5, NPY) or a session file (.h5)")


def run(args) -> int:
    if args.file is not None and not os.path.exists(args.file) and "*" not in args.file:
        raise InputFileError(f"{args.file}: no such file or folder")
    from cnmf_gui.app import run_window
    return run_window(args.file)

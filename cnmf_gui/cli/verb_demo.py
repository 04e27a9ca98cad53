"""``cnmf-gui demo``: make (or reuse) a synthetic movie with known truth, open it, run the pipeline."""

from __future__ import annotations

NAME = "demo"
HELP = "open a synthetic demo movie (made once in the user's data folder) and run the pipeline on it"


def add_arguments(parser) -> None:
    pass


def run(args) -> int:
    from cnmf_gui.app import run_window
    return run_window(None, demo=True)

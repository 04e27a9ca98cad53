"""Entry script for the PyInstaller bundle: the same command line as ``cnmf-gui``."""

import multiprocessing
import sys

if __name__ == "__main__":
    # Patch workers (ProcessPoolExecutor) re-launch the frozen executable; this makes them
    # run the worker instead of the command line.
    multiprocessing.freeze_support()
    from cnmf_gui.cli import main

    sys.exit(main())

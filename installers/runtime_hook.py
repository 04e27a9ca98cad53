"""PyInstaller runtime hook: numba cannot write its compilation cache inside a read-only
bundle, so point it at the user's data folder before anything imports numba."""

import os
import sys
from pathlib import Path

if getattr(sys, "frozen", False) and "NUMBA_CACHE_DIR" not in os.environ:
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    os.environ["NUMBA_CACHE_DIR"] = str(base / "cnmf-gui" / "numba")

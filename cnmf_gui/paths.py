"""Where the program keeps its own files: the user's data folder, logs, the demo cache.

Follows each platform's convention (XDG on Linux, ~/Library/Application Support on macOS,
%LOCALAPPDATA% on Windows); ``CNMF_GUI_HOME`` overrides the folder (tests, portable installs).
Nothing is created at import time.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "cnmf-gui"


def user_data_dir() -> Path:
    """The per-user folder for logs, autosaves of unsaved work and the demo movie (created on demand)."""
    override = os.environ.get("CNMF_GUI_HOME")
    if override:
        base = Path(override)
    elif sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / APP
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / APP
    else:
        base = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / APP
    base.mkdir(parents=True, exist_ok=True)
    return base


def log_dir() -> Path:
    """Folder of the rotating log files."""
    path = user_data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_file() -> Path:
    """The current log file (the one to attach to a bug report)."""
    return log_dir() / "cnmf-gui.log"


def demo_dir() -> Path:
    """Folder where ``cnmf-gui demo`` keeps its synthetic movie and session."""
    path = user_data_dir() / "demo"
    path.mkdir(parents=True, exist_ok=True)
    return path


def resource(name: str) -> Path:
    """Path of a file shipped in ``cnmf_gui/resources`` (icon, help pages)."""
    return Path(__file__).resolve().parent / "resources" / name

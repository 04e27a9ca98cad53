"""What the Help > About box and bug reports show: versions and where files are kept (Qt-free)."""

from __future__ import annotations

import platform
import sys
from importlib import metadata

DEPENDENCIES = ("numpy", "scipy", "numba", "cvxpy", "clarabel", "h5py", "tifffile", "imagecodecs",
                "PyQt6", "pyqtgraph")


def dependency_versions() -> dict[str, str]:
    """Installed version of each runtime dependency ("not installed" where absent)."""
    out = {}
    for name in DEPENDENCIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            mod = sys.modules.get(name)
            out[name] = getattr(mod, "__version__", "not installed")
    return out


def about_info() -> dict[str, object]:
    """Version, platform, dependency versions and the paths of the log and data folders."""
    from cnmf_gui import __version__
    from cnmf_gui.paths import log_file, user_data_dir

    return {
        "version": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "frozen": bool(getattr(sys, "frozen", False)),
        "dependencies": dependency_versions(),
        "log_file": str(log_file()),
        "data_folder": str(user_data_dir()),
        "autosave": "beside each session (or movie) file, as <file name>.recovery.h5",
    }


def about_text() -> str:
    """:func:`about_info` as plain text, for the About box and for pasting into a bug report."""
    info = about_info()
    lines = [f"cnmf-gui {info['version']}",
             f"Python {info['python']} on {info['platform']}" + (" (bundle)" if info["frozen"] else ""),
             "", "Libraries:"]
    lines += [f"  {k} {v}" for k, v in info["dependencies"].items()]
    lines += ["", f"Log file: {info['log_file']}", f"Data folder: {info['data_folder']}",
              f"Autosave: {info['autosave']}"]
    return "\n".join(lines)

"""A rotating log file in the user's data folder, so that a user can send it with a bug report.

Called once by the entry points (the window and the command line); library code only uses
``logging.getLogger(__name__)``.
"""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
from pathlib import Path

_HANDLER_NAME = "cnmf_gui-file"


def setup_logging(level: int = logging.INFO, path: Path | None = None) -> Path | None:
    """Attach a rotating file handler (1 MB x 5 files) to the ``cnmf_gui`` logger.

    Idempotent: a second call returns the same file without adding a handler. Returns the log
    file's path, or None when the folder is not writable (the program runs on without a log).
    """
    from cnmf_gui import __version__
    from cnmf_gui.paths import log_file

    logger = logging.getLogger("cnmf_gui")
    for handler in logger.handlers:
        if handler.get_name() == _HANDLER_NAME:
            return Path(handler.baseFilename)
    try:
        path = Path(path) if path is not None else log_file()
        handler = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5,
                                                       encoding="utf-8")
    except OSError:
        return None
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(min(logger.level or level, level))
    logger.info("cnmf-gui %s, Python %s, %s; argv %s", __version__, platform.python_version(),
                platform.platform(), sys.argv)
    return path

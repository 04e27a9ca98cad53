"""Shared test fixtures.

Qt runs offscreen unless the caller chose a platform, so ``pytest`` works on a machine without a
screen. Real recordings are read from ``../shared/data`` beside the checkout (override with
``CNMF_GUI_DATA``); tests that need them skip cleanly when the folder is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("CNMF_GUI_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real recordings; skips the test when it is absent."""
    if not DATA.is_dir():
        pytest.skip(f"real recordings not found at {DATA}")
    return DATA


def data_file(relative: str) -> Path:
    """Path of one real recording, skipping the test when it is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"real recording {relative} not found under {DATA}")
    return path

"""The layering contract of DESIGN.md, checked on the source.

engine/ never imports Qt, h5py, tifffile or cnmf_gui.io; io/ never imports Qt; session.py and
params/results never import Qt. Checked on every import statement (including those inside
functions), so a lazy import cannot sneak a dependency in.
"""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "cnmf_gui"

QT = ("PyQt6", "PyQt5", "PySide6", "PySide2", "pyqtgraph", "cnmf_gui.gui", "cnmf_gui.app")
RULES = {
    "engine": QT + ("h5py", "tifffile", "cnmf_gui.io", "cnmf_gui.session", "cnmf_gui.cli"),
    "io": QT + ("cnmf_gui.session", "cnmf_gui.cli"),
    "session.py": QT,
    "params.py": QT + ("cnmf_gui.engine", "cnmf_gui.io"),
    "results.py": QT + ("cnmf_gui.engine", "cnmf_gui.io"),
    "progress.py": QT,
    "synthetic.py": QT + ("cnmf_gui.io", "cnmf_gui.session"),
}


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module


def _files(rule: str):
    if rule == "session.py":  # the session model may be split over session_*.py files
        return sorted(PKG.glob("session*.py"))
    target = PKG / rule
    if target.is_dir():
        return sorted(target.rglob("*.py"))
    return [target] if target.exists() else []


@pytest.mark.parametrize("rule", sorted(RULES))
def test_layer_imports(rule):
    bad = []
    for path in _files(rule):
        for line, name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in RULES[rule]):
                bad.append(f"{path.relative_to(PKG.parent)}:{line} imports {name}")
    assert not bad, "layer violations:\n" + "\n".join(bad)

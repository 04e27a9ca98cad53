"""The About information lists versions and the paths a bug report needs."""

from cnmf_gui import __version__
from cnmf_gui.about import about_info, about_text


def test_about_lists_versions_and_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("CNMF_GUI_HOME", str(tmp_path))
    info = about_info()
    assert info["version"] == __version__
    assert info["dependencies"]["numpy"] != "not installed"
    text = about_text()
    assert f"cnmf-gui {__version__}" in text
    assert str(tmp_path) in text and "Log file" in text and "PyQt6" in text

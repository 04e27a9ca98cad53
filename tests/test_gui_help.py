"""The Help menu: shortcuts (generated from the window's real actions), getting started, About."""

from cnmf_gui import __version__
from tests.test_gui_support import answers, no_dangling_threads, window  # noqa: F401  (fixtures)


def _open(window, qtbot, key):
    window.acts[key].trigger()
    dialog = window.help_dialog
    qtbot.waitExposed(dialog)
    text = dialog.browser.toPlainText()
    dialog.close()
    return text


def _pairs(text):
    """The shortcuts table as {action: key}, read back from the dialog's plain text."""
    lines = [ln.replace("\xa0", " ").strip() for ln in text.splitlines()[1:]]
    return {lines[i + 1]: lines[i] for i in range(0, len(lines) - 1, 2)}


def test_shortcuts_list_the_real_keys(qtbot, window):
    pairs = _pairs(_open(window, qtbot, "help_keys"))
    for key, action in (("Ctrl+Z", "Undo"), ("Ctrl+Shift+Z", "Redo"), ("A", "Accept selected"),
                        ("R", "Reject selected"), ("Space", "Play / pause"), ("Ctrl+S", "Save session")):
        assert pairs[action] == key
    # the list is generated from the actions: a changed shortcut shows up changed
    window.acts["accept"].setShortcut("K")
    assert _pairs(_open(window, qtbot, "help_keys"))["Accept selected"] == "K"


def test_getting_started_and_about(qtbot, window, tmp_path, monkeypatch):
    assert "Export CSV" in _open(window, qtbot, "help_start")
    monkeypatch.setenv("CNMF_GUI_HOME", str(tmp_path / "home"))
    about = _open(window, qtbot, "help_about")
    assert f"cnmf-gui {__version__}" in about
    assert "Log file" in about and str(tmp_path / "home") in about and "numpy" in about
    assert window.isVisible()

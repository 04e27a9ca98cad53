"""User data folder and the rotating log file."""

import logging

from cnmf_gui import logs, paths


def test_user_folder_honours_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CNMF_GUI_HOME", str(tmp_path / "home"))
    assert paths.user_data_dir() == tmp_path / "home"
    assert paths.log_file().parent.is_dir()
    assert paths.resource("cnmf-gui.png").is_file()


def test_log_file_is_written_and_setup_is_idempotent(tmp_path):
    target = tmp_path / "x.log"
    logger = logging.getLogger("cnmf_gui")
    before = list(logger.handlers)
    try:
        assert logs.setup_logging(path=target) == target
        assert logs.setup_logging(path=tmp_path / "other.log") == target
        logging.getLogger("cnmf_gui.engine.test").warning("hello from a test")
        for h in logger.handlers:
            h.flush()
        text = target.read_text()
        assert "cnmf-gui" in text and "hello from a test" in text
    finally:
        for h in list(logger.handlers):
            if h not in before:
                logger.removeHandler(h)
                h.close()

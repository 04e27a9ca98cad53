"""Atomic writes: nothing half-written in place, normal permissions, clear errors."""

import os
import stat

import pytest

from cnmf_gui.atomic import atomic_path
from cnmf_gui.cli import main
from cnmf_gui.errors import UserError


def test_failure_leaves_the_old_file_untouched(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            with open(tmp, "w") as fh:
                fh.write("half")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.csv"]


def test_new_files_get_umask_permissions_and_replacements_keep_theirs(tmp_path):
    old = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.csv"
        with atomic_path(fresh) as tmp:
            open(tmp, "w").close()
        assert stat.S_IMODE(fresh.stat().st_mode) == 0o644
        kept = tmp_path / "kept.csv"
        kept.write_text("x")
        kept.chmod(0o640)
        with atomic_path(kept) as tmp:
            open(tmp, "w").close()
        assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    finally:
        os.umask(old)


def test_unwritable_folder_is_a_user_error():
    # /proc refuses new files even to root, unlike a chmod-ed folder
    with pytest.raises(UserError, match="cannot write /proc/cnmf_gui_test.csv"):
        with atomic_path("/proc/cnmf_gui_test.csv"):
            pass


def test_cli_turns_os_errors_into_one_line_exit_2(tmp_path, capsys):
    # /proc is not writable even for root
    assert main(["make-demo", "/proc/cnmf_gui_test.tif", "--frames", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "/proc" in err and "\n" not in err

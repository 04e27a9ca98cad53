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


# ---------------------------------------------------------------------------------------------
# The one writer under failure (issue 12 item 1): full disk, read-only targets, stale files.
# ---------------------------------------------------------------------------------------------

import subprocess
import sys
import textwrap
import time

import numpy as np

from cnmf_gui.atomic import STALE_AFTER_S, WriteError, atomic_paths, check_target, remove_stale_temporaries
from cnmf_gui.atomic_h5 import atomic_h5

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run_limited(code: str, limit_bytes: int, cwd) -> subprocess.CompletedProcess:
    """Run ``code`` in a child whose files may not grow past ``limit_bytes`` (RLIMIT_FSIZE).

    Writes past the limit fail with EFBIG, as a full disk fails with ENOSPC; no root needed.
    """
    prog = ("import resource, sys\n"
            f"resource.setrlimit(resource.RLIMIT_FSIZE, ({limit_bytes}, {limit_bytes}))\n"
            + textwrap.dedent(code))
    env = dict(os.environ, PYTHONPATH=_ROOT)
    return subprocess.run([sys.executable, "-c", prog], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_hdf5_write_past_the_disk_limit_is_one_line_not_a_crash(tmp_path):
    # Before the never-failing sink, libhdf5 crashed in the garbage collector after the failed
    # close (exit -11 / 139) or printed its multi-line error.
    code = """
        import numpy as np
        from cnmf_gui.atomic_h5 import atomic_h5
        from cnmf_gui.errors import UserError
        try:
            with atomic_h5("big.h5") as fh:
                ds = fh.create_dataset("mov", shape=(400, 64, 64), dtype="f4", chunks=(10, 64, 64))
                for i in range(0, 400, 10):
                    ds[i:i + 10] = np.ones((10, 64, 64), np.float32)
        except UserError as exc:
            print("ERR", exc)
            sys.exit(2)
    """
    proc = _run_limited(code, 1_000_000, tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith("ERR cannot write big.h5: file too large")
    assert proc.stderr == ""
    assert os.listdir(tmp_path) == []


def test_cli_motion_past_the_disk_limit_exits_2_naming_the_file(tmp_path):
    from cnmf_gui.synthetic import make_movie

    np.save(tmp_path / "m.npy", make_movie(n_frames=120, shape=(48, 48), n_neurons=5, seed=1).movie)
    code = """
        from cnmf_gui.cli import main
        sys.exit(main(["motion", "m.npy", "--out", "c.h5"]))
    """
    proc = _run_limited(code, 600_000, tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert lines == ["cnmf-gui motion: error: cannot write c.h5: file too large (file-size limit or file "
                     "system maximum)"]
    assert sorted(os.listdir(tmp_path)) == ["m.npy"]


def test_full_tmpfs_disk_is_one_line(tmp_path):
    """A real full disk (ENOSPC) on a 1 MB tmpfs; needs root and mount, else skipped."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mnt)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    try:
        with pytest.raises(WriteError, match=f"cannot write {mnt / 'x.h5'}: no space left on the device"):
            with atomic_h5(mnt / "x.h5") as fh:
                fh["a"] = np.ones((400, 1000))
        with pytest.raises(WriteError, match="no space left on the device"):
            with atomic_path(mnt / "x.csv") as tmp:
                with open(tmp, "w") as out:
                    out.write("1," * 2_000_000)
        assert os.listdir(mnt) == []
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_read_only_target_is_never_replaced(tmp_path):
    target = tmp_path / "s.h5"
    target.write_bytes(b"old")
    target.chmod(0o444)
    with pytest.raises(WriteError, match="read-only"):
        with atomic_h5(target) as fh:
            fh["a"] = [1]
    with pytest.raises(WriteError, match="read-only"):
        with atomic_path(target):
            pass
    with pytest.raises(WriteError, match="read-only"):
        check_target(target, force=True)
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["s.h5"]


def test_check_target_refuses_existing_without_force_and_inputs_always(tmp_path):
    out = tmp_path / "o.csv"
    check_target(out, force=False)  # a new file is fine
    out.write_text("x")
    with pytest.raises(WriteError, match="without --force"):
        check_target(out, force=False)
    check_target(out, force=True)
    with pytest.raises(WriteError, match="overwrite an input"):
        check_target(out, force=True, inputs=[tmp_path / "." / "o.csv"])
    with pytest.raises(WriteError, match="does not exist"):
        check_target(tmp_path / "nope" / "o.csv")


def test_stale_temporaries_are_removed_by_the_next_write_and_fresh_ones_kept(tmp_path):
    old = tmp_path / ".s.h5.ab12cd34.part.h5"
    old_mkstemp = tmp_path / ".traces_C.csv.k_9zq1x0.part.csv"
    fresh = tmp_path / ".s.h5.99887766.part.h5"
    user = tmp_path / ".notes.part"  # not our pattern: never touched
    for p in (old, old_mkstemp, fresh, user):
        p.write_text("x")
    past = time.time() - STALE_AFTER_S - 60
    for p in (old, old_mkstemp, user):
        os.utime(p, (past, past))
    with atomic_path(tmp_path / "other.csv") as tmp:
        open(tmp, "w").close()
    assert sorted(os.listdir(tmp_path)) == sorted([fresh.name, user.name, "other.csv"])
    assert remove_stale_temporaries(tmp_path, max_age_s=-1) == [str(fresh)]


def test_no_process_wide_umask_change(tmp_path, monkeypatch):
    def forbidden(mask):
        raise AssertionError("os.umask changes the whole process (not thread-safe)")

    monkeypatch.setattr(os, "umask", forbidden)
    with atomic_path(tmp_path / "a.csv") as tmp:
        open(tmp, "w").close()
    with atomic_h5(tmp_path / "a.h5") as fh:
        fh["x"] = [1]
    assert (tmp_path / "a.csv").exists() and (tmp_path / "a.h5").exists()


def test_file_and_folder_are_fsynced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.path.isdir(f"/proc/self/fd/{fd}"))),
                                                 real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", os.path.basename(b))),
                                                     real_replace(a, b))[1])
    with atomic_path(tmp_path / "a.csv") as tmp:
        open(tmp, "w").close()
    assert events == [("fsync", False), ("replace", "a.csv"), ("fsync", True)]


def test_several_files_are_written_all_or_none(tmp_path):
    paths = [tmp_path / n for n in ("a.csv", "b.csv", "c.csv")]
    for p in paths:
        p.write_text("old")
    with pytest.raises(WriteError, match="cannot write .*c.csv: input/output error"):
        with atomic_paths(paths) as tmps:
            for tmp in tmps[:2]:
                open(tmp, "w").write("new")
            raise OSError(5, "Input/output error", tmps[2])
    assert [p.read_text() for p in paths] == ["old"] * 3
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.csv", "c.csv"]
    with atomic_paths(paths) as tmps:
        for tmp in tmps:
            open(tmp, "w").write("new")
    assert [p.read_text() for p in paths] == ["new"] * 3


def test_a_failed_rename_puts_back_the_files_already_replaced(tmp_path, monkeypatch):
    paths = [tmp_path / n for n in ("a.csv", "b.csv")]
    for p in paths:
        p.write_text("old")
    real_replace = os.replace

    def replace(src, dst):
        if os.fspath(dst).endswith("b.csv") and ".part" in os.fspath(src):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(WriteError, match="cannot write .*b.csv: no space left"):
        with atomic_paths(paths) as tmps:
            for tmp in tmps:
                open(tmp, "w").write("new")
    assert [p.read_text() for p in paths] == ["old", "old"]
    assert sorted(os.listdir(tmp_path)) == ["a.csv", "b.csv"]


def test_a_live_writer_keeps_its_temporary_file_however_old(tmp_path):
    """A long computation may not write for an hour; its temporary file is not a crash's."""
    with atomic_path(tmp_path / "slow.h5") as tmp:
        past = time.time() - 10 * STALE_AFTER_S
        os.utime(tmp, (past, past))
        with atomic_path(tmp_path / "other.csv") as other:  # another write to the folder sweeps it
            open(other, "w").close()
        assert os.path.exists(tmp)
        assert remove_stale_temporaries(tmp_path) == []
        open(tmp, "w").write("done")
    assert (tmp_path / "slow.h5").read_text() == "done"


def test_after_a_failed_write_libhdf5_reads_back_what_it_wrote(tmp_path):
    """Metadata that libhdf5 wrote after the disk filled must read back as written, not as
    zeros it cannot decode (a decoding error on close is the crash this writer avoids)."""
    import errno

    from cnmf_gui.atomic_h5 import _NeverFailingFile

    fd = os.open(tmp_path / "f", os.O_RDWR | os.O_CREAT)
    try:
        sink = _NeverFailingFile(fd)
        assert sink.write(b"A" * 10) == 10
        real_write = sink._file.write
        calls = []

        def failing(view):
            calls.append(len(view))
            if len(calls) == 1:
                return real_write(view[:3])  # a short write, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")

        sink._file.write = failing
        assert sink.write(b"BBBBBB") == 6  # 3 bytes reach the disk, the rest is kept
        assert sink.error.errno == errno.ENOSPC and sink.tell() == 16
        sink.seek(100)
        assert sink.write(b"C" * 4) == 4 and sink.tell() == 104
        sink.seek(0)
        buf = bytearray(104)
        assert sink.readinto(buf) == 104
        assert bytes(buf[:16]) == b"A" * 10 + b"BBBBBB" and bytes(buf[100:]) == b"CCCC"
        assert bytes(buf[16:100]) == bytes(84)
    finally:
        os.close(fd)

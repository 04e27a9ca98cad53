"""Fault injection for issue 12: full disks, overwrites, shrinking movies, bad input, damaged and
read-only sessions, concurrent writers, stale temporary files, orphaned workers.

Each scenario runs the real command line (``python -m cnmf_gui``) in a scratch folder and prints
what happened: exit status, the first stderr line, and whether files that must not change did.
A scenario is CLEAN when the program ended with status 0 or 2 (never a signal or a traceback),
said so in one line, and lost or overwrote nothing. The full-disk scenarios mount a small tmpfs,
which needs root; without it they use RLIMIT_FSIZE (a write past the limit fails with EFBIG, as
a full disk fails with ENOSPC) and say so.

    python -m benchmarks.faults              # all scenarios, ~1.5 minutes
    python -m benchmarks.faults --no-mount   # as without root: RLIMIT_FSIZE instead of a tmpfs
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS: list[tuple[str, bool, str]] = []
MOUNT = {"allowed": True}  # --no-mount turns it off


def cli(args, cwd, *, fsize_limit: int | None = None, background: bool = False):
    """Run ``cnmf-gui ARGS``; returns (status, stderr lines) or the Popen when ``background``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen")
    pre = None
    if fsize_limit is not None:
        def pre():
            import resource
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize_limit, fsize_limit))
    cmd = [sys.executable, "-m", "cnmf_gui"] + [str(a) for a in args]
    if background:
        return subprocess.Popen(cmd, cwd=cwd, env=env, preexec_fn=pre, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    proc = subprocess.run(cmd, cwd=cwd, env=env, preexec_fn=pre, capture_output=True, text=True, timeout=600)
    return proc.returncode, [line for line in proc.stderr.splitlines() if line.strip()]


def digest(folder) -> dict:
    """Every file in ``folder`` (not recursive): name -> sha1."""
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir()) if p.is_file()}


def report(item: str, status, lines, *, lost: str = "", expect=(2,)) -> None:
    """Record and print one scenario's outcome."""
    one_line = len([line for line in lines if ": error: " in line]) <= 1 and not any("Traceback" in l for l in lines)
    crashed = status not in (0, 2)
    clean = status in expect and one_line and not lost
    what = f"exit {status}" + (f" (signal {-status})" if isinstance(status, int) and status < 0 else "")
    first = next((line for line in lines if ": error: " in line), lines[-1] if lines else "")
    detail = f"{what}; {first[:150]}" + (f"; LOST: {lost}" if lost else "") + ("; CRASH" if crashed else "")
    RESULTS.append((item, clean, detail))
    print(f"[{'CLEAN' if clean else 'FAIL '}] {item}: {detail}", flush=True)


@contextlib.contextmanager
def small_disk(parent: Path, size: str):
    """A tmpfs of ``size`` under ``parent`` (root only); yields its path or None."""
    mnt = parent / f"small_{size}"
    mnt.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mnt)]
    if not MOUNT["allowed"] or os.geteuid() != 0 or subprocess.run(mount, capture_output=True).returncode != 0:
        yield None
        return
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(folder: Path, leave_bytes: int) -> None:
    """Fill the file system of ``folder`` until about ``leave_bytes`` are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    with open(folder / "filler.bin", "wb") as fh:
        fh.write(b"\0" * max(0, free - leave_bytes))


def make_inputs(work: Path) -> None:
    code, lines = cli(["make-demo", "demo.tif", "--frames", "300", "--size", "64", "64", "--neurons", "8"], work)
    assert code == 0, lines
    code, lines = cli(["run", "demo.tif", "--out", "session.h5", "--fs", "30", "--quiet"], work)
    assert code == 0, lines
    import numpy as np
    import tifffile

    np.save(work / "big.npy", np.tile(tifffile.imread(work / "demo.tif"), (6, 2, 2)))  # 1800 x 128 x 128


# ----------------------------------------------------------------------------------------------


def item1_full_disk(work: Path) -> None:
    with small_disk(work, "3m") as mnt:  # the corrected movie needs 4.9 MB
        if mnt is None:
            code, lines = cli(["motion", "demo.tif", "--out", "corr.h5"], work, fsize_limit=2_000_000)
            left = [p for p in digest(work) if p.startswith(".corr") or p == "corr.h5"]
            report("1 full disk: motion -> .h5 (RLIMIT_FSIZE 2 MB, no root for a tmpfs)", code, lines,
                   lost=", ".join(left))
        else:
            code, lines = cli(["motion", work / "demo.tif", "--out", mnt / "corr.h5"], work)
            report("1 full disk: motion -> .h5 on a 3 MB tmpfs", code, lines, lost=", ".join(digest(mnt)))
            code, lines = cli(["motion", work / "demo.tif", "--out", mnt / "corr.tif"], work)
            report("1 full disk: motion -> .tif + .motion.h5 on a 3 MB tmpfs", code, lines,
                   lost=", ".join(digest(mnt)))
    size = (work / "session.h5").stat().st_size
    with small_disk(work, f"{3 * size // 2 // 1024 + 64}k") as mnt:
        if mnt is None:
            (work / "s.h5").write_bytes((work / "session.h5").read_bytes())
            before = digest(work)
            code, lines = cli(["deconvolve", "s.h5", "--epsilon", "0.2"], work, fsize_limit=size // 2)
            report("1 full disk: deconvolve a session (RLIMIT_FSIZE half its size)", code, lines,
                   lost="session changed or temporary left" if digest(work) != before else "")
            code, lines = cli(["export", "session.h5", "--csv", "csv_limited", "--all"], work, fsize_limit=2000)
            left = sorted(os.listdir(work / "csv_limited")) if (work / "csv_limited").exists() else []
            report("1 full disk: export's CSV set, all or none (RLIMIT_FSIZE 2 kB)", code, lines, lost=", ".join(left))
        else:
            (mnt / "s.h5").write_bytes((work / "session.h5").read_bytes())
            fill(mnt, 16 * 1024)
            before = digest(mnt)
            code, lines = cli(["deconvolve", mnt / "s.h5", "--epsilon", "0.2"], work)
            report("1 full disk: deconvolve a session on a nearly full tmpfs", code, lines,
                   lost="session changed or temporary left" if digest(mnt) != before else "")
            os.unlink(mnt / "filler.bin")
            (mnt / "csv").mkdir()
            fill(mnt, 40 * 1024)
            code, lines = cli(["export", work / "session.h5", "--csv", mnt / "csv", "--all"], work)
            left = sorted(os.listdir(mnt / "csv"))
            report("1 full disk: export's CSV set, all or none", code, lines, lost=", ".join(left))


def item1_stale_temporaries(work: Path) -> None:
    folder = work / "stale"
    folder.mkdir()
    stale = folder / ".corr.h5.ab12cd34.part.h5"
    stale.write_bytes(b"\0" * 1_000_000)
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    code, lines = cli(["motion", work / "demo.tif", "--out", folder / "corr.h5"], work)
    report("also: stale .part file of an earlier crash removed by the next write", code, lines, expect=(0,),
           lost="stale temporary still there" if stale.exists() else "")


def item4_overwrite(work: Path) -> None:
    (work / "v.h5").write_bytes((work / "session.h5").read_bytes())
    before = digest(work)
    code, lines = cli(["motion", "demo.tif", "--out", "v.h5"], work)
    report("4 motion --out over an existing session", code, lines,
           lost="v.h5 replaced" if digest(work) != before else "")
    code, lines = cli(["make-demo", "demo.tif", "--frames", "10"], work)
    report("4 make-demo over an existing movie and truth", code, lines,
           lost="demo replaced" if digest(work) != before else "")
    (work / "t.csv").write_text("a\n" + "\n".join(str((i * 7919) % 13 / 13) for i in range(300)) + "\n")
    (work / "v.spikes.csv").write_text("keep me\n")
    before = digest(work)
    code, lines = cli(["deconvolve-traces", "t.csv", "--fs", "30", "--out", "v.csv"], work)
    report("4 deconvolve-traces --out v.csv with an existing v.spikes.csv", code, lines,
           lost="a file changed" if digest(work) != before else "")
    code, lines = cli(["deconvolve-traces", "t.csv", "--fs", "30", "--out", "t.csv", "--force"], work)
    report("4 deconvolve-traces --out INPUT --force", code, lines,
           lost="input changed" if digest(work) != before else "")


def item5_shrinking_movie(work: Path) -> None:
    movie = work / "shrink.npy"
    movie.write_bytes((work / "big.npy").read_bytes())
    proc = cli(["motion", movie, "--out", "shrunk.h5"], work, background=True)
    # Truncate once the corrected movie is being written (its temporary file exists): the
    # reader is half-way through the frames.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None and not any(
            name.startswith(".shrunk.h5.") for name in os.listdir(work)):
        time.sleep(0.02)
    os.truncate(movie, movie.stat().st_size // 3)
    _, err = proc.communicate(timeout=600)
    lines = [line for line in err.splitlines() if line.strip()]
    report("5 memory-mapped movie truncated during motion", proc.returncode, lines,
           lost="partial output" if (work / "shrunk.h5").exists() else "")


def item6_read_only(work: Path) -> None:
    ro = work / "ro.h5"
    ro.write_bytes((work / "session.h5").read_bytes())
    ro.chmod(0o444)
    before = digest(work)
    code, lines = cli(["deconvolve", ro, "--epsilon", "0.3"], work)
    report("6 deconvolve on a read-only (0444) session", code, lines,
           lost="read-only file replaced" if digest(work) != before else "")
    ro.chmod(0o644)


def item8_concurrent(work: Path) -> None:
    path = work / "two.h5"
    path.write_bytes((work / "session.h5").read_bytes())
    procs = [cli(["deconvolve", path, "--epsilon", eps], work, background=True) for eps in ("0.1", "0.3")]
    outs = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    import h5py

    with h5py.File(path, "r") as fh:
        log = [str(x) for x in fh["curation/log"].asstr()[()]]
    saved = sum(1 for code, _ in outs if code == 0)
    kept = sum(1 for line in log if "epsilon" in line and ("0.1" in line or "0.3" in line))
    lines = [line for _, err in outs for line in err.splitlines() if line.strip()]
    report(f"8 two deconvolve on one file at once ({saved} saved, {kept} change(s) in the log)",
           0 if saved == kept else 1, [line for line in lines if "error" in line][:1],
           lost="" if saved == kept else "a saved change is missing", expect=(0,))


def item7_touched_session(work: Path) -> None:
    """A crash left a recovery file; the session file is touched afterwards (a backup tool, a
    copy): the recovery must still be offered (it was hidden by a "recovery newer" check)."""
    sys.path.insert(0, str(ROOT))
    from cnmf_gui.session.files import recovery_for_open, recovery_path_for

    session = work / "crashed.h5"
    session.write_bytes((work / "session.h5").read_bytes())
    recovery = recovery_path_for(session)
    recovery.write_bytes((work / "session.h5").read_bytes())
    later = time.time() + 60
    os.utime(session, (later, later))
    offered = recovery_for_open(session)
    report("7 recovery file offered after the session file was touched", 0, [], expect=(0,),
           lost="" if offered and Path(offered[0]) == recovery else "recovery not offered")


def item2_window_kill(work: Path, n_edits: int = 21, interval_s: float = 1.5) -> None:
    """The issue's window scenario: 21 edits at 1.5 s intervals (31 s, the autosave's pause
    never comes), then kill -9 at once; reopening must offer and restore every edit."""
    sys.path.insert(0, str(ROOT))
    import numpy as np

    from cnmf_gui.session import Session, recovery_for_open

    session = work / "edited.h5"
    session.write_bytes((work / "session.h5").read_bytes())
    env = dict(os.environ, PYTHONPATH=str(ROOT), QT_QPA_PLATFORM="offscreen", CNMF_GUI_HOME=str(work / "home"))
    child = subprocess.Popen([sys.executable, "-m", "tests.crash_child", str(session), str(n_edits),
                              str(interval_s), str(work / "settings.ini")], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    shown = None
    for line in child.stdout:
        if line.startswith("done "):
            shown = json.loads(line[5:])
            break
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    lost = ""
    if shown is None:
        lost = "the window ended before its edits"
    elif recovery_for_open(session) is None:
        lost = f"all {n_edits} edits (nothing offered on reopen)"
    else:
        s = Session()
        s.open(session, use_recovery=True)
        undone = 0
        while s.undo():
            undone += 1
        s2 = Session()
        s2.open(session, use_recovery=True)
        if not np.array_equal(s2.components.status, shown) or undone != n_edits:
            lost = f"restored {undone} of {n_edits} edits"
    report(f"2 window: {n_edits} edits over {n_edits * interval_s:.0f} s, then kill -9: all offered back "
           f"and undoable", 0, [], expect=(0,), lost=lost)


def item9_bad_input(work: Path) -> None:
    (work / "bin.json").write_bytes(bytes(range(256)) * 4)
    (work / "deep.json").write_text("[" * 100000 + "]" * 100000)
    (work / "cvx.json").write_text(json.dumps({"deconvolution": {"method": "cvxpy"}}))
    (work / "empty.npy").write_bytes(b"")
    (work / "huge.csv").write_text("a\n" + "\n".join(f"{1e300 * (1 + (i * 7919) % 13 / 13):.6e}" for i in range(300)))
    cases = [
        (["motion", "demo.tif", "--out", "p1.h5", "--params", "bin.json"], (2,)),
        (["motion", "demo.tif", "--out", "p2.h5", "--params", "deep.json"], (2,)),
        (["run", "demo.tif", "--out", "cvx.h5", "--params", "cvx.json", "--fs", "30", "--quiet"], (0, 2)),
        (["deconvolve-traces", "huge.csv", "--fs", "30", "--out", "huge_out.csv"], (0, 2)),
        (["deconvolve-traces", "empty.npy", "--fs", "30", "--out", "e_out.csv"], (2,)),
        (["make-demo", "d1.tif", "--fs", "nan"], (2,)), (["make-demo", "d2.tif", "--fs", "inf"], (2,)),
        (["make-demo", "d3.tif", "--seed", "-1"], (2,)),
        (["make-demo", "d4.tif", "--size", "8", "100000", "--frames", "2"], (2,)),
        (["make-demo", "d5.tif", "--frames", "1", "--size", "8", "8"], (2,)),
        (["deconvolve", "session.h5", "--components", "0-100000000000"], (0, 2)),
    ]
    for args, expect in cases:
        code, lines = cli(args, work)
        report("9 " + " ".join(map(str, args)), code, lines, expect=expect)


def item10_damaged(work: Path) -> None:
    import h5py
    import numpy as np

    edits = {
        "C shorter than the movie": lambda f: (
            f.__delitem__("components/C"),
            f.create_dataset("components/C", data=np.zeros((len(f["components/id"]), 10)))),
        "a status of 7": lambda f: f["components/status"].__setitem__(0, 7),
        "duplicate ids": lambda f: f["components/id"].__setitem__(slice(0, 2), 5),
        "frame rate -5": lambda f: f.attrs.__setitem__("frame_rate", -5.0),
    }
    for name, edit in edits.items():
        path = work / "damaged.h5"
        path.write_bytes((work / "session.h5").read_bytes())
        with h5py.File(path, "r+") as fh:
            edit(fh)
        for verb in (["info"], ["deconvolve"], ["export", "--csv", work / "dmg_csv"]):
            before = digest(work)
            code, lines = cli([verb[0], path] + verb[1:], work)
            report(f"10 {verb[0]} on a session with {name}", code, lines,
                   lost="a file changed" if digest(work) != before else "")


def also_orphans(work: Path) -> None:
    (work / "patches.json").write_text(json.dumps({"cnmf": {"patch_size": 48, "n_workers": 2}}))
    proc = cli(["run", "big.npy", "--out", "orphans.h5", "--fs", "30", "--params", "patches.json", "--no-motion"],
               work, background=True)
    children: set[int] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(children) < 2:
        time.sleep(0.5)
        children = {int(p) for p in os.listdir("/proc") if p.isdigit() and _parent_of(int(p)) == proc.pid}
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    time.sleep(3)
    alive = [p for p in children if _parent_of(p) is not None]
    for p in alive:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)
    report(f"also: kill -9 of run with patches ({len(children)} children seen)", 0, [],
           lost=f"{len(alive)} child process(es) still alive 3 s later" if alive else "", expect=(0,))


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def main() -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-mount", action="store_true", help="never mount a tmpfs (the non-root path)")
    MOUNT["allowed"] = not parser.parse_args().no_mount
    with tempfile.TemporaryDirectory(prefix="cnmf_faults_") as tmp:
        work = Path(tmp)
        print(f"inputs in {work} (demo movie 300 x 64 x 64, its session, a 1800 x 128 x 128 .npy)", flush=True)
        make_inputs(work)
        for scenario in (item1_full_disk, item1_stale_temporaries, item4_overwrite, item5_shrinking_movie,
                         item6_read_only, item2_window_kill, item7_touched_session, item8_concurrent, item9_bad_input,
                         item10_damaged, also_orphans):
            scenario(work)
    bad = [r for r in RESULTS if not r[1]]
    print(f"\n{len(RESULTS) - len(bad)} of {len(RESULTS)} scenarios clean")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())

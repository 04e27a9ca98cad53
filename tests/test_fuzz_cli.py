"""Malformed files, arguments and parameter JSON thrown at every command-line verb (issue 12).

For every input the verb must end with status 0 or 2, print no traceback, put at most one
error line on stderr (other lines are one-line warnings), and touch no file it should not:
after status 2 nothing changed at all; after status 0 only the verb's own outputs changed, and
no temporary file is left behind. The GUI verbs (open, demo, screenshot) are left out: they
open windows. Bounded: a few dozen examples per verb on tiny files (well under a minute).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import pathlib
import shutil
import tempfile

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnmf_gui.cli import main
from cnmf_gui.io import save_session
from tests.test_session_file import _full_session

VALUES = ["0", "1", "-1", "3", "0.5", "-0.5", "nan", "inf", "-inf", "1e300", "100000000000", "abc", "",
          "1,2", "0-100000000000", "3-1", "--", "é"]
FILES = ["movie.npy", "movie.tif", "session.h5", "traces.csv", "params.json", "empty.h5", "junk.h5",
         "junk.tif", "junk.npy", "text.h5", "cut_session.h5", "cut.tif", "deep.json", "binary.json",
         "folder.h5", "missing.h5", "nan.json", "bad_session.h5", "movie4d.npy"]
OUTPUTS = ["out.h5", "out.tif", "out.csv", "outdir", "movie.npy", "session.h5", "traces.csv", "sub/none.h5",
           "junk.h5"]
# Per verb: positional argument candidates, and options with the kind of value they take.
VERBS = {
    "run": (["movie.npy", "movie.tif"] + FILES, {"--out": OUTPUTS, "--params": FILES, "--fs": VALUES,
                                                 "--no-motion": None, "--dataset": VALUES, "--force": None}),
    "motion": (FILES, {"--out": OUTPUTS, "--params": FILES, "--pw-rigid": None, "--axes": ["thw", "hwt", "x", ""],
                       "--dataset": VALUES, "--force": None}),
    "deconvolve": (["session.h5"] + FILES, {"--epsilon": VALUES, "--components": VALUES}),
    "curate": (["session.h5"] + FILES, {"--accept": VALUES, "--reject": VALUES, "--epsilon": VALUES,
                                         "--undo": VALUES, "--out": OUTPUTS, "--force": None}),
    "export": (["session.h5"] + FILES, {"--csv": OUTPUTS, "--all": None}),
    "info": (FILES, {"--dataset": VALUES, "--axes": ["thw", "hwt", "tzhw", "q"], "--plane": VALUES,
                     "--channel": VALUES, "--no-check": None}),
    "make-demo": (OUTPUTS + ["demo.tif", "demo.npy", "demo.avi"],
                  {"--frames": ["1", "2", "0", "-3", "abc", "100000000"], "--size": None,
                   "--neurons": VALUES, "--fs": VALUES, "--seed": VALUES, "--motion": ["none", "rigid", "x"],
                   "--force": None}),
    "deconvolve-traces": (["traces.csv"] + FILES, {"--fs": VALUES, "--out": OUTPUTS, "--p": VALUES,
                                                   "--epsilon": VALUES, "--s-min": VALUES,
                                                   "--baseline": ["free", "zero", "x"], "--method": ["fast", "x"],
                                                   "--noise-range": ["auto", "0.1,0.2", "x", "0.5"],
                                                   "--force": None}),
}
# Options given most of the time, so that inputs get past argparse to the verb's own checks.
REQUIRED = {"run": ["--out"], "motion": ["--out"], "export": ["--csv"], "deconvolve-traces": ["--fs", "--out"]}
# Options naming outputs a verb may create or replace when it succeeds.
_OUT_OPTIONS = {"--out", "--csv"}


def _make_inputs(folder: str) -> None:
    rng = np.random.default_rng(0)
    movie = (rng.random((24, 16, 16)) * 100).astype(np.float32)
    np.save(os.path.join(folder, "movie.npy"), movie)
    tifffile.imwrite(os.path.join(folder, "movie.tif"), movie)
    np.save(os.path.join(folder, "movie4d.npy"), np.zeros((3, 2, 8, 8), np.float32))
    data = _full_session(pathlib.Path(folder), K=3, T=24, H=16, W=16)
    data.movie_path = os.path.join(folder, "movie.npy")
    save_session(data, os.path.join(folder, "session.h5"))
    with open(os.path.join(folder, "session.h5"), "rb") as fh:
        blob = fh.read()
    with open(os.path.join(folder, "cut_session.h5"), "wb") as fh:
        fh.write(blob[: len(blob) // 2])
    import h5py

    shutil.copy(os.path.join(folder, "session.h5"), os.path.join(folder, "bad_session.h5"))
    with h5py.File(os.path.join(folder, "bad_session.h5"), "r+") as fh:
        del fh["components/id"]
        fh["components/id"] = np.array([5, 5, 6])
    with open(os.path.join(folder, "movie.tif"), "rb") as fh:
        tif = fh.read()
    with open(os.path.join(folder, "cut.tif"), "wb") as fh:
        fh.write(tif[: len(tif) // 3])
    lines = ["a,b"] + [f"{x:.4f},{y:.4f}" for x, y in rng.random((200, 2))]
    with open(os.path.join(folder, "traces.csv"), "w") as fh:
        fh.write("\n".join(lines) + "\n")
    with open(os.path.join(folder, "params.json"), "w") as fh:
        json.dump({"frame_rate": 10.0}, fh)
    with open(os.path.join(folder, "nan.json"), "w") as fh:
        fh.write('{"cnmf": {"K": NaN}}')
    open(os.path.join(folder, "empty.h5"), "wb").close()
    with open(os.path.join(folder, "junk.h5"), "wb") as fh:
        fh.write(b"\x89HDF\r\n\x1a\n" + rng.bytes(3000))
    for name in ("junk.tif", "junk.npy", "binary.json"):
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(rng.bytes(2000))
    with open(os.path.join(folder, "text.h5"), "w") as fh:
        fh.write("not hdf5\n")
    with open(os.path.join(folder, "deep.json"), "w") as fh:
        fh.write("[" * 50000 + "]" * 50000)
    os.mkdir(os.path.join(folder, "folder.h5"))


@pytest.fixture(scope="module")
def inputs():
    with tempfile.TemporaryDirectory(prefix="cnmf_fuzz_src_") as folder:
        _make_inputs(folder)
        yield folder


def _state(folder: str) -> dict:
    """Every file under ``folder`` (relative path -> sha1), folders as '<dir>'."""
    out = {}
    for root, dirs, files in os.walk(folder):
        for d in dirs:
            out[os.path.relpath(os.path.join(root, d), folder)] = "<dir>"
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                out[os.path.relpath(os.path.join(root, f), folder)] = hashlib.sha1(fh.read()).hexdigest()
    return out


def _allowed_outputs(verb: str, argv: list[str]) -> set[str]:
    """Relative names a successful run of ``argv`` may create or change (prefixes end in '/')."""
    allowed = set()
    for opt, value in zip(argv, argv[1:]):
        if opt in _OUT_OPTIONS:
            allowed.add(value)
            stem = os.path.splitext(value)[0]
            allowed |= {stem + ".motion.h5", stem + ".spikes.csv", stem + ".summary.csv", value + ".csv",
                        value + ".spikes.csv", value + ".summary.csv", value.rstrip("/") + "/"}
    positional = argv[1] if len(argv) > 1 else ""
    if verb in ("deconvolve", "curate") and "--out" not in argv:
        allowed.add(positional)
    if verb == "make-demo":
        allowed |= {positional, os.path.splitext(positional)[0] + ".truth.h5"}
    return allowed


@st.composite
def invocations(draw, verb: str):
    positionals, options = VERBS[verb]
    argv = [verb, draw(st.sampled_from(positionals))]
    chosen = draw(st.lists(st.sampled_from(sorted(options)), max_size=4, unique=True))
    for opt in REQUIRED.get(verb, []):
        if opt not in chosen and draw(st.integers(0, 9)) > 0:
            chosen.append(opt)
    for opt in chosen:
        argv.append(opt)
        if opt == "--size":
            argv += [draw(st.sampled_from(["16", "8", "-1", "x"])), draw(st.sampled_from(["16", "100000", "0"]))]
        elif options[opt] is not None:
            argv.append(draw(st.sampled_from(options[opt])))
    if verb == "make-demo" and "--frames" not in argv:
        argv += ["--frames", "3", "--size", "16", "16"] if "--size" not in argv else ["--frames", "3"]
    return argv


def _check(inputs: str, argv: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="cnmf_fuzz_") as work:
        for name in os.listdir(inputs):
            src = os.path.join(inputs, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy2)(src, os.path.join(work, name))
        before = _state(work)
        err, out = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(work)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
                try:
                    status = main(list(argv))
                except SystemExit as exc:  # argparse: --help, bad option
                    status = exc.code
        finally:
            os.chdir(cwd)
        after = _state(work)
        lines = [line for line in err.getvalue().splitlines() if line.strip()]
        where = f"cnmf-gui {' '.join(argv)}\nstderr: {err.getvalue()[-2000:]}"
        assert status in (0, 2), where
        assert "Traceback" not in err.getvalue(), where
        assert all(line.startswith("cnmf-gui") for line in lines), where
        errors = [line for line in lines if ": error: " in line]
        assert len(errors) <= 1, where
        if status == 2:
            assert len(errors) == 1 and lines[-1] == errors[0], where
            assert after == before, f"{where}\nchanged: {set(after.items()) ^ set(before.items())}"
        changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
        assert not [k for k in changed if ".part" in k], where
        allowed = _allowed_outputs(argv[0], argv)
        stray = [k for k in changed if k not in allowed and not any(k.startswith(a) for a in allowed
                                                                     if a.endswith("/"))]
        assert not stray, f"{where}\nchanged outside the outputs: {stray}"


_SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


@pytest.mark.parametrize("verb", sorted(VERBS))
def test_every_verb_survives_malformed_input(inputs, verb):
    @_SETTINGS
    @given(argv=invocations(verb))
    def check(argv):
        _check(inputs, argv)

    check()


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(params=st.recursive(
    st.none() | st.booleans() | st.integers(-10 ** 20, 10 ** 20) | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["motion", "cnmf", "deconvolution", "init", "evaluation", "frame_rate", "epsilon",
                         "K", "p", "method", "pw_rigid", "max_shift", "x"]), inner, max_size=3),
    max_leaves=8))
def test_parameter_json_never_crashes_motion(inputs, params):
    """Any JSON value as --params: a parameter error, or a correction with valid parameters."""
    with tempfile.TemporaryDirectory(prefix="cnmf_fuzz_params_") as work:
        for name in ("movie.npy",):
            shutil.copy(os.path.join(inputs, name), work)
        with open(os.path.join(work, "p.json"), "w") as fh:
            json.dump(params, fh)
        _check(work, ["motion", "movie.npy", "--out", "out.h5", "--params", "p.json"])

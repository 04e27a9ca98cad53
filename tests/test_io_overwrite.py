"""Nothing is overwritten without being asked (issue 12 item 4), and inputs never.

`motion --out`, `make-demo` (movie and truth) and `deconvolve-traces --out` (and its .spikes /
.summary siblings) refuse an existing file without --force; with --force they replace it; an
input file is refused even with --force. Each refusal is one line, exit status 2, and leaves
every file byte for byte as it was.
"""

import numpy as np
import pytest

from cnmf_gui.cli import main
from cnmf_gui.synthetic import make_movie


def _snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _refused(argv, folder, capsys, fragment):
    before = _snapshot(folder)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert fragment in err and "\n" not in err and "Traceback" not in err
    assert _snapshot(folder) == before


@pytest.fixture(scope="module")
def movie_npy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("movie")
    path = folder / "m.npy"
    np.save(path, make_movie(n_frames=40, shape=(32, 32), n_neurons=3, seed=2, motion="none").movie)
    return path


def test_motion_refuses_an_existing_session_and_the_input(tmp_path, movie_npy, capsys):
    existing = tmp_path / "v.h5"
    existing.write_bytes(b"a session the user keeps")
    _refused(["motion", str(movie_npy), "--out", str(existing)], tmp_path, capsys, "without --force")
    tif = tmp_path / "c.tif"
    (tmp_path / "c.motion.h5").write_bytes(b"sidecar of another run")
    _refused(["motion", str(movie_npy), "--out", str(tif)], tmp_path, capsys, "c.motion.h5 exists")
    assert main(["motion", str(movie_npy), "--out", str(existing), "--force"]) == 0
    assert existing.read_bytes()[:4] == b"\x89HDF"
    # The input itself, even with --force.
    import h5py

    copy = tmp_path / "in.h5"
    with h5py.File(copy, "w") as fh:
        fh["mov"] = np.load(movie_npy)
    _refused(["motion", str(copy), "--out", str(copy), "--force"], tmp_path, capsys, "input movie")


def test_make_demo_refuses_an_existing_movie_or_truth(tmp_path, capsys):
    args = ["--frames", "5", "--size", "16", "16", "--neurons", "2"]
    (tmp_path / "d.truth.h5").write_bytes(b"truth of another demo")
    _refused(["make-demo", str(tmp_path / "d.tif")] + args, tmp_path, capsys, "d.truth.h5 exists")
    (tmp_path / "e.npy").write_bytes(b"movie")
    _refused(["make-demo", str(tmp_path / "e.npy")] + args, tmp_path, capsys, "e.npy exists")
    assert main(["make-demo", str(tmp_path / "d.tif"), "--force"] + args) == 0
    assert (tmp_path / "d.truth.h5").read_bytes()[:4] == b"\x89HDF"


def test_deconvolve_traces_refuses_existing_siblings_and_the_input(tmp_path, capsys):
    rng = np.random.default_rng(0)
    src = tmp_path / "in.csv"
    src.write_text("a\n" + "\n".join(f"{v:.4f}" for v in rng.random(200)) + "\n")
    (tmp_path / "v.spikes.csv").write_text("unrelated\n")
    _refused(["deconvolve-traces", str(src), "--fs", "30", "--out", str(tmp_path / "v.csv")], tmp_path,
             capsys, "v.spikes.csv exists")
    _refused(["deconvolve-traces", str(src), "--fs", "30", "--out", str(src), "--force"], tmp_path,
             capsys, "overwrite an input")
    assert main(["deconvolve-traces", str(src), "--fs", "30", "--out", str(tmp_path / "v.csv"), "--force"]) == 0
    assert (tmp_path / "v.spikes.csv").read_text().startswith("a\n")
    assert {p.name for p in tmp_path.iterdir()} == {"in.csv", "v.csv", "v.spikes.csv", "v.summary.csv"}

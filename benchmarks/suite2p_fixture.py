"""Make the suite2p plane folder that tests/test_import_suite2p.py imports: suite2p 1.1.0 itself,
run end to end (``run_s2p``: registration, detection, extraction, classification,
deconvolution) on a small synthetic movie.

Two steps, two environments (suite2p is a benchmark peer only, never imported by the package)::

    python -m benchmarks.suite2p_fixture OUT_DIR [--python /work/venv-s2p/bin/python]

writes ``OUT_DIR/movie.tif`` (the movie of :func:`fixture_movie`, made here with the package's
generator) and runs this same file under the peers' Python with ``--run-suite2p``, which
leaves suite2p's plane folder in ``OUT_DIR/suite2p/plane0``. ``--commit DEST`` then copies the
small result files (not suite2p's binary movie) to ``DEST`` (tests/data/suite2p_plane0), with
``movie.json``: the generator's arguments, from which the test makes the same movie again.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys

# What the test needs to rebuild the movie with the same shape; suite2p's files are checked in.
MOVIE = dict(n_frames=300, shape=(64, 64), n_neurons=10, neuron_radius=4.0, frame_rate=15.0,
             motion="rigid", max_shift=2.0, seed=3)
# suite2p 1.x keeps the registration offsets in reg_outputs.npy and the frame rate in settings.npy
# (ops.npy, 270 kB here, only repeats them).
FILES = ("stat.npy", "iscell.npy", "F.npy", "Fneu.npy", "spks.npy", "reg_outputs.npy", "settings.npy")


def fixture_movie():
    """The synthetic movie suite2p ran on: (T, H, W) float32 and its frame rate."""
    from cnmf_gui.synthetic.legacy import make_movie

    sim = make_movie(**MOVIE)
    return sim.movie, MOVIE["frame_rate"]


def _run_suite2p(folder: str, fs: float, diameter: float) -> None:
    import torch
    from suite2p import run_s2p
    from suite2p.parameters import default_db, default_settings

    torch.set_num_threads(1)
    settings = default_settings()
    settings["torch_device"] = "cpu"
    settings["fs"] = fs
    settings["tau"] = 0.5
    settings["diameter"] = [diameter] * 2
    # One block covering a 64 x 64 frame crashes non-rigid registration (PEERS.md): half frames.
    settings["registration"]["block_size"] = [32, 32]
    settings["io"]["save_ops_orig"] = True
    settings["io"]["delete_bin"] = True
    db = default_db()
    db.update(data_path=[folder], save_path0=folder, tiff_list=["movie.tif"])
    run_s2p(db=db, settings=settings)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="scratch folder for the movie and suite2p's output")
    parser.add_argument("--python", default="/work/venv-s2p/bin/python", help="Python with suite2p 1.1.0")
    parser.add_argument("--run-suite2p", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--commit", metavar="DEST", help="copy the small result files here")
    parser.add_argument("--movie", help="run on this movie (a TIFF) instead of the synthetic one, e.g. the "
                                        "real mouse2p recording, then import the result with cnmf-gui")
    parser.add_argument("--fs", type=float, default=MOVIE["frame_rate"], help="frame rate given to suite2p")
    parser.add_argument("--diameter", type=float, default=2 * MOVIE["neuron_radius"], help="cell diameter, px")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.run_suite2p:
        _run_suite2p(args.out, args.fs, args.diameter)
        return 0
    import numpy as np
    import tifffile

    target = os.path.join(args.out, "movie.tif")
    if args.movie:
        if not os.path.exists(target):
            os.symlink(os.path.abspath(args.movie), target)
    else:
        movie, _ = fixture_movie()
        scale = 4000.0 / max(float(movie.max()), 1e-9)
        tifffile.imwrite(target, np.round(movie * scale).astype(np.int16))
    subprocess.run([args.python, os.path.abspath(__file__), args.out, "--run-suite2p", "--fs", str(args.fs),
                    "--diameter", str(args.diameter)], check=True)
    plane = os.path.join(args.out, "suite2p", "plane0")
    print("suite2p wrote:", ", ".join(sorted(os.listdir(plane))))
    if args.commit:
        os.makedirs(args.commit, exist_ok=True)
        for name in FILES:
            shutil.copy(os.path.join(plane, name), os.path.join(args.commit, name))
        with open(os.path.join(args.commit, "movie.json"), "w") as fh:
            json.dump({"generator": "cnmf_gui.synthetic.legacy.make_movie", "kwargs": MOVIE}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

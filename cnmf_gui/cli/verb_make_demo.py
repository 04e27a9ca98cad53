"""``cnmf-gui make-demo OUT.tif``: write a synthetic movie and its ground truth."""

from __future__ import annotations

import os

from cnmf_gui.errors import UserError

NAME = "make-demo"
HELP = "write a synthetic two-photon movie with known ground truth (OUT.tif and OUT.truth.h5)"


def add_arguments(parser) -> None:
    parser.add_argument("out", help="output movie, .tif or .npy")
    parser.add_argument("--frames", type=int, default=1000, help="number of frames (default 1000)")
    parser.add_argument("--size", type=int, nargs=2, default=(128, 128), metavar=("H", "W"),
                        help="frame size in pixels (default 128 128)")
    parser.add_argument("--neurons", type=int, default=30, help="number of neurons (default 30)")
    parser.add_argument("--motion", choices=("none", "rigid", "nonrigid"), default="rigid",
                        help="simulated motion (default rigid)")
    parser.add_argument("--fs", type=float, default=30.0, help="frame rate in Hz (default 30)")
    parser.add_argument("--seed", type=int, default=0)


def truth_path(movie_path: str) -> str:
    """``demo.tif`` -> ``demo.truth.h5``."""
    return os.path.splitext(movie_path)[0] + ".truth.h5"


def run(args) -> int:
    from cnmf_gui.atomic import atomic_path
    from cnmf_gui.synthetic import make_movie

    out = args.out
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".tif", ".tiff", ".npy"):
        raise UserError(f"{out}: expected a .tif, .tiff or .npy output file")
    folder = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(folder):
        raise UserError(f"{out}: folder {folder} does not exist")
    if args.frames < 1 or min(args.size) < 8 or args.neurons < 0 or args.fs <= 0:
        raise UserError("make-demo: expected --frames >= 1, --size >= 8 8, --neurons >= 0 and --fs > 0")
    synth = make_movie(n_frames=args.frames, shape=tuple(args.size), n_neurons=args.neurons,
                       frame_rate=args.fs, motion=args.motion, seed=args.seed)
    movie = synth.movie
    with atomic_path(out) as tmp:
        if ext == ".npy":
            import numpy as np

            with open(tmp, "wb") as fh:
                np.save(fh, movie)
        else:
            import tifffile

            tifffile.imwrite(tmp, movie, photometric="minisblack",
                             metadata={"axes": "TYX", "fps": args.fs}, imagej=False)
    synth.save_truth(truth_path(out))
    print(f"wrote {out}: {movie.shape[0]} x {movie.shape[1]} x {movie.shape[2]} {movie.dtype}, "
          f"{synth.n_neurons} neurons, motion {args.motion}, {args.fs:g} Hz")
    print(f"wrote {truth_path(out)}: ground truth (footprints, traces, spikes, shifts)")
    return 0

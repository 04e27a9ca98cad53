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
    parser.add_argument("--neurons", type=int, default=None,
                        help="number of neurons (default 30, fewer when the frame is small)")
    parser.add_argument("--motion", choices=("none", "rigid", "nonrigid"), default="rigid",
                        help="simulated motion (default rigid)")
    parser.add_argument("--fs", type=float, default=30.0, help="frame rate in Hz (default 30)")
    parser.add_argument("--seed", type=int, default=0, help="random seed, 0 .. 2**32-1 (default 0)")
    parser.add_argument("--force", action="store_true", help="replace an existing movie and truth file")


def truth_path(movie_path: str) -> str:
    """``demo.tif`` -> ``demo.truth.h5``."""
    return os.path.splitext(movie_path)[0] + ".truth.h5"


# The movie is simulated in memory; refuse what cannot fit rather than dying half-way.
MAX_MOVIE_BYTES = 8 * 2 ** 30
# A neuron is about 8 px across; the simulator needs room for one inside the frame.
MIN_SIDE = 12
MAX_SEED = 2 ** 32 - 1
# Somata of radius ~4 px kept >= 1.6 radii apart take ~40 px each; past that the simulator
# tries (200 attempts per neuron) to place neurons that cannot fit, for minutes.
PIXELS_PER_NEURON = 40
DEFAULT_NEURONS = 30


def _check(args) -> None:
    """Every argument in range, or a ParameterError naming it."""
    import math

    from cnmf_gui.errors import ParameterError

    if args.frames < 1:
        raise ParameterError(f"--frames must be >= 1, got {args.frames}")
    if min(args.size) < MIN_SIDE:
        raise ParameterError(f"--size must be at least {MIN_SIDE} {MIN_SIDE} pixels (room for a neuron), "
                             f"got {args.size[0]} {args.size[1]}")
    most = args.size[0] * args.size[1] // PIXELS_PER_NEURON
    if args.neurons is None:
        args.neurons = min(DEFAULT_NEURONS, most)
    if args.neurons < 0:
        raise ParameterError(f"--neurons must be >= 0, got {args.neurons}")
    if args.neurons > most:
        raise ParameterError(f"--neurons {args.neurons} do not fit a {args.size[0]} x {args.size[1]} frame: "
                             f"at most {most} (neurons are placed apart, about {PIXELS_PER_NEURON} px each)")
    if not (math.isfinite(args.fs) and 0 < args.fs <= 1e5):
        raise ParameterError(f"--fs must be a frame rate in (0, 100000] Hz, got {args.fs}")
    if not 0 <= args.seed <= MAX_SEED:
        raise ParameterError(f"--seed must be in 0 .. {MAX_SEED}, got {args.seed}")
    n_bytes = 4 * args.frames * args.size[0] * args.size[1]
    if n_bytes > MAX_MOVIE_BYTES:
        raise ParameterError(f"a {args.frames} x {args.size[0]} x {args.size[1]} movie needs "
                             f"{n_bytes / 2 ** 30:.1f} GiB in memory; make-demo makes at most "
                             f"{MAX_MOVIE_BYTES / 2 ** 30:.0f} GiB: fewer --frames or a smaller --size")


def run(args) -> int:
    from cnmf_gui.atomic import atomic_path, check_target
    from cnmf_gui.synthetic import make_movie

    out = args.out
    ext = os.path.splitext(out)[1].lower()
    if ext not in (".tif", ".tiff", ".npy"):
        raise UserError(f"{out}: expected a .tif, .tiff or .npy output file")
    _check(args)
    # Both files are checked before the simulation: nothing is replaced without --force.
    check_target(out, force=args.force, what="movie")
    check_target(truth_path(out), force=args.force, what="truth file")
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

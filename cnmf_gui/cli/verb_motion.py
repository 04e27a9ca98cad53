"""``cnmf-gui motion MOVIE --out CORRECTED.h5``: motion-correct a movie and write it with its QC."""

from __future__ import annotations

import os
import re
import sys
import time
import warnings

NAME = "motion"
HELP = ("motion-correct a movie (rigid, or piecewise-rigid with --pw-rigid) and write the corrected "
        "movie with its shifts, template and QC metrics")

EPILOG = """\
output:
  OUT.h5 / OUT.hdf5   dataset /mov (T, H, W) float32, chunked by frames, and the group /motion
                      with the session file's names: shifts (T, 2) [dy, dx] applied to each raw
                      frame, template (H, W), shifts_pw (T, gy, gx, 2) and patch_centers (gy, gx, 2)
                      when piecewise-rigid, attr clamped, and metrics/<name> (corr_before,
                      corr_after, crispness_before, crispness_after, bad_frames, residual_rms, ...)
  OUT.tif / OUT.tiff  float32 pages (BigTIFF above 4 GB); the /motion group goes to OUT.motion.h5
                      beside it
Files appear only when complete (a TIFF and its OUT.motion.h5 together); existing files are
replaced only with --force, and the input movie never.
"""


def add_arguments(parser) -> None:
    import argparse

    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("movie", help="movie file (TIFF, HDF5, NPY; FILE.h5:/dataset), a folder or glob of TIFFs")
    parser.add_argument("--out", required=True, help="corrected movie to write: .h5/.hdf5 or .tif/.tiff")
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.add_argument("--pw-rigid", action="store_true",
                        help="piecewise-rigid correction on overlapping patches (motion.pw_rigid)")
    parser.add_argument("--params", help="parameter JSON file; its 'motion' stage is used")
    parser.add_argument("--dataset", help="HDF5: the dataset to read when there are several")
    parser.add_argument("--axes", help="stored axis order, e.g. hwt for rows, columns, time")


def _motion_params(args):
    from cnmf_gui.params import MotionParams, load_params

    p = load_params(args.params).motion if args.params else MotionParams()
    if args.pw_rigid:
        p = MotionParams.from_dict({**p.to_dict(), "pw_rigid": True})
    return p


def _same_file(a, b) -> bool:
    try:
        return os.path.exists(b) and os.path.samefile(a, b)
    except OSError:
        return False


def run(args) -> int:
    from cnmf_gui.atomic import check_target
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.engine.motion import estimate_motion
    from cnmf_gui.errors import UserError
    from cnmf_gui.io import open_movie
    from cnmf_gui.io.writers import CorrectedWriter, motion_sidecar, output_kind

    kind = output_kind(args.out)
    params = _motion_params(args)
    # FILE.h5:/group/name names one dataset of an HDF5 file: the file itself is the source.
    match = re.match(r"^(.+\.(?:h5|hdf5|he5|nwb))(?::.*)?$", args.movie, flags=re.IGNORECASE)
    source = match.group(1) if match else args.movie
    if os.path.isfile(source) and (_same_file(source, args.out) or
                                   (kind == "tiff" and _same_file(source, motion_sidecar(args.out)))):
        raise UserError(f"--out {args.out} is the input movie: choose another file name (the raw movie is "
                        f"never overwritten)")
    for out in [args.out] + ([motion_sidecar(args.out)] if kind == "tiff" else []):
        check_target(out, force=args.force, what="corrected movie")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        movie = open_movie(args.movie, dataset=args.dataset, axes=args.axes)
    for w in caught:
        print(f"cnmf-gui motion: warning: {w.message}", file=sys.stderr)

    progress = TerminalProgress()
    t0 = time.perf_counter()
    with movie:
        T, H, W = movie.shape
        attrs = {"motion": "piecewise-rigid" if params.pw_rigid else "rigid", "motion_group": "/motion",
                 "source": os.path.abspath(source)}
        # One pass: frames are written as they are corrected.
        with CorrectedWriter(args.out, (T, H, W), attrs) as writer:
            result = estimate_motion(movie, params, progress=progress, on_chunk=writer.write)
            writer.finish(result)
        progress.finish()
        written = [os.path.abspath(args.out)]
        if kind == "tiff":
            written.append(os.path.abspath(motion_sidecar(args.out)))
    elapsed = time.perf_counter() - t0
    _summary(result, T, elapsed, written)
    return 0


def _summary(result, T: int, elapsed: float, written: list) -> None:
    import numpy as np

    m = result.metrics
    s = result.shifts
    print(f"frames:       {T} in {elapsed:.1f} s ({T / max(elapsed, 1e-9):.0f} frames/s)")
    print(f"shifts:       rows {s[:, 0].min():+.2f} .. {s[:, 0].max():+.2f} px, "
          f"columns {s[:, 1].min():+.2f} .. {s[:, 1].max():+.2f} px; {result.clamped} frames clamped")
    print(f"correlation:  {np.mean(m['corr_before']):.3f} -> {np.mean(m['corr_after']):.3f} "
          f"(mean with the template)")
    print(f"crispness:    {m['crispness_before']:.4g} -> {m['crispness_after']:.4g}")
    line = f"residual:     {m['residual_rms']:.3f} px RMS"
    if "residual_pw_rms" in m:
        line += f" (patches {m['residual_pw_rms']:.3f} px)"
    print(line)
    if "pc_shift_after" in m:
        before = np.nanmax(m["pc_shift_before"]) if np.isfinite(m["pc_shift_before"]).any() else float("nan")
        after = np.nanmax(m["pc_shift_after"]) if np.isfinite(m["pc_shift_after"]).any() else float("nan")
        print(f"PC motion:    {before:.2f} -> {after:.2f} px (largest along the leading components)")
    print(f"bad frames:   {int(np.sum(m['bad_frames']))}")
    if "n_flagged" in m:
        print(f"flagged:      {int(m['n_flagged'])} frames (blank, flashed, untrusted peak, or out of step with "
              f"their neighbours)")
    from cnmf_gui.engine.motion.metrics import reliability_warning

    warning = reliability_warning(m)
    if warning:
        print(f"cnmf-gui motion: warning: {warning}", file=sys.stderr)
    for path in written:
        print(f"wrote:        {path}")

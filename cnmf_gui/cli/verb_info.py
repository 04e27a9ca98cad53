"""``cnmf-gui info MOVIE``: what a movie (or session) file holds, without loading it."""

from __future__ import annotations

import os
import sys
import warnings

NAME = "info"
HELP = "print a movie's format, shape (T x H x W), dtype, frame rate and size on disk"


def add_arguments(parser) -> None:
    parser.add_argument("movie", nargs="+",
                        help="movie file, FILE.h5:/dataset, a folder or glob of TIFFs, or several TIFF "
                             "files read as one movie; a session file is summarised instead")
    parser.add_argument("--dataset", help="HDF5: the dataset to read when there are several; NWB: the "
                                          "imaging series (e.g. TwoPhotonSeries)")
    parser.add_argument("--axes", help="stored axis order, e.g. hwt for rows, columns, time "
                                       "(t time, h rows, w columns, z plane, c channel)")
    parser.add_argument("--plane", type=int, help="which plane of 4-D data to read")
    parser.add_argument("--channel", type=int, help="which channel of multi-channel data to read")
    parser.add_argument("--no-check", action="store_true",
                        help="skip reading float movies through to look for NaN or inf values")


def _line(label: str, value: str) -> None:
    print(f"{label + ':':<13} {value}")


def _session_info(path: str) -> int:
    from cnmf_gui.io.session_file import load_session

    data = load_session(path)
    T, H, W = data.movie_shape
    _line("file", os.path.abspath(path))
    _line("format", "cnmf_gui session")
    _line("movie", data.movie_path or "none")
    _line("shape", f"{T} x {H} x {W} {data.movie_dtype}  (T x H x W)")
    _line("frame rate", "unknown" if data.frame_rate is None else f"{data.frame_rate:g} Hz")
    stages = [name for name in ("params", "motion", "summary", "components", "background")
              if getattr(data, name) is not None]
    _line("holds", ", ".join(stages) or "no results")
    if data.components is not None:
        c = data.components
        from cnmf_gui.results import STATUS_NAMES

        # Every status of the one table (inactive included), those that occur.
        counts = [(int((c.status == code).sum()), label) for code, label in STATUS_NAMES.items()]
        said = ", ".join(f"{n} {label}" for n, label in counts if n)
        _line("components", f"{c.n_components}" + (f" ({said})" if said else ""))
    _line("size on disk", _size(os.path.getsize(path)))
    return 0


def _size(n: int) -> str:
    from cnmf_gui.io.movie import describe_size

    return describe_size(n)


def run(args) -> int:
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.io.movie import open_movie
    from cnmf_gui.io.session_file import is_session_file

    target = args.movie[0] if len(args.movie) == 1 else args.movie
    if isinstance(target, str) and os.path.isfile(target) and is_session_file(target):
        return _session_info(target)
    # Readers warn when they guess (e.g. the axis order); show that as one line, not a trace.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        movie = open_movie(target, dataset=args.dataset, axes=args.axes, plane=args.plane,
                           channel=args.channel)
    for w in caught:
        print(f"cnmf-gui info: warning: {w.message}", file=sys.stderr)
    with movie:
        T, H, W = movie.shape
        d = movie.details
        _line("file", movie.path)
        if len(movie.paths) > 1:
            _line("files", f"{len(movie.paths)}: {movie.paths[0]} ... {movie.paths[-1]}")
        how = "; ".join(f"{k} {v}" if k in ("dataset", "compression") else str(v)
                        for k, v in d.items() if k != "files" and v)
        _line("format", f"{movie.format} ({how})" if how else movie.format)
        _line("shape", f"{T} x {H} x {W} {movie.dtype}  (T x H x W)")
        _line("frame rate", "unknown" if movie.frame_rate is None else f"{movie.frame_rate:g} Hz")
        if movie.format == "nwb":
            from cnmf_gui.io.nwb_source import list_series
            for k, text in enumerate(list_series(movie.paths[0])):
                _line("series" if k == 0 else "", text)
        _line("size on disk", f"{_size(movie.size_on_disk)} ({_size(movie.nbytes)} decoded)")
        if movie.dtype.kind != "f":
            _line("values", "integers (cannot hold NaN or inf)")
        elif args.no_check:
            _line("values", "not checked for NaN/inf (--no-check)")
        else:
            progress = TerminalProgress()
            try:
                movie.check_finite(progress)
            finally:
                progress.finish()
            _line("values", "all finite")
    return 0

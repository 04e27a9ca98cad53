"""``cnmf-gui deconvolve-traces IN.(csv|npy) --fs HZ --out OUT.csv``: deconvolve traces from
another tool.

Input: one column per cell, one row per frame, as in the spikefinder CSVs. A CSV's first row is
a header of names when it is not all numbers, or when it is exactly 0, 1, ..., K-1 or 1, ..., K
(spikefinder's); otherwise it is data (``--header yes|no`` overrides). Missing values (empty
cells, NaN) at the end of a column are padding and are ignored; a missing value with data after
it is an error naming the column and the frame. An NPY file holds a (T,) or (T, K) array.

The noise level is estimated per cell from its spectrum ('auto' band, see --noise-range); the
AR coefficients from the autocovariance over lags spanning 0.2 s after removing a 3 s running
mean (--detrend), so both follow --fs rather than a fixed number of frames.

Output, written atomically and all three or none (a cancel, an error or a full disk leaves no
partial file); existing files are replaced only with ``--force``, the input never:

- ``OUT.csv``: denoised calcium c (without the baseline), one column per cell, same header;
- ``OUT.spikes.csv``: deconvolved activity s, same layout;
- ``OUT.summary.csv``: one row per cell: name, frames, sigma, g1, g2, tau_decay_s,
  tau_rise_s, baseline, lambda, epsilon, status.

Shorter cells are padded with empty cells at the end of their column, as in the input.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from cnmf_gui.atomic import atomic_paths, check_target
from cnmf_gui.errors import InputFileError, ParameterError

NAME = "deconvolve-traces"
HELP = "deconvolve calcium traces from a CSV or NPY file (one column per cell) into spikes"

_MISSING = {"", "nan", "NaN", "NAN", "na", "NA"}


def add_arguments(parser) -> None:
    parser.add_argument("input", help="traces: CSV or NPY, one column per cell, one row per frame")
    parser.add_argument("--fs", type=float, required=True, help="frame rate in Hz (for the time constants)")
    parser.add_argument("--out", required=True,
                        help="denoised traces OUT.csv; spikes and summary go beside it "
                             "(OUT.spikes.csv, OUT.summary.csv)")
    parser.add_argument("--force", action="store_true", help="replace existing output files")
    parser.add_argument("--p", default="1", choices=("0", "1", "2", "auto"),
                        help="AR order (default 1), or 'auto': AR(1) or AR(2) per cell from its "
                             "spectrum (resampled traces keep AR(1) from the autocovariance)")
    parser.add_argument("--epsilon", type=float, default=0.0,
                        help="relaxation of the noise constraint, > -1 (default 0)")
    parser.add_argument("--s-min", type=float, default=0.0,
                        help="minimum spike size: 0 convex solution, > 0 absolute, < 0 multiple of sigma")
    parser.add_argument("--baseline", default="free", choices=("free", "nonneg", "zero"),
                        help="constant baseline: fitted freely (default: traces from other tools are "
                             "often dF/F, offset and possibly negative), fitted >= 0, or 0")
    parser.add_argument("--refine-g", action="store_true", help="refine the AR coefficients by the fit")
    parser.add_argument("--method", default="fast", choices=("fast", "cvxpy"),
                        help="exact fast solver (default) or the CVXPY reference")
    parser.add_argument("--noise-range", default="auto",
                        help="band of the spectrum for the noise level, LOW,HIGH as fractions of "
                             "--fs, or 'auto' (default): 0.25 to 0.5 of the band limit, which "
                             "copes with traces resampled from a lower frame rate")
    parser.add_argument("--detrend", type=float, default=None,
                        help="seconds of running mean removed before estimating g (default 3; 0 = off)")
    parser.add_argument("--header", default="auto", choices=("auto", "yes", "no"),
                        help="whether the CSV's first row holds column names (default: guess)")


def output_paths(out) -> tuple[Path, Path, Path]:
    """(traces, spikes, summary) paths for ``--out``."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() == ".csv" else out
    return (out if out.suffix else out.with_suffix(".csv"),
            Path(f"{stem}.spikes.csv"), Path(f"{stem}.summary.csv"))


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _looks_like_header(row: list[str]) -> bool:
    if not all(_is_number(v) or v.strip() in _MISSING for v in row):
        return True
    try:
        vals = [float(v) for v in row]
    except ValueError:
        return False
    n = len(vals)
    return vals == list(range(n)) or vals == list(range(1, n + 1))


def read_traces(path: str, header: str = "auto") -> tuple[list[str], list[np.ndarray]]:
    """Names and traces (each trimmed of its end padding) of a CSV or NPY file.

    Raises
    ------
    InputFileError
        Missing/unreadable file, wrong layout, non-numeric cell, or a gap inside a column.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{path}: no such file")
    suffix = p.suffix.lower()
    if suffix == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputFileError(f"{path}: not a readable NPY array ({exc})") from None
        except EOFError:
            raise InputFileError(f"{path}: the file is empty or truncated, not an NPY array") from None
        if not isinstance(arr, np.ndarray):
            raise InputFileError(f"{path}: expected one NPY array, not an archive")
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.dtype.kind not in "iuf":
            raise InputFileError(f"{path}: expected a numeric (T,) or (T, K) array, got shape "
                                 f"{arr.shape} of {arr.dtype}")
        names = [str(k) for k in range(arr.shape[1])]
        columns = [arr[:, k].astype(float) for k in range(arr.shape[1])]
    elif suffix in (".csv", ".txt"):
        try:
            with open(p, newline="", encoding="utf-8-sig") as fh:
                rows = [r for r in csv.reader(fh) if r and any(v.strip() for v in r)]
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(f"{path}: cannot read as CSV text ({exc})") from None
        if not rows:
            raise InputFileError(f"{path}: the file holds no traces")
        has_header = header == "yes" or (header == "auto" and _looks_like_header(rows[0]))
        K = len(rows[0])
        names = [v.strip() for v in rows[0]] if has_header else [str(k) for k in range(K)]
        body = rows[1:] if has_header else rows
        first_line = 2 if has_header else 1
        data = np.full((len(body), K), np.nan)
        for i, row in enumerate(body):
            if len(row) > K:
                raise InputFileError(f"{path}: line {i + first_line} has {len(row)} cells, "
                                     f"the first row has {K}")
            for k, v in enumerate(row):
                v = v.strip()
                if v in _MISSING:
                    continue
                try:
                    data[i, k] = float(v)
                except ValueError:
                    raise InputFileError(f"{path}: column {names[k]!r} line {i + first_line}: "
                                         f"{v!r} is not a number") from None
        columns = [data[:, k] for k in range(K)]
    else:
        raise InputFileError(f"{path}: expected a .csv or .npy file of traces")
    out = []
    for name, col in zip(names, columns):
        if np.isinf(col).any():
            t = int(np.flatnonzero(np.isinf(col))[0])
            raise InputFileError(f"{path}: column {name!r} has an infinite value at frame {t}")
        ok = np.flatnonzero(~np.isnan(col))
        n = int(ok[-1]) + 1 if ok.size else 0
        gaps = np.flatnonzero(np.isnan(col[:n]))
        if gaps.size:
            raise InputFileError(f"{path}: column {name!r} has a missing value at frame {int(gaps[0])} "
                                 f"(data row {int(gaps[0]) + 1}) with data after it; only padding at "
                                 f"the end of a column may be missing")
        if n < 4:
            raise InputFileError(f"{path}: column {name!r} has {n} frames; at least 4 are needed")
        out.append(col[:n].copy())
    if not out:
        raise InputFileError(f"{path}: the file holds no traces")
    return names, out


def _write_columns(path, names, columns) -> None:
    """One column per cell to ``path`` (a temporary file of atomic_paths)."""
    T = max(c.size for c in columns)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(names)
        for t in range(T):
            w.writerow([repr(float(c[t])) if t < c.size else "" for c in columns])


# Deconvolution squares the trace (noise spectrum, autocovariance, residual norms): traces far
# from 1 in magnitude are scaled by a power of two (exact in floating point) into this range
# and the results scaled back, so values near 1e300 neither overflow nor fail in LinAlg.
_SAFE_RANGE = (1e-100, 1e100)


def _deconvolve_in_range(y, deconvolve, **kwargs):
    """``deconvolve(y, **kwargs)`` computed on a power-of-two rescaled copy when |y| is extreme."""
    import dataclasses

    peak = float(np.max(np.abs(y))) if y.size else 0.0
    if peak == 0.0 or _SAFE_RANGE[0] <= peak <= _SAFE_RANGE[1]:
        return deconvolve(y, **kwargs)
    scale = float(np.ldexp(1.0, int(np.frexp(peak)[1]) - 1))  # peak / scale in [1, 2)
    r = deconvolve(y / scale, **kwargs)
    return dataclasses.replace(r, c=r.c * scale, s=r.s * scale, b=r.b * scale, sn=r.sn * scale,
                               lam=r.lam * scale)


def _noise_range(text: str):
    if text == "auto":
        return "auto"
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError:
        raise ParameterError(f"--noise-range must be LOW,HIGH (fractions of --fs) or auto, got {text!r}") from None
    return lo, hi


def run(args) -> int:
    from cnmf_gui.cli.terminal import TerminalProgress
    from cnmf_gui.engine.deconvolution import deconvolve
    from cnmf_gui.engine.deconvolution.kinetics import g_to_tau, rate_defaults
    from cnmf_gui.progress import checkpoint

    if not (math.isfinite(args.fs) and args.fs > 0):
        raise ParameterError(f"--fs must be a positive frame rate in Hz, got {args.fs}")
    paths = output_paths(args.out)
    for path in paths:
        check_target(path, force=args.force, inputs=[args.input], what="output")
    noise_range = _noise_range(args.noise_range)
    names, traces = read_traces(args.input, args.header)
    kin = rate_defaults(args.fs)
    if args.detrend is not None:
        if not (math.isfinite(args.detrend) and args.detrend >= 0):
            raise ParameterError(f"--detrend must be a number of seconds >= 0, got {args.detrend}")
        kin["detrend_window"] = int(round(args.detrend * args.fs)) or None
    order = args.p if args.p == "auto" else int(args.p)
    progress = TerminalProgress()
    results = []
    for k, (name, y) in enumerate(zip(names, traces)):
        checkpoint(progress, k / len(traces), f"deconvolution: cell {name}")
        results.append(_deconvolve_in_range(y, deconvolve, p=order, epsilon=args.epsilon, s_min=args.s_min,
                                  baseline=args.baseline, refine_g=args.refine_g,
                                  method=args.method, noise_range=noise_range, **kin,
                                  label=f"column {name!r}"))
    checkpoint(progress, 1.0, "deconvolution: writing")
    progress.finish()
    with atomic_paths(paths) as tmps:
        _write_columns(tmps[0], names, [r.c for r in results])
        _write_columns(tmps[1], names, [r.s for r in results])
        with open(tmps[2], "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["name", "frames", "sigma", "g1", "g2", "tau_decay_s", "tau_rise_s",
                        "baseline", "lambda", "epsilon", "status"])
            for name, r in zip(names, results):
                g = list(r.g) + [0.0] * (2 - len(r.g))
                tau_d, tau_r = g_to_tau(r.g, args.fs)
                w.writerow([name, r.c.size, repr(r.sn), repr(float(g[0])), repr(float(g[1])),
                            repr(tau_d), repr(tau_r), repr(r.b), repr(r.lam), repr(r.epsilon), r.status])
    print(f"deconvolved {len(results)} cells: {paths[0]}, {paths[1]}, {paths[2]}")
    return 0

"""NWB movies: a ``TwoPhotonSeries`` or ``OnePhotonSeries`` of an NWB 2 file, read lazily.

An NWB file is HDF5; this reader goes straight to the series' ``data`` dataset with h5py (the
HDF5 reader's memory map or chunked reads), so it needs no pynwb and reads nothing but headers
when it opens. Which series:

- ``dataset=NAME`` (``--dataset`` on the command line): the series of that name (``TwoPhotonSeries``)
  or path (``/acquisition/TwoPhotonSeries``, ``/processing/ophys/.../corrected``);
- otherwise the one imaging series in ``/acquisition``; none or several there is an error that
  lists what the file holds.

Axis order: the NWB schema stores an ImageSeries as ``[frame, x, y]`` (x the columns), as NWB's
conversion tools (neuroconv) write it, so frames are transposed to (rows, columns) as they are
read. Some writers store rows first; when the series' optional ``dimension`` ([x, y]) says so
(a non-square frame) that order is used, and ``axes="thw"`` forces it.

The frame rate comes from ``starting_time``'s ``rate``, else from ``timestamps`` (the median
interval), else from the imaging plane's ``imaging_rate``. A series whose frames live in an
external file (``external_file``) opens that file, relative to the NWB file's folder.
``conversion`` and ``offset`` are not applied: the movie's own units are kept.
"""

from __future__ import annotations

import os

import numpy as np

from cnmf_gui.errors import InputFileError, ParameterError, SeveralMoviesError

IMAGING_TYPES = ("TwoPhotonSeries", "OnePhotonSeries")


def _text(value) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray) and value.size == 1:
        return _text(value.item())
    return str(value)


def imaging_series(h5) -> list:
    """Every TwoPhotonSeries / OnePhotonSeries group of an open NWB file, acquisition first."""
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Group) and _text(obj.attrs.get("neurodata_type", "")) in IMAGING_TYPES:
            found.append(obj)

    h5.visititems(visit)
    return sorted(found, key=lambda g: (not g.name.startswith("/acquisition/"), g.name))


def _shape_of(group) -> tuple:
    if "data" in group and hasattr(group["data"], "shape"):
        return tuple(group["data"].shape)
    return ()


def describe_series(group) -> str:
    """``/acquisition/TwoPhotonSeries (TwoPhotonSeries, 500 x 64 x 48, 30 Hz)`` for messages and info."""
    kind = _text(group.attrs.get("neurodata_type", ""))
    dims = _shape_of(group)
    shape = " x ".join(str(n) for n in dims) if dims and min(dims) > 0 else "frames in an external file"
    rate = series_rate(group)
    return f"{group.name} ({kind}, {shape}" + (f", {rate:g} Hz)" if rate else ")")


def series_rate(group) -> float | None:
    """Frames per second of a series (starting_time rate, timestamps, or the plane's imaging_rate)."""
    try:
        if "starting_time" in group:
            rate = float(group["starting_time"].attrs.get("rate", np.nan))
            if np.isfinite(rate) and rate > 0:
                return rate
        if "timestamps" in group and group["timestamps"].shape[0] > 1:
            stamps = np.asarray(group["timestamps"][: min(group["timestamps"].shape[0], 10000)], float)
            step = float(np.median(np.diff(stamps)))
            if np.isfinite(step) and step > 0:
                return 1.0 / step
        plane = group.get("imaging_plane")
        if plane is not None and "imaging_rate" in plane:
            rate = float(np.asarray(plane["imaging_rate"][()]).ravel()[0])
            if np.isfinite(rate) and rate > 0:
                return rate
    except (KeyError, TypeError, ValueError, OSError):
        pass  # a broken optional field leaves the rate unknown, as for any other movie
    return None


def _pick(h5, path: str, name: str | None):
    series = imaging_series(h5)
    listed = "; ".join(describe_series(g) for g in series)
    if name is not None:
        if not isinstance(name, str) or not name.strip("/"):
            raise ParameterError(f"option dataset must name an imaging series such as 'TwoPhotonSeries', got {name!r}")
        wanted = name if name.startswith("/") else None
        for g in series:
            if (wanted and g.name == wanted.rstrip("/")) or (not wanted and g.name.rsplit("/", 1)[-1] == name):
                return g
        if not wanted:
            matches = [g for g in series if g.name.endswith("/" + name.strip("/"))]
            if len(matches) == 1:
                return matches[0]
        raise InputFileError(f"{path} has no imaging series {name!r}; its imaging series are: {listed or 'none'}")
    if not series:
        raise InputFileError(f"{path} holds no TwoPhotonSeries or OnePhotonSeries: expected an NWB file with "
                             f"an imaging movie")
    acquired = [g for g in series if g.name.startswith("/acquisition/")]
    if len(acquired) == 1:
        return acquired[0]
    pool = acquired or series
    if len(pool) == 1:
        return pool[0]
    labels = [describe_series(g) for g in pool]
    raise SeveralMoviesError(f"{path} holds {len(pool)} imaging series ({'; '.join(labels)}): pick one with "
                             f"--dataset NAME (dataset=NAME)", [g.name for g in pool], labels)


def _axes(group, data_shape: tuple, axes: str | None) -> str:
    if axes is not None:
        return axes
    if len(data_shape) not in (3, 4):
        raise InputFileError(f"{group.file.filename}:{group.name}/data has shape {data_shape}: expected "
                             f"[frame, x, y] or [frame, x, y, z]")
    letters = "twh" if len(data_shape) == 3 else "twhz"
    if "dimension" in group:
        try:
            dim = [int(v) for v in np.asarray(group["dimension"][()]).ravel()[:2]]
        except (TypeError, ValueError):
            dim = []
        x, y = data_shape[1], data_shape[2]
        if len(dim) == 2 and x != y and dim == [y, x]:
            letters = "thw" + letters[3:]  # stored rows first, and the file says so
    return letters


def _external(group, path: str, axes, plane, channel, rate):
    from cnmf_gui.io.movie import open_movie

    files = [_text(f) for f in np.asarray(group["external_file"][()]).ravel()]
    folder = os.path.dirname(os.path.abspath(path))
    files = [f if os.path.isabs(f) else os.path.join(folder, f) for f in files]
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        raise InputFileError(f"{path}:{group.name} keeps its frames in {missing[0]}, which is missing")
    movie = open_movie(files if len(files) > 1 else files[0], axes=axes, plane=plane, channel=channel)
    if rate and movie.frame_rate is None:
        movie.frame_rate = rate
    movie.details["nwb series"] = f"{path}:{group.name} (external file)"
    return movie


def open_nwb(path: str, *, dataset: str | None = None, axes: str | None = None,
             plane: int | None = None, channel: int | None = None):
    """Open the imaging series of an NWB file as a lazy movie.

    Parameters
    ----------
    path : str
        The ``.nwb`` file.
    dataset : str, optional
        Name or path of the series; by default the one imaging series in ``/acquisition``.
    axes : str, optional
        Stored axis order of the series' data; by default ``"twh"`` ([frame, x, y], NWB's order).
    plane, channel : int, optional
        Which plane of a volumetric series ([frame, x, y, z]).

    Returns
    -------
    Movie
        Shape (T, H, W), ``format="nwb"``, ``frame_rate`` from the file.
    """
    import h5py

    from cnmf_gui.io.array_source import _reason
    from cnmf_gui.io.hdf5_source import open_hdf5

    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise InputFileError(f"cannot open {path} as NWB (HDF5; truncated or corrupt?): {_reason(exc)}") from None
    with h5:
        if "nwb_version" not in h5.attrs and "acquisition" not in h5:
            raise InputFileError(f"{path} is an HDF5 file but not NWB (no nwb_version, no /acquisition): "
                                 f"open it as HDF5 (rename it .h5) or name its dataset")
        group = _pick(h5, path, dataset)
        rate = series_rate(group)
        kind = _text(group.attrs.get("neurodata_type", ""))
        if "external_file" in group and ("data" not in group or min(_shape_of(group) or (0,)) == 0):
            return _external(group, path, axes, plane, channel, rate)
        if "data" not in group:
            raise InputFileError(f"{path}:{group.name} has no data and no external_file")
        name, letters = group.name, _axes(group, _shape_of(group), axes)
    movie = open_hdf5(path, dataset=f"{name}/data", axes=letters, plane=plane, channel=channel)
    movie.format = "nwb"
    movie.path = path  # a session reopens it with the same dataset= (its movie_options)
    movie.frame_rate = rate
    storage = movie.details.get("storage")
    movie.details = {"series": f"{name} ({kind})", "axes": f"stored as {letters}"}
    if storage:
        movie.details["storage"] = storage
    return movie


def list_series(path: str) -> list[str]:
    """One line per imaging series of an NWB file (for ``cnmf-gui info``)."""
    import h5py

    with h5py.File(path, "r") as h5:
        return [describe_series(g) for g in imaging_series(h5)]

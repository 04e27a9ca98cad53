"""NPY movies, memory-mapped (``numpy.load(mmap_mode="r")``): nothing is read until asked."""

from __future__ import annotations

import numpy as np

from cnmf_gui.errors import InputFileError
from cnmf_gui.io.array_source import ArrayMovie, _reason
from cnmf_gui.io.guarded_map import guard
from cnmf_gui.io.layout import Layout, parse_axes_option


def open_npy(path: str, *, axes: str | None = None, plane: int | None = None,
             channel: int | None = None) -> ArrayMovie:
    """Open a ``.npy`` file as a movie.

    Parameters
    ----------
    path : str
        The file. Its array must be (T, H, W), or have its axes named by ``axes``.
    axes : str, optional
        Stored axis order (see :func:`cnmf_gui.io.open_movie`), required for 4-D arrays.
    plane, channel : int, optional
        Which plane / channel of a 4-D or 5-D array to read.

    Returns
    -------
    ArrayMovie
    """
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        # Truncated files and object arrays both land here; the reason tells which.
        raise InputFileError(f"cannot read {path} as an NPY array: {_reason(exc)}") from None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {_reason(exc)}") from None
    if not isinstance(array, np.ndarray):
        raise InputFileError(f"{path} is not a single NPY array")
    if array.dtype.kind not in "biuf":
        raise InputFileError(f"{path} holds {array.dtype} values: expected integers or floats")
    if axes is not None:
        letters = parse_axes_option(axes, array.ndim, path)
    elif array.ndim == 3:
        letters = "thw"
    elif array.ndim == 2:
        letters = "hw"
    elif array.ndim < 2:
        raise InputFileError(f"{path} holds a {array.ndim}-D array of shape {array.shape}: expected a "
                             f"movie of frames (T x H x W)")
    else:
        raise InputFileError(
            f"{path} has {array.ndim}-D data of shape {array.shape}: say which axis is which with "
            f"axes= (e.g. axes='tzhw') and pick a plane with plane=N or a channel with channel=N "
            f"(--axes tzhw --plane 0 on the command line)")
    layout = Layout(array.shape, letters, path, plane=plane, channel=channel)
    # The memory map closes when the last reference goes; closing it by hand would fail while
    # NumPy still holds the mapped buffer.
    return ArrayMovie(guard(array, path), layout, fancy=True, format="npy", path=path, frame_rate=None,
                      details={"storage": "memory-mapped" + (", Fortran order" if array.flags.f_contiguous
                                                             and not array.flags.c_contiguous else "")})


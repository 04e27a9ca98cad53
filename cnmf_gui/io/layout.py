"""Which stored axis is time, rows, columns, plane or channel, and how to read (T, H, W) from it.

Files store movies in many axis orders: (T, H, W) is common, SIMA's HDF5 is (H, W, T), ImageJ
hyperstacks are (T, Z, C, H, W), ScanImage stacks are (Z, T, C, H, W). A :class:`Layout` maps
a stored array of any of these to the (T, H, W) movie the rest of the program sees, picking
one plane and one channel where the file has several. It never reads data itself: it builds
the index tuple for the stored array and the transpose that follows.

Axis letters: ``t`` time, ``h`` rows, ``w`` columns, ``z`` plane, ``c`` channel, ``q`` an axis
of unknown meaning (only in layouts read from file metadata). ``y``/``x`` are accepted as
aliases of ``h``/``w`` in the ``axes=`` option.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.errors import InputFileError, ParameterError

_ALIASES = {"y": "h", "x": "w"}
_OPTION_LETTERS = set("thwzc")
_NAMES = {"t": "frames", "h": "rows", "w": "columns", "z": "planes", "c": "channels", "q": "?"}
_PICK_OPTION = {"z": "plane", "c": "channel"}


def parse_axes_option(axes: str, ndim: int, name: str) -> str:
    """Check a user's ``axes=`` string against an array of ``ndim`` dimensions.

    Parameters
    ----------
    axes : str
        One letter per stored axis, e.g. ``"hwt"`` or ``"tzhw"``.
    ndim : int
        Number of dimensions of the stored array.
    name : str
        The file (and dataset) the option applies to, for the message.

    Returns
    -------
    str
        The letters in lower case with aliases resolved.
    """
    if not isinstance(axes, str):
        raise ParameterError(f"option axes must be a string such as 'thw' or 'hwt', got {axes!r}")
    letters = "".join(_ALIASES.get(a, a) for a in axes.lower())
    if len(letters) != ndim:
        raise ParameterError(f"option axes={axes!r} has {len(letters)} letters but {name} has {ndim} "
                             f"dimensions: give one letter per dimension from t, h, w, z, c")
    bad = sorted(set(letters) - _OPTION_LETTERS)
    if bad:
        raise ParameterError(f"option axes={axes!r} has unknown letter(s) {', '.join(bad)}: use t (time), "
                             f"h (rows), w (columns), z (plane), c (channel)")
    for letter in "thwzc":
        n = letters.count(letter)
        if n > 1 or (n == 0 and letter in "thw"):
            raise ParameterError(f"option axes={axes!r} must name t, h and w exactly once "
                                 f"(and z, c at most once)")
    return letters


class Layout:
    """Maps a stored N-D array onto a (T, H, W) movie.

    Parameters
    ----------
    stored_shape : tuple of int
        Shape of the array in the file.
    axes : str
        One letter per stored axis (see the module docstring). Several ``t`` letters are
        allowed when all but one have size 1 (tifffile reports ImageJ stacks as ``ITZCYXS``).
    name : str
        The file (and dataset) for messages.
    plane, channel : int, optional
        Which plane (``z``) and channel (``c``) to read when there are several.
    time_from_extra : bool
        When no axis is time, read the one remaining non-spatial axis as time. ImageJ saves
        plain stacks as "slices" and ScanImage reports frames as planes, so for TIFF metadata
        this is the right reading; for user-given axes it is not used.

    Attributes
    ----------
    shape : tuple (T, H, W)
    axes : str
        The resolved letters, one per stored axis.
    picks : dict of str to int
        Fixed index of each non-movie axis (including squeezed size-1 axes).
    """

    def __init__(self, stored_shape, axes: str, name: str, *, plane: int | None = None,
                 channel: int | None = None, time_from_extra: bool = False):
        stored_shape = tuple(int(n) for n in stored_shape)
        axes = list(axes)
        if len(axes) != len(stored_shape):
            raise ValueError(f"axes {''.join(axes)!r} do not match shape {stored_shape}")
        self.stored_shape = stored_shape
        self.name = name

        # Among several time-like axes, the size-1 ones are placeholders (ImageJ's T in ITZCYXS).
        t_axes = [i for i, a in enumerate(axes) if a == "t"]
        if len(t_axes) > 1:
            long_t = [i for i in t_axes if stored_shape[i] > 1]
            keep = long_t[0] if len(long_t) == 1 else (t_axes[0] if not long_t else None)
            if keep is None:
                raise InputFileError(f"{name} has several time axes of sizes "
                                     f"{[stored_shape[i] for i in long_t]}: cannot tell which is time")
            for i in t_axes:
                if i != keep:
                    axes[i] = "q"

        if "t" not in axes and time_from_extra:
            extra = [i for i, a in enumerate(axes) if a in "zq" and stored_shape[i] > 1]
            if len(extra) == 1:
                axes[extra[0]] = "t"

        if axes.count("h") != 1 or axes.count("w") != 1:
            raise InputFileError(f"{name} has axes {''.join(axes)!r}: cannot find rows and columns")
        if "t" not in axes:
            raise InputFileError(
                f"{name} holds a single {stored_shape[axes.index('h')]} x "
                f"{stored_shape[axes.index('w')]} image, not a movie: expected several frames (T x H x W)")

        picks: dict[int, int] = {}
        wanted = {"z": plane, "c": channel}
        for letter, value in wanted.items():
            if value is None:
                continue
            option = _PICK_OPTION[letter]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ParameterError(f"option {option} must be an integer index, got {value!r}")
            if letter not in axes:
                raise ParameterError(f"option {option}={value} given but {name} has no {_NAMES[letter]} "
                                     f"axis (shape {stored_shape})")
            i = axes.index(letter)
            if not 0 <= value < stored_shape[i]:
                raise ParameterError(f"option {option}={value} is out of range: {name} has "
                                     f"{stored_shape[i]} {_NAMES[letter]} (0 to {stored_shape[i] - 1})")
            picks[i] = int(value)

        for i, a in enumerate(axes):
            if a in "thw" or i in picks:
                continue
            if stored_shape[i] == 1:
                picks[i] = 0
                continue
            described = " x ".join(f"{n} {_NAMES[b] if b != 'q' else '(unknown axis)'}"
                                   for n, b in zip(stored_shape, axes))
            if a in _PICK_OPTION:
                option = _PICK_OPTION[a]
                raise InputFileError(
                    f"{name} has {len(stored_shape)}-D data ({described}): pick one of its "
                    f"{stored_shape[i]} {_NAMES[a]} with {option}=N (0 to {stored_shape[i] - 1}; "
                    f"--{option} N on the command line)")
            raise InputFileError(f"{name} has {len(stored_shape)}-D data ({described}) with an axis "
                                 f"of unknown meaning: give axes= (e.g. axes='tzhw') and pick the "
                                 f"extra axis with plane=N or channel=N")

        self.axes = "".join(axes)
        self.picks = {i: picks[i] for i in sorted(picks)}
        self._t = axes.index("t")
        kept = [a for i, a in enumerate(axes) if i not in self.picks]
        self._perm = tuple(kept.index(a) for a in "thw")
        self.shape = tuple(stored_shape[axes.index(a)] for a in "thw")

    @property
    def is_identity(self) -> bool:
        """True when the stored array already is (T, H, W)."""
        return self.axes == "thw"

    def index(self, frames) -> tuple:
        """Index tuple selecting ``frames`` (a slice or an int array) from the stored array.

        Picked planes and channels are selected by length-1 slices, not ints: NumPy moves the
        axis of an int-array index to the front when ints and arrays are separated by a slice,
        which would scramble the axis order :meth:`arrange` relies on.
        """
        key = []
        for i in range(len(self.stored_shape)):
            if i == self._t:
                key.append(frames)
            elif i in self.picks:
                key.append(slice(self.picks[i], self.picks[i] + 1))
            else:
                key.append(slice(None))
        return tuple(key)

    def arrange(self, block: np.ndarray) -> np.ndarray:
        """Drop the picked axes of what :meth:`index` selected and transpose it to (n, H, W)."""
        if self.picks:
            block = block.reshape([n for i, n in enumerate(block.shape) if i not in self.picks])
        if self._perm != (0, 1, 2):
            block = block.transpose(self._perm)
        return block

    def describe(self) -> str:
        """Short text for ``info``: the axis order and the picks, e.g. ``'axes hwt'``."""
        text = f"axes {self.axes}"
        chosen = [f"{_PICK_OPTION.get(self.axes[i], 'axis ' + str(i))}={v}"
                  for i, v in self.picks.items() if self.stored_shape[i] > 1]
        return text + (f", {', '.join(chosen)}" if chosen else "")

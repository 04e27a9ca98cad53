"""Component id lists typed on the command line: ``3,5,10-12``.

One parser for every verb that takes ids (``deconvolve --components``, ``curate --accept`` ...).
Ranges are kept as ranges and never expanded into lists, so ``0-100000000000`` costs nothing;
they are resolved against the ids a session really holds.

Rules
-----
- items are separated by commas; blanks around them are ignored;
- an item is an id (a non-negative integer) or a range ``LO-HI`` with ``LO <= HI``;
- a single id must exist in the session; a range selects the ids of the session that fall in
  it and must select at least one (ids are not contiguous: merges retire ids and make new ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from cnmf_gui.errors import UserError

# Ids are stored as int64 in the session file; anything larger cannot name a component.
MAX_ID = np.iinfo(np.int64).max
_ITEM = re.compile(r"^([0-9]+)(?:\s*-\s*([0-9]+))?$")


@dataclass(frozen=True)
class IdSelection:
    """A parsed id list: single ids and inclusive ranges, in the order typed.

    Attributes
    ----------
    singles : tuple of int
        Ids named one by one.
    ranges : tuple of (int, int)
        Inclusive ``(lo, hi)`` ranges.
    option : str
        The option the text came from, for error messages (e.g. ``"--components"``).
    """

    singles: tuple[int, ...]
    ranges: tuple[tuple[int, int], ...]
    option: str

    def __contains__(self, component_id: int) -> bool:
        i = int(component_id)
        return i in self.singles or any(lo <= i <= hi for lo, hi in self.ranges)

    def indices(self, ids, where: str = "the session") -> list[int]:
        """Positions in ``ids`` of the selected components, sorted, without repeats.

        Parameters
        ----------
        ids : array_like of int, shape (K,)
            The session's component ids.
        where : str
            What holds the ids (usually the session file's name), for error messages.

        Raises
        ------
        UserError
            A single id is not in ``ids``, or a range holds none of them.
        """
        ids = np.asarray(ids, dtype=np.int64).ravel()
        chosen = np.zeros(ids.shape, dtype=bool)
        for i in self.singles:
            hit = ids == i
            if not hit.any():
                raise UserError(f"{self.option}: no component with id {i} in {where}")
            chosen |= hit
        for lo, hi in self.ranges:
            hit = (ids >= lo) & (ids <= hi)
            if not hit.any():
                raise UserError(f"{self.option}: no component with an id in {lo}-{hi} in {where}")
            chosen |= hit
        return [int(k) for k in np.flatnonzero(chosen)]


def parse_ids(text: str, option: str = "--components") -> IdSelection:
    """Parse ``'3,5,10-12'`` without expanding ranges.

    Parameters
    ----------
    text : str
        The ids as typed.
    option : str
        Name of the option, used in error messages.

    Returns
    -------
    IdSelection

    Raises
    ------
    UserError
        An item that is not an id or a range, a reversed range, an id past the int64 range, or
        no id at all; the message names the option and the item.
    """
    singles: list[int] = []
    ranges: list[tuple[int, int]] = []
    for item in str(text).split(","):
        item = item.strip()
        if not item:
            continue
        match = _ITEM.match(item)
        if match is None:
            raise UserError(f"{option}: {item[:40]!r} is not an id or a range like 10-12")
        lo = int(match.group(1))
        hi = lo if match.group(2) is None else int(match.group(2))
        if hi > MAX_ID:
            raise UserError(f"{option}: {item[:40]!r} is past the largest possible id ({MAX_ID})")
        if hi < lo:
            raise UserError(f"{option}: {item!r} is a reversed range: write it low-high")
        if match.group(2) is None:
            singles.append(lo)
        else:
            ranges.append((lo, hi))
    if not singles and not ranges:
        raise UserError(f"{option}: no ids given (expected e.g. 3,5,10-12)")
    return IdSelection(tuple(singles), tuple(ranges), option)

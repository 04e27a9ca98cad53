"""The command line's id-list parser (cnmf_gui.cli.ids): ranges stay ranges, errors are one line."""

import time

import numpy as np
import pytest

from cnmf_gui.cli.ids import parse_ids
from cnmf_gui.errors import UserError


def test_singles_and_ranges_resolve_against_session_ids():
    ids = np.array([0, 1, 2, 5, 7, 8, 40])
    sel = parse_ids(" 1, 5-7 ,40")
    assert sel.indices(ids) == [1, 3, 4, 6]
    assert 6 in sel and 41 not in sel and 1 in sel


def test_absurd_range_is_not_expanded():
    ids = np.arange(30)
    t0 = time.process_time()
    sel = parse_ids("0-100000000000")
    assert sel.indices(ids) == list(range(30))
    # A list of 1e11 ints would need ~800 GB: finishing at all proves it was not expanded.
    assert time.process_time() - t0 < 5


@pytest.mark.parametrize("text, fragment", [
    ("3,x", "'x' is not an id"), ("-5", "'-5' is not an id"), ("9-3", "reversed range"),
    ("", "no ids given"), (" , ,", "no ids given"), ("1-99999999999999999999999", "largest possible id"),
    ("1.5", "not an id"), ("3-", "not an id"),
])
def test_malformed_lists_name_the_item(text, fragment):
    with pytest.raises(UserError, match="--accept") as info:
        parse_ids(text, "--accept")
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_missing_id_and_empty_range_are_named():
    ids = np.array([2, 3, 10])
    with pytest.raises(UserError, match="no component with id 4 in s.h5"):
        parse_ids("2,4").indices(ids, "s.h5")
    with pytest.raises(UserError, match="no component with an id in 4-9 in s.h5"):
        parse_ids("4-9").indices(ids, "s.h5")

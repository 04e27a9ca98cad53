"""Declaring and checking parameter fields: the machinery behind :mod:`cnmf_gui.params`.

:func:`param` stores a field's description, unit, bounds (or choices) and default in the
dataclass field's metadata; :class:`_Stage` checks every value when a stage is built, so that
an unknown key or a value out of range raises :class:`~cnmf_gui.errors.ParameterError` naming
the key and the allowed range.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field, fields

from cnmf_gui.errors import ParameterError

# ----------------------------------------------------------------------------------------------
# Field declaration and checking
# ----------------------------------------------------------------------------------------------


def param(default, description: str, *, unit: str = "", low=None, high=None,
          low_open: bool = False, high_open: bool = False, choices=None, kind=None):
    """Declare a parameter field with its metadata.

    Parameters
    ----------
    default : object
        Default value (immutable: numbers, strings, bools, tuples, None).
    description : str
        One sentence for tooltips and ``--help``.
    unit : str
        Unit of the value ("px", "s", "frames", "" for none).
    low, high : float, optional
        Inclusive bounds unless ``low_open`` / ``high_open``.
    choices : sequence, optional
        The allowed values for a categorical field.
    kind : type, optional
        The value's type when it cannot be read from the default (e.g. default None).
    """
    meta = {
        "description": description,
        "unit": unit,
        "low": low,
        "high": high,
        "low_open": low_open,
        "high_open": high_open,
        "choices": tuple(choices) if choices is not None else None,
        "kind": kind if kind is not None else type(default),
    }
    return field(default=default, metadata=meta)


def describe_range(meta: dict) -> str:
    """Human-readable allowed range of a field, e.g. ``'(-1, inf)'`` or ``'one of mean, median'``."""
    if meta.get("choices") is not None:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo = meta.get("low")
    hi = meta.get("high")
    left = "(" if (lo is None or meta.get("low_open")) else "["
    right = ")" if (hi is None or meta.get("high_open")) else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


def _coerce(stage: str, f: dataclasses.Field, value):
    """Check type and range of one value, converting JSON-ish forms (lists, ints as floats)."""
    meta = f.metadata
    kind = meta.get("kind", type(f.default))
    key = f"{stage}.{f.name}"
    if value is None:
        if f.default is None:
            return None
        raise ParameterError(f"parameter {key} must not be null (expected {kind.__name__})")
    if kind is bool:
        if not isinstance(value, bool):
            raise ParameterError(f"parameter {key} must be true or false, got {value!r}")
    elif kind is int:
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not math.isfinite(value) or float(value) != int(value)):
            raise ParameterError(f"parameter {key} must be an integer, got {value!r}")
        value = int(value)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"parameter {key} must be a number, got {value!r}")
        value = float(value)
        # NaN and infinity are never meaningful settings, and JSON cannot store them.
        if not math.isfinite(value):
            raise ParameterError(f"parameter {key} must be a finite number, got {value!r}")
    elif kind is str:
        if not isinstance(value, str):
            raise ParameterError(f"parameter {key} must be a string, got {value!r}")
    elif kind is tuple:
        if not isinstance(value, (list, tuple)):
            raise ParameterError(f"parameter {key} must be a list, got {value!r}")
        value = tuple(value)
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        raise ParameterError(f"parameter {key} = {value!r} is not allowed: expected {describe_range(meta)}")
    if kind in (int, float):
        lo, hi = meta.get("low"), meta.get("high")
        bad = (lo is not None and (value < lo or (meta.get("low_open") and value == lo))) or (
            hi is not None and (value > hi or (meta.get("high_open") and value == hi)))
        if bad:
            raise ParameterError(
                f"parameter {key} = {value!r} is out of range: expected {describe_range(meta)}"
                + (f" {meta['unit']}" if meta.get("unit") else ""))
    return value


class _Stage:
    """Mixin for stage dataclasses: checks values after construction."""

    STAGE = ""

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, _coerce(self.STAGE, f, getattr(self, f.name)))
        self._check_consistency()

    def _check_consistency(self) -> None:
        """Cross-field checks; subclasses override."""

    def to_dict(self) -> dict:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict):
        if not isinstance(data, dict):
            raise ParameterError(f"parameters for stage {cls.STAGE} must be an object, got {data!r}")
        names = {f.name for f in fields(cls)}
        for key in data:
            if key not in names:
                raise ParameterError(
                    f"unknown parameter {cls.STAGE}.{key}: expected one of {', '.join(sorted(names))}")
        return cls(**data)

    @classmethod
    def field_info(cls) -> list[dict]:
        """Name, default and metadata of every field, for generated panels and docs."""
        out = []
        for f in fields(cls):
            info = dict(f.metadata)
            info.update(name=f.name, default=f.default, range=describe_range(f.metadata))
            out.append(info)
        return out

"""Checks of what callers pass to deconvolution: one clear error naming the problem."""

from __future__ import annotations

import math

import numpy as np

from cnmf_gui.engine.noise import is_stable
from cnmf_gui.errors import ParameterError, UserError

MIN_FRAMES = 4
BASELINES = ("free", "nonneg", "zero")
METHODS = ("fast", "cvxpy")


def check_traces(traces, *, labels=None) -> np.ndarray:
    """Return traces as a float64 (K, T) array; NaN/inf or too few frames raise UserError.

    Parameters
    ----------
    traces : array_like of shape (K, T)
    labels : sequence of str, optional
        Names of the components for messages (default "component k").
    """
    arr = np.asarray(traces)
    if arr.ndim != 2:
        raise UserError(f"traces must be a 2-D array (components x frames), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise UserError(f"traces must be real numbers, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    K, T = arr.shape
    if T < MIN_FRAMES:
        raise UserError(f"traces need at least {MIN_FRAMES} frames to deconvolve, got {T}")
    bad = ~np.isfinite(arr)
    if bad.any():
        k, t = np.unravel_index(int(np.argmax(bad)), bad.shape)
        name = labels[k] if labels is not None else f"component {k}"
        raise UserError(f"{name} has a non-finite value ({arr[k, t]}) at frame {t}")
    return arr


def check_trace(trace, *, label: str = "trace") -> np.ndarray:
    """Return one trace as a float64 (T,) array, or raise a UserError naming the frame."""
    arr = np.asarray(trace)
    if arr.ndim != 1:
        raise UserError(f"{label} must be 1-D (frames), got shape {arr.shape}")
    return check_traces(arr[None, :], labels=[label])[0]


def check_epsilon(epsilon) -> float:
    eps = float(epsilon)
    if not math.isfinite(eps) or eps <= -1.0:
        raise ParameterError(f"epsilon must be a finite number greater than -1, got {epsilon!r}")
    return eps


def check_sn(sn, label: str = "trace") -> float:
    val = float(sn)
    if not math.isfinite(val) or val < 0.0:
        raise ParameterError(f"noise level sn of {label} must be a finite number >= 0, got {sn!r}")
    return val


def check_p(p) -> int:
    if isinstance(p, bool) or int(p) != p or int(p) not in (0, 1, 2):
        raise ParameterError(f"AR order p must be 0, 1 or 2, got {p!r}")
    return int(p)


def check_g(g, p: int, label: str = "trace") -> np.ndarray:
    """AR coefficients of shape (p,), finite and in the stable region."""
    arr = np.atleast_1d(np.asarray(g, dtype=float)).ravel()
    if arr.shape != (p,):
        raise ParameterError(f"g of {label} must hold p = {p} AR coefficients, got {arr.tolist()!r}")
    if not np.all(np.isfinite(arr)) or not is_stable(arr):
        raise ParameterError(f"g of {label} = {arr.tolist()!r} is outside the stable region "
                             f"(every root of z^p - g1 z^(p-1) - ... must lie inside the unit circle)")
    return arr


def check_choice(value, choices, name: str) -> str:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value

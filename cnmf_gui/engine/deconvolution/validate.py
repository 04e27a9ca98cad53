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
    # A finite sum proves every value finite (NaN and inf propagate) without a mask as large
    # as the traces; only an overflowing sum or a bad value needs the frame-by-frame search.
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(arr.sum())
    if math.isfinite(total):
        return arr
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


def check_p(p, allow_auto: bool = True):
    """0, 1, 2, or "auto" (AR(1) or AR(2) chosen per trace from its spectrum)."""
    if allow_auto and isinstance(p, str) and p == "auto":
        return "auto"
    try:
        ok = not isinstance(p, (bool, str)) and int(p) == p and int(p) in (0, 1, 2)
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"AR order p must be 0, 1, 2 or 'auto', got {p!r}")
    return int(p)


def check_g(g, p: int, label: str = "trace") -> np.ndarray:
    """AR coefficients of shape (p,), finite and in the stable region."""
    arr = np.atleast_1d(np.asarray(g, dtype=float)).ravel()
    if arr.shape != (p,):
        raise ParameterError(f"g of {label} must hold p = {p} AR coefficients, got {arr.tolist()!r}")
    if not np.all(np.isfinite(arr)) or not _stable(arr):
        raise ParameterError(f"g of {label} = {arr.tolist()!r} is outside the stable region "
                             f"(every root of z^p - g1 z^(p-1) - ... must lie inside the unit circle)")
    return arr


def _stable(g: np.ndarray) -> bool:
    """Every root of z^p - g1 z^(p-1) - ... inside the unit circle; closed form for p <= 2
    (np.roots costs ~15 us per call, as much as solving a short trace)."""
    p = g.size
    if p == 0:
        return True
    if p == 1:
        return abs(float(g[0])) < 1.0
    if p == 2:
        g1 = float(g[0])
        g2 = float(g[1])
        disc = g1 * g1 + 4.0 * g2
        if disc >= 0.0:
            root = math.sqrt(disc)
            return abs(0.5 * (g1 + root)) < 1.0 and abs(0.5 * (g1 - root)) < 1.0
        return -g2 < 1.0  # complex pair: |z|^2 = -g2
    return is_stable(g)


def check_choice(value, choices, name: str) -> str:
    if value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value

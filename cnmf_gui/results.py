"""Plain data structures that cross layers: what the engine returns and the session file holds.

No behaviour beyond shape checks and small conveniences lives here, so that the engine, the
file layer and the GUI can all depend on this module without depending on each other.
Shapes follow DESIGN.md: a movie is (T, H, W); footprints ``A`` are a sparse (H*W, K) CSC
matrix with pixel index ``row * W + col``; traces are (K, T).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp


@dataclass
class MotionResult:
    """Output of motion correction.

    Attributes
    ----------
    shifts : ndarray of shape (T, 2), float32
        Rigid [dy, dx] applied to each raw frame to align it to the template.
    template : ndarray of shape (H, W), float32
        The final template.
    shifts_pw : ndarray of shape (T, gy, gx, 2) or None
        Piecewise-rigid [dy, dx] per patch, when piecewise-rigid correction ran.
    patch_centers : ndarray of shape (gy, gx, 2) or None
        [row, col] centre of each patch, for interpolating ``shifts_pw`` to pixels.
    metrics : dict of str to ndarray or float
        Per-frame and whole-movie QC numbers, e.g. ``corr_before`` / ``corr_after`` (T,),
        ``crispness_before`` / ``crispness_after`` (float), ``bad_frames`` (T,) bool.
    clamped : int
        Number of frames whose shift hit ``max_shift`` and was clamped.
    """

    shifts: np.ndarray
    template: np.ndarray
    shifts_pw: np.ndarray | None = None
    patch_centers: np.ndarray | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    clamped: int = 0


@dataclass
class SummaryImages:
    """Still images that summarise a movie, each of shape (H, W)."""

    mean: np.ndarray
    max: np.ndarray
    correlation: np.ndarray
    pnr: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        return {"mean": self.mean, "max": self.max, "correlation": self.correlation, "pnr": self.pnr}


STATUS_ACCEPTED = 1
STATUS_UNDECIDED = 0
STATUS_REJECTED = -1
# A soma visible in the mean image with no calcium events: a cell the user should see, not judge
# by its activity thresholds (session schema version 2).
STATUS_INACTIVE = 2

# Metrics whose values are component ids (NaN for none): "duplicate of 91", "fragment of 12".
ID_METRICS = ("duplicate_of", "fragment_of")

# The one table of status names (GUI table, CSV export, CLI summary, curation messages).
STATUS_NAMES = {STATUS_ACCEPTED: "accepted", STATUS_UNDECIDED: "undecided",
                STATUS_REJECTED: "rejected", STATUS_INACTIVE: "inactive"}


@dataclass
class Components:
    """The demixed components of a movie.

    Attributes
    ----------
    A : scipy.sparse.csc_matrix of shape (H*W, K)
        Non-negative spatial footprints, pixel index ``row * W + col``.
    C : ndarray of shape (K, T)
        Denoised calcium traces.
    S : ndarray of shape (K, T)
        Deconvolved activity (``G C``).
    F : ndarray of shape (K, T)
        Raw traces (C plus the residual projected on the footprint).
    dff : ndarray of shape (K, T)
        dF/F of ``F``.
    baseline, sn, epsilon : ndarray of shape (K,)
        Deconvolution baseline b, noise level sigma and the epsilon each trace was solved with.
    g : ndarray of shape (K, p)
        AR coefficients per component (p may be 0).
    metrics : dict of str to ndarray of shape (K,)
        Evaluation metrics, e.g. ``snr``, ``r_value``, ``area``, ``compactness``.
    status : ndarray of shape (K,), int8
        1 accepted, 0 undecided, -1 rejected, 2 inactive (see :data:`STATUS_NAMES`).
    ids : ndarray of shape (K,), int64
        Stable ids; never reused, a merge makes a new one.
    lam : ndarray of shape (K,)
        The sparsity multiplier each deconvolution settled on (NaN where unknown).
    reason : ndarray of shape (K,), str
        Why the automatic status was given ("too small", "duplicate of 91", "low SNR"); empty
        where there is nothing to say or the user decided.
    """

    A: sp.csc_matrix
    C: np.ndarray
    S: np.ndarray
    F: np.ndarray
    dff: np.ndarray
    baseline: np.ndarray
    sn: np.ndarray
    epsilon: np.ndarray
    g: np.ndarray
    status: np.ndarray
    ids: np.ndarray
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    lam: np.ndarray | None = None
    reason: np.ndarray | None = None

    def __post_init__(self):
        self.A = sp.csc_matrix(self.A)
        K = self.A.shape[1]
        for name in ("C", "S", "F", "dff"):
            arr = getattr(self, name)
            if arr.ndim != 2 or arr.shape[0] != K:
                raise ValueError(f"Components.{name} must have shape (K={K}, T), got {arr.shape}")
        for name in ("baseline", "sn", "epsilon", "status", "ids"):
            arr = np.asarray(getattr(self, name))
            if arr.shape != (K,):
                raise ValueError(f"Components.{name} must have shape ({K},), got {arr.shape}")
        self.status = np.asarray(self.status, dtype=np.int8)
        self.ids = np.asarray(self.ids, dtype=np.int64)
        g = np.asarray(self.g, dtype=float)
        # reshape(K, -1) is ambiguous for K = 0; keep the AR order from g's own shape then.
        self.g = g.reshape(K, g.shape[-1] if g.ndim == 2 else (0 if K == 0 else -1))
        if self.lam is None:
            self.lam = np.full(K, np.nan)
        if self.reason is None:
            self.reason = np.full(K, "", dtype=object)
        self.reason = np.array([str(r) for r in np.asarray(self.reason, dtype=object).ravel()], dtype=object)
        if self.reason.shape != (K,):
            raise ValueError(f"Components.reason must have shape ({K},), got {self.reason.shape}")

    def with_ids(self, ids) -> "Components":
        """A copy with new ids, and every reference to an old id (the ``duplicate_of`` and
        ``fragment_of`` metrics, "... of N" in reasons) translated to the new ones."""
        import dataclasses
        import re

        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if ids.shape != self.ids.shape:
            raise ValueError(f"with_ids needs {self.n_components} ids, got {ids.shape[0]}")
        table = dict(zip(self.ids.tolist(), ids.tolist()))
        metrics = dict(self.metrics)
        for key in ID_METRICS:
            if key in metrics:
                old = np.asarray(metrics[key], float)
                metrics[key] = np.array([table.get(int(v), np.nan) if np.isfinite(v) else np.nan for v in old])

        def translate(match):
            new = table.get(int(match.group(2)))
            return f"{match.group(1)}{new}" if new is not None else match.group(0)

        reason = np.array([re.sub(r"(\bof )(\d+)\b", translate, str(r)) for r in self.reason], dtype=object)
        return dataclasses.replace(self, ids=ids, metrics=metrics, reason=reason)

    @property
    def n_components(self) -> int:
        return int(self.A.shape[1])

    @property
    def n_frames(self) -> int:
        return int(self.C.shape[1])

    @classmethod
    def empty(cls, n_pixels: int, n_frames: int, p: int = 1) -> "Components":
        """No components (a movie with no neurons is a valid result)."""
        z = np.zeros((0, n_frames))
        e = np.zeros(0)
        return cls(A=sp.csc_matrix((n_pixels, 0)), C=z, S=z.copy(), F=z.copy(), dff=z.copy(),
                   baseline=e, sn=e.copy(), epsilon=e.copy(), g=np.zeros((0, p)),
                   status=np.zeros(0, np.int8), ids=np.zeros(0, np.int64))


@dataclass
class Background:
    """The background model as plain arrays (DESIGN.md ``/background``).

    Attributes
    ----------
    b : ndarray of shape (H*W, nb)
        Low-rank spatial background (nb = 0 for the ring model).
    f : ndarray of shape (nb, T)
        Low-rank temporal background.
    model : str
        ``"low_rank"`` (``b f``) or ``"ring"`` (one-photon, CNMF-E).
    arrays : dict of str to ndarray, optional
        The ring model's arrays (``W_data``, ``W_indices``, ``W_indptr``, ``W_shape``, ``b0``
        (H, W), ``radius``, ``factor``, ``max_points``); see ``engine.background.ring``.
    """

    b: np.ndarray
    f: np.ndarray
    model: str = "low_rank"
    arrays: dict | None = None


@dataclass
class SessionData:
    """Everything a session file holds (DESIGN.md, schema version 2).

    Attributes
    ----------
    movie_path : str or None
        Absolute path of the movie while in memory; stored relative to the session file.
    movie_shape : tuple (T, H, W)
    movie_dtype : str
    frame_rate : float or None
        Hz.
    movie_options : dict
        Options the movie was opened with (``dataset``, ``axes``, ``plane``, ``channel``), so
        that reopening the session reads the movie the same way.
    params : PipelineParams or None
    motion, summary, components, background : optional results of each stage
    curation_log : list of str
        The user's edits, one JSON object per line, append-only.
    """

    movie_path: str | None
    movie_shape: tuple[int, int, int]
    movie_dtype: str = "float32"
    frame_rate: float | None = None
    movie_options: dict = field(default_factory=dict)
    params: Any = None
    motion: MotionResult | None = None
    summary: SummaryImages | None = None
    components: Components | None = None
    background: Background | None = None
    curation_log: list[str] = field(default_factory=list)

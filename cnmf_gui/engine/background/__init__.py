"""Background models of CNMF behind one small interface.

Two models explain what the neurons do not:

- :class:`LowRankBackground` (two-photon): ``B = b f``, b (H*W, nb) >= 0, f (nb, T) >= 0
  (Pnevmatikakis et al. 2016). Fitted jointly with the footprints and traces by HALS on the
  same sufficient statistics (``Y f^T``, ``f f^T``, ``b^T Y``, ``b^T b``).
- :class:`RingBackground` (one-photon, CNMF-E): each pixel's fluctuation is a weighted sum of
  the residual on a ring around it, plus a constant: ``B_t = W (Y_t - A c_t - b0) + b0``
  (Zhou et al. 2018). Fitted from per-pixel ring statistics of the residual ``Y - A C``,
  streamed over chunks.

Both satisfy :class:`BackgroundModel`:

``model``
    ``"low_rank"`` or ``"ring"`` (the ``/background`` attribute of the session file).
``render(t0, t1, frames=None, neural=None) -> (n, H, W)``
    The background of frames t0..t1-1. The ring model needs the frames and the neurons' part
    ``A C`` of those frames (its background is a function of the data); the low-rank model
    ignores them.
``subtract(frames, t0, neural=None) -> (n, H, W)``
    ``frames - render(...)``: what the neurons and the noise are.
``to_arrays() -> dict`` / ``from_arrays(arrays, shape)``
    Plain arrays for io (:class:`cnmf_gui.results.Background` carries them).

Each model also has its own ``update``/``fit`` from statistics (see the classes); the
alternating updates and the online engine call those.

References
----------
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299.
Zhou P. et al. (2018) Efficient and accurate extraction of in vivo calcium signals from
microendoscopic video data. eLife 7:e28728.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from cnmf_gui.engine.background.low_rank import LowRankBackground
from cnmf_gui.engine.background.ring import RingBackground

__all__ = ["BackgroundModel", "LowRankBackground", "RingBackground", "from_result", "to_result",
           "SubtractedMovie"]


@runtime_checkable
class BackgroundModel(Protocol):
    """What every background model offers (see the module docstring)."""

    model: str
    shape: tuple[int, int]

    def render(self, t0: int, t1: int, *, frames=None, neural=None) -> np.ndarray: ...

    def subtract(self, frames: np.ndarray, t0: int, *, neural=None) -> np.ndarray: ...

    def to_arrays(self) -> dict: ...


_MODELS = {"low_rank": LowRankBackground, "ring": RingBackground}


def from_result(background, shape: tuple[int, int]):
    """The engine model of a :class:`cnmf_gui.results.Background` (plain arrays).

    Parameters
    ----------
    background : Background
        ``model`` says which; ``b``, ``f`` for low-rank; ``arrays`` for the ring.
    shape : (H, W)
    """
    model = getattr(background, "model", "low_rank") or "low_rank"
    if model == "low_rank":
        return LowRankBackground(background.b, background.f, shape)
    if model not in _MODELS:
        raise ValueError(f"unknown background model {model!r}: expected one of {sorted(_MODELS)}")
    return _MODELS[model].from_arrays(dict(background.arrays or {}), shape)


def to_result(model, n_frames: int):
    """Plain :class:`cnmf_gui.results.Background` of an engine model.

    The ring model keeps ``b`` (H*W, 0) and ``f`` (0, T) empty, so code that only knows
    ``b @ f`` sees no low-rank part.
    """
    from cnmf_gui.results import Background

    if model.model == "low_rank":
        return Background(b=model.b, f=model.f)
    H, W = model.shape
    return Background(b=np.zeros((H * W, 0)), f=np.zeros((0, n_frames)), model=model.model,
                      arrays=model.to_arrays())


class SubtractedMovie:
    """A movie with a background removed, read lazily in chunks like any movie.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    background : BackgroundModel
    A : sparse (H*W, K), optional
    C : ndarray of shape (K, T), optional
        The neurons, for models whose background depends on them (the ring).
    """

    def __init__(self, movie, background, A=None, C=None):
        self.movie, self.background = movie, background
        self.A = None if A is None or A.shape[1] == 0 else A.tocsr().astype(np.float32)
        self.C = C
        self.shape = tuple(int(s) for s in movie.shape)
        self.dtype = np.dtype(np.float32)
        self.frame_rate = getattr(movie, "frame_rate", None)

    def __len__(self):
        return self.shape[0]

    def neural(self, t0: int, t1: int) -> np.ndarray | None:
        """A C of frames t0..t1-1, (n, H, W) float32 (None without components)."""
        if self.A is None:
            return None
        _, H, W = self.shape
        return np.asarray(self.A @ np.asarray(self.C[:, t0:t1], np.float32)).T.reshape(-1, H, W)

    def __getitem__(self, key):
        if isinstance(key, (int, np.integer)):
            return self[int(key):int(key) + 1][0]
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise TypeError("SubtractedMovie supports frames[a:b] and frames[t]")
        t0, t1, _ = key.indices(self.shape[0])
        frames = np.asarray(self.movie[t0:t1], np.float32)
        return self.background.subtract(frames, t0, neural=self.neural(t0, t1))

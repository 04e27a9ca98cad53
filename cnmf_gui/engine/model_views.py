"""The model's movies, one frame at a time: raw, corrected, denoised, background, residual, demixed.

For display only: each method computes one (H, W) frame on demand from the footprints, traces
and background (never the whole movie), so scrubbing through a long recording costs one frame's
worth of memory.

References
----------
Pnevmatikakis E. A. et al. (2016) Simultaneous denoising, deconvolution, and demixing of calcium
imaging data. Neuron 89(2):285-299 (the model Y = A C + b f + E).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.streaming import movie_shape


class ModelViews:
    """Per-frame views of a movie and its CNMF model.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
        The raw movie (anything with ``.shape`` and ``movie[t]``).
    components : Components
        Footprints A (H*W, K) and traces C (K, T).
    background : Background or None
        b (H*W, nb), f (nb, T).
    motion : MotionResult, optional
        When given, ``corrected`` (and every model view) uses the motion-corrected frame.
    colours : ndarray of shape (K, 3), optional
        RGB in 0..1 per component for :meth:`demixed`; the caller picks them (the engine knows
        no colours), and :meth:`demixed` needs them.
    """

    def __init__(self, movie, components, background=None, motion=None, colours=None):
        self.movie = movie
        self.shape = movie_shape(movie)
        T, H, W = self.shape
        self.components = components
        self.background_model = background
        self._A = sp.csr_matrix(components.A, dtype=np.float32)
        if self._A.shape[0] != H * W:
            raise ValueError(f"footprints have {self._A.shape[0]} pixels, the movie {H} x {W}")
        if components.C.shape[1] != T:
            raise ValueError(f"traces have {components.C.shape[1]} frames, the movie {T}")
        K = self._A.shape[1]
        self.colours = None if colours is None else np.asarray(colours, float).reshape(K, 3)
        self._corrected = None
        if motion is not None:
            from cnmf_gui.engine.motion import CorrectedMovie
            self._corrected = CorrectedMovie(movie, motion)

    # -- helpers ---------------------------------------------------------------------------------
    def _check(self, t: int) -> int:
        T = self.shape[0]
        if not 0 <= t < T:
            raise IndexError(f"frame {t} is outside 0..{T - 1}")
        return int(t)

    def _frame(self, source, t: int) -> np.ndarray:
        t = self._check(t)
        return np.asarray(source[t:t + 1], dtype=np.float32).reshape(self.shape[1:])

    def _image(self, flat) -> np.ndarray:
        return np.asarray(flat, dtype=np.float32).reshape(self.shape[1:])

    # -- views -----------------------------------------------------------------------------------
    def raw(self, t: int) -> np.ndarray:
        """Frame ``t`` as recorded, (H, W) float32."""
        return self._frame(self.movie, t)

    def corrected(self, t: int) -> np.ndarray:
        """Frame ``t`` after motion correction (the raw frame when there is none)."""
        return self._frame(self._corrected if self._corrected is not None else self.movie, t)

    def denoised(self, t: int) -> np.ndarray:
        """A c[t]: what the components explain, (H, W) float32."""
        return self._image(self._A @ self.components.C[:, self._check(t)].astype(np.float32))

    def background(self, t: int) -> np.ndarray:
        """The background of frame t, (H, W) float32 (zeros without a background): b f[t] for the
        low-rank model; for the ring model (one-photon) W (Y[t] - A c[t] - b0) + b0."""
        t = self._check(t)
        bg = self.background_model
        if bg is not None and getattr(bg, "model", "low_rank") == "ring":
            if getattr(self, "_ring", None) is None:
                from cnmf_gui.engine.background import from_result
                self._ring = from_result(bg, self.shape[1:])
            return self._ring.render(t, t + 1, frames=self.corrected(t)[None],
                                     neural=self.denoised(t)[None])[0]
        if bg is None or np.size(bg.b) == 0:
            return np.zeros(self.shape[1:], np.float32)
        return self._image(np.asarray(bg.b) @ np.asarray(bg.f)[:, t])

    def residual(self, t: int) -> np.ndarray:
        """Y[t] - A c[t] - b f[t]: what the model leaves, (H, W) float32."""
        return self.corrected(t) - self.denoised(t) - self.background(t)

    def background_subtracted(self, t: int) -> np.ndarray:
        """Y[t] - b f[t]: the neurons and the noise, (H, W) float32."""
        return self.corrected(t) - self.background(t)

    def demixed(self, t: int) -> np.ndarray:
        """Each component's A c[t] in its own colour, (H, W, 3) float32 (not normalised)."""
        if self.colours is None:
            raise ValueError("the demixed view needs a colour per component (ModelViews(colours=...))")
        c = self.components.C[:, self._check(t)].astype(np.float32)
        rgb = self._A @ (c[:, None] * self.colours.astype(np.float32))
        return np.asarray(rgb, dtype=np.float32).reshape(*self.shape[1:], 3)

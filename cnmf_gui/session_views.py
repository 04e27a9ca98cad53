"""What the views show of a :class:`~cnmf_gui.session.Session`: frames of each view, pixel lookup.

The model's movies (denoised A C, background b f, residual, ...) are computed one frame at a time
by the engine's :class:`~cnmf_gui.engine.model_views.ModelViews`; this module only chooses which
one a view name means and caches the objects that make them.
"""

from __future__ import annotations

import numpy as np

# view name -> label shown in the view selector, in the selector's order
VIEWS = {
    "raw": "Raw",
    "corrected": "Motion-corrected",
    "side_by_side": "Raw | corrected",
    "background_subtracted": "Background-subtracted",
    "denoised": "Denoised (A C)",
    "residual": "Residual",
    "background": "Background (b f)",
    "demixed": "Demixed colour",
    "mean": "Mean image",
    "max": "Max image",
    "correlation": "Correlation image",
    "pnr": "Peak-to-noise image",
}
STILLS = ("mean", "max", "correlation", "pnr")
MODEL_VIEWS = ("background_subtracted", "denoised", "residual", "background", "demixed")


def _engine_has(module: str) -> bool:
    """Whether an engine module is installed (model views are offered only when they can be made)."""
    import importlib.util
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


class ViewsMixin:
    """Frame access for the views (mixed into :class:`~cnmf_gui.session.Session`)."""

    def _reset_caches(self) -> None:
        self._model_views = None
        self._corrected = None
        self._pixel_rows = None

    # ------------------------------------------------------------------------------------------
    def available_views(self) -> list[str]:
        """View names that can be shown now, in the selector's order."""
        if self.data is None:
            return []
        out = []
        have_movie = self.movie is not None
        if have_movie:
            out.append("raw")
            if self.data.motion is not None:
                out += ["corrected", "side_by_side"]
            if (self.components is not None and self.data.background is not None
                    and _engine_has("cnmf_gui.engine.model_views")):
                out += list(MODEL_VIEWS)
        if self.data.summary is not None:
            out += list(STILLS)
        return out

    def is_still(self, view: str) -> bool:
        return view in STILLS

    def still_image(self, view: str) -> np.ndarray:
        """A summary image, (H, W)."""
        return np.asarray(getattr(self.data.summary, view))

    def model_views(self):
        """The engine's per-frame model views for the current components (cached)."""
        if self._model_views is None:
            from cnmf_gui.engine.model_views import ModelViews
            self._model_views = ModelViews(self.movie, self.components, self.data.background,
                                           motion=self.data.motion)
        return self._model_views

    def corrected_movie(self):
        """The motion-corrected movie as a lazy view (raw movie when there is no correction)."""
        if self.data is None or self.data.motion is None:
            return self.movie
        if self._corrected is None:
            from cnmf_gui.engine.motion import CorrectedMovie
            self._corrected = CorrectedMovie(self.movie, self.data.motion)
        return self._corrected

    def frame_image(self, view: str, t: int) -> np.ndarray:
        """Frame ``t`` of ``view``: (H, W) float32, or (H, W, 3) RGB for ``demixed``.

        Stills ignore ``t``. ``side_by_side`` is not a single image: ask for ``raw`` and
        ``corrected``.
        """
        if view in STILLS:
            return self.still_image(view)
        if self.movie is None:
            raise LookupError("no movie is open")
        if view == "raw":
            return np.asarray(self.movie[int(t)], dtype=np.float32)
        if view == "corrected":
            return np.asarray(self.corrected_movie()[int(t)], dtype=np.float32)
        if view in MODEL_VIEWS:
            return np.asarray(getattr(self.model_views(), view)(int(t)), dtype=np.float32)
        raise LookupError(f"unknown view {view!r}: expected one of {', '.join(VIEWS)}")

    # ------------------------------------------------------------------------------------------
    def component_at(self, row: float, col: float):
        """Id of the component whose footprint is strongest at pixel (row, col), or None."""
        comps = self.components
        if comps is None or comps.n_components == 0:
            return None
        H, W = self.image_shape
        r, c = int(np.floor(row)), int(np.floor(col))
        if not (0 <= r < H and 0 <= c < W):
            return None
        if self._pixel_rows is None:
            # Row access into a CSC matrix is slow; one CSR copy serves every click.
            self._pixel_rows = comps.A.tocsr()
        pixel = self._pixel_rows[r * W + c]
        if pixel.nnz == 0:
            return None
        k = pixel.indices[int(np.argmax(pixel.data))]
        return int(comps.ids[k])

    def footprint(self, component_id: int) -> np.ndarray:
        """The footprint of a component as an image, (H, W)."""
        H, W = self.image_shape
        k = self.index_of(component_id)
        return self.components.A[:, k].toarray().reshape(H, W)

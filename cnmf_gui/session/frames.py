"""What the views show of a session: frames of each view, pixel lookup (a part of the Session).

The model's movies (denoised A C, background b f, residual, ...) are computed one frame at a time
by the engine's :class:`~cnmf_gui.engine.model_views.ModelViews`; this module only chooses which
one a view name means and caches the objects that make them. The caches are dropped whenever the
components, the motion result or the data change (:meth:`Frames.invalidate`).
"""

from __future__ import annotations

import colorsys

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


def component_colours(K: int, seed: int = 0) -> np.ndarray:
    """Distinct, saturated RGB colours in 0..1, shape (K, 3) (golden-ratio hues, seeded shuffle)."""
    hues = (np.arange(K) * 0.618033988749895) % 1.0
    rng = np.random.default_rng(seed)
    rng.shuffle(hues)
    return np.array([colorsys.hsv_to_rgb(h, 0.85, 1.0) for h in hues]).reshape(K, 3)


def footprint_outlines(A, shape: tuple[int, int], ids, cache: dict | None = None) -> dict:
    """Outlines of every component, reusing ``cache`` (id -> (n, 2) array) where present.

    The outlines are the engine's (:func:`cnmf_gui.engine.footprints.contours`, pixel centres at
    integer coordinates), moved by half a pixel into image coordinates (pixel (r, c) spans
    [r, r+1] x [c, c+1]) and joined into one NaN-separated array per component.
    """
    from cnmf_gui.engine.footprints import contours

    cache = {} if cache is None else cache
    ids = [int(i) for i in np.asarray(ids)]
    missing = [k for k, cid in enumerate(ids) if cid not in cache]
    if missing:
        loops_per_component = contours(A.tocsc()[:, missing], shape)
        for k, loops in zip(missing, loops_per_component):
            parts = []
            for loop in loops:
                parts.append(np.asarray(loop, float) + 0.5)
                parts.append(np.full((1, 2), np.nan))
            cache[ids[k]] = np.vstack(parts) if parts else np.zeros((0, 2))
    return {cid: cache[cid] for cid in ids}


def motion_warning(metrics) -> str | None:
    """The engine's one-line warning when motion correction could not be trusted, or None."""
    from cnmf_gui.engine.motion.metrics import reliability_warning
    return reliability_warning(metrics)


class Frames:
    """Frame access for the views.

    Parameters
    ----------
    session : Session
        Read through its public ``data``, ``movie``, ``components``, ``image_shape`` and
        ``index_of`` only.
    """

    def __init__(self, session):
        self.session = session
        self.invalidate()

    def invalidate(self, *_args) -> None:
        self._model_views = None
        self._corrected = None
        self._pixel_rows = None

    # ------------------------------------------------------------------------------------------
    def available_views(self) -> list[str]:
        """View names that can be shown now, in the selector's order."""
        if self.session.data is None:
            return []
        out = []
        have_movie = self.session.movie is not None
        if have_movie:
            out.append("raw")
            if self.session.data.motion is not None:
                out += ["corrected", "side_by_side"]
            if (self.session.components is not None and self.session.data.background is not None
                    and _engine_has("cnmf_gui.engine.model_views")):
                out += list(MODEL_VIEWS)
        if self.session.data.summary is not None:
            out += list(STILLS)
        return out

    def is_still(self, view: str) -> bool:
        return view in STILLS

    def still_image(self, view: str) -> np.ndarray:
        """A summary image, (H, W)."""
        return np.asarray(getattr(self.session.data.summary, view))

    def model_views(self):
        """The engine's per-frame model views for the current components (cached)."""
        if self._model_views is None:
            from cnmf_gui.engine.model_views import ModelViews
            s = self.session
            self._model_views = ModelViews(s.movie, s.components, s.data.background, motion=s.data.motion,
                                           colours=component_colours(s.components.n_components))
        return self._model_views

    def corrected_movie(self):
        """The motion-corrected movie as a lazy view (raw movie when there is no correction)."""
        if self.session.data is None or self.session.data.motion is None:
            return self.session.movie
        if self._corrected is None:
            from cnmf_gui.engine.motion import CorrectedMovie
            self._corrected = CorrectedMovie(self.session.movie, self.session.data.motion)
        return self._corrected

    def frame_image(self, view: str, t: int) -> np.ndarray:
        """Frame ``t`` of ``view``: (H, W) float32, or (H, W, 3) RGB for ``demixed``.

        Stills ignore ``t``. ``side_by_side`` is not a single image: ask for ``raw`` and
        ``corrected``.
        """
        if view in STILLS:
            return self.still_image(view)
        if self.session.movie is None:
            raise LookupError("no movie is open")
        if view == "raw":
            return np.asarray(self.session.movie[int(t)], dtype=np.float32)
        if view == "corrected":
            return np.asarray(self.corrected_movie()[int(t)], dtype=np.float32)
        if view in MODEL_VIEWS:
            return np.asarray(getattr(self.model_views(), view)(int(t)), dtype=np.float32)
        raise LookupError(f"unknown view {view!r}: expected one of {', '.join(VIEWS)}")

    # ------------------------------------------------------------------------------------------
    def component_at(self, row: float, col: float):
        """Id of the component whose footprint is strongest at pixel (row, col), or None."""
        comps = self.session.components
        if comps is None or comps.n_components == 0:
            return None
        H, W = self.session.image_shape
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
        H, W = self.session.image_shape
        k = self.session.index_of(component_id)
        return self.session.components.A[:, k].toarray().reshape(H, W)

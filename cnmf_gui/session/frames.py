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
    "background": "Background",
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


def footprint_outlines(A, shape: tuple[int, int], ids, cache: dict | None = None,
                       fraction: float | None = None) -> dict:
    """Outlines of every component, reusing ``cache`` (id -> (n, 2) array) where present.

    Each outline is the iso-line of the footprint at ``fraction`` of its peak (default: the
    fraction that defines a footprint's shape, :data:`cnmf_gui.engine.footprints.SHAPE_FRACTION`)
    with sub-pixel vertices (:func:`cnmf_gui.engine.isolines.isolines`), moved by half a pixel
    into image coordinates (pixel (r, c) spans [r, r+1] x [c, c+1]) and its loops joined into one
    NaN-separated array per component.
    """
    from cnmf_gui.engine.footprints import SHAPE_FRACTION
    from cnmf_gui.engine.isolines import isolines

    fraction = SHAPE_FRACTION if fraction is None else float(fraction)
    cache = {} if cache is None else cache
    ids = [int(i) for i in np.asarray(ids)]
    A = A.tocsc()
    H, W = shape
    for k, cid in enumerate(ids):
        if cid in cache:
            continue
        start, stop = A.indptr[k], A.indptr[k + 1]
        pix, val = A.indices[start:stop], A.data[start:stop]
        parts = []
        if val.size and val.max() > 0:
            level = fraction * float(val.max())
            r, c = np.divmod(pix[val >= level], W)
            r0, r1, c0, c1 = max(r.min() - 1, 0), min(r.max() + 2, H), max(c.min() - 1, 0), min(c.max() + 2, W)
            rr, cc = np.divmod(pix, W)
            inside = (rr >= r0) & (rr < r1) & (cc >= c0) & (cc < c1)
            crop = np.zeros((r1 - r0, c1 - c0))
            crop[rr[inside] - r0, cc[inside] - c0] = val[inside]
            for loop in isolines(crop, level):
                parts.append(loop + (r0 + 0.5, c0 + 0.5))
                parts.append(np.full((1, 2), np.nan))
        cache[cid] = np.vstack(parts) if parts else np.zeros((0, 2))
    return {cid: cache[cid] for cid in ids}


def colours_of(ids) -> np.ndarray:
    """One colour per component id, (K, 3) RGB in 0..1: stable across edits (a merge or split
    changes the new components' colours only), shared by outlines, traces and the demixed view."""
    hues = (np.asarray(ids, float).ravel() * 0.618033988749895 + 0.11) % 1.0
    return np.array([colorsys.hsv_to_rgb(h, 0.8, 1.0) for h in hues]).reshape(-1, 3)


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
                                           colours=colours_of(s.components.ids))
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
        """Id of the component whose footprint, relative to its own peak, is strongest at pixel
        (row, col); a click beside a small fragment (within a pixel) still finds it. None: none."""
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
            self._peaks = np.maximum(np.asarray(abs(comps.A).max(axis=0).todense()).ravel(), 1e-300)
        for dr, dc in ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)):
            rr, cc = r + dr, c + dc
            if not (0 <= rr < H and 0 <= cc < W):
                continue
            pixel = self._pixel_rows[rr * W + cc]
            if pixel.nnz:
                # Relative to each peak: the pixel belongs to the shape it is most inside of, so a
                # dim fragment under a bright neighbour's tail is still picked where it is.
                k = pixel.indices[int(np.argmax(pixel.data / self._peaks[pixel.indices]))]
                return int(comps.ids[k])
        return None

    def footprint(self, component_id: int) -> np.ndarray:
        """The footprint of a component as an image, (H, W)."""
        H, W = self.session.image_shape
        k = self.session.index_of(component_id)
        return self.session.components.A[:, k].toarray().reshape(H, W)

"""At open: say when the movie looks one-photon and the parameters are two-photon's (or the
reverse), so the user picks the right preset before running anything."""

from __future__ import annotations

import logging

log = logging.getLogger("cnmf_gui.session")

__all__ = ["preset_hint"]


def preset_hint(movie, params) -> str | None:
    """One line for the user when the movie and the background model disagree, else None."""
    from cnmf_gui.engine.onephoton.detect import looks_one_photon

    try:
        verdict = looks_one_photon(movie)
    except Exception as exc:     # a hint must never stop a movie from opening
        log.debug("one-photon check failed: %s", exc)
        return None
    ring = params.cnmf.background_model == "ring"
    if verdict.one_photon and not ring:
        return (f"this movie looks one-photon ({verdict.describe()}): the one-photon preset "
                f"(--preset one-photon, or Preset in the Parameters panel) models its background")
    if not verdict.one_photon and ring:
        return (f"the one-photon preset is set but this movie looks two-photon (only {verdict.describe()}): "
                f"the two-photon preset may fit it better")
    return None

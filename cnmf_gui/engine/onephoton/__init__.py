"""One-photon (microendoscope, miniscope) CNMF-E: correlation and peak-to-noise images of the
high-pass filtered movie, seeds where both are high, local footprints with the background
removed, and the alternating fit with the ring background (:mod:`cnmf_gui.engine.background.ring`).

References
----------
Zhou P. et al. (2018) Efficient and accurate extraction of in vivo calcium signals from
microendoscopic video data. eLife 7:e28728.
"""

from cnmf_gui.engine.onephoton.images import CorrPNR, correlation_pnr, highpass
from cnmf_gui.engine.onephoton.seeds import select_seeds

__all__ = ["CorrPNR", "correlation_pnr", "highpass", "select_seeds"]

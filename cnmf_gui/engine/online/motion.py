"""Rigid motion correction of one frame at a time against a running template.

The registration is the batch engine's (:mod:`cnmf_gui.engine.motion`): the template is
windowed and filtered once by :class:`~cnmf_gui.engine.motion.prep.SpectralPrep`, each frame's
spectrum is matched by :func:`~cnmf_gui.engine.motion.rigid.register_spectra` (integer peak,
then sub-pixel refinement) and shifted by :func:`~cnmf_gui.engine.motion.warp.shift_frames`.
Only the template's bookkeeping is online: corrected frames are summed, and every
``update_every`` frames the template becomes the mean of the frames since the last update
(brightness drifts and bleaching are followed; the reference position is kept, since the frames
were aligned to it).

References
----------
Pnevmatikakis E. A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. J Neurosci Methods 291:83-94.
Guizar-Sicairos M. et al. (2008) Optics Letters 33(2):156-158.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.motion.prep import SpectralPrep
from cnmf_gui.engine.motion.rigid import register_near, register_spectra
from cnmf_gui.engine.motion.warp import shift_frames

#: Precision of the online shifts: 1/10 px (the batch default refines further; a frame-by-frame
#: estimate on one noisy frame is not more precise than this).
UPSAMPLE = 10
#: Half-width of the search around the previous frame's shift, px.
REACH = 2


class OnlineMotion:
    """Registers frames one by one.

    Parameters
    ----------
    template : ndarray of shape (H, W)
        The batch initialisation's template.
    params : MotionParams
        ``max_shift``, ``highpass_sigma``, ``taper_fraction``, ``interpolation``.
    """

    def __init__(self, template: np.ndarray, params):
        self.shape = template.shape
        self.max_shift = float(params.max_shift)
        self.order = 3 if params.interpolation == "cubic" else 1
        margin = int(np.ceil(self.max_shift))
        self.prep = SpectralPrep(self.shape, taper_fraction=params.taper_fraction,
                                 highpass_sigma=params.highpass_sigma, margin=margin)
        self.set_template(template)
        self._sum = np.zeros(self.shape)
        self._n = 0
        self.last = np.zeros(2)

    def set_template(self, template: np.ndarray) -> None:
        self.template = np.asarray(template, np.float32)
        self._spectrum = self.prep.template_spectrum(self.template)

    def correct(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frame aligned to the template and the shift [dy, dx] applied to it.

        Parameters
        ----------
        frame : ndarray of shape (H, W)

        Returns
        -------
        corrected : ndarray of shape (H, W), float32
        shift : ndarray of shape (2,)
        """
        frame = np.asarray(frame, np.float32)
        spec = self.prep.frame_spectra(frame[None])
        # Consecutive frames move little: search +-REACH px around the last shift (a few lags
        # instead of the whole window), and the whole window only when the peak is not inside.
        shifts, _, at_edge, _ = register_near(spec.copy(), self._spectrum, self.shape, self.last[None],
                                              REACH, UPSAMPLE)
        if at_edge[0] or np.any(np.abs(shifts[0]) > self.max_shift):
            shifts, _, _ = register_spectra(spec, self._spectrum, self.shape, self.max_shift, UPSAMPLE)
        shift = shifts[0]
        if not np.all(np.isfinite(shift)):
            shift = self.last
        self.last = shift
        corrected = shift_frames(frame, shift, order=self.order)
        self._sum += corrected
        self._n += 1
        return corrected, shift

    def update_template(self) -> None:
        """The mean of the frames corrected since the last update becomes the template."""
        if self._n:
            self.set_template(self._sum / self._n)
            self._sum[:] = 0.0
            self._n = 0

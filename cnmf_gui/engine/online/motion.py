"""Rigid motion correction of one frame at a time against a running template.

The registration is the batch engine's (:mod:`cnmf_gui.engine.motion`): the template is
windowed and filtered once by :class:`~cnmf_gui.engine.motion.prep.SpectralPrep`, each frame's
spectrum is matched by :func:`~cnmf_gui.engine.motion.rigid.register_spectra` (integer peak,
then sub-pixel refinement) and shifted by :func:`~cnmf_gui.engine.motion.warp.shift_frames`.
Only the template is online: every ``update_every`` frames the caller (:class:`.cnmf.OnlineCNMF`,
from its running sum of the corrected frames) makes it the mean of the frames since the last
update (brightness drifts and bleaching are followed; the reference position is kept, since the frames
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

    The shift is measured on the central ``crop`` x ``crop`` px of the frame and template (the
    whole frame is shifted): a rigid shift is measured as well on a quarter of a 512 x 512 field,
    which holds a hundred cells, as on all of it, and its FFT and correlation cost a quarter.

    Parameters
    ----------
    template : ndarray of shape (H, W)
        The batch initialisation's template.
    params : MotionParams
        ``max_shift``, ``highpass_sigma``, ``taper_fraction``, ``interpolation``.
    crop : int
        Side of the central square registered, px (0 or at least the frame: the whole frame).
    """

    def __init__(self, template: np.ndarray, params, crop: int = 0):
        self.shape = template.shape
        self.max_shift = float(params.max_shift)
        self.order = 3 if params.interpolation == "cubic" else 1
        margin = int(np.ceil(self.max_shift))
        # the crop keeps room for the template's zero margin and ramp around the largest shift
        sides = [n if crop <= 0 else min(n, max(int(crop), 8 * margin)) for n in self.shape]
        self.crop = tuple(slice((n - m) // 2, (n - m) // 2 + m) for n, m in zip(self.shape, sides))
        self.reg_shape = tuple(sides)
        self.prep = SpectralPrep(self.reg_shape, taper_fraction=params.taper_fraction,
                                 highpass_sigma=params.highpass_sigma, margin=margin)
        self.set_template(template)
        self._out = np.empty((1,) + tuple(self.shape), np.float32)
        self.last = np.zeros(2)

    def set_template(self, template: np.ndarray) -> None:
        self.template = np.asarray(template, np.float32)
        self._spectrum = self.prep.template_spectrum(self.template[self.crop])

    def correct(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frame aligned to the template and the shift [dy, dx] applied to it.

        Parameters
        ----------
        frame : ndarray of shape (H, W)

        Returns
        -------
        corrected : ndarray of shape (H, W), float32
            Overwritten by the next call (copy it to keep it).
        shift : ndarray of shape (2,)
        """
        frame = np.asarray(frame, np.float32)
        spec = self.prep.frame_spectra(np.ascontiguousarray(frame[self.crop])[None])
        # Consecutive frames move little: search +-REACH px around the last shift (a few lags
        # instead of the whole window), and the whole window only when the peak is not inside.
        shifts, _, at_edge, _ = register_near(spec.copy(), self._spectrum, self.reg_shape, self.last[None],
                                              REACH, UPSAMPLE)
        if at_edge[0] or np.any(np.abs(shifts[0]) > self.max_shift):
            shifts, _, _ = register_spectra(spec, self._spectrum, self.reg_shape, self.max_shift, UPSAMPLE)
        shift = shifts[0]
        if not np.all(np.isfinite(shift)):
            shift = self.last
        self.last = shift
        # into the same buffer every frame (a fresh 1 MB array is page-faulted in each time):
        # the result is valid until the next call
        corrected = shift_frames(frame, shift, order=self.order, out=self._out)
        return corrected, shift

"""The per-batch work of the correction pass: register, check, correct and measure frames.

A chunk of frames goes through three steps (:mod:`~cnmf_gui.engine.motion.estimate` drives
them):

1. :meth:`FramePass.register` (batches on threads): rigid and patch shifts of each frame, or
   :meth:`FramePass.register_bins`: of the mean of each bin of ``temporal_bin`` frames
   (:mod:`~cnmf_gui.engine.motion.binning`; a bin that is part of the template is matched
   against the template without its own contribution). Each comes with its **peak SNR**: how
   far the correlation at the chosen shift stands above the median over the search window, in
   standard deviations of the correlation that the image's noise alone gives at any lag.
   Noise alone stands about 4 above its median somewhere in the window, and a broad plateau
   (smooth structure, or static illumination) lets noise choose its maximum: below
   ``MIN_PEAK_SNR`` the shift is not trusted.
2. :func:`fill_unreliable` (serial): untrusted frames or bins take the shift interpolated from
   the trusted ones around them (the last trusted one of the previous chunk anchors the
   start), or zero when nothing is trusted yet.
3. :meth:`FramePass.finish` (batches on threads): shift the frames with the final shifts and
   measure them (correlations with the template, mean images, residual and PC samples).

References
----------
Guizar-Sicairos M., Thurman S.T., Fienup J.R. (2008) Efficient subpixel image registration
algorithms. Optics Letters 33(2):156-158.
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. J Neurosci Methods 291:83-94.
"""

from __future__ import annotations

import math

import numpy as np

from cnmf_gui.engine.motion import metrics as qc
from cnmf_gui.engine.motion.piecewise import PatchRegistrar, make_patch_grid
from cnmf_gui.engine.motion.prep import SpectralPrep, clean_frames, half_spectrum_weights
from cnmf_gui.engine.motion.rigid import register_near, register_spectra
from cnmf_gui.engine.motion.template import WINDOW_MARGIN
from cnmf_gui.engine.motion.warp import ORDERS, shift_frames, warp_frames
from cnmf_gui.params import MotionParams

# Peak SNR below which a shift is not trusted. Noise alone stands about 3-4 above its median
# somewhere in a window of ~1000 lags (about 1 in 10^6 windows reaches 6); on the low-SNR Allen
# snippet, bins of 25 frames whose surfaces were plateaus reached 6.8.
MIN_PEAK_SNR = 8.0
# Largest sd (px) of a trusted peak's position: the slope of the correlation that noise gives,
# over the peak's curvature. A broad plateau (smooth structure, static illumination) can stand
# high over the noise yet place its maximum anywhere.
MAX_LOCATION_SD = 0.5
# Share of the template's bins that must be trusted for anything in the movie to be trusted.
MIN_TRUSTED_FRACTION = 0.5


class FramePass:
    """State shared by the batches of the correction pass.

    Parameters
    ----------
    shape : (int, int)
        (H, W).
    tres : TemplateResult
        Template, spread, background, temporal bin and noise level.
    p : MotionParams
    n_workers : int
    """

    def __init__(self, shape, tres, p: MotionParams, n_workers: int):
        H, W = shape
        self.p = p
        self.shape = shape
        self.order = ORDERS[p.interpolation]
        self.n_workers = n_workers
        self.temporal_bin = int(tres.temporal_bin)
        margin = int(min(WINDOW_MARGIN, math.ceil(p.max_shift)))   # see template.WINDOW_MARGIN
        self.highpass_sigma = float(getattr(tres, "highpass_sigma", p.highpass_sigma))
        self.prep = SpectralPrep(shape, p.taper_fraction, self.highpass_sigma, margin=margin,
                                 background=tres.background, extra_weight=tres.spectral_weight(shape))
        self.template = tres.template
        self.tspec = self.prep.template_spectrum(tres.template)
        # Standard deviation of the correlation (as register_spectra scales it) that white
        # noise of unit variance in a frame produces at any lag: sqrt(H W sum |T^|^2) by
        # Parseval over the full spectrum.
        mult = half_spectrum_weights(W)[None, :]
        power = mult * np.abs(self.tspec.astype(np.complex128)) ** 2
        self.noise_gain = math.sqrt(H * W * float(power.sum()))
        # The same for the correlation's slope along rows and columns (each frequency weighted
        # by its angular frequency squared): with the peak's curvature it gives the precision
        # of the peak's position.
        ky = 2 * math.pi * np.fft.fftfreq(H)[:, None]
        kx = 2 * math.pi * np.fft.rfftfreq(W)[None, :]
        self.slope_gain = np.array([math.sqrt(H * W * float((ky ** 2 * power).sum())),
                                    math.sqrt(H * W * float((kx ** 2 * power).sum()))])
        self.sigma = float(tres.signal.sigma) if tres.signal is not None else math.nan
        self.noise_mask = noise_band(tres.signal, shape)
        self.crop = qc.interior(shape, margin)
        self.pc_bin = qc.pc_bin_factor(shape)
        self.member_spectra = {}
        if tres.member_images is not None and len(tres.member_images) >= 2:
            # A member's contribution to the template, to be taken out when that bin is matched.
            K = len(tres.member_images)
            for k, img in zip(tres.member_bins, tres.member_images):
                own = self.prep.template_spectrum(img)
                self.member_spectra[int(k)] = (np.float32(K) * self.tspec - own) / np.float32(K - 1)
        # How the template's own bins fare against the template without themselves: when most
        # of them are not trusted, the few that pass are noise that happened to peak (on the
        # low-SNR Allen snippet one bin in four did), and nothing in the movie is trusted.
        self.member_trust = math.nan
        self.registrar = None   # rigid shifts suffice for this check
        if self.member_spectra:
            ks = [int(k) for k in tres.member_bins]
            tspec = np.stack([self.member_spectra[k] for k in ks])
            _, _, _, peak, spread = self.shifts_of(np.asarray(tres.member_images, np.float32), tspec)
            snr, loc = self._quality(peak, spread, np.full(len(ks), float(self.temporal_bin)))
            self.member_trust = float(np.mean(~untrusted(snr, loc)))
        self.hopeless = self.member_trust < MIN_TRUSTED_FRACTION
        self.registrar = None
        if p.pw_rigid:
            grid = make_patch_grid(shape, p.patch_size, p.patch_overlap)
            ps = grid.size
            self.registrar = PatchRegistrar(self.prep.flatten(tres.template), grid, p.max_deviation_rigid,
                                            p.upsample_factor, p.taper_fraction, self.highpass_sigma,
                                            extra_weight=tres.spectral_weight((ps, ps)))

    def untrusted(self, peak_snr: np.ndarray, location_sd: np.ndarray) -> np.ndarray:
        """Which shifts not to trust (all of them when the template's own bins were not)."""
        if self.hopeless:
            return np.ones(len(peak_snr), bool)
        return untrusted(peak_snr, location_sd)

    def shifts_of(self, frames: np.ndarray, tspec=None, details: bool = False):
        """Rigid (and patch) shifts of clean frames: (n, 2), (n,) clamped, (n, gy, gx, 2) or None, (n,)
        the correlation peak over the median of the search window, and (n,) the sd of the
        peak's position per unit noise sd (the larger of rows and columns).

        ``tspec`` (n, H, W // 2 + 1) gives each frame its own template spectrum. With
        ``details``, also (n,) the median of the search window and (n,) each image's own
        noise sd (from the noise-only band of its spectrum; NaN where there is none).
        """
        flat = self.prep.flatten(frames)
        spec = self.prep.frame_spectra(flat)
        noise = self.frame_noise(spec)
        shifts, clamped, peak, median, curv = register_spectra(
            spec, self.tspec if tspec is None else tspec, self.shape, self.p.max_shift, self.p.upsample_factor,
            baseline=True, norm=self.prep.norm_terms())
        pw = self.registrar.estimate(flat, shifts) if self.registrar is not None else None
        spread = self._spread(curv)
        if details:
            return shifts, clamped, pw, peak - median, spread, median, noise
        return shifts, clamped, pw, peak - median, spread

    def _spread(self, curv):
        # Slope noise over curvature (per unit noise sd): the position's sd, per axis.
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(curv < 0, self.slope_gain / np.abs(curv), np.inf).max(axis=1)

    def frame_noise(self, spectra: np.ndarray) -> np.ndarray:
        """Noise sd of each image from the band of its spectrum that holds noise only, (n,).

        A frame's own noise, not the movie's: a flash or a bright burst adds shot noise, a
        bleached stretch has less; judged against the movie's noise, a noisy frame's chance
        peak looks significant. NaN without a usable band (the movie's ``sigma`` is used).
        """
        if self.noise_mask is None:
            return np.full(spectra.shape[0], np.nan)
        H, W = self.shape
        band = spectra[:, self.noise_mask[0], self.noise_mask[1]]
        power = (np.abs(band.astype(np.complex64)) ** 2) @ self.noise_mask[2]
        return np.sqrt(power / (H * W * float(self.noise_mask[2].sum())))

    def register_near(self, raw: np.ndarray, centers: np.ndarray, reach: int, median: np.ndarray):
        """Re-register frames searching only near ``centers`` (n, 2): shifts, patch shifts, peak SNR,
        position sd and whether the best lag was on the window's edge; ``median`` (n,) is each
        frame's median correlation over the free search window (the SNR's baseline)."""
        clean, _, _ = clean_frames(raw)
        flat = self.prep.flatten(clean)
        spec = self.prep.frame_spectra(flat)
        noise = self.frame_noise(spec)
        shifts, value, at_edge, curv = register_near(spec, self.tspec, self.shape, centers, reach,
                                                     self.p.upsample_factor)
        limit = float(self.p.max_shift)
        at_edge |= (np.abs(shifts) > limit).any(axis=1)
        shifts = np.clip(shifts, -limit, limit)
        pw = self.registrar.estimate(flat, shifts) if self.registrar is not None else None
        snr, loc = self._quality(value - median, self._spread(curv), np.ones(len(raw)), noise)
        return shifts, pw, snr, loc, at_edge

    def _quality(self, peak, spread, n_avg, noise=None):
        """Peak SNR and position sd (px) of registered images, NaN when the noise is unknown.

        ``noise`` (n,): each image's own noise sd where measured (NaN: the movie's, scaled by
        the frames averaged).
        """
        if math.isfinite(self.sigma) and self.sigma > 0 and self.noise_gain > 0:
            sd = self.sigma / np.sqrt(np.maximum(n_avg, 1))
            if noise is not None:
                sd = np.where(np.isfinite(noise) & (noise > 0), noise, sd)
            return (peak / (sd * self.noise_gain)).astype(np.float32), (sd * spread).astype(np.float32)
        nan = np.full(len(peak), np.nan, np.float32)   # unknown noise: every peak is trusted
        return nan, nan.copy()

    def register_bins(self, means: np.ndarray, counts: np.ndarray, bins: np.ndarray) -> dict:
        """Step 1 for bin means: shifts, patch shifts and peak SNR of each bin.

        Parameters
        ----------
        means : ndarray of shape (m, H, W), float32, finite
        counts : ndarray of shape (m,)
            Usable frames in each bin (0: unusable).
        bins : ndarray of shape (m,), int
            Bin indices (to find the template's members).
        """
        tspec = None
        if self.member_spectra and any(int(k) in self.member_spectra for k in bins):
            tspec = np.broadcast_to(self.tspec, (len(bins),) + self.tspec.shape).copy()
            for i, k in enumerate(bins):
                if int(k) in self.member_spectra:
                    tspec[i] = self.member_spectra[int(k)]
        shifts, clamped, pw, peak, spread = self.shifts_of(means, tspec)
        flat = np.ptp(means.reshape(len(means), -1), axis=1) == 0 if len(means) else np.zeros(0, bool)
        unusable = (np.asarray(counts) == 0) | flat
        snr, loc = self._quality(peak, spread, np.asarray(counts, float))
        snr[unusable] = 0.0
        loc[unusable] = np.inf
        shifts[unusable] = 0.0
        if pw is not None:
            pw[unusable] = 0.0
        return {"shifts": shifts, "clamped": clamped, "pw": pw, "unusable": unusable, "peak_snr": snr,
                "location_sd": loc}

    def register(self, raw: np.ndarray) -> dict:
        """Step 1 for a batch of frames: shifts and peak SNR.

        Parameters
        ----------
        raw : ndarray of shape (n, H, W)
        """
        clean, unusable, nonfinite = clean_frames(raw)
        shifts, clamped, pw, peak, spread, median, noise = self.shifts_of(clean, details=True)
        snr, loc = self._quality(peak, spread, np.ones(len(raw)), noise)
        snr[unusable] = 0.0
        loc[unusable] = np.inf
        # Frames without content have no position: their peak is noise. Hold them still here;
        # their shifts are interpolated from their neighbours after the pass.
        shifts[unusable] = 0.0
        clamped[unusable] = False
        if pw is not None:
            pw[unusable] = 0.0
        return {"clean": clean, "shifts": shifts, "clamped": clamped, "pw": pw, "unusable": unusable,
                "nonfinite": nonfinite, "peak_snr": snr, "location_sd": loc, "median": median,
                "brightness": clean.mean(axis=(1, 2), dtype=np.float64)}

    def apply(self, frames: np.ndarray, shifts, pw, out=None) -> np.ndarray:
        if pw is not None:
            return warp_frames(frames, pw, self.registrar.grid.centers, order=self.order, out=out)
        return shift_frames(frames, shifts, order=self.order, out=out)

    def residual(self, corrected: np.ndarray, usable: np.ndarray):
        """Shifts of corrected frames re-estimated against the template (usable frames only).

        Returns (k, 2) rigid residuals and (k,) RMS over patches of the patch residuals (or None).
        """
        frames, _, _ = clean_frames(corrected[usable])
        if len(frames) == 0:
            return np.zeros((0, 2)), None
        res, _, pw, _, _ = self.shifts_of(frames)
        pw_rms = None if pw is None else np.sqrt((pw.astype(np.float64) ** 2).sum(axis=-1).mean(axis=(1, 2)))
        return res, pw_rms

    def finish(self, raw: np.ndarray, reg: dict, out: np.ndarray, residual_at, pc_at: np.ndarray) -> dict:
        """Step 3 for a batch: correct the frames into ``out`` and measure them.

        ``reg`` holds this batch's ``clean`` frames (:func:`clean_frames`), final ``shifts``,
        ``pw``, ``unusable`` and ``nonfinite``; ``residual_at`` (or None: measured elsewhere)
        and ``pc_at`` are batch-local indices of frames kept for the residual and
        principal-component metrics.
        """
        clean, shifts, pw, unusable = reg["clean"], reg["shifts"], reg["pw"], reg["unusable"]
        self.apply(clean, shifts, pw, out=out)
        good = ~unusable
        sum_before = np.zeros(self.shape)
        sum_after = np.zeros(self.shape)
        res = {
            "corr_before": qc.frame_correlations(clean, self.template, self.crop, accumulate=sum_before,
                                                 include=good),
            "corr_after": qc.frame_correlations(out, self.template, self.crop, accumulate=sum_after,
                                                include=good),
            "sum_before": sum_before, "sum_after": sum_after,
        }
        res["residual"], res["residual_pw"] = (np.zeros((0, 2)), None) if residual_at is None else \
            self.residual(out[residual_at], good[residual_at])
        if self.p.pc_metric:
            res["pc_before"] = qc.bin_frames(clean[pc_at], self.pc_bin)
            res["pc_after"] = qc.bin_frames(out[pc_at], self.pc_bin)
        for i in np.flatnonzero(reg["nonfinite"]):
            # The output keeps the recording's NaNs (they are the truth); the metrics above used
            # the NaN-filled copy.
            self.apply(np.asarray(raw[i:i + 1], np.float32), shifts[i:i + 1],
                       None if pw is None else pw[i:i + 1], out=out[i:i + 1])
        return res


def noise_band(signal, shape):
    """Where a frame's spectrum holds noise only: (rows, cols, weights) on the half-spectrum, or None.

    Frequencies above a quarter cycle per px where the structure's power is under 5 % of the
    noise's, away from the axes (the unwindowed frame's edge jumps put power all along them)
    and from the Nyquist row and column. None when the movie's noise is unknown or the band
    is under 2 % of the spectrum (then the movie's noise level is used for every frame).
    """
    if signal is None or not (math.isfinite(signal.sigma) and signal.sigma > 0):
        return None
    H, W = shape
    fy = np.fft.fftfreq(H)[:, None]
    fx = np.fft.rfftfreq(W)[None, :]
    quiet = signal.structure_psd(shape) < 0.05 * signal.sigma ** 2
    band = quiet & (np.hypot(fy, fx) >= 0.25) & (np.abs(fy) > 0.05) & (fx > 0.05) & (np.abs(fy) < 0.5) & (fx < 0.5)
    if band.sum() < 0.02 * band.size:
        return None
    rows, cols = np.nonzero(band)
    return rows, cols, half_spectrum_weights(W)[cols].astype(np.float32)


def fill_unreliable(shifts: np.ndarray, pw, trusted: np.ndarray, times: np.ndarray, anchor=None) -> None:
    """Replace untrusted shifts by interpolation between trusted ones, in place.

    Parameters
    ----------
    shifts : ndarray of shape (n, 2)
        Rigid shifts of consecutive frames or bins.
    pw : ndarray of shape (n, gy, gx, 2) or None
        Patch shifts; untrusted entries get their (filled) rigid shift on every patch.
    trusted : ndarray of shape (n,), bool
    times : ndarray of shape (n,)
        Increasing frame times of the entries.
    anchor : (float, ndarray of shape (2,)), optional
        (time, shift) of the last trusted entry before these (e.g. in the previous chunk):
        entries before the first trusted one interpolate from it.
    """
    bad = ~np.asarray(trusted, bool)
    if not bad.any():
        return
    t = np.asarray(times, float)[~bad]
    known = shifts[~bad].astype(float)
    if anchor is not None:
        t = np.concatenate([[anchor[0]], t])
        known = np.concatenate([np.asarray(anchor[1], float)[None], known])
    at = np.flatnonzero(bad)
    if len(t) == 0:
        shifts[at] = 0.0   # nothing trusted yet: leave the frames where they are
    else:
        for ax in range(2):
            # np.interp holds the end values beyond the known range.
            shifts[at, ax] = np.interp(np.asarray(times, float)[at], t, known[:, ax])
    if pw is not None:
        pw[at] = shifts[at][:, None, None, :]


def last_trusted(shifts: np.ndarray, trusted: np.ndarray, times: np.ndarray, anchor=None):
    """(time, shift) of the last trusted entry, or ``anchor`` when none is trusted."""
    good = np.flatnonzero(trusted)
    if len(good) == 0:
        return anchor
    return float(times[good[-1]]), shifts[good[-1]].astype(float).copy()


def interpolate_to_frames(frame_times: np.ndarray, bin_times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Linear interpolation of per-bin values (any trailing shape) to frame times, held at the ends.

    Parameters
    ----------
    frame_times : ndarray of shape (n,)
    bin_times : ndarray of shape (m,), increasing
    values : ndarray of shape (m, ...)

    Returns
    -------
    ndarray of shape (n, ...), float32
    """
    m = len(bin_times)
    if m == 1:
        return np.repeat(values[:1], len(frame_times), axis=0).astype(np.float32)
    i = np.clip(np.searchsorted(bin_times, frame_times, side="right") - 1, 0, m - 2)
    w = np.clip((frame_times - bin_times[i]) / (bin_times[i + 1] - bin_times[i]), 0.0, 1.0)
    w = w.reshape((-1,) + (1,) * (values.ndim - 1))
    return ((1.0 - w) * values[i] + w * values[i + 1]).astype(np.float32)


def untrusted(peak_snr: np.ndarray, location_sd: np.ndarray) -> np.ndarray:
    """Shifts not to trust: peaks too low over the noise, or placed too imprecisely (NaN: trusted)."""
    return (peak_snr < MIN_PEAK_SNR) | (location_sd > MAX_LOCATION_SD)

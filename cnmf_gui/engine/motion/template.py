"""The registration template: a crisp mean image of the movie's typical position.

1. Sample ``template_frames`` frames evenly over the movie (slow drift is then represented).
2. Seed: the frame whose best-matching ``k`` frames correlate most with it, averaged with them.
   Frames from a still moment resemble each other, so the seed is sharp even when the movie
   moves a lot (a plain mean of a moving movie is blurred).
3. Refine ``template_iterations`` times: register the sample to the template, shift it, and
   average the better-correlated half (outliers such as bright transients or bad frames stay
   out). The last round averages the sample moved by its shifts *minus their median*, so the
   template sits at the movie's typical position and most frames need only small shifts (less
   edge filling in the corrected movie).

Each frame of the sample is registered to the template *without its own contribution* (the
leave-one-out mean, formed in the Fourier domain): a frame's noise correlates perfectly with
its own copy in the template, which on noisy movies outweighs the structure and locks every
frame wherever it was first put. After each round the split-half spectra of the aligned sample
(:mod:`~cnmf_gui.engine.motion.snr`) give the noise level, the template's Wiener weight and
the precision a single frame can be registered to. When that precision is worse than
``TARGET_PRECISION``, the template is rebuilt the same way from means of ``n`` consecutive
frames on a fixed grid (:mod:`~cnmf_gui.engine.motion.binning`) and the correction pass
registers the means of those bins.

References
----------
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. Journal of Neuroscience Methods 291:83-94
(template refinement from registered frames).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cnmf_gui.engine.motion import snr
from cnmf_gui.engine.motion.binning import read_bins, template_bins
from cnmf_gui.engine.motion.parallel import batch_size, map_batches
from cnmf_gui.engine.motion.prep import SpectralPrep, clean_frames, static_background
from cnmf_gui.engine.motion.rigid import register_spectra
from cnmf_gui.engine.motion.sample import FrameStack, aligned_images, aligned_mean, compact_sample, mean_image
from cnmf_gui.engine.motion.seed import (_binned, calm_frames, correlate_rows, read_frames, sample_indices,  # noqa: F401
                                         seed_template)
from cnmf_gui.engine.motion.warp import shift_frames
from cnmf_gui.progress import checkpoint
# Predicted standard deviation (px per axis) a registration should reach; frames are averaged
# in time until it does. Averaging more also averages the motion itself (on synthetic movies
# with noise 5x the spike size, 4-8 frames per bin gave 0.34 px RMSE, 32 frames 0.92 px).
TARGET_PRECISION = 0.25
# Expected correlation peak over the noise's standard deviation that a registration needs: the
# noise alone reaches about 4 somewhere in a search window of a few thousand lags.
MIN_PEAK_SNR = 10.0
# Zero band (px) at the edges of the template's window. It was once the largest shift, to keep
# the frame's wrapped-around opposite edge out of the correlation; but it also kept out every
# cell near the edges, and a frame whose activity sits there (a burst of edge cells) then
# matched the template only at a wrong lag that pulls those cells inward (14 px off on an
# 80 x 96 movie). The normalised peak search (:func:`~cnmf_gui.engine.motion.peaks.integer_peak`)
# and the cosine ramp deal with the wrapped content instead.
WINDOW_MARGIN = 2
# Longest automatic bin, and at least this many bins over the movie.
MAX_BIN = 64
MIN_BINS = 4


@dataclass
class TemplateResult:
    """The template and what building it learned about the movie.

    Attributes
    ----------
    template : ndarray of shape (H, W), float32
    sample : ndarray of shape (n,), int64
        Frame indices of the sample (the centre frame of each run when frames were averaged).
    shifts : ndarray of shape (n, 2), float64
        The sample's rigid shifts against the final template (from the last refinement round).
    spread : float
        Largest distance (px, per axis) of a sample shift from the median one: how far the
        movie moves around its typical position.
    background : ndarray of shape (H, W), float32, or None
        Static smooth background removed before registration (high-pass registration only).
    temporal_bin : int
        Frames per bin: the pass registers bin means and interpolates shifts to frames.
    signal : SignalNoise or None
        Structure and noise spectra in single-frame units (None with fewer than 2 usable
        frames in the sample).
    precision : ndarray of shape (2,)
        Predicted standard deviation (px) of a shift, [row, col], registering means of
        ``temporal_bin`` frames (NaN when unknown).
    precision_single : ndarray of shape (2,)
        The same for single frames.
    member_bins : ndarray of shape (K,), int64, or None
        With ``temporal_bin`` > 1: the bins whose means make up the template ...
    member_images : ndarray of shape (K, H, W), float32, or None
        ... and those means as aligned in it (``template`` is their mean), so that a bin can be
        registered against the template without its own noise.
    highpass_sigma : float
        The high-pass the pass registers with (px; 0 = off): ``params.highpass_sigma``, widened
        where single frames are too noisy for it (see :func:`_choose_highpass`).
    """

    template: np.ndarray
    sample: np.ndarray
    shifts: np.ndarray
    spread: float
    background: np.ndarray | None = None
    temporal_bin: int = 1
    signal: snr.SignalNoise | None = None
    precision: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))
    precision_single: np.ndarray = field(default_factory=lambda: np.full(2, np.nan))
    member_bins: np.ndarray | None = None
    member_images: np.ndarray | None = None
    highpass_sigma: float = 0.0

    def spectral_weight(self, shape):
        """The Wiener weight for images of ``shape`` (None when the spectra are unknown)."""
        return None if self.signal is None else self.signal.wiener(shape)


def _register_loo(frames, template, members, moved, prep, params, order, n_workers) -> np.ndarray:
    """Shifts of frames against the template; each member against the template without itself.

    ``template`` is the mean of the members moved by ``moved``; the template spectrum is linear
    in the image, so the leave-one-out spectrum is ``(K T^ - S_i^) / (K - 1)``.
    """
    H, W = frames.shape[1:]
    spec = prep.template_spectrum(template)
    norm = prep.norm_terms()
    K = len(members)
    pos = np.full(len(frames), -1, np.int64)
    pos[members] = np.arange(K)

    def register(a, b):
        fs = prep.frame_spectra(prep.flatten(frames[a:b]))
        own = np.flatnonzero(pos[a:b] >= 0) if K >= 2 else np.zeros(0, np.int64)
        if len(own) == 0:
            return register_spectra(fs, spec, (H, W), params.max_shift, params.upsample_factor, norm=norm)[0]
        out = np.empty((b - a, 2))
        rest = np.setdiff1d(np.arange(b - a), own)
        if len(rest):
            out[rest] = register_spectra(fs[rest], spec, (H, W), params.max_shift, params.upsample_factor, norm=norm)[0]
        own_spec = prep.template_spectrum(aligned_images(frames, members[pos[a:b][own]], moved, order))
        own_spec = (np.float32(K) * spec - own_spec) / np.float32(K - 1)
        out[own] = register_spectra(fs[own], own_spec, (H, W), params.max_shift, params.upsample_factor, norm=norm)[0]
        return out

    return np.concatenate(map_batches(register, len(frames), batch_size(H * W), n_workers))


def _build(frames, usable, prep, params, order, n_workers, progress, label, span=(0.0, 1.0)):
    """Seed and refine a template from a stack of images (single frames or means of runs).

    Parameters
    ----------
    frames : FrameStack of shape (n, H, W)

    Returns
    -------
    template : ndarray of shape (H, W)
    shifts : ndarray of shape (n, 2)
    members : ndarray of shape (k,), int64
        The images averaged in the template: ``template`` is the mean of
        ``aligned_images(frames, members, moved)``.
    moved : ndarray of shape (n, 2), or None
        The shifts the images were aligned by (None: as read).
    """
    template, members = seed_template(frames, usable)
    calm = calm_frames(frames, usable)
    shifts = np.zeros((len(frames), 2))
    if not usable.any():
        return template, shifts, members, None
    moved = None
    H, W = frames.shape[1:]
    rounds = int(params.template_iterations)
    for it in range(max(rounds, 1)):
        checkpoint(progress, span[0] + (span[1] - span[0]) * it / max(rounds, 1),
                   f"template: {label}round {it + 1} of {max(rounds, 1)}")
        shifts = _register_loo(frames, template, members, moved, prep, params, order, n_workers)
        shifts[~usable] = np.median(shifts[usable], axis=0)
        if rounds == 0:
            break
        last = it == rounds - 1
        # Centre the final template on the typical position (see module notes).
        centre = np.median(shifts[usable], axis=0) if last else np.zeros(2)
        moved = shifts - centre
        binned_template = _binned(template[None])[0]
        corr = np.concatenate(map_batches(
            lambda a, b: correlate_rows(_binned(aligned_images(frames, np.arange(a, b), moved, order)), binned_template),
            len(frames), batch_size(H * W), n_workers))
        keep = usable & (corr >= np.median(corr[usable])) if usable.sum() >= 4 else usable
        if (keep & calm).sum() >= 2:
            keep &= calm    # a burst's frames stay out of the template, as they do of the seed
        members = np.flatnonzero(keep)
        template = aligned_mean(frames, members, moved, order, n_workers)
        if last:
            # The sample's shifts against the final template are the last ones minus the
            # centre (to within the refinement's change): no extra registration round.
            shifts = moved
    return template, shifts, members, moved


def _build_halves(frames, usable, n_avg, prep_kw, params, order, n_workers, extra_weight, progress, label="",
                  span=(0.0, 1.0), keep_members=True):
    """Two independent templates from interleaved halves, their spectra, and their average.

    Each half is aligned among itself only, so noise that alignment made coherent within one
    half ("Einstein from noise") is absent from the other: the halves' cross-spectrum holds the
    real structure alone (the gold standard of single-particle microscopy).

    Parameters
    ----------
    frames : FrameStack of shape (n, H, W)

    Returns
    -------
    template : ndarray of shape (H, W)
    shifts : ndarray of shape (n, 2)
    signal : SignalNoise or None
        In single-frame units (None with fewer than 4 usable images).
    members : ndarray of shape (K,), int64
        Images in the template, which is the mean of ``member_images``.
    member_images : ndarray of shape (K, H, W), float32, or None
        Those images as aligned in it (None unless ``keep_members``).
    """
    H, W = frames.shape[1:]
    prep = SpectralPrep((H, W), extra_weight=extra_weight, **prep_kw)
    idx = np.flatnonzero(usable)
    if len(idx) < 4:
        template, shifts, members, moved = _build(frames, usable, prep, params, order, n_workers, progress,
                                                  label, span)
        return template, shifts, None, members, aligned_images(frames, members, moved, order) if keep_members else None
    ia, ib = idx[0::2], idx[1::2]
    mid = 0.5 * (span[0] + span[1])
    fa, fb = frames.subset(ia), frames.subset(ib)
    ta, sa, ma, moved_a = _build(fa, np.ones(len(ia), bool), prep, params, order, n_workers, progress,
                                 label + "first half, ", (span[0], mid))
    tb, sb, mb, moved_b = _build(fb, np.ones(len(ib), bool), prep, params, order, n_workers, progress,
                                 label + "second half, ", (mid, span[1]))
    ka, kb = len(ma), len(mb)
    d = register_spectra(prep.frame_spectra(prep.flatten(tb[None].astype(np.float32))), prep.template_spectrum(ta),
                         (H, W), params.max_shift, params.upsample_factor)[0][0]
    tb = shift_frames(tb, d, order=order)
    sig = snr.measure(ta, tb, ka, kb, int(prep_kw["margin"]))
    signal = snr.SignalNoise(sig.freq, sig.density, sig.sigma * float(np.sqrt(n_avg)), float((ka + kb) * n_avg))
    template = (ka * ta + kb * tb) / (ka + kb)
    shifts = np.zeros((len(frames), 2))
    shifts[ia] = sa
    shifts[ib] = sb + d
    shifts[~usable] = np.median(shifts[usable], axis=0)
    members = np.concatenate([ia[ma], ib[mb]])
    member_images = None
    if keep_members:
        member_images = np.concatenate([aligned_images(fa, ma, moved_a, order),
                                        shift_frames(aligned_images(fb, mb, moved_b, order),
                                                     np.broadcast_to(d, (kb, 2)), order=order)])
    return template, shifts, signal, members, member_images


def _choose_highpass(signal, shape, prep_kw) -> float:
    """The narrowest high-pass among sigma, 2 sigma, 4 sigma with which single frames still register.

    A high-pass keeps broad brightness changes (haze, bleaching of a vignetted field, a whole
    cell lighting up) from steering the shift, but it also discards the broad structure that
    carries most of the signal of a noisy movie. Where the predicted single-frame precision or
    peak SNR misses its target at every width, the high-pass is turned off (0) and the movie
    is registered through bins of frames as before.
    """
    sigma = float(prep_kw["highpass_sigma"])
    for s in (sigma, 2.0 * sigma, 4.0 * sigma):
        weight = SpectralPrep(shape, extra_weight=signal.wiener(shape), **dict(prep_kw, highpass_sigma=s)).weight
        prec = float(signal.precision(shape, weight, 1.0).max())
        if snr.choose_bin(prec, signal.peak_snr(shape, weight, 1.0), TARGET_PRECISION, MIN_PEAK_SNR, 2) == 1:
            return s
    return 0.0


def build_template(movie, params, *, order: int = 3, n_workers: int = 1, progress=None) -> TemplateResult:
    """Build the registration template from a sample of a movie, and choose the temporal bin.

    Parameters
    ----------
    movie : array_like of shape (T, H, W)
        Anything with ``.shape`` and slicing ``movie[a:b]``.
    params : MotionParams
        ``temporal_bin`` 0 chooses the bin from the predicted precision of single frames.
    order : {1, 3}
        Interpolation order for shifting the sample.
    n_workers : int
    progress : Progress, optional
        Receives fractions 0 to 1 of this step.

    Returns
    -------
    TemplateResult
    """
    T, H, W = (int(s) for s in movie.shape)
    sample = sample_indices(T, params.template_frames)
    checkpoint(progress, 0.0, "template: reading sample")
    stack, unusable = compact_sample(read_frames(movie, sample))
    frames = FrameStack(stack)
    usable = ~unusable
    requested = int(getattr(params, "temporal_bin", 0))
    if not usable.any():
        template, _ = seed_template(frames, usable)
        return TemplateResult(template.astype(np.float32), sample, np.zeros((len(sample), 2)), 0.0, None,
                              temporal_bin=max(1, min(requested, T)))
    background = None
    if params.highpass_sigma > 0:
        background = static_background(mean_image(frames, np.flatnonzero(usable)))
    # First without the high-pass: on a noisy movie a high-passed sample aligns badly, and the
    # halves' spectra (which decide the high-pass and the bins) would then count misalignment
    # as noise.
    prep_kw = dict(taper_fraction=params.taper_fraction, highpass_sigma=0.0,
                   margin=WINDOW_MARGIN, background=None)
    template, shifts, signal, _, _ = _build_halves(frames, usable, 1.0, prep_kw, params, order, n_workers, None,
                                                   progress, span=(0.05, 0.3), keep_members=False)
    member_bins = member_images = None
    prec1 = prec = np.full(2, np.nan)
    if signal is not None and params.highpass_sigma > 0:
        hp = _choose_highpass(signal, (H, W), dict(prep_kw, highpass_sigma=params.highpass_sigma))
        if hp > 0:
            # Single frames register through the high-pass: rebuild the template with it, so
            # that frames caught in a burst of activity do not blur it either.
            prep_kw = dict(prep_kw, highpass_sigma=hp, background=background)
            template, shifts, signal, _, _ = _build_halves(frames, usable, 1.0, prep_kw, params, order, n_workers,
                                                           None, progress, span=(0.3, 0.5), keep_members=False)
    if signal is not None:
        weight = SpectralPrep((H, W), extra_weight=signal.wiener((H, W)), **prep_kw).weight
        prec1 = prec = signal.precision((H, W), weight, 1.0)
    if requested >= 1:
        n = min(requested, T)
    elif signal is None:
        n = 1
    else:
        weight = SpectralPrep((H, W), extra_weight=signal.wiener((H, W)), **prep_kw).weight
        n = snr.choose_bin(float(prec1.max()), signal.peak_snr((H, W), weight, 1.0), TARGET_PRECISION,
                           MIN_PEAK_SNR, max(1, min(MAX_BIN, T // MIN_BINS)))
    if n > 1:
        del frames, stack
        # A template from averaged frames is cleaner, so its spectra may show that fewer frames
        # per bin suffice: one second look (never more frames than the first choice).
        for attempt in range(2):
            checkpoint(progress, 0.5 + 0.2 * attempt, f"template: averaging bins of {n} frames")
            bins = template_bins(T, n, params.template_frames)
            means, counts = read_bins(movie, bins, n)
            means, flat, _ = clean_frames(means)
            busable = ~flat & (counts > 0)
            if not busable.any():
                break
            n_avg = float(counts[busable].mean())
            first = signal
            if first is not None:
                # Template noise of the binned build: about half the bins, n frames each.
                first = snr.SignalNoise(first.freq, first.density, first.sigma,
                                        max(1.0, busable.sum() // 2) * n_avg)
            template, shifts, sig_b, members, member_images = _build_halves(
                FrameStack(means), busable, n_avg, prep_kw, params, order, n_workers,
                None if first is None else first.wiener((H, W)), progress, f"bins of {n}, ",
                (0.5 + 0.2 * attempt, 0.7 + 0.2 * attempt))
            usable = busable
            signal = sig_b if sig_b is not None else first
            sample = np.minimum(bins * n + (n - 1) // 2, T - 1)
            member_bins = bins[members]
            if signal is None:
                break
            weight = SpectralPrep((H, W), extra_weight=signal.wiener((H, W)), **prep_kw).weight
            prec1 = signal.precision((H, W), weight, 1.0)
            prec = signal.precision((H, W), weight, float(n))
            if requested >= 1 or attempt == 1:
                break
            again = snr.choose_bin(float(prec1.max()), signal.peak_snr((H, W), weight, 1.0), TARGET_PRECISION,
                                   MIN_PEAK_SNR, n)
            if again >= n:
                break
            n = again
            if n == 1:
                # Single frames suffice after all: keep this template, register frames.
                member_bins = member_images = None
                prec = prec1
                break
    spread = float(np.abs(shifts[usable] - np.median(shifts[usable], axis=0)).max())
    checkpoint(progress, 1.0, "template: done")
    return TemplateResult(template.astype(np.float32), sample, shifts, spread, prep_kw["background"],
                          temporal_bin=int(n), highpass_sigma=float(prep_kw["highpass_sigma"]), signal=signal, precision=prec, precision_single=prec1,
                          member_bins=member_bins, member_images=member_images)

"""``estimate_motion``: template, then one chunked pass that registers, corrects and measures.

The pass reads the movie ``chunk_frames`` frames at a time (the next chunk is read in the
background while the current one is computed), splits each chunk into batches spread over
threads (FFTs, matrix DFTs and the numba warps all release the GIL), and keeps only per-frame
numbers, two running sums (the mean images before and after) and small evenly spaced samples
for the residual and principal-component metrics. Peak memory is a few chunks whatever the
movie's length.

References
----------
Guizar-Sicairos M., Thurman S.T., Fienup J.R. (2008) Efficient subpixel image registration
algorithms. Optics Letters 33(2):156-158.
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. J Neurosci Methods 291:83-94.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from cnmf_gui.engine.motion import metrics as qc
from cnmf_gui.engine.motion.piecewise import PatchRegistrar, make_patch_grid
from cnmf_gui.engine.motion.prep import SpectralPrep, clean_frames
from cnmf_gui.engine.motion.rigid import register_spectra
from cnmf_gui.engine.motion.template import build_template, sample_indices
from cnmf_gui.engine.motion.parallel import batch_size, default_workers, map_batches
from cnmf_gui.engine.motion.warp import ORDERS, shift_frames, warp_frames
from cnmf_gui.errors import ParameterError, UserError
from cnmf_gui.params import MotionParams
from cnmf_gui.progress import SubProgress, checkpoint
from cnmf_gui.results import MotionResult

RESIDUAL_SAMPLE = 200
PC_SAMPLE = 400
PC_COMPONENTS = 3


def _motion_params(params) -> MotionParams:
    if params is None:
        return MotionParams()
    if isinstance(params, MotionParams):
        return params
    if hasattr(params, "motion") and isinstance(params.motion, MotionParams):
        return params.motion
    if isinstance(params, dict):
        return MotionParams.from_dict(params)
    raise ParameterError(f"motion parameters must be MotionParams, got {type(params).__name__}")


def check_movie(movie) -> tuple[int, int, int]:
    """(T, H, W) of a movie, or a one-line UserError naming what is wrong."""
    shape = getattr(movie, "shape", None)
    if shape is None or len(shape) != 3:
        raise UserError(f"motion correction needs a movie of shape (T, H, W), got shape {shape}")
    T, H, W = (int(s) for s in shape)
    if T < 1:
        raise UserError("motion correction needs a movie with at least 1 frame, got 0 frames")
    if H < 4 or W < 4:
        raise UserError(f"motion correction needs frames of at least 4 x 4 px, got {H} x {W}")
    return T, H, W


class _Pass:
    """State shared by the batches of the correction pass."""

    def __init__(self, shape, template, p: MotionParams, spread: float, n_workers: int, background=None):
        H, W = shape
        self.p = p
        self.shape = shape
        self.order = ORDERS[p.interpolation]
        self.n_workers = n_workers
        margin = int(min(math.ceil(spread) + 1, math.ceil(p.max_shift)))
        self.prep = SpectralPrep(shape, p.taper_fraction, p.highpass_sigma, margin=margin,
                                 background=background)
        self.template = template
        self.tspec = self.prep.template_spectrum(template)
        self.crop = qc.interior(shape, margin)
        self.pc_bin = qc.pc_bin_factor(shape)
        self.registrar = None
        if p.pw_rigid:
            grid = make_patch_grid(shape, p.patch_size, p.patch_overlap)
            self.registrar = PatchRegistrar(self.prep.flatten(template), grid, p.max_deviation_rigid,
                                            p.upsample_factor, p.taper_fraction, p.highpass_sigma)

    def register(self, frames: np.ndarray):
        """Rigid (and patch) shifts of clean frames: (n, 2), (n,) clamped, (n, gy, gx, 2) or None."""
        flat = self.prep.flatten(frames)
        spec = self.prep.frame_spectra(flat)
        shifts, clamped, _ = register_spectra(spec, self.tspec, self.shape, self.p.max_shift,
                                              self.p.upsample_factor)
        pw = self.registrar.estimate(flat, shifts) if self.registrar is not None else None
        return shifts, clamped, pw

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
        res, _, pw = self.register(frames)
        pw_rms = None if pw is None else np.sqrt((pw.astype(np.float64) ** 2).sum(axis=-1).mean(axis=(1, 2)))
        return res, pw_rms

    def batch(self, raw: np.ndarray, out: np.ndarray, residual_at: np.ndarray, pc_at: np.ndarray) -> dict:
        """Register, correct and measure a batch of raw frames; corrected frames go to ``out``.

        ``residual_at`` and ``pc_at`` are batch-local indices of frames to keep for the
        residual and principal-component metrics.
        """
        clean, unusable, nonfinite = clean_frames(raw)
        shifts, clamped, pw = self.register(clean)
        # Frames without content have no position: their peak is noise. Hold them still here;
        # their shifts are interpolated from their neighbours after the pass.
        shifts[unusable] = 0.0
        clamped[unusable] = False
        if pw is not None:
            pw[unusable] = 0.0
        self.apply(clean, shifts, pw, out=out)
        good = ~unusable
        sum_before = np.zeros(self.shape)
        sum_after = np.zeros(self.shape)
        res = {
            "shifts": shifts, "clamped": clamped, "pw": pw, "unusable": unusable, "nonfinite": nonfinite,
            "corr_before": qc.frame_correlations(clean, self.template, self.crop, accumulate=sum_before,
                                                 include=good),
            "corr_after": qc.frame_correlations(out, self.template, self.crop, accumulate=sum_after,
                                                include=good),
            "sum_before": sum_before, "sum_after": sum_after,
        }
        res["residual"], res["residual_pw"] = self.residual(out[residual_at], good[residual_at])
        if self.p.pc_metric:
            res["pc_before"] = qc.bin_frames(clean[pc_at], self.pc_bin)
            res["pc_after"] = qc.bin_frames(out[pc_at], self.pc_bin)
        for i in np.flatnonzero(nonfinite):
            # The output keeps the recording's NaNs (they are the truth); the metrics above used
            # the NaN-filled copy.
            self.apply(np.asarray(raw[i:i + 1], np.float32), shifts[i:i + 1],
                       None if pw is None else pw[i:i + 1], out=out[i:i + 1])
        return res


def estimate_motion(movie, params=None, *, progress=None, on_chunk=None) -> MotionResult:
    """Estimate rigid (and optionally piecewise-rigid) motion of a movie, with QC metrics.

    Parameters
    ----------
    movie : array_like of shape (T, H, W)
        A NumPy array or any object with ``.shape`` and slicing ``movie[a:b]`` (e.g. a
        :class:`cnmf_gui.io` Movie); read in chunks of ``params.chunk_frames``.
    params : MotionParams, PipelineParams or dict, optional
        Defaults when None.
    progress : Progress, optional
        Receives fractions and messages; cancelling raises :class:`~cnmf_gui.errors.Cancelled`.
    on_chunk : callable(start, frames), optional
        Called in order with each corrected chunk, ``frames`` of shape (n, H, W), float32 (e.g.
        to write the corrected movie in the same pass). Frames are corrected with the shifts
        estimated in the pass; frames without usable content are passed through shifted by
        whatever was estimated for them (they are all NaN or constant, so it does not matter).

    Returns
    -------
    MotionResult
        ``shifts`` (T, 2) [dy, dx] applied to each raw frame; ``template`` (H, W);
        ``shifts_pw`` (T, gy, gx, 2) and ``patch_centers`` (gy, gx, 2) when ``pw_rigid``;
        ``clamped`` the number of frames whose shift was limited by ``max_shift``; ``metrics``:

        - ``corr_before``, ``corr_after`` (T,): correlation of each frame with the template;
        - ``crispness_before``, ``crispness_after``: gradient norm of the mean image;
        - ``mean_before``, ``mean_after`` (H, W): mean images (usable frames only);
        - ``bad_frames`` (T,) bool; ``unusable_frames`` (T,) bool (all NaN or constant: their
          shifts are interpolated from their neighbours); ``nonfinite_frames`` (T,) bool;
          ``clamped_frames`` (T,) bool;
        - ``residual_frames`` (n,) and ``residual_shifts`` (n, 2): shifts of corrected frames
          re-estimated against the template on an even sample, ``residual_rms`` (px); with
          ``pw_rigid`` also ``residual_pw_rms`` (px, over patches);
        - with ``pc_metric``: ``pc_shift_before``, ``pc_shift_after`` (3,): displacement (px)
          along each leading principal component of an even sample of frames (NaN where the
          movie has too few frames);
        - ``template_sample`` (n,): the frames the template was built from; ``margin`` (px):
          the border left out of the correlations; ``interpolation_order`` (1 or 3).

    Raises
    ------
    UserError
        Not a (T, H, W) movie, no frames, or frames smaller than 4 x 4 px.
    ParameterError
        ``motion.patch_size`` larger than the frame (with ``pw_rigid``).

    References
    ----------
    Guizar-Sicairos M., Thurman S.T., Fienup J.R. (2008) Efficient subpixel image registration
    algorithms. Optics Letters 33(2):156-158.
    Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
    motion correction of calcium imaging data. J Neurosci Methods 291:83-94.
    """
    p = _motion_params(params)
    T, H, W = check_movie(movie)
    if p.pw_rigid:
        make_patch_grid((H, W), p.patch_size, p.patch_overlap)  # a bad patch size fails before any work
    # Our threads each call BLAS (matrix DFTs); BLAS's own threads on top oversubscribe the
    # cores and were 5-10x slower on 2 cores.
    with threadpool_limits(limits=1, user_api="blas"):
        return _estimate(movie, p, (T, H, W), progress, on_chunk)


def _estimate(movie, p: MotionParams, shape, progress, on_chunk) -> MotionResult:
    T, H, W = shape
    n_workers = p.n_workers or default_workers()
    checkpoint(progress, 0.0, "motion: template")
    tres = build_template(movie, p, order=ORDERS[p.interpolation], n_workers=n_workers,
                          progress=SubProgress(progress, 0.0, 0.1, "motion"))
    state = _Pass((H, W), tres.template, p, tres.spread, n_workers, tres.background)

    shifts = np.zeros((T, 2), np.float32)
    shifts_pw = None
    if state.registrar is not None:
        gy, gx = state.registrar.grid.shape
        shifts_pw = np.zeros((T, gy, gx, 2), np.float32)
    clamped = np.zeros(T, bool)
    unusable = np.zeros(T, bool)
    nonfinite = np.zeros(T, bool)
    corr_before = np.zeros(T, np.float32)
    corr_after = np.zeros(T, np.float32)
    sum_before = np.zeros((H, W), np.float64)
    sum_after = np.zeros((H, W), np.float64)
    residual_at = sample_indices(T, RESIDUAL_SAMPLE)
    residual_shifts, residual_pw = [], []
    pc_at = sample_indices(T, PC_SAMPLE)
    pc_bin = qc.pc_bin_factor((H, W))
    pc_before, pc_after = [], []

    chunk = max(1, int(p.chunk_frames))
    batch = max(1, min(chunk, batch_size(H * W)))
    starts = list(range(0, T, chunk))

    def read(s):
        return np.asarray(movie[s:min(s + chunk, T)])

    with ThreadPoolExecutor(max_workers=1) as reader, ThreadPoolExecutor(max_workers=n_workers) as pool:
        pending = reader.submit(read, starts[0])
        for ci, start in enumerate(starts):
            raw = pending.result()
            if ci + 1 < len(starts):
                pending = reader.submit(read, starts[ci + 1])  # read ahead while we compute
            n = min(chunk, T - start)
            stop = start + n
            if raw.shape != (n, H, W):
                raise UserError(f"the movie returned frames of shape {raw.shape} for frames {start}:{stop}, "
                                f"expected ({n}, {H}, {W})")
            corrected = np.empty((n, H, W), np.float32)

            def work(a, b, raw=raw, corrected=corrected, start=start):
                ra = residual_at[(residual_at >= start + a) & (residual_at < start + b)] - start - a
                pa = pc_at[(pc_at >= start + a) & (pc_at < start + b)] - start - a
                return state.batch(raw[a:b], corrected[a:b], ra, pa)

            results = map_batches(work, n, batch, n_workers, pool=pool)
            sl = slice(start, stop)
            shifts[sl] = np.concatenate([r["shifts"] for r in results])
            clamped[sl] = np.concatenate([r["clamped"] for r in results])
            corr_before[sl] = np.concatenate([r["corr_before"] for r in results])
            corr_after[sl] = np.concatenate([r["corr_after"] for r in results])
            unusable[sl] = np.concatenate([r["unusable"] for r in results])
            nonfinite[sl] = np.concatenate([r["nonfinite"] for r in results])
            if shifts_pw is not None:
                shifts_pw[sl] = np.concatenate([r["pw"] for r in results])
            for r in results:
                sum_before += r["sum_before"]
                sum_after += r["sum_after"]
                residual_shifts.append(r["residual"])
                if r["residual_pw"] is not None:
                    residual_pw.append(r["residual_pw"])
                if p.pc_metric:
                    pc_before.append(r["pc_before"])
                    pc_after.append(r["pc_after"])
            if on_chunk is not None:
                on_chunk(start, corrected)
            checkpoint(progress, 0.1 + 0.85 * stop / T, f"motion: frame {stop} of {T}")
            del raw, corrected, results

    checkpoint(progress, 0.95, "motion: metrics")
    usable = ~unusable
    if usable.any() and unusable.any():
        # Frames with no content carry no position: take it from their neighbours in time.
        t_all = np.arange(T)
        for ax in range(2):
            shifts[unusable, ax] = np.interp(t_all[unusable], t_all[usable], shifts[usable, ax])
        if shifts_pw is not None:
            nearest = np.searchsorted(t_all[usable], t_all[unusable]).clip(0, usable.sum() - 1)
            shifts_pw[unusable] = shifts_pw[t_all[usable][nearest]]
    corr_before[unusable] = 0.0
    corr_after[unusable] = 0.0
    n_good = max(int(usable.sum()), 1)
    mean_before = (sum_before / n_good).astype(np.float32)
    mean_after = (sum_after / n_good).astype(np.float32)
    cy, cx = state.crop
    m = {
        "corr_before": corr_before,
        "corr_after": corr_after,
        "crispness_before": qc.crispness(mean_before[cy, cx]),
        "crispness_after": qc.crispness(mean_after[cy, cx]),
        "mean_before": mean_before,
        "mean_after": mean_after,
        "bad_frames": qc.bad_frames(corr_after.astype(np.float64), usable, p.bad_frame_threshold),
        "unusable_frames": unusable,
        "nonfinite_frames": nonfinite,
        "clamped_frames": clamped,
        "template_sample": tres.sample,
        "margin": float(state.prep.margin[0]),
        "interpolation_order": float(state.order),
    }
    # Residual motion of an even sample of corrected frames, measured in the pass.
    m["residual_frames"] = residual_at[usable[residual_at]]
    res = np.concatenate(residual_shifts) if residual_shifts else np.zeros((0, 2))
    m["residual_shifts"] = res.astype(np.float32)
    m["residual_rms"] = float(np.sqrt((res ** 2).sum(axis=1).mean())) if len(res) else 0.0
    if state.registrar is not None:
        pw_rms = np.concatenate(residual_pw) if residual_pw else np.zeros(0)
        m["residual_pw_rms"] = float(np.sqrt((pw_rms ** 2).mean())) if len(pw_rms) else 0.0
    if p.pc_metric:
        m["pc_shift_before"] = qc.pc_motion(np.concatenate(pc_before), n_components=PC_COMPONENTS,
                                            bin_factor=pc_bin)
        m["pc_shift_after"] = qc.pc_motion(np.concatenate(pc_after), n_components=PC_COMPONENTS,
                                           bin_factor=pc_bin)
    checkpoint(progress, 1.0, "motion: done")
    return MotionResult(
        shifts=shifts, template=tres.template, shifts_pw=shifts_pw,
        patch_centers=None if state.registrar is None else state.registrar.grid.centers.astype(np.float32),
        metrics=m, clamped=int(clamped.sum()))

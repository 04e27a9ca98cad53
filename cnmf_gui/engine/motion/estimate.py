"""``estimate_motion``: template, then one chunked pass that registers, corrects and measures.

Noisy movies (see :mod:`~cnmf_gui.engine.motion.snr` and :mod:`~cnmf_gui.engine.motion.binning`)
are registered through means of bins of consecutive frames, with shifts interpolated to
frames; peaks that do not stand out of the noise are not trusted (:mod:`~cnmf_gui.engine.motion.framepass`).

The pass reads the movie ``chunk_frames`` frames at a time (fewer for large frames; the next chunk
is read in the background while the current one is computed), splits each chunk into batches spread
over threads (FFTs, matrix DFTs and the numba warps all release the GIL), and keeps only per-frame
numbers, two running sums (the mean images before and after) and small evenly spaced samples for the
residual and principal-component metrics. Peak memory is a few chunks whatever the movie's length.

References
----------
Guizar-Sicairos M., Thurman S.T., Fienup J.R. (2008) Efficient subpixel image registration
algorithms. Optics Letters 33(2):156-158.
Pnevmatikakis E.A., Giovannucci A. (2017) NoRMCorre: an online algorithm for piecewise rigid
motion correction of calcium imaging data. J Neurosci Methods 291:83-94.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_limits

from cnmf_gui.engine.motion import consistency
from cnmf_gui.engine.motion import metrics as qc
from cnmf_gui.engine.motion.binning import bin_centres, bin_means
from cnmf_gui.engine.motion.framepass import FramePass, fill_unreliable, interpolate_to_frames, last_trusted
from cnmf_gui.engine.motion.piecewise import make_patch_grid
from cnmf_gui.engine.motion.prep import clean_frames
from cnmf_gui.engine.motion.template import build_template, sample_indices
from cnmf_gui.engine.motion.parallel import batch_size, default_workers, map_batches
from cnmf_gui.engine.motion.warp import ORDERS
from cnmf_gui.engine.streaming import CHUNK_BYTES
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
        - ``peak_snr`` (T,): how far each frame's correlation peak stands above the median of
          its search window, in standard deviations of the noise's correlation (of its bin's
          peak when frames are binned); ``location_sd`` (T,): sd (px) of the peak's position
          from the noise of the correlation's slope and the peak's curvature;
          ``unreliable_frames`` (T,) bool: peak SNR below 8 or location sd above 0.5 px, or a
          blank or flashed frame (its brightness jumps away from both neighbours), so the shift
          was interpolated from trusted neighbours (or 0) instead (also in ``bad_frames``);
          ``unreliable_fraction`` of usable frames; ``reestimated_frames`` (T,) bool: shifts
          that disagreed with both neighbours in time and were searched again near them
          (:mod:`~cnmf_gui.engine.motion.consistency`); ``flagged_frames`` (T,) bool and
          ``n_flagged``: frames to look at (unusable, unreliable, or disagreeing with their
          neighbours with no trusted peak near them);
          ``template_trusted_fraction``: with bins, the share of the template's own bins
          trusted against the template without themselves (below 0.5, no frame is trusted:
          the movie cannot be registered and is left as it is; NaN with single frames);
        - ``temporal_bin``: frames averaged per registered image (1: single frames; chosen from
          the SNR unless ``params.temporal_bin`` is set); ``predicted_precision`` (2,) and
          ``predicted_precision_single`` (2,): predicted shift sd (px, [row, col]) at that
          bin and for single frames (NaN when the sample is too small); ``noise_sigma``;
        - ``template_sample`` (n,): the frames the template was built from; ``margin`` (px):
          the border left out of the correlations; ``interpolation_order`` (1 or 3);
          ``highpass_sigma`` (px): the high-pass registered with (``params.highpass_sigma``,
          widened or 0 where single frames are too noisy for it).

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
    state = FramePass((H, W), tres, p, n_workers)
    nbin = state.temporal_bin

    shifts = np.zeros((T, 2), np.float32)
    shifts_pw = None
    if state.registrar is not None:
        gy, gx = state.registrar.grid.shape
        shifts_pw = np.zeros((T, gy, gx, 2), np.float32)
    clamped = np.zeros(T, bool)
    unusable = np.zeros(T, bool)
    nonfinite = np.zeros(T, bool)
    peak_snr = np.zeros(T, np.float32)
    location_sd = np.zeros(T, np.float32)
    unreliable = np.zeros(T, bool)
    corr_before = np.zeros(T, np.float32)
    corr_after = np.zeros(T, np.float32)
    sum_before = np.zeros((H, W), np.float64)
    sum_after = np.zeros((H, W), np.float64)
    residual_at = sample_indices(T, RESIDUAL_SAMPLE)
    residual_shifts, residual_pw = [], []
    pc_at = sample_indices(T, PC_SAMPLE)
    pc_bin = qc.pc_bin_factor((H, W))
    pc_before, pc_after = [], []
    anchor = None
    context = None                       # trusted shifts at the end of the previous chunk
    prev_bright, prev_bright_ok = np.zeros(0), np.zeros(0, bool)
    reestimated = np.zeros(T, bool)
    disagree = np.zeros(T, bool)

    chunk = max(1, min(int(p.chunk_frames), 2 * CHUNK_BYTES // (4 * H * W)))  # a few copies live: bound bytes
    if nbin > 1:
        chunk = -(-chunk // nbin) * nbin   # chunks hold whole bins
    batch = max(1, min(chunk, batch_size(H * W)))
    starts = list(range(0, T, chunk))

    def span(s):
        """Frames read for the chunk at s: with bins, one bin more on each side (for interpolation)."""
        if nbin == 1:
            return s, min(s + chunk, T)
        return max(s - nbin, 0), min(s + chunk + nbin, T)

    def read(s):
        lo, hi = span(s)
        return np.asarray(movie[lo:hi])

    with ThreadPoolExecutor(max_workers=1) as reader, ThreadPoolExecutor(max_workers=n_workers) as pool:
        pending = reader.submit(read, starts[0])
        for ci, start in enumerate(starts):
            block = pending.result()
            if ci + 1 < len(starts):
                pending = reader.submit(read, starts[ci + 1])  # read ahead while we compute
            n = min(chunk, T - start)
            stop = start + n
            lo, hi = span(start)
            if block.shape != (hi - lo, H, W):
                raise UserError(f"the movie returned frames of shape {block.shape} for frames {lo}:{hi}, "
                                f"expected ({hi - lo}, {H}, {W})")
            raw = block[start - lo:start - lo + n]
            times = np.arange(start, stop, dtype=float)
            if nbin == 1:
                regs = map_batches(lambda a, b, raw=raw: state.register(raw[a:b]), n, batch, n_workers, pool=pool)
                c_shifts = np.concatenate([r["shifts"] for r in regs])
                c_pw = np.concatenate([r["pw"] for r in regs]) if shifts_pw is not None else None
                c_unusable = np.concatenate([r["unusable"] for r in regs])
                c_snr = np.concatenate([r["peak_snr"] for r in regs])
                c_loc = np.concatenate([r["location_sd"] for r in regs])
                c_clamped = np.concatenate([r["clamped"] for r in regs])
                c_median = np.concatenate([r["median"] for r in regs])
                c_bright = np.concatenate([r["brightness"] for r in regs])
                c_untrusted = ~c_unusable & state.untrusted(c_snr, c_loc)
                # Blank or flashed frames: flagged, placed by their neighbours.
                c_jump = ~c_unusable & consistency.brightness_outliers(
                    np.concatenate([prev_bright, c_bright]), np.concatenate([prev_bright_ok, ~c_unusable]))[
                        len(prev_bright):]
                c_untrusted |= c_jump
                # Shifts that disagree with both neighbours: searched again near them, or flagged.
                c_re, c_dis = consistency.settle_outliers(state, raw, c_shifts, c_pw, c_snr, c_loc, c_median,
                                                          ~c_unusable & ~c_untrusted, context)
                c_flag = c_jump | c_dis
                context = consistency.context_tail(c_shifts, ~c_unusable & ~c_untrusted & ~c_dis, context)
                keep = np.flatnonzero(~c_unusable)[-1:]
                prev_bright, prev_bright_ok = c_bright[keep], np.ones(len(keep), bool)
                # Untrusted peaks take their trusted neighbours' shifts before anything is corrected.
                fill_unreliable(c_shifts, c_pw, ~c_unusable & ~c_untrusted, times, anchor)
                anchor = last_trusted(c_shifts, ~c_unusable & ~c_untrusted, times, anchor)
                cleaned = [(r["clean"], r["unusable"], r["nonfinite"]) for r in regs]
                del regs
            else:
                bins = np.arange(lo // nbin, -(-hi // nbin))
                means, counts = bin_means(block, nbin)
                bres = map_batches(lambda a, b: state.register_bins(means[a:b], counts[a:b], bins[a:b]),
                                   len(bins), max(1, -(-len(bins) // n_workers)), n_workers, pool=pool)
                b_shifts = np.concatenate([r["shifts"] for r in bres])
                b_pw = np.concatenate([r["pw"] for r in bres]) if shifts_pw is not None else None
                b_unusable = np.concatenate([r["unusable"] for r in bres])
                b_snr = np.concatenate([r["peak_snr"] for r in bres])
                b_loc = np.concatenate([r["location_sd"] for r in bres])
                b_clamped = np.concatenate([r["clamped"] for r in bres])
                b_trusted = ~b_unusable & ~state.untrusted(b_snr, b_loc)
                b_times = bin_centres(bins, nbin, T)
                fill_unreliable(b_shifts, b_pw, b_trusted, b_times, anchor)
                core = (bins >= start // nbin) & (bins < -(-stop // nbin))
                anchor = last_trusted(b_shifts[core], b_trusted[core], b_times[core], anchor)
                # Unusable bins hold no position: leave them out of the interpolation.
                use = ~b_unusable if (~b_unusable).any() else np.ones(len(bins), bool)
                c_shifts = interpolate_to_frames(times, b_times[use], b_shifts[use])
                c_pw = None if b_pw is None else interpolate_to_frames(times, b_times[use], b_pw[use])
                owner = np.arange(start, stop) // nbin - bins[0]
                c_snr = b_snr[owner]
                c_loc = b_loc[owner]
                c_untrusted = ~b_unusable[owner] & ~b_trusted[owner]
                c_clamped = b_clamped[owner]
                c_re = np.zeros(n, bool)
                c_flag = np.zeros(n, bool)
                cleaned = None
                del means, bres
            corrected = np.empty((n, H, W), np.float32)

            def finish(a, b, raw=raw, corrected=corrected, start=start, c_shifts=c_shifts, c_pw=c_pw,
                       cleaned=cleaned):
                # Single frames were cleaned for registration in the same batches: reuse them.
                clean, unus, nonf = clean_frames(raw[a:b]) if cleaned is None else cleaned[a // batch]
                reg = {"clean": clean, "shifts": c_shifts[a:b], "pw": None if c_pw is None else c_pw[a:b],
                       "unusable": unus, "nonfinite": nonf}
                ra = residual_at[(residual_at >= start + a) & (residual_at < start + b)] - start - a
                pa = pc_at[(pc_at >= start + a) & (pc_at < start + b)] - start - a
                out = state.finish(raw[a:b], reg, corrected[a:b], ra if nbin == 1 else None, pa)
                out["unusable"], out["nonfinite"] = unus, nonf
                return out

            results = map_batches(finish, n, batch, n_workers, pool=pool)
            sl = slice(start, stop)
            shifts[sl] = c_shifts
            if shifts_pw is not None:
                shifts_pw[sl] = c_pw
            clamped[sl] = c_clamped
            unusable[sl] = np.concatenate([r["unusable"] for r in results])
            nonfinite[sl] = np.concatenate([r["nonfinite"] for r in results])
            peak_snr[sl] = c_snr
            location_sd[sl] = c_loc
            unreliable[sl] = c_untrusted & ~unusable[sl]
            reestimated[sl] = c_re
            disagree[sl] = c_flag
            corr_before[sl] = np.concatenate([r["corr_before"] for r in results])
            corr_after[sl] = np.concatenate([r["corr_after"] for r in results])
            for r in results:
                sum_before += r["sum_before"]
                sum_after += r["sum_after"]
                residual_shifts.append(r["residual"])
                if r["residual_pw"] is not None:
                    residual_pw.append(r["residual_pw"])
                if p.pc_metric:
                    pc_before.append(r["pc_before"])
                    pc_after.append(r["pc_after"])
            if nbin > 1:
                # Residual motion of the corrected bins holding sampled frames: single frames
                # are too noisy to re-register.
                picked = np.unique(residual_at[(residual_at >= start) & (residual_at < stop)] // nbin)
                if len(picked):
                    bm, bc = zip(*[bin_means(corrected[max(k * nbin - start, 0):min((k + 1) * nbin, stop) - start],
                                             nbin) for k in picked])
                    bm = np.concatenate(bm)
                    res_b, res_pw = state.residual(bm, np.concatenate(bc) > 0)
                    residual_shifts.append(res_b)
                    if res_pw is not None:
                        residual_pw.append(res_pw)
            if on_chunk is not None:
                on_chunk(start, corrected)
            checkpoint(progress, 0.1 + 0.85 * stop / T, f"motion: frame {stop} of {T}")
            del raw, corrected, results, block, cleaned

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
    # What the user should look at: frames without content, shifts not trusted, blank or
    # flashed frames and shifts that disagreed with their neighbours and could not be settled.
    flagged = unusable | unreliable | disagree
    m = {
        "corr_before": corr_before,
        "corr_after": corr_after,
        "crispness_before": qc.crispness(mean_before[cy, cx]),
        "crispness_after": qc.crispness(mean_after[cy, cx]),
        "mean_before": mean_before,
        "mean_after": mean_after,
        "bad_frames": qc.bad_frames(corr_after.astype(np.float64), usable, p.bad_frame_threshold) | flagged,
        "unusable_frames": unusable,
        "nonfinite_frames": nonfinite,
        "clamped_frames": clamped,
        "peak_snr": peak_snr,
        # Undefined (NaN) for frames without content and peaks with no curvature.
        "location_sd": np.where(np.isfinite(location_sd), location_sd, np.nan).astype(np.float32),
        "unreliable_frames": unreliable,
        "reestimated_frames": reestimated,
        "flagged_frames": flagged,
        "n_flagged": float(flagged.sum()),
        "unreliable_fraction": float(unreliable.sum() / n_good),
        "template_trusted_fraction": float(state.member_trust),
        "temporal_bin": float(nbin),
        "predicted_precision": np.asarray(tres.precision, np.float32),
        "predicted_precision_single": np.asarray(tres.precision_single, np.float32),
        "noise_sigma": float(state.sigma),
        "template_sample": tres.sample,
        "margin": float(state.prep.margin[0]),
        "interpolation_order": float(state.order),
        "highpass_sigma": float(state.highpass_sigma),
    }
    # Residual motion of an even sample of corrected frames, measured in the pass.
    m["residual_frames"] = residual_at[usable[residual_at]] if nbin == 1 else np.unique(residual_at // nbin) * nbin
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

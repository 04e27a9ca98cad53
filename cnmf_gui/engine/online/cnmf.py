"""Online CNMF (OnACID): initialise with the batch pipeline, then take frames one at a time.

:class:`OnlineCNMF` runs the batch pipeline (:func:`cnmf_gui.engine.pipeline.run_pipeline`) on
the first ``online.init_frames`` frames, then for every further frame: rigid motion correction
against the running template (:mod:`.motion`), demixing, deconvolution, statistics and the
residual buffer (:class:`.state.OnlineState`); every ``search_every`` frames new components are
searched in the buffer and accepted by the batch evaluation's rule (:mod:`.search`); every
``update_every`` frames the footprints, background and template are updated and each trace's
sparsity penalty is re-fitted to its noise constraint on a sliding window (:mod:`.deconv`).

References
----------
Giovannucci A., Friedrich J., Kaufman M., Churchland A., Chklovskii D., Paninski L.,
Pnevmatikakis E. A. (2017) OnACID: online analysis of calcium imaging data in real time. NIPS 30.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.background import LowRankBackground
from cnmf_gui.engine.online.deconv import OnlineAR1
from cnmf_gui.engine.online.deconv_ar2 import WindowedAR2
from cnmf_gui.engine.online.motion import OnlineMotion
from cnmf_gui.engine.online.state import OnlineState
from cnmf_gui.errors import InputFileError
from cnmf_gui.params import PipelineParams
from cnmf_gui.progress import SubProgress

#: What the initialisation's batch fit does differently from a batch run when
#: ``online.init_light``: AR(1) kinetics (so no trace gets the AR(2) window solves of
#: .deconv_ar2) with each trace's noise level from the upper band of
#: its spectrum instead of the joint spectral fit (at 512 x 512 the spectral fits took 60% of
#: the initialisation; the online penalty is re-fitted to each trace's noise on a sliding window
#: anyway), and one round of motion template refinement instead of two (the template follows
#: the frames online).
INIT_LIGHT = {"deconvolution": {"p": 1, "noise_fit": "band"}, "motion": {"template_iterations": 1}}

#: A candidate whose footprint has this cosine with an existing one is that component's cell
#: (an adjacent cell overlaps a soma's footprint far less).
DUPLICATE_COSINE = 0.5


def ar1_decay(g: np.ndarray) -> np.ndarray:
    """The AR(1) decay of each row of AR coefficients (K, p): g itself for p = 1, the dominant
    root for p = 2 (an AR(2) trace's pools, which give its current value per frame)."""
    g = np.asarray(g, float)
    K = g.shape[0]
    if g.ndim != 2 or g.shape[1] == 0:
        return np.zeros(K)
    if g.shape[1] == 1:
        return np.clip(g[:, 0], 0.0, 0.999)
    disc = np.sqrt(np.maximum(g[:, 0] ** 2 + 4 * g[:, 1], 0.0))
    return np.clip((g[:, 0] + disc) / 2, 0.0, 0.999)


def windowed_ar2(comps, deconv: OnlineAR1, dp) -> WindowedAR2 | None:
    """The batch solver on sliding windows for the components the batch fitted with AR(2) (g of
    shape (K, 2), g[:, 1] != 0); their AR(1) pools in ``deconv`` then stop writing C and S.

    Each trace keeps the baseline of the batch initialisation, as the AR(1) traces online do
    (a free baseline per window of a few seconds moved with each window's transients: on
    calcium-like traces r(C) with the true calcium fell from 0.995 to 0.94-0.98).

    Parameters
    ----------
    comps : Components
        The initialisation's.
    deconv : OnlineAR1
    dp : DeconvParams
        Minimum spike size, as the batch run used it.
    """
    g = np.asarray(comps.g, float)
    if g.ndim != 2 or g.shape[1] < 2:
        return None
    rows = np.flatnonzero(g[:, 1] != 0.0)
    if not len(rows):
        return None
    sn = np.asarray(comps.sn, float)[rows]
    s_abs = np.full(len(rows), dp.s_min) if dp.s_min >= 0 else -dp.s_min * sn
    deconv.external[rows] = 1
    return WindowedAR2(rows, g[rows, :2], sn, np.asarray(comps.epsilon, float)[rows], s_abs,
                       baseline=np.asarray(deconv.baseline, float)[rows])


def _with(params: PipelineParams, changes: dict) -> PipelineParams:
    for stage, fields in changes.items():
        params = params.replace(stage, **fields)
    return params


def _values(params: PipelineParams, changes: dict) -> dict:
    """The values ``params`` has for the fields named in ``changes``."""
    return {stage: {k: getattr(getattr(params, stage), k) for k in fields} for stage, fields in changes.items()}


class OnlineCNMF:
    """An online run: :meth:`initialize` once, then :meth:`process` frame by frame.

    Parameters
    ----------
    params : PipelineParams
        All stages; ``online`` holds the online ones.
    """

    def __init__(self, params: PipelineParams | None = None):
        self.params = PipelineParams() if params is None else params
        self.state: OnlineState | None = None
        self.motion: OnlineMotion | None = None
        self.added: list[int] = []       # components found online, in order (engine indices)

    # ------------------------------------------------------------------------------------------
    def initialize(self, frames: np.ndarray, *, progress=None) -> None:
        """Batch pipeline on the first frames, then those frames through the online steps.

        Parameters
        ----------
        frames : ndarray of shape (T0, H, W)
        """
        from cnmf_gui.engine.motion import apply_shifts
        from cnmf_gui.engine.pipeline import run_pipeline
        from cnmf_gui.engine.summary import compute_summary

        frames = np.asarray(frames, np.float32)
        if frames.ndim != 3 or frames.shape[0] < 10:
            raise InputFileError(f"online CNMF needs at least 10 frames to start, got {frames.shape[0]}")
        T0, H, W = frames.shape
        light = self.params.online.init_light
        init_params = _with(self.params, INIT_LIGHT) if light else self.params
        data = run_pipeline(frames, init_params, progress=SubProgress(progress, 0.0, 0.8, "initialisation"))
        # what the pipeline resolved (the neuron radius...), with the user's own settings back
        self.params = _with(data.params, _values(self.params, INIT_LIGHT)) if light else data.params
        self.init_data = data
        comps, bg = data.components, data.background
        if data.motion is not None:
            order = 3 if self.params.motion.interpolation == "cubic" else 1
            corrected = apply_shifts(frames, data.motion.shifts, order=order)
            if self.params.online.motion:
                self.motion = OnlineMotion(data.motion.template, self.params.motion,
                                           crop=self.params.online.register_crop)
        else:
            corrected = frames
        _, noise = compute_summary(corrected, noise_range=self.params.deconvolution.noise_range)
        self.summary0 = data.summary
        self.noise = noise
        K = comps.n_components
        lam = np.asarray(comps.lam, float)
        sn = np.asarray(comps.sn, float)
        # an infinite lambda (the batch solve found c = 0 meets the noise constraint) stays a
        # large finite one: nan_to_num would make it 1.8e308, whose refit overflows
        lam = np.where(np.isfinite(lam), lam, np.where(np.isnan(lam), 0.0, 1e3 * np.maximum(sn, 1e-12)))
        deconv = OnlineAR1(ar1_decay(comps.g), comps.baseline, lam, sn, comps.epsilon,
                           pool_limit=self.params.online.pool_limit)
        ok = (lam > 0) & (sn > 0)
        self.lam_per_sn = float(np.median(lam[ok] / sn[ok])) if ok.any() else 0.5
        g = ar1_decay(comps.g)
        self.g_new = float(np.median(g)) if K else 0.9
        self.epsilon = float(self.params.deconvolution.epsilon)
        bgm = LowRankBackground(np.asarray(bg.b, float).copy(), bg.f, (H, W))
        self.state = OnlineState(comps.A, bgm, deconv, (H, W), self.params.init.neuron_radius, noise,
                                 self.params.online, self.params.cnmf.dilation_radius)
        self.state.ar2 = windowed_ar2(comps, deconv, self.params.deconvolution)
        self.metrics = {k: list(np.asarray(v, float)) for k, v in comps.metrics.items()}
        self.status0 = list(comps.status)
        self._template_sum = None
        shifts = data.motion.shifts if data.motion is not None else np.zeros((T0, 2))
        for t in range(T0):
            self._take(corrected[t], shifts[t])
        # the running template is the mean of the frames corrected online since each update
        self._template_sum = (self.state.t, self.state.ysum.copy())

    # ------------------------------------------------------------------------------------------
    @property
    def sum(self) -> np.ndarray:
        """Sum of the corrected frames so far, (H, W)."""
        return self.state.ysum.reshape(self.state.shape)

    @property
    def max(self) -> np.ndarray:
        """Maximum of the corrected frames so far, (H, W), float32."""
        return self.state.vmax.reshape(self.state.shape)

    @property
    def n_frames(self) -> int:
        return self.state.t if self.state is not None else 0

    @property
    def n_components(self) -> int:
        return self.state.K if self.state is not None else 0

    def process(self, frame: np.ndarray) -> None:
        """One new raw frame (H, W)."""
        frame = np.asarray(frame, np.float32)
        if frame.shape != self.state.shape:
            raise InputFileError(f"frame {self.n_frames} is {frame.shape[0]} x {frame.shape[1]} px, "
                                 f"the stream started with {self.state.shape[0]} x {self.state.shape[1]}")
        if self.motion is not None:
            frame, shift = self.motion.correct(frame)
        else:
            shift = (0.0, 0.0)
        self._take(frame, shift)

    def _take(self, corrected: np.ndarray, shift) -> None:
        st = self.state
        y = np.ascontiguousarray(corrected, np.float32).ravel()
        st.step(y)
        st.traces.shifts[st.t - 1] = shift
        self.newest = corrected
        op = self.params.online
        if st.t % op.search_every == 0:
            self._search()
        if st.t % op.update_every == 0:
            self._update()

    # ------------------------------------------------------------------------------------------
    def _search(self) -> None:
        st = self.state
        op = self.params.online
        for peak in st.buffer.peaks(op.min_new_pnr, op.max_new, st.t):
            cand, _why = st.buffer.candidate(peak, self.noise, self.params.evaluation, st.radius, st.residual_patch)
            st.buffer.forbid(peak, st.t + op.buffer_frames)
            if cand is None or self._duplicate(cand):
                continue
            k = st.add_component(cand, g=self.g_new, lam_per_sn=self.lam_per_sn, epsilon=self.epsilon)
            self.added.append(k)
            for key in self.metrics:
                self.metrics[key].append(cand.metrics.get(key, np.nan))
            self.status0.append(1)
            self._explain_buffer(cand)

    def _duplicate(self, cand) -> bool:
        """A candidate whose footprint is largely an existing one's (cosine > DUPLICATE_COSINE)."""
        st = self.state
        if st.K == 0:
            return False
        overlap = st.overlaps(cand.footprint)
        return bool(np.any(overlap > DUPLICATE_COSINE * np.maximum(st.norms, 1e-12)))

    def _explain_buffer(self, cand) -> None:
        """Take the new component's part out of the buffered residual, so it is not found twice."""
        self.state.buffer.explain(cand.footprint, np.maximum(np.asarray(cand.trace, np.float32), 0.0))

    def _update(self) -> None:
        st = self.state
        st.update_footprints()
        if self.motion is not None and self._template_sum is not None and st.t > self._template_sum[0]:
            t0, s0 = self._template_sum
            self.motion.set_template(((st.ysum - s0) / (st.t - t0)).reshape(st.shape))
            self._template_sum = (st.t, st.ysum.copy())
        n = min(self.params.online.noise_window, st.t)
        t0 = st.t - n
        st.deconv.finish(st.traces.C, st.traces.S)
        st.deconv.refit_lambda(st.traces.F[:st.K, t0:st.t].astype(float), st.traces.C[:st.K, t0:st.t].astype(float))

"""Online AR(2) deconvolution: the batch solver on a sliding window, a few traces per frame.

Where the batch initialisation chose AR(2) for a component (its rise is resolved: ``p = 2`` with
``auto_order``, :func:`cnmf_gui.engine.deconvolution.single.solve_auto`), its spikes online come
from the very solver the batch uses, :func:`cnmf_gui.engine.deconvolution.single.solve_one`, with
the component's AR(2) coefficients, noise level, epsilon, minimum spike size and baseline mode:
the same noise-constrained problem

    minimise ||G c||_1  subject to  ||c + b - y|| <= (1 + epsilon) sigma sqrt(n),  G c >= 0

on a window of the latest ``n`` frames of the raw trace, so the noise constraint holds on each
window (what the issue asks of the online penalty). Pool merging, which makes AR(1) exact one
frame at a time (:mod:`.deconv`), has no exact AR(2) form (a pool's values depend on the two
before it, and a merge can move them: Friedrich et al. 2017 give a greedy AR(2) variant).

Each AR(2) trace is solved again every ``block`` frames, on ``back`` frames before the part not
yet final, that part, and the newest frames; the solution is written out as final up to
``look`` frames before the newest (a spike after the window's end no longer moves it much: its
calcium does not reach back), so frames become final with a lag of ``look`` to
``look + block`` frames. The window starts ``back`` frames before its first final frame because
the solver's initial conditions (s_0 = c_0, s_1 = c_1 - g_1 c_0) put the calcium of earlier
spikes into a spike at the window's start. The traces are solved in turn, ``ceil(n_traces /
block)`` per frame, so no frame pays for all of them. :meth:`WindowedAR2.finish` fills the
frames not final yet (what a result shows now; they are solved again later).

Meanwhile the trace's AR(1) pools (its dominant root) still give the current value per frame
that weighs the sufficient statistics; they no longer write C and S.

References
----------
Friedrich J., Zhou P., Paninski L. (2017) Fast online deconvolution of calcium imaging data.
PLoS Comput Biol 13(3):e1005423.
"""

from __future__ import annotations

import numpy as np

from cnmf_gui.engine.deconvolution.ar1 import MODE_FIXED, MODE_FREE
from cnmf_gui.engine.deconvolution.solver import solve_scaled

#: Frames between two solves of one trace.
BLOCK = 100
#: Frames solved before the first frame written out (they absorb the initial conditions).
BACK = 100
#: The newest frames of a window, solved but not yet written out as final.
LOOK = 50


class WindowedAR2:
    """Sliding-window AR(2) deconvolution of some of the traces (see the module docstring).

    Parameters
    ----------
    rows : ndarray of shape (n,), int
        The traces (rows of F, C, S) deconvolved here.
    g : ndarray of shape (n, 2)
        Their AR(2) coefficients.
    sn, epsilon, s_abs : ndarray of shape (n,)
        Noise level, relaxation of the noise constraint and absolute minimum spike size.
    baseline : ndarray of shape (n,), optional
        Each trace's baseline, held fixed (the batch initialisation's, as the AR(1) traces
        online hold theirs); None: a free baseline per window.
    block, back, look : int
        Frames between two solves of a trace, solved before the first frame written out, and
        solved but not written out as final.
    """

    def __init__(self, rows, g, sn, epsilon, s_abs, baseline=None, block: int = BLOCK, back: int = BACK,
                 look: int = LOOK):
        self.rows = np.asarray(rows, np.int64)
        self.g = np.asarray(g, float).reshape(len(self.rows), 2)
        self.sn = np.asarray(sn, float)
        self.epsilon = np.asarray(epsilon, float)
        self.s_abs = np.asarray(s_abs, float)
        self.baseline = None if baseline is None else np.asarray(baseline, float)
        self.solves = 0
        self.fallbacks = 0                                    # of which solved with a free baseline
        self.block, self.back, self.look = int(block), int(back), int(look)
        self.final = np.zeros(len(self.rows), np.int64)     # frames written out as final, per trace
        self.next = 0                                         # the next trace to solve, in turn

    @property
    def n_traces(self) -> int:
        return len(self.rows)

    def _solve(self, j: int, t: int, F, C, S, upto: int) -> None:
        """Solve trace j on frames [final - back, t) and write frames [final, upto)."""
        start = int(self.final[j])
        if upto <= start:
            return
        lo = max(start - self.back, 0)
        k = self.rows[j]
        c, s = self.solve(j, F[k, lo:t].astype(np.float64))
        C[k, start:upto] = c[start - lo:upto - lo]
        S[k, start:upto] = s[start - lo:upto - lo]

    def solve(self, j: int, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Trace j's calcium and spikes on the window ``y`` (n,): the batch's compiled solve
        (:func:`~cnmf_gui.engine.deconvolution.solver.solve_scaled`, as
        :func:`~cnmf_gui.engine.deconvolution.single.solve_one` calls it) with the trace's fixed
        baseline; where no calcium meets the noise constraint over that baseline (the trace
        drifted below it) and the solver fails, with a free baseline (the batch would go to
        CVXPY, a tenth of a second per window)."""
        sn = float(self.sn[j])
        scale = sn if sn > 0 else max(float(np.std(y)), 1e-300)
        theta = (1.0 + float(self.epsilon[j])) * (sn / scale) * np.sqrt(y.size)
        mode, b_fixed = (MODE_FIXED, float(self.baseline[j])) if self.baseline is not None else (MODE_FREE, 0.0)
        self.solves += 1
        g = self.g[j] if self.g[j, 1] != 0.0 else self.g[j, :1]        # an AR(1) trace: the AR(1) solver
        for attempt in (mode, MODE_FREE):
            try:
                c, s, _, _, status, _ = solve_scaled(y, g, theta, attempt, b_fixed / scale,
                                                     float(self.s_abs[j]) / scale, scale=scale)
            except RuntimeError:
                self.fallbacks += 1
                continue
            if status == "constant":
                return np.zeros(y.size), np.zeros(y.size)
            return c * scale, s * scale
        return np.zeros(y.size), np.zeros(y.size)

    def step(self, t: int, F, C, S) -> None:
        """Frames [0, t) of F are in: solve the next ``ceil(n / block)`` traces in turn.

        Parameters
        ----------
        t : int
        F : ndarray of shape (K, >= t)
            Raw traces.
        C, S : ndarray of shape (K, >= t), float32
            Receive the final frames of the solved traces.
        """
        n = self.n_traces
        if n == 0:
            return
        upto = t - self.look
        for _ in range(-(-n // self.block)):
            j = self.next
            self.next = (j + 1) % n
            if upto - self.final[j] >= 1:
                self._solve(j, t, F, C, S, upto)
                self.final[j] = upto

    def finish(self, t: int, F, C, S) -> None:
        """Write every trace's frames not final yet, [final, t) (solved again later)."""
        for j in range(self.n_traces):
            self._solve(j, t, F, C, S, t)

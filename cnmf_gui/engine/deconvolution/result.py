"""What deconvolution returns, for one trace and for a population."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: ``status`` values. "optimal": the noise constraint is active and the solution is the exact
#: optimum. "zero": c = 0 already meets the noise constraint, so it is the optimum (lam = inf).
#: "infeasible": no c meets the constraint (epsilon very close to -1); the closest fit
#: (lam = 0) is returned. "thresholded": s_min > 0 was applied after the convex solution.
STATUSES = ("optimal", "zero", "infeasible", "thresholded")


@dataclass
class DeconvResult:
    """Deconvolution of one trace.

    Attributes
    ----------
    c : ndarray of shape (T,)
        Denoised calcium (without the baseline).
    s : ndarray of shape (T,)
        Deconvolved activity ``G c`` (non-negative).
    b : float
        Baseline: the fit is ``c + b``.
    g : ndarray of shape (p,)
        AR coefficients used.
    sn : float
        Noise level sigma used.
    lam : float
        Multiplier the noise constraint settled on: the solution also minimises
        1/2 ||c + b - y||^2 + lam sum(s). ``inf`` when c = 0 (status "zero"), 0 when the
        constraint cannot be met (status "infeasible").
    epsilon : float
        Relaxation of the noise constraint: ||c + b - y|| <= (1 + epsilon) sn sqrt(T).
    status : str
        One of ``STATUSES``.
    iterations : int
        Iterations of the solver (0 for CVXPY and for c = 0).
    """

    c: np.ndarray
    s: np.ndarray
    b: float
    g: np.ndarray
    sn: float
    lam: float
    epsilon: float
    status: str = "optimal"
    iterations: int = 0

    @property
    def theta(self) -> float:
        """The bound (1 + epsilon) sn sqrt(T) on the residual norm."""
        return (1.0 + self.epsilon) * self.sn * np.sqrt(self.c.size)

    @property
    def is_zero(self) -> bool:
        """True when c = 0 met the noise constraint (no activity found)."""
        return self.status == "zero"


@dataclass
class DeconvManyResult:
    """Deconvolution of K traces, stacked.

    Attributes
    ----------
    c, s : ndarray of shape (K, T)
    b, sn, lam, epsilon : ndarray of shape (K,)
    g : ndarray of shape (K, p)
    status : ndarray of shape (K,), str
    """

    c: np.ndarray
    s: np.ndarray
    b: np.ndarray
    g: np.ndarray
    sn: np.ndarray
    lam: np.ndarray
    epsilon: np.ndarray
    status: np.ndarray

    def __len__(self) -> int:
        return int(self.c.shape[0])

    def __getitem__(self, k: int) -> DeconvResult:
        return DeconvResult(c=self.c[k], s=self.s[k], b=float(self.b[k]), g=self.g[k],
                            sn=float(self.sn[k]), lam=float(self.lam[k]),
                            epsilon=float(self.epsilon[k]), status=str(self.status[k]))

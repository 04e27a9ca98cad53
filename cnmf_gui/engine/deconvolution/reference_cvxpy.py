"""The reference: the noise-constrained problem solved by CVXPY's default conic solver.

Slow (a generic interior-point method) but independent of the fast solvers' ideas, so it is
what they are checked against. It states the problem exactly as the fast solvers do:

    minimise    sum(G c)
    subject to  ||c + b - y||_2 <= theta,   G c >= 0,
                b free, b >= 0, or b given,

with the initial conditions s_0 = c_0 and, for AR(2), s_1 = c_1 - g_1 c_0 (the calcium before
the first frame is zero), so G is the lower-triangular Toeplitz matrix with first column
(1, -g_1, ..., -g_p, 0, ...).

References
----------
Pnevmatikakis, E. A. et al. (2016). Simultaneous denoising, deconvolution, and demixing of
calcium imaging data. Neuron 89(2):285-299 (the noise-constrained problem).
Diamond, S. & Boyd, S. (2016). CVXPY: a Python-embedded modeling language for convex
optimization. J. Mach. Learn. Res. 17(83):1-5.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def ar_operator(g, T: int) -> sp.csr_matrix:
    """The (T, T) sparse matrix G with (G c)_t = c_t - sum_i g_i c_{t-i} (c_{t<0} = 0)."""
    g = np.atleast_1d(np.asarray(g, dtype=float))
    diags = [np.ones(T)] + [np.full(T - i - 1, -gi) for i, gi in enumerate(g)]
    return sp.diags(diags, [0] + [-(i + 1) for i in range(len(g))], shape=(T, T), format="csr")


def solve_cvxpy(y, g, theta: float, *, baseline: str = "nonneg", b_fixed: float = 0.0):
    """Solve the noise-constrained problem with CVXPY's default solver.

    Parameters
    ----------
    y : ndarray of shape (T,)
    g : ndarray of shape (p,)
    theta : float
        Bound on ||c + b - y||.
    baseline : {"free", "nonneg", "fixed"}
    b_fixed : float
        The baseline when ``baseline == "fixed"``.

    Returns
    -------
    c : ndarray of shape (T,)
    b : float
    lam : float
        The multiplier of the equivalent penalised problem 1/2||r||^2 + lam sum(G c), i.e.
        theta divided by the dual variable of the norm constraint (inf when c = 0 is optimal);
        0 when no c meets the constraint, and then c is the closest fit (as the fast solvers
        return for status "infeasible").
    """
    import cvxpy as cp

    y = np.asarray(y, dtype=float)
    T = y.size
    G = ar_operator(g, T)
    c = cp.Variable(T)
    cons = [G @ c >= 0]
    if baseline == "fixed":
        b = float(b_fixed)
        resid = c + b - y
    else:
        b = cp.Variable()
        resid = c + b - y
        if baseline == "nonneg":
            cons.append(b >= 0)
    norm_con = cp.norm(resid, 2) <= theta
    cons.append(norm_con)
    prob = cp.Problem(cp.Minimize(cp.sum(G @ c)), cons)
    prob.solve()
    if prob.status in ("infeasible", "infeasible_inaccurate"):
        # No c meets the noise constraint: the closest fit, i.e. lam = 0.
        fit = cp.Problem(cp.Minimize(cp.sum_squares(resid)), cons[:-1])
        fit.solve()
        if fit.status in ("optimal", "optimal_inaccurate"):
            b_val = float(b.value) if isinstance(b, cp.Variable) else b
            return np.asarray(c.value, dtype=float), b_val, 0.0
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"CVXPY did not solve the deconvolution problem: {prob.status}")
    b_val = float(b.value) if isinstance(b, cp.Variable) else b
    dual = float(norm_con.dual_value) if norm_con.dual_value is not None else 0.0
    lam = theta / dual if dual > 0 else np.inf
    return np.asarray(c.value, dtype=float), b_val, lam

"""Noise-constrained deconvolution of calcium traces, exact and fast.

For a trace y (T frames), noise level sigma and AR(p) coefficients g::

    minimise ||G c||_1  subject to  ||c + b - y||_2 <= (1 + epsilon) sigma sqrt(T),  G c >= 0

Public functions: :func:`deconvolve` (one trace) and :func:`deconvolve_many` (a population,
threads over components). Solvers, all exact:

- ``ar1``: pool merging (OASIS-class) with the lambda iteration, for AR(1) and p = 0;
- ``ar2``: active set over spike frames with pentadiagonal solves, for AR(2);
- ``reference_cvxpy``: the same problem in CVXPY, the reference (``method="cvxpy"``).

Initial conditions (all solvers): s_0 = c_0 and, for AR(2), s_1 = c_1 - g_1 c_0.
"""

from cnmf_gui.engine.deconvolution.population import deconvolve_many
from cnmf_gui.engine.deconvolution.result import DeconvManyResult, DeconvResult
from cnmf_gui.engine.deconvolution.single import deconvolve

__all__ = ["deconvolve", "deconvolve_many", "DeconvResult", "DeconvManyResult"]

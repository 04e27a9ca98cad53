"""Pure numerics: one module per algorithmic step. Never imports Qt, h5py or cnmf_gui.io.

The public functions are re-exported here lazily, so ``import cnmf_gui.engine`` stays cheap
(numba and cvxpy load only when a function that needs them is first used).
"""

from __future__ import annotations

import importlib

# public name -> submodule that defines it
_EXPORTS = {
    "deconvolve": "deconvolution",
    "deconvolve_many": "deconvolution",
    "DeconvResult": "deconvolution",
    "DeconvManyResult": "deconvolution",
    "estimate_ar": "noise",
    "estimate_noise": "noise",
    "estimate_motion": "motion",
    "CorrectedMovie": "motion",
    "run_cnmf": "pipeline",
    "run_pipeline": "pipeline",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Online CNMF (OnACID): frames processed one at a time as they arrive, with bounded memory.

Public API:

- :func:`run_online` (frames, params) -> :class:`OnlineOutcome`: the loop over any iterable of
  frames, with live reports, partial results and checkpoints;
- :class:`OnlineCNMF`: the run itself (``initialize(frames)``, ``process(frame)``);
- :func:`to_session_data`: a run's results as :class:`~cnmf_gui.results.SessionData`.

Modules: ``cnmf`` (initialisation and the per-frame schedule), ``state`` (footprints,
statistics, demixing, new components), ``deconv`` (online AR(1) pool merging), ``search``
(residual buffer, candidates), ``motion`` (frame-by-frame rigid registration), ``kernels``
(numba), ``traces`` (the growing K x T arrays), ``result``, ``run``.

References
----------
Giovannucci A. et al. (2017) OnACID: online analysis of calcium imaging data in real time. NIPS 30.
"""

from cnmf_gui.engine.online.cnmf import OnlineCNMF
from cnmf_gui.engine.online.result import to_session_data
from cnmf_gui.engine.online.run import OnlineOutcome, OnlinePartial, live_line, run_online

__all__ = ["OnlineCNMF", "run_online", "OnlineOutcome", "to_session_data", "live_line", "OnlinePartial"]

"""Deconvolution reruns as commands: a request copied for any thread, then applied in the session.

The window runs :meth:`DeconvRequest.run` in its worker and hands the result to
:func:`apply_deconvolution` in the main thread; ``cnmf-gui curate --epsilon`` and scripts do both
at once through :meth:`Session.deconvolve <cnmf_gui.session.Session.deconvolve>`. Either way the
numerics are the engine's one re-deconvolution path
(:func:`cnmf_gui.engine.redeconvolve.redeconvolve_rows`) and the edit is one
:class:`~cnmf_gui.session.commands.DeconvolutionCommand`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnmf_gui.errors import UserError
from cnmf_gui.session.commands import DeconvolutionCommand


@dataclass
class DeconvRequest:
    """Inputs of a deconvolution rerun; the worker thread may own them.

    Attributes
    ----------
    ids : ndarray of shape (k,)
    traces : ndarray of shape (k, T)
        The raw traces F that are deconvolved.
    epsilon : ndarray of shape (k,)
    sn : ndarray of shape (k,)
    g : ndarray of shape (k, p_old)
    deconv : DeconvParams
        Order, s_min, baseline and solver of this rerun.
    mode : str
        ``"override"``, ``"global"`` or ``"keep"`` (see DeconvolutionCommand).
    global_epsilon : float
    """

    ids: np.ndarray
    traces: np.ndarray
    epsilon: np.ndarray
    sn: np.ndarray
    g: np.ndarray
    deconv: object
    mode: str
    global_epsilon: float

    @property
    def override(self) -> bool:
        return self.mode == "override"

    def run(self, progress=None):
        """Deconvolve every trace (any thread); returns ``(self, Redeconvolved)``."""
        from cnmf_gui.engine.redeconvolve import redeconvolve_rows
        return self, redeconvolve_rows(self.traces, self.sn, self.g, self.epsilon, self.deconv,
                                       progress=progress)


def make_request(curation, deconv, ids=None, *, epsilon=None, use_global=False) -> DeconvRequest:
    """A rerun of ``ids`` (all when None) with ``deconv`` (DeconvParams) as they are now.

    ``epsilon`` sets an override for these ids; ``use_global`` drops their overrides; neither
    keeps each one's override (the others use ``deconv.epsilon``).
    """
    comps = curation.require()
    ids = [int(i) for i in comps.ids] if ids is None else curation.check_ids(ids)
    if not ids:
        raise UserError("no components to deconvolve")
    rows = curation.indices_of(ids)
    if epsilon is not None:
        eps, mode = np.full(len(ids), float(epsilon)), "override"
    elif use_global:
        eps, mode = np.full(len(ids), float(deconv.epsilon)), "global"
    else:
        eps = np.array([curation.state.overrides.get(i, deconv.epsilon) for i in ids], float)
        mode = "keep"
    everything = len(rows) == comps.n_components and np.array_equal(rows, np.arange(len(rows)))
    # Components' arrays are never changed in place, so the worker may read them directly.
    traces = comps.F if everything else comps.F[rows]
    return DeconvRequest(ids=np.array(ids, np.int64), traces=np.asarray(traces, float), epsilon=eps,
                         sn=np.array(comps.sn[rows], float), g=np.array(comps.g[rows], float),
                         deconv=deconv, mode=mode, global_epsilon=float(deconv.epsilon))


def apply_deconvolution(curation, request: DeconvRequest, update) -> list[int]:
    """Put a finished rerun's traces in place as one undoable command; statuses are untouched.

    Components merged away while the rerun ran are skipped; returns the ids updated.
    """
    from cnmf_gui.engine.redeconvolve import Redeconvolved, apply_rows

    comps = curation.require()
    keep = [j for j, i in enumerate(request.ids) if curation.has(int(i))]
    if not keep:
        return []
    ids = [int(request.ids[j]) for j in keep]
    rows = curation.indices_of(ids)
    if len(keep) == len(request.ids):
        part = update            # every component still there (the usual case): no copies
    else:
        part = Redeconvolved(**{name: np.asarray(getattr(update, name))[keep]
                                for name in ("c", "s", "b", "sn", "epsilon", "lam", "g", "snr")})
    new = apply_rows(comps, rows, part)
    overrides = dict(curation.state.overrides)
    eps_used = np.asarray(request.epsilon)[keep]
    for i, e in zip(ids, eps_used):
        if request.mode == "override":
            overrides[i] = float(e)
        elif request.mode == "global":
            overrides.pop(i, None)
    values = sorted(set(float(e) for e in eps_used))
    n = len(ids)
    curation.do(DeconvolutionCommand(
        f"Deconvolve {n} component{'s' * (n != 1)}", curation.state,
        curation.state.with_changes(components=new, overrides=overrides), ids, mode=request.mode,
        epsilon=values[0] if len(values) == 1 else values, global_epsilon=request.global_epsilon,
        p=request.deconv.p, s_min=request.deconv.s_min))
    return ids


def request(session, ids=None, *, epsilon=None, p=None, s_min=None, use_global=False,
            global_epsilon=None) -> DeconvRequest:
    """Prepare a rerun of deconvolution for ``ids`` of ``session`` (default: all components).

    Parameters
    ----------
    ids : iterable of int, optional
    epsilon : float, optional
        A per-component override for these ids. When None each component uses its existing
        override, or else the global ``params.deconvolution.epsilon``.
    use_global : bool
        Deconvolve these ids with the global epsilon and drop their overrides; ignored when
        ``epsilon`` is given.
    p, s_min, global_epsilon : optional
        AR order, minimum spike size and global epsilon; the parameters' values by default
        (giving them here also changes the parameters, which are saved with the session).
    """
    session.curation.require()
    changes = {k: v for k, v in (("p", p), ("s_min", s_min), ("epsilon", global_epsilon)) if v is not None}
    if changes:
        session.set_params(session.params.replace("deconvolution", **changes))
    if epsilon is not None:
        session.params.replace("deconvolution", epsilon=epsilon)  # the range check only
    ids = None if ids is None else session.curation.check_ids(ids)
    return make_request(session.curation, session.params.deconvolution, ids, epsilon=epsilon,
                        use_global=epsilon is None and use_global)


def preview(session, component_id: int, epsilon: float):
    """Deconvolve one component with ``epsilon`` for a live preview (changes nothing).

    Uses the fast solver whatever the parameters say, since it runs as a slider moves. Emits
    ``preview`` with the result and returns it.
    """
    from cnmf_gui.engine import deconvolve
    comps = session.curation.require()
    r = session.index_of(component_id)
    dp = session.params.deconvolution
    g = comps.g[r] if comps.g.shape[1] == dp.p and dp.p > 0 else None
    result = deconvolve(np.asarray(comps.F[r], float), p=dp.p, g=g, sn=float(comps.sn[r]),
                        epsilon=float(epsilon), s_min=dp.s_min, method="fast", baseline=dp.baseline)
    session.emit("preview", int(component_id), result)
    return result

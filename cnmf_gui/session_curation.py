"""Curation edits of a :class:`~cnmf_gui.session.Session`: status, thresholds, merges, deconvolution.

Every edit builds a new :class:`~cnmf_gui.results.Components` (sharing unchanged arrays) and is
pushed on the undo history, which appends one JSON line to the curation log. The numerics (the
rank-1 refit of a merge, deconvolution) are the engine's; this module only decides what to
recompute and keeps the bookkeeping (ids, user decisions, overrides) right.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cnmf_gui.errors import UserError
from cnmf_gui.results import STATUS_ACCEPTED, STATUS_REJECTED, STATUS_UNDECIDED, Components
from cnmf_gui.session_history import CurationState, Edit

STATUS_NAMES = {STATUS_ACCEPTED: "accepted", STATUS_UNDECIDED: "undecided", STATUS_REJECTED: "rejected"}


@dataclass
class DeconvRequest:
    """Inputs of a deconvolution rerun, copied so the worker thread owns them.

    Attributes
    ----------
    ids : ndarray of shape (k,)
    traces : ndarray of shape (k, T)
        The raw traces F that are deconvolved.
    epsilon : ndarray of shape (k,)
    sn : ndarray of shape (k,)
    g : ndarray of shape (k, p) or None
        None re-estimates the AR coefficients (the order changed).
    p, s_min, baseline, method : as in DeconvParams
    override : bool
        The epsilon values are the user's new per-component override.
    clear_overrides : bool
        The user chose the global epsilon for these ids: their overrides are dropped. Without
        either flag the ids keep their overrides (e.g. "Rerun all" after changing s_min).
    """

    ids: np.ndarray
    traces: np.ndarray
    epsilon: np.ndarray
    sn: np.ndarray
    g: np.ndarray | None
    p: int
    s_min: float
    baseline: str
    method: str
    override: bool
    clear_overrides: bool = False

    def run(self, progress=None):
        """Deconvolve every trace (call from any thread); returns ``(self, DeconvManyResult)``."""
        from cnmf_gui.engine import deconvolve_many
        result = deconvolve_many(self.traces, p=self.p, g=self.g, sn=self.sn, epsilon=self.epsilon,
                                 s_min=self.s_min, method=self.method, baseline=self.baseline,
                                 progress=progress)
        return self, result


def _replace_rows(arr: np.ndarray, rows: np.ndarray, values) -> np.ndarray:
    """A new array: ``arr`` with ``rows`` replaced (``arr`` itself is never changed)."""
    arr = np.asarray(arr)
    values = np.asarray(values)
    if len(rows) == len(arr) and np.array_equal(rows, np.arange(len(arr))) and values.shape == arr.shape:
        # Every row replaced (a rerun of all components): no need to copy the old array.
        return values.astype(arr.dtype, copy=False)
    out = arr.copy()
    out[rows] = values
    return out


class CurationMixin:
    """Curation methods of :class:`~cnmf_gui.session.Session` (see there for the state)."""

    # ------------------------------------------------------------------------------------------
    # applying edits
    # ------------------------------------------------------------------------------------------
    def _require_components(self) -> Components:
        if self.components is None:
            raise UserError("no components yet: run the pipeline or open a session first")
        return self.components

    def _ids_or_selection(self, ids) -> list[int]:
        ids = list(self.selection if ids is None else ids)
        missing = [i for i in ids if not self.has(i)]
        if missing:
            raise UserError(f"no component with id {missing[0]}")
        return [int(i) for i in ids]

    def _set_state(self, state: CurationState, edit: Edit) -> None:
        self._state = state
        if self.data is not None:
            self.data.components = state.components
        self._reindex()
        self._reset_caches()
        if edit.kind == "merge":
            self.emit("components")
            kept = tuple(i for i in self.selection if self.has(i))
            if kept != self.selection:
                self.selection = kept
                self.emit("selection", kept)
        elif edit.kind == "status":
            self.emit("status", edit.ids)
        else:
            self.emit("traces", edit.ids)
        self.set_dirty(True)
        self.emit("history")

    def _do(self, edit: Edit) -> None:
        line = self.history.push(edit)
        self._set_state(edit.after, edit)
        self.emit("log", line)

    def undo(self) -> bool:
        """Undo the last edit; returns False when there is nothing to undo."""
        done = self.history.undo()
        if done is None:
            return False
        edit, line = done
        self._set_state(edit.before, edit)
        if edit.kind == "merge":
            self.select([i for i in edit.ids if i != edit.entry.get("new_id")])
        self.emit("log", line)
        return True

    def redo(self) -> bool:
        """Redo the last undone edit; returns False when there is nothing to redo."""
        done = self.history.redo()
        if done is None:
            return False
        edit, line = done
        self._set_state(edit.after, edit)
        if edit.kind == "merge":
            self.select([edit.entry["new_id"]])
        self.emit("log", line)
        return True

    # ------------------------------------------------------------------------------------------
    # status
    # ------------------------------------------------------------------------------------------
    def status_of(self, component_id: int) -> int:
        return int(self.components.status[self.index_of(component_id)])

    def is_user_decided(self, component_id: int) -> bool:
        return int(component_id) in self._state.user_decided

    def set_status(self, ids, status: int) -> int:
        """The user sets the status of components (default: the selection); returns how many changed."""
        comps = self._require_components()
        ids = self._ids_or_selection(ids)
        if status not in STATUS_NAMES:
            raise UserError(f"status must be 1, 0 or -1, got {status!r}")
        if not ids:
            return 0
        rows = self.indices_of(ids)
        decided = set(self._state.user_decided)
        # Undecided by hand gives the component back to the thresholds.
        if status == STATUS_UNDECIDED:
            decided.difference_update(ids)
        else:
            decided.update(ids)
        changed = [i for i, r in zip(ids, rows) if comps.status[r] != status]
        if not changed and frozenset(decided) == self._state.user_decided:
            return 0
        new = dataclasses.replace(comps, status=_replace_rows(comps.status, rows, status))
        n = len(ids)
        verb = {STATUS_ACCEPTED: "Accept", STATUS_REJECTED: "Reject", STATUS_UNDECIDED: "Undecide"}[status]
        label = f"{verb} {n} component{'s' * (n != 1)}"
        self._do(Edit("status", label, {"action": "status", "ids": ids, "status": status,
                                        "source": "user"},
                      self._state, self._state.with_changes(components=new, user_decided=decided),
                      ids=tuple(ids)))
        return len(changed)

    def accept(self, ids=None) -> int:
        return self.set_status(ids, STATUS_ACCEPTED)

    def reject(self, ids=None) -> int:
        return self.set_status(ids, STATUS_REJECTED)

    def undecide(self, ids=None) -> int:
        return self.set_status(ids, STATUS_UNDECIDED)

    def apply_thresholds(self, evaluation=None) -> tuple[int, int, int]:
        """Set the status of every component the user has not decided from metric thresholds.

        Parameters
        ----------
        evaluation : EvalParams, optional
            Thresholds (``min_snr``/``min_r_value`` to accept, ``snr_lowest``/``r_value_lowest``,
            ``min_area``/``max_area`` to reject); the session's parameters by default.

        Returns
        -------
        (accepted, rejected, undecided) : counts among the components thresholds may change.
        A metric that is missing or NaN neither accepts nor rejects.
        """
        comps = self._require_components()
        ev = evaluation if evaluation is not None else self.params.evaluation
        K = comps.n_components
        nan = np.full(K, np.nan)
        snr = np.asarray(comps.metrics.get("snr", nan), float)
        r = np.asarray(comps.metrics.get("r_value", nan), float)
        area = np.asarray(comps.metrics.get("area", nan), float)
        with np.errstate(invalid="ignore"):
            accept = (snr >= ev.min_snr) & (r >= ev.min_r_value)
            reject = (snr < ev.snr_lowest) | (r < ev.r_value_lowest) | (area < ev.min_area)
            if ev.max_area > 0:
                reject |= area > ev.max_area
        status = np.where(reject, STATUS_REJECTED, np.where(accept, STATUS_ACCEPTED, STATUS_UNDECIDED))
        free = np.array([int(i) not in self._state.user_decided for i in comps.ids], bool)
        new_status = np.where(free, status, comps.status).astype(np.int8)
        counts = (int(np.sum(free & (status == 1))), int(np.sum(free & (status == -1))),
                  int(np.sum(free & (status == 0))))
        changed = [int(i) for i in comps.ids[new_status != comps.status]]
        if changed:
            new = dataclasses.replace(comps, status=new_status)
            entry = {"action": "status", "source": "threshold", "ids": changed,
                     "thresholds": {k: getattr(ev, k) for k in ("min_snr", "min_r_value", "snr_lowest",
                                                                 "r_value_lowest", "min_area", "max_area")}}
            self._do(Edit("status", f"Thresholds changed {len(changed)} statuses", entry,
                          self._state, self._state.with_changes(components=new), ids=tuple(changed)))
        return counts

    # ------------------------------------------------------------------------------------------
    # merge
    # ------------------------------------------------------------------------------------------
    def merge(self, ids=None) -> int:
        """Merge components (default: the selection) into one with a new id; returns that id.

        The union is refit as a rank-1 non-negative footprint and trace by the engine
        (:func:`cnmf_gui.engine.merging.merge_refit`), then deconvolved like any trace. The
        originals are removed (undo brings them back) and recorded in the log.

        References
        ----------
        Pnevmatikakis et al., "Simultaneous denoising, deconvolution, and demixing of calcium
        imaging data", Neuron 89(2), 2016 (merging of overlapping, correlated components).
        """
        comps = self._require_components()
        ids = self._ids_or_selection(ids)
        if len(set(ids)) < 2:
            raise UserError("select at least two components to merge")
        from cnmf_gui.engine import deconvolve
        from cnmf_gui.engine.merging import merge_refit

        ids = list(dict.fromkeys(ids))
        rows = self.indices_of(ids)
        A_sub = comps.A[:, rows].tocsc()
        # Refit the data the originals explain, noise included (F = C + residual), so the new
        # raw trace F is the refit trace and its deconvolution gives C and S like any other.
        footprint, raw = merge_refit(A_sub, comps.C[rows], residual=comps.F[rows] - comps.C[rows])
        footprint = np.asarray(footprint, float).ravel()
        raw = np.asarray(raw, float).ravel()
        dp = self.params.deconvolution
        p = comps.g.shape[1]
        dec = deconvolve(raw, p=p, g=None, epsilon=dp.epsilon, s_min=dp.s_min,
                         method=dp.method, baseline=dp.baseline)
        dff = self._dff_of(raw)
        new_id = self._next_id
        self._next_id += 1
        keep = np.setdiff1d(np.arange(comps.n_components), rows)
        status = STATUS_ACCEPTED if np.all(comps.status[rows] == STATUS_ACCEPTED) else STATUS_UNDECIDED
        metrics = {}
        for key, values in comps.metrics.items():
            values = np.asarray(values)
            value = float(np.count_nonzero(footprint)) if key == "area" else np.nan
            metrics[key] = np.append(values[keep].astype(float), value)
        g_new = np.asarray(dec.g, float).reshape(1, -1)
        if g_new.shape[1] != comps.g.shape[1]:
            g_new = np.resize(g_new, (1, comps.g.shape[1]))

        def stack(arr, row):
            return np.vstack([np.asarray(arr)[keep], np.asarray(row, dtype=np.asarray(arr).dtype)[None]])

        new = Components(
            A=sp.hstack([comps.A[:, keep], sp.csc_matrix(footprint[:, None])]).tocsc(),
            C=stack(comps.C, dec.c), S=stack(comps.S, dec.s), F=stack(comps.F, raw),
            dff=stack(comps.dff, dff),
            baseline=np.append(comps.baseline[keep], dec.b), sn=np.append(comps.sn[keep], dec.sn),
            epsilon=np.append(comps.epsilon[keep], dp.epsilon),
            g=np.vstack([comps.g[keep], g_new]),
            status=np.append(comps.status[keep], status).astype(np.int8),
            ids=np.append(comps.ids[keep], new_id), metrics=metrics,
            lam=np.append(comps.lam[keep], getattr(dec, "lam", np.nan)))
        decided = set(self._state.user_decided) - set(ids)
        overrides = {k: v for k, v in self._state.overrides.items() if k not in ids}
        originals = [{"id": i, "status": int(comps.status[r]),
                      **{k: _jsonable(np.asarray(v)[r]) for k, v in comps.metrics.items()}}
                     for i, r in zip(ids, rows)]
        entry = {"action": "merge", "ids": ids, "new_id": new_id, "merged": ids, "originals": originals}
        self._do(Edit("merge", f"Merge {len(ids)} components into {new_id}", entry, self._state,
                      self._state.with_changes(components=new, user_decided=decided, overrides=overrides),
                      ids=tuple(ids) + (new_id,)))
        self.select([new_id])
        return new_id

    def _dff_of(self, raw: np.ndarray) -> np.ndarray:
        """dF/F of one raw trace through the engine; NaN when the engine has no dF/F yet."""
        try:
            from cnmf_gui.engine.dff import compute_dff
        except ImportError:
            return np.full(raw.shape, np.nan)
        ev = self.params.evaluation
        out = compute_dff(raw[None], frame_rate=self.frame_rate or 30.0, quantile=ev.dff_quantile,
                          window_s=ev.dff_window)
        return np.asarray(out, float).reshape(-1)

    # ------------------------------------------------------------------------------------------
    # deconvolution
    # ------------------------------------------------------------------------------------------
    def epsilon_override(self, component_id: int) -> float | None:
        return self._state.overrides.get(int(component_id)) if self._state is not None else None

    def deconvolution_request(self, ids=None, *, epsilon: float | None = None, p: int | None = None,
                              s_min: float | None = None, use_global: bool = False) -> DeconvRequest:
        """Prepare a rerun of deconvolution for ``ids`` (default: all components).

        Parameters
        ----------
        ids : iterable of int, optional
            Components to re-deconvolve; all when None.
        epsilon : float, optional
            A per-component override for these ids. When None each component uses its
            existing override, or else the global ``params.deconvolution.epsilon``; the
            overrides are kept.
        use_global : bool
            Deconvolve these ids with the global epsilon and drop their overrides (the user
            explicitly turned the override off); ignored when ``epsilon`` is given.
        p, s_min : optional
            AR order and minimum spike size; the parameters' values by default (changing them
            here also changes the parameters).
        """
        comps = self._require_components()
        ids = [int(i) for i in comps.ids] if ids is None else self._ids_or_selection(ids)
        if not ids:
            raise UserError("no components to deconvolve")
        dp = self.params.deconvolution
        changes = {k: v for k, v in (("p", p), ("s_min", s_min)) if v is not None}
        if changes:
            self.set_params(self.params.replace("deconvolution", **changes))
            dp = self.params.deconvolution
        if epsilon is not None:
            self.params.replace("deconvolution", epsilon=epsilon)  # range check only
        rows = self.indices_of(ids)
        if epsilon is not None:
            eps = np.full(len(ids), float(epsilon))
        elif use_global:
            eps = np.full(len(ids), float(dp.epsilon))
        else:
            eps = np.array([self._state.overrides.get(i, dp.epsilon) for i in ids], float)
        same_order = comps.g.shape[1] == dp.p and dp.p > 0
        everything = len(rows) == comps.n_components and np.array_equal(rows, np.arange(len(rows)))
        # Components' arrays are never changed in place, so the worker may read them directly.
        traces = comps.F if everything else comps.F[rows]
        return DeconvRequest(
            ids=np.array(ids, np.int64), traces=np.asarray(traces, float), epsilon=eps,
            sn=np.array(comps.sn[rows], float), g=np.array(comps.g[rows], float) if same_order else None,
            p=dp.p, s_min=dp.s_min, baseline=dp.baseline, method=dp.method,
            override=epsilon is not None, clear_overrides=epsilon is None and use_global)

    def apply_deconvolution(self, request: DeconvRequest, result) -> list[int]:
        """Put a finished rerun's traces in place (undoable); statuses are untouched.

        Components merged away while the rerun ran are skipped; returns the ids updated.
        """
        comps = self._require_components()
        keep = [j for j, i in enumerate(request.ids) if self.has(int(i))]
        if not keep:
            return []
        ids = [int(request.ids[j]) for j in keep]
        rows = self.indices_of(ids)
        keep = np.array(keep, np.intp)
        g = np.asarray(result.g, float).reshape(len(request.ids), -1)[keep]
        g_all = comps.g
        if g.shape[1] != g_all.shape[1]:
            # The AR order changed: every component's g gets the new width (zeros where not rerun).
            g_all = np.zeros((comps.n_components, g.shape[1]))
            width = min(g.shape[1], comps.g.shape[1])
            g_all[:, :width] = comps.g[:, :width]
        new = dataclasses.replace(
            comps, C=_replace_rows(comps.C, rows, np.asarray(result.c)[keep]),
            S=_replace_rows(comps.S, rows, np.asarray(result.s)[keep]),
            baseline=_replace_rows(comps.baseline, rows, np.asarray(result.b)[keep]),
            sn=_replace_rows(comps.sn, rows, np.asarray(result.sn)[keep]),
            epsilon=_replace_rows(comps.epsilon, rows, np.asarray(result.epsilon)[keep]),
            g=_replace_rows(g_all, rows, g), lam=_replace_rows(comps.lam, rows, np.asarray(result.lam)[keep]))
        overrides = dict(self._state.overrides)
        for i, e in zip(ids, np.asarray(request.epsilon)[keep]):
            # Overrides change only when the user set or cleared them for these ids.
            if request.override:
                overrides[i] = float(e)
            elif request.clear_overrides:
                overrides.pop(i, None)
        eps = sorted(set(float(e) for e in np.asarray(request.epsilon)[keep]))
        entry = {"action": "deconvolution", "ids": ids, "epsilon": eps[0] if len(eps) == 1 else eps,
                 "override": request.override, "clear_override": request.clear_overrides,
                 "p": request.p, "s_min": request.s_min}
        n = len(ids)
        self._do(Edit("deconvolution", f"Deconvolve {n} component{'s' * (n != 1)}", entry, self._state,
                      self._state.with_changes(components=new, overrides=overrides), ids=tuple(ids)))
        return ids

    def preview_deconvolution(self, component_id: int, epsilon: float):
        """Deconvolve one component with ``epsilon`` for a live preview (changes nothing).

        Uses the fast solver whatever the parameters say, since it runs as a slider moves.
        Emits ``preview`` with the result and returns it.
        """
        from cnmf_gui.engine import deconvolve
        comps = self._require_components()
        r = self.index_of(component_id)
        dp = self.params.deconvolution
        g = comps.g[r] if comps.g.shape[1] == dp.p and dp.p > 0 else None
        result = deconvolve(np.asarray(comps.F[r], float), p=dp.p, g=g, sn=float(comps.sn[r]),
                            epsilon=float(epsilon), s_min=dp.s_min, method="fast", baseline=dp.baseline)
        self.emit("preview", int(component_id), result)
        return result


def _jsonable(value):
    value = np.asarray(value).item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value

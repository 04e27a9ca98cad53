"""The triage queue: the components to judge, one at a time, the least certain first (issue 17).

The order is how close each component's metrics sit to the thresholds of the one rule
(:func:`~cnmf_gui.engine.evaluation.classify`) that gave its status: the components the rule
left undecided come first, then the others by their :func:`margins`, so a few minutes of triage
go where the automatic decision is weakest. Components the user already
decided are left out. Every decision is the session's own command (accept, reject, undecide,
merge), logged and undoable as anywhere else; the queue only remembers where the user is.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.results import STATUS_ACCEPTED, STATUS_REJECTED, STATUS_UNDECIDED

#: margins of r_value and compactness are in units of this (SNR margins are natural-log units)
LINEAR_SCALE = 0.2


def margins(metrics: dict, evaluation, status=None) -> np.ndarray:
    """How far each component is from the rule changing its mind (0: on a threshold).

    An acceptance needs every accept criterion, so its margin is the smallest of (SNR over
    ``min_snr`` in log units, r_value over ``min_r_value`` and compactness over
    ``accept_compactness`` in units of 0.2); a rejection needs one reject criterion, so its
    margin is the largest overshoot past ``snr_lowest``, ``r_value_lowest`` or
    ``min_compactness``; an undecided component's margin is its distance to the nearer of the
    two. A rejection for another reason (duplicate, size) is taken as certain (infinite margin).

    Parameters
    ----------
    metrics : dict of str to ndarray of shape (K,)
        ``snr``, ``r_value`` and, when present, ``compactness``.
    evaluation : EvalParams
    status : ndarray of shape (K,), optional
        The components' statuses (default: the accept/reject criteria above decide).

    Returns
    -------
    ndarray of shape (K,)
    """
    snr = np.maximum(np.nan_to_num(np.asarray(metrics["snr"], float), nan=0.0), 1e-6)
    K = snr.shape[0]
    r = np.nan_to_num(np.asarray(metrics.get("r_value", np.full(K, np.nan)), float), nan=-1.0)
    comp = np.asarray(metrics.get("compactness", np.full(K, np.nan)), float)
    has_comp = np.isfinite(comp)
    accept = np.minimum(np.log(snr / max(evaluation.min_snr, 1e-6)), (r - evaluation.min_r_value) / LINEAR_SCALE)
    accept = np.where(has_comp, np.minimum(accept, (comp - evaluation.accept_compactness) / LINEAR_SCALE), accept)
    reject = np.maximum(np.log(max(evaluation.snr_lowest, 1e-6) / snr), (evaluation.r_value_lowest - r) / LINEAR_SCALE)
    reject = np.where(has_comp, np.maximum(reject, (evaluation.min_compactness - comp) / LINEAR_SCALE), reject)
    if status is None:
        status = np.where(reject > 0, STATUS_REJECTED, np.where(accept >= 0, STATUS_ACCEPTED, STATUS_UNDECIDED))
    status = np.asarray(status)
    out = np.minimum(np.abs(accept), np.abs(reject))            # undecided (and anything else)
    out = np.where(status == STATUS_ACCEPTED, np.abs(accept), out)
    out = np.where(status == STATUS_REJECTED, np.where(reject > 0, reject, np.inf), out)
    return out


def triage_order(session) -> list[int]:
    """Ids of the components nobody decided, undecided ones first, then by increasing margin."""
    comps = session.components
    if comps is None:
        return []
    m = margins(comps.metrics, session.params.evaluation, comps.status)
    free = [k for k in range(comps.n_components) if not session.is_user_decided(int(comps.ids[k]))]
    free.sort(key=lambda k: (comps.status[k] != STATUS_UNDECIDED, m[k], int(comps.ids[k])))
    return [int(comps.ids[k]) for k in free]


def merge_partner(session, component_id: int):
    """The overlapping component whose trace correlates most with this one's (None: no overlap).

    Returns
    -------
    (id, correlation) or None
    """
    comps = session.components
    k = session.index_of(component_id)
    A = sp.csc_matrix(comps.A)
    overlap = np.asarray((A.T @ A[:, k]).todense()).ravel()
    overlap[k] = 0
    near = np.flatnonzero(overlap > 0)
    if near.size == 0:
        return None
    C = comps.C[np.append(near, k)]
    C = C - C.mean(axis=1, keepdims=True)
    norm = np.linalg.norm(C, axis=1)
    corr = C[:-1] @ C[-1] / np.maximum(norm[:-1] * norm[-1], 1e-12)
    best = int(np.argmax(corr))
    return int(comps.ids[near[best]]), float(corr[best])


def footprint_crop(session, component_id: int, view: str = "mean"):
    """A summary image around the component and its footprint there.

    Returns
    -------
    image : ndarray of shape (h, w)
    footprint : ndarray of shape (h, w)
    box : (row0, row1, col0, col1)
    """
    from cnmf_gui.engine.snippets import crop_box

    H, W = session.image_shape
    a = session.components.A[:, session.index_of(component_id)].toarray().reshape(H, W)
    r0, r1, c0, c1 = crop_box(a, margin=1.0, min_margin=6)
    image = session.still_image(view) if session.data.summary is not None else np.zeros((H, W))
    return np.asarray(image, float)[r0:r1, c0:c1], a[r0:r1, c0:c1], (r0, r1, c0, c1)


class TriageQueue:
    """Where the user is in the queue, and the decisions that move through it.

    Parameters
    ----------
    session : Session
    """

    DECISIONS = {"accept": STATUS_ACCEPTED, "reject": STATUS_REJECTED, "undecide": STATUS_UNDECIDED}

    def __init__(self, session):
        self.session = session
        self.ids = triage_order(session)
        self.position = 0
        self.judged: set[int] = set()
        self._before: list = []      # the queue before each decision, for undo

    @property
    def current(self):
        """The id being judged (None once the queue is done or its components are gone)."""
        while self.position < len(self.ids) and not self.session.has(self.ids[self.position]):
            self.ids.pop(self.position)
        return self.ids[self.position] if self.position < len(self.ids) else None

    @property
    def done(self) -> bool:
        return self.current is None

    def progress(self) -> tuple[int, int]:
        """(judged, total) over the queue."""
        return len(self.judged), len(self.ids)

    def decide(self, what: str) -> None:
        """``accept``, ``reject``, ``undecide`` (keep it for the thresholds), then the next
        component; or ``merge`` with its :func:`merge_partner`, the merged one judged next. All
        through the session's commands."""
        cid = self.current
        if cid is None:
            return
        before = (self.position, list(self.ids), set(self.judged))
        if what == "merge":
            from cnmf_gui.errors import UserError

            partner = merge_partner(self.session, cid)
            if partner is None:
                raise UserError(f"component {cid} overlaps no other component to merge with")
            new_id = self.session.merge([cid, partner[0]])
            # The merged component takes this place in the queue, to be judged next.
            self.ids = [i for i in self.ids if i != partner[0]]
            self.position = self.ids.index(cid)
            self.ids[self.position] = new_id
            self._before.append(before)
            self.step(0)
            return
        state = self.session.curation.state
        self.session.set_status([cid], self.DECISIONS[what])
        if self.session.curation.state is not state:      # an edit was made (and can be undone)
            self._before.append(before)
        self.judged.add(cid)
        self.step(1)

    def undo(self) -> bool:
        """Undo the last edit (the session's undo) and go back to where the queue was before it."""
        if not self.session.undo():
            return False
        if self._before:
            self.position, self.ids, self.judged = self._before.pop()
            self.step(0)
        return True

    def step(self, delta: int) -> None:
        """Move forward (1) or back (-1) without deciding."""
        self.position = int(min(max(self.position + delta, 0), len(self.ids)))
        if self.current is not None:
            self.session.select([self.current])

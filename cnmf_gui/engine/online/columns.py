"""Footprint neighbourhoods and the per-pixel statistics on them, grown a column at a time.

The masks (each component's neighbourhood, a CSC pattern of shape (P, K)) carry several values
per entry: the footprint, ``Y C^T`` and the trace-weighted frames. A component found online is
one more column at the end. Concatenating arrays of every entry for it copies all of them (at
512 x 512 with 600 components, 17 MB per new component); here the arrays keep spare capacity
(doubled when full), so adding a column costs its own entries, amortised.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _grown(arr: np.ndarray, used: int, need: int) -> np.ndarray:
    """``arr`` itself when it holds ``need`` entries, else a copy of its first ``used`` with
    twice the room."""
    if need <= arr.shape[0]:
        return arr
    out = np.empty(max(2 * arr.shape[0], need), arr.dtype)
    out[:used] = arr[:used]
    return out


class MaskColumns:
    """A CSC pattern (P, K) with named values per entry, that grows by columns.

    Parameters
    ----------
    masks : csc_matrix of shape (P, K)
        The pattern (sorted indices).
    values : dict of str to ndarray of shape (nnz,)
        Initial values of each named array (its dtype is kept).

    Attributes (views, valid until the next :meth:`append`)
    ----------
    indptr : ndarray of shape (K + 1,), int64
    indices : ndarray of shape (nnz,), int64
    one named attribute per value array, shape (nnz,) (written in place by callers)
    """

    def __init__(self, masks: sp.csc_matrix, values: dict):
        self.P = masks.shape[0]
        self.K = masks.shape[1]
        self.nnz = int(masks.nnz)
        self._indptr = np.asarray(masks.indptr, np.int64).copy()
        self._indices = np.asarray(masks.indices, np.int64).copy()
        self._values = {name: np.array(v) for name, v in values.items()}
        self._expose()

    def __getstate__(self):
        # the views are made again from the arrays they view (a pickled view would be a copy,
        # and writes to it would no longer reach the arrays)
        return {k: v for k, v in self.__dict__.items() if k in ("P", "K", "nnz", "_indptr", "_indices", "_values")}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._expose()

    def _expose(self) -> None:
        self.indptr = self._indptr[:self.K + 1]
        self.indices = self._indices[:self.nnz]
        for name, arr in self._values.items():
            setattr(self, name, arr[:self.nnz])

    def append(self, indices: np.ndarray, values: dict) -> None:
        """One more column with these (sorted) pixel indices and values per named array."""
        n = len(indices)
        end = self.nnz + n
        self._indptr = _grown(self._indptr, self.K + 1, self.K + 2)
        self._indices = _grown(self._indices, self.nnz, end)
        self._indices[self.nnz:end] = indices
        for name in self._values:
            arr = _grown(self._values[name], self.nnz, end)
            arr[self.nnz:end] = values[name]
            self._values[name] = arr
        self._indptr[self.K + 1] = end
        self.K += 1
        self.nnz = end
        self._expose()

    def matrix(self, name: str | None = None) -> sp.csc_matrix:
        """The pattern (ones) or one named array as a csc_matrix (P, K) on these arrays: no copy,
        so it must not be modified in structure (eliminate_zeros etc. on a copy only)."""
        data = np.ones(self.nnz) if name is None else getattr(self, name)
        return sp.csc_matrix((data, self.indices, self.indptr), shape=(self.P, self.K), copy=False)

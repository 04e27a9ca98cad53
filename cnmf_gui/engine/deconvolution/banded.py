"""LDL' factorisation and solves of symmetric positive-definite pentadiagonal matrices (numba).

The active-set solver for AR(2) reduces every step to one system (G G')_II x = rhs on the frames
without a spike; that principal submatrix of a pentadiagonal matrix is again pentadiagonal, so
a banded factorisation solves it in O(n) time and memory.

References
----------
Golub, G. H. & Van Loan, C. F. (2013). Matrix Computations, 4th ed., section 4.3 (banded
Cholesky / LDL').
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def ldl_factor(diag, off1, off2, m, l1, l2, d, invd):
    """Factor the m x m pentadiagonal matrix into unit-lower L (bands l1, l2) and D.

    ``diag[j]`` = A[j, j], ``off1[j]`` = A[j, j+1], ``off2[j]`` = A[j, j+2]. Fills ``d`` and its
    reciprocal ``invd`` (one division per row keeps the serial dependency chain short).
    Returns False if a pivot is not positive (not positive definite to working precision).
    """
    for j in range(m):
        a2 = 0.0
        a1 = 0.0
        if j >= 2:
            a2 = off2[j - 2] * invd[j - 2]
        if j >= 1:
            a1 = off1[j - 1]
            if j >= 2:
                a1 -= a2 * l1[j - 1] * d[j - 2]
            a1 *= invd[j - 1]
        l2[j] = a2
        l1[j] = a1
        dj = diag[j]
        if j >= 1:
            dj -= a1 * a1 * d[j - 1]
        if j >= 2:
            dj -= a2 * a2 * d[j - 2]
        if not dj > 0.0:
            return False
        d[j] = dj
        invd[j] = 1.0 / dj
    return True


@njit(cache=True, nogil=True)
def ldl_solve(l1, l2, invd, m, x):
    """Solve L D L' x = rhs in place (``x`` holds rhs on entry; ``invd`` = 1 / diag(D))."""
    for j in range(1, m):
        x[j] -= l1[j] * x[j - 1]
        if j >= 2:
            x[j] -= l2[j] * x[j - 2]
    for j in range(m):
        x[j] *= invd[j]
    for j in range(m - 2, -1, -1):
        x[j] -= l1[j + 1] * x[j + 1]
        if j + 2 < m:
            x[j] -= l2[j + 2] * x[j + 2]


@njit(cache=True, nogil=True)
def ldl_solve3(l1, l2, invd, m, x, y, z):
    """Solve L D L' for three right-hand sides in one sweep (better memory locality)."""
    for j in range(1, m):
        a = l1[j]
        x[j] -= a * x[j - 1]
        y[j] -= a * y[j - 1]
        z[j] -= a * z[j - 1]
        if j >= 2:
            e = l2[j]
            x[j] -= e * x[j - 2]
            y[j] -= e * y[j - 2]
            z[j] -= e * z[j - 2]
    for j in range(m):
        inv = invd[j]
        x[j] *= inv
        y[j] *= inv
        z[j] *= inv
    for j in range(m - 2, -1, -1):
        a = l1[j + 1]
        x[j] -= a * x[j + 1]
        y[j] -= a * y[j + 1]
        z[j] -= a * z[j + 1]
        if j + 2 < m:
            e = l2[j + 2]
            x[j] -= e * x[j + 2]
            y[j] -= e * y[j + 2]
            z[j] -= e * z[j + 2]

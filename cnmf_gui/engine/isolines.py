"""Iso-lines of an image at one level, with sub-pixel vertices (marching squares).

Footprint outlines drawn along pixel edges are staircases; the iso-line of a footprint at a
fraction of its peak, with each vertex placed by linear interpolation between the two pixel
centres it lies between, follows the cell's real edge. The image is padded with a value below
the level, so every line is a closed loop. Saddle cells (two opposite corners above the level)
are resolved by the mean of the four corners.

References
----------
Lorensen & Cline, "Marching cubes: a high resolution 3D surface construction algorithm",
SIGGRAPH 1987 (its 2-D case, marching squares).
"""

from __future__ import annotations

import numpy as np

# Segments per case (corner bits: 1 top-left, 2 top-right, 4 bottom-right, 8 bottom-left),
# as pairs of cell edges: T(op), R(ight), B(ottom), L(eft). Saddles 5 and 10 are resolved below.
_SEGMENTS = {1: (("L", "T"),), 2: (("T", "R"),), 3: (("L", "R"),), 4: (("R", "B"),),
             6: (("T", "B"),), 7: (("L", "B"),), 8: (("B", "L"),), 9: (("T", "B"),),
             11: (("R", "B"),), 12: (("L", "R"),), 13: (("T", "R"),), 14: (("L", "T"),)}
_SADDLE = {(5, True): (("T", "R"), ("B", "L")), (5, False): (("L", "T"), ("R", "B")),
           (10, True): (("L", "T"), ("R", "B")), (10, False): (("T", "R"), ("B", "L"))}


def isolines(image: np.ndarray, level: float) -> list[np.ndarray]:
    """Closed iso-lines of ``image`` at ``level``.

    Parameters
    ----------
    image : ndarray of shape (h, w)
    level : float

    Returns
    -------
    list of ndarrays of shape (n, 2)
        [row, col] vertices (pixel (r, c)'s centre is (r, c)), each loop closed (its last
        vertex equals its first); the pixels at or above ``level`` are inside.
    """
    img = np.asarray(image, float)
    low = min(float(np.nanmin(img)) if img.size else 0.0, float(level)) - 1.0
    p = np.pad(np.nan_to_num(img, nan=low), 1, constant_values=low)
    a, b, c, d = p[:-1, :-1], p[:-1, 1:], p[1:, 1:], p[1:, :-1]
    case = (a >= level) * 1 + (b >= level) * 2 + (c >= level) * 4 + (d >= level) * 8
    centre_high = (a + b + c + d) / 4.0 >= level

    def frac(u, v):
        return (level - u) / (v - u) if v != u else 0.5

    def point(i, j, edge):
        # (key of the edge shared with the neighbouring cell, [row, col] in padded coordinates)
        if edge == "T":
            return ("h", i, j), (i, j + frac(a[i, j], b[i, j]))
        if edge == "B":
            return ("h", i + 1, j), (i + 1, j + frac(d[i, j], c[i, j]))
        if edge == "L":
            return ("v", i, j), (i + frac(a[i, j], d[i, j]), j)
        return ("v", i, j + 1), (i + frac(b[i, j], c[i, j]), j + 1)

    ends: dict = {}          # edge key -> [(segment index, position 0/1)]
    segments = []
    for i, j in zip(*np.nonzero((case > 0) & (case < 15))):
        k = int(case[i, j])
        pairs = _SADDLE[(k, bool(centre_high[i, j]))] if k in (5, 10) else _SEGMENTS[k]
        for e1, e2 in pairs:
            (k1, p1), (k2, p2) = point(i, j, e1), point(i, j, e2)
            n = len(segments)
            segments.append(((k1, p1), (k2, p2)))
            ends.setdefault(k1, []).append((n, 0))
            ends.setdefault(k2, []).append((n, 1))
    used = np.zeros(len(segments), bool)
    loops = []
    for start in range(len(segments)):
        if used[start]:
            continue
        used[start] = True
        (k0, p0), (key, p) = segments[start]
        pts = [p0, p]
        while key != k0:
            nxt = [(n, e) for n, e in ends.get(key, []) if not used[n]]
            if not nxt:
                break
            n, e = nxt[0]
            used[n] = True
            key, p = segments[n][1 - e]
            pts.append(p)
        loops.append(np.asarray(pts, float) - 1.0)      # back from the padded grid
    return loops

"""Quality metrics of components and the automatic accept / reject.

Per component: the SNR of its trace (peak of the denoised trace over the noise of the raw
trace), its spatial consistency ``r_value`` (the Pearson correlation between the footprint and
the movie averaged over the component's transients, background removed, on the footprint's
support), its area and shape (compactness, elongation, flatness). Thresholds from :class:`~cnmf_gui.params.EvalParams`
turn them into an initial status and the reason for it (:func:`classify`): 1 accepted,
-1 rejected, 0 undecided (the user decides), 2 inactive (a silent soma of the mean image).

References
----------
Giovannucci A. et al. (2019) CaImAn an open source tool for scalable calcium imaging data
analysis. eLife 8:e38173 (spatial footprint consistency and trace SNR as acceptance criteria).
Pnevmatikakis E. A. et al. (2016) Neuron 89(2):285-299.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.consistency import spatial_consistency
from cnmf_gui.engine.footprints import GAUSSIAN_FLATNESS, areas, compactness, elongation, flatness
from cnmf_gui.engine.streaming import movie_shape
from cnmf_gui.results import STATUS_ACCEPTED, STATUS_INACTIVE, STATUS_REJECTED, STATUS_UNDECIDED


def trace_snr(C: np.ndarray, sn: np.ndarray) -> np.ndarray:
    """Peak of each denoised trace over the noise of its raw trace, shape (K,)."""
    C = np.atleast_2d(C)
    peak = C.max(axis=1) if C.shape[1] else np.zeros(C.shape[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sn > 0, peak / np.where(sn > 0, sn, 1.0), np.where(peak > 0, np.inf, 0.0))


def _ids(values) -> list[str]:
    return [str(int(v)) if np.isfinite(v) else "" for v in values]


#: Fewest accepted components whose median flatness is a trustworthy reference for the movie's somata.
MIN_FLATNESS_REFERENCE = 10


def _blurred(flat, accepted: np.ndarray, fraction: float) -> np.ndarray:
    """Components blurred like a source out of the focal plane, shape (K,) bool.

    Blurred means both bell-shaped (flatness, see :func:`.footprints.flatness`, no more than a
    Gaussian's) and clearly blurrier than the movie's own somata (under ``fraction`` times the
    median flatness of the ``accepted`` components). The first alone is not enough: on real
    movies with somata of a few pixels' radius (mouse2p), in-focus cells score 0.2-0.6 (median
    0.32) because the optics and the pixels blur them too, while the out-of-focus blobs, pieces
    of neuropil and a second outline on a bright cell there score 0.11-0.18. On the realistic
    synthetic movies the somata score a median of 0.48 and the out-of-focus cells 0.2-0.3
    (they made 60 % of the accepted false positives). Not judged (all False) with fewer than
    MIN_FLATNESS_REFERENCE accepted components.
    """
    flat = np.nan_to_num(np.asarray(flat, float), nan=np.inf)
    ref = flat[accepted & np.isfinite(flat)]
    if len(ref) < MIN_FLATNESS_REFERENCE:
        return np.zeros(len(flat), bool)
    return flat <= min(GAUSSIAN_FLATNESS, fraction * float(np.median(ref)))


#: Fewest components whose median area is a trustworthy reference for the movie's somata.
MIN_AREA_REFERENCE = 10


def soma_area(area: np.ndarray, somata: np.ndarray, disc: float) -> float:
    """A soma's area here, px: the median area of ``somata`` (the components every rule but the
    soma's size accepts), or ``disc`` with fewer than MIN_AREA_REFERENCE of them.

    The components' areas are measured as the disc's radius is estimated (pixels above 20 % of
    the peak, see :mod:`.neuron_size`), but the estimate comes from blobs of the summary images,
    before any component exists; once the somata are found, their own areas say what a soma's
    size is with no estimate in between. On the 48 movies of the realistic sweep the radius
    estimate is within -15 % to +13 % of the true cells' median shape radius, so its disc was
    0.72 to 1.27 times the typical cell's shape: at the high end, true cells at 0.44-0.50 discs
    were called smaller than a soma although their footprint was the true one.

    Parameters
    ----------
    area : ndarray of shape (K,)
        Shape areas, px.
    somata : ndarray of shape (K,) bool
    disc : float
        Area of the disc of the estimated soma radius, px (0: none).

    Returns
    -------
    float
    """
    ref = np.asarray(area, float)[np.asarray(somata, bool)]
    if len(ref) < MIN_AREA_REFERENCE:
        return float(disc)
    return float(np.median(ref))


def classify(metrics: dict, params, *, neuron_radius: float | None = None, explain: bool = False):
    """Initial status from the metrics and EvalParams thresholds: the one thresholding rule.

    In order, the first rule that applies decides (and gives the reason):

    - inactive (2), "inactive: no events": a soma found in the mean image
      (``from_mean_image``) whose trace's SNR is below ``min_snr``;
    - rejected (-1), "duplicate of N" / "fragment of N": another component holds this cell
      (``duplicate_of``) or this activity (``fragment_of``; see :mod:`.duplicates`);
    - rejected, "too small" / "too large": area below ``min_area`` or ``min_area_discs`` discs
      of the soma radius, above ``max_area`` or ``max_area_discs`` discs;
    - rejected, "not compact": less compact than ``min_compactness``, or than
      ``accept_compactness`` with r_value below ``min_r_value`` (sprawling neuropil or noise;
      on the real mouse2p movie median compactness 0.35 against 0.89 for cells);
    - rejected, "low SNR" / "low spatial consistency": SNR below ``snr_lowest``, r_value below
      ``r_value_lowest`` or undefined;
    - accepted (1): SNR >= ``min_snr`` and r_value >= ``min_r_value`` or the demixed r_value
      (see :func:`spatial_consistency`) >= ``min_r_value_demixed`` (reason empty), unless
      smaller than ``accept_area_discs`` times a soma's area ("smaller than a soma"; the median
      area of the components every other rule accepts, see :func:`soma_area`) or less compact than
      ``accept_compactness`` ("irregular shape"), longer than ``accept_elongation`` times its
      width ("elongated: a process?") or blurred ("blurred: out of focus?": a
      profile no flatter than a Gaussian bell and under ``accept_flatness`` times the median
      flatness of the components accepted, see :func:`_blurred`): those are undecided;
    - undecided (0) otherwise, "SNR below min_snr" or "r_value below min_r_value".

    Parameters
    ----------
    metrics : dict of str to ndarray of shape (K,)
        ``snr``, ``r_value``, ``area``; optionally ``r_value_demixed``, ``compactness``,
        ``elongation``, ``flatness``, ``from_mean_image``,
        ``duplicate_of``, ``fragment_of`` (component ids, NaN for none).
    params : EvalParams
    neuron_radius : float, optional
        Soma radius (px) for the ``*_area_discs`` limits (skipped when None or 0).
    explain : bool
        Also return the reasons.

    Returns
    -------
    status : ndarray of shape (K,), int8
    reasons : ndarray of shape (K,), object (str), only when ``explain``
    """
    snr = np.asarray(metrics["snr"], float)
    K = len(snr)
    nan = np.full(K, np.nan)
    r = np.nan_to_num(np.asarray(metrics["r_value"], float), nan=-np.inf)
    area = np.asarray(metrics["area"], float)
    disc = np.pi * float(neuron_radius) ** 2 if neuron_radius else 0.0
    small = area < params.min_area
    large = (area > params.max_area) if params.max_area > 0 else np.zeros(K, bool)
    if disc > 0:
        # Far larger than a soma: background or noise gathered into one footprint (on the demo
        # movie, blobs of 3 to 5 somata's area with r_value 0.2 to 0.5); far smaller: a piece.
        if params.max_area_discs > 0:
            large |= area > params.max_area_discs * disc
        small |= area < params.min_area_discs * disc
    compact = np.nan_to_num(np.asarray(metrics.get("compactness", np.ones(K)), float), nan=0.0)
    sprawling = compact < params.min_compactness if params.min_compactness > 0 else np.zeros(K, bool)
    # irregular and not consistent with the movie either: neuropil, not a cell left to judge
    sprawling |= (compact < params.accept_compactness) & (r < params.min_r_value)
    from_mean = np.nan_to_num(np.asarray(metrics.get("from_mean_image", np.zeros(K)), float)) > 0
    dup = np.asarray(metrics.get("duplicate_of", nan), float)
    frag = np.asarray(metrics.get("fragment_of", nan), float)
    accept = (snr >= params.min_snr) & (r >= params.min_r_value)
    if params.min_r_value_demixed > 0 and "r_value_demixed" in metrics:
        # Consistent once the neighbours' own light is removed, and near-perfectly so: a cell
        # firing with its neighbours (on the realistic movies, 11 of the 12 true cells this
        # rescues score 0.95-1.00; the neuropil sources it would also rescue, 0.84-0.94).
        r_dem = np.nan_to_num(np.asarray(metrics["r_value_demixed"], float), nan=-np.inf)
        accept |= (snr >= params.min_snr) & (r_dem >= params.min_r_value_demixed)

    # rules from last to first, so the first that applies is written last and wins
    status = np.where(accept, STATUS_ACCEPTED, STATUS_UNDECIDED).astype(np.int8)
    reasons = np.where(accept, "", np.where(snr < params.min_snr, "SNR below min_snr",
                                            "r_value below min_r_value")).astype(object)
    # Not accepted without a look: smaller than a soma (out-of-focus somata, boutons, pieces) or
    # irregular (dendrites, neuropil). On the realistic synthetic movies true somata scored at
    # least ~0.5 disc and 0.56 compactness, most false positives less; real somata with a
    # stretch of dendrite attached (mouse2p) score 0.52-0.58: 0.55 is between the two.
    doubt = [(compact < params.accept_compactness, "irregular shape")]
    if params.accept_elongation > 0 and "elongation" in metrics:
        # Twice as long as wide: a stretch of process, not a soma. On the realistic synthetic
        # movies, 23 of the 39 accepted false positives left by the other rules, 7 of 721 cells;
        # on mouse2p no accepted component is above 1.5.
        long = np.nan_to_num(np.asarray(metrics["elongation"], float), nan=1.0) > params.accept_elongation
        doubt.append((long, "elongated: a process?"))
    soma = soma_area(area, accept & ~np.logical_or.reduce([m for m, _ in doubt]) & ~(large | small | sprawling)
                     & ~np.isfinite(dup) & ~np.isfinite(frag), disc)
    if soma > 0:
        doubt.insert(1, (area < params.accept_area_discs * soma, "smaller than a soma"))
    if params.accept_flatness > 0 and "flatness" in metrics:
        # the reference: what every other rule accepts
        somata = accept & ~np.logical_or.reduce([m for m, _ in doubt]) & ~(large | small | sprawling) \
            & ~np.isfinite(dup) & ~np.isfinite(frag)
        doubt.append((_blurred(metrics["flatness"], somata, params.accept_flatness), "blurred: out of focus?"))
    for mask, why in doubt:         # the first that applies gives the reason
        mask = mask & (status == STATUS_ACCEPTED)
        status[mask] = STATUS_UNDECIDED
        reasons[mask] = why
    rules = [
        (r < params.r_value_lowest, STATUS_REJECTED, "low spatial consistency"),
        (snr < params.snr_lowest, STATUS_REJECTED, "low SNR"),
        (sprawling, STATUS_REJECTED, "not compact"),
        (large, STATUS_REJECTED, "too large"),
        (small, STATUS_REJECTED, "too small"),
    ]
    for mask, code, why in rules:
        status[mask] = code
        reasons[mask] = why
    for values, why in ((frag, "fragment of "), (dup, "duplicate of ")):
        mask = np.isfinite(values)
        status[mask] = STATUS_REJECTED
        reasons[mask] = [why + t for t in _ids(values[mask])]
    silent = from_mean & ~(snr >= params.min_snr)
    status[silent] = STATUS_INACTIVE
    reasons[silent] = "inactive: no events"
    return (status, reasons) if explain else status


def evaluate(movie, A: sp.csc_matrix, C: np.ndarray, sn: np.ndarray, mean_image: np.ndarray,
             params, *, b=None, f=None, chunk_frames: int = 500, neuron_radius: float | None = None,
             demixed: bool = False, progress=None) -> tuple[dict, np.ndarray]:
    """Metrics and initial status of every component.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    A : csc_matrix of shape (H*W, K)
    C : ndarray of shape (K, T)
        Denoised traces.
    sn : ndarray of shape (K,)
        Noise of the raw traces.
    mean_image : ndarray of shape (H, W)
    params : EvalParams
    b, f : background, optional (see :func:`spatial_consistency`)
    neuron_radius : float, optional
        Expected soma radius (px), for the area limit ``params.max_area_discs``.
    demixed : bool
        Also measure ``r_value_demixed`` (see :func:`spatial_consistency`): only meaningful when
        ``A`` holds every component of the field (the pipeline's review), not a few new ones.

    Returns
    -------
    metrics : dict of str to ndarray of shape (K,)
        ``snr``, ``r_value``, ``area`` (px), ``compactness``, ``elongation``, ``flatness``,
        and ``r_value_demixed`` when asked.
    status : ndarray of shape (K,), int8
    """
    _, H, W = movie_shape(movie)
    r = spatial_consistency(movie, A, C, mean_image, b, f, demixed=demixed, chunk_frames=chunk_frames,
                            progress=progress)
    metrics = {
        "snr": trace_snr(C, np.asarray(sn, float)),
        "r_value": r[0] if demixed else r,
        "area": areas(A),
        "compactness": compactness(A, (H, W)),
        "elongation": elongation(A, (H, W)),
        "flatness": flatness(A),
    }
    if demixed:
        metrics["r_value_demixed"] = r[1]
    return metrics, classify(metrics, params, neuron_radius=neuron_radius)

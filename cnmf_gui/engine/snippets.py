"""Event snippets: short movie crops around a component's strongest events, and their average.

To judge whether a component is a cell, one looks at the movie where its trace has events: a
soma lights up inside its footprint; neuropil, a neighbour or a motion artefact light up
elsewhere or everywhere. For the top N events of the deconvolved activity S (peaks at least
``after`` frames apart), the crop around the footprint is cut from ``before`` frames before to
``after`` frames after the event, the background model is subtracted, and each pixel's mean over
the frames before the event is removed (so a crop shows the change, dF). The mean of the crops is
the event-triggered average.

Only events a person could see are cut: given the trace's noise and AR coefficients, an event
whose calcium response (S times the peak of the AR impulse response, which for AR(2) kinetics
with a resolved rise is many times S itself) is below ``min_snr`` noise standard deviations is
left out. Otherwise a cell with one large event shows it beside seven crops of noise.

:func:`footprint_contrast` sums the average up as one number: the mean response inside the
footprint over the mean absolute response outside it, in the frames after the event.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from cnmf_gui.engine.deconvolution.ar2_chain import impulse_tables
from cnmf_gui.engine.movie_window import read_window


@dataclass
class EventSnippets:
    """Crops of a component's top events.

    Attributes
    ----------
    crops : ndarray of shape (N, L, h, w), float32
        dF crops (background and pre-event level removed), L = before + 1 + after frames.
    average : ndarray of shape (L, h, w), float32
        Event-triggered average of the crops (zeros when N = 0).
    frames : ndarray of shape (N,), int
        Frame of each event (the event is frame ``before`` of its crop).
    amplitudes : ndarray of shape (N,)
        S at each event.
    before : int
        Frames shown before the event.
    box : (int, int, int, int)
        (row0, row1, col0, col1) of the crop in the field of view.
    footprint : ndarray of shape (h, w)
        The component's footprint on the crop.
    """

    crops: np.ndarray
    average: np.ndarray
    frames: np.ndarray
    amplitudes: np.ndarray
    before: int
    box: tuple
    footprint: np.ndarray

    @property
    def n_events(self) -> int:
        return int(self.crops.shape[0])


#: Smallest event shown: its calcium response, in noise standard deviations of the trace.
MIN_EVENT_SNR = 3.0
#: Longest impulse response looked at for its peak (an AR(2) kernel peaks within a few hundred).
IMPULSE_FRAMES = 100_000


def impulse_peak(g) -> float:
    """Peak of the AR impulse response h (h_0 = 1, h_t = g_1 h_{t-1} + g_2 h_{t-2}): the calcium
    response, in units of S, to one unit of S. 1 for AR(1) or no kinetics.

    Parameters
    ----------
    g : array-like of shape (p,), p = 0, 1 or 2
    """
    g = np.ravel(np.asarray(g if g is not None else [], float))
    if g.size == 0:
        return 1.0
    # The solver's own table of the response (until it vanishes; at most IMPULSE_FRAMES long).
    h = impulse_tables(float(g[0]), float(g[1]) if g.size > 1 else 0.0, IMPULSE_FRAMES)[0]
    return float(h.max())


def top_events(spikes: np.ndarray, n_events: int, separation: int, before: int, after: int,
               min_value: float = 0.0) -> np.ndarray:
    """Frames of the ``n_events`` largest values of ``spikes`` at least ``separation`` apart.

    Events whose window (``before`` frames before, ``after`` after) leaves the movie are skipped,
    and so are values not above ``min_value``.

    Parameters
    ----------
    spikes : ndarray of shape (T,)
    n_events, separation, before, after : int
    min_value : float

    Returns
    -------
    ndarray of shape (<= n_events,), int, in decreasing order of ``spikes``.
    """
    spikes = np.asarray(spikes, float)
    T = spikes.size
    chosen: list[int] = []
    for t in np.argsort(-spikes, kind="stable"):
        if spikes[t] <= max(min_value, 0.0) or len(chosen) >= n_events:
            break
        if t < before or t + after >= T:
            continue
        if all(abs(int(t) - c) >= separation for c in chosen):
            chosen.append(int(t))
    return np.array(chosen, dtype=int)


def crop_box(footprint: np.ndarray, margin: float = 0.5, min_margin: int = 4) -> tuple:
    """(row0, row1, col0, col1): the footprint's box (pixels above 20 % of its peak), widened on
    each side by ``margin`` times its size (at least ``min_margin`` px), inside the image."""
    H, W = footprint.shape
    rows, cols = np.nonzero(footprint > 0.2 * footprint.max())
    if rows.size == 0:
        raise ValueError("the component's footprint is empty")
    dr = max(int(np.ceil(margin * (rows.max() - rows.min() + 1))), min_margin)
    dc = max(int(np.ceil(margin * (cols.max() - cols.min() + 1))), min_margin)
    return (max(rows.min() - dr, 0), min(rows.max() + 1 + dr, H), max(cols.min() - dc, 0), min(cols.max() + 1 + dc, W))


def event_snippets(movie, footprint, spikes, *, before: int, after: int, n_events: int = 8,
                   b=None, f=None, noise: float | None = None, g=None,
                   min_snr: float = MIN_EVENT_SNR) -> EventSnippets:
    """Crops of the top events of one component (see the module).

    Parameters
    ----------
    movie : array of shape (T, H, W)
        Motion-corrected movie (a memmap is fine: only the crops are read).
    footprint : ndarray or sparse of shape (H*W,) or (H*W, 1)
        The component's footprint, pixel index ``row * W + col``.
    spikes : ndarray of shape (T,)
        Its deconvolved activity S.
    before, after : int
        Frames before and after each event (1 s and 2 s at the movie's frame rate).
    n_events : int
    b : ndarray of shape (H*W, nb), optional
    f : ndarray of shape (nb, T), optional
        Background model, subtracted from the crops.
    noise : float, optional
        Noise standard deviation of the trace (the component's ``sn``); with it, events whose
        response is below ``min_snr`` of it are left out.
    g : array-like of shape (p,), optional
        The component's AR coefficients (its kernel turns S into a response).
    min_snr : float

    Returns
    -------
    EventSnippets
    """
    T, H, W = movie.shape
    if sp.issparse(footprint):
        footprint = footprint.toarray()
    a = np.asarray(footprint, float).reshape(H, W)
    r0, r1, c0, c1 = crop_box(a)
    floor = 0.0
    if noise is not None and np.isfinite(noise) and noise > 0:
        floor = min_snr * float(noise) / impulse_peak(g)
    frames = top_events(spikes, n_events, max(after, 1), before, after, min_value=floor)
    L = before + 1 + after
    crops = np.zeros((frames.size, L, r1 - r0, c1 - c0), np.float32)
    bg = None
    if b is not None and f is not None and np.asarray(b).size:
        idx = (np.arange(r0, r1)[:, None] * W + np.arange(c0, c1)[None]).ravel()
        bg = (np.asarray(b, float)[idx], np.asarray(f, float))
    for n, t in enumerate(frames):
        crop = read_window(movie, (t - before, t + after + 1), (r0, r1), (c0, c1)).astype(float)
        if bg is not None:
            crop = crop - (bg[0] @ bg[1][:, t - before:t + after + 1]).T.reshape(crop.shape)
        # dF: what changed since just before the event (resting fluorescence, texture gone).
        crops[n] = crop - crop[:max(before, 1)].mean(axis=0)
    average = crops.mean(axis=0) if frames.size else np.zeros((L, r1 - r0, c1 - c0), np.float32)
    return EventSnippets(crops=crops, average=average.astype(np.float32), frames=frames,
                         amplitudes=np.asarray(spikes, float)[frames], before=int(before),
                         box=(int(r0), int(r1), int(c0), int(c1)), footprint=a[r0:r1, c0:c1])


def footprint_contrast(snippets: EventSnippets, window: int | None = None) -> float:
    """Mean event response inside the footprint over the mean absolute response outside it.

    The response is the event-triggered average over the ``window`` frames from the event on
    (default: all frames after it). Inside is the footprint above 20 % of its peak; outside is
    the rest of the crop beyond a 1-pixel rim. A cell that lights up in its own footprint scores
    well above 1; neuropil or a neighbour's activity, about 1 or less. NaN without events.
    """
    if snippets.n_events == 0:
        return float("nan")
    from scipy import ndimage

    start = snippets.before
    stop = snippets.average.shape[0] if window is None else min(start + window, snippets.average.shape[0])
    response = snippets.average[start:stop].mean(axis=0)
    inside = snippets.footprint > 0.2 * snippets.footprint.max()
    outside = ~ndimage.binary_dilation(inside, iterations=1)
    if not outside.any():
        return float("nan")
    return float(response[inside].mean() / max(np.abs(response[outside]).mean(), 1e-12))

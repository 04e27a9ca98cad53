"""Does a movie look one-photon? A smooth background that dominates the fluctuations.

In a one-photon movie most of what changes from frame to frame is out-of-focus fluorescence,
smooth over tens of pixels; in a two-photon movie it is cells and shot noise, which a broad
spatial smoothing averages away. The share of the (detrended) temporal variance that survives a
Gaussian smoothing of 1/32 of the frame tells the two apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from cnmf_gui.engine.streaming import movie_shape

__all__ = ["OnePhotonVerdict", "looks_one_photon"]

#: Share of the fluctuations that is smooth above which a movie looks one-photon. Measured:
#: synthetic one-photon 256 x 256-like fields 0.41-0.46 (0.25 for a 64 x 64 one at 3x
#: background); two-photon: mouse2p 0.05, Allen 0.02-0.05, synthetic 0.06-0.11, and the
#: 64 x 64 thunder movie, whose cells are 1-2 px and fire together, 0.27.
SMOOTH_SHARE = 0.3


@dataclass
class OnePhotonVerdict:
    one_photon: bool
    smooth_share: float

    def describe(self) -> str:
        return (f"{100 * self.smooth_share:.0f} % of its frame-to-frame fluctuation is a smooth background")


def looks_one_photon(movie, *, n_blocks: int = 8, block_frames: int = 25) -> OnePhotonVerdict:
    """Sample a few blocks of frames across the movie and measure the smooth share.

    Parameters
    ----------
    movie : array-like of shape (T, H, W)
    n_blocks, block_frames : int
        Blocks of consecutive frames read, evenly spread.

    Returns
    -------
    OnePhotonVerdict
    """
    T, H, W = movie_shape(movie)
    n = min(n_blocks, max(1, T // max(block_frames, 1)))
    starts = np.linspace(0, max(T - block_frames, 0), n).astype(int)
    # A few frames at a time (the sample is read twice): the whole sample as float64 with its
    # detrended and smoothed copies was 6.5 GB at 1024 x 1024, the run's peak (issue 16).
    spans = [(s, min(s + block_frames, T)) for s in starts]
    t = np.concatenate([np.arange(a, b) for a, b in spans]).astype(float)
    if len(t) < 3:
        return OnePhotonVerdict(False, 0.0)
    mean_t, scale_t = t.mean(), max(t.std(), 1.0)
    step = max(1, 2**23 // (H * W))        # frames per piece: 64 MB of float64
    spans = [(c, min(c + step, b)) for a, b in spans for c in range(a, b, step)]

    def block(a, b):
        basis = np.vstack([np.ones(b - a), (np.arange(a, b) - mean_t) / scale_t]).T
        return basis, np.asarray(movie[a:b], np.float32).reshape(b - a, -1).astype(np.float64)

    # slow trends (bleaching, drift) are neither cells nor the fluctuating background:
    # least squares on [1, t] per pixel, from the normal equations summed over blocks
    gram, proj = np.zeros((2, 2)), np.zeros((2, H * W))
    for a, b in spans:
        basis, flat = block(a, b)
        gram += basis.T @ basis
        proj += basis.T @ flat
    coef = np.linalg.lstsq(gram, proj, rcond=None)[0]
    sigma = max(max(H, W) / 32.0, 4.0)
    total = smooth = 0.0
    for a, b in spans:
        basis, flat = block(a, b)
        D = (flat - basis @ coef).reshape(b - a, H, W)
        S = ndimage.gaussian_filter(D, (0, sigma, sigma), mode="nearest")
        total += float(np.sum(D ** 2))
        smooth += float(np.sum(S ** 2))
    share = smooth / total if total > 0 else 0.0
    return OnePhotonVerdict(share >= SMOOTH_SHARE, share)

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
    blocks = [np.asarray(movie[s:s + block_frames], np.float32) for s in starts]
    X = np.concatenate(blocks)
    if X.shape[0] < 3:
        return OnePhotonVerdict(False, 0.0)
    # slow trends (bleaching, drift) are neither cells nor the fluctuating background
    t = np.concatenate([np.arange(s, s + len(b)) for s, b in zip(starts, blocks)]).astype(float)
    basis = np.vstack([np.ones_like(t), (t - t.mean()) / max(t.std(), 1.0)]).T
    flat = X.reshape(len(X), -1).astype(np.float64)
    coef, *_ = np.linalg.lstsq(basis, flat, rcond=None)
    D = (flat - basis @ coef).reshape(X.shape)
    sigma = max(max(H, W) / 32.0, 4.0)
    S = ndimage.gaussian_filter(D, (0, sigma, sigma), mode="nearest")
    total = float(np.mean(D ** 2))
    share = float(np.mean(S ** 2)) / total if total > 0 else 0.0
    return OnePhotonVerdict(share >= SMOOTH_SHARE, share)

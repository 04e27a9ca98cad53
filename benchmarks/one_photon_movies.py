"""The one-photon benchmark movies (issue 13), made once and cached as .npy + truth pickle."""

from __future__ import annotations

import os
import pickle

import numpy as np

#: name -> generator arguments. "easy": 60 in-focus cells under a background ~6x their resting
#: brightness; "hard": 120 cells, many overlapping, background ~30x resting and ~3x their peak
#: response, vessels, 14 % bleaching, motion up to 6 px; "large": a 480 x 752 field.
MOVIES = {
    "easy": dict(n_frames=2000, shape=(256, 256), n_neurons=60, background_ratio=6.0, peak_ratio=8.0,
                 resting=12.0, min_distance=1.6, motion_px=3.0, bleaching=0.10, n_vessels=3, seed=11),
    "hard": dict(n_frames=2000, shape=(256, 256), n_neurons=120, background_ratio=30.0, peak_ratio=10.0,
                 resting=5.0, min_distance=1.0, motion_px=6.0, bleaching=0.14, n_vessels=4, seed=12),
    "large": dict(n_frames=1000, shape=(480, 752), n_neurons=300, background_ratio=10.0, peak_ratio=8.0,
                  resting=10.0, min_distance=1.3, motion_px=4.0, bleaching=0.10, n_vessels=5, seed=13),
}
#: The same conditions from other seeds of the generator (accuracy changes are judged on more than one)
MOVIES.update({f"{name}-s2": dict(MOVIES[name], seed=MOVIES[name]["seed"] + 10) for name in ("easy", "hard")})
#: A short movie for a same-moment time ratio with Minian (one Minian run on 2,000 frames takes hours here)
MOVIES["easy-500"] = dict(MOVIES["easy"], n_frames=500)


def movie_paths(cache: str, name: str) -> tuple[str, str]:
    return os.path.join(cache, f"onep_{name}.npy"), os.path.join(cache, f"onep_{name}_truth.pkl")


def ensure_movie(cache: str, name: str):
    """(path of the .npy movie, SyntheticMovie truth without its movie), made if missing."""
    from cnmf_gui.synthetic.one_photon import make_one_photon_movie

    os.makedirs(cache, exist_ok=True)
    mpath, tpath = movie_paths(cache, name)
    if not (os.path.exists(mpath) and os.path.exists(tpath)):
        synth = make_one_photon_movie(frame_rate=20.0, **MOVIES[name])
        np.save(mpath + ".tmp.npy", synth.movie)
        os.replace(mpath + ".tmp.npy", mpath)
        synth.movie = None
        with open(tpath + ".tmp", "wb") as fh:
            pickle.dump(synth, fh)
        os.replace(tpath + ".tmp", tpath)
    with open(tpath, "rb") as fh:
        return mpath, pickle.load(fh)


if __name__ == "__main__":
    import sys
    cache = sys.argv[1]
    for name in sys.argv[2:] or ["easy", "hard"]:
        print(name, ensure_movie(cache, name)[0])

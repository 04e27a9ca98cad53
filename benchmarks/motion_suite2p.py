"""suite2p's registration on a saved movie, for benchmarks/motion.py (runs in the peers' venv).

Usage: ``python motion_suite2p.py rigid|nonrigid MOVIE.npy``. Prints one JSON line: seconds
(reference image plus registration, CPU), the per-frame correction in our convention
(``shifts``: (T, 2) rigid, or (T, ny, nx, 2) per block for nonrigid: rigid plus block offsets,
negated: suite2p reports the displacement it removes) and the block centres. Never imported by
the package; suite2p is a benchmark peer only.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main() -> int:
    import torch
    from suite2p.parameters import default_settings
    from suite2p.registration import register

    mode, path = sys.argv[1], sys.argv[2]
    movie = np.load(path)
    T, H, W = movie.shape
    # suite2p registers int16 frames; scaling changes no shift.
    scale = 20000.0 / max(float(np.abs(movie).max()), 1e-9)
    frames = np.round(movie * scale).astype(np.int16)
    settings = default_settings()["registration"]
    device = torch.device("cpu")
    torch.set_num_threads(2)
    nonrigid = mode == "nonrigid"
    block = (min(128, H // 2), min(128, W // 2))   # a block covering the frame crashes suite2p
    t0 = time.perf_counter()
    nimg = min(T, settings["nimg_init"])
    sample = frames[np.linspace(0, T - 1, nimg).astype(int)].copy()
    ref = register.compute_reference(sample, settings=settings, device=device)
    out = np.empty_like(frames)
    res = register.register_frames(frames, ref, f_align_out=out, nonrigid=nonrigid, block_size=block,
                                   device=device, batch_size=100)
    seconds = time.perf_counter() - t0
    yoff, xoff, _, yoff1, xoff1 = res[3][:5]
    info = {"seconds": seconds}
    if nonrigid:
        yblock, xblock, nblocks = res[4][:3]
        ny, nx = nblocks
        dy = (np.asarray(yoff)[:, None] + np.asarray(yoff1)).reshape(T, ny, nx)
        dx = (np.asarray(xoff)[:, None] + np.asarray(xoff1)).reshape(T, ny, nx)
        info["shifts"] = (-np.stack([dy, dx], axis=-1)).tolist()
        info["block_centers_y"] = [float(np.mean(yblock[i * nx])) - 0.5 for i in range(ny)]
        info["block_centers_x"] = [float(np.mean(xblock[j])) - 0.5 for j in range(nx)]
    else:
        info["shifts"] = (-np.stack([yoff, xoff], axis=1).astype(float)).tolist()
    print(json.dumps(info))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

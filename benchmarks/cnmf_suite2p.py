"""suite2p's detection, extraction and deconvolution on a saved movie, for benchmarks/cnmf.py.

Runs in the peers' environment (suite2p is a benchmark peer only, never imported by the
package). Usage: ``python cnmf_suite2p.py MOVIE.npy OUT.npz FS DIAMETER TAU``. The movie is
motion-free, so registration is skipped. Writes each ROI's pixels and weights, its neuropil-
corrected trace (F - 0.7 Fneu) and deconvolved activity to OUT.npz and prints one JSON line of
stage timings
(and the CPU time of all threads).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main() -> int:
    import torch
    from suite2p.detection.detect import detection_wrapper
    from suite2p.extraction.dcnv import oasis, preprocess
    from suite2p.extraction.extract import extraction_wrapper
    from suite2p.parameters import default_settings

    movie_path, out_path = sys.argv[1], sys.argv[2]
    fs, diameter, tau = float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    movie = np.load(movie_path)
    # suite2p works on int16 frames; a common scale changes no detection
    scale = 20000.0 / max(float(np.abs(movie).max()), 1e-9)
    frames = np.round(movie * scale).astype(np.int16)
    del movie
    torch.set_num_threads(2)
    device = torch.device("cpu")
    settings = default_settings()
    times = {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    _, stat, _ = detection_wrapper(frames, diameter=[diameter, diameter], tau=tau, fs=fs,
                                   settings=settings["detection"], device=device)
    times["detection"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    F, Fneu, _, _ = extraction_wrapper(stat, frames, settings=settings["extraction"], device=device)
    times["extraction"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    dF = F - settings["extraction"]["neuropil_coefficient"] * Fneu
    pre = settings["dcnv_preprocess"]
    Fc = preprocess(dF, pre["baseline"], pre["win_baseline"], pre["sig_baseline"], fs,
                    pre["prctile_baseline"], device=device)
    spks = oasis(Fc, batch_size=500, tau=tau, fs=fs)
    times["deconvolution"] = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    counts = [len(s["ypix"]) for s in stat]
    np.savez(out_path, ypix=np.concatenate([s["ypix"] for s in stat]) if stat is not None and len(stat) else [],
             xpix=np.concatenate([s["xpix"] for s in stat]) if len(stat) else [],
             lam=np.concatenate([s["lam"] for s in stat]) if len(stat) else [],
             counts=np.asarray(counts, int), F=dF.astype(np.float32), spks=spks.astype(np.float32))
    print(json.dumps({"stages": times, "cpu_s": cpu, "n_rois": len(counts)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

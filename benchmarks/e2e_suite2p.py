"""suite2p's whole pipeline on one TIFF, for benchmarks/end_to_end.py (runs in the peers' venv).

Usage: ``python e2e_suite2p.py TIFF_FOLDER WORK_FOLDER OUT.npz FS DIAMETER TAU [--no-regmetrics]
[--nonrigid]``.

``run_s2p`` as a user would call it on a folder holding one TIFF: conversion to its binary,
rigid registration (``nonrigid`` off: the synthetic motion is rigid), registration metrics
(suite2p's default; ``--no-regmetrics`` turns them off), detection, extraction, deconvolution
and classification (``--nonrigid``: suite2p's default non-rigid registration instead, for
benchmarks/accuracy.py), on the CPU with two threads (the machine's cores), all other settings at
suite2p 1.1.0's defaults as in benchmarks/cnmf_suite2p.py and benchmarks/motion_suite2p.py.
Afterwards (not part of suite2p's run) its outputs are gathered into OUT.npz in the format
benchmarks/cnmf.py's ``score_suite2p`` reads (each ROI's pixels and weights, the neuropil-
corrected trace F - 0.7 Fneu, the deconvolved activity, its classifier's ``iscell``) plus the
per-frame rigid correction in cnmf_gui's convention (``shifts``, (T, 2): suite2p reports the
displacement it removes, so its offsets are negated, as in motion_suite2p.py; with
``--nonrigid`` the rigid offset plus the mean of the block offsets). Prints one JSON
line: suite2p's own seconds for ``run_s2p`` and its per-stage ``plane_times``.

Never imported by the package; suite2p is a benchmark peer only.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def main() -> int:
    import torch
    from suite2p import run_s2p
    from suite2p.parameters import default_db, default_settings

    tiff_folder, work, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
    fs, diameter, tau = float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
    torch.set_num_threads(2)
    settings = default_settings()
    settings["torch_device"] = "cpu"      # no GPU here; asking for cuda only costs a failed probe
    settings["fs"], settings["tau"], settings["diameter"] = fs, tau, [diameter, diameter]
    settings["registration"]["nonrigid"] = "--nonrigid" in sys.argv[7:]
    settings["run"]["do_registration"] = 1
    settings["run"]["do_detection"] = True
    settings["run"]["do_deconvolution"] = True
    settings["run"]["do_regmetrics"] = "--no-regmetrics" not in sys.argv[7:]
    db = default_db()
    db["data_path"] = [tiff_folder]
    db["save_path0"] = work
    t0 = time.perf_counter()
    run_s2p(db=db, settings=settings)
    seconds = time.perf_counter() - t0

    plane = os.path.join(work, "suite2p", "plane0")
    stat = np.load(os.path.join(plane, "stat.npy"), allow_pickle=True)
    F = np.load(os.path.join(plane, "F.npy"))
    Fneu = np.load(os.path.join(plane, "Fneu.npy"))
    spks = np.load(os.path.join(plane, "spks.npy"))
    ops = np.load(os.path.join(plane, "ops.npy"), allow_pickle=True).item()
    iscell = np.load(os.path.join(plane, "iscell.npy"))[:, 0] > 0.5
    dF = F - settings["extraction"]["neuropil_coefficient"] * Fneu
    counts = np.asarray([len(s["ypix"]) for s in stat], int)

    def cat(key):
        return np.concatenate([s[key] for s in stat]) if len(stat) else np.zeros(0)

    yoff, xoff = np.asarray(ops["yoff"], float), np.asarray(ops["xoff"], float)
    if settings["registration"]["nonrigid"] and "yoff1" in ops:
        # its rigid step is whole pixels; the blocks' mean offset is the rest of the frame's shift
        yoff = yoff + np.asarray(ops["yoff1"], float).mean(axis=1)
        xoff = xoff + np.asarray(ops["xoff1"], float).mean(axis=1)
    shifts = -np.stack([yoff, xoff], axis=1)
    np.savez(out_path, ypix=cat("ypix"), xpix=cat("xpix"), lam=cat("lam"), counts=counts,
             F=dF.astype(np.float32), spks=spks.astype(np.float32), shifts=shifts,
             iscell=iscell)
    times = {k: float(v) for k, v in ops.get("plane_times", {}).items()}
    print(json.dumps({"seconds": seconds, "plane_times": times, "n_rois": int(len(counts))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

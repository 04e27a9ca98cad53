"""Is opening a movie lazy? Time, memory and read throughput on a large TIFF and HDF5 file.

Writes one movie (uint16, 512 x 512 frames, ``--gb`` gigabytes) as an uncompressed BigTIFF and
as an HDF5 dataset chunked by frames, in a temporary folder (deleted at the end), then reports
for each file:

- time to open (goal < 0.5 s) and peak extra memory while opening (goal < 100 MB), both
  measured in a fresh process so that nothing is cached: resident-set high-water mark
  (reset before opening, Linux) and Python allocations (tracemalloc);
- throughput of reading all frames in chunks, as a ratio to ``numpy.memmap`` reading the same
  bytes in the same chunks (goal >= 0.8). The reference is measured alongside the readers,
  after one untimed pass each, in interleaved rounds; the best round of each is
  compared, so page-cache warm-up and busy neighbours favour neither side.

Run: ``python -m benchmarks.io_open [--gb 4] [--dir FOLDER]``. Figures are printed, not
asserted; on a shared machine they vary from run to run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

FRAME = (512, 512)
CHUNK_FRAMES = 64
ROUNDS = 3

_CHILD = r"""
import gc, json, os, resource, sys, time, tracemalloc
import h5py, numpy, tifffile
import cnmf_gui.io
from cnmf_gui.io import open_movie

def rss(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    return 0

gc.collect()
try:  # reset the high-water mark of resident memory (Linux), so VmHWM is the peak of the open
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    reset = True
except OSError:
    reset = False
before = rss("VmRSS:")
tracemalloc.start()
t0 = time.perf_counter()
movie = open_movie(sys.argv[1])
elapsed = time.perf_counter() - t0
_, py_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
peak = rss("VmHWM:") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"open_s": elapsed, "rss_peak_extra": max(peak, rss("VmRSS:")) - before,
                  "py_peak": py_peak, "reset": reset, "shape": movie.shape,
                  "storage": movie.details.get("storage", "")}))
"""


def write_files(folder: str, gb: float, seed: int = 0) -> tuple[str, str, int]:
    """Write the same movie as BigTIFF and as HDF5 (chunks of one frame); returns paths and T."""
    import h5py
    import tifffile

    H, W = FRAME
    T = max(CHUNK_FRAMES, int(gb * 1e9) // (H * W * 2))
    tif_path = os.path.join(folder, "movie.tif")
    h5_path = os.path.join(folder, "movie.h5")
    rng = np.random.default_rng(seed)
    tif = tifffile.memmap(tif_path, shape=(T, H, W), dtype=np.uint16, bigtiff=True, photometric="minisblack")
    with h5py.File(h5_path, "w") as h5:
        ds = h5.create_dataset("movie", shape=(T, H, W), dtype=np.uint16, chunks=(1, H, W))
        for a in range(0, T, CHUNK_FRAMES):
            block = rng.integers(0, 4096, size=(min(CHUNK_FRAMES, T - a), H, W), dtype=np.uint16)
            tif[a:a + len(block)] = block
            ds[a:a + len(block)] = block
    tif.flush()
    del tif
    return tif_path, h5_path, T


def measure_open(path: str) -> dict:
    """Open ``path`` in a fresh interpreter; time and memory of the open alone."""
    done = subprocess.run([sys.executable, "-c", _CHILD, path], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def read_all(chunks) -> float:
    """Seconds to pull every chunk into memory (a sum touches each byte once more, cheaply)."""
    t0 = time.perf_counter()
    total = 0
    for block in chunks:
        total += int(block[:, 0, 0].sum())
    return time.perf_counter() - t0


def reference_chunks(tif_path: str, T: int):
    """numpy.memmap over the TIFF's pixel data, read in the same chunks as the readers."""
    import tifffile

    with tifffile.TiffFile(tif_path) as tif:
        offset = tif.series[0].dataoffset
    mm = np.memmap(tif_path, dtype=np.uint16, mode="r", offset=offset, shape=(T,) + FRAME)
    for a in range(0, T, CHUNK_FRAMES):
        yield np.array(mm[a:a + CHUNK_FRAMES])


def reader_chunks(movie):
    for _, block in movie.iter_chunks(CHUNK_FRAMES):
        yield block


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gb", type=float, default=4.0, help="size of the movie in GB (default 4)")
    parser.add_argument("--dir", help="folder for the temporary files (default: /tmp if it has room, else /work)")
    args = parser.parse_args(argv)
    from cnmf_gui.io import open_movie

    need = 2.2 * args.gb * 1e9
    folder = args.dir
    if folder is None:
        candidates = [tempfile.gettempdir(), "/work"]
        folder = next((c for c in candidates if os.path.isdir(c) and shutil.disk_usage(c).free > need), None)
        if folder is None:
            print(f"not enough free disk for {2 * args.gb:g} GB of test files; pass --dir", file=sys.stderr)
            return 2
    work = tempfile.mkdtemp(prefix="cnmf_gui_io_bench_", dir=folder)
    try:
        t0 = time.perf_counter()
        tif_path, h5_path, T = write_files(work, args.gb)
        size = os.path.getsize(tif_path)
        print(f"wrote {T} x {FRAME[0]} x {FRAME[1]} uint16 ({size / 1e9:.2f} GB) as BigTIFF and HDF5 "
              f"(chunks of 1 frame) in {work} in {time.perf_counter() - t0:.1f} s")
        print(f"reading in chunks of {CHUNK_FRAMES} frames ({CHUNK_FRAMES * FRAME[0] * FRAME[1] * 2 / 1e6:.0f} MB)")

        results = {name: measure_open(path) for name, path in (("BigTIFF", tif_path), ("HDF5", h5_path))}
        with open_movie(tif_path) as tif_movie, open_movie(h5_path) as h5_movie:
            readers = {"numpy.memmap": lambda: reference_chunks(tif_path, T),
                       "BigTIFF": lambda: reader_chunks(tif_movie), "HDF5": lambda: reader_chunks(h5_movie)}
            # One untimed pass each, then interleaved rounds: the best of each reader is compared,
            # so neither the page cache nor a busy neighbour favours one side.
            times: dict[str, list[float]] = {name: [] for name in readers}
            for round_ in range(ROUNDS + 1):
                for name, chunks in readers.items():
                    seconds = read_all(chunks())
                    if round_:
                        times[name].append(seconds)
        ref = min(times["numpy.memmap"])
        for name in results:
            results[name]["read_s"] = min(times[name])

        print(f"\nreference numpy.memmap read: {ref:.2f} s ({size / ref / 1e9:.2f} GB/s; best of {ROUNDS}: "
              + ", ".join(f"{t:.2f}" for t in times["numpy.memmap"]) + ")")
        print(f"{'file':<9}{'open (s)':>10}{'RSS peak +MB':>14}{'py alloc MB':>13}{'read (s)':>10}"
              f"{'GB/s':>7}{'ratio':>8}   storage")
        for name, r in results.items():
            ratio = ref / r["read_s"]
            print(f"{name:<9}{r['open_s']:>10.3f}{r['rss_peak_extra'] / 1e6:>14.1f}{r['py_peak'] / 1e6:>13.2f}"
                  f"{r['read_s']:>10.2f}{size / r['read_s'] / 1e9:>7.2f}{ratio:>8.2f}   {r['storage']}")
        print("\ngoals: open < 0.5 s, RSS peak + < 100 MB, ratio >= 0.8 (ratio = memmap time / reader time)")
        if not all(r["reset"] for r in results.values()):
            print("note: could not reset the RSS high-water mark; RSS figures include interpreter start-up")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

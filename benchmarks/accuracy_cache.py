"""Caches for benchmarks/accuracy.py: the movies, and suite2p's output on each movie.

Re-measuring the sweep after a change to the engine needs neither a new movie nor a new suite2p
run: the movie depends only on its spec and the generator's source, and suite2p's output only on
the movie's bytes and the arguments it is given. Both caches are plain folders of files named by
a SHA-1 key, so a cache can be shared by runs and deleted at any time.

- movies: ``KEY/movie/movie.tif`` and ``KEY/truth.npz``; the key hashes the spec and every
  source file of ``cnmf_gui/synthetic`` (a change to the generator makes new movies).
- suite2p: ``KEY.npz`` (what benchmarks/e2e_suite2p.py wrote) and ``KEY.json`` (its wall time
  and peak memory, as measured when it ran); the key hashes the TIFF's bytes and suite2p's
  command-line arguments.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def movie_key(spec: dict) -> str:
    """SHA-1 of the spec (sorted JSON) and of the generator's source files."""
    digest = hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode())
    for path in sorted((ROOT / "cnmf_gui" / "synthetic").glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def fetch_movie(cache: Path, spec: dict, folder: Path) -> bool:
    """Copy a cached movie and truth into ``folder``; False when the cache has none."""
    src = cache / movie_key(spec)
    if not (src / "movie" / "movie.tif").is_file() or not (src / "truth.npz").is_file():
        return False
    (folder / "movie").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / "movie" / "movie.tif", folder / "movie" / "movie.tif")
    shutil.copyfile(src / "truth.npz", folder / "truth.npz")
    return True


def store_movie(cache: Path, spec: dict, folder: Path) -> None:
    """Copy ``folder``'s movie and truth into the cache (written whole: a temporary name first)."""
    dest = cache / movie_key(spec)
    if (dest / "truth.npz").is_file():
        return
    tmp = cache / (dest.name + ".part")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "movie").mkdir(parents=True)
    shutil.copyfile(folder / "movie" / "movie.tif", tmp / "movie" / "movie.tif")
    shutil.copyfile(folder / "truth.npz", tmp / "truth.npz")
    tmp.rename(dest)


def suite2p_key(tiff: Path, args: list[str]) -> str:
    """SHA-1 of the TIFF's bytes and suite2p's arguments (frame rate, diameter, tau, flags)."""
    digest = hashlib.sha1()
    with open(tiff, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
    digest.update(json.dumps(args).encode())
    return digest.hexdigest()


def fetch_suite2p(cache: Path, key: str, out: Path) -> dict | None:
    """Copy the cached ``suite2p.npz`` to ``out``; its run record (wall_s, peak_mb), or None."""
    npz, meta = cache / f"{key}.npz", cache / f"{key}.json"
    if not npz.is_file() or not meta.is_file():
        return None
    shutil.copyfile(npz, out)
    return json.loads(meta.read_text())


def store_suite2p(cache: Path, key: str, out: Path, run: dict) -> None:
    """Keep suite2p's ``out`` and its run record under ``key`` (each written whole)."""
    cache.mkdir(parents=True, exist_ok=True)
    tmp = cache / f"{key}.npz.part"
    shutil.copyfile(out, tmp)
    tmp.rename(cache / f"{key}.npz")
    record = {k: run[k] for k in ("wall_s", "peak_mb", "load_before", "load_after") if k in run}
    (cache / f"{key}.json.part").write_text(json.dumps(record))
    (cache / f"{key}.json.part").rename(cache / f"{key}.json")

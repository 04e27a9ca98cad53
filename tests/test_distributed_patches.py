"""CNMF patches on dask.distributed: a LocalCluster of 2 worker processes, a worker killed
mid-run, cancellation, and ``cnmf-gui run --scheduler`` on a scheduler + two workers started here.

Every test checks that the worker processes it caused are gone afterwards.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

from cnmf_gui.engine.distributed import DaskExecutor, ReopenableMovie  # noqa: E402
from cnmf_gui.engine.patches import SerialExecutor, fit_patches  # noqa: E402
from cnmf_gui.engine.summary import compute_summary  # noqa: E402
from cnmf_gui.errors import Cancelled  # noqa: E402
from cnmf_gui.io import open_movie  # noqa: E402
from cnmf_gui.params import PipelineParams  # noqa: E402
from cnmf_gui.progress import CallbackProgress  # noqa: E402
from cnmf_gui.session.reopen import MovieOpener  # noqa: E402
from cnmf_gui.synthetic import make_movie  # noqa: E402
from tests.cnmf_scoring import match_footprints  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARAMS = PipelineParams(frame_rate=30.0).replace("cnmf", patch_size=40, patch_overlap=8)


@pytest.fixture(scope="module")
def movie_file(tmp_path_factory):
    """A small synthetic movie on disk (12 neurons, 64 x 64 px, 300 frames): 4 patches of 40 px."""
    synth = make_movie(n_frames=300, shape=(64, 64), n_neurons=12, seed=3)
    path = tmp_path_factory.mktemp("dist") / "movie.npy"
    np.save(path, synth.movie)
    return path


@pytest.fixture(scope="module")
def reference(movie_file):
    """The same patches fitted one after the other in this process: the local path."""
    movie = open_movie(movie_file)
    summary, noise = compute_summary(movie)
    fit = fit_patches(movie, summary, noise, PARAMS, executor=SerialExecutor())
    movie.close()
    return summary, noise, fit


def _helper(process) -> bool:
    """Zombies, and multiprocessing's resource tracker (one per process, ends with it)."""
    try:
        return (process.status() == psutil.STATUS_ZOMBIE
                or "resource_tracker" in " ".join(process.cmdline()))
    except psutil.NoSuchProcess:
        return True


@pytest.fixture
def no_leftovers():
    """Fails the test if a process it started (directly or not) is still alive at the end."""
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    deadline = time.monotonic() + 15
    while True:
        left = [p for p in me.children(recursive=True) if p.pid not in before and not _helper(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    for p in left:
        p.kill()
    assert not left, f"processes left behind: {[p.cmdline()[:3] for p in left]}"


def _reopenable(path, opener=None):
    movie = open_movie(path)
    return ReopenableMovie(movie, opener or MovieOpener(os.fspath(path), movie.shape, {}))


def _same_components(a, b):
    """F1 between two component sets (footprint cosine >= 0.99) and the lowest trace r of pairs."""
    truth = b.A.toarray().T.reshape(b.A.shape[1], 64, 64)
    pairs = match_footprints(a.A, truth, min_cosine=0.99)
    f1 = 2 * len(pairs) / (a.A.shape[1] + b.A.shape[1])
    r = [np.corrcoef(a.temporal.C[i], b.temporal.C[j])[0, 1] for i, j in pairs]
    return f1, min(r)


def test_movie_goes_to_workers_as_its_path_not_its_pixels(movie_file):
    movie = _reopenable(movie_file)
    blob = pickle.dumps(movie)
    assert len(blob) < 2000 < os.path.getsize(movie_file)
    copy = pickle.loads(blob)
    np.testing.assert_array_equal(copy[5:9], movie[5:9])
    copy.release()


def test_patches_on_a_local_cluster_match_the_local_path(movie_file, reference, no_leftovers):
    summary, noise, local = reference
    assert local.A.shape[1] >= 8
    movie = _reopenable(movie_file)
    reports = []
    executor = DaskExecutor(None, n_workers=2)
    try:
        assert executor.n_workers == 2
        fit = fit_patches(movie, summary, noise, PARAMS, executor=executor,
                          progress=CallbackProgress(lambda f, m: reports.append(m)))
        # a movie that only lives here: its patches' pixels are sent to the workers instead
        in_memory = fit_patches(np.load(movie_file), summary, noise, PARAMS, executor=executor)
    finally:
        executor.shutdown()
    for result in (fit, in_memory):
        f1, r = _same_components(result, local)
        assert f1 == 1.0 and r > 0.999, (f1, r)
    assert "patches: 4/4" in reports


class DyingOpener(MovieOpener):
    """Opens the movie, except the first time anywhere: then the worker process is killed."""

    def __call__(self):
        marker = self.movie_options["marker"]
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return open_movie(self.movie_path)
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)   # dies in the middle of its patch


def test_a_worker_killed_mid_run_is_replaced_and_the_run_completes(movie_file, reference, tmp_path,
                                                                   no_leftovers):
    summary, noise, local = reference
    marker = tmp_path / "killed-once"
    opener = DyingOpener(os.fspath(movie_file), (300, 64, 64), {"marker": os.fspath(marker)})
    executor = DaskExecutor(None, n_workers=2)
    try:
        fit = fit_patches(_reopenable(movie_file, opener), summary, noise, PARAMS, executor=executor)
    finally:
        executor.shutdown()
    assert marker.exists()   # a worker did die
    f1, r = _same_components(fit, local)
    assert f1 == 1.0 and r > 0.999, (f1, r)


def test_cancel_stops_the_patches_on_the_cluster(movie_file, reference, no_leftovers):
    summary, noise, _ = reference
    progress = CallbackProgress()
    progress.cancel()
    with pytest.raises(Cancelled):
        fit_patches(_reopenable(movie_file), summary, noise, PARAMS.replace("cnmf", n_workers=2),
                    progress=progress)


def _wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.2)


def test_run_with_scheduler_uses_the_cluster_started_here(movie_file, reference, tmp_path, no_leftovers):
    env = dict(os.environ, PYTHONPATH=ROOT)
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                                       "--port", "0", "--no-dashboard", "--scheduler-file", sched_file],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        _wait_for(sched_file)
        address = json.loads(sched_file.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                                           "--no-dashboard", "--no-nanny"],
                                          env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        params = tmp_path / "params.json"
        params.write_text(json.dumps({"cnmf": {"patch_size": 40, "patch_overlap": 8}}))
        out = tmp_path / "s.h5"
        done = subprocess.run([sys.executable, "-m", "cnmf_gui", "run", os.fspath(movie_file), "--out",
                               os.fspath(out), "--fs", "30", "--no-motion", "--params", os.fspath(params),
                               "--scheduler", address, "--quiet"],
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert f"4 patches of 40 px on dask scheduler {address}" in done.stdout
        with distributed.Client(address, timeout=30) as client:
            # the patches ran on the two workers of this scheduler
            counts = client.run_on_scheduler(
                lambda dask_scheduler: {k: sum(v.state_counts.values())
                                        for k, v in dask_scheduler.task_prefixes.items()})
        assert counts.get("fit_patch_remote", 0) >= 4, counts
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    from cnmf_gui.io import load_session
    data = load_session(out)
    assert data.components.n_components >= 8


def test_a_scheduler_nobody_listens_on_is_one_clear_line(movie_file, tmp_path):
    done = subprocess.run([sys.executable, "-m", "cnmf_gui", "run", os.fspath(movie_file), "--out",
                           os.fspath(tmp_path / "s.h5"), "--fs", "30", "--no-motion",
                           "--scheduler", "tcp://127.0.0.1:9", "--quiet"],
                          env=dict(os.environ, PYTHONPATH=ROOT), capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "cnmf.scheduler" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_a_malformed_scheduler_address_is_refused():
    from cnmf_gui.errors import ParameterError
    with pytest.raises(ParameterError, match="cnmf.scheduler"):
        PipelineParams().replace("cnmf", scheduler="tcp://host:port/path with spaces")
    assert PipelineParams().replace("cnmf", scheduler="tcp://10.0.0.1:8786").cnmf.scheduler

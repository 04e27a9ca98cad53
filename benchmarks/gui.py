"""GUI responsiveness: playback rate, selection latency, event-loop stalls, deconvolution rerun.

Run: ``QT_QPA_PLATFORM=offscreen python -m benchmarks.gui`` (or under Xvfb with DISPLAY set).

Prints, with the goal of each:
- playback frames per second for a 512 x 512 movie with 500 contours drawn (goal >= 60), and
  the same with a bare pyqtgraph ImageItem as the reference measured in this run;
- selection latency from a click on a footprint to updated traces (goal < 50 ms);
- the longest event-loop stall while the worker runs CNMF (goal < 100 ms), from a QTimer
  ticking every 10 ms; the same timer's longest gap while idle is the reference;
- wall time to rerun deconvolution on 500 components of 5,000 frames (goal < 1 s), from the
  click to the traces being in the session;
- seed and split latency on a 512 x 512 x 3,000 movie (uint16 memmap, 500 cells; goal < 1 s
  each): from the Shift+click on a cell left out of the components, and from the S key on a
  merged pair, to the new components in the session, beside the engine's fit alone
  (seed_component, split_component) measured on the same data.

Timings are noisy on a shared machine; nothing here asserts.
"""

from __future__ import annotations

import os
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def synthetic_components(n: int, shape: tuple[int, int], T: int, seed: int = 0):
    """A session with ``n`` disc footprints on a (T, H, W) noise movie (no engine needed)."""
    import scipy.sparse as sp

    from cnmf_gui.params import PipelineParams
    from cnmf_gui.results import Background, Components, SessionData

    rng = np.random.default_rng(seed)
    H, W = shape
    radius = 5
    rr, cc = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    disc = (rr ** 2 + cc ** 2) <= radius ** 2
    rows, cols, vals = [], [], []
    for k in range(n):
        r0, c0 = rng.integers(radius, H - radius), rng.integers(radius, W - radius)
        pr, pc = (rr[disc] + r0), (cc[disc] + c0)
        rows.append(pr * W + pc)
        cols.append(np.full(pr.size, k))
        vals.append(np.exp(-(rr[disc] ** 2 + cc[disc] ** 2) / (2 * (radius / 2) ** 2)))
    A = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(H * W, n))
    spikes = (rng.random((n, T)) < 0.02).astype(float)
    g = 0.95
    C = np.zeros((n, T))
    for t in range(T):
        C[:, t] = (g * C[:, t - 1] if t else 0) + spikes[:, t]
    F = C + 0.3 * rng.standard_normal((n, T)) + 1.0
    comps = Components(A=A, C=C, S=spikes, F=F, dff=F - 1, baseline=np.ones(n), sn=np.full(n, 0.3),
                       epsilon=np.zeros(n), g=np.full((n, 1), g), status=np.zeros(n, np.int8),
                       ids=np.arange(n), metrics={"snr": rng.uniform(1, 10, n), "r_value": rng.uniform(0, 1, n)})
    data = SessionData(movie_path=None, movie_shape=(T, H, W), frame_rate=30.0,
                       params=PipelineParams(frame_rate=30.0), components=comps,
                       background=Background(b=np.ones((H * W, 1)), f=np.ones((1, T))))
    return data


def make_window(data, movie):
    import tempfile

    from PyQt6.QtCore import QSettings

    from cnmf_gui.gui.main_window import MainWindow
    from cnmf_gui.session import Session

    tmp = tempfile.mkdtemp()
    w = MainWindow(Session(), settings=QSettings(os.path.join(tmp, "s.ini"), QSettings.Format.IniFormat))
    w.show()
    w.session.set_data(data, movie=movie)
    return w


def close(w, app) -> None:
    w._closing_ok = True
    w.close()
    app.processEvents()


def measure_playback(app, seconds: float = 3.0) -> tuple[float, float]:
    """Frames painted per second: the window with 500 contours, and a bare ImageItem."""
    import pyqtgraph as pg
    from PyQt6.QtCore import QElapsedTimer

    T, H, W = 200, 512, 512
    rng = np.random.default_rng(1)
    movie = rng.normal(100, 10, (T, H, W)).astype(np.float32)
    data = synthetic_components(500, (H, W), T)
    w = make_window(data, movie)
    view = w.movie_view
    view.set_view("raw")
    painted = [0]
    original = view.left_image.paint

    def counting_paint(*args):
        painted[0] += 1
        return original(*args)
    view.left_image.paint = counting_paint
    view.speed.setValue(1000.0)  # as fast as the loop allows: timer interval 1 ms
    app.processEvents()
    view.set_playing(True)
    clock = QElapsedTimer()
    clock.start()
    painted[0] = 0
    while clock.elapsed() < seconds * 1000:
        app.processEvents()
    view.set_playing(False)
    fps = painted[0] / (clock.elapsed() / 1000)
    close(w, app)

    # Reference: the same frames into a bare ImageItem (fixed levels, no contours, no histogram).
    win = pg.GraphicsLayoutWidget()
    vb = win.addViewBox(lockAspect=True)
    item = pg.ImageItem()
    vb.addItem(item)
    win.resize(800, 800)
    win.show()
    count = [0]
    orig = item.paint

    def ref_paint(*args):
        count[0] += 1
        return orig(*args)
    item.paint = ref_paint
    frame = [0]

    def tick():
        frame[0] = (frame[0] + 1) % T
        item.setImage(movie[frame[0]], autoLevels=False, levels=(60, 140))
    from PyQt6.QtCore import QTimer
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(1)
    clock.restart()
    while clock.elapsed() < seconds * 1000:
        app.processEvents()
    timer.stop()
    ref = count[0] / (clock.elapsed() / 1000)
    win.close()
    return fps, ref


def measure_selection(app, n_clicks: int = 40) -> tuple[float, float]:
    """Median ms from a click on a footprint to the traces redrawn; and for a bare session.select."""
    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    T, H, W = 5000, 512, 512
    data = synthetic_components(500, (H, W), T)
    movie = np.zeros((3, H, W), np.float32)  # frames are not what is measured here
    data.movie_shape = (T, H, W)
    w = make_window(data, _Repeat(movie, T))
    w.movie_view.set_view("raw")
    app.processEvents()
    s = w.session
    A = s.components.A.tocsc()
    times, bare = [], []
    rng = np.random.default_rng(2)
    for k in rng.choice(s.n_components, n_clicks, replace=False):
        col = A[:, k].tocoo()
        pixel = col.row[np.argmax(col.data)]
        r, c = divmod(int(pixel), W)
        if s.component_at(r, c) != k:
            continue
        updates = w.traces._updates
        pos = w.movie_view.widget_pos(r, c)
        t0 = time.perf_counter()
        QTest.mouseClick(w.movie_view.graphics.viewport(), Qt.MouseButton.LeftButton,
                         Qt.KeyboardModifier.NoModifier, pos)
        app.processEvents()
        times.append(time.perf_counter() - t0)
        assert w.traces._updates > updates and s.selection == (k,)
        t0 = time.perf_counter()
        s.select(())
        bare.append(time.perf_counter() - t0)
    close(w, app)
    return 1000 * float(np.median(times)), 1000 * float(np.median(bare))


class _Repeat:
    """A (T, H, W) movie that repeats a few frames (keeps the benchmark's memory small)."""

    def __init__(self, frames, T):
        self.frames = frames
        self.shape = (T,) + frames.shape[1:]
        self.dtype = frames.dtype

    def __getitem__(self, t):
        if isinstance(t, slice):       # a range of frames (event snippets read them)
            return np.stack([self[i] for i in range(*t.indices(self.shape[0]))])
        return self.frames[int(t) % len(self.frames)]

    def __len__(self):
        return self.shape[0]


def measure_stall(app, job_seconds_max: float = 120.0) -> tuple[float, float, str]:
    """Longest gap between 10 ms timer ticks while the worker runs CNMF, and while idle."""
    from PyQt6.QtCore import QElapsedTimer, QTimer

    from cnmf_gui.synthetic import make_session

    data, synth = make_session(n_frames=1000, shape=(128, 128), n_neurons=30, seed=0)
    data.components = None
    w = make_window(data, synth.movie)
    w.session.set_params(w.session.params.replace("motion", enabled=False))
    gaps = []
    clock = QElapsedTimer()
    last = [0]

    def tick():
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now
    timer = QTimer()
    timer.timeout.connect(tick)
    clock.start()
    timer.start(10)
    while clock.elapsed() < 1000:
        app.processEvents()
    idle = max(gaps[1:]) if len(gaps) > 1 else float("nan")
    gaps.clear()
    outcome = {}
    w.worker.finished.connect(lambda name, r: outcome.setdefault("done", True))
    w.worker.failed.connect(lambda name, msg, tb: outcome.setdefault("failed", msg))
    t0 = time.perf_counter()
    w.run_pipeline()
    while w.worker.busy and time.perf_counter() - t0 < job_seconds_max:
        app.processEvents()
    if w.worker.busy:
        w.worker.cancel()
        w.worker.wait_idle()
    timer.stop()
    busy = max(gaps[1:]) if len(gaps) > 1 else float("nan")
    what = (f"CNMF ran {time.perf_counter() - t0:.1f} s, {w.session.n_components} components"
            if "done" in outcome else f"pipeline did not finish: {outcome.get('failed', 'timeout')}")
    close(w, app)
    return busy, idle, what


def measure_rerun(app) -> tuple[float, float]:
    """Seconds from "Rerun all" to the traces in the session, and deconvolve_many alone."""
    from cnmf_gui.engine import deconvolve_many

    data = synthetic_components(500, (256, 256), 5000)
    # Compile the solver first (numba), so both timings below are warm.
    deconvolve_many(data.components.F[:2, :200], p=1, g=data.components.g[:2], sn=data.components.sn[:2])
    w = make_window(data, _Repeat(np.zeros((2, 256, 256), np.float32), 5000))
    done = {}
    w.worker.finished.connect(lambda name, r: done.setdefault("t", time.perf_counter()))
    w.deconv.epsilon.setValue(0.2)
    t0 = time.perf_counter()
    w.deconv.rerun_all.click()
    while "t" not in done:
        app.processEvents()
    total = done["t"] - t0
    comps = w.session.components
    t0 = time.perf_counter()
    deconvolve_many(comps.F, p=1, g=comps.g, sn=comps.sn, epsilon=0.2)
    engine = time.perf_counter() - t0
    close(w, app)
    return total, engine


def measure_seed_split(app, folder=None) -> dict:
    """Seconds from Shift+click (seed) and the S key (split) to the new components, and the
    engine's fits alone, on a 512 x 512 x 3,000 uint16 memmap with 500 cells (one left out)."""
    import tempfile

    from PyQt6.QtCore import Qt
    from PyQt6.QtTest import QTest

    from cnmf_gui.engine.seeding import seed_component
    from cnmf_gui.engine.splitting import split_component
    from cnmf_gui.results import Components

    T, H, W, n = 3000, 512, 512, 500
    full = synthetic_components(n + 1, (H, W), T, seed=1)
    comps = full.components
    tmp = tempfile.mkdtemp(dir=folder)
    path = os.path.join(tmp, "movie_512x512x3000.u16")
    A = comps.A.tocsr()
    movie = np.memmap(path, dtype=np.uint16, mode="w+", shape=(T, H, W))
    rng = np.random.default_rng(2)
    for t0 in range(0, T, 100):
        block = (A @ comps.C[:, t0:t0 + 100]).T.reshape(-1, H, W)
        movie[t0:t0 + 100] = np.clip(200 + 60 * block + rng.normal(0, 8, block.shape), 0, 65535)
    movie.flush()
    movie = np.memmap(path, dtype=np.uint16, mode="r", shape=(T, H, W))
    keep = np.arange(n)
    shown = Components(A=comps.A[:, keep], C=comps.C[keep], S=comps.S[keep], F=comps.F[keep], dff=comps.dff[keep],
                       baseline=comps.baseline[keep], sn=comps.sn[keep], epsilon=comps.epsilon[keep],
                       g=comps.g[keep], status=comps.status[keep], ids=comps.ids[keep],
                       metrics={k: np.asarray(v)[keep] for k, v in comps.metrics.items()})
    full.components = shown
    full.background = None
    # Summary images (the evaluation of new components reads the mean): known from the model.
    from cnmf_gui.results import SummaryImages
    mean = (200 + 60 * (A @ comps.C.mean(axis=1))).reshape(H, W)
    full.summary = SummaryImages(mean=mean, max=mean, correlation=np.zeros((H, W)), pnr=np.zeros((H, W)))
    w = make_window(full, movie)
    s = w.session
    a = comps.A[:, n].toarray().reshape(H, W)
    row, col = (int(round(v)) for v in np.argwhere(a == a.max())[0])
    out = {}
    mv = w.movie_view
    mv.left.setRange(xRange=(col - 40, col + 40), yRange=(row - 40, row + 40), padding=0)
    app.processEvents()
    before = s.n_components
    # Twice: the first click also reads the movie there from disk (and compiles the solver if
    # this install never ran); the second is the steady state.
    # CPU seconds too: on a shared machine the wall time mostly measures the queue for a core.
    for key in ("seed_first", "seed"):
        t0, c0 = time.perf_counter(), time.process_time()
        QTest.mouseClick(mv.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier,
                         mv.widget_pos(row, col))
        out[key] = time.perf_counter() - t0
        out[key + "_cpu"] = time.process_time() - c0
        out["seeded"] = s.n_components == before + 1
        if key == "seed_first":
            s.undo()
    from cnmf_gui.session.edits import one_thread
    with one_thread():          # as the session runs it
        t0 = time.perf_counter()
        seed_component(movie, shown.A, shown.F, (row, col), 5.0)
        out["seed_engine"] = time.perf_counter() - t0
    # Split: the two closest cells merged (not timed), then S on the merged one.
    cents = np.array([np.argwhere(shown.A[:, k].toarray().reshape(H, W) > 0).mean(0) for k in range(50)])
    d = np.hypot(*(cents[:, None] - cents[None]).transpose(2, 0, 1))
    d[np.eye(len(d), dtype=bool)] = np.inf
    i, j = np.unravel_index(np.argmin(d), d.shape)
    merged = s.merge([int(s.ids[i]), int(s.ids[j])])
    s.select([merged])
    app.processEvents()
    w.activateWindow()
    for key in ("split_first", "split"):
        s.select([merged])
        t0, c0 = time.perf_counter(), time.process_time()
        QTest.keyClick(w, Qt.Key.Key_S)
        out[key] = time.perf_counter() - t0
        out[key + "_cpu"] = time.process_time() - c0
        out["split_done"] = merged not in s.ids
        s.undo()
    k = s.index_of(merged)
    with one_thread():
        t0 = time.perf_counter()
        split_component(movie, s.components.A, s.components.F, k)
        out["split_engine"] = time.perf_counter() - t0
    close(w, app)
    del movie
    os.remove(path)
    os.rmdir(tmp)
    return out


def main() -> None:
    from cnmf_gui.app import application

    app = application()
    print(f"platform {app.platformName()}; timings are noisy on a shared machine")
    fps, ref = measure_playback(app)
    print(f"playback 512x512 with 500 contours: {fps:6.1f} frames/s painted (goal >= 60); "
          f"bare ImageItem {ref:6.1f} frames/s; ratio {fps / ref:.2f}")
    click, bare = measure_selection(app)
    print(f"selection latency click -> traces (500 comps, 5000 frames): {click:6.1f} ms median "
          f"(goal < 50); bare session.select {bare:.2f} ms")
    try:
        total, engine = measure_rerun(app)
        print(f"rerun deconvolution 500 x 5000 from the GUI: {total:6.2f} s (goal < 1); "
              f"deconvolve_many alone {engine:.2f} s; ratio {total / engine:.2f}")
    except ImportError as exc:
        print(f"rerun deconvolution: unavailable ({exc})")
    r = measure_seed_split(app)
    print(f"seed 512x512x3000 Shift+click -> new component: {r['seed']:6.2f} s (goal < 1; first click "
          f"{r['seed_first']:.2f} s; "
          f"{'done' if r['seeded'] else 'NOT DONE'}; CPU {r['seed_cpu']:.2f} s); seed_component alone "
          f"{r['seed_engine']:.2f} s; "
          f"ratio {r['seed'] / r['seed_engine']:.1f}")
    print(f"split 512x512x3000 S key -> two components: {r['split']:6.2f} s (goal < 1; first "
          f"{r['split_first']:.2f} s; "
          f"{'done' if r['split_done'] else 'NOT DONE'}; CPU {r['split_cpu']:.2f} s); split_component alone "
          f"{r['split_engine']:.2f} s; "
          f"ratio {r['split'] / r['split_engine']:.1f}")
    busy, idle, what = measure_stall(app)
    print(f"longest event-loop stall while the worker runs the pipeline: {busy:6.0f} ms (goal < 100); "
          f"idle {idle:.0f} ms; {what}")


if __name__ == "__main__":
    import sys

    if "--seed-split" in sys.argv:        # only the seed/split latency (the slow part)
        from cnmf_gui.app import application

        r = measure_seed_split(application())
        print({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
    else:
        main()

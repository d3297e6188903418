"""Running the simulation in a worker thread and streaming it to the views.

The engine advances in slices sized to take ~10 ms of wall time each, so a
pause or reset answers within one slice and a run keeps producing frames.
Two paths leave the worker, so the frame rate does not depend on the log's length:

* **Live frames** (every ``FRAME_EVERY_S``, >= 20 frames/s): the tick raster
  from :class:`tickscope.sim.raster_stream.RasterStream`, which classifies only the
  records appended since the last frame, plus progress and events/s.
* **Analysis** (every ``ANALYSIS_EVERY_S``, less when it costs more): results,
  summary and the analysis panels' aggregates (:func:`analyse`,
  :mod:`tickscope.sim.aggregates`), O(records), computed in a third thread so
  the engine and the live frames go on meanwhile.

When a run stops (done or paused) the worker publishes one full snapshot
(:func:`snapshot`): the raster is then :func:`tickscope.sim.raster.build` of
the whole log, the same picture a rebuild gives.  Each kind of publication
waits until the GUI has taken the previous one, so a slow view never queues up
work.  The numpy code avoids calls that hold the GIL for long (numpy >= 2.3's
hash ``unique``, ``isin``): see sim/aggregates.py.

:class:`StallProbe` measures how late a 10 ms QTimer fires on the GUI thread:
its p99 is the event-loop stall figure (target < 50 ms during a run).
"""
from __future__ import annotations

import threading
import time
import weakref
from collections import deque

import numpy as np
from PySide6 import QtCore

from tickscope.gui import analysis_panels as ap  # constants only: no widget is touched off the GUI thread
from tickscope.sim import aggregates, raster, raster_stream
from tickscope.sim.raster_planes import IncrementalPlanes, live_window_end
from tickscope.sim.errors import InputError
from tickscope.sim.results import Results
from tickscope.sim.simulation import Simulation

# 10 ms slices: a frame is due every 33 ms and goes out at the end of the slice where it fell due, plus
# the GUI's hand-back: ~40-48 ms apart in practice (>= 20 frames/s required; at 40 ms due, long runs
# measured 17-18/s)
SLICE_WALL_S = 0.006
FRAME_EVERY_S = 0.03
# Summary + panel aggregates cost ~0.7 s per 1e6 records (measured here): 3 Hz on short logs, and
# at most every 3x their cost: the analysis thread holds the GIL in bursts, and at 2x the live frames of a
# 4.5e6-record run (bare-metal-lapic 3600 s) fell to ~8/s here.
ANALYSIS_EVERY_S = 0.33
ANALYSIS_COST_FACTOR = 3.0
# While the GUI is still drawing the last frame the engine goes on; its records are classified once they
# would cost this much, so that the frame after a slow draw is not a long one (a 3600 s run had frames of
# 0.3-1.6 s classifying ~2e6 ticks at once after the GUI had been busy).
CLASSIFY_AHEAD_S = 0.015
DEFAULT_STEP_NS = 10_000_000
# The reference engine is pure Python and holds the GIL while it runs: a 4 ms pause after every ~20 ms
# slice lets the GUI thread paint.  Measured on a 160k-tick run here: UI stall p99 ~120 ms without, ~70 with.
YIELD_S = 0.004
# The Cython engine runs without the GIL, but classifying its records for the live frames is Python and
# numpy in this thread: a 2 ms pause per ~6 ms slice lets the GUI thread take the GIL mid-paint.
# Measured (3 x 120 s pooled, 2 sets each): UI stall p99 29-41 ms with 1 ms, 26-28 ms with 3 ms, 61-96 ms
# with none (20 s runs); a 3600 s run kept 22-23 live frames/s with 2-3 ms.
YIELD_CYTHON_S = 0.002


def analyse(res: Results) -> tuple[dict, aggregates.PanelData]:
    """Summary and panel aggregates of *res* (what the slow path publishes during a run)."""
    prepared = aggregates.panel_data(res, ap.DEFAULT_RANGES, ap.bins_per_decade, ap.RATE_BINS_NS)
    return aggregates.summarize(res), prepared


def prepare(res: Results, hardware: bool = False) -> tuple[dict, raster.RasterData, aggregates.PanelData]:
    """Summary, raster data and panel aggregates of *res*: everything a view draws, computed once."""
    prepared = aggregates.panel_data(res, ap.DEFAULT_RANGES, ap.bins_per_decade, ap.RATE_BINS_NS)
    data = raster.build(res, hardware=hardware, outcomes=prepared.tick_outcomes)
    return aggregates.summarize(res), data, prepared


def partial_results(sim: Simulation) -> Results:
    """The log so far, judged up to ``now_ns`` (``until_ns`` = now; the run's target is ``run_until_ns``)."""
    res = sim.results()
    res.meta = dict(res.meta, until_ns=max(1, int(res.meta["now_ns"])), run_until_ns=sim.until_ns)
    return res


def snapshot(sim: Simulation, hardware: bool = False) -> dict:
    """Results so far with their summary, raster data and panel aggregates, judged up to ``now_ns``.

    Returns a dict with ``results``, ``summary``, ``raster``, ``panels`` (PanelData), ``now_ns``,
    ``until_ns`` and ``events``.
    """
    res = partial_results(sim)
    summary, data, prepared = prepare(res, hardware)
    return {"results": res, "summary": summary, "raster": data, "panels": prepared, "now_ns": sim.now_ns,
            "until_ns": sim.until_ns, "events": sim.events}


class StallProbe(QtCore.QObject):
    """Event-loop lateness of a periodic QTimer on the thread it lives in."""

    def __init__(self, interval_ms: int = 10, keep: int = 6000, parent=None):
        super().__init__(parent)
        self.interval_ms = interval_ms
        self.samples: deque[float] = deque(maxlen=keep)
        self._timer = QtCore.QTimer(self, interval=interval_ms)
        self._timer.setTimerType(QtCore.Qt.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._last = None

    def start(self):
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self):
        self._timer.stop()
        self._last = None

    def reset(self):
        self.samples.clear()

    def _tick(self):
        now = time.perf_counter()
        if self._last is not None:
            self.samples.append(max(0.0, (now - self._last) * 1e3 - self.interval_ms))
        self._last = now

    def p99_ms(self) -> float:
        return float(np.percentile(np.fromiter(self.samples, float), 99)) if self.samples else 0.0

    def max_ms(self) -> float:
        return max(self.samples) if self.samples else 0.0


class _Analyst:
    """A thread computing :func:`analyse` of one results snapshot at a time, off the engine's thread."""

    def __init__(self, deliver):
        self._deliver = deliver
        self._cv = threading.Condition()
        self._job = None
        self._busy = False
        self._quit = False
        self.cost_s = 0.0
        self._thread = threading.Thread(target=self._loop, name="tickscope-analysis", daemon=True)
        self._thread.start()

    def submit(self, res: Results, tag) -> bool:
        """Analyse *res* unless a job is running; *tag* goes back with the result."""
        with self._cv:
            if self._busy or self._quit:
                return False
            self._busy, self._job = True, (res, tag)
            self._cv.notify()
            return True

    def idle(self) -> bool:
        return not self._busy

    def stop(self) -> None:
        with self._cv:
            self._quit = True
            self._cv.notify()
        self._thread.join(5)

    def _loop(self):
        while True:
            with self._cv:
                while self._job is None and not self._quit:
                    self._cv.wait()
                if self._quit:
                    return
                (res, tag), self._job = self._job, None
            t = time.perf_counter()
            try:
                summary, prepared = analyse(res)
                self._deliver({"results": res, "summary": summary, "panels": prepared, "raster": None, "tag": tag})
            except Exception as exc:  # noqa: BLE001 - shown by the controller, never swallowed
                self._deliver({"error": f"{type(exc).__name__}: {exc}", "tag": tag})
            finally:
                self.cost_s = time.perf_counter() - t
                with self._cv:
                    self._busy = False


class _Worker(QtCore.QObject):
    """Lives in the worker thread; owns the Simulation while a run is in progress."""

    published = QtCore.Signal(object)      # full snapshot dict: results, summary, raster, panels, now_ns, ...
    framed = QtCore.Signal(object)         # live frame dict: raster, now_ns, until_ns, events, events_per_s
    analysed = QtCore.Signal(object)       # slow path dict: results, summary, panels, tag
    stopped = QtCore.Signal(str)           # "paused" | "done"
    failed = QtCore.Signal(str)

    def __init__(self):
        super().__init__()
        self.sim: Simulation | None = None
        self.stream: raster_stream.RasterStream | None = None
        self.generation = 0
        self.stop_flag = threading.Event()
        self.gui_ready = threading.Event()       # the GUI took the last live frame
        self.gui_ready.set()
        self.analysis_taken = threading.Event()  # ... and the last analysis
        self.analysis_taken.set()
        self.hardware = False
        self.quiet = False
        self.slice_ns = 1_000_000
        self.live_widths: tuple = ()          # pixel widths the GUI's whole-run views draw at (set from the GUI)
        self._plane_caches: dict = {}
        self.analyst = _Analyst(self.analysed.emit)

    @QtCore.Slot(int)
    def run(self, max_slices: int):
        """Advance until done, stopped, or *max_slices* slices (0 = unlimited)."""
        sim = self.sim
        try:
            n = 0
            last_frame = last_analysis = 0.0
            frame_ns = sim.now_ns
            classify_s_per_ns = 0.0    # the live frames' cost per simulated ns (from the last classification)
            fresh = False              # the stream took in records not yet sent to the GUI
            ev0, w0 = sim.events, time.perf_counter()
            eps = 0.0
            while not sim.done and not self.stop_flag.is_set():
                t = time.perf_counter()
                sim.step(self.slice_ns)
                # a slice's cost includes classifying its records for the next frame: the Cython engine
                # logs ~15x faster than RasterStream classifies (measured: 30 s of bare-metal-lapic in 1.5 ms
                # vs 20-27 ms), so sizing slices by engine time alone made 100+ ms frames
                dt = time.perf_counter() - t + self.slice_ns * classify_s_per_ns
                self.slice_ns = int(min(max(self.slice_ns * min(4.0, max(0.25, SLICE_WALL_S / max(dt, 1e-4))), 1000),
                                        10**12))
                n += 1
                now = time.perf_counter()
                if now - w0 > 0.25:
                    eps = (sim.events - ev0) / (now - w0)
                    ev0, w0 = sim.events, now
                if sim.done or (max_slices and n >= max_slices):
                    break
                res = None
                # due counting the classification the frame will cost, so frames stay ~FRAME_EVERY_S apart
                debt = (sim.now_ns - frame_ns) * classify_s_per_ns
                due = now - last_frame + debt >= FRAME_EVERY_S
                ready = self.gui_ready.is_set()
                if (due and ready) or debt >= CLASSIFY_AHEAD_S:
                    # classify when the frame is due, and also while the GUI is still busy with the last one
                    # once the backlog is worth CLASSIFY_AHEAD_S: no frame ever takes in more than that
                    res = partial_results(sim)
                    c0 = time.perf_counter()
                    self.stream.update(res)
                    if sim.now_ns > frame_ns:
                        classify_s_per_ns = (time.perf_counter() - c0) / (sim.now_ns - frame_ns)
                    frame_ns = sim.now_ns
                    fresh = True
                if fresh and due and ready:
                    self._emit_frame(sim, eps)
                    fresh = False
                    last_frame = time.perf_counter()
                due = max(ANALYSIS_EVERY_S, ANALYSIS_COST_FACTOR * self.analyst.cost_s)
                if now - last_analysis >= due and self.analysis_taken.is_set() and self.analyst.idle():
                    self.analysis_taken.clear()
                    if self.analyst.submit(res if res is not None else partial_results(sim), self.generation):
                        last_analysis = now
                    else:
                        self.analysis_taken.set()
                time.sleep(YIELD_S if sim.engine_name == "reference" else YIELD_CYTHON_S)
            if not self.quiet:
                if sim.done and sim.now_ns > frame_ns:
                    # the whole run on screen at once: the full snapshot below is O(records) (~30 s after
                    # a 3600 s, 8-CPU run), the stream only takes in what it has not seen
                    self.stream.update(partial_results(sim), final=True)
                    self._emit_frame(sim, eps)
                self._publish(sim, eps)
            self.stopped.emit("done" if sim.done else "paused")
        except Exception as exc:  # noqa: BLE001 - engine errors are shown, never swallowed
            self.failed.emit(f"{type(exc).__name__}: {exc}")

    def _emit_frame(self, sim, eps):
        data = self.stream.data(self.hardware)
        data.window_end = live_window_end(data.end_ns, sim.until_ns)
        self._prepare_planes(data)
        self.gui_ready.clear()
        self.framed.emit({"raster": data, "now_ns": sim.now_ns, "until_ns": sim.until_ns,
                          "events": sim.events, "events_per_s": eps or self._average_eps(sim)})

    def _prepare_planes(self, data) -> None:
        """Bin the frame for the views' whole-run window here, off the GUI thread (RasterData.prepared).

        Incremental (IncrementalPlanes): a frame costs O(new marks); a new window (the run outgrew the
        last "nice" end, or the view was resized) bins everything once, here and not in the GUI thread,
        where such a rebuild stalled the event loop for ~0.3-0.5 s at 1e7 marks.
        """
        widths = self.live_widths
        if not widths:
            return
        end = data.window_end
        caches = {w: self._plane_caches.get(w) or IncrementalPlanes() for w in set(widths) if w > 0}
        self._plane_caches = caches
        data.prepared = {(0, end, w, data.nlanes): c.planes(data, 0, end, w) for w, c in caches.items()}

    @staticmethod
    def _average_eps(sim):
        return sim.events / sim.wall_s if sim.wall_s else 0.0

    def _publish(self, sim, eps):
        snap = snapshot(sim, self.hardware)
        snap["events_per_s"] = eps or self._average_eps(sim)
        snap["tag"] = self.generation
        self.published.emit(snap)


_GC = None
_LIVE: "weakref.WeakSet[RunController]" = weakref.WeakSet()


def shutdown_all() -> None:
    """Stop every live controller's threads (before a QThread could be destroyed while running, which aborts)."""
    for ctl in list(_LIVE):
        try:
            ctl.shutdown()
        except RuntimeError:  # its Qt objects were already deleted with their parent: nothing left running
            pass


def collect_garbage_in_gui_thread() -> None:
    """Run Python's cyclic garbage collector only from a GUI-thread timer (once per process).

    The collector finalises whatever becomes garbage, Qt wrappers included, in whichever thread happens to
    allocate.  With the engine and analysis threads running Python code it ran there and deadlocked against
    the GUI thread: a QMenu destroyed from the analysis thread waited for the GIL while the GUI thread,
    deleting widgets, waited for Qt's mutex (seen in CI).  pyqtgraph's GarbageCollector disables automatic
    collection and collects on a QTimer, i.e. in the GUI thread only.
    """
    global _GC
    if _GC is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _GC = GarbageCollector(interval=0.5)


class RunController(QtCore.QObject):
    """Run / pause / step / reset / run-until for one scenario, engine in a worker QThread."""

    results_ready = QtCore.Signal(object, object)     # results, summary: a few times a second, and at each stop
    raster_ready = QtCore.Signal(object)              # RasterData: every live frame (>= 20/s), full build at a stop
    state_changed = QtCore.Signal(str)                # idle | running | paused | done | error
    progress = QtCore.Signal(object, object)          # now_ns, until_ns
    speed = QtCore.Signal(float)                      # events per second
    error = QtCore.Signal(str)
    _start = QtCore.Signal(int)

    def __init__(self, scenario, engine: str = "auto", parent=None):
        super().__init__(parent)
        collect_garbage_in_gui_thread()  # before any worker thread runs Python code
        _LIVE.add(self)
        app = QtCore.QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self._scenario = scenario
        self._engine = engine
        self._seed: int | None = None
        self._until: int | None = None
        self.step_ns = DEFAULT_STEP_NS
        self._state = "idle"
        self.last_snapshot: dict | None = None
        self.probe = StallProbe(parent=self)
        self.stop_ms = 0.0        # GUI time spent showing the last run's final snapshot (views, panels)
        self._thread = QtCore.QThread()
        self._thread.setObjectName("tickscope-engine")
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._start.connect(self._worker.run)
        self._worker.published.connect(self._on_published)
        self._worker.framed.connect(self._on_frame)
        self._worker.analysed.connect(self._on_analysed)
        self._worker.stopped.connect(self._on_stopped)
        self._worker.failed.connect(self._on_failed)
        self._thread.start()
        app = QtCore.QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        self.reset()

    # -- state -----------------------------------------------------------
    def state(self) -> str:
        return self._state

    def _set_state(self, state):
        if state != self._state:
            self._state = state
            self.state_changed.emit(state)

    def simulation(self) -> Simulation | None:
        return self._worker.sim

    def seed(self) -> int:
        return self._seed if self._seed is not None else self._scenario.run.seed

    def until_ns(self) -> int:
        return self._until if self._until is not None else self._scenario.run.until

    # -- setters ---------------------------------------------------------
    def set_scenario(self, scenario) -> None:
        self._scenario = scenario
        self.reset()

    def set_seed(self, seed: int | None) -> None:
        if seed is not None and not 0 <= seed < 2**63:
            raise InputError(f"seed: {seed} is out of range (allowed 0..{2**63 - 1})")
        self._seed = seed
        self.reset()

    def set_engine(self, engine: str) -> None:
        self._engine = engine
        self.reset()

    def set_live_widths(self, widths) -> None:
        """Pixel widths of the views that show the whole run while it streams (the worker bins frames for them)."""
        self._worker.live_widths = tuple(int(w) for w in widths)

    def set_hardware(self, on: bool) -> None:
        """Build hardware lanes in future snapshots."""
        self._worker.hardware = on
        if self._state in ("paused", "done") and self._worker.sim is not None:
            self._publish_now()

    # -- commands --------------------------------------------------------
    def reset(self) -> None:
        """Stop, boot the scenario again and publish the empty run."""
        self._halt()
        try:
            self._worker.sim = Simulation(self._scenario, engine=self._engine, seed=self._seed, until_ns=self._until)
        except InputError as exc:
            self._worker.sim = None
            self._set_state("error")
            self.error.emit(str(exc))
            return
        self._worker.slice_ns = max(1000, self._worker.sim.plan.meta().get("tick_nsec", 1_000_000))
        self._worker.stream = raster_stream.RasterStream()
        self._worker._plane_caches = {}
        self._worker.generation += 1
        self._set_state("idle")
        self._publish_now()

    def run(self) -> None:
        """Run (or resume) to the end of the run."""
        self._go(0)

    def step(self) -> None:
        """Advance one step (``step_ns`` of simulated time) and stop."""
        sim = self._worker.sim
        if sim is None or self._state == "running":
            return
        if sim.done:
            return
        self._worker.slice_ns = self.step_ns
        self._go(1)

    def run_until(self, until_ns: int) -> None:
        """Extend or shorten the run's end to *until_ns* and run there."""
        sim = self._worker.sim
        self._halt()
        self._until = int(until_ns)
        if sim is None or until_ns < sim.now_ns:
            self.reset()
            sim = self._worker.sim
        if sim is not None:
            sim.until_ns = int(until_ns)
            self.run()

    def pause(self) -> None:
        if self._state == "running":
            self._worker.stop_flag.set()

    def toggle(self) -> None:
        if self._state == "running":
            self.pause()
        else:
            self.run()

    def wait(self, timeout_s: float = 600.0) -> bool:
        """Process events until the run stops (headless mode and tests)."""
        deadline = time.monotonic() + timeout_s
        while self._state == "running" and time.monotonic() < deadline:
            QtCore.QCoreApplication.processEvents(QtCore.QEventLoop.AllEvents, 20)
            QtCore.QThread.msleep(2)
        return self._state != "running"

    def shutdown(self) -> None:
        """Stop the run and the worker thread (idempotent)."""
        self._halt()
        if self._thread.isRunning():
            self._thread.quit()
            self._thread.wait(5000)
        self._worker.analyst.stop()

    def _go(self, max_slices):
        if self._worker.sim is None or self._state == "running" or self._worker.sim.done:
            return
        self._worker.stop_flag.clear()
        self._worker.quiet = False
        self._worker.gui_ready.set()
        self._worker.analysis_taken.set()
        self.probe.reset()
        self.probe.start()
        self._set_state("running")
        self._start.emit(max_slices)

    def _halt(self):
        if self._state == "running":
            self._worker.quiet = True     # the run is reset or redirected: no stop snapshot
            self._worker.stop_flag.set()
            self.wait(30)
        self.probe.stop()

    def _publish_now(self):
        sim = self._worker.sim
        snap = snapshot(sim, self._worker.hardware)
        snap["events_per_s"] = sim.events / sim.wall_s if sim.wall_s else 0.0
        snap["tag"] = self._worker.generation
        self._on_published(snap)

    # -- from the worker -------------------------------------------------
    def _on_published(self, snap: dict):
        """A full snapshot (a stop, a reset, a hardware toggle): the raster is a full rebuild."""
        if self._state == "running":
            # the run is over: the stall probe measures the event loop *during* a run; drawing the final
            # snapshot into every view is timed on its own (stop_ms)
            self.probe.stop()
            t0 = time.perf_counter()
            try:
                self._show_snapshot(snap)
            finally:
                self.stop_ms = (time.perf_counter() - t0) * 1e3
            return
        self._show_snapshot(snap)

    def _show_snapshot(self, snap: dict):
        self.last_snapshot = snap
        self.raster_ready.emit(snap["raster"])
        self.results_ready.emit(snap["results"], snap["summary"])
        self.progress.emit(snap["now_ns"], snap["until_ns"])
        self.speed.emit(float(snap["events_per_s"]))

    def _on_frame(self, frame: dict):
        try:
            if self._state == "running":
                self.raster_ready.emit(frame["raster"])
                self.progress.emit(frame["now_ns"], frame["until_ns"])
                self.speed.emit(float(frame["events_per_s"]))
        finally:
            self._worker.gui_ready.set()

    def _on_analysed(self, snap: dict):
        try:
            last = self.last_snapshot
            if snap["tag"] != self._worker.generation or (last and snap["results"].meta["now_ns"] <= last["now_ns"]):
                return  # an earlier run's, or older than the stop snapshot already shown
            if "error" in snap:
                self._on_failed(snap["error"])
                return
            self.last_snapshot = dict(snap, now_ns=int(snap["results"].meta["now_ns"]))
            self.results_ready.emit(snap["results"], snap["summary"])
        finally:
            self._worker.analysis_taken.set()

    def _on_stopped(self, how: str):
        self.probe.stop()
        t0 = time.perf_counter()
        self._set_state(how)            # the views take the stop (the main window feeds every panel)
        self.stop_ms += (time.perf_counter() - t0) * 1e3

    def _on_failed(self, message: str):
        self.probe.stop()
        self._set_state("error")
        self.error.emit(message)

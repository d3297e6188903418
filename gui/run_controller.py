"""Running the simulation from the GUI: :class:`RunController` and the event-loop stall probe.

The controller owns one scenario's :class:`tickscope.gui.run_worker.EngineWorker` in a
QThread (see that module for the live path: frames, analysis, the stop's snapshot)
and turns what it publishes into Qt signals for the views, in the GUI thread.  It also
reads the run's /proc files at an earlier instant, in a thread of their own
(:class:`tickscope.gui.proc_reading.ProcFilesRead`).

:class:`StallProbe` measures how late a 10 ms QTimer fires on the GUI thread:
its p99 is the event-loop stall figure (target < 50 ms during a run).
"""
from __future__ import annotations

import time
import weakref
from collections import deque

import numpy as np
from PySide6 import QtCore

from tickscope.gui.proc_reading import ProcFilesRead
from tickscope.gui.run_worker import DEFAULT_STEP_NS, EngineWorker, snapshot
from tickscope.sim import raster, raster_stream
from tickscope.sim.errors import InputError
from tickscope.sim.simulation import Simulation
from tickscope.sim.snapshot import timer_list_files

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
    proc_read_progress = QtCore.Signal(object, object)   # now_ns, at_ns: a read_proc_files_at on its way
    proc_read_done = QtCore.Signal(object, object)       # at_ns, files (title -> text)
    proc_read_failed = QtCore.Signal(object, str)        # at_ns, why
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
        self.last_error: str | None = None  # why the scenario could not boot (state "error"), else None
        self.probe = StallProbe(parent=self)
        self.stop_ms = 0.0        # GUI time spent showing the last run's final snapshot (views, panels)
        self._read: ProcFilesRead | None = None     # the /proc reading whose result is awaited
        self._reads: set[ProcFilesRead] = set()     # every reading thread still running (cancelled ones too)
        self._thread = QtCore.QThread()
        self._thread.setObjectName("tickscope-engine")
        self._worker = EngineWorker()
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
        """Run *scenario* from now on.  A run length set with :meth:`run_until` stays unless the scenario's own
        ``run.until`` changed (edited, or another preset's): that is the length asked for now."""
        if self._until is not None and scenario.run.until != self._scenario.run.until:
            self._until = None
        self._scenario = scenario
        self.reset()

    def set_seed(self, seed: int | None) -> None:
        if seed is not None and not 0 <= seed < 2**63:
            raise InputError(f"seed: {seed} is out of range (allowed 0..{2**63 - 1})")
        self._seed = seed
        self.reset()

    def set_engine(self, engine: str) -> None:
        """Use *engine* from the next run: the current one is reset (not when it is the engine already in use:
        picking it again in the run bar threw a finished run away)."""
        if engine == self._engine:
            return
        self._engine = engine
        self.reset()

    def read_proc_files_at(self, at_ns: int, source: tuple | None = None) -> bool:
        """Read this run's /proc files at *at_ns* in the background: the scenario simulated again (same seed and
        engine) from boot to there, as ``tickscope timer-list --at`` and ``interrupts --at`` read them.
        *source*: ``(scenario, engine, seed)`` of another run to read (a recording on show) instead.

        ``proc_read_progress`` follows it, then ``proc_read_done`` or ``proc_read_failed``.  A reading in progress
        is dropped; a reset (a new run, another scenario, seed or engine) drops this one.  False when there is
        no run to read (the scenario does not boot).
        """
        self.cancel_proc_read()
        sim = self._worker.sim
        if source is None and sim is None:
            return False
        scenario, engine, seed = source if source is not None else (sim.scenario, sim.engine_name, sim.seed)
        read = ProcFilesRead(scenario, int(at_ns), engine, seed)
        read.progressed.connect(self._on_read_progress)
        read.done.connect(self._on_read_done)
        read.failed.connect(self._on_read_failed)
        read.finished.connect(self._on_read_finished)
        self._read = read
        self._reads.add(read)
        read.start()
        return True

    def cancel_proc_read(self) -> None:
        """Drop the /proc reading in progress, if any (its thread stops at the end of its slice)."""
        if self._read is not None:
            self._read.cancel()
            self._read = None

    def proc_read_at(self) -> int | None:
        """The instant of the /proc reading in progress, else None."""
        return self._read.at_ns if self._read is not None else None

    def set_live_widths(self, widths) -> None:
        """Pixel widths of the views that show the whole run while it streams (the worker bins frames for them)."""
        self._worker.live_widths = tuple(int(w) for w in widths)

    def set_hardware(self, on: bool) -> raster.RasterData | None:
        """Build hardware lanes in future snapshots; a stopped run's raster data is rebuilt now and returned (None
        when there is none: before a run, or while one streams)."""
        self._worker.hardware = on
        if self._state not in ("paused", "done") or self._worker.sim is None:
            return None
        snap = self.last_snapshot
        if snap is not None and snap.get("panels") is not None and snap.get("raster") is not None:
            # only the raster changes, and the ticks' outcomes are judged already: republishing the whole snapshot
            # recomputed the summary and every panel's aggregates and built the raster twice (Ctrl+H held the
            # window ~1 s on many-cores, 10 s)
            data = raster.build(snap["results"], hardware=on, outcomes=snap["panels"].tick_outcomes)
            self.last_snapshot = dict(snap, raster=data)
            return data
        self._publish_now()
        return self.last_snapshot["raster"] if self.last_snapshot else None

    # -- commands --------------------------------------------------------
    def reset(self) -> None:
        """Stop, boot the scenario again and publish the empty run."""
        self._halt()
        self.cancel_proc_read()   # of the run that was
        try:
            self._worker.sim = Simulation(self._scenario, engine=self._engine, seed=self._seed, until_ns=self._until)
            # the Proc files panel shows /proc/timer_list where the kernel's clock read the end, before the
            # in-flight interrupts were delivered, as `tickscope timer-list` prints it
            self._worker.sim.at_end = timer_list_files
        except InputError as exc:
            self._worker.sim = None
            self.last_error = str(exc)
            # nothing of the previous scenario's run stays on show as if it were this one's
            self.last_snapshot = None
            self._set_state("error")
            self.results_ready.emit(None, None)
            self.progress.emit(0, self.until_ns())
            self.error.emit(self.last_error)
            return
        self.last_error = None
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
        if sim is None or until_ns < sim.now_ns or sim.settled_ns is not None:
            # an ended run delivered what was in flight at its end (Simulation.step): a longer one starts over
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
        self.cancel_proc_read()
        for read in list(self._reads):
            read.cancel()
            read.wait(30000)   # it stops at the end of its slice (a QThread destroyed while it runs aborts)
        self._reads.clear()
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

    # -- from a /proc reading (ProcFilesRead, queued to this thread) --------------------
    def _on_read_progress(self, now_ns, at_ns):
        if self.sender() is self._read:
            self.proc_read_progress.emit(now_ns, at_ns)

    def _on_read_done(self, files):
        read = self.sender()
        if read is self._read:
            self._read = None
            self.proc_read_done.emit(read.at_ns, files)

    def _on_read_failed(self, message: str):
        read = self.sender()
        if read is self._read:
            self._read = None
            self.proc_read_failed.emit(read.at_ns, message)

    def _on_read_finished(self):
        read = self.sender()
        read.wait()   # finished is emitted just before the thread ends: let it end before the QThread goes
        self._reads.discard(read)

    def _on_failed(self, message: str):
        self.probe.stop()
        self._set_state("error")
        self.error.emit(message)

"""The engine's side of a run: the worker thread that steps the simulation and streams it out.

The engine advances in slices sized to take a few ms of wall time each, so a
pause or reset answers within one slice and a run keeps producing frames.
Two paths leave the worker, so the frame rate does not depend on the log's length:

* **Live frames** (every ``FRAME_EVERY_S``, >= 20 frames/s): the tick raster
  from :class:`tickscope.sim.raster_stream.RasterStream`, which classifies only the
  records appended since the last frame, with the planes of the views' whole-run
  window binned here (:class:`tickscope.sim.raster_planes.IncrementalPlanes`),
  plus progress and events/s.
* **Analysis** (every ``ANALYSIS_EVERY_S``, less when it costs more): results,
  summary and the analysis panels' aggregates (:func:`analyse`,
  :mod:`tickscope.sim.aggregates`), O(records), computed in a third thread so
  the engine and the live frames go on meanwhile.

When a run stops (done or paused) the worker publishes one full snapshot
(:func:`snapshot`): the raster is then :func:`tickscope.sim.raster.build` of
the whole log, the same picture a rebuild gives.  Each kind of publication
waits until the GUI has taken the previous one, so a slow view never queues up
work.  The numpy code avoids calls that hold the GIL for long (numpy >= 2.3's
hash ``unique``, ``isin``): see sim/aggregates.py.  Nothing here touches a widget.
"""
from __future__ import annotations

import threading
import time

from PySide6 import QtCore

from tickscope.gui import analysis_panels as ap  # constants only: no widget is touched off the GUI thread
from tickscope.gui import histogram_panel as hp
from tickscope.sim import aggregates, raster, raster_stream
from tickscope.sim.raster_planes import IncrementalPlanes, live_window_end
from tickscope.sim.results import Results
from tickscope.sim.simulation import Simulation
from tickscope.sim.snapshot import proc_files

# 6 ms slices: a frame is due every 30 ms and goes out at the end of the slice where it fell due, plus
# the GUI's hand-back: ~35-45 ms apart in practice (>= 20 frames/s required; with 10 ms slices and 40 ms
# due, long runs measured 17-18/s)
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
    prepared = aggregates.panel_data(res, hp.DEFAULT_RANGES, hp.bins_per_decade, ap.RATE_BINS_NS)
    return aggregates.summarize(res), prepared


def prepare(res: Results, hardware: bool = False) -> tuple[dict, raster.RasterData, aggregates.PanelData]:
    """Summary, raster data and panel aggregates of *res*: everything a view draws, computed once."""
    prepared = aggregates.panel_data(res, hp.DEFAULT_RANGES, hp.bins_per_decade, ap.RATE_BINS_NS)
    data = raster.build(res, hardware=hardware, outcomes=prepared.tick_outcomes)
    return aggregates.summarize(res), data, prepared


def partial_results(sim: Simulation) -> Results:
    """The log so far, judged up to ``now_ns`` (``until_ns`` = now; the run's target is ``run_until_ns``)."""
    res = sim.results()
    res.meta = dict(res.meta, until_ns=max(1, min(int(res.meta["now_ns"]), sim.until_ns)), run_until_ns=sim.until_ns)
    return res


def snapshot(sim: Simulation, hardware: bool = False) -> dict:
    """Results so far with their summary, raster data and panel aggregates, judged up to ``now_ns``.

    Returns a dict with ``results``, ``summary``, ``raster``, ``panels`` (PanelData), ``now_ns``,
    ``until_ns``, ``events`` and ``procfs`` (the kernel's /proc files now: :func:`~tickscope.sim.snapshot.proc_files`).
    """
    res = partial_results(sim)
    summary, data, prepared = prepare(res, hardware)
    return {"results": res, "summary": summary, "raster": data, "panels": prepared, "now_ns": sim.now_ns,
            "until_ns": sim.until_ns, "events": sim.events, "procfs": proc_files(sim)}


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


class EngineWorker(QtCore.QObject):
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
                analysis_every = max(ANALYSIS_EVERY_S, ANALYSIS_COST_FACTOR * self.analyst.cost_s)
                if now - last_analysis >= analysis_every and self.analysis_taken.is_set() and self.analyst.idle():
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

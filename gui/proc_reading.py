"""Reading the simulated kernel's /proc files at an instant of a run, off the GUI thread.

A run keeps no kernel state of its past instants: :class:`ProcFilesRead` simulates the run's scenario again
(same seed, same engine) from boot to the instant and reads the files there
(:func:`tickscope.sim.snapshot.proc_files_at`, the texts ``tickscope timer-list --at`` and ``tickscope
interrupts --at`` print).  The run controller owns the reads (:meth:`RunController.read_proc_files_at`).
"""
from __future__ import annotations

import threading
import time

from PySide6 import QtCore

from tickscope.gui.background import NO_RESULT, BackgroundJob
from tickscope.sim import snapshot
from tickscope.sim.simulation import Cancelled

# The reference engine holds the GIL while it runs: a pause after each slice lets the GUI thread paint, as the
# run's worker does (run_worker.YIELD_S: UI stall p99 ~120 ms without, ~70 ms with).  The Cython engine runs
# without the GIL and needs none.
YIELD_REFERENCE_S = 0.004
# Progress goes out at most this often: QProgressBar.setValue repaints at once, and a short read's 200 slices
# queued 200 of them, which the GUI thread took in one go (measured: a 108 ms stall reading bare-metal-lapic
# at 300 s, ~2 ms with this)
PROGRESS_EVERY_S = 0.05


class ProcFilesRead(BackgroundJob):
    """One reading of the /proc files at *at_ns* of *scenario*'s run (*engine*, *seed*), in its own thread.

    Signals ``progressed(now_ns, at_ns)`` after every slice of the simulation, then ``done(files)`` (title ->
    text) or ``failed(message)``; a cancelled read signals neither.
    """

    progressed = QtCore.Signal(object, object)

    def __init__(self, scenario, at_ns: int, engine: str, seed: int | None, parent=None):
        super().__init__(parent)
        self.setObjectName("tickscope-proc-read")
        self.scenario, self.at_ns, self.engine, self.seed = scenario, int(at_ns), engine, seed
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Stop at the end of the slice in progress (the thread finishes without a result)."""
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def work(self):
        pause = YIELD_REFERENCE_S if self.engine == "reference" else 0.0
        last = [0.0]   # when progress went out last

        def progress(now_ns, at_ns):
            now = time.perf_counter()
            if now - last[0] >= PROGRESS_EVERY_S:
                last[0] = now
                self.progressed.emit(int(now_ns), int(at_ns))
            if pause:
                time.sleep(pause)

        try:
            files = snapshot.proc_files_at(self.scenario, self.at_ns, engine=self.engine, seed=self.seed,
                                           on_progress=progress, cancel=self._cancel.is_set)
        except Cancelled:
            return NO_RESULT
        return NO_RESULT if self._cancel.is_set() else files

"""The engine's event queue in both layouts (ext/heap.pxd) keeps the reference's order.

The queue replaces or removes a re-armed or cancelled source's entry where the reference
leaves it behind and skips it; the logs must still match record for record.  Small
machines stay in the sorted layout; these cases push it into the heap layout (many
CPUs, each with a device, a workload toggle and wake-ups) and through cancellations
(C3 with broadcast shuts local timers down) and the hrtimer broadcast.
"""
import numpy as np
import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.simulation import Simulation, cython_available, cython_unavailable_reason

pytestmark = pytest.mark.skipif(not cython_available(), reason=str(cython_unavailable_reason()))

CASES = [
    ("many-cores", ['machine.broadcast="hpet"', "machine.arat=false", 'machine.cstates=["C1","C3","C6"]'], 30_000_000),
    ("bare-metal-hpet-c3", ["machine.cpus=40", 'workload.kind="mixed"'], 200_000_000),
    ("bare-metal-hpet-c3", ["machine.cpus=12", 'workload.kind="mixed"', 'machine.broadcast="hrtimer"'], 300_000_000),
    ("bare-metal-lapic", ["machine.cpus=8", 'kernel.nohz="idle"', "machine.arat=false", 'machine.cstates=["C1","C3","C6"]',
                          'machine.broadcast="hpet"', "kernel.watchdog=true", 'workload.kind="mixed"'], 2_000_000_000),
]


@pytest.mark.parametrize("preset,sets,until", CASES, ids=["many-cores-c3", "40cpu-mixed", "12cpu-hrtimer-bc", "bench-mixed"])
def test_queue_keeps_reference_order(preset, sets, until):
    sc = scen.apply_sets(scen.preset(preset), sets)
    ref = Simulation(sc, engine="reference", until_ns=until)
    cy = Simulation(sc, engine="cython", until_ns=until)
    # in slices, so that runs stop and resume with entries still queued
    for k in range(1, 5):
        ref.engine.run_until(until * k // 4)
        cy.engine.run_until(until * k // 4)
    a, b = ref.engine.columns(), cy.engine.columns()
    assert len(a["time_ns"]) > 1000
    for name in ("time_ns", "cpu", "kind", "source", "value"):
        assert np.array_equal(a[name], b[name]), name
    assert ref.engine.events == cy.engine.events
    assert ref.engine.cpu_state() == cy.engine.cpu_state()

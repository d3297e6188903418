"""tick_nohz_lowres_handler as the kernel runs it (engine semantics 11), in both engines.

The expected numbers come from the kernel rules, worked through by hand in the comments, not from a run."""
import numpy as np
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.simulation import cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])


def run(preset, sets, engine):
    return simulate(scen.apply_sets(scen.preset(preset), list(sets)), engine=engine)


# One CPU in low-res NO_HZ at HZ=250, busy for 8.5 ms, then idle for 100 ms; interrupts take 1 ms to arrive.
IN_FLIGHT = ["kernel.highres=false", 'kernel.nohz="idle"', 'run.until="120ms"', "machine.cpus=1",
             'workload.kind="mixed"', 'workload.busy_period={dist="fixed", mean="8500us"}',
             'workload.idle_period={dist="fixed", mean="100ms"}', 'machine.irq_latency="1ms"', "machine.irq_jitter=0",
             'machine.cstates=["C1"]']


@pytest.mark.parametrize("engine", ENGINES)
def test_lowres_nohz_runs_the_tick_for_an_interrupt_that_arrives_before_its_slot(engine):
    # The 4 ms slot's interrupt reaches the CPU at 5 ms, which switches to low-res NO_HZ with its next slot at 8 ms.
    # That interrupt is raised at 8 ms; at 8.5 ms the CPU goes idle and stops the tick (the sched_timer moves to
    # the watchdog's round, half a second away), but the raised interrupt is already on its way and arrives at
    # 9 ms + the 2 us C1 exit latency.  tick_nohz_lowres_handler has no "is the slot due" test: it runs
    # tick_sched_do_timer and tick_sched_handle for every interrupt, so that is a tick (update_process_times),
    # for no slot of the grid.  Engine semantics 10 logged it as an IRQ that handled no tick.
    res = run("bare-metal-lapic", IN_FLIGHT, engine)
    ticks = np.flatnonzero(res.kind == Kind.TICK)
    # the 4 ms slot at 5 ms, the early one, then the 112 and 116 ms slots after the idle period (restart at 108.5)
    assert (res.time_ns[ticks] + 500_000) // 1_000_000 == pytest.approx([5, 9, 113, 117])
    assert res.time_ns[ticks[1]] == 9_002_000
    early = ticks[1]
    assert res.source[early] == 0 and res.value[early] == 9_002_000     # kernel time at entry: no slot
    assert np.count_nonzero(res.kind == Kind.IRQ) == 0
    (state,) = res.meta["cpus"]
    assert state["ticks"] == 4 and state["irqs"] == 4                   # one tick per interrupt
    (cpu,) = analysis.per_cpu(res)
    assert cpu["ticks_lost"] == 0 and cpu["ticks_duplicated"] == 0     # the skipped 8 ms slot is not expected
    assert analysis.tick_outcomes(res)["off_grid"].tolist() == [False, True, False, False]


# Four CPUs that cannot keep their LAPIC timer in C3/C6, with the hrtimer broadcast, in low-res NO_HZ; user timers
# at a random 300 Hz.  The broadcast hrtimer's holder has its device programmed for its timers between ticks.
HRTIMER_BC = ["kernel.highres=false", 'kernel.nohz="idle"', 'run.until="500ms"', 'workload.kind="timers"',
              'workload.timers=[{kind="random", rate_hz=300}]', "machine.arat=false",
              'machine.cstates=["C1","C3","C6"]', 'machine.broadcast="hrtimer"']


@pytest.mark.parametrize("engine", ENGINES)
def test_every_lowres_nohz_interrupt_is_a_tick(engine):
    # Whatever the interrupt was programmed for, the low-res handler is the tick: each CPU's ticks are its own
    # device's interrupts plus the broadcast's calls of its handler, and no interrupt handles "no tick".
    res = run("bare-metal-lapic", HRTIMER_BC, engine)
    assert {c["mode"] for c in res.meta["cpus"]} == {TickMode.LOWRES_NOHZ}
    assert np.count_nonzero(res.kind == Kind.IRQ) == 0
    off = analysis.tick_outcomes(res)["off_grid"]
    assert off.sum() >= 10       # interrupts between slots (semantics 10: 31 IRQ records in this run)
    for cpu, state in enumerate(res.meta["cpus"]):
        mine = res.cpu == cpu
        via_bc = np.count_nonzero(mine & (res.kind == Kind.TICK) & (res.source == 1))
        assert state["ticks"] == np.count_nonzero(mine & (res.kind == Kind.TICK))
        assert state["ticks"] == state["irqs"] + via_bc

"""The broadcast hrtimer moving off a high-res CPU leaves that CPU's device armed (engine semantics 16)."""
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.events import Kind
from tickscope.sim.simulation import cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])

# laptop-deep-idle (4 CPUs, C1..C10, user timers) without ARAT or an HPET: the hrtimer broadcast, high-res
HRTIMER_BC = ['machine.broadcast="hrtimer"', "machine.hpet=false", "machine.arat=false", "kernel.highres=true",
              'kernel.nohz="idle"', 'run.until="2s"']


def _records(res, cpu, t0, t1):
    m = (res.cpu == cpu) & (res.time_ns >= t0) & (res.time_ns <= t1)
    return [(int(t), Kind(int(k)).name, int(s), int(v))
            for t, k, s, v in zip(res.time_ns[m], res.kind[m], res.source[m], res.value[m])]


@pytest.mark.parametrize("engine", ENGINES)
def test_the_former_holder_of_the_broadcast_hrtimer_takes_an_interrupt_at_its_old_expiry(engine):
    # hrtimer_start of the broadcast hrtimer on the CPU that now needs it earliest takes the timer off the former
    # holder's base; that base is remote, and remove_hrtimer reprograms only the local CPU's device.  So the former
    # holder's device stays armed for the old expiry (its expires_next still says so, and its own later hrtimers do
    # not move it: hrtimer_reprogram programs only an earlier one): it takes an interrupt there that expires nothing.
    # Semantics 15 reprogrammed the former holder for its own next hrtimer, so it slept through that instant.
    res = simulate(scen.apply_sets(scen.preset("laptop-deep-idle"), HRTIMER_BC), engine=engine)
    # CPU 0 goes idle at 525.69 ms holding the broadcast hrtimer (for CPU 1's next event, sleeping in C10): the
    # holder may not go deep (-EBUSY, BC_ENTER source 1), so it sleeps in C1 with its device armed for that expiry
    assert _records(res, 0, 525_690_114, 525_690_114)[-2:] == [(525_690_114, "BC_ENTER", 1, 5),
                                                               (525_690_114, "IDLE", 1, 18_003_010)]
    # CPU 3 goes idle at 526.63 ms with an earlier event, takes the broadcast hrtimer over (its own -EBUSY), and keeps
    # it (refused again at 528.82 ms); at the hrtimer's expiry its interrupt runs the broadcast handler
    assert (526_632_114, "BC_ENTER", 1, 4) in _records(res, 3, 526_632_114, 526_632_114)
    assert (528_824_636, "BC_ENTER", 1, 5) in _records(res, 3, 528_824_636, 528_824_636)
    expiry_irq = [r for r in _records(res, 3, 543_704_120, 543_704_120) if r[1] == "IRQ"]
    assert len(expiry_irq) == 1
    # ... and CPU 0, untouched in C1 since 525.69 ms, wakes at that same instant: an interrupt of its own device at
    # the same kernel time, expiring nothing (no tick, no timer).  No longer the holder, it then goes deep (C10).
    assert _records(res, 0, 525_690_115, 543_704_119) == []
    assert _records(res, 0, 543_704_120, 543_704_120) == [
        (543_704_120, "WAKE", 1, 543_704_120 - 525_690_114), (543_704_120, "JIFFIES", 3, 135),
        (543_704_120, "IRQ", 0, expiry_irq[0][3]), (543_704_120, "BC_ENTER", 0, 5), (543_704_120, "IDLE", 5, 13_640_639)]
    # CPU 1's wake-up still comes from CPU 3's broadcast IPI
    assert (544_596_120, "BROADCAST", 0, 3) in _records(res, 1, 544_596_120, 544_596_120)



@pytest.mark.parametrize("engine", ENGINES)
def test_a_cpu_refused_from_the_force_mask_still_runs_the_broadcast_hrtimer_it_takes(engine):
    # bare-metal-hpet-c3 without the HPET: 8 CPUs, the hrtimer broadcast, C1E/C6/C10 without ARAT, periodic
    # high-res ticks (nohz off) at HZ=100 for 2 s, 1000 Hz user timers, IPIs taking 300 us. A CPU that leaves deep
    # idle after its event expired is put in the force mask, refused deep idle next time (-EBUSY) and left in the
    # broadcast mask with its timer shut down; the broadcast IPI then wakes it, and the broadcast hrtimer it
    # starts while handling it must program its device (irq entry switched it back on). Every CPU's sched_timer
    # then runs all 200 slots (a broadcast never loses a high-res tick, it only delays it), and jiffies advance
    # 200. Before engine semantics 17 the timer stayed on the shut-down device at 0.27 s: no CPU woke again
    # (27 ticks per CPU, jiffies +27).
    sets = ["machine.hpet=false", 'machine.broadcast="hrtimer"', "machine.arat=false",
            'machine.cstates=["C1E","C6","C10"]', "machine.cpus=8", "kernel.hz=100", 'kernel.nohz="off"',
            "kernel.highres=true", 'workload.kind="idle"', 'workload.timers=[{kind="random", rate_hz=1000}]',
            "machine.irq_latency=50000", "machine.ipi_latency=300000", 'run.until="2s"', "run.seed=486"]
    res = simulate(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), sets), engine=engine)
    s = analysis.summarize(res)
    assert s["jiffies_delta"] == 200
    assert [(c["ticks_delivered"], c["ticks_lost"]) for c in s["cpus"]] == [(200, 0)] * 8

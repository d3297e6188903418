"""Restarting the stopped tick reprograms the device only when the sched_timer is the CPU's first hrtimer.

kernel/time/tick-sched.c: tick_nohz_restart() cancels the sched_timer and starts it again at last_tick forwarded
past now (hrtimer_start_expires); kernel/time/hrtimer.c: hrtimer_start_range_ns() reprograms the device only when
the timer becomes the first of its clock base, and hrtimer_reprogram() not for an expiry at or after expires_next.
An hrtimer already past that never ran (its interrupt was left to a broadcast device that gave up) keeps both: the
restarted tick never reaches the device, and the CPU, running its task, takes no interrupt again.

By hand: HZ=1000, 2 CPUs, no ARAT, C1/C3, an HPET broadcast whose comparator write takes 2 ms ("CE: Reprogramming
failure. Giving up" at the first broadcast programming).  CPU 1 runs a task for 5 ms from boot, idles 45 ms, runs
5 ms again...; it has a 3 ms periodic user timer.  Its tick runs at 1, 2, 3 and 4 ms (the user timer runs at 3 ms,
next due at 6 ms); at 5 ms it goes idle, stops the tick and sleeps in C3 on the broken broadcast (the 5 ms slot's
interrupt, already raised, wakes it once at 5.071 ms and finds nothing due: an IRQ, no tick).  The task wakes
it at 50 ms (C3's exit: 50.07 ms); the broadcast exit finds the local event (6 ms) past and leaves the device
alone, and the restart (last_tick 5 ms forwarded to 51 ms) is not the first hrtimer: no further tick, no timer.
"""
import numpy as np
import pytest

from tickscope.sim import analysis, scenario
from tickscope.sim.events import Kind
from tickscope.sim.simulation import simulate

SETS = ['machine.broadcast="hpet"', "machine.arat=false", 'machine.cstates=["C1", "C3"]', 'kernel.nohz="idle"',
        'workload.kind="timers"', 'workload.timers=[{kind="periodic", period="3ms"}]', "machine.cpus=2",
        "kernel.hz=1000", 'run.until="1s"', 'machine.hpet_write_delay="2ms"', "kernel.watchdog=false",
        'workload.per_cpu=[{cpus=[1], kind="mixed", busy_period={dist="fixed", mean="5ms"}, '
        'idle_period={dist="fixed", mean="45ms"}}]']


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_restarted_tick_behind_a_past_hrtimer_does_not_reprogram_the_device(engine):
    res = simulate(scenario.apply_sets(scenario.preset("bare-metal-lapic"), SETS), engine=engine)
    assert ((res.kind == Kind.MIN_DELTA) & (res.value == -1)).any()          # the broadcast device gave up
    on1 = res.cpu == 1
    assert res.value[on1 & (res.kind == Kind.TICK)].tolist() == [1_000_000, 2_000_000, 3_000_000, 4_000_000]
    assert res.value[on1 & (res.kind == Kind.UTIMER)].tolist() == [3_000_000]
    restart = on1 & (res.kind == Kind.TICK_RESTART)
    assert res.time_ns[restart].tolist()[:1] == [50_070_000] and res.value[restart].tolist()[:1] == [51_000_000]
    handled = np.isin(res.kind, [Kind.TICK, Kind.IRQ, Kind.UTIMER])
    assert res.time_ns[on1 & (res.kind == Kind.IRQ)].tolist() == [5_071_000]
    assert np.count_nonzero(on1 & handled & (res.time_ns > 5_071_000)) == 0    # nothing more, in 995 ms
    assert analysis.per_cpu(res)[1]["timers_overdue"] == 1

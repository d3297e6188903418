"""/proc/timer_list's .idle_exittime is written only when idle ends with the tick stopped.

kernel/time/tick-sched.c: tick_nohz_idle_exit() calls tick_nohz_idle_update_tick() -> tick_nohz_account_idle_time(),
which sets ts->idle_exittime, only when TS_FLAG_STOPPED is set (4.x: tick_nohz_restart_sched_tick() set it, also only
for a stopped tick).  An idle period that ends with the tick still running leaves idle_exittime as it was.
"""
import re

import pytest

from tickscope.sim import scenario, simulation
from tickscope.sim.cli import main

MIXED = ['kernel.nohz="off"', 'workload.kind="mixed"', "workload.busy_fraction=0.5", 'run.until="200ms"']


def _idle_exittimes(capsys, *sets):
    argv = ["timer-list", "--preset", "bare-metal-lapic"]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    return [int(x) for x in re.findall(r"\.idle_exittime\s*: (-?\d+) nsecs", capsys.readouterr().out)]


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_idle_exits_with_a_running_tick_leave_idle_exittime_alone(engine):
    # nohz=off: the tick never stops, so the kernel never writes idle_exittime although the CPUs leave idle often
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), MIXED)
    sim = simulation.Simulation(sc, engine=engine)
    sim.run()
    cpus = sim.engine.cpu_state()
    assert all(c["idle_exittime"] == 0 for c in cpus)
    assert all(c["tick_stopped"] == 0 and c["idle_sleeptime"] > 0 for c in cpus)   # they did go idle


def test_timer_list_prints_zero_idle_exittime_without_nohz(capsys):
    assert _idle_exittimes(capsys, *MIXED) == [0, 0, 0, 0]


def test_idle_exittime_follows_the_exits_with_the_tick_stopped(capsys):
    # NO_HZ idle: an exit after a stopped tick sets it; it is one of those exits' times (never after now)
    times = _idle_exittimes(capsys, 'kernel.nohz="idle"', *MIXED[1:])
    assert all(t > 0 for t in times)

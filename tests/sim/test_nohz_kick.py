"""A NO_HZ kick takes the idle CPU once round schedule(): its stopped tick restarts and stops again.

kernel/time/timer.c: add_timer_on() queues the clocksource watchdog's timer on the next CPU; when that CPU's timer
base is idle and the timer is its first, trigger_dyntick_cpu() -> wake_up_nohz_cpu() -> wake_up_idle_cpu()
(kernel/sched/core.c) sets TIF_NEED_RESCHED on its idle task: "This forces an exit from the idle loop and a round
trip to schedule()".  do_idle() (kernel/sched/idle.c) leaves its loop, so tick_nohz_idle_exit() restarts the stopped
tick (tick_nohz_restart_sched_tick: jiffies caught up, the sched_timer at last_tick forwarded past now) and writes
idle_exittime (tick_nohz_account_idle_time); schedule_idle() finds nothing to run and the next do_idle() stops the
tick again, now for the watchdog's expiry (last_tick = the restarted expiry, idle_jiffies = jiffies then).  The kick
is no interrupt with irq_enter (x86's reschedule vector is a simple sysvec; MWAIT only sees the flag), so
tick_nohz_update_jiffies does not write idle_waketime.

The numbers, by hand, for 3 idle CPUs at HZ=300 (TICK_NSEC 3333333, INITIAL_JIFFIES 2^32 - 90000 = 4294877296):
the first tick (3333333) switches to high-res and every CPU stops its tick; CPU 0 had do_timer and sleeps until
the watchdog's first round.  clocksource_start_watchdog queues it at expires = jiffies + HZ/2 = +150: timer wheel
level 1 (8-jiffy buckets) runs it at jiffy (150 >> 3) + 1 = 19 buckets = 152 (506666616 ns).  The round moves it to
CPU 1 with expires +300: (300 >> 3) + 1 = 38 buckets, jiffy 304 (1013333232 ns), and kicks CPU 1 at 506666616 ns,
where the kernel's clock (TSC 2.4 GHz: mult 6990507, shift 24) reads (1215999878 * 6990507) >> 24 = 506666639.
Its restart catches jiffies up to 152 (1 + (506666639 - 3333333 - 3333333) // 3333333 = 151 more) and forwards
last_tick 6666666 by 151 ticks to 509999949; the stop then programs the watchdog's jiffy, 1013333232.
"""
import re

import numpy as np
import pytest

from tickscope.sim import scenario, snapshot
from tickscope.sim.events import Kind
from tickscope.sim.simulation import Simulation, simulate

SETS = ["kernel.hz=300", "machine.cpus=3", 'kernel.nohz="idle"', 'workload.kind="idle"']
KICK_T = 506_666_616             # jiffy 152 of true time: the watchdog's first round
KICK_K = (KICK_T * 24 // 10 * 6_990_507) >> 24
INITIAL_JIFFIES = 2**32 - 300 * 300


def _scenario(until):
    return scenario.apply_sets(scenario.preset("bare-metal-lapic"), SETS + [f'run.until="{until}"'])


def _tick_sched(text: str) -> list[dict]:
    blocks = re.split(r"^cpu: \d+$", text, flags=re.M)[1:]
    return [{k: int(v) for k, v in re.findall(r"^  \.(\w+)\s*: (-?\d+)", b, flags=re.M)} for b in blocks]


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_watchdog_kick_restarts_the_stopped_tick_and_stops_it_again(engine):
    assert KICK_K == 506_666_639
    res = simulate(_scenario("800ms"), engine=engine)
    at = (res.time_ns == KICK_T) & (res.cpu == 1)
    rows = [(Kind(k).name, int(v)) for k, v in zip(res.kind[at], res.value[at]) if k != Kind.WAKE]
    assert rows == [("JIFFIES", 152), ("TICK_RESTART", 509_999_949), ("TICK_STOP", 1_013_333_232),
                    ("IDLE", 1_013_333_232 - KICK_K)]
    # CPU 2 is not kicked before 800 ms: one stop, never restarted
    assert np.count_nonzero((res.kind == Kind.TICK_RESTART) & (res.cpu == 2)) == 0
    assert res.meta["jiffies"] == 240


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_timer_list_of_a_kicked_cpu_shows_the_round_trip(engine):
    sim = Simulation(_scenario("800ms"), engine=engine, settle=False)
    sim.run()
    sim.engine.run_until(sim.engine.settle_ktime(sim.until_ns))
    cpu0, cpu1, cpu2 = _tick_sched(snapshot.timer_list_text(sim))
    assert cpu1["tick_stopped"] == 1
    assert cpu1["last_tick"] == 509_999_949                    # the restarted sched_timer's expiry
    assert cpu1["idle_exittime"] == cpu1["idle_entrytime"] == cpu1["idle_sleeptime"] == KICK_K
    assert cpu1["idle_waketime"] == 0                          # no irq_enter with its tick stopped, ever
    assert cpu1["idle_jiffies"] == cpu1["last_jiffies"] == INITIAL_JIFFIES + 152
    assert (cpu1["idle_calls"], cpu1["idle_sleeps"]) == (2, 2)
    assert cpu1["idle_expires"] == cpu1["next_timer"] == 1_013_333_232
    # CPU 2: stopped at the first tick, untouched since
    assert (cpu2["last_tick"], cpu2["idle_exittime"], cpu2["idle_calls"]) == (6_666_666, 0, 1)
    assert cpu2["idle_jiffies"] == INITIAL_JIFFIES + 1
    # CPU 0 woke by its own sched_timer at jiffy 152 (an interrupt: idle_waketime), never left idle
    assert cpu0["idle_exittime"] == 0 and cpu0["idle_waketime"] > KICK_K

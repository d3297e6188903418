"""Who decides that an idle CPU stops its tick: tick_nohz_next_event, and the cpuidle governor when there is one.

Since 4.17 the idle loop asks the governor first (``cpuidle_select(.., &stop_tick)``) and stops the tick only if
it agrees.  menu keeps the tick (``stop_tick = false``) when the idle time it predicts is shorter than a tick; that
prediction is at most ``tick_nohz_get_sleep_length``: the time from *now* (the idle entry) to the next event, the
CPU's hrtimers included.  Without a cpuidle driver (no C-states: ``cpuidle_not_available``) the idle loop calls
``tick_nohz_idle_stop_tick`` directly and only ``tick_nohz_next_event`` decides, which in high-res mode looks at
timer-wheel timers alone.  ``/proc/timer_list``'s ``idle_calls`` counts the calls of ``tick_nohz_idle_stop_tick``: an
idle entry whose tick the governor retains (``tick_nohz_idle_retain_tick``) is not one.
"""
import numpy as np
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.events import Kind
from tickscope.sim.simulation import cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])
STATES = 'machine.cstates=["C1", "C1E", "C3", "C6"]'


def _one_cpu_with_a_periodic_hrtimer(engine, hz, period, cstates):
    sets = ["machine.cpus=1", f"kernel.hz={hz}", "kernel.highres=true", 'kernel.nohz="idle"', "kernel.watchdog=false",
            'workload.kind="timers"', f'workload.timers=[{{kind="periodic", period="{period}"}}]', cstates,
            'run.until="2s"']
    res = simulate(scen.apply_sets(scen.preset("bare-metal-lapic"), sets), engine=engine)
    return analysis.summarize(res), int(np.count_nonzero(res.kind == Kind.IDLE))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("hz,period", [(250, "3ms"), (300, "3ms"), (100, "7ms"), (1000, "900us")])
def test_menu_keeps_the_tick_when_the_next_hrtimer_is_less_than_a_tick_from_now(engine, hz, period):
    # Every idle entry follows a timer expiry, so the next one is `period` away: less than TICK_NSEC (4 ms at
    # HZ=250, 3.33 ms at 300, 10 ms at 100, 1 ms at 1000).  menu predicts at most that and keeps the tick every
    # time: no tick stop, HZ ticks a second.  Semantics 10-12 measured the hrtimer from the last jiffy update
    # instead of from now, so an idle entry late in a jiffy stopped the tick (HZ=250, 3 ms: 330 stops and 170 of
    # the 500 ticks in 2 s).
    # The governor retains the tick on each of those idle entries: none is an idle call (semantics 12 counted
    # every idle entry: 999 calls, 330 sleeps).
    out, idle_entries = _one_cpu_with_a_periodic_hrtimer(engine, hz, period, STATES)
    cpu = out["cpus"][0]
    assert idle_entries > 2 * hz and cpu["idle_ns"] > 0
    assert cpu["tick_stops"] == cpu["idle_sleeps"] == cpu["idle_calls"] == 0
    assert cpu["ticks_delivered"] == cpu["ticks_expected"] == 2 * hz
    assert out["jiffies_delta"] == 2 * hz
    period_ns = {"3ms": 3_000_000, "7ms": 7_000_000, "900us": 900_000}[period]
    assert cpu["timers_fired"] == 2_000_000_000 // period_ns


@pytest.mark.parametrize("engine", ENGINES)
def test_without_cpuidle_nothing_but_timer_wheel_timers_keeps_the_high_res_tick(engine):
    # No C-states: default_idle_call, no governor.  With no timer-wheel timer (watchdog off) the tick stops on
    # every idle entry although a 3 ms hrtimer is always pending (4 ms tick); each timer is an hrtimer_interrupt
    # alone (666 in 2 s), and jiffies still advance by HZ a second (irq entry and idle exit catch them up).
    out, idle_entries = _one_cpu_with_a_periodic_hrtimer(engine, 250, "3ms", "machine.cstates=[]")
    cpu = out["cpus"][0]
    assert cpu["timers_fired"] == 666
    # every idle entry but the first (at boot, before the first tick switched to high-res mode: no NO_HZ yet)
    assert idle_entries - 1 == cpu["idle_calls"] == cpu["idle_sleeps"] == cpu["tick_stops"] == 666
    assert cpu["ticks_delivered"] <= 1              # the first tick, which switches to high-res mode
    assert out["jiffies_delta"] == 500


@pytest.mark.parametrize("engine", ENGINES)
def test_idle_calls_count_only_the_entries_the_governor_lets_stop_the_tick(engine):
    # bare-metal-hpet-c3 (C1, C1E, C3, a mixed load, 25 ms user timers): some idle entries keep the tick (a
    # timer less than a tick away), the others stop it or find it stopped.  With a governor every idle call
    # reaches tick_nohz_stop_tick (idle_sleeps), so the two counters agree, and the retained entries are in
    # neither (semantics 12 counted every idle entry: 269 calls for 234 sleeps on CPU 0 in 2 s).
    res = simulate(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="2s"']), engine=engine)
    entries = np.bincount(res.cpu[res.kind == Kind.IDLE], minlength=4)
    for cpu in analysis.per_cpu(res):
        assert cpu["idle_calls"] == cpu["idle_sleeps"] > 100
        assert cpu["idle_calls"] < entries[cpu["cpu"]]

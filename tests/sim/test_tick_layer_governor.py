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


# A custom state that takes longer to leave than to pay off: exit latency 3 ms, target residency 500 us.
SLOW_EXIT = ('machine.cstates=["C1", {name="Z", exit_latency="3ms", target_residency="500us"}]')


def _one_idle_cpu(engine, workload, cstates, extra=()):
    sets = ["machine.cpus=1", "kernel.hz=250", "kernel.highres=true", 'kernel.nohz="off"', "kernel.watchdog=false",
            cstates, 'run.until="100ms"', *workload, *extra]
    res = simulate(scen.apply_sets(scen.preset("bare-metal-lapic"), sets), engine=engine)
    entered = np.bincount(res.source[res.kind == Kind.IDLE], minlength=len(res.meta["cstates"]))
    return analysis.summarize(res)["cpus"][0], entered


@pytest.mark.parametrize("engine", ENGINES)
def test_menu_skips_a_state_slower_to_leave_than_the_predicted_idle_while_the_tick_runs(engine):
    # menu_select bounds latency_req by the predicted idle time while the tick runs (4.17+: unless the tick is
    # already stopped; before 4.17 always) and stops at the first state whose exit latency exceeds it.  HZ=250,
    # nohz=off, one idle CPU: an idle entry right after a tick handled from C1 predicts 3.997 ms, Z fits (3 ms).
    # Woken from Z by the next tick, the CPU handles it 3.001 ms late and predicts 0.999 ms: Z's target residency
    # fits but its exit latency does not, so C1.  Until the first tick the CPU halts in C1 (no C-states before it:
    # engine semantics 18), leaving at 4.003 ms (1 us IRQ latency, 2 us exit).  Then Z and C1 alternate: 13 entries
    # of Z (4.003 + 8k ms; the last after the 100 ms tick, delivered as the run ends) and 13 of C1 (t = 0, then
    # 11.001 + 8k ms); Z holds 12 * 6.998 = 83.976 ms, C1 4.003 + 11 * 1.002 + 0.999 = 16.024 ms (residency stops
    # at the run's end).  Semantics 15 went by target residency alone: Z all the time, every tick 3.001 ms late.
    cpu, entered = _one_idle_cpu(engine, ['workload.kind="idle"'], SLOW_EXIT)
    assert list(entered) == [13, 13]
    assert abs(cpu["cstate_residency_ns"]["Z"] - 83_976_000) < 1_000
    assert abs(cpu["cstate_residency_ns"]["C1"] - 16_024_000) < 1_000
    assert sum(cpu["cstate_residency_ns"].values()) == cpu["idle_ns"] == 100_000_000
    assert cpu["ticks_delivered"] == cpu["ticks_expected"] == 25


@pytest.mark.parametrize("engine", ENGINES)
def test_a_1ms_timer_keeps_a_cpu_out_of_a_state_with_a_3ms_exit(engine):
    # A 1 ms periodic hrtimer with the tick running: every idle entry predicts under 1 ms, less than Z's 3 ms exit
    # latency, so C1 and the timer runs on time: 97 expiries in 100 ms (the first, due at 1 ms, waits for the
    # 4 ms tick that switches to high-res mode, handled at 4.003 ms from the C1 the CPU halts in until then, and
    # is forwarded past 2, 3, 4 ms; then 5, 6, ..., 100 ms), 1 late.  Before engine semantics 18 the CPU slept
    # in Z at boot, predicting the 4 ms tick, which it delayed to 7.001 ms (94 expiries).
    # Semantics 15 picked Z (target residency 500 us) after every timer: the timer ran every 3 ms at best, 25 runs.
    cpu, entered = _one_idle_cpu(engine, ['workload.kind="timers"', 'workload.timer_work="0ns"',
                                          'workload.timers=[{kind="periodic", period="1ms"}]'], SLOW_EXIT)
    assert cpu["timers_fired"] == 97 and cpu["timers_late"] == 1
    assert entered[1] == 0
    assert cpu["cstate_residency_ns"] == {"C1": 100_000_000, "Z": 0}


@pytest.mark.parametrize("engine", ENGINES)
def test_a_refused_deep_state_falls_back_to_a_state_no_slower_to_leave(engine):
    # No broadcast device and a LAPIC timer that stops in C3: tick_broadcast_enter says -EBUSY every time, and
    # cpuidle_enter_state falls back to find_deepest_state(exit latency of the refused state, no TIMER_STOP):
    # Y (keeps the timer, exit 150 us) is slower to leave than C3 (70 us), so C1.  25 ticks and the boot idle
    # entry refused: 26 (the tick never goes oneshot without a broadcast device, so the C-states are offered from
    # t = 0: engine semantics 18 holds them back only until a switch to oneshot).  Semantics 15 fell back by target
    # residency: Y, and every tick 151 us late.
    states = ('machine.cstates=["C1", {name="Y", exit_latency="150us", target_residency="50us"}, "C3"]')
    cpu, entered = _one_idle_cpu(engine, ['workload.kind="idle"'], states,
                                 ["machine.arat=false", "machine.tsc_deadline=false", 'machine.broadcast="none"'])
    assert cpu["deep_refused"] == 26
    assert list(entered) == [26, 0, 0]
    assert cpu["cstate_residency_ns"] == {"C1": 100_000_000, "Y": 0, "C3": 0}
    assert cpu["latency_ns_max"] < 5_000


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("broadcast,refused", [("hpet", False), ("pit", False), ("none", True)])
def test_no_deep_state_is_asked_for_before_the_first_tick(engine, broadcast, refused):
    extra = ["machine.hpet=false"] if broadcast == "pit" else []   # with an HPET the kernel registers no PIT device
    # bare-metal-hpet-c3 (no ARAT, C3): before semantics 18 every CPU asked for C3 at t = 0 and the broadcast, still
    # periodic, refused it: deep_refused 1 on each CPU of a machine whose HPET broadcast works.  Now the CPUs halt in
    # C1 until their first tick switches them to oneshot (no cpuidle driver before that), and only a machine without
    # a broadcast device, whose tick stays periodic, refuses deep states (every time the governor wants one)
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), [f'machine.broadcast="{broadcast}"', 'run.until="500ms"', *extra])
    res = simulate(sc, engine=engine)
    for cpu in range(4):
        mine = res.cpu == cpu
        first_tick = int(res.time_ns[np.flatnonzero(mine & (res.kind == Kind.TICK))[0]])
        before = mine & (res.time_ns < first_tick)
        if not refused:   # a tick that will go oneshot: C1 (HLT) only, no broadcast call, until that first tick
            assert set(res.source[before & (res.kind == Kind.IDLE)].tolist()) <= {0}
            assert not (before & (res.kind == Kind.BC_ENTER)).any()
    cpus = analysis.per_cpu(res)
    if refused:
        assert all(c["deep_refused"] > 0 and c["cstate_residency_ns"]["C3"] == 0 for c in cpus)
    else:
        assert [c["deep_refused"] for c in cpus] == [0] * 4
        assert all(c["cstate_residency_ns"]["C3"] > 0 for c in cpus)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_tick_that_stays_periodic_offers_deep_states_from_the_start(engine):
    # nohz off, no high-res, the HPET's periodic broadcast for a C3STOP LAPIC: no switch to oneshot is coming, so
    # the idle CPUs sleep in C3 from t = 0, woken by the broadcast (semantics 18 holds states back only until a
    # switch to oneshot)
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['kernel.nohz="off"', "kernel.highres=false",
                                                             'workload.kind="idle"', 'run.until="100ms"'])
    res = simulate(sc, engine=engine)
    first = (res.kind == Kind.IDLE) & (res.time_ns == 0)
    assert res.source[first].tolist() == [2] * 4                      # C3 (C1, C1E, C3)
    assert [c["deep_refused"] for c in analysis.per_cpu(res)] == [0] * 4


# laptop-deep-idle's states: C8 (target residency 800 us) and C10 (5 ms, longer than a tick at HZ=250 or 1000)
DEEP = 'machine.cstates=["C1", "C1E", "C3", "C6", "C8", "C10"]'


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("hz,period,ticks,stops", [
    (250, "4600us", 500, False),   # sleeps of 4.6 ms and less: C10 (5 ms) out of reach, C8 chosen, the tick kept
    (1000, "3ms", 2000, False),    # 1 ms ticks: every sleep of 1-3 ms also stops short of C10
    (250, "5500us", None, True),   # a 5.5 ms sleep reaches C10: the tick stops
])
def test_menu_retains_the_tick_when_the_state_it_can_reach_is_shallow(engine, hz, period, ticks, stops):
    # menu_select (4.17+): at the first state whose target residency the predicted sleep does not reach, with the
    # tick running and the sleep a tick or more, it predicts the target residency of the state chosen so far
    # ("retain the tick": waking early from a shallow state does not hurt), and keeps the tick if that is under a
    # tick.  Engine semantics 19; before, only a sleep under a tick kept it: HZ=250 with a 4.6 ms timer stopped
    # the tick 216 times a second, and HZ=1000 with a 3 ms timer delivered 1 tick in a second instead of 1000.
    out, _ = _one_cpu_with_a_periodic_hrtimer(engine, hz, period, DEEP)
    cpu = out["cpus"][0]
    if not stops:
        assert cpu["tick_stops"] == cpu["idle_calls"] == 0
        assert cpu["ticks_delivered"] == cpu["ticks_expected"] == ticks
        # C8 where it fits before the next tick (delta_tick at least 800 us), else C6
        res = cpu["cstate_residency_ns"]
        assert res["C10"] == 0 and res["C8"] + res["C6"] > 0.99 * cpu["idle_ns"] and res["C8"] > 0.5 * cpu["idle_ns"]
    else:
        # every sleep that starts right after a timer reaches C10 and stops the tick (363 timers in 2 s); the
        # entries after a tick in between predict less and keep it
        assert cpu["tick_stops"] > 150 and cpu["cstate_residency_ns"]["C10"] > 0.5 * cpu["idle_ns"]


@pytest.mark.parametrize("engine", ENGINES)
def test_with_the_tick_kept_menu_bounds_exit_latency_by_the_whole_predicted_sleep(engine):
    # HZ=250 (ticks every 4 ms), a 3 ms periodic hrtimer: every sleep is under a tick, so the tick runs on. X takes
    # 2.5 ms to leave and pays off after 1 ms. menu sets latency_req to the predicted sleep, the time to the next
    # timer (tick_nohz_get_sleep_length does not count the tick), and only then steps down to a state whose target
    # residency fits before the next tick (delta_tick). So X is chosen exactly when the timer is 2.5 ms or more
    # away and both the timer and the tick at least 1 ms away. Before semantics 19 the latency limit was the time
    # to the tick as well, which took X only when the tick too was 2.5 ms away.
    sets = ["machine.cpus=1", "kernel.hz=250", "kernel.highres=true", 'kernel.nohz="idle"', "kernel.watchdog=false",
            'workload.kind="timers"', 'workload.timer_work="0ns"', 'workload.timers=[{kind="periodic", period="3ms"}]',
            'machine.cstates=["C1", {name="X", exit_latency="2500us", target_residency="1000us"}]', 'run.until="1s"']
    res = simulate(scen.apply_sets(scen.preset("bare-metal-lapic"), sets), engine=engine)
    rows = np.flatnonzero((res.kind == Kind.IDLE) & (res.time_ns > 4_100_000))   # after the switch to oneshot
    chosen = {"C1": 0, "X": 0}
    for i in rows.tolist():
        t = int(res.time_ns[i])
        timer_left = (t // 3_000_000 + 1) * 3_000_000 - t
        tick_left = (t // 4_000_000 + 1) * 4_000_000 - t
        expect = "X" if timer_left >= 2_500_000 and min(timer_left, tick_left) >= 1_000_000 else "C1"
        got = res.meta["cstates"][int(res.source[i])]["name"]
        assert got == expect, (t, timer_left, tick_left)
        chosen[got] += 1
    assert chosen["X"] > 100 and chosen["C1"] > 100

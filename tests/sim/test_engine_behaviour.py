"""What the simulated kernel must do, with numbers (issue: foundation)."""
import numpy as np
import pytest

from tickscope.sim import analysis, kclock, scenario as scen
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.reference import ReferenceEngine
from tickscope.sim.simulation import Simulation, cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])


def run(preset="bare-metal-lapic", sets=(), engine="reference"):
    sc = scen.apply_sets(scen.preset(preset), list(sets))
    return simulate(sc, engine=engine)


def ticks_per_cpu(res):
    return np.bincount(res.cpu[res.kind == Kind.TICK], minlength=res.meta["ncpus"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("hz", [100, 250, 300, 1000])
@pytest.mark.parametrize("highres", [True, False])
def test_every_cpu_ticks_at_hz_and_jiffies_follow(engine, hz, highres):
    res = run(sets=[f"kernel.hz={hz}", f"kernel.highres={str(highres).lower()}", "run.until=\"2s\""], engine=engine)
    per_cpu = ticks_per_cpu(res)
    assert all(abs(int(n) - 2 * hz) <= 1 for n in per_cpu), per_cpu
    assert abs(res.meta["jiffies"] - 2 * hz) <= 1
    s = analysis.summarize(res)
    for c in s["cpus"]:
        assert c["ticks_lost"] == 0 and c["ticks_duplicated"] == 0 and c["ticks_late"] == 0
        assert c["ticks_delivered"] == c["ticks_expected"]


def test_highres_switch_puts_ticks_on_tick_nsec_multiples():
    res = run(sets=["kernel.hz=250"])
    modes = res.select(res.kind == Kind.MODE)
    assert set(modes.source[modes.source == TickMode.HIGHRES].tolist()) == {TickMode.HIGHRES}
    assert np.count_nonzero(modes.source == TickMode.HIGHRES) == res.meta["ncpus"]
    ticks = res.value[(res.kind == Kind.TICK)]
    hr_start = modes.time_ns[modes.source == TickMode.HIGHRES].max()
    later = ticks[res.time_ns[res.kind == Kind.TICK] > hr_start]
    assert later.size > 100 and np.all(later % 4_000_000 == 0)  # like .last_tick in the real timer_list


def test_skew_tick_offsets_cpus():
    res = run(sets=["machine.cpus=4", "kernel.skew_tick=true", "run.until=\"100ms\""])
    tick = 4_000_000
    for cpu in range(4):
        exp = res.value[(res.kind == Kind.TICK) & (res.cpu == cpu)][-5:]
        assert np.all(exp % tick == (tick // 2) // 4 * cpu)


def test_lapic_deadline_device_matches_kernel_config():
    sim = Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), ["machine.tsc_hz=2445406000"]), engine="reference")
    dev = sim.plan.devices[sim.plan.tick_device[0]]
    assert (dev.name, dev.mult, dev.shift, dev.min_delta_ns, dev.max_delta_ns) == (
        "lapic-deadline", 10256776, 25, 1000, 1798493412911)


def test_pit_only_ticks_periodically_and_jiffies_clock_drifts_slow():
    res = run("pit-only", engine="reference")
    assert res.meta["clocksource"] in ("pit", "refined-jiffies", "jiffies")
    modes = res.source[res.kind == Kind.MODE]
    assert modes.tolist() == [TickMode.PERIODIC]
    # PIT period at HZ=100: LATCH 11932 counts of 1 193 182 Hz = 10 000 150.9 ns, not TICK_NSEC
    period = 11932 * 10**9 / 1193182
    exp = res.value[res.kind == Kind.TICK]
    d = np.diff(exp)
    assert d.min() == int(period) and d.max() == int(period) + 1


def test_jiffies_clocksource_loses_time_with_the_pit_period():
    res = run("pit-only", ["kernel.clocksource=jiffies"])
    assert res.meta["clocksource"] == "jiffies"
    n = res.meta["jiffies"]
    # kernel time = jiffies * TICK_NSEC while true time is jiffies * LATCH / PIT rate (+ the next partial tick)
    true_per_jiffy = 11932 * 10**9 / 1193182
    drift = analysis.summarize(res)["clocks"]["wall_drift_ns"]
    expected = n * 10_000_000 - res.meta["now_ns"]
    assert drift == expected
    assert drift < -(n * (true_per_jiffy - 10_000_000)) * 0.99


def test_forced_global_clockevent_on_cpu0_and_lapic_elsewhere():
    sim = Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), ["kernel.clockevent=hpet"]), engine="reference")
    names = [sim.plan.devices[d].name for d in sim.plan.tick_device]
    assert names[0] == "hpet" and set(names[1:]) == {"lapic-deadline"}
    res = sim.run()
    assert all(abs(int(n) - 500) <= 1 for n in ticks_per_cpu(res))


def test_unknown_forced_device_is_input_error():
    from tickscope.sim.errors import InputError

    with pytest.raises(InputError, match="kernel.clockevent: 'vmi-timer' is not a clock event device"):
        Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), ["kernel.clockevent=vmi-timer"]))
    with pytest.raises(InputError, match="kernel.clocksource: 'xen' is not registered"):
        Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), ["kernel.clocksource=xen"]))


@pytest.mark.parametrize("engine", ENGINES)
def test_irq_jitter_bounds_latency_and_seed_determines_log(engine):
    sets = ["machine.irq_latency=\"2us\"", "machine.irq_jitter=\"300us\"", "run.until=\"500ms\""]
    a = run(sets=sets + ["run.seed=7"], engine=engine)
    b = run(sets=sets + ["run.seed=7"], engine=engine)
    c = run(sets=sets + ["run.seed=8"], engine=engine)
    assert a.equal_log(b)
    assert not a.equal_log(c)
    out = analysis.tick_outcomes(a)
    # latency = handler time - expiry; expiry is kernel time which runs within ~1 us of true time here
    assert out["latency_ns"].min() >= 2000 - 1000 and out["latency_ns"].max() <= 302_000 + 1000
    assert analysis.summarize(a)["cpus"][0]["ticks_late"] > 0


def test_late_hardware_ticks_are_forwarded_not_replayed_in_highres():
    sets = ["machine.irq_latency=\"5ms\"", "kernel.hz=1000", "run.until=\"200ms\""]
    res = run(sets=sets)
    s = analysis.summarize(res)
    c = s["cpus"][0]
    # a 5 ms interrupt latency with 1 ms ticks: the sched_timer is forwarded past now, slots are skipped
    assert c["ticks_lost"] > 0 and c["ticks_duplicated"] == 0
    assert c["ticks_delivered"] + c["ticks_lost"] == c["ticks_expected"]
    # jiffies still catch up through the multi-tick update
    assert abs(res.meta["jiffies"] - 200) <= 6
    assert res.source[(res.kind == Kind.JIFFIES)].max() > 1


def test_min_delta_growth_matches_the_kernel_sequence():
    sim = Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), ["kernel.hz=1000", "run.until=\"1ms\""]),
                     engine="reference")
    eng: ReferenceEngine = sim.engine
    eng._set_next_event = lambda cpu, t, ticks: -62  # the device refuses every programming attempt
    rc = eng._program_event(0, 0, -5, True)
    assert rc == -62
    res = sim.results()
    raised = res.value[res.kind == Kind.MIN_DELTA].tolist()
    assert raised == [5000, 7500, 11250, 16875, 25312, 37968, 56952, 85428, 128142, 192213, 288319, 432478,
                      648717, 973075, 1000000, -1]
    assert eng.retries[0] == 3 * 16


def test_program_event_clamps_to_device_limits():
    sim = Simulation(scen.preset("bare-metal-lapic"), engine="reference")
    eng = sim.engine
    armed = []
    eng._set_next_event = lambda cpu, t, ticks: armed.append(ticks) or 0
    dev = sim.plan.devices[sim.plan.tick_device[0]]
    eng._program_event(0, 0, 10, False)                  # 10 ns < min_delta_ns
    eng._program_event(0, 0, 10**15, False)              # beyond max_delta_ns
    assert armed[0] == kclock.clockevent_ticks(10, dev.min_delta_ns, dev.max_delta_ns, dev.mult, dev.shift)
    assert armed[0] == (dev.min_delta_ns * dev.mult) >> dev.shift
    assert armed[1] == (dev.max_delta_ns * dev.mult) >> dev.shift


def test_step_slices_equal_one_run():
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["machine.irq_jitter=\"50us\"", "run.until=\"300ms\""])
    one = simulate(sc, engine="reference")
    sim = Simulation(sc, engine="reference")
    for s in [1, 7_000_001, 3, 50_000_000, 123_456_789] * 10:
        if sim.step(s):
            break
    while not sim.step(10_000_000):
        pass
    assert sim.results().equal_log(one)

"""The run's end: interrupts on their way at ``until`` are delivered (engine finish), so a run of T seconds
counts HZ*T jiffies and HZ*T ticks per CPU, whatever the tick's phase against the end."""
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.reference import ReferenceEngine
from tickscope.sim.simulation import Simulation, cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])

PIT_TICK_RATE = 1_193_182


def _summary(preset, sets, engine="cython" if cython_available() else "reference"):
    sc = scen.apply_sets(scen.preset(preset), list(sets))
    return analysis.summarize(simulate(sc, engine=engine))


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("preset,hz", [("bare-metal-lapic", 100), ("bare-metal-lapic", 1000), ("kvm", 250),
                                       ("hyperv", 300), ("bare-metal-hpet-c3", 250)])
def test_a_periodic_tick_counts_exactly_hz_jiffies_and_ticks_per_second(engine, preset, hz):
    # a periodic device fires exactly at `until`; its interrupt arrives after the IRQ latency (injection in a
    # guest): the end delivers it, so nothing is one short
    s = _summary(preset, [f"kernel.hz={hz}", 'kernel.nohz="off"', "kernel.highres=false",
                          'workload.kind="idle"', 'run.until="400ms"'], engine)
    want = hz * 400 // 1000
    assert s["jiffies_delta"] == want == s["jiffies_expected"]
    assert all(c["ticks_delivered"] == c["ticks_expected"] == want and c["ticks_lost"] == 0 for c in s["cpus"])


@pytest.mark.parametrize("engine", ENGINES)
def test_a_kernel_clock_behind_true_time_still_reaches_the_last_jiffy(engine):
    # many-cores' TSC rate makes the kernel clock run a little slow (its mult rounds down): the high-res
    # tick for kernel time `until` fires just after the true `until`; the end waits for the kernel's clock
    sets = ["machine.cpus=4", 'workload.kind="busy"', 'kernel.nohz="off"', 'run.until="2s"']
    s = _summary("many-cores", sets, engine)
    assert s["clocks"]["wall_drift_ns"] < 0          # the premise: kernel time lags
    assert s["jiffies_delta"] == 500
    assert all(c["ticks_delivered"] == 500 and c["ticks_lost"] == 0 for c in s["cpus"])


@pytest.mark.parametrize("hz,until_ms", [(100, 2000), (250, 2000), (1000, 2000), (300, 1000)])
def test_pit_only_counts_the_pits_own_rate_not_hz(hz, until_ms):
    # the i8254 runs at 1 193 182 / LATCH Hz (domain.md 5.2): HZ=100 is 99.9985 Hz, so 2 s hold 199 ticks
    latch = (PIT_TICK_RATE + hz // 2) // hz
    want = until_ms * PIT_TICK_RATE // (latch * 1000)
    s = _summary("pit-only", [f"kernel.hz={hz}", f'run.until="{until_ms}ms"'])
    assert s["jiffies_delta"] == want
    assert abs(want - hz * until_ms // 1000) <= 1
    assert all(c["ticks_delivered"] == want for c in s["cpus"])


@pytest.mark.parametrize("preset", ["many-cores", "laptop-deep-idle", "bare-metal-hpet-c3"])
def test_residency_stops_at_the_end_although_sleepers_wake_after_it(preset):
    s = _summary(preset, ['workload.kind="idle"', "machine.cpus=8", 'run.until="1s"'])
    assert all(0 < c["idle_ns"] <= s["until_ns"] for c in s["cpus"])
    assert all(sum(c["cstate_residency_ns"].values()) == c["idle_ns"] for c in s["cpus"])
    assert s["jiffies_delta"] == 250


def test_an_ended_simulation_does_not_run_further():
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="20ms"'])
    sim = Simulation(sc, engine="reference")
    res = sim.run()
    assert sim.done and res.meta["settled_ns"] == 20_000_000
    assert sim.step(1_000_000) is True                  # asking again is harmless
    sim.until_ns = 30_000_000
    with pytest.raises(RuntimeError, match="ended"):
        sim.step(1_000_000)


@pytest.mark.parametrize("engine", ENGINES)
def test_an_engine_refuses_to_run_after_finish(engine):
    sim = Simulation(scen.apply_sets(scen.preset("kvm"), ['run.until="10ms"']), engine=engine)
    sim.run()
    with pytest.raises(RuntimeError, match="finish"):
        sim.engine.run_until(20_000_000)


def test_finish_delivers_only_what_was_in_flight():
    # bare metal, 250 us IRQ latency: the tick due at until arrives after it and is handled; the next
    # tick's expiry (until + 4 ms) is dropped, as is every other event after the end
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['machine.irq_latency="250us"', 'run.until="40ms"',
                                                           'kernel.nohz="off"', "kernel.highres=false",
                                                           "machine.cpus=2"])
    eng = ReferenceEngine(Simulation(sc, engine="reference").plan)
    eng.run_until(40_000_000)
    before = eng.events
    assert eng.finish(40_000_000) == 40_000_000
    cols = eng.columns()
    tail = cols["time_ns"] > 40_000_000
    assert eng.events - before >= 2                       # the two CPUs' in-flight ticks
    assert tail.any() and int(cols["time_ns"][tail].max()) <= 40_000_000 + 250_000
    assert eng.now == int(cols["time_ns"].max())


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("until_ms", [1000, 2000, 2500])
def test_a_slow_c_state_exit_after_the_end_does_not_carry_jiffies_past_it(engine, until_ms):
    # HZ=1000 and C10's exit latency of several ticks: the broadcast wake-up in flight at `until` is handled
    # ms after it, and its jiffies catch-up stops at the end's kernel time (it ran one over: +1001 in 1 s)
    sets = ["machine.cpus=2", "machine.arat=false", 'machine.cstates=["C1", "C10"]', 'machine.broadcast="hpet"',
            "kernel.hz=1000", 'kernel.nohz="idle"', 'workload.kind="idle"', f'run.until="{until_ms}ms"']
    s = _summary("bare-metal-lapic", sets, engine)
    assert s["jiffies_delta"] == until_ms


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("until_ms", [1001, 2001])
def test_a_late_emulated_tick_after_the_end_does_not_replay_slots_past_it(engine, until_ms):
    # One KVM vCPU, HZ=1000, low-res periodic: the tick is emulated on the oneshot TSC-deadline timer. Every
    # interrupt reaches the guest 1.5 ms after the device fired, so the handler runs its slot and, the next one
    # being past, replays it (tick_handle_periodic's catch-up) and programs the one after: the device fires at
    # the odd milliseconds. The one firing at `until` is in flight at the end and handled 1.5 ms after it; its
    # slot is the last: until_ms jiffies and ticks, no replay of the slot one ms after the end (it gave +1 jiffy).
    sets = ["machine.cpus=1", "kernel.hz=1000", "kernel.highres=false", 'kernel.nohz="off"',
            'hypervisor.injection={dist="fixed", mean="1500us"}', f'run.until="{until_ms}ms"']
    sc = scen.apply_sets(scen.preset("kvm"), sets)
    res = simulate(sc, engine=engine)
    s = analysis.summarize(res)
    assert (s["jiffies_delta"], s["jiffies_expected"]) == (until_ms, until_ms)
    ticks = res.value[res.kind == 0]
    assert len(ticks) == until_ms and int(ticks.max()) == until_ms * 1_000_000


@pytest.mark.parametrize("engine", ENGINES)
def test_a_late_vmi_2007_alarm_after_the_end_catches_up_to_the_end_only(engine):
    # VMI 2.6.21, one vCPU, HZ=1000 and a 1000 Hz alarm whose interrupts reach the guest 1.5 ms after each
    # alarm: its handler catches jiffies and process ticks up to the real time it reads. The alarms of 1000 and
    # 1001 ms are in flight at the end of a 1001 ms run; they catch up to 1001 ms, not to when they arrive
    # (1002.5 ms: one jiffy and one tick over).
    sets = ["machine.cpus=1", "kernel.hz=1000", "hypervisor.vmi_alarm_hz=1000",
            'hypervisor.injection={dist="fixed", mean="1500us"}', 'run.until="1001ms"']
    res = simulate(scen.apply_sets(scen.preset("vmi-2007"), sets), engine=engine)
    s = analysis.summarize(res)
    assert (s["jiffies_delta"], s["jiffies_expected"]) == (1001, 1001)
    ticks = res.value[res.kind == 0]
    assert len(ticks) == 1001 and int(ticks.max()) == 1_001_000_000


def test_timer_list_reads_jiffies_as_the_run_reports_them(capsys):
    from tickscope.sim.cli import main

    sets = ["--set", "machine.cpus=2", "--set", 'kernel.nohz="idle"', "--set", 'workload.kind="idle"',
            "--set", "kernel.watchdog=false"]
    assert main(["timer-list", "--preset", "bare-metal-lapic", "--at", "3s", *sets]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("jiffies: "))
    assert int(line.split()[1]) == 2**32 - 300 * 250 + 750     # INITIAL_JIFFIES + 3 s at HZ=250, all CPUs idle


@pytest.mark.parametrize("preset,sets", [
    ("bare-metal-hpet-c3", []),
    ("kvm", []),
    ("pit-only", []),
    ("bare-metal-lapic", ['workload.kind="mixed"', "kernel.skew_tick=true", 'machine.irq_latency="300us"']),
])
def test_the_settled_tail_is_the_grid_between_its_bounds(preset, sets):
    # tick_grid.settled_tail takes the last tick segment's slots when it covers the bound (fast path): they
    # must be exactly the slots counted up to half a tick past the settle time and not up to the bound
    from tickscope.sim import tick_grid
    from tickscope.sim.npsets import member_of
    sc = scen.apply_sets(scen.preset(preset), list(sets) + ['run.until="333333333ns"'])
    res = simulate(sc)
    settled, tick = int(res.meta["settled_ns"]), int(res.meta["tick_nsec"])
    hi = settled + tick // 2
    checked = 0
    for cpu in range(int(res.meta["ncpus"])):
        for lo in (settled - 3 * tick, settled - tick, settled - tick // 3, settled):
            want = tick_grid.expected_slots(res, cpu, hi)
            want = want[~member_of(want, tick_grid.expected_slots(res, cpu, lo))]
            got = tick_grid.settled_tail(res, cpu, lo)
            assert sorted(got.tolist()) == sorted(want.tolist()), (cpu, lo)
            checked += got.size
    assert checked > 0


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("hz", [100, 1000])
@pytest.mark.parametrize("highres", ["true", "false"])
@pytest.mark.parametrize("cs,sets", [("hpet", ['kernel.clocksource="hpet"']),
                                     ("acpi_pm", ["machine.hpet=false", 'kernel.clocksource="acpi_pm"'])])
def test_a_coarse_clocksource_still_delivers_the_tick_due_at_the_end(engine, hz, highres, cs, sets):
    # The HPET (70 ns a cycle) or the ACPI PM timer (279 ns): the kernel reads its clock floored to a whole
    # cycle when it programs the tick for kernel time `until`, so the device fires up to a cycle after the
    # kernel's clock read `until`.  That interrupt is on its way at the end and must be delivered (found by an
    # acceptance check: with kernel.clocksource="hpet" and nohz=off every run of 1, 2 or 3 s ended one jiffy and
    # one tick short, jiffies_delta = HZ*T - 1 against jiffies_expected = HZ*T).
    s = _summary("bare-metal-lapic", sets + [f"kernel.hz={hz}", f"kernel.highres={highres}", 'kernel.nohz="off"',
                                             'workload.kind="busy"', "machine.cpus=3", 'run.until="2s"'], engine)
    assert s["clocksource"] == cs
    want = 2 * hz
    assert s["jiffies_delta"] == want == s["jiffies_expected"]
    assert all(c["ticks_delivered"] == c["ticks_expected"] == want and c["ticks_lost"] == 0 for c in s["cpus"])


@pytest.mark.parametrize("engine", ENGINES)
def test_the_tick_due_at_the_end_is_delivered_after_the_watchdog_switched_to_acpi_pm(engine):
    # A TSC that stops in C3 is marked unstable at 1 s and timekeeping falls back to acpi_pm (no HPET); the kernel
    # clock then runs 46 ns ahead of true time at the end, but the tick for kernel time `until`, programmed from a
    # clock read floored to a 279 ns cycle, fires 64-197 ns after the true `until` (a sweep found 199/200 jiffies)
    s = _summary("bare-metal-lapic", [
        "kernel.hz=100", "machine.cpus=3", 'kernel.nohz="off"', "kernel.highres=true", 'machine.broadcast="pit"',
        'machine.cstates=["C1","C3"]', 'run.until="2s"', "run.seed=985851363288", "machine.hpet=false",
        'workload.kind="timers"', 'workload.timers=[{kind="random",rate_hz=2000},{kind="periodic",period="11ms"}]',
        'machine.irq_jitter="5us"', "machine.tsc_invariant=false"], engine)
    assert s["clocksource"] == "acpi_pm"
    assert s["jiffies_delta"] == 200 == s["jiffies_expected"]
    assert all(c["ticks_delivered"] == c["ticks_expected"] == 200 and c["ticks_lost"] == 0 for c in s["cpus"])


@pytest.mark.parametrize("engine", ENGINES)
def test_at_end_reads_where_the_clock_reads_until_and_changes_nothing(engine):
    # the GUI's Proc files read /proc/timer_list there: before the in-flight interrupts are delivered, as
    # `tickscope timer-list` reads it (a run paused at the settle time), after which a CPU woke
    from tickscope.sim import snapshot

    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="300ms"'])
    plain = simulate(sc, engine=engine)
    sim = Simulation(sc, engine=engine)
    calls = []
    sim.at_end = lambda s: calls.append((s.now_ns, s.settled_ns)) or snapshot.timer_list_files(s)
    res = sim.run()
    paused = Simulation(sc, engine=engine, settle=False)
    paused.run()
    paused.engine.run_until(paused.engine.settle_ktime(paused.until_ns))
    assert calls == [(paused.now_ns, None)] and paused.now_ns >= 300_000_000
    assert sim.end_reading == snapshot.timer_list_files(paused)
    assert sim.end_reading != snapshot.timer_list_files(sim)      # the deliveries after it changed the state
    assert res.equal_log(plain) and res.meta["cpus"] == plain.meta["cpus"]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("period_ns,fired", [(10_000_300, 1), (10_000_500, 0)])
def test_a_timer_due_after_the_end_is_not_counted_when_the_end_delivers_its_interrupt(engine, period_ns, fired):
    """One CPU, HZ=1000, IRQ latency 1 us, the run ends at 10.0004 ms.  The tick raised at 10 ms arrives at
    10.001 ms, in the end's delivery, and its hrtimer_interrupt runs the user timer too: one due at 10.0003 ms
    is the run's (fired 1), one due at 10.0005 ms is after the end (it was counted: fired 1, none expected)."""
    s = _summary("bare-metal-lapic", ["machine.cpus=1", "kernel.hz=1000", "machine.irq_latency=1000",
                                      'workload.kind="timers"', f'workload.timers=[{{period="{period_ns}ns"}}]',
                                      'run.until="10000400ns"'], engine)
    cpu = s["cpus"][0]
    assert (cpu["timers_fired"], cpu["timers_late"], cpu["timers_overdue"]) == (fired, 0, 0)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("preset,sets", [("kvm", ['kernel.nohz="off"']), ("hyperv", ['kernel.nohz="off"']),
                                         ("vmi-2007", [])])
def test_a_vm_paused_for_a_migration_at_the_end_has_not_taken_the_tick_in_flight(engine, preset, sets):
    # documented (docs/engine.md, the run's end; README, jiffies_expected): a migration starting exactly at `until`
    # pauses the VM as the tick for `until` is raised; its interrupt, on its way (IRQ latency, injection), waits for
    # the VM entry after the pause, a host event after the end, as it waits for a descheduled vCPU's: jiffies one short
    # where the tick counts them, the slot not expected (on its way, not lost).  One after the end (the kernel's clock
    # read `until`: 1 ns after it on hyperv, whose clock lags by a little) is not in the run
    base = [*sets, 'workload.kind="busy"', "hypervisor.overcommit=1", 'run.until="500ms"']
    mig = 'hypervisor.migrations=[{{at="{}", tsc_hz=2000000000, pause="50ms"}}]'
    s = _summary(preset, [*base, mig.format("500ms")], engine)
    assert (s["jiffies_delta"], s["jiffies_expected"], s["hypervisor"]["migrations"]) == (124, 125, 0)
    assert all((c["ticks_expected"], c["ticks_delivered"], c["ticks_lost"]) == (124, 124, 0) for c in s["cpus"])
    s = _summary(preset, [*base, mig.format("500001us")], engine)
    assert s["jiffies_delta"] == s["jiffies_expected"] == 125
    assert all(c["ticks_delivered"] == 125 for c in s["cpus"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("tsc_hz,drift_sign", [(2_400_000_000, 1), (2_100_000_000, -1), (3_000_000_000, -1)])
def test_a_timer_due_exactly_at_until_counts_whichever_way_the_clock_rounds(engine, tsc_hz, drift_sign):
    """A 4 ms periodic timer over 1 s: 250 expiries, the last due at kernel time 1 s.  On a TSC whose rounded mult
    runs slow (2.1 and 3.0 GHz: the kernel's clock reads 60 ns behind at the end) the run goes on until the clock
    reads until, so that timer is the run's; it was cut at the kernel time of true until and counted 249."""
    s = _summary("laptop-deep-idle", ["machine.cpus=1", f"machine.tsc_hz={tsc_hz}",
                                      'workload.timers=[{kind="periodic", period="4ms"}]', 'run.until="1s"'], engine)
    assert (s["clocks"]["wall_drift_ns"] > 0) == (drift_sign > 0)
    cpu = s["cpus"][0]
    assert (cpu["timers_fired"], cpu["timers_overdue"]) == (250, 0)


@pytest.mark.parametrize("engine", ["reference", "cython"])
@pytest.mark.parametrize("cpus,until", [(1, "1s"), (8, "1500ms")])
def test_residency_stops_at_the_end_when_a_lagging_clock_settles_later(engine, cpus, until):
    # A TSC 500 ppm slow: the kernel's clock reads `until` ~0.5 ms after it, and the run settles there. The periodic
    # tick due at `until` wakes the CPUs from C6 (85 us exit) inside that window; before engine semantics 19 that
    # wake-up counted the whole sleep, up to it: idle_ns 1 000 086 000 in a 1 s run
    sc = scen.apply_sets(scen.preset("unstable-tsc"), [
        'workload.kind="idle"', "machine.tsc_drift_ppm=-500", 'kernel.nohz="off"', "kernel.highres=false",
        f"machine.cpus={cpus}", f'run.until="{until}"'])
    res = simulate(sc, engine=engine)
    for cpu in analysis.per_cpu(res):
        assert cpu["idle_ns"] == sum(cpu["cstate_residency_ns"].values()) == res.meta["until_ns"]

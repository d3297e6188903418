"""A kernel clock running ahead of true time (a TSC drifting fast, below or above the watchdog's margin).

The watchdog's round runs at true time; the idle CPU it is queued on must sleep until that round on its own
(kernel) clock, not wake early and spin in the idle loop re-programming a timer already past (found by an
acceptance check: +400 ppm gave ~5000 LOC interrupts in 10 s on each fully idle NO_HZ CPU, 6 without drift).
"""
import numpy as np
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.events import Kind
from tickscope.sim.simulation import simulate

IDLE = ['kernel.nohz="idle"', 'workload.kind="idle"', 'run.until="5s"']


@pytest.mark.parametrize("engine", ["reference", "cython"])
@pytest.mark.parametrize("highres", ["true", "false"])
@pytest.mark.parametrize("ppm", [100, 400, 20000])
def test_an_idle_cpu_does_not_spin_before_the_watchdog_round_when_its_clock_runs_ahead(engine, highres, ppm):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), IDLE + [f"machine.tsc_drift_ppm={ppm}",
                                                                  f"kernel.highres={highres}"])
    res = simulate(sc, engine=engine)
    stats = analysis.per_cpu(res)
    # without drift each CPU wakes about once per watchdog round it hosts (10 rounds over 4 CPUs) and at boot
    assert all(c["interrupts"] <= 10 and c["wakeups"] <= 15 for c in stats), [(c["interrupts"], c["wakeups"]) for c in stats]
    ticks = np.bincount(res.cpu[res.kind == Kind.TICK], minlength=4)
    assert int(ticks.max()) <= 5 * 250 // 20                     # at most 5 % of HZ ticks on an idle CPU
    assert np.count_nonzero(res.kind == Kind.RETRY) == 0          # nothing forced a past expiry
    rounds = [e for e in analysis.watchdog_events(res)]
    assert len(rounds) >= 1                                       # the watchdog still ran its rounds


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_dead_tick_without_nohz_leaves_jiffies_where_it_stopped(engine):
    # An HPET tick device whose comparator write takes 1 ms cannot be programmed at HZ=1000: forced programming
    # gives up ("CE: Reprogramming failure. Giving up") and the tick never runs again.  With nohz=off nothing
    # catches jiffies up (tick_nohz_irq_enter / idle exit only do so for a stopped tick), so the run must report
    # the jiffies the engine really counted, not HZ*T as if a NO_HZ reader had caught them up.
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), [
        'machine.hpet_write_delay="1ms"', "machine.lapic=false", "machine.cpus=1", "kernel.hz=1000",
        "kernel.highres=true", 'kernel.nohz="off"', 'workload.kind="mixed"', 'run.until="1s"'])
    res = simulate(sc, engine=engine)
    assert ((res.kind == Kind.MIN_DELTA) & (res.value == -1)).any()              # the kernel's "Giving up"
    counted = int(res.value[res.kind == Kind.JIFFIES][-1])
    assert counted < 10
    assert res.meta["jiffies"] == counted
    assert analysis.summarize(res)["jiffies_delta"] == counted


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_clock_behind_true_time_at_the_oneshot_switch_loses_no_tick(engine):
    # A TSC 3000 ppm slow: the LAPIC's hardware-periodic tick for the 4 ms slot fires at true 4.001 ms, when the kernel's clock
    # reads ~3.989 ms, and the high-res switch it runs starts the sched_timer on that same slot (the forward
    # to "after now" leaves it), so the slot is handled twice.  That is one duplicate, not a lost tick: the
    # kernel's clock reads ~2.991 s at the end, so slots 4 ms .. 2988 ms (747) are due and all ran.
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), [
        "machine.cpus=1", "machine.tsc_deadline=false", 'workload.kind="busy"', "kernel.watchdog=false",
        "machine.tsc_drift_ppm=-3000",
        'run.until="3s"'])
    res = simulate(sc, engine=engine)
    c = analysis.per_cpu(res)[0]
    assert (c["ticks_expected"], c["ticks_delivered"], c["ticks_lost"], c["ticks_duplicated"]) == (747, 747, 0, 1)
    assert analysis.lost_slots(res, 0).size == 0


@pytest.mark.parametrize("engine", ["reference", "cython"])
@pytest.mark.parametrize("highres", ["true", "false"])
def test_the_watchdog_wakes_its_tickless_cpu_on_the_kernel_jiffy_grid(engine, highres):
    # bare-metal-hpet-c3 (HZ=250, NO_HZ idle, TSC clocksource): the TSC's rounded mult makes the kernel's clock
    # run a little ahead of true time, 24-170 ns by the watchdog's rounds.  The kernel queues the watchdog timer on
    # the CPU that runs the next round (add_timer_on); that CPU, tickless, sleeps until tick_nohz_next_event's
    # expiry for a timer-wheel timer, basemono + (next_jiffy - basej) * TICK_NSEC: the start of the bucket's
    # jiffy on the kernel's jiffy grid, which starts at the kernel's 0 at boot, so a multiple of 4 ms, and the
    # same number as the round's jiffy on true time.  Its tick there is the sched_timer's expiry (high-res) or,
    # low-res, the jiffy the timer-wheel timer rounds to (already on the grid).  Semantics 9-11 slept until the
    # round's kernel time, 24-170 ns past that jiffy (high-res: expiries 1024000024 ...; low-res rounded it up to
    # the next jiffy, 4 ms late).
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="4s"', f"kernel.highres={highres}"])
    res = simulate(sc, engine=engine)
    rounds = res.kind == Kind.WATCHDOG
    assert len(set(res.time_ns[rounds].tolist())) == 6            # the first round (512 ms) only takes readings
    ticks = res.kind == Kind.TICK
    for t, cpu in zip(res.time_ns[rounds].tolist(), res.cpu[rounds].tolist()):
        assert t % 4_000_000 == 0
        mine = ticks & (res.cpu == cpu) & (res.time_ns >= t) & (res.time_ns < t + 200_000)
        assert t in res.value[mine].tolist(), (t, cpu, res.value[mine].tolist())
    if highres == "true":
        # every high-res tick is a sched_timer expiry: on the grid, or the watchdog's jiffy, also on it
        assert set((res.value[ticks] % 4_000_000).tolist()) == {0}


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_clock_far_ahead_wakes_the_watchdog_cpu_after_the_round_on_the_grid(engine):
    # A TSC 3000 ppm fast: by the round at ~1.5 s the kernel's clock is ~4.5 ms ahead, so the round's jiffy on the
    # kernel's grid passed before the round (it runs at true time).  The CPU must not wake for a timer the model
    # has not run yet (it would spin, see above); it sleeps until the first jiffy at or after the round's kernel
    # time instead, still on the grid: every high-res tick is a multiple of TICK_NSEC (semantics 9-11 woke it at
    # the round's kernel time, 1.536 ms past a jiffy).
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="4s"', "machine.tsc_drift_ppm=3000"])
    res = simulate(sc, engine=engine)
    ticks = res.kind == Kind.TICK
    assert set((res.value[ticks] % 4_000_000).tolist()) == {0}
    assert np.count_nonzero(res.kind == Kind.WATCHDOG) >= 6
    assert np.count_nonzero(res.kind == Kind.IRQ) < 600             # no spinning (549-552 with or without the rule)

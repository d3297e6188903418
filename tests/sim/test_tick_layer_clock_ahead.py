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

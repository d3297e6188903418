"""Analysis on hand-built logs whose answers are known without running the engine."""
import numpy as np
import pytest

from tickscope.sim import analysis, tick_grid
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.results import Results

TICK = 1_000_000


def make(records, until=10 * TICK, ncpus=1):
    t, c, k, s, v = (np.array(x) for x in zip(*records))
    meta = {"ncpus": ncpus, "tick_nsec": TICK, "until_ns": until, "now_ns": until, "hz": 1000, "seed": 0,
            "events": len(records), "clocksource": "tsc", "jiffies": 0, "ktime_ns": until,
            "tick_device": [0] * ncpus, "devices": [{"name": "lapic-deadline", "hw_name": "tsc-deadline"}],
            "cpus": [{"irqs": 0}] * ncpus}
    return Results(t.astype(np.int64), c.astype(np.int16), k.astype(np.uint8), s.astype(np.uint8),
                   v.astype(np.int64), meta)


def test_lost_late_duplicated_counted_against_the_grid():
    recs = [(0, 0, Kind.MODE, TickMode.HIGHRES, TICK)]
    # slots 1..9 ms judged (horizon = 10 ms - 100 us); deliver 1,2,3 on time, 4 late, 5 twice, skip 6,7
    for slot in (1, 2, 3):
        recs.append((slot * TICK + 500, 0, Kind.TICK, 0, slot * TICK))
    recs.append((4 * TICK + 250_000, 0, Kind.TICK, 0, 4 * TICK))
    recs.append((5 * TICK + 10, 0, Kind.TICK, 0, 5 * TICK))
    recs.append((5 * TICK + 20, 0, Kind.TICK, 0, 5 * TICK))
    for slot in (8, 9):
        recs.append((slot * TICK + 1, 0, Kind.TICK, 0, slot * TICK))
    s = analysis.per_cpu(make(recs))[0]
    assert s["ticks_expected"] == 9
    assert s["ticks_delivered"] == 7
    assert s["ticks_lost"] == 2
    assert s["ticks_late"] == 1
    assert s["ticks_duplicated"] == 1
    assert s["latency_ns_max"] == 250_000
    lost = analysis.lost_slots(make(recs), 0)
    assert lost.tolist() == [6 * TICK, 7 * TICK]
    out = analysis.tick_outcomes(make(recs))
    assert out["outcome"].tolist().count(analysis.OUTCOME_DUPLICATE) == 1
    assert out["outcome"].tolist().count(analysis.OUTCOME_LATE) == 1


def test_a_slot_two_segments_share_is_expected_once():
    # The high-res switch ran from the tick for the 4 ms slot while the kernel's clock still read just
    # before it, so the new grid starts on that slot again and it is handled twice: slots 1..9 ms, all
    # handled, one twice; nothing is lost.
    recs = [(0, 0, Kind.MODE, TickMode.PERIODIC_EMUL, TICK)]
    recs += [(slot * TICK + 500, 0, Kind.TICK, 0, slot * TICK) for slot in (1, 2, 3, 4)]
    recs.append((4 * TICK + 600, 0, Kind.MODE, TickMode.HIGHRES, 4 * TICK))
    recs += [(slot * TICK + 9_000, 0, Kind.TICK, 0, slot * TICK) for slot in range(4, 10)]
    res = make(recs)
    s = analysis.per_cpu(res)[0]
    assert (s["ticks_expected"], s["ticks_delivered"], s["ticks_lost"], s["ticks_duplicated"]) == (9, 9, 0, 1)
    assert analysis.lost_slots(res, 0).tolist() == []
    assert tick_grid.expected_slots(res, 0, 10 * TICK - 100_000).tolist() == [k * TICK for k in range(1, 10)]


def test_slots_near_the_end_are_not_judged():
    recs = [(0, 0, Kind.MODE, TickMode.HIGHRES, TICK)] + [(s * TICK + 5, 0, Kind.TICK, 0, s * TICK) for s in range(1, 10)]
    s = analysis.per_cpu(make(recs, until=10 * TICK + 50_000))[0]
    # the slot at 10 ms is within the 100 us horizon: neither expected nor lost
    assert (s["ticks_expected"], s["ticks_lost"]) == (9, 0)


def test_periodic_hardware_grid_counts_exactly():
    dev = {"name": "pit", "hw_name": "pit", "num": 596591, "den": 500000000, "periodic_count": 1193}
    res = make([(0, 0, Kind.MODE, TickMode.PERIODIC, 0)], until=100 * TICK)
    res.meta["devices"] = [dev]
    # PIT at HZ=1000: period 1193 / 1 193 182 Hz = 999 847.47 ns -> 100 slots in 99.9 ms (+ the 100th at 99 984 747)
    n = tick_grid.expected_count(res, 0, 100 * TICK - 100_000)
    assert n == int((100 * TICK - 100_000) * 1193182 // (1193 * 10**9))
    slots = tick_grid.expected_slots(res, 0, 100 * TICK - 100_000)
    assert len(slots) == n
    assert slots[0] == -(-1193 * 10**9 // 1193182)


def test_log_histogram_has_explicit_under_and_overflow():
    vals = np.array([1, 50, 100, 1000, 10**10, 10**11])
    h = analysis.log_histogram(vals, lo_ns=100, hi_ns=10**10)
    assert h["underflow"] == 2 and h["overflow"] == 2
    assert int(h["counts"].sum()) + h["underflow"] + h["overflow"] == vals.size


def test_printk_timestamp_format():
    assert analysis.format_log_time(4_023) == "[    0.000004]"
    assert analysis.format_log_time(5902_973_839_769) == "[ 5902.973839]"


def test_long_periodic_grids_use_the_vectorised_slots_and_agree():
    from tickscope.sim import scenario as scen
    from tickscope.sim.simulation import simulate

    res = simulate(scen.apply_sets(scen.preset("pit-only"), ['run.until="50s"', 'workload.kind="busy"']),
                   engine="reference")
    slots = tick_grid.expected_slots(res, 0, res.meta["until_ns"])
    assert slots.size >= 4096                                   # the vectorised branch
    dev = res.meta["devices"][res.meta["tick_device"][0]]
    start = tick_grid.tick_segments(res, 0)[0][1]
    assert [tick_grid._periodic_slot(dev, start, k) for k in (1, 2, 4999)] == [int(slots[0]), int(slots[1]), int(slots[4998])]
    assert analysis.per_cpu(res)[0]["ticks_lost"] == 0


@pytest.mark.parametrize("preset,sets", [
    ("bare-metal-hpet-c3", []), ("laptop-deep-idle", []), ("kvm", []), ("pit-only", []),
    # a periodic PIT broadcast: CPU 0 ticks at HZ through IRQ 0 alone (its LOC is 0; it was drawn flat at 0 Hz)
    ("bare-metal-hpet-c3", ["kernel.highres=false", 'kernel.nohz="off"', "machine.hpet=false", 'machine.broadcast="pit"']),
    # paravirtual timers count in rows of their own: Xen's timerN, Hyper-V's HVS, the 2.6.22 VMI timer's IRQ 0
    ("xen-pv", []), ("hyperv", []), ("vmi-clockevents", []),
])
def test_interrupt_rate_counts_every_timer_row_of_proc_interrupts(preset, sets):
    # LOC (the tick device's interrupts + the broadcast IPIs) plus IRQ 0 (a global tick device's, or the
    # broadcast device's own interrupt on the CPU it is routed to) plus a paravirtual timer's own row, per CPU,
    # as `tickscope interrupts` prints
    from tickscope.sim import scenario as scen, snapshot
    from tickscope.sim.simulation import Simulation

    sim = Simulation(scen.apply_sets(scen.preset(preset), list(sets) + ['run.until="2s"']), engine="reference")
    res = sim.run()
    bin_ns = 10_000_000
    rate = analysis.interrupt_rate(res, bin_ns)["rate_hz"]
    timer_rows = [counts for name, counts, _ in snapshot.interrupts_rows(sim) if name not in ("RES", "IPI")]
    want = np.sum(timer_rows, axis=0).tolist()
    assert np.rint(rate.sum(axis=1) * bin_ns / 1e9).astype(int).tolist() == want
    assert min(want) > 0


@pytest.mark.parametrize("until, bin_ns", [("500ms", 1_000_000_000), ("250ms", 100_000_000)])
def test_interrupt_rate_counts_a_last_partial_bin_over_its_own_width(until, bin_ns):
    # pit-only ticks at ~100 Hz (HZ=100) throughout: a run shorter than a bin, or not a whole number of bins,
    # must not read a lower rate in its last bin (500 ms in one 1 s bin read 49 Hz)
    from tickscope.sim import scenario as scen
    from tickscope.sim.simulation import Simulation

    res = Simulation(scen.apply_sets(scen.preset("pit-only"), [f'run.until="{until}"']), engine="reference").run()
    rate = analysis.interrupt_rate(res, bin_ns)
    until_ns = res.meta["until_ns"]
    assert rate["bin_end_ns"][-1] == until_ns and np.all(rate["bin_end_ns"] > rate["bin_start_ns"])
    widths_s = (rate["bin_end_ns"] - rate["bin_start_ns"]) / 1e9
    interrupts = np.count_nonzero(((res.kind == Kind.TICK) | (res.kind == Kind.IRQ)) & (res.cpu == 0))
    assert round(float((rate["rate_hz"][0] * widths_s).sum())) == interrupts
    assert 95 <= rate["rate_hz"][0][-1] <= 105


@pytest.mark.parametrize("sets", [[], ["kernel.highres=false"]])
def test_the_kernel_log_has_no_line_for_the_switch_to_highres_or_nohz(sets):
    # current kernels print nothing there (the 2.6-era "Switched to high resolution mode on CPU N" and "Switched to
    # NOHz mode on CPU #N" are gone); the switch is in the log as MODE records
    from tickscope.sim import scenario as scen
    from tickscope.sim.simulation import simulate

    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), sets)
    res = simulate(sc, until_ns=100_000_000)
    modes = set(res.source[res.kind == Kind.MODE].tolist())
    assert (TickMode.LOWRES_NOHZ if sets else TickMode.HIGHRES) in modes
    log = analysis.kernel_log(res)
    assert not [line for line in log if "Switched to high resolution" in line or "NOHz" in line]
    assert any("clocksource: Switched to clocksource tsc" in line for line in log)


@pytest.mark.parametrize("preset,native", [("unstable-tsc", True), ("kvm-migration", False)])
def test_the_sched_clock_line_follows_a_marked_tsc_on_bare_metal_only(preset, native):
    # __sched_clock_work prints "TSC found unstable after boot" when tsc_cs_mark_unstable cleared the stable flag of
    # the native sched_clock; a KVM guest's sched_clock is kvm-clock's (the real guest's "using sched offset")
    from tickscope.sim import scenario as scen
    from tickscope.sim.simulation import simulate

    log = analysis.kernel_log(simulate(scen.preset(preset), until_ns=3_000_000_000))
    assert any("tsc: Marking TSC unstable due to clocksource watchdog" in line for line in log)
    assert any("TSC found unstable after boot" in line for line in log) == native

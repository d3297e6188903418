"""The clocksource watchdog held to numbers worked out from kernel/time/clocksource.c (6.x) and
arch/x86/kernel/tsc.c / tsc_sync.c, not from the engine."""
import pytest

from tickscope.sim import analysis, boot, scenario as scen
from tickscope.sim.events import Kind
from tickscope.sim.simulation import simulate

NSEC_PER_SEC = 10**9


def _migrated(engine, tsc_hz):
    # kvm-migration: a 2 445 406 000 Hz guest TSC watched by kvm-clock, HZ=250; the move 6 ms after the round at
    # 1.024 s (no pause) to a host whose TSC runs at tsc_hz, without TSC scaling
    sc = scen.apply_sets(scen.preset("kvm-migration"), [f'hypervisor.migrations=[{{at="1.03s", tsc_hz={tsc_hz}, pause="0s"}}]',
                                                        'run.until="4s"'])
    return simulate(sc, engine=engine)


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_an_interval_over_one_second_on_either_clock_is_skipped_not_judged(engine):
    # clocksource_watchdog: interval = max(cs_nsec, wd_nsec); above WATCHDOG_INTERVAL_MAX_NS
    # (2 * WATCHDOG_INTERVAL jiffies * NSEC_PER_SEC / HZ = 2 * 125 * 4 ms = 1 s) the round "continue"s without the
    # skew check and sets watchdog_timer.expires = jiffies, so the next round is queued HZ/2 from the current jiffy.
    # A TSC read at 6 GHz but converted with the 2.4454 GHz mult reads 0.48 s (the 120-jiffy interval 376 -> ...)
    # as 1.0236 s and every 128-jiffy interval after as 0.512 * 6 / 2.445406 = 1.2562 s: the kernel never judges
    # the TSC again, so it is never marked unstable (the skew check would have: 776 ms > 500 us).
    res = _migrated(engine, 6_000_000_000)
    wd = (res.kind == Kind.WATCHDOG)
    assert not ((res.source == 1) & wd).any()
    assert res.meta["clocksource"] == "tsc"
    skips = wd & (res.source == 9)
    tick = 4_000_000
    # rounds at jiffy 376 (1.504 s: bucket of 375), then re-anchored: 376 + 125 = 501 -> bucket 504, 504 + 125 = 629
    # -> 632, 760, 888 (timer wheel level 1: ((expires >> 3) + 1) << 3); without the re-anchoring the last two
    # would have been 752 and 880 (expires 750, 875)
    assert (res.time_ns[skips] // tick).tolist() == [376, 504, 632, 760, 888]
    cs_nsec = res.value[skips].tolist()
    assert abs(cs_nsec[0] - (1_030_000_000 - 1_024_000_000 + 474_000_000 * 6_000_000_000 // 2_445_406_000)) < 10_000
    for v in cs_nsec[1:]:
        assert abs(v - 512_000_000 * 6_000_000_000 // 2_445_406_000) < 100
    wd_nsec = res.value[wd & (res.source == 10)].tolist()
    assert wd_nsec[1:] == pytest.approx([512_000_000] * 4, abs=10)
    # "Long readout interval" is printed when the interval exceeds twice the largest one printed before: once here
    lines = [line for line in analysis.kernel_log(res) if "Long readout interval" in line]
    assert len(lines) == 1
    assert lines[0].endswith(f"skipping watchdog check: cs_nsec: {cs_nsec[0]} wd_nsec: {wd_nsec[0]}")


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_tsc_under_twice_as_fast_is_still_judged_and_marked_unstable(engine):
    # 4 GHz: 0.48 s reads 0.785 s < 1 s, the skew check runs and 305 ms > 500 us marks it
    res = _migrated(engine, 4_000_000_000)
    marked = (res.kind == Kind.WATCHDOG) & (res.source == 1)
    assert res.time_ns[marked].tolist() == [1_504_000_000]
    assert not ((res.kind == Kind.WATCHDOG) & (res.source == 9)).any()
    assert res.meta["clocksource"] == "kvm-clock"


def _sync_log(sets):
    plan = boot.plan(scen.apply_sets(scen.preset("bare-metal-lapic"), sets))
    return plan, [text for _, text in plan.log]


def test_the_boot_sync_check_reports_the_first_cpu_whose_tsc_differs():
    # tsc_skew 2 ns over 4 CPUs at 2.4 GHz: offsets 0, 0, 2, 4 cycles (0, 0.67, 1.33, 2 ns). check_tsc_sync_source
    # passes CPU 1 (no warp) and fails CPU 2, printing its own warp: 2 cycles
    plan, texts = _sync_log(['machine.tsc_skew="2ns"', "machine.cpus=4", "machine.tsc_hz=2400000000"])
    assert "TSC synchronization [CPU#0 -> CPU#2]:" in texts
    assert "Measured 2 cycles TSC warp between CPUs, turning off TSC clock." in texts
    assert plan.clocksource.name == "hpet"


def test_a_skew_below_one_tsc_cycle_warps_nothing():
    # 100 ns at a 1 MHz TSC is a tenth of a cycle: both CPUs read the same counts, no warp, the TSC stays
    plan, texts = _sync_log(['machine.tsc_skew="100ns"', "machine.cpus=2", "machine.tsc_hz=1000000"])
    assert not any("warp" in t for t in texts)
    assert plan.clocksource.name == "tsc"


# -- engine semantics 17: the round is its CPU's timer softirq ------------------------------------------------------

@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_round_due_while_the_vm_is_paused_runs_at_resume_and_skips_the_long_interval(engine):
    # kvm-migration paused for 2 s at 1.1 s (same TSC rate on the destination, so no skew).  No guest code runs in
    # the pause: the round due at jiffy 376 (1.504 s, CPU 0) runs when the VM resumes at 3.1 s, over an interval of
    # 3.1 - 1.024 = 2.076 s > WATCHDOG_INTERVAL_MAX_NS (1 s): "Long readout interval", watchdog_timer.expires =
    # jiffies (775), + 125 = 900 queued from base->clk 776 (level 1, 8-jiffy buckets) -> jiffy 904, 3.616 s, CPU 1.
    # Before, the model ran rounds at 1.504, 2.016, 2.528 and 3.008 s, all inside the pause.
    sc = scen.apply_sets(scen.preset("kvm-migration"), ['hypervisor.migrations=[{at="1.1s", tsc_hz=2445406000, pause="2s"}]',
                                                        'run.until="4s"'])
    res = simulate(sc, engine=engine)
    judged = [(e["time_ns"], e["cpu"]) for e in analysis.watchdog_events(res)]
    assert judged == [(1_024_000_000, 1), (3_616_000_000, 1)]
    wd = res.kind == Kind.WATCHDOG
    skip = wd & (res.source == 9)
    assert res.time_ns[skip].tolist() == [3_100_000_000] and res.cpu[skip].tolist() == [0]
    # cs_nsec: the TSC (2 445 406 kHz: mult 6860708, shift 24) from 1.024 s to 3.1 s, 5 076 662 856 cycles
    cs_nsec = (int(3.1e9) * 2_445_406_000 // NSEC_PER_SEC - 1_024_000_000 * 2_445_406_000 // NSEC_PER_SEC) * 6860708 >> 24
    assert res.value[skip].tolist() == [cs_nsec] == [2_076_000_062]
    (wd_nsec,) = res.value[wd & (res.source == 10)].tolist()
    assert abs(wd_nsec - 2_076_000_000) <= 2     # kvm-clock: true ns through pvclock's rounded scale
    assert [line for line in analysis.kernel_log(res) if "Long readout" in line] == [
        f"[    3.100000] clocksource: Long readout interval, skipping watchdog check: cs_nsec: {cs_nsec} wd_nsec: {wd_nsec}"]


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_round_for_a_descheduled_vcpu_runs_at_its_next_vm_entry(engine):
    # xen-pv: 4 vCPUs, overcommit 2, 10 ms timeslices and no host latency, so vCPU n runs in
    # [10 (n % 2) + 20 k, 10 (n % 2) + 20 k + 10) ms.  Round 0 (jiffy 128, 0.512 s, CPU 0: descheduled in
    # [510, 520) ms) records at 0.520 s; from base->clk 131 the next expiry 250 is bucket 256: 1.024 s on CPU 1,
    # descheduled in [1020, 1030) ms -> 1.030 s; then 376 (1.504 s, CPU 2 running) and 504 (2.016 s, CPU 3 running).
    sc = scen.apply_sets(scen.preset("xen-pv"), ['run.until="2100ms"'])
    res = simulate(sc, engine=engine)
    judged = [(e["time_ns"], e["cpu"]) for e in analysis.watchdog_events(res)]
    assert judged == [(1_030_000_000, 1), (1_504_000_000, 2), (2_016_000_000, 3)]


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_kernel_whose_jiffies_stand_still_runs_no_watchdog_round(engine):
    # vmi-2007 with the lapic-irq-path core change: the alarm never reaches VMI's tick code, jiffies stay at 0 and
    # no timer_list timer ever expires, the watchdog's included (before: four rounds in 3 s, at 1.024 s ...)
    sc = scen.apply_sets(scen.preset("vmi-2007"), ['core.changes=["lapic-irq-path"]', 'run.until="3s"'])
    res = simulate(sc, engine=engine)
    assert analysis.summarize(res)["jiffies_delta"] == 0
    assert not (res.kind == Kind.WATCHDOG).any()


# -- numbers worked out by hand from kernel/time/clocksource.c and clockevents.c (these held before semantics 17) ----

def _boundary(engine, ppm):
    # HZ=1000, a 3.1 GHz TSC (tsc_khz 3100000: mult 5412005, shift 24) watched by a 24 MHz HPET (period 41666666 fs:
    # mult 2796202667, shift 26); rounds at jiffies 504, 1008, 1504, 2008 (500 jiffies from clk 0, 504, 1008, 1504:
    # level 1, so 504 / 496 ms apart) on CPUs 0, 1, 2, 0
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["machine.cpus=3", "machine.tsc_hz=3100000000",
                                                           "machine.hpet_hz=24000000", "kernel.hz=1000",
                                                           f"machine.tsc_drift_ppm={ppm}", 'run.until="2100ms"'])
    return simulate(sc, engine=engine)


@pytest.mark.parametrize("engine", ["reference", "cython"])
@pytest.mark.parametrize("ppm", [992, 993])
def test_the_watchdog_margin_is_the_two_uncertainty_margins_over_a_504_ms_interval(engine, ppm):
    # margin: uncertainty_margin = max(NSEC_PER_SEC / (scale * freq), 2 * WATCHDOG_MAX_SKEW) = 250 000 ns for the TSC
    # and for the HPET (WATCHDOG_MAX_SKEW = CONFIG_CLOCKSOURCE_WATCHDOG_MAX_SKEW_US, default 125 since 6.3);
    # abs(cs_nsec - wd_nsec) > 500 000 marks.  Over 504 ms the TSC runs 504e6 * 3.1 * (1 + ppm / 1e6) cycles:
    # 992 ppm -> cs_nsec 504 499 953 (skew 499 953: passes), 993 ppm -> 504 500 456 (500 456: marked at the first
    # judged round, 1.008 s, CPU 1)
    res = _boundary(engine, ppm)
    f = 3_100_000_000 * (10**6 + ppm)
    cs_last, cs_now = 504 * 10**6 * f // 10**15, 1008 * 10**6 * f // 10**15
    cs_nsec = (cs_now - cs_last) * 5412005 >> 24
    wd_nsec = (1008 * 24_000 - 504 * 24_000) * 2796202667 >> 26
    assert wd_nsec == 504_000_000
    ev = analysis.watchdog_events(res)
    assert (ev[0]["time_ns"], ev[0]["cpu"], ev[0]["skew_ns"]) == (1_008_000_000, 1, cs_nsec - wd_nsec)
    if ppm == 992:
        assert cs_nsec - wd_nsec == 499_953 and not any(e["unstable"] for e in ev)
        assert [(e["time_ns"], e["cpu"]) for e in ev] == [(1_008_000_000, 1), (1_504_000_000, 2), (2_008_000_000, 0)]
        assert res.meta["clocksource"] == "tsc"
    else:
        assert cs_nsec - wd_nsec == 500_456 and [e["unstable"] for e in ev] == [True]
        assert res.meta["clocksource"] == "hpet"
        log = analysis.kernel_log(res)
        pad = " " * 22
        assert f"[    1.008000] clocksource: {pad}'hpet' wd_nsec: 504000000 wd_now: {1008 * 24_000:x} " \
               f"wd_last: {504 * 24_000:x} mask: ffffffff" in log
        assert f"[    1.008000] clocksource: {pad}'tsc' cs_nsec: {cs_nsec} cs_now: {cs_now:x} cs_last: {cs_last:x} " \
               "mask: ffffffffffffffff" in log
        assert f"[    1.008000] clocksource: {pad}Clocksource 'tsc' skewed 500456 ns (0 ms) over watchdog 'hpet' " \
               "interval of 504000000 ns (504 ms)" in log
        assert log.index("[    1.008000] clocksource: Switched to clocksource hpet") > log.index(
            "[    1.008000] tsc: Marking TSC unstable due to clocksource watchdog")


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_24_mhz_hpet_with_a_40_us_comparator_write_grows_min_delta_from_8001_ns(engine):
    # clockevents_config(24 MHz, 192 .. 0x7fffffff): sec 89 -> mult 103079215, shift 32; min_delta_ns =
    # cev_delta2ns(192) = 8001, max_delta_ns = 89478485382.  A 40 us write is 960 counts, so the comparator needs
    # 960 + HPET_MIN_CYCLES = 1088 ticks: 40501 ns is 972, 60751 ns is 1458.  Forced programming retries three
    # times per step (clockevents_program_min_delta): 8001 -> 12001 -> 18001 -> 27001 -> 40501 -> 60751 (x1.5),
    # 5 raises, 16 tries, then every programming is clamped to 60751 and works.
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), [
        "machine.cpus=1", "machine.lapic=false", "machine.hpet_hz=24000000", 'machine.hpet_write_delay="40us"',
        "kernel.hz=300", 'kernel.nohz="idle"', 'workload.kind="mixed"', "workload.busy_fraction=0.4",
        'workload.busy_period={dist="exponential", mean="700us"}', "run.seed=7", 'run.until="1500ms"'])
    res = simulate(sc, engine=engine)
    assert res.meta["devices"][res.meta["tick_device"][0]]["name"] == "hpet"
    assert res.value[res.kind == Kind.MIN_DELTA].tolist() == [12001, 18001, 27001, 40501, 60751]
    assert int((res.kind == Kind.RETRY).sum()) == 16
    assert [line.split("] ", 1)[1] for line in analysis.kernel_log(res) if "CE:" in line] == [
        f"CE: hpet increased min_delta_ns to {n} nsec" for n in (12001, 18001, 27001, 40501, 60751)]
    (cpu,) = analysis.per_cpu(res)
    assert cpu["ticks_lost"] == 0


@pytest.mark.parametrize("engine", ["reference", "cython"])
@pytest.mark.parametrize("hz,latch,buckets", [(250, 4773, (128, 256)), (1000, 1193, (504, 1008))])
def test_a_periodic_pit_tick_counts_the_jiffies_that_run_the_watchdog(engine, hz, latch, buckets):
    # One CPU ticked by the i8254 in periodic mode (no LAPIC, no HPET, highres and nohz off): jiffies are counted by
    # tick_periodic, one per PIT period of LATCH counts at 1 193 182 Hz, so the timer wheel reaches the watchdog's
    # buckets at the PIT's ticks, not on the TICK_NSEC grid of true time: LATCH 4773 is 4 000 228 ns a period
    # (HZ=250, later than the grid), 1193 is 999 848 ns (HZ=1000, earlier).  Before, the rounds ran at 0.512 s and
    # 1.024 s (resp. 0.504 s and 1.008 s) whatever the tick did.  The TSC drifts -1200 ppm against the ACPI PM
    # watchdog (3 579 545 Hz: mult 2343484437, shift 23; the TSC at 2 400 000 kHz: mult 6990507, shift 24).
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), [
        "machine.cpus=1", "machine.lapic=false", "machine.hpet=false", "kernel.highres=false", f"kernel.hz={hz}",
        "machine.tsc_drift_ppm=-1200", 'run.until="1100ms"'])
    res = simulate(sc, engine=engine)
    (cpu,) = analysis.per_cpu(res)
    assert cpu["tick_device"] == "pit"

    def handled(k):  # the k-th PIT period's interrupt, after the 1 us IRQ latency
        return -(-k * latch * NSEC_PER_SEC // 1_193_182) + 1000

    t0, t1 = (handled(b) for b in buckets)
    wd_last, wd_now = (t * 3_579_545 // NSEC_PER_SEC for t in (t0, t1))
    cs_last, cs_now = (t * 2_400_000_000 * (10**6 - 1200) // 10**15 for t in (t0, t1))
    wd_nsec = (wd_now - wd_last) * 2343484437 >> 23
    cs_nsec = (cs_now - cs_last) * 6990507 >> 24
    (ev,) = analysis.watchdog_events(res)
    assert (ev["time_ns"], ev["cpu"], ev["skew_ns"], ev["unstable"]) == (t1, 0, cs_nsec - wd_nsec, True)
    rows = (res.kind == Kind.WATCHDOG) & (res.time_ns == t1)
    detail = dict(zip(res.source[rows].tolist(), res.value[rows].tolist()))
    assert (detail[2], detail[3], detail[4], detail[5], detail[6], detail[7]) == (
        wd_nsec, cs_nsec, wd_now, wd_last, cs_now, cs_last)
    if hz == 250:
        assert (t1, wd_nsec) == (1_024_059_359, 512_029_042)    # 128 periods: 29 us longer than 512 ms
    else:
        assert (t1, wd_nsec) == (1_007_847_247, 503_922_984)    # 504 periods: 77 us shorter than 504 ms


@pytest.mark.parametrize("override,switches", [
    # clocksource_done_booting (fs_initcall) sets curr_clocksource = clocksource_default_clock() (jiffies) and
    # selects among what is registered by then: an override registered by then wins at once (hpet: one line, no
    # tsc-early); one not yet registered is found when it registers (acpi_pm, whose fs_initcall is linked after
    # done_booting's, at 0.205 s; tsc, after the delayed calibration work); jiffies is already current, so nothing
    # is printed at all (before: 'tsc-early' then 'hpet' at 0.241960, acpi_pm registered at 0.180 s, before the
    # first switch, and 'jiffies' announced as a switch)
    ("hpet", [(195_000_000, "hpet")]),
    ("acpi_pm", [(195_000_000, "tsc-early"), (205_000_000, "acpi_pm")]),
    ("tsc", [(195_000_000, "tsc-early"), (241_960_000, "tsc")]),
    ("jiffies", []),
    ("", [(195_000_000, "tsc-early"), (241_960_000, "tsc")]),
])
def test_the_boot_switch_lines_follow_the_clocksource_override(override, switches):
    plan, _ = _sync_log([f'kernel.clocksource="{override}"', 'kernel.highres=false'])
    got = [(t, text.rsplit(" ", 1)[1]) for t, text in plan.log if text.startswith("clocksource: Switched to clocksource ")]
    assert got == switches


def test_a_tsc_that_fails_the_boot_sync_check_is_never_selected():
    # check_tsc_sync_source runs in smp_init, before the initcalls: clocksource_done_booting then drops the unstable
    # tsc-early (__clocksource_watchdog_kthread) and its first selection is the HPET: one switch line, no tsc-early
    # (before, the sync failure came at 0.230 s, after a switch to tsc-early at 0.195 s)
    plan, texts = _sync_log(['machine.tsc_skew="300us"', "machine.cpus=4", "machine.tsc_hz=2400000000"])
    switches = [(t, text) for t, text in plan.log if "Switched to clocksource" in text]
    assert switches == [(195_000_000, "clocksource: Switched to clocksource hpet")]
    sync = [t for t, text in plan.log if "TSC warp" in text]
    assert len(sync) == 1 and sync[0] < 195_000_000

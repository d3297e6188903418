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
    # the TSC again, so it is never marked unstable (the skew check would have: 776 ms > 248 us).
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
    # 4 GHz: 0.48 s reads 0.785 s < 1 s, the skew check runs and 305 ms > 248 us marks it
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

"""The clocksource watchdog held to numbers worked out from kernel/time/clocksource.c (6.x) and
arch/x86/kernel/tsc.c / tsc_sync.c, not from the engine."""
import pytest

from tickscope.sim import boot, scenario as scen


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

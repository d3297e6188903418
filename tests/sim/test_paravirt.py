"""Paravirtual backends, the hypervisor model and core changes, with numbers."""
import numpy as np
import pytest

from tickscope.sim import analysis, kclock, raster, scenario as scen
from tickscope.sim.events import Kind
from tickscope.sim.simulation import Simulation, simulate

BACKENDS = ["vmi-2007", "vmi-clockevents", "xen-pv", "kvm", "hyperv"]
SELF_CONTAINED = ["vmi-clockevents", "xen-pv", "kvm", "hyperv"]


def run(preset, sets=(), engine="reference"):
    return simulate(scen.apply_sets(scen.preset(preset), list(sets)), engine=engine)


def delivered(res):
    return np.array([c["ticks_delivered"] for c in analysis.per_cpu(res)])


def busy(backend, extra=()):
    return run(backend, ['workload.kind="busy"', "hypervisor.overcommit=1", 'run.until="2s"', *extra])


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_backend_ticks_at_hz_on_a_busy_guest(backend):
    res = busy(backend)
    hz = res.meta["hz"]
    n = np.bincount(res.cpu[res.kind == Kind.TICK], minlength=res.meta["ncpus"])
    assert all(abs(int(x) - 2 * hz) <= 1 for x in n), n
    assert abs(res.meta["jiffies"] - 2 * hz) <= 1


@pytest.mark.parametrize("backend,device,clocksource", [
    ("vmi-clockevents", "vmi-timer", "vmi-timer"), ("xen-pv", "xen", "xen"), ("kvm", "lapic-deadline", "tsc"),
    ("hyperv", "Hyper-V clockevent", "hyperv_clocksource_tsc_page")])
def test_backend_devices_and_clocksources(backend, device, clocksource):
    sim = Simulation(scen.preset(backend), engine="reference")
    names = {sim.plan.devices[d].name for d in sim.plan.tick_device}
    assert names == {device}
    assert sim.plan.clocksource.name == clocksource


def test_vmi_2007_has_no_clock_event_device():
    sim = Simulation(scen.preset("vmi-2007"), engine="reference")
    assert set(sim.plan.tick_device) == {-1}
    assert all(not sim.plan.devices[d].clockevent for d in sim.plan.vmi_alarm)


def test_lapic_irq_path_breaks_only_the_reachout_backend():
    broken = busy("vmi-2007", ['core.changes=["lapic-irq-path"]'])
    assert delivered(broken).sum() <= 0.02 * 500 * 4          # almost no ticks: the hook no longer runs
    assert broken.meta["jiffies"] < 10
    assert any("reaches set_intr_gate" in line for _, line in broken.meta["boot_log"])
    for backend in SELF_CONTAINED:
        before = busy(backend)
        after = busy(backend, ['core.changes=["lapic-irq-path"]'])
        assert after.meta["effects"] == 0
        assert before.equal_log(after), backend                 # unaffected by construction


def test_do_timer_owner_makes_the_reachout_backend_count_jiffies_on_every_cpu():
    res = busy("vmi-2007", ['core.changes=["do-timer-owner"]'])
    s = analysis.summarize(res)
    ncpu = res.meta["ncpus"]
    assert s["jiffies_delta"] >= (ncpu - 0.1) * s["jiffies_expected"]    # every CPU advances jiffies
    assert s["clocks"]["wall_drift_ns"] > 10**9                           # the wall clock runs ahead
    assert all(c["jiffies_updates"] > 0 for c in s["cpus"])
    ok = busy("vmi-clockevents", ['core.changes=["do-timer-owner"]'])
    assert abs(analysis.summarize(ok)["jiffies_delta"] - 500) <= 1


def test_nohz_idle_guest_vmi_2007_keeps_ticking_clockevent_backends_stop():
    idle = ['workload.kind="idle"', 'kernel.nohz="idle"', 'run.until="2s"', "hypervisor.overcommit=1"]
    vmi = run("vmi-2007", idle)
    assert all(abs(int(d) - 500) <= 2 for d in delivered(vmi))
    for backend in SELF_CONTAINED:
        res = run(backend, idle)
        n = np.bincount(res.cpu[res.kind == Kind.TICK], minlength=res.meta["ncpus"])
        assert n.max() <= 25, (backend, n)


def test_pit_discard_loses_ticks_and_time_reinject_catches_up():
    out = {}
    for policy in ("reinject", "discard"):
        res = run("kvm-overcommit", [f'hypervisor.pit_policy="{policy}"'])
        out[policy] = (analysis.summarize(res), res)
    s_re, s_di = out["reinject"][0], out["discard"][0]
    assert s_di["hypervisor"]["pit_discarded"] > 500
    assert s_di["cpus"][0]["ticks_lost"] > 500
    # reinject loses none: the backlog the host still holds at the end is on its way, not expected yet
    pending = out["reinject"][1].meta["hypervisor"]["pit_pending"]
    assert s_re["cpus"][0]["ticks_lost"] == 0 and len(pending) >= 1
    assert s_re["cpus"][0]["ticks_expected"] + len(pending) == s_re["until_ns"] // 1_000_000   # HZ=1000 PIT grid
    assert raster.build(out["reinject"][1]).counts[raster.MARK_LOST] == 0
    assert s_di["clocks"]["wall_drift_ns"] < -500_000_000                 # the tick-counting clock runs slow
    assert abs(s_re["clocks"]["wall_drift_ns"]) < abs(s_di["clocks"]["wall_drift_ns"]) / 20
    assert s_re["hypervisor"]["pit_pending_max"] >= 2                      # catch-up bursts
    gaps = np.diff(out["reinject"][1].time_ns[out["reinject"][1].kind == Kind.TICK])
    assert np.count_nonzero(gaps < 100_000) > 100                          # back-to-back reinjected ticks
    assert s_re["cpus"][0]["steal_ns"] > 10**9


def test_migration_without_tsc_scaling_makes_tsc_unstable():
    res = run("kvm-migration")
    assert res.meta["clocksource"] == "kvm-clock"
    ev = [e for e in analysis.watchdog_events(res) if e["unstable"]]
    assert len(ev) == 1 and 1_050_000_000 < ev[0]["time_ns"] <= 2_100_000_000
    scaled = run("kvm-migration", ["hypervisor.tsc_scaling=true"])
    assert scaled.meta["clocksource"] == "tsc"
    assert not any(e["unstable"] for e in analysis.watchdog_events(scaled))
    assert np.count_nonzero(scaled.kind == Kind.MIGRATE) == 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_paused_vm_takes_no_interrupt_until_it_resumes(seed):
    # kvm-migration pauses the VM 50 ms at 1 s: an interrupt injected just before the pause (a tick on its
    # way) waits for VM entry on the destination, as a descheduled vCPU's does (it was handled at 1.0000038 s,
    # in the middle of the pause, with seed 2)
    res = run("kvm-migration", [f"run.seed={seed}", 'run.until="1500ms"'], engine="cython")
    start, end = (int(t) for t in res.time_ns[res.kind == Kind.MIGRATE])
    assert (start, end) == (1_000_000_000, 1_050_000_000)
    handled = np.isin(res.kind, [Kind.TICK, Kind.IRQ]) & (res.time_ns > start) & (res.time_ns < end)
    assert not handled.any(), res.time_ns[handled]
    assert (np.isin(res.kind, [Kind.TICK, Kind.IRQ]) & (res.time_ns >= end) & (res.time_ns < end + 1_000_000)).any()


def test_kvm_clock_is_read_through_the_shared_pvclock_math():
    # the engine's pvclock scale for the guest TSC equals the library's (one implementation of the math)
    sim = Simulation(scen.preset("kvm"), engine="reference")
    eng = sim.engine
    assert (eng.pv_mul, eng.pv_shift) == kclock.kvm_get_time_scale(2445406000)
    t = 1_234_567_891
    assert eng.pvclock_ns(t) == kclock.pvclock_scale_delta(eng.tsc(t), eng.pv_mul, eng.pv_shift)
    assert abs(eng.pvclock_ns(t) - t) <= 2


def test_hyperv_reference_page_counts_100ns_units():
    sim = Simulation(scen.preset("hyperv"), engine="reference")
    eng = sim.engine
    assert eng.hv_scale == kclock.hyperv_tsc_scale(2400000000)
    assert abs(eng.hv_reference(10**9) - 10**7) <= 1


def test_overcommit_steals_time_and_delays_ticks():
    res = run("xen-pv")
    s = analysis.summarize(res)
    assert s["hypervisor"]["steal_ns"] > 10**9 // 2
    assert all(c["steal_ns"] > 0 for c in s["cpus"])
    assert sum(c["ticks_lost"] for c in s["cpus"]) > 0                     # forwarded while descheduled
    assert np.count_nonzero(res.kind == Kind.STEAL) > 10


def test_real_kvm_guest_preset_boots_like_the_real_machine():
    sim = Simulation(scen.preset("real-kvm-guest"), engine="reference")
    text = [t for _, t in sim.plan.log]
    assert "clocksource: kvm-clock: mask: 0xffffffffffffffff max_cycles: 0x1cd42e4dffb, max_idle_ns: 881590591483 ns" in text
    assert text.count("clocksource: Switched to clocksource tsc") == 1
    dev = sim.plan.devices[sim.plan.tick_device[0]]
    assert (dev.name, dev.mult, dev.shift, dev.max_delta_ns) == ("lapic-deadline", 10256776, 25, 1798493412911)


def test_unknown_core_change_is_refused_with_a_hint():
    from tickscope.sim.errors import InputError

    with pytest.raises(InputError, match="unknown core change 'lapic-irq-pth'.*did you mean 'lapic-irq-path'"):
        scen.apply_sets(scen.preset("vmi-2007"), ['core.changes=["lapic-irq-pth"]'])


@pytest.mark.parametrize("backend", ["xen-pv", "vmi-2007"])
@pytest.mark.parametrize("device", ["hpet", "pit"])
def test_broadcast_device_on_a_guest_without_emulated_timers_is_refused_for_that_reason(backend, device):
    # the machine has both an HPET and a PIT, but a PV guest sees neither: the refusal says so (it blamed the HPET
    # for a missing PIT, and did so for a missing HPET too)
    from tickscope.sim.errors import InputError

    sc = scen.apply_sets(scen.preset(backend), ["machine.hpet=true", "machine.pit=true", f'machine.broadcast="{device}"'])
    with pytest.raises(InputError) as err:
        Simulation(sc, engine="reference")
    why = {"xen-pv": "a xen-pv guest sees no emulated timer hardware",
           "vmi-2007": "a vmi-2007 kernel's vmi_time_init enables no HPET and stops the PIT"}[backend]
    assert str(err.value) == (f"machine.broadcast: '{device}': no such global clock event device on this machine "
                              f"({why}: use \"hrtimer\" or \"none\")")


def test_pit_broadcast_beside_an_hpet_is_refused_naming_the_hpet():
    from tickscope.sim.errors import InputError

    sc = scen.apply_sets(scen.preset("kvm"), ["machine.hpet=true", 'machine.broadcast="pit"'])
    with pytest.raises(InputError, match=r"'pit': no such global clock event device on this machine "
                                         r"\(with an HPET, the kernel registers no PIT clock event device\)$"):
        Simulation(sc, engine="reference")


@pytest.mark.parametrize("forced", ["vmi-alarm", "lapic"])
def test_clockevent_override_on_vmi_2007_is_refused_the_alarm_is_no_clock_event_device(forced):
    # the 2.6.21 VMI alarm runs its own do_timer loops, not through clockevents: "vmi-alarm" was accepted (and did
    # nothing) and the refusal of any other name listed it as a device to choose
    from tickscope.sim.errors import InputError

    sc = scen.apply_sets(scen.preset("vmi-2007"), [f'kernel.clockevent="{forced}"'])
    with pytest.raises(InputError) as err:
        Simulation(sc, engine="reference")
    assert str(err.value) == (f"kernel.clockevent: {forced!r} is not a clock event device on this machine (it has none: "
                              "vmi-alarm drives the tick itself, not through clockevents; leave kernel.clockevent empty)")


def test_clockevent_override_refusal_lists_only_clock_event_devices():
    from tickscope.sim.errors import InputError

    sc = scen.apply_sets(scen.preset("xen-pv"), ['kernel.clockevent="lapic"'])
    with pytest.raises(InputError, match=r"'lapic' is not a clock event device on this machine \(devices: xen\)$"):
        Simulation(sc, engine="reference")

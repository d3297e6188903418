"""Settings that nothing in the run reads are said (a note on stderr, above the app's form), not refused."""
import pytest

from tickscope.sim import scenario as scen, unused_settings
from tickscope.sim.cli import main
from tickscope.sim.simulation import simulate


def _notes(preset, *sets):
    return unused_settings.notes(scen.apply_sets(scen.preset(preset), list(sets)))


@pytest.mark.parametrize("preset", scen.presets())
def test_no_shipped_preset_gives_a_setting_it_does_not_read(preset):
    # but pit-only, which asks for NO_HZ to show that it is unavailable without a continuous clocksource
    expected = ['kernel.nohz = "idle": the tick stays periodic: the clocksource pit is not continuous (not valid '
                'for high-res or NO_HZ)'] if preset == "pit-only" else []
    assert _notes(preset) == expected


def test_a_presets_busy_share_outlives_a_switch_to_a_busy_workload_as_a_note(capsys):
    # bare-metal-hpet-c3 is mixed with busy_fraction = 0.3: --set workload.kind="busy" leaves it (and its busy
    # periods) unread; an error would make the preset's own keys refuse an everyday --set
    argv = ["run", "--preset", "bare-metal-hpet-c3", "--until", "10ms", "--set", 'workload.kind="busy"']
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert err == ('tickscope: note: preset bare-metal-hpet-c3 with --set: workload.busy_fraction, '
                   'workload.busy_period: read by mixed CPUs only, and no CPU is mixed (workload.kind = "busy")\n')


def test_a_mixed_per_cpu_override_reads_the_workloads_busy_share():
    assert _notes("bare-metal-hpet-c3", 'workload.kind="busy"', 'workload.per_cpu=[{cpus=[2], kind="mixed"}]') == []


@pytest.mark.parametrize("sets,note", [
    (['workload.kind="idle"', 'workload.timer_work="1ms"'], "workload.timer_work: there are no user timers to run it"),
    (["machine.tsc_drift_ppm=5000", 'machine.tsc_skew="5ms"'],
     "machine.tsc_skew and machine.tsc_drift_ppm: the machine has no TSC (machine.tsc_hz = 0)"),
    (["machine.hpet_hz=20000000", 'machine.hpet_write_delay="1ms"'],
     "machine.hpet_hz and machine.hpet_write_delay: the machine has no HPET (machine.hpet = false)"),
    (['hypervisor.pit_policy="discard"', 'hypervisor.timeslice="1ms"'],
     'hypervisor.timeslice, hypervisor.pit_policy: bare metal (hypervisor.backend = "none") has no host to apply them'),
])
def test_settings_for_hardware_or_a_host_the_machine_lacks_are_noted(sets, note):
    # pit-only: no TSC, no HPET, bare metal; the run is the same with or without these keys (nohz off: the
    # preset's own note that NO_HZ is unavailable left out)
    assert _notes("pit-only", 'kernel.nohz="off"', *sets) == [note]


def test_the_alarm_rate_is_noted_on_a_guest_that_is_not_vmi_2007():
    assert _notes("kvm", "hypervisor.vmi_alarm_hz=250") == [
        "hypervisor.vmi_alarm_hz: read by the vmi-2007 backend only (this guest is kvm)"]
    assert _notes("vmi-2007", "hypervisor.vmi_alarm_hz=250") == []


def test_overcommit_on_bare_metal_is_refused(capsys):
    # it ran as steal time (216 ms a CPU over 1 s) that no tick felt
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--set", "hypervisor.overcommit=4"]) == 2
    err = capsys.readouterr().err
    assert "hypervisor.overcommit = 4: vCPUs sharing a host CPU need a guest (hypervisor.backend)" in err
    assert err.count("\n") == 1


def test_a_period_key_its_dist_does_not_read_is_noted_when_set_key_by_key():
    # --set edits the saved form (all four keys), which Period does not refuse: {dist = "exponential", min = "5ms"}
    # ran with min unread
    assert _notes("bare-metal-hpet-c3", 'workload.busy_period.min="5ms"') == [
        'workload.busy_period.min: not read by dist = "exponential"']
    assert _notes("kvm", 'hypervisor.injection.max="50us"') == [
        'hypervisor.injection.max: not read by dist = "exponential"']


@pytest.mark.parametrize("preset", scen.presets())
def test_a_saved_preset_reads_back_with_its_own_notes_only(preset):
    # to_toml writes every key, unread ones at their defaults (a guest's injection bounds at 1 and 10 us)
    assert unused_settings.notes(scen.loads(scen.preset(preset).to_toml())) == _notes(preset)


@pytest.mark.parametrize("preset,sets", [
    ("pit-only", []),
    ("bare-metal-hpet-c3", ['machine.broadcast="none"']),                       # C3STOP LAPIC, no broadcast
    ("bare-metal-hpet-c3", ['machine.broadcast="none"', "machine.arat=true"]),  # ... unless the LAPIC keeps running
    ("bare-metal-lapic", ['kernel.nohz="idle"', 'kernel.clocksource="jiffies"']),
    ("bare-metal-lapic", ['kernel.nohz="idle"', "machine.cpus=1", "machine.lapic=false", "machine.tsc_deadline=false",
                          'machine.broadcast="none"']),                          # the HPET ticks, oneshot
    ("laptop-deep-idle", ["machine.arat=false", 'machine.broadcast="hrtimer"']),
    ("kvm", ['kernel.nohz="idle"']),
])
def test_the_periodic_tick_note_agrees_with_the_engine(preset, sets):
    """The note that NO_HZ never takes effect is said exactly when no CPU of the run leaves periodic mode."""
    from tickscope.sim.events import Kind, TickMode
    from tickscope.sim.simulation import simulate

    sc = scen.apply_sets(scen.preset(preset), sets)
    res = simulate(sc, until_ns=100_000_000)
    modes = set(res.source[res.kind == Kind.MODE].tolist())
    oneshot = bool(modes & {TickMode.HIGHRES, TickMode.LOWRES_NOHZ})
    noted = any("the tick stays periodic" in n for n in unused_settings.notes(sc))
    assert noted == (not oneshot and sc.kernel.nohz == "idle")


def test_a_tsc_skew_on_a_one_cpu_machine_is_noted_and_changes_nothing():
    # the skew spreads TSC offsets over CPUs 1..n-1 (CPU 0 keeps offset 0): one CPU has no other TSC to be off from
    assert _notes("bare-metal-lapic", "machine.cpus=1", 'machine.tsc_skew="1ms"') == [
        "machine.tsc_skew: the offset between CPUs' TSCs, and the machine has one CPU (machine.cpus = 1)"]
    assert _notes("bare-metal-lapic", "machine.cpus=2", 'machine.tsc_skew="1ms"') == []
    base = scen.apply_sets(scen.preset("bare-metal-lapic"), ["machine.cpus=1", 'run.until="1s"'])
    skewed = scen.apply_sets(base, ['machine.tsc_skew="1ms"'])
    a, b = (simulate(s, engine="cython") for s in (base, skewed))
    assert a.time_ns.tolist() == b.time_ns.tolist() and a.value.tolist() == b.value.tolist()


def test_a_vmi_clockevents_guest_registers_no_hpet_pit_or_lapic_timer():
    # 2.6.22 vmiclock.c: time_init = vmi_time_init (PIT to mode 5, only the vmi-timer registered) and
    # setup_boot_clock = vmi_time_bsp_init: no hpet_enable, no setup_pit_timer, no local APIC timer. Before, the
    # PIT was registered and became the broadcast device (tick_handle_oneshot_broadcast in /proc/timer_list)
    from tickscope.sim import boot

    sc = scen.apply_sets(scen.preset("vmi-clockevents"), ["machine.pit=true", "machine.hpet=true"])
    plan = boot.plan(sc)
    assert {d.name for d in plan.devices} == {"vmi-timer"} and plan.broadcast_device == -1
    assert "hpet" not in {c.params.name for c in plan.clocksources}
    assert _notes("vmi-clockevents", "machine.pit=true") == [
        "machine.pit = true: not used (a vmi-clockevents kernel's vmi_time_init enables no HPET, stops the PIT and "
        "sets up no local APIC timer); the run is the same with machine.pit = false"]


def test_steal_reported_off_on_a_guest_is_noted_as_unread():
    # before: silently accepted, and the run (log, JSON, timer_list) was byte-identical with it on or off
    assert _notes("xen-pv", "hypervisor.steal_reported=false") == [
        "hypervisor.steal_reported: no part of the model reads it yet (the guest's steal accounting is not modelled; "
        "steal_ns counts what the host took either way)"]
    assert _notes("xen-pv") == []

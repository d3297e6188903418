"""infer_scenario reproduces the real 2-CPU KVM guest; the kernel arithmetic behind it matches domain.md §11."""
import pytest
import tomllib

from tickscope.sim.importers import infer_scenario, parse_dmesg, parse_interrupts, parse_timer_list
from tickscope.sim.importers.infer import tsc_khz_from_deadline_device


@pytest.mark.parametrize("hz, max_idle_ns", [
    (100, 19112604462750000), (250, 7645041785100000), (300, 6370867519511994), (1000, 1911260446275000)])
def test_hz_from_the_jiffies_clocksource_line(real_timer_list, hz, max_idle_ns):
    # the real timer_list alone says HZ=250; the dmesg jiffies line (domain.md §11 values) must win
    line = (f"[    0.137036] clocksource: jiffies: mask: 0xffffffff max_cycles: 0xffffffff, "
            f"max_idle_ns: {max_idle_ns} ns\n")
    sc = infer_scenario(parse_timer_list(real_timer_list, "tl.txt"), parse_dmesg(line))
    assert sc.kernel.hz == hz


def test_tsc_khz_recovered_from_lapic_deadline_mult():
    assert tsc_khz_from_deadline_device(10256776, 25) == [2445406]


def test_real_machine_with_all_inputs(real_timer_list, real_dmesg, real_interrupts):
    sc = infer_scenario(parse_timer_list(real_timer_list, "real_timer_list.txt"), parse_dmesg(real_dmesg),
                        parse_interrupts(real_interrupts),
                        ["real_timer_list.txt", "real_dmesg_time.txt", "real_interrupts.txt"])
    m, k = sc.machine, sc.kernel
    assert sc.name == "real_timer_list"
    assert m.cpus == 2
    assert m.tsc_hz == 2_445_406_000
    assert m.lapic and m.tsc_deadline and m.arat
    assert not m.hpet and not m.pit and not m.acpi_pm
    assert k.hz == 250 and k.highres is True and k.nohz == "idle"
    assert sc.hypervisor.backend == "kvm"
    # 5886 s of 5902 s asleep on CPU 0, 5858 s on CPU 1: a mostly idle guest
    assert sc.workload.kind == "mixed" and 0.002 < sc.workload.busy_fraction < 0.006
    assert k.clocksource == "tsc" and k.clockevent == "lapic-deadline"
    imp = sc.imported
    kvm = next(c for c in imp["clocksources"] if c["name"] == "kvm-clock")
    assert kvm["freq_hz"] == 1_000_000_000 and kvm["mask_bits"] == 64 and kvm["rating"] == 400
    assert kvm["dmesg"] == ("[    0.000004] clocksource: kvm-clock: mask: 0xffffffffffffffff "
                            "max_cycles: 0x1cd42e4dffb, max_idle_ns: 881590591483 ns")
    assert imp["guest"] == "kvm"
    assert imp["kvm_clock"]["sched_offset_cycles"] == 40380898
    assert imp["interrupts"]["counts"]["LOC"] == [59524, 61691]
    assert [t["retries"] for t in imp["tick_devices"]] == [6, 11]
    assert [t["nr_events"] for t in imp["tick_devices"]] == [59509, 61677]
    assert "7645041785100000" in imp["inferred"]["kernel.hz"]
    assert kvm["modelled"] is True                                   # the kvm backend registers it itself
    assert not any(u.startswith("clocksource kvm-clock") for u in imp["unmodelled"])
    assert any("sched offset" in u for u in imp["unmodelled"])
    assert imp["inferred"]["kernel.nohz"].startswith("timer_list")
    # everything kept must survive a TOML round trip
    assert tomllib.loads(sc.to_toml())["imported"]["interrupts"]["counts"]["LOC"] == [59524, 61691]


def test_timer_list_alone_still_pins_hz_and_tsc(real_timer_list):
    sc = infer_scenario(parse_timer_list(real_timer_list, "tl.txt"))
    assert sc.kernel.hz == 250
    assert sc.machine.tsc_hz == 2_445_406_000
    assert "lapic-deadline mult 10256776" in sc.imported["inferred"]["machine.tsc_hz"]
    assert sc.kernel.clocksource == ""
    assert sc.machine.cpus == 2


def test_hpet_broadcast_device_means_hpet_present_and_no_arat(real_timer_list):
    hpet_entry = (
        "Clock Event Device: hpet\n max_delta_ns:   149983013277\n min_delta_ns:   13410\n"
        " mult:           61496111\n shift:          32\n mode:           3\n"
        " next_event:     5902976000000 nsecs\n set_next_event: hpet_clkevt_set_next_event\n"
        " event_handler:  tick_handle_oneshot_broadcast\n\n retries:        0\n\n"
        "tick_broadcast_mask: 0\ntick_broadcast_oneshot_mask: 2\n")
    text = real_timer_list.replace(
        "Clock Event Device: <NULL>\ntick_broadcast_mask: 0\ntick_broadcast_oneshot_mask: 0\n", hpet_entry)
    assert text != real_timer_list
    sc = infer_scenario(parse_timer_list(text, "tl.txt"))
    assert sc.machine.hpet is True
    assert sc.machine.hpet_hz == 14_318_179  # hpet clockevent mult 61496111 shift 32, domain.md §11
    assert sc.machine.arat is False
    # CPU 1 in tick_broadcast_oneshot_mask sat in a state that stops its timer: the imported machine gets one
    # (C6 standing in), or it would idle in C1 and never use the broadcast the file shows
    assert [c.name for c in sc.machine.cstates] == ["C1", "C6"] and sc.machine.cstates[1].stops_timer
    assert "C1 and C6 stand in" in sc.imported["inferred"]["machine.cstates"]
    assert not any(a.startswith("machine.cstates") for a in sc.imported.get("assumed", []))


def test_an_exported_timer_list_with_deep_idle_imports_a_machine_that_uses_the_broadcast(tmp_path, capsys):
    from tickscope.sim import analysis, scenario as scen
    from tickscope.sim.cli import main
    from tickscope.sim.simulation import simulate

    tl = tmp_path / "tl.txt"
    assert main(["timer-list", "--preset", "bare-metal-hpet-c3", "--at", "1s"]) == 0
    tl.write_text(capsys.readouterr().out)
    out = tmp_path / "imp.toml"
    assert main(["import", "timer-list", str(tl), "-o", str(out)]) == 0
    assert 'machine.cstates = ["C1", "C6"]' in capsys.readouterr().out
    res = simulate(scen.apply_sets(scen.load(out), ['run.until="2s"']))
    cpus = analysis.per_cpu(res)
    assert sum(c["broadcast_received"] for c in cpus) > 0      # before: 0, every CPU in HLT all along
    assert all(c["cstate_residency_ns"].get("C6", 0) > 0 for c in cpus)


def test_a_machine_whose_broadcast_was_unused_keeps_no_idle_states_and_says_so(real_timer_list):
    sc = infer_scenario(parse_timer_list(real_timer_list, "tl.txt"))
    assert sc.machine.cstates == []
    assert "machine.cstates = [] (idle states are not visible in these files)" in sc.imported["assumed"]


def test_periodic_lapic_gives_bus_clock(real_timer_list):
    text = (real_timer_list.replace("lapic-deadline", "lapic")
            .replace(" mult:           10256776\n shift:          25", " mult:           26843545\n shift:          32"))
    sc = infer_scenario(parse_timer_list(text, "tl.txt"))
    assert sc.machine.tsc_deadline is False
    assert sc.machine.lapic_bus_hz == 100_000_000  # lapic mult 26843545 at a 100 MHz bus, domain.md §11

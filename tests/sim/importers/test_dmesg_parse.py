"""parse_dmesg on the real KVM guest log and on hand-written lines."""
import pytest

from tickscope.sim.errors import InputError
from tickscope.sim.importers import parse_dmesg


def test_real_clocksource_registrations(real_dmesg):
    d = parse_dmesg(real_dmesg)
    assert [c["name"] for c in d["clocksources"]] == ["kvm-clock", "refined-jiffies", "jiffies", "tsc-early", "tsc"]
    kvm = d["clocksources"][0]
    assert (kvm["mask"], kvm["mask_bits"], kvm["max_cycles"], kvm["max_idle_ns"]) == (
        2**64 - 1, 64, 0x1cd42e4dffb, 881590591483)
    assert kvm["time_ns"] == 4_000
    assert kvm["line"] == ("[    0.000004] clocksource: kvm-clock: mask: 0xffffffffffffffff max_cycles: 0x1cd42e4dffb,"
                           " max_idle_ns: 881590591483 ns")
    jiffies = d["clocksources"][2]
    assert (jiffies["mask_bits"], jiffies["max_idle_ns"]) == (32, 7645041785100000)


def test_real_switches_tsc_and_kvm_facts(real_dmesg):
    d = parse_dmesg(real_dmesg)
    assert [s["name"] for s in d["switches"]] == ["kvm-clock", "tsc"]
    assert d["current_clocksource"] == "tsc"
    assert d["tsc_detected_khz"] == 2445406 and d["tsc_khz"] == 2445406
    assert d["tsc_deadline"] == "available"
    assert d["kvm_clock"]["sched_offset_cycles"] == 40380898
    assert d["kvm_clock"]["msrs"] == ["4b564d01", "4b564d00"]
    assert d["guest"] == "kvm"
    assert d["starts_at_boot"] is True
    assert d["sched_clock_stable"] is True
    assert d["firmware_bugs"] == ["[    0.000000] [Firmware Bug]: TSC doesn't count with P0 frequency!"]
    assert d["hpet"] is None and d["unstable"] == []


def test_lines_without_timestamps_or_with_syslog_prefix(real_dmesg):
    bare = "\n".join(l.split("] ", 1)[1] for l in real_dmesg.splitlines())
    d = parse_dmesg(bare)
    assert [c["name"] for c in d["clocksources"]] == ["kvm-clock", "refined-jiffies", "jiffies", "tsc-early", "tsc"]
    assert all(c["time_ns"] is None for c in d["clocksources"])
    assert d["tsc_khz"] == 2445406
    journal = "Jun 16 11:11:36 host kernel: clocksource: Switched to clocksource hpet\n"
    assert parse_dmesg(journal)["current_clocksource"] == "hpet"


def test_refined_unstable_hpet_and_deadline_lines():
    log = "\n".join([
        "[    0.000000] tsc: Detected 3400.000 MHz processor",
        "[    0.004000] hpet0: 8 comparators, 64-bit 14.318180 MHz counter",
        "[    0.100000] clocksource: hpet: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns: 133484873504 ns",
        "[    0.200000] clocksource: acpi_pm: mask: 0xffffff max_cycles: 0xffffff, max_idle_ns: 2085701024 ns",
        "[    0.300000] TSC deadline timer enabled",
        "[    1.500000] tsc: Refined TSC clocksource calibration: 3392.144 MHz",
        "[   99.000000] clocksource: timekeeping watchdog on CPU3: Marking clocksource 'tsc' as unstable because "
        "the skew is too large:",
        "[  100.000000] Clocksource hpet unstable (delta = -123456 ns)",
    ])
    d = parse_dmesg(log)
    assert d["tsc_detected_khz"] == 3400000 and d["tsc_refined_khz"] == 3392144 and d["tsc_khz"] == 3392144
    assert d["hpet"]["hz"] == 14318180 and d["hpet"]["comparators"] == 8 and d["hpet"]["bits"] == 64
    assert [c["name"] for c in d["clocksources"]] == ["hpet", "acpi_pm"]
    assert d["clocksources"][1]["mask_bits"] == 24
    assert d["tsc_deadline"] == "enabled"
    assert [u["name"] for u in d["unstable"]] == ["tsc", "hpet"]
    assert d["clocksources"][0]["time_ns"] == 100_000_000


def test_binary_junk_is_an_error():
    with pytest.raises(InputError, match=r"^log:2: binary"):
        parse_dmesg("[    0.000000] ok\n\x00\x01\x02\n", "log")

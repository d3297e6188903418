"""``tickscope calc``: output matches real kernel text; bad numbers exit 2 with one line."""
from __future__ import annotations

import pytest

from tickscope.sim.cli import main


def run(capsys, *argv):
    status = main(["calc", *argv])
    out, err = capsys.readouterr()
    return status, out, err


# -------------------------------------------------------------- clocksource

def test_clocksource_tsc_in_khz_prints_real_dmesg_line(capsys):
    status, out, err = run(capsys, "clocksource", "--freq-hz", "2445406000", "--mask-bits", "64",
                           "--scale", "khz", "--name", "tsc")
    assert status == 0 and err == ""
    assert out.splitlines() == [
        # verbatim from data/real/real_dmesg_time.txt
        "clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x233fc4eb620, max_idle_ns: 440795316590 ns",
        "mult: 6860708",
        "shift: 24",
        "maxadj: 754677",
    ]


def test_clocksource_kvm_clock_line_and_default_name(capsys):
    status, out, _ = run(capsys, "clocksource", "--freq-hz", "1_000_000_000", "--mask-bits", "64",
                         "--name", "kvm-clock", "--rating", "400")
    assert status == 0
    assert out.splitlines()[0] == ("clocksource: kvm-clock: mask: 0xffffffffffffffff "
                                   "max_cycles: 0x1cd42e4dffb, max_idle_ns: 881590591483 ns")
    status, out, _ = run(capsys, "clocksource", "--freq-hz", "3579545", "--mask-bits", "24")
    assert out.splitlines() == [
        "clocksource: cs: mask: 0xffffff max_cycles: 0xffffff, max_idle_ns: 2085701024 ns",
        "mult: 2343484437",
        "shift: 23",
        "maxadj: 257783288",   # floor(2343484437 * 11 / 100)
    ]


def test_clocksource_hz_and_khz_scales_differ_for_same_frequency(capsys):
    # tsc 3 GHz registered in kHz (domain §11): max_idle_ns 440795289890; in Hz the
    # conversion targets ns directly and the mult search differs.
    _, khz, _ = run(capsys, "clocksource", "--freq-hz", "3000000000", "--mask-bits", "64", "--scale", "khz")
    assert "max_cycles: 0x2b3e459bf4c, max_idle_ns: 440795289890 ns" in khz.splitlines()[0]
    assert khz.splitlines()[1:3] == ["mult: 5592405", "shift: 24"]


# -------------------------------------------------------------- clockevent

def test_clockevent_prints_real_timer_list_lines(capsys):
    status, out, err = run(capsys, "clockevent", "--freq-hz", "305675750", "--min-ticks", "15",
                           "--max-ticks", "18446744073709551615")
    assert status == 0 and err == ""
    # verbatim from data/real/real_timer_list.txt (lapic-deadline)
    assert out.splitlines() == [
        " max_delta_ns:   1798493412911",
        " min_delta_ns:   1000",
        " mult:           10256776",
        " shift:          25",
    ]


def test_clockevent_hpet_with_underscored_numbers(capsys):
    status, out, _ = run(capsys, "clockevent", "--freq-hz", "14_318_179", "--min-ticks", "192",
                         "--max-ticks", "2_147_483_647")
    assert status == 0
    assert out.splitlines() == [
        " max_delta_ns:   149983013277",
        " min_delta_ns:   13410",
        " mult:           61496111",
        " shift:          32",
    ]


# -------------------------------------------------------------- pvclock / hyperv

def test_pvclock_3ghz_with_one_second_delta(capsys):
    status, out, _ = run(capsys, "pvclock", "--tsc-hz", "3000000000", "--delta", "3_000_000_000")
    assert status == 0
    assert out.splitlines() == ["mul: 0xaaaaaaaa shift: -1", "tsc_khz: 3000000", "ns: 999999999"]


def test_pvclock_real_guest_frequency_without_delta(capsys):
    status, out, _ = run(capsys, "pvclock", "--tsc-hz", "2445406000")
    assert out.splitlines() == ["mul: 0xd15f4795 shift: -1", "tsc_khz: 2445406"]


def test_pvclock_1ghz_shifts_left(capsys):
    # 1 GHz: mul 0x80000000, shift +1 (domain §6c).
    _, out, _ = run(capsys, "pvclock", "--tsc-hz", "1000000000")
    assert out.splitlines()[0] == "mul: 0x80000000 shift: 1"


def test_hyperv_scale_and_reference_time(capsys):
    status, out, _ = run(capsys, "hyperv", "--tsc-hz", "2445406000", "--tsc", "2445406000")
    assert status == 0
    scale = (10**7 << 64) // 2445406000
    assert out.splitlines() == [
        f"scale: 0x{scale:016x}",
        "reference_time: 9999999",       # one second, scale rounded down -> one unit short
        "ns: 999999900",
    ]
    assert len(out.splitlines()[0]) == len("scale: 0x") + 16


def test_hyperv_offset_is_added(capsys):
    _, out, _ = run(capsys, "hyperv", "--tsc-hz", "20000000", "--tsc", "20000000", "--offset", "5")
    # 20 MHz TSC: scale = 2**63 exactly -> one second = 10**7 units, + 5.
    assert out.splitlines() == ["scale: 0x8000000000000000", "reference_time: 10000005", "ns: 1000000500"]


# -------------------------------------------------------------- bad input

@pytest.mark.parametrize("argv,flag", [
    (["clocksource", "--freq-hz", "-5", "--mask-bits", "64"], "--freq-hz"),
    (["clocksource", "--freq-hz", "0", "--mask-bits", "64"], "--freq-hz"),
    (["clocksource", "--freq-hz", "1000", "--mask-bits", "65"], "--mask-bits"),
    (["clocksource", "--freq-hz", "1000", "--mask-bits", "0"], "--mask-bits"),
    (["clocksource", "--freq-hz", "abc", "--mask-bits", "32"], "--freq-hz"),
    (["clocksource", "--freq-hz", "1.5e9", "--mask-bits", "32"], "--freq-hz"),
    (["clocksource", "--freq-hz", "0x10", "--mask-bits", "32"], "--freq-hz"),
    (["clocksource", "--freq-hz", "1__000", "--mask-bits", "32"], "--freq-hz"),
    (["clocksource", "--freq-hz", "4294967296", "--mask-bits", "32"], "--freq-hz"),
    (["clocksource", "--freq-hz", "2445406001", "--mask-bits", "64", "--scale", "khz"], "--freq-hz"),
    (["clocksource", "--freq-hz", "1000", "--mask-bits", "32", "--rating", "-1"], "--rating"),
    (["clocksource", "--freq-hz", "1000", "--mask-bits", "32", "--name", "a b"], "--name"),
    (["clockevent", "--freq-hz", "1000", "--min-ticks", "10", "--max-ticks", "5"], "--min-ticks"),
    (["clockevent", "--freq-hz", "1000", "--min-ticks", "1", "--max-ticks", "18446744073709551616"], "--max-ticks"),
    (["clockevent", "--freq-hz", "x", "--min-ticks", "1", "--max-ticks", "5"], "--freq-hz"),
    (["pvclock", "--tsc-hz", "-1"], "--tsc-hz"),
    (["pvclock", "--tsc-hz", "1000", "--delta", "-3"], "--delta"),
    (["hyperv", "--tsc-hz", "10000000"], "--tsc-hz"),
    (["hyperv", "--tsc-hz", "20000000", "--tsc", "nope"], "--tsc"),
])
def test_bad_values_exit_2_with_one_line_naming_the_flag(capsys, argv, flag):
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("tickscope: error: ")
    assert flag in lines[0]


def test_range_errors_state_the_allowed_range(capsys):
    _, _, err = run(capsys, "clocksource", "--freq-hz", "1000", "--mask-bits", "65")
    assert "allowed 1..64" in err
    _, _, err = run(capsys, "clockevent", "--freq-hz", "1000", "--min-ticks", "10", "--max-ticks", "5")
    assert "min <= max" in err


def test_missing_subcommand_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["calc"])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


def test_clockevent_with_zero_tick_limits_gets_the_1_us_floor(capsys):
    # clockevents_config_and_register(dev, freq, 0, 0) is allowed (periodic-only devices register so); for a
    # oneshot device: sec = 0 // freq -> 1, the PIT's 1-second mult/shift (as with its own 0xF..0x7FFF limits),
    # and cev_delta2ns(0) = 0 ns, floored at 1000
    status, out, _ = run(capsys, "clockevent", "--freq-hz", "1193182", "--min-ticks", "0", "--max-ticks", "0")
    assert status == 0
    assert out.splitlines() == [" max_delta_ns:   1000", " min_delta_ns:   1000", " mult:           5124678",
                                " shift:          32"]

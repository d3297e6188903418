"""Kernel timer arithmetic against real logs, domain.md §11 and independent re-derivations.

Expected numbers come from real dmesg / timer_list output (copied verbatim below),
from domain.md §11, or from arithmetic written out in the test itself; none is
produced by ``tickscope.sim.kclock``.
"""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickscope.sim import kclock as kc

U32 = 2**32 - 1
U64 = 2**64 - 1

# Verbatim from assets/sample/real-kvm-guest/real_dmesg_time.txt (KVM guest, HZ=250), timestamps cut.
REAL_DMESG = {
    "kvm-clock": "clocksource: kvm-clock: mask: 0xffffffffffffffff max_cycles: 0x1cd42e4dffb, max_idle_ns: 881590591483 ns",
    "refined-jiffies": "clocksource: refined-jiffies: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns: 7645519600211568 ns",
    "jiffies": "clocksource: jiffies: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns: 7645041785100000 ns",
    "tsc-early": "clocksource: tsc-early: mask: 0xffffffffffffffff max_cycles: 0x233fc4eb620, max_idle_ns: 440795316590 ns",
    "tsc": "clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x233fc4eb620, max_idle_ns: 440795316590 ns",
}
# Verbatim from assets/sample/real-kvm-guest/real_timer_list.txt (lapic-deadline, tsc 2445.406 MHz).
REAL_TIMER_LIST_LAPIC_DEADLINE = [
    " max_delta_ns:   1798493412911",
    " min_delta_ns:   1000",
    " mult:           10256776",
    " shift:          25",
]
REAL_DATA = Path(__file__).resolve().parents[2] / "assets" / "sample" / "real-kvm-guest"


def test_embedded_real_lines_are_verbatim_copies_of_the_real_logs():
    dmesg = (REAL_DATA / "real_dmesg_time.txt").read_text()
    timer_list = (REAL_DATA / "real_timer_list.txt").read_text().splitlines()
    for line in REAL_DMESG.values():
        assert line in dmesg
    start = timer_list.index("Clock Event Device: lapic-deadline") + 1
    assert timer_list[start:start + 4] == REAL_TIMER_LIST_LAPIC_DEADLINE


# ------------------------------------------------------------ real dmesg lines

def test_kvm_clock_registration_reproduces_real_dmesg_line():
    cs = kc.clocksource_register("kvm-clock", 1_000_000_000, 64, rating=400, flags={"CONTINUOUS"})
    assert (cs.mult, cs.shift, cs.maxadj) == (8388608, 23, 922746)
    assert cs.dmesg_line() == REAL_DMESG["kvm-clock"]


@pytest.mark.parametrize("name", ["tsc-early", "tsc"])
def test_tsc_registered_in_khz_reproduces_real_dmesg_line(name):
    cs = kc.clocksource_register(name, 2_445_406, 64, scale=1000, rating=300)
    assert (cs.mult, cs.shift, cs.maxadj) == (6860708, 24, 754677)
    assert cs.dmesg_line() == REAL_DMESG[name]


def test_jiffies_at_hz250_reproduces_real_dmesg_line():
    cs = kc.jiffies_clocksource(250)
    assert (cs.mult, cs.shift, cs.rating) == (1024000000, 8, 1)
    assert cs.dmesg_line() == REAL_DMESG["jiffies"]


def test_refined_jiffies_at_hz250_reproduces_real_dmesg_line():
    cs = kc.refined_jiffies_clocksource(250)
    # cycles/tick 4773, shift_hz 63996, nsec_per_tick 4000250 (domain §11) -> mult 4000250 << 8.
    assert (cs.mult, cs.shift, cs.rating) == (4000250 << 8, 8, 2)
    assert cs.mult == 1024064000
    assert cs.dmesg_line() == REAL_DMESG["refined-jiffies"]


# ------------------------------------------------------------ §11 clocksources

def _line(name, mask, max_cycles, idle):
    return f"clocksource: {name}: mask: {mask} max_cycles: {max_cycles}, max_idle_ns: {idle} ns"


def test_jiffies_hz1000_matches_verified_idle_ns():
    assert kc.jiffies_clocksource(1000).max_idle_ns == 1911260446275000


def test_refined_jiffies_hz1000_matches_verified_idle_ns():
    cs = kc.refined_jiffies_clocksource(1000)
    assert cs.mult == 999848 << 8
    assert cs.max_idle_ns == 1910969940391419


@pytest.mark.parametrize("hz,idle", [(100, 19112604462750000), (300, 6370867519511994)])
def test_jiffies_idle_ns_for_other_hz(hz, idle):
    assert kc.jiffies_clocksource(hz).max_idle_ns == idle


def test_hpet_chipset_rate_matches_verified_line():
    hz = kc.hpet_freq_from_period(69_841_279)
    assert hz == 14_318_179
    cs = kc.clocksource_register("hpet", hz, 32, rating=250)
    assert (cs.mult, cs.shift) == (2343484601, 25)
    assert cs.dmesg_line() == _line("hpet", "0xffffffff", "0xffffffff", 133484882848)


def test_acpi_pm_24bit_matches_verified_line():
    cs = kc.clocksource_register("acpi_pm", kc.ACPI_PM_HZ, 24, rating=200)
    assert (cs.mult, cs.shift) == (2343484437, 23)
    assert cs.dmesg_line() == _line("acpi_pm", "0xffffff", "0xffffff", 2085701024)


def test_tsc_near_4ghz_matches_verified_line():
    cs = kc.clocksource_register("tsc", 3_999_996, 64, scale=1000)
    assert cs.dmesg_line().endswith("max_cycles: 0x7350b459580, max_idle_ns: 881591204237 ns")


@pytest.mark.parametrize("name,freq,bits,scale,mult,shift,max_cycles,idle", [
    ("hpet", 14_318_180, 32, 1, 2343484437, 25, U32, 133484873504),
    ("hpet", 100_000_000, 32, 1, 2684354560, 28, U32, 19112604467),
    ("hyperv_clocksource_tsc_page", 10_000_000, 64, 1, 1677721600, 24, 0x24e6a1710, 440795202120),
    ("tsc", 3_000_000, 64, 1000, 5592405, 24, 0x2b3e459bf4c, 440795289890),
    ("pit", 1_193_182, 32, 1, 3515225674, 22, U32, 1601818034827),
])
def test_computed_clocksource_rows_of_domain_table(name, freq, bits, scale, mult, shift, max_cycles, idle):
    cs = kc.clocksource_register(name, freq, bits, scale=scale)
    assert (cs.mult, cs.shift, cs.max_cycles, cs.max_idle_ns) == (mult, shift, max_cycles, idle)


def test_counter_wider_than_32_bits_is_sized_for_600s_not_its_wrap_time():
    # A 1 MHz 40-bit counter wraps after 1099511 s.  Sized for that, t = 1099511e6 >> 32
    # = 255 (8 bits) leaves 24 bits for mult: 1000 * 2**14 = 16384000 < 2**24 -> shift 14.
    assert kc.clocks_calc_mult_shift(1_000_000, kc.NSEC_PER_SEC, 1_099_511) == (16384000, 14)
    # Registration caps it at 600 s: t = 600e6 >> 32 = 0, 32 bits for mult, so shift 22
    # (1000 * 2**22 = 4194304000 < 2**32), then the maxadj loop halves once.
    cs = kc.clocksource_register("w40", 1_000_000, 40)
    assert (cs.mult, cs.shift) == (2097152000, 21)


def test_counter_faster_than_its_mask_uses_one_second():
    # 8-bit counter at 1 MHz wraps in 256 us: sec 0 -> 1; t = 1e6 >> 32 = 0 -> shift 22 -> 21.
    cs = kc.clocksource_register("tiny", 1_000_000, 8)
    assert (cs.mult, cs.shift, cs.max_cycles) == (2097152000, 21, 255)


def test_maxadj_loop_halves_mult_until_adjustment_fits_u32():
    # 1 MHz: clocks_calc_mult_shift gives 1000 << 22 = 4194304000 (fits u32) but
    # + 11 % does not, so one halving: 2097152000 / 21, maxadj 230686720.
    cs = kc.clocksource_register("w", 1_000_000, 64)
    assert (cs.mult, cs.shift, cs.maxadj) == (2097152000, 21, 230686720)
    assert cs.mult + cs.maxadj <= U32


def test_freq_zero_keeps_preset_mult_and_shift():
    cs = kc.clocksource_register("preset", 0, 32, mult=12345, shift=3)
    assert (cs.mult, cs.shift, cs.maxadj) == (12345, 3, 12345 * 11 // 100)
    assert cs.uncertainty_margin == kc.NSEC_PER_SEC >> 5


def test_uncertainty_margin_is_one_period_but_at_least_twice_max_skew():
    slow = kc.clocksource_register("slow", 1000, 32)            # 1 ms period
    assert slow.uncertainty_margin == 1_000_000
    fast = kc.clocksource_register("fast", 1_000_000_000, 64)  # 1 ns period -> floor
    assert fast.uncertainty_margin == 2 * 125_000   # WATCHDOG_MAX_SKEW: the 6.3+ Kconfig default, 125 us
    preset = kc.clocksource_register("tsc-early", 2_445_406, 64, scale=1000, uncertainty_margin=32_000_000)
    assert preset.uncertainty_margin == 32_000_000


def test_flags_are_stored_symbolically():
    cs = kc.clocksource_register("tsc", 2_445_406, 64, scale=1000,
                                 flags=["CONTINUOUS", "MUST_VERIFY", "VALID_FOR_HRES"])
    assert cs.flags == frozenset({"CONTINUOUS", "MUST_VERIFY", "VALID_FOR_HRES"})


def test_max_raw_delta_is_seven_eighths_of_mask_by_shifts():
    # (mask >> 1) + (mask >> 2) + (mask >> 3) for a 32-bit mask.
    assert kc.clocksource_register("x", 1_000_000, 32).max_raw_delta == 0x7FFFFFFF + 0x3FFFFFFF + 0x1FFFFFFF


def test_clocks_calc_max_nsecs_uses_reduced_mult_and_halves():
    # kvm-clock: (2**64-1) // (8388608 + 922746) = 0x1cd42e4dffb cycles;
    # 0x1cd42e4dffb * (8388608 - 922746) >> 23 >> 1 = 881590591483 (real dmesg).
    assert kc.clocks_calc_max_nsecs(8388608, 23, 922746, U64) == (881590591483, 0x1cd42e4dffb)


def test_legacy_max_nsecs_uses_power_of_two_cycles_and_seven_eighths():
    # ilog2(8388608 + 922746) = 23 -> max_cycles 2**(63 - 24) = 2**39;
    # 2**39 * 7465862 >> 23 = 7465862 * 2**16 = 489282732032; minus its eighth
    # (61160341504) = 428122390528.
    assert kc.clocks_calc_max_nsecs_legacy(8388608, 23, 922746, U64) == (428122390528, 2**39)
    # A 32-bit mask clamps the cycles first: jiffies HZ=250, max_cycles 0xffffffff,
    # 0xffffffff * 911360000 >> 8 = 15290083570200000, 7/8 of it = 13378823123925000.
    assert kc.clocks_calc_max_nsecs_legacy(1024000000, 8, 112640000, U32) == (13378823123925000, U32)


def test_clocksource_register_rejects_impossible_arguments():
    with pytest.raises(ValueError, match="mask_bits"):
        kc.clocksource_register("x", 1000, 65)
    with pytest.raises(ValueError, match="scale"):
        kc.clocksource_register("x", 1000, 32, scale=10)
    with pytest.raises(ValueError, match="preset mult"):
        kc.clocksource_register("x", 0, 32)
    with pytest.raises(ValueError, match="freq"):
        kc.clocksource_register("x", 2**32, 64)


# ---------------------------------------------------------- HZ-derived tables

@pytest.mark.parametrize("hz,latch,tick", [
    (100, 11932, 10000000), (250, 4773, 4000000), (300, 3977, 3333333), (1000, 1193, 1000000),
])
def test_pit_latch_and_tick_nsec_tables(hz, latch, tick):
    assert kc.pit_latch(hz) == latch
    assert kc.tick_nsec(hz) == tick


@pytest.mark.parametrize("hz,shift", [(24, 6), (33, 6), (34, 7), (66, 7), (67, 8), (1000, 8)])
def test_jiffies_shift_thresholds(hz, shift):
    assert kc.jiffies_shift(hz) == shift


def test_initial_jiffies_is_five_minutes_before_u32_wrap():
    assert kc.initial_jiffies(250) == 4294892296
    assert kc.initial_jiffies(1000) == 2**32 - 300_000


def test_timer_wheel_bucket_rounds_past_the_expiry_to_the_levels_granularity():
    # calc_wheel_index / calc_index (5.10+): under 63 jiffies ahead (level 0) a timer runs one jiffy after its
    # expiry; 63..503 ahead (level 1) at the next multiple of 8 strictly after it; 504..4031 (level 2) of 64
    assert kc.timer_wheel_bucket(50, 0) == 51            # the watchdog's HZ/2 at HZ=100
    assert kc.timer_wheel_bucket(62, 0) == 63
    assert kc.timer_wheel_bucket(63, 0) == 64
    assert kc.timer_wheel_bucket(125, 0) == 128          # HZ=250
    assert kc.timer_wheel_bucket(128, 0) == 136          # on a bucket boundary: still strictly after
    assert kc.timer_wheel_bucket(500, 0) == 504          # HZ=1000: 500 ahead is still level 1
    assert kc.timer_wheel_bucket(504, 0) == 512          # level 2
    assert kc.timer_wheel_bucket(600, 0) == 640
    assert kc.timer_wheel_bucket(10, 20) == 20           # already due: runs at the clock
    base = kc.initial_jiffies(250)                       # absolute jiffies: INITIAL_JIFFIES is a multiple of 8
    assert kc.timer_wheel_bucket(base + 250, base + 128) == base + 256


@given(st.integers(0, 2**40), st.integers(0, 2**22))
def test_timer_wheel_bucket_never_runs_early_nor_a_bucket_late(clk, ahead):
    expires = clk + ahead
    bucket = kc.timer_wheel_bucket(expires, clk)
    level = next(n for n in range(8) if n == 7 or ahead < 63 << (3 * n))
    gran = 8 ** level
    assert expires < bucket <= expires + gran and bucket % gran == 0


def test_constants():
    assert (kc.PIT_TICK_RATE, kc.ACPI_PM_HZ) == (1193182, 3579545)
    assert (kc.HPET_MIN_CYCLES, kc.HPET_MIN_PROG_DELTA) == (128, 192)
    assert (kc.TSC_DIVISOR, kc.APIC_DIVISOR) == (8, 16)
    assert kc.M64 == 18446744073709551615


# ------------------------------------------------------------------ clockevents

def test_lapic_deadline_matches_real_timer_list():
    ce = kc.lapic_deadline_clockevent(2_445_406)
    assert ce.freq == 305_675_750
    assert (ce.mult, ce.shift, ce.min_delta_ns, ce.max_delta_ns) == (10256776, 25, 1000, 1798493412911)
    assert (ce.min_delta_ticks, ce.max_delta_ticks) == (0xF, U64)
    assert ce.timer_list_lines() == REAL_TIMER_LIST_LAPIC_DEADLINE


def test_lapic_deadline_4ms_programs_1222702_ticks_of_8_tsc_cycles():
    ce = kc.lapic_deadline_clockevent(2_445_406)
    ticks = kc.clockevent_ticks(4_000_000, ce.min_delta_ns, ce.max_delta_ns, ce.mult, ce.shift)
    assert ticks == 1222702
    assert ticks * kc.TSC_DIVISOR == 9781616


@pytest.mark.parametrize("make,mult,shift,lo,hi", [
    (kc.pit_clockevent, 5124678, 32, 12572, 27461861),
    (lambda: kc.hpet_clockevent(14_318_179), 61496111, 32, 13410, 149983013277),
    (lambda: kc.hpet_clockevent(100_000_000), 429496730, 32, 1920, 21474836451),
    (lambda: kc.lapic_clockevent(100_000_000, 250), 26843545, 32, 2401, 343597391201),
    (lambda: kc.lapic_clockevent(100_000_000, 1000), 26843545, 32, 2401, 343597391201),
    (lambda: kc.lapic_clockevent(1_000_000_000, 250), 268435456, 32, 1000, 34359738352),
])
def test_clockevent_rows_of_domain_table(make, mult, shift, lo, hi):
    ce = make()
    assert (ce.mult, ce.shift, ce.min_delta_ns, ce.max_delta_ns) == (mult, shift, lo, hi)


def test_device_tick_limits():
    assert (kc.pit_clockevent().min_delta_ticks, kc.pit_clockevent().max_delta_ticks) == (0xF, 0x7FFF)
    hpet = kc.hpet_clockevent(14_318_179)
    assert (hpet.min_delta_ticks, hpet.max_delta_ticks) == (192, 0x7FFFFFFF)
    lapic = kc.lapic_clockevent(100_000_000, 250)
    assert (lapic.min_delta_ticks, lapic.max_delta_ticks) == (0xF, 0x7FFFFFFF)


def test_lapic_mult_is_div_sc_of_counts_per_jiffy():
    # 100 MHz bus, HZ=250: 400000 bus clocks/jiffy, /16 = 25000; (25000 << 32) // 4000000.
    assert kc.lapic_mult(100_000_000, 250) == (25000 << 32) // 4_000_000 == 26843545
    with pytest.raises(ValueError):
        kc.lapic_mult(1000, 250)   # 4 bus clocks per jiffy: not even one timer count


def test_hpet_period_conversions():
    assert kc.hpet_period_fs(100_000_000) == 10_000_000
    assert kc.hpet_freq_from_period(10_000_000) == 100_000_000
    # The period is rounded down too, so 14318179 Hz maps to a period of its own.
    period = kc.hpet_period_fs(14_318_179)
    assert period * 14_318_179 <= 10**15 < (period + 1) * 14_318_179
    for bad in (99_999, 100_000_001, 0):
        with pytest.raises(ValueError, match="period"):
            kc.hpet_freq_from_period(bad)


def test_cev_delta2ns_saturates_on_shift_overflow_and_floors_at_1us():
    # (2**40) << 32 overflows u64 -> clc saturates at 2**64-1; no rounding room -> (2**64-1) // 3.
    assert kc.cev_delta2ns(2**40, 3, 32, False) == U64 // 3
    assert kc.cev_delta2ns(1, 1 << 32, 32, False) == 1000
    assert kc.clockevent_delta2ns(0, 7, 4) == 1000


def test_cev_delta2ns_rounds_up_except_max_of_faster_than_1ghz_device():
    # mult 3, shift 1: ticks/ns = 1.5 (1.5 GHz).  latch 10 -> 20 / 3.
    # min: rounded up, (20 + 2) // 3 = 7; max: rounded down, 20 // 3 = 6 (then 1 us floor).
    assert kc.cev_delta2ns(10_000, 3, 1, False) == (20_000 + 2) // 3 == 6667
    assert kc.cev_delta2ns(10_000, 3, 1, True) == 20_000 // 3 == 6666
    # A slower device (mult <= 2**shift) rounds the max up too.
    assert kc.cev_delta2ns(10_000, 3, 2, True) == (40_000 + 2) // 3


def test_cev_delta2ns_treats_mult_zero_as_one():
    assert kc.cev_delta2ns(5000, 0, 0, False) == 5000


def test_clockevent_ticks_clamps_before_converting():
    # mult 1 shift 0 -> ticks == ns after the clamp.
    assert kc.clockevent_ticks(10, 1000, 5000, 1, 0) == 1000
    assert kc.clockevent_ticks(9999, 1000, 5000, 1, 0) == 5000
    assert kc.clockevent_ticks(3000, 1000, 5000, 1, 0) == 3000


def test_clockevent_ticks_wraps_u64_like_the_kernel():
    # (2**40 + 3) * 2**30 = 2**70 + 3 * 2**30; the 2**70 part wraps away.
    assert kc.clockevent_ticks(2**40 + 3, 0, 2**41, 2**30, 0) == 3 * 2**30


def test_clockevents_config_caps_maxsec_only_for_wide_tick_limits():
    # 1 kHz, max 0x7FFFFFFF ticks -> sec = 2147483 (not capped: limit fits 32 bits);
    # t = 2147483 * 1e9 >> 32 = 499999 (19 bits) -> sftacc 13; mult at shift s is
    # round(2**s / 1e6) which is < 2**13 for s <= 32 -> shift 32, mult 4295.
    ce = kc.clockevents_config(1000, 1, 0x7FFFFFFF)
    assert (ce.mult, ce.shift) == (4295, 32)
    # Same device with a 64-bit limit caps sec at 600 -> t = 139 -> sftacc 24 -> also shift 32.
    assert kc.clockevents_config(1000, 1, U64).shift == 32


def test_clockevents_config_rejects_bad_limits():
    with pytest.raises(ValueError):
        kc.clockevents_config(1000, 10, 5)
    with pytest.raises(ValueError):
        kc.clockevents_config(0, 1, 5)


# --------------------------------------------------------------- min delta growth

def test_min_delta_growth_at_hz1000_reaches_one_jiffy_in_15_raises_then_gives_up():
    expected = [1000, 5000, 7500, 11250, 16875, 25312, 37968, 56952, 85428, 128142,
                192213, 288319, 432478, 648717, 973075, 1000000]
    seen = [1000]
    while (nxt := kc.increase_min_delta(seen[-1], 1000)) is not None:
        seen.append(nxt)
    assert seen == expected
    assert len(seen) - 1 == 15


def test_min_delta_growth_limit_depends_on_hz():
    assert kc.increase_min_delta(3_000_000, 250) == 4_000_000   # 4.5 ms clamped to one 4 ms jiffy
    assert kc.increase_min_delta(4_000_000, 250) is None
    assert kc.increase_min_delta(4999, 250) == 5000


# --------------------------------------------------------------- cyc2ns / delta

def test_clocksource_delta_across_wrap():
    assert kc.clocksource_delta(5, 0xFFFFFFFA, U32) == 11
    assert kc.clocksource_delta(0x1000005, 0xFFFFFA, 0xFFFFFF) == 11   # acpi_pm 24-bit


def test_clocksource_delta_negative_motion_reads_zero_with_max_raw_delta():
    backwards = kc.clocksource_delta(100, 101, U32, max_raw_delta=0x7FFFFFFF + 0x3FFFFFFF + 0x1FFFFFFF)
    assert backwards == 0
    assert kc.clocksource_delta(100, 101, U32) == U32


def test_cyc2ns_wraps_beyond_max_cycles():
    assert kc.clocksource_cyc2ns(2**40 + 3, 2**30, 2) == (3 * 2**30) >> 2


# --------------------------------------------------------------- pvclock

@pytest.mark.parametrize("hz,mul,shift,khz", [
    (3_000_000_000, 0xAAAAAAAA, -1, 3_000_000),
    (2_445_406_000, 0xD15F4795, -1, 2_445_406),
    (1_000_000_000, 0x80000000, 1, 1_000_000),
])
def test_kvm_get_time_scale_domain_values_and_inverse(hz, mul, shift, khz):
    assert kc.kvm_get_time_scale(hz) == (mul, shift)
    assert kc.pvclock_tsc_khz(mul, shift) == khz


def test_one_second_of_3ghz_tsc_reads_999999999_ns():
    assert kc.pvclock_scale_delta(3_000_000_000, 0xAAAAAAAA, -1) == 999_999_999


def test_pvclock_read_adds_scaled_delta_to_system_time_and_wraps_backwards_tsc():
    assert kc.pvclock_read(5_000, 1_000, 1_000 + 3_000_000_000, 0xAAAAAAAA, -1) == 5_000 + 999_999_999
    # TSC behind the timestamp: u64 wrap -> huge delta, as the kernel computes it.
    behind = kc.pvclock_read(0, 10, 8, 0x80000000, 0)
    assert behind == ((2**64 - 2) * 0x80000000 >> 32)


def test_pvclock_read_retry_skips_odd_and_changed_versions():
    old = kc.PvclockRecord(tsc_timestamp=0, system_time=0, tsc_to_system_mul=0x80000000, tsc_shift=1)
    new = kc.PvclockRecord(tsc_timestamp=1000, system_time=7_000, tsc_to_system_mul=0x80000000, tsc_shift=1)
    # Attempt 1: version 2 then 3 (host started an update) -> retry.
    # Attempt 2: version 3 (odd, update in progress) -> retry.
    # Attempt 3: version 4 and 4 -> good, uses the new record.
    shots = iter([(2, old), (3, old), (3, old), (4, new), (4, new), (4, new)])
    ns, retries = kc.pvclock_read_retry(lambda: next(shots), read_tsc=lambda: 3000)
    assert retries == 2
    assert ns == 7_000 + 2000   # 1 GHz record: (3000 - 1000) cycles = 2000 ns


def test_pvclock_read_retry_accepts_snapshot_with_own_tsc_and_needs_a_tsc():
    rec = kc.PvclockRecord(tsc_timestamp=0, system_time=100, tsc_to_system_mul=0x80000000, tsc_shift=1)
    assert kc.pvclock_read_retry(lambda: (6, rec, 50)) == (150, 0)
    with pytest.raises(TypeError):
        kc.pvclock_read_retry(lambda: (6, rec))
    with pytest.raises(RuntimeError):
        kc.pvclock_read_retry(lambda: (1, rec, 0), max_retries=5)


# --------------------------------------------------------------- Hyper-V

def test_hyperv_scale_and_one_second_of_tsc():
    scale = kc.hyperv_tsc_scale(2_445_406_000)
    assert scale == (10**7 << 64) // 2_445_406_000
    # Scale is rounded down, so one second of TSC lands one 100 ns unit short at most.
    assert kc.hyperv_reference_time(2_445_406_000, scale) in (10**7 - 1, 10**7)
    # A 10 MHz TSC would need scale == 2**64: does not fit the u64 page field.
    with pytest.raises(ValueError):
        kc.hyperv_tsc_scale(10_000_000)


def test_hyperv_reference_time_adds_signed_offset_with_u64_wrap():
    scale = 1 << 63   # half a unit per cycle
    assert kc.hyperv_reference_time(1000, scale, 7) == 507
    assert kc.hyperv_reference_time(0, scale, -1) == U64


# ====================================================== hypothesis properties

def _reference_mult_shift(frm, to, maxsec):
    """Straight re-derivation from the description, with Fractions and a candidate list."""
    headroom = (maxsec * frm) // 2**32
    used_bits = len(format(headroom, "b")) if headroom else 0
    limit = 2 ** (32 - used_bits)

    def rounded(s):
        return int(Fraction(to * 2**s, frm) + Fraction(1, 2))   # floor(x + 1/2), x >= 0

    good = [s for s in range(1, 33) if rounded(s) < limit]
    if not good:
        return rounded(1) % 2**32, 0
    best = max(good)
    return rounded(best), best


u32s = st.integers(min_value=0, max_value=U32)


@settings(max_examples=300, deadline=None)
@given(frm=st.integers(min_value=1, max_value=U32), to=u32s, maxsec=u32s)
def test_calc_mult_shift_matches_reference_for_any_u32(frm, to, maxsec):
    assert kc.clocks_calc_mult_shift(frm, to, maxsec) == _reference_mult_shift(frm, to, maxsec)


@settings(max_examples=200, deadline=None)
@given(frm=st.integers(min_value=1_000, max_value=U32),
       maxsec=st.integers(min_value=1, max_value=600))
def test_calc_mult_shift_matches_reference_for_realistic_clocks(frm, maxsec):
    for a, b in ((frm, kc.NSEC_PER_SEC), (kc.NSEC_PER_SEC, frm)):
        assert kc.clocks_calc_mult_shift(a, b, maxsec) == _reference_mult_shift(a, b, maxsec)


def test_calc_mult_shift_edge_case_no_shift_qualifies():
    # from = to = maxsec = 2**32-1: headroom uses all 32 bits -> only mult 0 would do;
    # at shift 1 mult = (2*(2**32-1) + 2**31-1) // (2**32-1) = 2 -> loop ends with shift 0.
    assert kc.clocks_calc_mult_shift(U32, U32, U32) == (2, 0)
    # from 1, to 2**32-1: every candidate is >= 2**32; sft=1 gives 2**33-2, stored in a u32.
    assert kc.clocks_calc_mult_shift(1, U32, 0) == (2**32 - 2, 0)


clocksources = st.builds(
    lambda f, bits, khz: (f, bits, 1000 if khz else 1),
    st.integers(min_value=1, max_value=U32), st.integers(min_value=8, max_value=64), st.booleans())


@settings(max_examples=200, deadline=None)
@given(spec=clocksources, a=st.integers(min_value=0, max_value=U64), b=st.integers(min_value=0, max_value=U64))
def test_cyc2ns_is_monotonic_and_never_overflows_up_to_max_cycles(spec, a, b):
    freq, bits, scale = spec
    cs = kc.clocksource_register("h", freq, bits, scale=scale)
    assert cs.max_cycles <= cs.mask
    # The worst NTP-adjusted multiplier times max_cycles still fits u64.
    assert cs.max_cycles * (cs.mult + cs.maxadj) <= U64
    lo, hi = sorted((a % (cs.max_cycles + 1), b % (cs.max_cycles + 1)))
    assert kc.clocksource_cyc2ns(lo, cs.mult, cs.shift) <= kc.clocksource_cyc2ns(hi, cs.mult, cs.shift)
    assert kc.clocksource_cyc2ns(hi, cs.mult, cs.shift) == (hi * cs.mult) >> cs.shift
    assert cs.max_idle_ns == (cs.max_cycles * (cs.mult - cs.maxadj) >> cs.shift) // 2


clockevents = st.tuples(
    st.integers(min_value=1_000, max_value=4_000_000_000),
    st.integers(min_value=1, max_value=1000),
    st.sampled_from([0x7FFF, 0x7FFFFFFF, U32, U64]))


@settings(max_examples=200, deadline=None)
@given(dev=clockevents, frac=st.fractions(min_value=0, max_value=1))
def test_ns_to_ticks_to_ns_round_trip_within_one_tick(dev, frac):
    freq, lo_ticks, hi_ticks = dev
    ce = kc.clockevents_config(freq, lo_ticks, hi_ticks)
    delta = ce.min_delta_ns + int((ce.max_delta_ns - ce.min_delta_ns) * frac)
    ticks = kc.clockevent_ticks(delta, ce.min_delta_ns, ce.max_delta_ns, ce.mult, ce.shift)
    # ns one tick is worth under this device's factors, and the ns the ticks stand for.
    ns_per_tick = Fraction(2**ce.shift, ce.mult)
    back = ticks * ns_per_tick
    assert back <= delta < back + ns_per_tick
    # And the ticks are within one tick of the exact frequency, up to mult's rounding:
    # |mult - exact_mult| <= 1/2, so the relative error is at most 1 / (2 * mult - 1).
    exact = Fraction(delta * freq, kc.NSEC_PER_SEC)
    slack = 1 + exact * Fraction(1, 2 * ce.mult - 1)
    assert abs(ticks - exact) <= slack


@settings(max_examples=200, deadline=None)
@given(dev=clockevents)
def test_limits_convert_back_inside_device_range(dev):
    freq, lo_ticks, hi_ticks = dev
    ce = kc.clockevents_config(freq, lo_ticks, hi_ticks)
    back_max = kc.clockevent_ticks(ce.max_delta_ns, 0, U64, ce.mult, ce.shift)
    if ce.max_delta_ns > 1000:
        assert back_max <= hi_ticks
    if lo_ticks << ce.shift <= U64:
        assert kc.clockevent_ticks(ce.min_delta_ns, 0, U64, ce.mult, ce.shift) >= lo_ticks


@settings(max_examples=300, deadline=None)
@given(delta=st.integers(min_value=0, max_value=U64), mul=u32s, shift=st.integers(min_value=-32, max_value=31))
def test_pvclock_scale_delta_matches_exact_fraction(delta, mul, shift):
    if shift >= 0:
        shifted = (delta * 2**shift) % 2**64      # bits pushed past 64 are lost
    else:
        shifted = int(Fraction(delta, 2**-shift))  # floor
    expected = int(Fraction(shifted * mul, 2**32)) % 2**64
    assert kc.pvclock_scale_delta(delta, mul, shift) == expected


@settings(max_examples=200, deadline=None)
@given(hz=st.integers(min_value=1_000_000, max_value=10**10), delta=st.integers(min_value=0, max_value=2**40))
def test_kvm_time_scale_converts_cycles_to_ns_closely(hz, delta):
    mul, shift = kc.kvm_get_time_scale(hz)
    assert 2**31 <= mul < 2**32       # fraction normalised to [0.5, 1)
    got = kc.pvclock_scale_delta(delta, mul, shift)
    exact = Fraction(delta * kc.NSEC_PER_SEC, hz)
    ns_per_cycle = Fraction(kc.NSEC_PER_SEC, hz)
    lost_cycles = 2 ** max(0, -shift)  # cycles dropped by a right pre-shift
    # Relative error sources: mul truncated to 32 bits (< 2**-31 of a mul >= 2**31) and,
    # for a right pre-shift, the base frequency itself losing its low bits (< 2**-shift Hz).
    relative = Fraction(1, 2**31) + Fraction(lost_cycles, hz)
    assert abs(exact - got) <= lost_cycles * ns_per_cycle + exact * relative + 1


@settings(max_examples=200, deadline=None)
@given(hz=st.integers(min_value=10_000_001, max_value=2**40), tsc=st.integers(min_value=0, max_value=2**63))
def test_hyperv_reference_time_tracks_exact_100ns_units(hz, tsc):
    scale = kc.hyperv_tsc_scale(hz)
    assert scale == int(Fraction(10**7 * 2**64, hz))
    exact = Fraction(tsc * 10**7, hz)
    got = kc.hyperv_reference_time(tsc, scale)
    assert got <= exact < got + 1 + Fraction(tsc, 2**64)

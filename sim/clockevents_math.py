"""Clock event device math: mult/shift, delta2ns, programming, min-delta growth, x86 devices.

Part of the kernel math re-exported by :mod:`tickscope.sim.kclock` (import it from there).
"""
from __future__ import annotations

from dataclasses import dataclass

from tickscope.sim.kclock_base import (  # shared constants and checks
    APIC_DIVISOR,
    CLOCKEVENT_MIN_NS,
    HPET_MIN_PROG_DELTA,
    M32,
    M64,
    MAX_UPDATE_LENGTH_SEC,
    MIN_DELTA_FLOOR_NS,
    NSEC_PER_SEC,
    PIT_TICK_RATE,
    TSC_DIVISOR,
    _check_positive,
    _check_uint,
    clocks_calc_mult_shift,
    tick_nsec,
)

# ----------------------------------------------------------------- clockevents

@dataclass(frozen=True)
class ClockeventParams:
    """A clock event device's conversion factors and programming limits.

    Attributes
    ----------
    mult, shift : int
        ``ticks = ns * mult >> shift`` (u64 product).
    min_delta_ns, max_delta_ns : int
        Programming range in ns (as /proc/timer_list prints it).
    min_delta_ticks, max_delta_ticks : int
        Programming range in device ticks.
    freq : int
        Device tick frequency in Hz.
    """

    mult: int
    shift: int
    min_delta_ns: int
    max_delta_ns: int
    min_delta_ticks: int
    max_delta_ticks: int
    freq: int

    def timer_list_lines(self) -> list[str]:
        """The four conversion lines of a /proc/timer_list device entry.

        Returns
        -------
        list of str
            ``max_delta_ns``, ``min_delta_ns``, ``mult``, ``shift``, each with one
            leading space and the value starting at column 17.
        """
        rows = (("max_delta_ns", self.max_delta_ns), ("min_delta_ns", self.min_delta_ns),
                ("mult", self.mult), ("shift", self.shift))
        return [f" {key + ':':<16}{value}" for key, value in rows]


def clockevents_calc_mult_shift(freq: int, maxsec: int) -> tuple[int, int]:
    """ns -> ticks factors for a device of ``freq`` Hz: mult/shift from NSEC_PER_SEC to ``freq``.

    Parameters
    ----------
    freq : int
        Device frequency, Hz (u32).
    maxsec : int
        Longest interval that must convert without overflow, seconds (u32).

    Returns
    -------
    (int, int)
        ``(mult, shift)``.

    Raises
    ------
    ValueError
        See :func:`clocks_calc_mult_shift`.
    """
    return clocks_calc_mult_shift(NSEC_PER_SEC, freq, maxsec)


def cev_delta2ns(latch: int, mult: int, shift: int, ismax: bool) -> int:
    """Convert a tick count to ns for a device's programming limits.

    Parameters
    ----------
    latch : int
        Tick count (u64).
    mult, shift : int
        The device's ns -> ticks factors.  ``mult == 0`` is treated as 1, which
        is what the kernel falls back to (with a warning) to avoid dividing by 0.
    ismax : bool
        True for the upper limit: on devices faster than 1 GHz (``mult >
        2**shift``) the result is then rounded down so that converting it back
        never exceeds ``latch``.

    Returns
    -------
    int
        ns, at least 1000: ``latch << shift`` saturates at ``2**64 - 1`` on
        overflow, is rounded up (``+ mult - 1``) when that cannot overflow and
        the max rule allows, is divided by ``mult``, and is floored at 1 us.
    """
    clc = (latch << shift) & M64
    if clc >> shift != latch:
        clc = M64
    if mult == 0:
        mult = 1
    rnd = mult - 1
    # The kernel's guard is a strict "room > rnd", so a sum landing exactly on
    # 2**64 - 1 is not rounded either.
    if M64 - clc > rnd and (not ismax or mult <= 1 << shift):
        clc += rnd
    return max(clc // mult, CLOCKEVENT_MIN_NS)


def clockevent_delta2ns(latch: int, mult: int, shift: int) -> int:
    """The exported ``clockevent_delta2ns``: :func:`cev_delta2ns` with ``ismax=False``.

    Parameters
    ----------
    latch, mult, shift : int
        As for :func:`cev_delta2ns`.

    Returns
    -------
    int
        ns, at least 1000.
    """
    return cev_delta2ns(latch, mult, shift, False)


def clockevents_config(freq: int, min_ticks: int, max_ticks: int) -> ClockeventParams:
    """What ``clockevents_config`` derives for a oneshot device of ``freq`` Hz.

    Parameters
    ----------
    freq : int
        Tick frequency, Hz (u32, > 0).
    min_ticks, max_ticks : int
        Programming limits in ticks (u64, ``min_ticks <= max_ticks``).

    Returns
    -------
    ClockeventParams

    Raises
    ------
    ValueError
        If ``freq`` is 0 or not a u32, a tick limit is not a u64, or
        ``min_ticks > max_ticks``.
    """
    _check_positive("freq", freq, 32)
    _check_uint("min_ticks", min_ticks, 64)
    _check_uint("max_ticks", max_ticks, 64)
    if min_ticks > max_ticks:
        raise ValueError(f"min_ticks={min_ticks} > max_ticks={max_ticks}")
    sec = max_ticks // freq
    if sec == 0:
        sec = 1
    elif sec > MAX_UPDATE_LENGTH_SEC and max_ticks > M32:
        sec = MAX_UPDATE_LENGTH_SEC
    mult, shift = clockevents_calc_mult_shift(freq, sec)
    return ClockeventParams(mult=mult, shift=shift,
                            min_delta_ns=cev_delta2ns(min_ticks, mult, shift, False),
                            max_delta_ns=cev_delta2ns(max_ticks, mult, shift, True),
                            min_delta_ticks=min_ticks, max_delta_ticks=max_ticks, freq=freq)


def clockevent_ticks(delta_ns: int, min_delta_ns: int, max_delta_ns: int, mult: int, shift: int) -> int:
    """Ticks the core programs for a relative expiry ``delta_ns`` (> 0).

    Parameters
    ----------
    delta_ns : int
        ``expires - now`` in ns.
    min_delta_ns, max_delta_ns : int
        The device's limits; ``delta_ns`` is clamped into them first.
    mult, shift : int
        The device's ns -> ticks factors.

    Returns
    -------
    int
        ``(clamped * mult) >> shift`` with a u64 product.
    """
    clamped = max(min(delta_ns, max_delta_ns), min_delta_ns)
    return ((clamped * mult) & M64) >> shift


def increase_min_delta(min_delta_ns: int, hz: int) -> int | None:
    """The next ``min_delta_ns`` after three failed forced programmings (MIN_ADJUST).

    Parameters
    ----------
    min_delta_ns : int
        Current minimum.
    hz : int
        ``CONFIG_HZ``; the limit is one jiffy, ``NSEC_PER_SEC // hz``.

    Returns
    -------
    int or None
        5000 if below 5 us, otherwise +50 % (``+= x >> 1``), clamped to the
        limit; None when the minimum already reached the limit (the kernel logs
        ``CE: Reprogramming failure. Giving up``).

    Raises
    ------
    ValueError
        If ``hz`` is not a positive integer.
    """
    _check_positive("hz", hz, 32)
    limit = NSEC_PER_SEC // hz
    if min_delta_ns >= limit:
        return None
    if min_delta_ns < MIN_DELTA_FLOOR_NS:
        grown = MIN_DELTA_FLOOR_NS
    else:
        grown = min_delta_ns + (min_delta_ns >> 1)
    return min(grown, limit)


# ------------------------------------------------------------ x86 timer devices

def div_sc(ticks: int, nsec: int, shift: int) -> int:
    """``div_sc``: the mult converting ns to ``ticks``-per-``nsec`` units, ``(ticks << shift) // nsec``.

    Parameters
    ----------
    ticks, nsec : int
        A rate as ticks per ``nsec`` nanoseconds (``nsec`` > 0).
    shift : int
        Fixed-point shift.

    Returns
    -------
    int
        The u64 quotient.
    """
    if nsec <= 0:
        raise ValueError(f"nsec={nsec}; must be > 0")
    return ((ticks << shift) & M64) // nsec


def lapic_mult(bus_hz: int, hz: int) -> int:
    """The LAPIC timer's clockevent mult (shift 32) for a bus clock and HZ.

    Calibration yields ``lapic_timer_period`` = bus clocks per jiffy; the timer
    counts at bus/16, so mult = ``div_sc(period // 16, TICK_NSEC, 32)``.

    Parameters
    ----------
    bus_hz : int
        APIC bus (timer input) clock, Hz.
    hz : int
        ``CONFIG_HZ``.

    Returns
    -------
    int
        mult (u32); 26 843 545 for a 100 MHz bus.

    Raises
    ------
    ValueError
        If ``bus_hz`` gives less than one timer count per jiffy, or a mult
        that does not fit u32 (a timer faster than ~1 GHz).
    """
    _check_positive("bus_hz", bus_hz, 64)
    _check_positive("hz", hz, 32)
    period = bus_hz // hz
    if period // APIC_DIVISOR == 0:
        raise ValueError(f"bus_hz={bus_hz} hz={hz}: less than one APIC timer count per jiffy")
    mult = div_sc(period // APIC_DIVISOR, tick_nsec(hz), 32)
    if mult > M32:
        raise ValueError(f"bus_hz={bus_hz}: APIC timer faster than 1 GHz, mult {mult} does not fit u32")
    return mult


def lapic_clockevent(bus_hz: int, hz: int) -> ClockeventParams:
    """The ``lapic`` clock event device (divide-by-16, 0xF..0x7FFFFFFF ticks).

    The LAPIC driver sets mult itself (:func:`lapic_mult`, shift 32) rather than
    via ``clockevents_config``.  With shift 32 and a u32 mult, ``mult <=
    2**shift`` always holds, so the ismax rounding rule cannot change the max.

    Parameters
    ----------
    bus_hz : int
        APIC bus clock, Hz.
    hz : int
        ``CONFIG_HZ`` (mult depends on it only through rounding).

    Returns
    -------
    ClockeventParams
        For 100 MHz: mult 26 843 545, min 2401 ns, max 343 597 391 201 ns.

    Raises
    ------
    ValueError
        See :func:`lapic_mult`.
    """
    mult = lapic_mult(bus_hz, hz)
    shift = 32
    return ClockeventParams(mult=mult, shift=shift,
                            min_delta_ns=cev_delta2ns(0xF, mult, shift, False),
                            max_delta_ns=cev_delta2ns(0x7FFFFFFF, mult, shift, True),
                            min_delta_ticks=0xF, max_delta_ticks=0x7FFFFFFF,
                            freq=(bus_hz // hz) // APIC_DIVISOR * hz)


def lapic_deadline_clockevent(tsc_khz: int) -> ClockeventParams:
    """The ``lapic-deadline`` device: TSC-deadline mode, one tick = 8 TSC cycles.

    Parameters
    ----------
    tsc_khz : int
        TSC frequency in kHz as the kernel calibrated it.

    Returns
    -------
    ClockeventParams
        ``clockevents_config(tsc_khz * 125, 0xF, 2**64 - 1)``; for 2 445 406 kHz
        mult 10 256 776, shift 25, min 1000, max 1 798 493 412 911 ns.

    Raises
    ------
    ValueError
        If the frequency is 0 or does not fit u32.
    """
    return clockevents_config(tsc_khz * (1000 // TSC_DIVISOR), 0xF, M64)


def pit_clockevent() -> ClockeventParams:
    """The i8253 ``pit`` clock event device (1 193 182 Hz, 0xF..0x7FFF ticks).

    Returns
    -------
    ClockeventParams
        mult 5 124 678, shift 32, min 12 572 ns, max 27 461 861 ns.
    """
    return clockevents_config(PIT_TICK_RATE, 0xF, 0x7FFF)


def hpet_freq_from_period(period_fs: int) -> int:
    """HPET counter frequency from its PERIOD register: ``10**15 // period_fs``.

    Parameters
    ----------
    period_fs : int
        Femtoseconds per tick; the kernel accepts 10**5..10**8 (10 GHz..10 MHz).

    Returns
    -------
    int
        Hz, rounded down (69 841 279 fs -> 14 318 179 Hz).

    Raises
    ------
    ValueError
        If ``period_fs`` is outside 10**5..10**8 (the kernel disables the HPET).
    """
    if not isinstance(period_fs, int) or not 10**5 <= period_fs <= 10**8:
        raise ValueError(f"period_fs={period_fs!r}; the HPET period must be 100000..100000000 fs")
    return 10**15 // period_fs


def hpet_period_fs(hz: int) -> int:
    """The PERIOD register value of an HPET running at ``hz``: ``10**15 // hz``.

    Parameters
    ----------
    hz : int
        Counter frequency, > 0.

    Returns
    -------
    int
        Femtoseconds per tick, rounded down.

    Raises
    ------
    ValueError
        If ``hz`` is not positive.
    """
    _check_positive("hz", hz, 64)
    return 10**15 // hz


def hpet_clockevent(hpet_hz: int) -> ClockeventParams:
    """The legacy ``hpet`` clock event device (192..0x7FFFFFFF cycles).

    Parameters
    ----------
    hpet_hz : int
        HPET frequency, Hz.

    Returns
    -------
    ClockeventParams
        At 14 318 179 Hz: mult 61 496 111, shift 32, min 13 410, max 149 983 013 277 ns.

    Raises
    ------
    ValueError
        If ``hpet_hz`` is 0 or not a u32.
    """
    return clockevents_config(hpet_hz, HPET_MIN_PROG_DELTA, 0x7FFFFFFF)



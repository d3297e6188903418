"""The kernel's timekeeping arithmetic, reproduced exactly in Python integers.

Everything here is a plain function of integers that mirrors what Linux computes
for clocksources (counter cycles -> ns), clock event devices (ns -> device
ticks), the tick constants derived from ``HZ`` and the paravirtual clocks of KVM,
Xen and Hyper-V.  Python integers never overflow, so every place where the
kernel works in a fixed-width unsigned type masks explicitly: ``& M64`` for u64,
``& M32`` for u32.  That wrap/truncation is part of the behaviour being modelled
(max_cycles exists *because* ``cycles * mult`` wraps), so it is never skipped.

All formulas are written from the descriptions in ``domain.md`` (sections 1.3-1.6,
1.10, 2.2-2.3, 2.5, 5.2-5.4, 6c, 6d); section 11 lists the values the tests pin.
Functions raise ``ValueError`` for arguments the kernel could never be given
(zero frequencies, widths outside u32/u64); user-facing validation with flag
names happens at the CLI edge.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

NSEC_PER_SEC = 1_000_000_000
NSEC_PER_USEC = 1_000
M64 = (1 << 64) - 1
M32 = (1 << 32) - 1

PIT_TICK_RATE = 1_193_182        # i8254 input clock, Hz
ACPI_PM_HZ = 3_579_545           # PMTMR_TICKS_PER_SEC
HPET_MIN_CYCLES = 128            # comparator must lead the counter by this much
HPET_MIN_PROG_DELTA = HPET_MIN_CYCLES + (HPET_MIN_CYCLES >> 1)
TSC_DIVISOR = 8                  # one lapic-deadline tick = 8 TSC cycles
APIC_DIVISOR = 16                # Linux programs TDCR for divide-by-16

#: Longest a registration-time conversion factor is sized for (seconds).
MAX_UPDATE_LENGTH_SEC = 600
#: ``WATCHDOG_THRESHOLD`` of 5.x/6.x kernels: NSEC_PER_SEC >> 5 = 31.25 ms.
WATCHDOG_THRESHOLD_NS = NSEC_PER_SEC >> 5
#: ``WATCHDOG_MAX_SKEW`` of 6.3+ kernels: 125 * WATCHDOG_INTERVAL / HZ us = 62 us
#: for every even HZ (5.13-6.2 used 100 us; pass ``max_skew_ns`` to model those).
WATCHDOG_MAX_SKEW_NS = 62 * NSEC_PER_USEC
#: Smallest clockevent interval the core will program ("deltas < 1 us are noise").
CLOCKEVENT_MIN_NS = 1_000
#: First step of the min_delta_ns growth when a device keeps failing.
MIN_DELTA_FLOOR_NS = 5_000


def _check_uint(name: str, value: int, bits: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value >> bits:
        raise ValueError(f"{name}={value!r} is not a u{bits} (allowed 0..{(1 << bits) - 1})")


def _check_positive(name: str, value: int, bits: int) -> None:
    _check_uint(name, value, bits)
    if value == 0:
        raise ValueError(f"{name}=0; must be 1..{(1 << bits) - 1}")


# ---------------------------------------------------------------- HZ constants

def tick_nsec(hz: int) -> int:
    """Length of one tick in ns, ``TICK_NSEC`` (rounded to nearest).

    Parameters
    ----------
    hz : int
        ``CONFIG_HZ`` (ticks per second), > 0.

    Returns
    -------
    int
        ``floor((NSEC_PER_SEC + hz/2) / hz)``; 4 000 000 at HZ=250.

    Raises
    ------
    ValueError
        If ``hz`` is not a positive integer.
    """
    _check_positive("hz", hz, 32)
    return (NSEC_PER_SEC + hz // 2) // hz


def pit_latch(hz: int) -> int:
    """PIT reload count for one tick, ``LATCH`` (rounded to nearest).

    Parameters
    ----------
    hz : int
        ``CONFIG_HZ``, > 0.

    Returns
    -------
    int
        ``floor((PIT_TICK_RATE + hz/2) / hz)``; 1193 at HZ=1000, so the PIT's
        tick is ~153 ppm shorter than 1 ms.

    Raises
    ------
    ValueError
        If ``hz`` is not a positive integer.
    """
    _check_positive("hz", hz, 32)
    return (PIT_TICK_RATE + hz // 2) // hz


def jiffies_shift(hz: int) -> int:
    """``JIFFIES_SHIFT``: 6 below HZ 34, 7 below HZ 67, else 8.

    Smaller HZ means a longer tick (bigger mult), so fewer shift bits fit in u32.

    Parameters
    ----------
    hz : int
        ``CONFIG_HZ``, > 0.

    Returns
    -------
    int
        The shift used by the jiffies clocksources.

    Raises
    ------
    ValueError
        If ``hz`` is not a positive integer.
    """
    _check_positive("hz", hz, 32)
    if hz < 34:
        return 6
    if hz < 67:
        return 7
    return 8


def initial_jiffies(hz: int) -> int:
    """``INITIAL_JIFFIES``: jiffies at boot, ``(u32)(-300 * HZ)``.

    The kernel starts jiffies five minutes before its 32-bit wrap so that wrap
    bugs show up early instead of after 49 days.

    Parameters
    ----------
    hz : int
        ``CONFIG_HZ``, > 0.

    Returns
    -------
    int
        4 294 892 296 at HZ=250.

    Raises
    ------
    ValueError
        If ``hz`` is not a positive integer.
    """
    _check_positive("hz", hz, 32)
    return (-300 * hz) & M32


# ------------------------------------------------------------ mult/shift core

def clocks_calc_mult_shift(from_hz: int, to_hz: int, maxsec: int) -> tuple[int, int]:
    """Pick ``(mult, shift)`` so that ``x * mult >> shift`` converts ``from_hz`` to ``to_hz`` units.

    The multiplier is made as precise as possible (largest shift, starting at 32)
    while still letting ``maxsec`` seconds' worth of input (``maxsec * from_hz``)
    be multiplied by it without leaving 64 bits.

    Parameters
    ----------
    from_hz : int
        Input rate (counter Hz for a clocksource; NSEC_PER_SEC for a clockevent), u32, > 0.
    to_hz : int
        Output rate (NSEC_PER_SEC / scale for a clocksource; device Hz for a clockevent), u32.
    maxsec : int
        Longest conversion range that must not overflow, in seconds, u32.

    Returns
    -------
    (int, int)
        ``mult`` (u32) and ``shift`` (0..32).  When no shift in 32..1 gives a
        small enough multiplier the kernel's loop falls out with ``shift = 0``
        while ``mult`` still holds the sft=1 candidate (truncated to u32, as
        the kernel stores it in a u32) — that quirk is reproduced.

    Raises
    ------
    ValueError
        If an argument is not a u32 or ``from_hz`` is 0.
    """
    _check_positive("from_hz", from_hz, 32)
    _check_uint("to_hz", to_hz, 32)
    _check_uint("maxsec", maxsec, 32)
    # Bits needed to hold maxsec seconds of input, beyond the low 32.
    sftacc = 32 - (maxsec * from_hz >> 32).bit_length()
    mult, shift = 0, 0
    for sft in range(32, 0, -1):
        mult = ((to_hz << sft) + from_hz // 2) // from_hz
        if mult >> sftacc == 0:
            shift = sft
            break
    return mult & M32, shift


# ---------------------------------------------------------------- clocksource

@dataclass(frozen=True)
class ClocksourceParams:
    """A registered clocksource's conversion and deferment parameters.

    Attributes
    ----------
    name : str
        Clocksource name as in dmesg (``tsc``, ``kvm-clock``, ``jiffies``).
    rating : int
        Selection priority.
    mask : int
        ``2**bits - 1``.
    mult, shift : int
        ``ns = cycles * mult >> shift`` (u64 product).
    maxadj : int
        Largest NTP adjustment of ``mult`` (11 %).
    max_cycles : int
        Largest delta that converts without u64 overflow, clamped to ``mask``.
    max_idle_ns : int
        Longest NOHZ may defer timekeeping updates.
    freq : int
        Frequency as registered (Hz when ``scale`` is 1, kHz when 1000), 0 when
        mult/shift were preset.
    scale : int
        1 (registered in Hz) or 1000 (in kHz).
    flags : frozenset of str
        Symbolic flags, e.g. ``{"CONTINUOUS", "MUST_VERIFY", "VALID_FOR_HRES"}``.
    uncertainty_margin : int
        Watchdog tolerance contribution in ns (5.13+).
    """

    name: str
    rating: int
    mask: int
    mult: int
    shift: int
    maxadj: int
    max_cycles: int
    max_idle_ns: int
    freq: int
    scale: int
    flags: frozenset
    uncertainty_margin: int

    @property
    def max_raw_delta(self) -> int:
        """Masked delta above which 6.13+ kernels see a small backwards step: ``mask * 7/8``."""
        return (self.mask >> 1) + (self.mask >> 2) + (self.mask >> 3)

    def dmesg_line(self) -> str:
        """The line the kernel logs at registration (4.1+), without timestamp.

        Returns
        -------
        str
            ``clocksource: NAME: mask: 0x... max_cycles: 0x..., max_idle_ns: N ns``
            with lower-case unpadded hex, exactly as printed by the kernel.
        """
        return (f"clocksource: {self.name}: mask: 0x{self.mask:x} max_cycles: 0x{self.max_cycles:x}, "
                f"max_idle_ns: {self.max_idle_ns} ns")


def clocksource_max_adjustment(mult: int) -> int:
    """``maxadj``: 11 % of ``mult``, rounded down.

    Parameters
    ----------
    mult : int
        Clocksource multiplier (u32).

    Returns
    -------
    int
        ``floor(mult * 11 / 100)``.
    """
    return mult * 11 // 100


def clocks_calc_max_nsecs(mult: int, shift: int, maxadj: int, mask: int) -> tuple[int, int]:
    """Longest idle time and the largest safe cycle delta (4.1+ kernels).

    Parameters
    ----------
    mult, shift : int
        Clocksource conversion factors.
    maxadj : int
        NTP adjustment bound; the cycle limit uses ``mult + maxadj`` (largest
        possible multiplier) and the time uses ``mult - maxadj`` (smallest), so
        neither a fast nor a slow NTP correction can break the bound.
    mask : int
        Counter mask.

    Returns
    -------
    (int, int)
        ``(max_nsecs >> 1, max_cycles)``: the halved (50 % safety margin) ns
        value that becomes ``max_idle_ns``, and ``max_cycles``.

    Raises
    ------
    ValueError
        If ``mult + maxadj`` is 0 or ``maxadj > mult``.
    """
    if maxadj > mult or mult + maxadj == 0:
        raise ValueError(f"mult={mult} maxadj={maxadj}: need 0 <= maxadj <= mult and mult > 0")
    max_cycles = min(M64 // ((mult + maxadj) & M32), mask)
    max_nsecs = clocksource_cyc2ns(max_cycles, mult - maxadj, shift)
    return max_nsecs >> 1, max_cycles


def clocks_calc_max_nsecs_legacy(mult: int, shift: int, maxadj: int, mask: int) -> tuple[int, int]:
    """Idle limit as kernels 2.6.33 to 4.0 computed it (``clocksource_max_deferment``).

    Those kernels bounded the cycles by a power of two below ``2**63 / (mult +
    maxadj)`` (one extra bit of headroom for log2 rounding) and kept 7/8 of the
    resulting time (a 12.5 % margin).  2.6.33-2.6.39 had no ``maxadj``: pass 0.
    No dmesg line shows the result (the line appeared in 4.1).

    Parameters
    ----------
    mult, shift, maxadj, mask : int
        As for :func:`clocks_calc_max_nsecs`.

    Returns
    -------
    (int, int)
        ``(max_nsecs - max_nsecs // 8, max_cycles)``.

    Raises
    ------
    ValueError
        If ``mult + maxadj`` is 0 or ``maxadj > mult``.
    """
    if maxadj > mult or mult + maxadj == 0:
        raise ValueError(f"mult={mult} maxadj={maxadj}: need 0 <= maxadj <= mult and mult > 0")
    ilog2 = ((mult + maxadj) & M32).bit_length() - 1
    max_cycles = min(1 << (63 - (ilog2 + 1)), mask)
    max_nsecs = clocksource_cyc2ns(max_cycles, mult - maxadj, shift)
    return max_nsecs - (max_nsecs >> 3), max_cycles


def clocksource_register(name: str, freq: int, mask_bits: int, *, scale: int = 1, rating: int = 0,
                         flags: Iterable[str] = (), mult: int = 0, shift: int = 0,
                         uncertainty_margin: int = 0,
                         max_skew_ns: int = WATCHDOG_MAX_SKEW_NS) -> ClocksourceParams:
    """Register a clocksource: what ``__clocksource_update_freq_scale`` computes.

    Parameters
    ----------
    name : str
        Clocksource name.
    freq : int
        Frequency in Hz (``scale=1``) or kHz (``scale=1000``), u32.  0 keeps the
        preset ``mult``/``shift`` (the jiffies clocksources do this).
    mask_bits : int
        Counter width, 1..64.
    scale : int, optional
        1 (``clocksource_register_hz``) or 1000 (``clocksource_register_khz``).
    rating : int, optional
        Selection priority (stored only).
    flags : iterable of str, optional
        Symbolic flags (stored only).
    mult, shift : int, optional
        Preset conversion, used when ``freq`` is 0.
    uncertainty_margin : int, optional
        Preset watchdog margin in ns (e.g. 32 ms for tsc-early); 0 derives it.
    max_skew_ns : int, optional
        ``WATCHDOG_MAX_SKEW`` of the modelled kernel, the floor of a derived margin.

    Returns
    -------
    ClocksourceParams

    Raises
    ------
    ValueError
        If ``mask_bits`` is outside 1..64, ``scale`` is not 1 or 1000, ``freq``
        is not a u32, or ``freq`` is 0 and no preset ``mult`` is given.
    """
    if not 1 <= mask_bits <= 64:
        raise ValueError(f"mask_bits={mask_bits!r}; allowed 1..64")
    if scale not in (1, 1000):
        raise ValueError(f"scale={scale!r}; allowed 1 (Hz) or 1000 (kHz)")
    _check_uint("freq", freq, 32)
    mask = (1 << mask_bits) - 1
    if freq:
        sec = mask // freq // scale
        if sec == 0:
            sec = 1
        elif sec > MAX_UPDATE_LENGTH_SEC and mask > M32:
            # Only wide counters are capped: a 32-bit counter keeps its true wrap
            # time so its mult stays sized for the whole range.
            sec = MAX_UPDATE_LENGTH_SEC
        mult, shift = clocks_calc_mult_shift(freq, NSEC_PER_SEC // scale, (sec * scale) & M32)
    elif mult == 0:
        raise ValueError(f"clocksource {name!r}: freq=0 needs a preset mult")
    _check_uint("mult", mult, 32)

    if uncertainty_margin == 0:
        if freq:
            uncertainty_margin = max(NSEC_PER_SEC // (scale * freq), 2 * max_skew_ns)
        else:
            uncertainty_margin = WATCHDOG_THRESHOLD_NS

    maxadj = clocksource_max_adjustment(mult)
    # NTP must be able to move mult by maxadj either way without leaving u32;
    # give up precision (one shift bit at a time) until it can.
    while freq and (mult + maxadj > M32 or mult - maxadj < 0):
        mult >>= 1
        shift -= 1
        maxadj = clocksource_max_adjustment(mult)

    max_idle_ns, max_cycles = clocks_calc_max_nsecs(mult, shift, maxadj, mask)
    return ClocksourceParams(name=name, rating=rating, mask=mask, mult=mult, shift=shift, maxadj=maxadj,
                             max_cycles=max_cycles, max_idle_ns=max_idle_ns, freq=freq, scale=scale,
                             flags=frozenset(flags), uncertainty_margin=uncertainty_margin)


def jiffies_clocksource(hz: int) -> ClocksourceParams:
    """The ``jiffies`` clocksource (rating 1): one count per tick, preset mult/shift.

    Parameters
    ----------
    hz : int
        ``CONFIG_HZ``.

    Returns
    -------
    ClocksourceParams
        ``mult = TICK_NSEC << JIFFIES_SHIFT``, 32-bit mask, registered with freq 0.

    Raises
    ------
    ValueError
        If ``hz`` is not a positive integer.
    """
    sft = jiffies_shift(hz)
    return clocksource_register("jiffies", 0, 32, rating=1, mult=(tick_nsec(hz) << sft) & M32, shift=sft)


def refined_jiffies_clocksource(hz: int, rate: int = PIT_TICK_RATE) -> ClocksourceParams:
    """The ``refined-jiffies`` clocksource (rating 2): jiffies timed by the PIT's real period.

    A PIT-driven tick lasts ``LATCH / rate`` seconds, not ``1/HZ``; this source
    uses that true length so timekeeping on a PIT tick does not drift.

    Parameters
    ----------
    hz : int
        ``CONFIG_HZ``.
    rate : int, optional
        Tick source frequency, ``CLOCK_TICK_RATE`` (the PIT's on x86).

    Returns
    -------
    ClocksourceParams

    Raises
    ------
    ValueError
        If ``hz`` or ``rate`` is not a positive integer.
    """
    sft = jiffies_shift(hz)
    _check_positive("rate", rate, 32)
    cycles_per_tick = (rate + hz // 2) // hz
    if cycles_per_tick == 0:
        raise ValueError(f"rate={rate} hz={hz}: rate must be at least hz/2")
    # The effective HZ (<< 8 for precision) of a tick that lasts cycles_per_tick counts.
    shift_hz = (((rate << 8) + cycles_per_tick // 2) // cycles_per_tick) & M32
    nsec_per_tick = ((NSEC_PER_SEC << 8) + shift_hz // 2) // shift_hz
    return clocksource_register("refined-jiffies", 0, 32, rating=2,
                                mult=((nsec_per_tick & M32) << sft) & M32, shift=sft)


def clocksource_cyc2ns(cycles: int, mult: int, shift: int) -> int:
    """Convert a cycle delta to ns: ``(cycles * mult) >> shift`` with a u64 product.

    Parameters
    ----------
    cycles : int
        Counter delta (u64).
    mult, shift : int
        Clocksource conversion factors.

    Returns
    -------
    int
        Nanoseconds; wrong (wrapped) when ``cycles`` exceeds ``max_cycles``,
        exactly as in the kernel.
    """
    return ((cycles * mult) & M64) >> shift


def clocksource_delta(now: int, last: int, mask: int, max_raw_delta: int | None = None) -> int:
    """Cycles elapsed between two counter reads, across a counter wrap.

    Parameters
    ----------
    now, last : int
        Counter values.
    mask : int
        Counter mask.
    max_raw_delta : int, optional
        6.13+ behaviour: a masked delta above this is a small backwards step
        ("negative motion") and reads as 0.  None models older kernels.

    Returns
    -------
    int
        ``(now - last) & mask`` (or 0, see ``max_raw_delta``).
    """
    delta = (now - last) & mask
    if max_raw_delta is not None and delta > max_raw_delta:
        return 0
    return delta


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


# -------------------------------------------------------------- KVM/Xen pvclock

def kvm_get_time_scale(base_hz: int, scaled_hz: int = NSEC_PER_SEC) -> tuple[int, int]:
    """Host-side pvclock factors turning ``base_hz`` ticks into ``scaled_hz`` units.

    The shift pre-scales the TSC delta so that the 32-bit fraction ``mul / 2**32``
    is in [0.5, 1): first halve the base until it is at most twice the target
    and fits 32 bits, then keep doubling the base (or halving the target while it
    does not fit 32 bits, or the base would lose its top bit) until the base
    exceeds the target.

    Parameters
    ----------
    base_hz : int
        TSC frequency, Hz (u64, > 0).
    scaled_hz : int, optional
        Target units per second (ns by default).

    Returns
    -------
    (int, int)
        ``(mul, shift)``: ``mul`` is u32, ``shift`` is a signed byte (negative
        means shift the delta right).  3 GHz -> (0xAAAAAAAA, -1).

    Raises
    ------
    ValueError
        If an argument is 0 or not a u64.
    """
    _check_positive("base_hz", base_hz, 64)
    _check_positive("scaled_hz", scaled_hz, 64)
    tps64, scaled64, shift = base_hz, scaled_hz, 0
    while tps64 > scaled64 * 2 or tps64 >> 32:
        tps64 >>= 1
        shift -= 1
    tps32 = tps64 & M32
    while tps32 <= scaled64 or scaled64 >> 32:
        if scaled64 >> 32 or tps32 & 0x80000000:
            scaled64 >>= 1
        else:
            tps32 <<= 1
        shift += 1
    return (scaled64 << 32) // tps32, shift


def pvclock_scale_delta(delta: int, mul: int, shift: int) -> int:
    """Scale a TSC delta by a pvclock ``(mul, shift)`` pair.

    Parameters
    ----------
    delta : int
        TSC cycles (u64).
    mul : int
        32-bit binary fraction (u32).
    shift : int
        Signed pre-shift; bits shifted out of 64 are lost, as in the kernel.

    Returns
    -------
    int
        ``(shifted_delta * mul) >> 32`` from the full 96-bit product, truncated to u64.
    """
    d = (delta << shift) & M64 if shift >= 0 else (delta & M64) >> -shift
    return ((d * mul) >> 32) & M64


def pvclock_tsc_khz(mul: int, shift: int) -> int:
    """The guest's TSC kHz recovered from pvclock factors (inverse of :func:`kvm_get_time_scale`).

    Parameters
    ----------
    mul : int
        ``tsc_to_system_mul`` (> 0).
    shift : int
        ``tsc_shift``.

    Returns
    -------
    int
        ``floor(10**6 * 2**32 / mul)`` shifted left by ``-shift`` (or right by ``shift``).

    Raises
    ------
    ValueError
        If ``mul`` is 0.
    """
    _check_positive("mul", mul, 32)
    khz = (1_000_000 << 32) // mul
    return (khz << -shift) & M64 if shift < 0 else khz >> shift


def pvclock_read(system_time: int, tsc_timestamp: int, tsc: int, mul: int, shift: int) -> int:
    """A guest's pvclock time for a TSC reading.

    Parameters
    ----------
    system_time : int
        Host ns at ``tsc_timestamp``.
    tsc_timestamp : int
        Guest TSC when the host last updated the record.
    tsc : int
        Guest TSC now.
    mul, shift : int
        Record's scale factors.

    Returns
    -------
    int
        ``system_time + scale_delta(tsc - tsc_timestamp)``, all u64 (a TSC behind
        the timestamp wraps to a huge delta, as in the kernel).
    """
    return (system_time + pvclock_scale_delta((tsc - tsc_timestamp) & M64, mul, shift)) & M64


PVCLOCK_TSC_STABLE_BIT = 1 << 0
PVCLOCK_GUEST_STOPPED = 1 << 1
PVCLOCK_COUNTS_FROM_ZERO = 1 << 2


@dataclass(frozen=True)
class PvclockRecord:
    """The time fields of ``struct pvclock_vcpu_time_info`` (the version travels separately).

    Attributes
    ----------
    tsc_timestamp : int
        Guest TSC at the last host update.
    system_time : int
        ns at ``tsc_timestamp``.
    tsc_to_system_mul : int
        u32 fraction.
    tsc_shift : int
        Signed pre-shift.
    flags : int
        ``PVCLOCK_*`` bits.
    """

    tsc_timestamp: int
    system_time: int
    tsc_to_system_mul: int
    tsc_shift: int
    flags: int = 0

    def read(self, tsc: int) -> int:
        """ns for a guest TSC value, see :func:`pvclock_read`."""
        return pvclock_read(self.system_time, self.tsc_timestamp, tsc, self.tsc_to_system_mul, self.tsc_shift)


def pvclock_read_retry(read_snapshot: Callable[[], tuple], read_tsc: Callable[[], int] | None = None,
                       *, max_retries: int = 1_000_000) -> tuple[int, int]:
    """Read a pvclock with the version protocol: retry while odd or changed.

    The host makes ``version`` odd before it rewrites the record and even after.
    The guest reads the version, the fields and the TSC, then the version again;
    the read is good only if the first version was even and both agree.

    Parameters
    ----------
    read_snapshot : callable
        Returns ``(version, record)`` (a :class:`PvclockRecord`) as the guest
        sees shared memory at that instant, or ``(version, record, tsc)`` when
        the snapshot carries its own TSC sample.  Called twice per attempt.
    read_tsc : callable, optional
        Returns the guest TSC; sampled between the two snapshots (the guest's
        rdtsc follows its field reads).  Required for two-element snapshots.
    max_retries : int, optional
        Bound on retries; exceeding it means the host never finished an update.

    Returns
    -------
    (int, int)
        ``(ns, retries)``: the time from the consistent attempt and how many
        attempts were thrown away.

    Raises
    ------
    TypeError
        If a two-element snapshot is given without ``read_tsc``.
    RuntimeError
        If no consistent read happened within ``max_retries``.
    """
    for retries in range(max_retries + 1):
        first = read_snapshot()
        version, record = first[0], first[1]
        if len(first) > 2:
            tsc = first[2]
        elif read_tsc is None:
            raise TypeError("read_snapshot returned (version, record): pass read_tsc to sample the TSC")
        else:
            tsc = read_tsc()
        ns = record.read(tsc)
        again = read_snapshot()[0]
        if version & 1 == 0 and version == again:
            return ns, retries
    raise RuntimeError(f"pvclock version never settled after {max_retries} retries")


# --------------------------------------------------------- Hyper-V TSC page

HV_CLOCK_HZ = NSEC_PER_SEC // 100   # the reference counter counts 100 ns units


def hyperv_tsc_scale(tsc_hz: int) -> int:
    """The reference-TSC-page ``tsc_scale`` for a guest TSC of ``tsc_hz``.

    The TLFS defines ``ReferenceTime = ((VirtualTsc * TscScale) >> 64) +
    TscOffset`` in 100 ns units, i.e. ``TscScale / 2**64`` is 100-ns units per
    TSC cycle = ``10**7 / tsc_hz``.  Hence ``TscScale = floor(10**7 * 2**64 /
    tsc_hz)``, rounded down so the reference clock never runs ahead.  It fits
    u64 only for a TSC faster than 10 MHz.

    Parameters
    ----------
    tsc_hz : int
        Guest TSC frequency, Hz (> 10**7, u64).

    Returns
    -------
    int
        ``tsc_scale`` (u64).

    Raises
    ------
    ValueError
        If ``tsc_hz`` is not above 10**7 or not a u64.
    """
    _check_positive("tsc_hz", tsc_hz, 64)
    if tsc_hz <= HV_CLOCK_HZ:
        raise ValueError(f"tsc_hz={tsc_hz}: the TSC must be faster than {HV_CLOCK_HZ} Hz for a u64 scale")
    return (HV_CLOCK_HZ << 64) // tsc_hz


def hyperv_reference_time(tsc: int, scale: int, offset: int = 0) -> int:
    """Hyper-V reference time (100 ns units) from the TSC page: ``((tsc * scale) >> 64) + offset``.

    Parameters
    ----------
    tsc : int
        Guest TSC (u64).
    scale : int
        ``tsc_scale`` (u64).
    offset : int, optional
        ``tsc_offset`` (signed 64-bit); the sum wraps as u64.

    Returns
    -------
    int
        Reference counter value, 100 ns units.
    """
    return (((tsc & M64) * (scale & M64) >> 64) + offset) & M64

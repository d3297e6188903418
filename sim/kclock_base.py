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
from typing import Iterable

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



"""Clocksource registration: what ``__clocksource_update_freq_scale`` computes.

mult/shift sized for the counter's wrap (capped at 600 s for wide counters), the
NTP adjustment bound ``maxadj``, ``max_cycles`` and ``max_idle_ns`` (4.1+ and the
2.6.33-4.0 formula), the watchdog uncertainty margin, and the two jiffies
clocksources with their preset factors.  Part of the kernel math re-exported by
:mod:`tickscope.sim.kclock` (import it from there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from tickscope.sim.kclock_base import (  # shared constants, checks and conversions
    M32,
    M64,
    MAX_UPDATE_LENGTH_SEC,
    NSEC_PER_SEC,
    PIT_TICK_RATE,
    WATCHDOG_MAX_SKEW_NS,
    WATCHDOG_THRESHOLD_NS,
    _check_positive,
    _check_uint,
    clocks_calc_mult_shift,
    clocksource_cyc2ns,
    jiffies_shift,
    tick_nsec,
)


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


def _check_maxadj(mult: int, maxadj: int) -> None:
    if maxadj > mult or mult + maxadj == 0:
        raise ValueError(f"mult={mult} maxadj={maxadj}: need 0 <= maxadj <= mult and mult > 0")


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
    _check_maxadj(mult, maxadj)
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
        As :func:`clocks_calc_max_nsecs`.
    """
    _check_maxadj(mult, maxadj)
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

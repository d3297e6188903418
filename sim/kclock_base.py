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

This module is the shared base of that arithmetic: constants, argument checks,
the HZ constants, ``clocks_calc_mult_shift`` and the counter reads
(``clocksource_cyc2ns``, ``clocksource_delta``).  Registering a clocksource is
:mod:`tickscope.sim.clocksource_registration`; :mod:`tickscope.sim.kclock`
re-exports it all.
"""
from __future__ import annotations

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
#: ``WATCHDOG_MAX_SKEW`` of 6.3+ kernels: ``CONFIG_CLOCKSOURCE_WATCHDOG_MAX_SKEW_US``, whose Kconfig default is 125
#: ("clocksource: Loosen clocksource watchdog constraints", v6.3; kernel/time/Kconfig) and which every x86 build
#: defines (it depends on CLOCKSOURCE_WATCHDOG).  The ``125 * WATCHDOG_INTERVAL / HZ`` = 62 us of clocksource.c is
#: only the ``#else`` for builds without that symbol.  5.14-6.2 defaulted to 100 us; pass ``max_skew_ns`` for those.
WATCHDOG_MAX_SKEW_NS = 125 * NSEC_PER_USEC
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


# ------------------------------------------------------------ timer wheel

#: kernel/time/timer.c (4.8+): each level of the timer wheel has 64 buckets (LVL_BITS) of 8 times the
#: granularity of the level below (LVL_CLK_SHIFT 3); level n takes timers from LVL_START(n) = 63 << 3(n-1)
#: jiffies ahead of the wheel's clock.
WHEEL_LVL_CLK_SHIFT = 3
WHEEL_LVL_START_1 = 63
WHEEL_LEVELS = 8   # LVL_DEPTH at HZ > 100 (9 at HZ <= 100: a level that starts ~2**24 jiffies ahead)


def timer_wheel_bucket(expires: int, clk: int) -> int:
    """The jiffy at which a ``timer_list`` timer runs: ``calc_wheel_index``'s ``bucket_expiry``.

    The level comes from the distance ``expires - clk`` to the wheel's clock; the expiry is then
    rounded up to that level's granularity, strictly past it (``(expires >> shift) + 1 << shift``),
    so that a timer never runs early: a level-0 timer runs one jiffy after *expires*, the clocksource
    watchdog's 125 jiffies at HZ=250 (level 1, 8-jiffy buckets) run 120 or 128 jiffies apart.  An
    expiry already behind *clk* runs at *clk*.  The last level's cut-off (``WHEEL_TIMEOUT_MAX``, weeks
    ahead) is not modelled.

    Parameters
    ----------
    expires : int
        The timer's ``expires``, absolute jiffies.
    clk : int
        The timer base's clock when it is queued (``forward_timer_base``: jiffies then).

    Returns
    -------
    int
        The jiffy whose tick runs it (the bucket's expiry): 128 for ``(125, 0)``, 51 for ``(50, 0)``.
    """
    delta = expires - clk
    if delta < 0:
        return clk
    shift = 0
    while shift < WHEEL_LVL_CLK_SHIFT * (WHEEL_LEVELS - 1) and delta >= WHEEL_LVL_START_1 << shift:
        shift += WHEEL_LVL_CLK_SHIFT
    return ((expires >> shift) + 1) << shift


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


# ------------------------------------------------------------ counter reads

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

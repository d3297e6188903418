"""The shared paravirtual clock library: KVM/Xen pvclock and the Hyper-V reference TSC page.

One implementation of the 128-bit scaling that the 2007 review asked to share; the
simulation's kvm-clock, xen and Hyper-V clocksources use exactly these functions.
Re-exported by :mod:`tickscope.sim.kclock`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from tickscope.sim.kclock_base import (  # shared constants and checks
    M32,
    M64,
    NSEC_PER_SEC,
    _check_positive,
)

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


# The kernel's integer math, in one place (the "common math lives in one shared
# library" rule the product teaches applies to our own code too).
#
# Python's ints are unbounded and floor; C's are fixed and truncate.  Every
# helper here states its domain.  Counter scaling runs on non-negative values
# only (true time t >= 0, counts >= 0), where floor and truncation agree; the
# signed helpers floor like Python for the kernel-time arithmetic.

from libc.stdint cimport int64_t, uint64_t
from ext._types cimport int128, uint128, ns_t, cycles_t, KTIME_MAX


cdef inline int64_t floordiv_i64(int64_t a, int64_t b) noexcept nogil:
    """Python's a // b for b > 0 (C truncates towards zero)."""
    cdef int64_t q = a // b
    if a - q * b < 0:  # truncated towards zero (cdivision): step down to the floor
        q -= 1
    return q


cdef inline uint64_t muldiv_u64(uint64_t x, uint64_t num, uint64_t den, uint64_t fast_max) noexcept nogil:
    """floor(x * num / den) exactly; 64-bit when x <= fast_max (= UINT64_MAX // num), else 128-bit."""
    if x <= fast_max:
        return x * num // den
    return <uint64_t>((<uint128>x * num) // den)


cdef inline uint128 ceil_div_u128(uint128 a, uint64_t b) noexcept nogil:
    """ceil(a / b) for a >= 0, b > 0 (the reference's -(-a // b)); 64-bit division when a fits."""
    cdef uint64_t a64
    if (a >> 64) == 0:
        a64 = <uint64_t>a
        return a64 // b + (1 if a64 % b else 0)
    return a // b + (1 if a % b else 0)


cdef inline ns_t sat_ns(uint128 x) noexcept nogil:
    """Clamp a non-negative 128-bit time to KTIME_MAX.

    Only reachable for expiries far beyond any run (run.until <= 1e14 ns): the
    reference keeps such times as big ints, we keep KTIME_MAX; neither fires.
    """
    if x > <uint128>KTIME_MAX:
        return KTIME_MAX
    return <ns_t>x


cdef inline uint64_t mul_shift_wrap(uint64_t delta, uint64_t mult, unsigned int shift) noexcept nogil:
    """((delta * mult) & M64) >> shift: clockevents' ns -> device ticks, with the kernel's u64 wrap."""
    return (delta * mult) >> shift


cdef inline int64_t cyc2ns(uint64_t cycles, uint64_t mult, unsigned int shift) noexcept nogil:
    """clocksource_cyc2ns without the u64 wrap: the reference accumulates losslessly."""
    return <int64_t>((<uint128>cycles * mult) >> shift)

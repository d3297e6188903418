# splitmix64: the engines' only random source (mirrors sim/reference.py splitmix64).
#
# The draw order is part of the event-log contract: one draw per armed interrupt
# when irq_jitter > 0, nothing else draws.

from libc.stdint cimport uint64_t


cdef inline uint64_t splitmix64_next(uint64_t* state) noexcept nogil:
    """Advance *state* and return the next output (u64 wrap-around is the algorithm)."""
    cdef uint64_t z
    state[0] += 0x9E3779B97F4A7C15ULL
    z = state[0]
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL
    return z ^ (z >> 31)

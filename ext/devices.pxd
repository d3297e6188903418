# Clock event device models: one ops table per hardware kind.
#
# Each function models what the driver's callback makes the hardware do, in the
# hardware's own units, and arms the CPU's interrupt at the exact true time the
# counter reaches the programmed value.  The tick layers (tick.pxd) see only the
# DevOps record; ``device_ops`` is the one place that maps an ops kind to a table
# (the register call, like clockevents_register_device).

from libc.stdint cimport int64_t, uint64_t
from ext._types cimport (ns_t, cycles_t, uint128, ETIME_, HPET_MIN_CYCLES_, STATE_PERIODIC,
                     HW_LAPIC, HW_DEADLINE, HW_HPET, HW_PIT, HW_NS)
from ext.kmath cimport muldiv_div, ceil_div_by, sat_ns
from ext.machine cimport Machine, Slot, Device, DevOps, arm, tsc, tsc_time


cdef inline ns_t _counter_to_ns(const Device* d, uint128 count) noexcept nogil:
    """First true time at which the counter has reached *count*: ceil(count * den / num)."""
    return sat_ns(ceil_div_by(count * d.den, &d.div_num))


cdef inline uint64_t _counter(const Device* d, ns_t t) noexcept nogil:
    """The backing counter at true time t >= 0."""
    return muldiv_div(<uint64_t>t, d.num, &d.div_den)


# -- relative down-counters: LAPIC (bus/16), PIT (1 193 182 Hz) -------------------------------

cdef inline int relative_set_next_event(Machine* m, int slot, ns_t t, uint64_t ticks) noexcept nogil:
    cdef const Device* d = m.slots[slot].dev
    arm(m, slot, sat_ns(<uint128>t + ceil_div_by(<uint128>ticks * d.tick_scale * d.den, &d.div_num)))
    return 0


cdef inline ns_t relative_periodic_fire(Machine* m, int slot, int64_t k) noexcept nogil:
    cdef const Slot* c = &m.slots[slot]
    cdef const Device* d = c.dev
    return sat_ns(<uint128>c.per_t0 + ceil_div_by(<uint128>k * d.periodic_count * d.den, &d.div_num))


# -- TSC deadline: absolute TSC value, 1 device tick = tick_scale TSC cycles ------------------

cdef inline int deadline_set_next_event(Machine* m, int slot, ns_t t, uint64_t ticks) noexcept nogil:
    cdef const Device* d = m.slots[slot].dev
    cdef uint128 target = <uint128>_counter(d, t) + <uint128>ticks * d.tick_scale
    arm(m, slot, _counter_to_ns(d, target))
    return 0


# -- TSC deadline on the (guest) TSC, which a live migration may re-rate ---------------------

cdef inline int tsc_deadline_set_next_event(Machine* m, int slot, ns_t t, uint64_t ticks) noexcept nogil:
    cdef const Device* d = m.slots[slot].dev
    arm(m, slot, tsc_time(m, tsc(m, t) + <int64_t>(ticks * d.tick_scale)))
    return 0


# -- HPET: absolute comparator on the 32-bit main counter, equality match ---------------------

cdef inline int hpet_set_next_event(Machine* m, int slot, ns_t t, uint64_t ticks) noexcept nogil:
    cdef const Device* d = m.slots[slot].dev
    cdef uint64_t now_c = _counter(d, t)
    cdef uint64_t target = now_c + ticks
    # The comparator matches on equality: hpet_clkevt_set_next_event re-reads the counter after the
    # write; if it already passed (or is within HPET_MIN_CYCLES of) the target, the event is lost.
    cdef uint64_t after = now_c if m.hpet_write_delay == 0 else _counter(d, t + m.hpet_write_delay)
    cdef uint64_t diff = (target - after) & 0xFFFFFFFFULL
    if diff >= (1ULL << 31) or diff < HPET_MIN_CYCLES_:
        return -ETIME_
    arm(m, slot, _counter_to_ns(d, <uint128>target))
    return 0


cdef inline ns_t hpet_periodic_fire(Machine* m, int slot, int64_t k) noexcept nogil:
    cdef const Slot* c = &m.slots[slot]
    cdef const Device* d = c.dev
    return _counter_to_ns(d, <uint128>c.per_c0 + <uint128>k * d.periodic_count)


# -- paravirtual: programmed in nanoseconds ---------------------------------------------------

cdef inline int ns_set_next_event(Machine* m, int slot, ns_t t, uint64_t ticks) noexcept nogil:
    arm(m, slot, sat_ns(<uint128>t + ticks))
    return 0


# -- periodic state entry (shared by every device with FEAT_PERIODIC) ------------------------

cdef inline void set_periodic(Machine* m, int slot, ns_t t) noexcept nogil:
    cdef Slot* c = &m.slots[slot]
    cdef const Device* d = c.dev
    c.state = STATE_PERIODIC
    c.per_t0 = t
    c.per_c0 = _counter(d, t)
    c.per_k = 1
    arm(m, slot, d.ops.periodic_fire(m, slot, 1))


cdef inline int device_ops(int hw, bint tsc_based, DevOps* ops) noexcept nogil:
    """Fill *ops* with the table of ops kind *hw*; -1 for an unknown kind."""
    ops.set_periodic = set_periodic
    if hw == HW_LAPIC or hw == HW_PIT:
        ops.set_next_event = relative_set_next_event
        ops.periodic_fire = relative_periodic_fire
    elif hw == HW_DEADLINE:
        ops.set_next_event = tsc_deadline_set_next_event if tsc_based else deadline_set_next_event
        ops.periodic_fire = relative_periodic_fire
    elif hw == HW_HPET:
        ops.set_next_event = hpet_set_next_event
        ops.periodic_fire = hpet_periodic_fire
    elif hw == HW_NS:
        ops.set_next_event = ns_set_next_event
        ops.periodic_fire = relative_periodic_fire
    else:
        return -1
    return 0

# Clock event device models: one set of driver callbacks per hardware kind.
#
# Each function models what the driver's callback makes the hardware do, in the
# hardware's own units, and arms the CPU's interrupt at the exact true time the
# counter reaches the programmed value.  The tick layers (tick.pxi) call only the
# dev_* entry points at the end of this file, as the kernel calls evt->set_next_event;
# ``device_ops`` is the one place that maps a hardware kind to its callbacks (the
# register call, like clockevents_register_device).
#
# The entry points dispatch on Device.ops with a switch rather than through function
# pointers, so that GCC can inline the callback into program_event (on its own this did
# not change the instruction count, 453 per event on the bench; with setup.py's inlining
# limits the whole programming path inlines: 439 per event, 554 on the mixed tick-layer run
# against 582; best of 5 interleaved runs 23.2 vs 22.8 and 14.1 vs 14.0 M events/s).

from libc.stdint cimport int64_t, uint64_t
from ext._types cimport (ns_t, cycles_t, uint128, ETIME_, HPET_MIN_CYCLES_, STATE_PERIODIC,
                     HW_LAPIC, HW_DEADLINE, HW_HPET, HW_PIT, HW_NS)
from ext.kmath cimport muldiv_div, ceil_div_by, sat_ns
from ext.machine cimport Machine, Slot, Device, arm, tsc, tsc_time


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
    arm(m, slot, dev_periodic_fire(m, slot, 1))


cdef enum:
    OPS_RELATIVE = 0        # LAPIC, PIT: relative down-counters
    OPS_DEADLINE = 1        # TSC deadline on the host TSC
    OPS_TSC_DEADLINE = 2    # TSC deadline on the guest TSC (which a migration may re-rate)
    OPS_HPET = 3            # absolute 32-bit comparator
    OPS_NS = 4              # paravirtual, programmed in nanoseconds


cdef inline int device_ops(int hw, bint tsc_based) noexcept nogil:
    """The OPS_* callbacks of hardware kind *hw*; -1 for an unknown kind."""
    if hw == HW_LAPIC or hw == HW_PIT:
        return OPS_RELATIVE
    if hw == HW_DEADLINE:
        return OPS_TSC_DEADLINE if tsc_based else OPS_DEADLINE
    if hw == HW_HPET:
        return OPS_HPET
    if hw == HW_NS:
        return OPS_NS
    return -1


# -- the entry points (evt->set_next_event, evt->set_state_periodic, and the periodic reload) ----

cdef inline int dev_set_next_event(Machine* m, int slot, ns_t t, uint64_t ticks) noexcept nogil:
    """Program a oneshot expiry *ticks* device ticks from true time *t*: 0, or -ETIME."""
    cdef int ops = m.slots[slot].dev.ops
    if ops == OPS_TSC_DEADLINE:
        return tsc_deadline_set_next_event(m, slot, t, ticks)
    if ops == OPS_RELATIVE:
        return relative_set_next_event(m, slot, t, ticks)
    if ops == OPS_HPET:
        return hpet_set_next_event(m, slot, t, ticks)
    if ops == OPS_NS:
        return ns_set_next_event(m, slot, t, ticks)
    return deadline_set_next_event(m, slot, t, ticks)


cdef inline void dev_set_periodic(Machine* m, int slot, ns_t t) noexcept nogil:
    """Enter hardware periodic state at true time *t* (every kind shares it)."""
    set_periodic(m, slot, t)


cdef inline ns_t dev_periodic_fire(Machine* m, int slot, int64_t k) noexcept nogil:
    """True time of the k-th periodic interrupt since set_periodic."""
    if m.slots[slot].dev.ops == OPS_HPET:
        return hpet_periodic_fire(m, slot, k)
    return relative_periodic_fire(m, slot, k)

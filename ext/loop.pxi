# The event loop, included into engine.pyx: pop the earliest queue entry and
# dispatch it, as ReferenceEngine.run_until / _dispatch_event do, without the GIL.


cdef inline void dispatch_device(Machine* m, int slot, ns_t t) noexcept nogil:
    """A device slot's interrupt fires: a periodic device reloads itself, then the interrupt reaches its CPU."""
    cdef Slot* s = &m.slots[slot]
    cdef int64_t k
    cdef int target = slot
    cdef int what = PEND_DEV
    s.fire_at = KTIME_MAX
    if s.state == STATE_PERIODIC:
        # a periodic device reloads itself at the expiry, whoever handles it and when
        k = s.per_k
        s.per_k = k + 1
        s.per_expiry = dev_periodic_fire(m, slot, k)
        arm(m, slot, dev_periodic_fire(m, slot, k + 1))
    if slot == m.bslot:
        target = m.bc_cpu
        what = PEND_BC
    if not m.guest:
        arrive(m, target, t, what)
    elif m.pv_pit and what == PEND_DEV and s.dev.host_pit and s.state == STATE_PERIODIC:
        pit_host_queue(m, t, s.per_expiry)
    else:
        inject(m, target, t, what)


cdef inline EventHeap* queue_head(Machine* m) noexcept nogil:
    """The lane whose head comes first (machine.pxd queue_lane); an empty lane when all are."""
    cdef EventHeap* q = &m.q[0]
    if m.q[1].n and (q.n == 0 or heap_before(heap_top(&m.q[1]), heap_top(q))):
        q = &m.q[1]
    if m.q[2].n and (q.n == 0 or heap_before(heap_top(&m.q[2]), heap_top(q))):
        q = &m.q[2]
    return q


cdef inline void ipi_arrives(Machine* m, int cpu, ns_t t) noexcept nogil:
    """A broadcast IPI reaches *cpu*: directly on bare metal, through injection in a guest."""
    if m.guest:
        inject(m, cpu, t, PEND_IPI)
    else:
        arrive(m, cpu, t, PEND_IPI)


cdef int run_events(Machine* m, ns_t t_end, int64_t* done) noexcept nogil:
    """Process every event at or before *t_end*.  Returns a status code (ST_*)."""
    cdef HeapEntry* top
    cdef EventHeap* q
    cdef int ev, cpu
    cdef ns_t t
    cdef uint64_t arg
    while True:
        q = queue_head(m)
        if q.n == 0:
            break
        top = heap_top(q)
        if top.time > t_end:
            break
        t = top.time
        cpu = top.cpu
        arg = top.arg
        ev = <int>(top.key >> 56)
        q.root_consumed = True
        m.ev_t = t
        if ev == EV_DEV:
            dispatch_device(m, cpu, t)
        elif ev == EV_IPI:
            ipi_arrives(m, cpu, t)
        elif ev == EV_INJ:
            inj_arrives(m, cpu, t, <int>arg)
        elif ev == EV_WAKE:
            wake_done(m, cpu, t)
        elif ev == EV_WORK:
            work_toggle(m, cpu, t)
        elif ev == EV_WORKEND:
            work_changed(m, cpu, t, True)
        elif ev == EV_WATCHDOG:
            if arg != m.wd_gen:
                # a retry made the timer's entry stale (ReferenceEngine: not dispatched, not counted)
                if q.root_consumed:
                    heap_pop(q)
                continue
            watchdog(m, t)
        elif ev == EV_VCPU:
            vcpu_toggle(m, cpu, t)
        elif ev == EV_MIGRATE:
            migrate(m, t, <int>arg)
        else:
            resume(m, t, <int>arg)
        if q.root_consumed:  # nothing was pushed to this lane: the handled entry leaves the queue
            heap_pop(q)
        m.events += 1
        done[0] += 1
        if m.status or m.log.failed:
            return ST_NOMEM
    return ST_OK


cdef ns_t settle_at(Machine* m, ns_t t_end) noexcept nogil:
    """The true time by which the kernel's clock reads *t_end* (ReferenceEngine.settle_ktime)."""
    cdef ns_t lo = t_end, hi = t_end + SETTLE_KTIME_CAP_NS, mid
    if ktime(m, t_end) >= t_end or ktime(m, hi) < t_end:
        return t_end
    while lo < hi:
        mid = lo + (hi - lo) // 2
        if ktime(m, mid) >= t_end:
            hi = mid
        else:
            lo = mid + 1
    return lo


cdef bint due_by_end(Machine* m, int slot, ns_t t_end) noexcept nogil:
    """A oneshot device programmed for a kernel expiry at or before the end, firing within one clock quantum
    of the moment the kernel's clock reached that expiry: on its way at the end (ReferenceEngine._due_by_end:
    the delta is programmed from a clock read floored to a whole clocksource cycle, and the device counts
    whole ticks).  A programming clamped to min_delta_ns stays dropped; jiffies and pit clocksources too."""
    cdef Slot* s = &m.slots[slot]
    cdef ClockSrc* cs = &m.cs[m.cs_idx]
    cdef ns_t expires = s.next_event
    cdef uint64_t quantum
    if s.state != STATE_ONESHOT or expires > t_end or not cs.continuous:
        return False
    quantum = (cs.mult + (<uint64_t>1 << cs.shift) - 1) >> cs.shift
    if s.dev.mult:
        quantum += ((<uint64_t>1 << s.dev.shift) + s.dev.mult - 1) // s.dev.mult
    return s.fire_at <= settle_at(m, expires) + <ns_t>quantum


cdef ns_t drain_events(Machine* m, ns_t fired_by, ns_t t_end, ns_t horizon, int64_t* done) noexcept nogil:
    """The run's end (CyEngine.finish, ReferenceEngine.finish): deliver what is in flight — device
    interrupts raised by *fired_by* (or due by *t_end*: due_by_end), injections, IPIs, C-state exits — up
    to *horizon*, and drop everything else.  Returns the time of the last event delivered (0 if none)."""
    cdef HeapEntry* top
    cdef EventHeap* q
    cdef int ev, cpu
    cdef ns_t t, last = 0
    cdef uint64_t arg
    cdef bint deliver
    while True:
        q = queue_head(m)
        if q.n == 0:
            break
        top = heap_top(q)
        if top.time > horizon:
            break
        t = top.time
        cpu = top.cpu
        arg = top.arg
        ev = <int>(top.key >> 56)
        q.root_consumed = True
        m.ev_t = t
        deliver = True
        if ev == EV_DEV:
            if m.slots[cpu].fire_at <= fired_by or due_by_end(m, cpu, t_end):
                dispatch_device(m, cpu, t)
            else:
                m.slots[cpu].fire_at = KTIME_MAX  # raised after the end: dropped
                deliver = False
        elif ev == EV_IPI:
            ipi_arrives(m, cpu, t)
        elif ev == EV_INJ:
            inj_arrives(m, cpu, t, <int>arg)
        elif ev == EV_WAKE:
            wake_done(m, cpu, t)
        else:
            deliver = False
        if q.root_consumed:
            heap_pop(q)
        if deliver:
            m.events += 1
            done[0] += 1
            last = t
        if m.status or m.log.failed:
            break
    return last

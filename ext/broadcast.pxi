# The tick broadcast (kernel/time/tick-broadcast.c), included into engine.pyx right after
# idle.pxi; the twin of sim/reference_broadcast.py: same order of side effects, records and
# random draws.  The reference's CPU masks are per-CPU flags here (in_oneshot, in_pending,
# in_force, in_periodic), iterated by ascending CPU number as the reference iterates sorted(set).

from libc.stdlib cimport malloc, free


cdef int bc_enter(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_broadcast_enter for a CPU whose timer stops in the chosen state; 0 or -EBUSY."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef Slot* s = &m.slots[cpu]
    cdef int kind = m.bc_kind
    cdef ns_t ne, now
    if kind == BC_NONE:
        return -EBUSY_
    if not m.bc_mode_oneshot:
        return 0 if c.in_periodic else -EBUSY_
    if kind == BC_HRTIMER and m.bc_bound == cpu and m.bc_next_event != KTIME_MAX:
        return -EBUSY_   # broadcast_needs_cpu: it holds the armed broadcast hrtimer
    if not c.in_oneshot:
        c.in_oneshot = True
        if c.mode == TM_PERIODIC and s.state == STATE_PERIODIC:
            # still ticking periodically in hardware (no next_event) after the broadcast went oneshot: the
            # broadcast wakes it at the next period (tick_broadcast_init_next_event); that tick switches it
            ne = m.last_jiffies_update + m.tick
            now = ktime(m, t)
            s.next_event = forward(ne, now, m.tick) if ne <= now else ne
        if not (kind == BC_HRTIMER and s.next_event < m.bc_next_event):
            ne = s.next_event
            set_state(m, cpu, STATE_SHUTDOWN)
            s.next_event = ne
        if c.in_force:
            return -EBUSY_
        if s.next_event < m.bc_next_event:
            bc_set_event(m, cpu, t, s.next_event)
            if kind == BC_HRTIMER and m.bc_bound == cpu:
                c.in_oneshot = False
                return -EBUSY_
    return 0


cdef void bc_exit(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_broadcast_exit: take the local timer back."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef Slot* s = &m.slots[cpu]
    cdef ns_t ne
    if not c.in_oneshot:
        return
    c.in_oneshot = False
    ne = s.next_event
    s.state = STATE_ONESHOT
    if c.in_pending:
        c.in_pending = False
        return
    if ne == KTIME_MAX:
        return
    if ne <= ktime(m, t):
        c.in_force = True
        return
    program_event(m, cpu, t, ne, True)


cdef void bc_set_event(Machine* m, int cpu, ns_t t, ns_t expires) noexcept nogil:
    """tick_broadcast_set_event: program the broadcast device (forced) for *expires*."""
    cdef int old
    cdef ns_t removed
    m.bc_next_event = expires
    m.slots[m.bslot].state = STATE_ONESHOT   # tick_broadcast_set_event: the HPET's or bc_hrtimer's
    if m.bc_kind == BC_DEVICE:
        program_event(m, m.bslot, t, expires, True)
    else:
        # hrtimer_start (and the removal from the old holder) program a device only where high-res is active
        # (hrtimer_reprogram): in low-res mode the bc_hrtimer runs from its holder's tick (hrtimer_run_queues),
        # which the holder's tick stop accounts for at the jiffy after it (get_next_timer_interrupt)
        old = m.bc_bound
        removed = m.bc_expires
        m.bc_bound = cpu
        m.bc_expires = expires
        if (old >= 0 and old != cpu and removed != KTIME_MAX and not m.cpus[old].in_oneshot
                and m.cpus[old].mode == TM_HIGHRES and removed < hrtimer_next(m, old)):
            # remove_hrtimer on a remote base leaves its device armed for the old expiry (engine semantics 16)
            if removed < m.cpus[old].hr_stale:
                m.cpus[old].hr_stale = removed
        if m.cpus[cpu].mode != TM_HIGHRES:
            return
        if m.cpus[cpu].in_oneshot and m.slots[cpu].state == STATE_SHUTDOWN:
            # awake in the oneshot mask, device shut down (refused from the force mask, then interrupted): irq
            # entry switched it back on (tick_check_oneshot_broadcast_this_cpu); engine semantics 17, as the reference
            m.slots[cpu].state = STATE_ONESHOT
        hrtimer_reprogram(m, cpu, t, True)


cdef void bc_device_interrupt(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The broadcast device's interrupt on the CPU it is routed to."""
    m.bc_irqs += 1
    if m.bc_mode_oneshot:
        mlog(m, t, cpu, K_BC_IRQ, 0, m.bc_next_event)
        bc_oneshot_handler(m, cpu, t)
    else:
        mlog(m, t, cpu, K_BC_IRQ, 1, m.slots[m.bslot].per_expiry)
        bc_periodic_handler(m, cpu, t)


cdef void bc_hrtimer_expire(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The broadcast hrtimer expires on the CPU holding it (run_timers).

    perf: run_timers calls it through Machine.bc_expire: called directly from the low-res timer run (inline or
    not), GCC's inlining of the high-res tick path changed and the standard bench fell from 22.8 to 20.5-21.0
    M events/s (interleaved best of 3 runs each)."""
    m.bc_expires = KTIME_MAX
    bc_oneshot_handler(m, cpu, t)


cdef void bc_oneshot_handler(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_handle_oneshot_broadcast."""
    cdef ns_t now = ktime(m, t)
    cdef ns_t nxt = KTIME_MAX
    cdef int c
    cdef int n = 0
    cdef Cpu* pc
    cdef Slot* ps
    # The reference broadcasts to a snapshot (sorted(wake)); handlers may recurse
    # into this function, so the snapshot is per call: targets[] then due flags.
    cdef int* targets = <int*>malloc(2 * m.ncpus * sizeof(int))
    cdef int* due
    if targets == NULL:
        m.status = ST_NOMEM
        return
    due = targets + m.ncpus
    m.bc_next_event = KTIME_MAX
    m.slots[m.bslot].next_event = KTIME_MAX
    for c in range(m.ncpus):
        pc = &m.cpus[c]
        ps = &m.slots[c]
        due[c] = 0
        if pc.in_oneshot:
            if ps.next_event <= now:
                due[c] = 1
                pc.in_pending = True
            elif ps.next_event < nxt:
                nxt = ps.next_event
    m.cpus[cpu].in_pending = False
    for c in range(m.ncpus):  # wake |= force_mask; force_mask.clear()
        pc = &m.cpus[c]
        if due[c] or pc.in_force:
            targets[n] = c
            n += 1
        pc.in_force = False
    do_broadcast(m, cpu, t, targets, n, 0)
    free(targets)
    if nxt != KTIME_MAX:
        bc_set_event(m, cpu, t, nxt)


cdef void bc_periodic_handler(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_handle_periodic_broadcast on a hardware-periodic broadcast device (it reloaded itself at dispatch)."""
    cdef ns_t expiry = m.slots[m.bslot].per_expiry
    cdef int c, n = 0
    cdef int* targets = <int*>malloc(m.ncpus * sizeof(int))
    if targets == NULL:
        m.status = ST_NOMEM
        return
    for c in range(m.ncpus):
        if m.cpus[c].in_periodic:
            targets[n] = c
            n += 1
    do_broadcast(m, cpu, t, targets, n, expiry)
    free(targets)


cdef void do_broadcast(Machine* m, int cpu, ns_t t, const int* targets, int n, ns_t expiry) noexcept nogil:
    """tick_do_broadcast: the local CPU runs its handler directly, the others get an IPI."""
    cdef int i, c
    for i in range(n):
        c = targets[i]
        m.cpus[c].ipi_expiry = expiry
        m.cpus[c].ipi_from = cpu
        if c == cpu:
            m.cpus[c].bc_received += 1
            mlog(m, t, c, K_BROADCAST, 0 if m.bc_mode_oneshot else 1, cpu)
            event_handler(m, c, t, expiry)
        else:
            push(m, t + m.ipi_latency, EV_IPI, c, 0)

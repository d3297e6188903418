# The guest side of a hypervisor and the paravirtual backends, included into
# engine.pyx; the twin of sim/reference_pv.py (same order of side effects,
# records and random draws): vCPU scheduling and steal, interrupt injection,
# live migrations and the host's pvclock / Hyper-V TSC page records, KVM's
# in-kernel PIT with its lost-tick policy, and the VMI 2.6.21 alarm.


# -- set-up -------------------------------------------------------------------------------

cdef void start_pv(Machine* m) noexcept nogil:
    """After the idle layer started: the vCPU schedule and the migrations."""
    cdef int cpu, phase, i
    cdef Cpu* c
    if m.overcommit > 1:
        for cpu in range(m.ncpus):
            c = &m.cpus[cpu]
            phase = cpu % m.overcommit
            if phase:
                c.vcpu_running = False
                c.desched_start = 0
                c.desched_busy = c.idle_state == RUNNING
                push(m, phase * m.timeslice, EV_VCPU, cpu, 0)
            else:
                push(m, m.timeslice, EV_VCPU, cpu, 0)
    for i in range(m.nmig):
        push(m, m.migs[i].at, EV_MIGRATE, 0, <uint64_t>i)


# -- guest clocks -------------------------------------------------------------------------

cdef void pv_host_update(Machine* m, ns_t t) noexcept nogil:
    """The host (re)writes the pvclock record and the Hyper-V TSC page for the current TSC rate."""
    cdef int64_t tsc_now = tsc_at(m, t)
    cdef uint128 rate = (<uint128>m.tsc_num * 1000000000) // m.tsc_den
    cdef uint64_t rate_hz = <uint64_t>rate if rate > 1 else 1
    kvm_get_time_scale(rate_hz, &m.pv_mul, &m.pv_shift)
    m.pv_tsc_ts = tsc_now
    m.pv_sys = t
    m.hv_scale = <int128>((<uint128>10000000 << 64) // rate_hz)
    m.hv_offset = t // 100 - <int64_t>((<int128>tsc_now * m.hv_scale) >> 64)
    time_changed(m)


# -- injection ----------------------------------------------------------------------------

cdef void inject(Machine* m, int cpu, ns_t t, int what) noexcept nogil:
    """A host-side timer expiry for *cpu*: inject now if the vCPU runs, else when it next runs."""
    if m.cpus[cpu].vcpu_running and not m.paused:
        m.injections += 1
        push(m, t + draw(m, &m.injection), EV_INJ, cpu, <uint64_t>what)
    else:
        m.cpus[cpu].pend_inj |= what


cdef inline void inj_arrives(Machine* m, int cpu, ns_t t, int what) noexcept nogil:
    """An injected interrupt reaches its vCPU, which takes it if it runs; one descheduled (or a VM paused for a
    migration) since the injection keeps it pending and is injected again when it next runs (VM entry).
    Bare metal: every CPU runs."""
    if m.cpus[cpu].vcpu_running and not m.paused:
        arrive(m, cpu, t, what)
    else:
        m.cpus[cpu].pend_inj |= what


cdef void deliver_pending(Machine* m, int cpu, ns_t t) noexcept nogil:
    cdef int what = m.cpus[cpu].pend_inj
    m.cpus[cpu].pend_inj = 0
    if what & PEND_DEV:
        m.injections += 1
        push(m, t + draw(m, &m.injection), EV_INJ, cpu, PEND_DEV)
    if what & PEND_BC:
        m.injections += 1
        push(m, t + draw(m, &m.injection), EV_INJ, cpu, PEND_BC)
    if what & PEND_IPI:
        m.injections += 1
        push(m, t + draw(m, &m.injection), EV_INJ, cpu, PEND_IPI)


cdef void vcpu_toggle(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The host scheduler deschedules the vCPU after its timeslice, or runs it again."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t wait
    if c.vcpu_running:
        c.vcpu_running = False
        c.desched_start = t
        c.desched_busy = c.idle_state == RUNNING
        wait = (m.overcommit - 1) * m.timeslice
        if m.host_latency:
            wait += <ns_t>(rand64(m) % (m.host_latency + 1))
        push(m, t + wait, EV_VCPU, cpu, 0)
    else:
        c.vcpu_running = True
        account_steal(m, cpu, t)
        push(m, t + m.timeslice, EV_VCPU, cpu, 0)
        if not m.paused:
            deliver_pending(m, cpu, t)
            watchdog_retry(m, t)


cdef void account_steal(Machine* m, int cpu, ns_t t) noexcept nogil:
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t stolen
    if c.desched_busy and t > c.desched_start:
        stolen = t - c.desched_start
        c.steal_ns += stolen
        mlog(m, t, cpu, K_STEAL, 0, stolen)
    c.desched_busy = False


cdef void migrate(Machine* m, ns_t t, int i) noexcept nogil:
    """A live migration starts: the VM stops."""
    cdef int cpu
    cdef Cpu* c
    m.paused = True
    mlog(m, t, 0, K_MIGRATE, 0, m.migs[i].pause)
    for cpu in range(m.ncpus):
        c = &m.cpus[cpu]
        if c.vcpu_running:
            c.desched_start = t
            c.desched_busy = c.idle_state == RUNNING
    push(m, t + m.migs[i].pause, EV_RESUME, 0, <uint64_t>i)


cdef void resume(Machine* m, ns_t t, int i) noexcept nogil:
    """The VM runs again on the destination host."""
    cdef int cpu
    cdef int64_t c0
    m.paused = False
    m.migrations_done += 1
    if not m.tsc_scaling:
        # the destination's TSC runs at its own rate: continuous, but faster or slower from now on
        c0 = tsc_at(m, t)
        m.tsc_t0 = t
        m.tsc_c0 = c0
        m.tsc_num = m.migs[i].tsc_hz
        m.tsc_den = 1000000000
        divider_init(&m.tsc_dnum, m.tsc_num)
        divider_init(&m.tsc_dden, m.tsc_den)
    pv_host_update(m, t)
    mlog(m, t, 0, K_MIGRATE, 1, <int64_t>m.migs[i].tsc_hz)
    for cpu in range(m.ncpus):
        if m.cpus[cpu].vcpu_running:
            account_steal(m, cpu, t)
            deliver_pending(m, cpu, t)
    watchdog_retry(m, t)


# -- KVM in-kernel PIT --------------------------------------------------------------------

cdef void pit_host_queue(Machine* m, ns_t t, ns_t expiry) noexcept nogil:
    """The host hrtimer behind the guest PIT expired: queue the tick by the lost-tick policy."""
    cdef ns_t* q
    cdef int i
    if m.pit_policy == PIT_DISCARD and m.pit_inflight:
        m.pit_discarded += 1
        mlog(m, t, 0, K_PIT_DISCARD, 0, expiry)
        return
    if m.pit_n == m.pit_cap:
        q = <ns_t*>malloc(2 * m.pit_cap * sizeof(ns_t))
        if q == NULL:
            m.status = ST_NOMEM
            return
        for i in range(m.pit_n):
            q[i] = m.pit_q[(m.pit_head + i) % m.pit_cap]
        free(m.pit_q)
        m.pit_q = q
        m.pit_head = 0
        m.pit_cap *= 2
    m.pit_q[(m.pit_head + m.pit_n) % m.pit_cap] = expiry
    m.pit_n += 1
    if m.pit_n > m.pit_pending_max:
        m.pit_pending_max = m.pit_n
    if not m.pit_inflight:
        m.pit_inflight = True
        inject(m, 0, t, PEND_DEV)


cdef void pit_guest_tick(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The guest handles a PIT interrupt (tick_handle_periodic); its EOI acks it to the host."""
    cdef ns_t expiry = t
    if m.pit_n:
        expiry = m.pit_q[m.pit_head]
        m.pit_head = (m.pit_head + 1) % m.pit_cap
        m.pit_n -= 1
    tick_periodic(m, cpu, t, expiry)
    m.pit_inflight = False
    if m.pit_n:
        m.pit_inflight = True
        inject(m, 0, t, PEND_DEV)


# -- VMI 2.6.21 ---------------------------------------------------------------------------

cdef void vmi_alarm(Machine* m, int cpu, ns_t t) noexcept nogil:
    """vmi_local_timer_interrupt, reached through the hijacked LOCAL_TIMER_VECTOR gate."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t tick = m.tick
    cdef bint dup = (m.effects & EFF_DUP_DO_TIMER) != 0
    cdef ns_t acc, avail
    cdef ns_t real = t if t < m.acct_end else m.acct_end  # finish: catch up to the end only (semantics 17)
    if m.effects & EFF_HOOK_BYPASSED:
        # the core rebuilt the vector's gate: its own handler runs and finds no clock event device
        mlog(m, t, cpu, K_IRQ, 0, ktime(m, t))
        return
    acc = c.vmi_real_acc if dup else m.vmi_real_acc
    while real - acc >= tick:
        acc += tick
        m.jiffies += 1
        mlog(m, t, cpu, K_JIFFIES, 1, m.jiffies)
        if dup and cpu != 0:
            m.wall_ahead += tick  # the changed core's do_timer assumes a single caller
    if dup:
        c.vmi_real_acc = acc
    else:
        m.vmi_real_acc = acc
    watchdog_jiffies_moved(m, t)
    if acc > m.last_jiffies_update:
        m.last_jiffies_update = acc
    avail = real - c.steal_ns
    while avail - c.vmi_proc_acc >= tick:
        c.vmi_proc_acc += tick
        c.ticks += 1
        mlog(m, t, cpu, K_TICK, 0, c.vmi_proc_acc)
        run_timers(m, cpu, t, ktime(m, t))

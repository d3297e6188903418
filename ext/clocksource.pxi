# Timekeeping: the clocksource switch and the clocksource watchdog, included into
# engine.pyx; the twin of sim/reference_watchdog.py and of
# ReferenceEngine._switch_clocksource.


cdef void switch_clocksource(Machine* m, ns_t t, int idx) noexcept nogil:
    """timekeeping_notify: continue kernel time from now on the new clocksource."""
    m.k_base = ktime(m, t)
    m.cs_idx = idx
    m.c_base = cs_cycles(m, idx, t)
    time_changed(m)
    mlog(m, t, 0, K_CS_SWITCH, idx, m.k_base)


# -- clocksource watchdog -----------------------------------------------------------------

cdef uint64_t tsc_read(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The TSC as CPU *cpu* reads it: offset per CPU, and stopped while in deep idle if not invariant."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t lost = 0
    cdef int s
    if m.tsc_stops:
        lost = c.deep_ns
        s = c.idle_state
        if s >= 0 and m.cstates[s].stops_timer:
            lost += t - c.state_enter
    return <uint64_t>(tsc_at(m, t - lost) + c.tsc_offset)


cdef inline bint watchdog_watching(Machine* m) noexcept nogil:
    """The watchdog timer is queued: a MUST_VERIFY clocksource is still being checked."""
    return m.watchdog >= 0 and m.tsc_idx >= 0 and not m.cs[m.tsc_idx].unstable


cdef ns_t watchdog_expiry(Machine* m, ns_t now) noexcept nogil:
    """The watchdog timer's expiry on the kernel's clock, for a CPU whose kernel time is *now*: the start of its
    bucket's jiffy on the kernel's jiffy grid (tick_nohz_next_event: base + (jiffy - jiffies) * TICK_NSEC).  The
    round runs at true time wd_expires; a kernel clock running ahead reaches that jiffy first: by less than the
    interrupt's way to the CPU, the round has run when the woken CPU looks at its timers again; by more (a
    fast-drifting TSC, a clock stepped forward) the jiffy is past at *now* with the round still to come, and the
    CPU sleeps until the first jiffy at or after the round's kernel time (woken before the round it would spin in
    the idle loop).  ktime_read: the ktime cache holds the event's t."""
    cdef ns_t t = m.wd_expires
    cdef ns_t j, k
    if t == KTIME_MAX:
        return t
    j = m.last_jiffies_update + (m.wd_bucket - m.jiffies0 - m.jiffies) * m.tick   # m.jiffies counts from 0
    if j > now:
        return j
    k = ktime_read(m, t)
    if k <= now:
        k = now + 1
    return jiffy_at_or_after(m, k)


cdef void watchdog_requeued(Machine* m, ns_t t) noexcept nogil:
    """add_timer_on(next CPU): a CPU whose tick is stopped past the new expiry is kicked (wake_up_nohz_cpu's
    reschedule IPI) so that its idle loop sees the timer."""
    cdef int target = <int>(m.wd_round % m.ncpus)
    if m.cpus[target].tick_stopped and watchdog_expiry(m, ktime(m, t)) < m.cpus[target].idle_expires:
        m.cpus[target].resched_ipis += 1
        arrive(m, target, t, PEND_RESCHED)


cdef void watchdog_arm(Machine* m, int64_t clk) noexcept nogil:
    """add_timer_on: the timer's expires moves on by WATCHDOG_INTERVAL (HZ/2 jiffies) and the timer wheel runs
    it from the tick that starts its bucket's jiffy (timer_wheel_bucket from the base's clock *clk*: the jiffy
    after the round's own, as __run_timers keeps base->clk one ahead while it runs timers): 120 or 128 jiffies
    apart at HZ=250, never exactly 0.5 s, and at the next jiffy when a late round finds the new expiry already
    past.  In the oneshot modes jiffies follow the kernel's clock: the jiffy starts on the TICK_NSEC grid from
    t = 0, and the round runs right then, ahead of that tick's interrupt (the kernel runs it in the tick's
    softirq, the IRQ latency later, but before the idle loop looks at its timers again).  A periodic tick counts
    jiffies itself: the round runs at the tick that counts to the bucket (watchdog_retry)."""
    m.wd_jexp += m.wd_interval
    m.wd_bucket = timer_wheel_bucket(m.wd_jexp, clk)
    m.wd_expires = (m.wd_bucket - m.jiffies0) * m.tick
    m.wd_due_jiffies = m.wd_bucket - m.jiffies0
    m.wd_arm_jiffies = m.jiffies
    m.wd_waiting = False
    m.wd_gen += 1
    push(m, m.wd_expires, EV_WATCHDOG, 0, m.wd_gen)


cdef inline bint watchdog_periodic_jiffies(Machine* m, int cpu) noexcept nogil:
    """Tick modes whose jiffies are counted by the tick itself (tick_periodic's do_timer(1), VMI's alarm loop):
    the timer wheel reaches a bucket when those ticks have counted to it, not at a time."""
    cdef int mode = m.cpus[cpu].mode
    return mode == TM_PERIODIC or mode == TM_PERIODIC_EMUL or mode == TM_PERIODIC_BC or mode == TM_VMI_ALARM


cdef inline bint watchdog_can_run(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The round is the timer softirq of its CPU's tick: that vCPU must run (not descheduled, the VM not paused
    for a migration), jiffies must have moved since the timer was queued (a kernel whose tick never reaches its
    handler, vmi-2007 with the lapic-irq-path change, runs no timer_list timer at all), and its bucket must be
    due: counted to by a periodic tick, or reached on the kernel's jiffy grid (true time here)."""
    if not m.cpus[cpu].vcpu_running or m.paused or m.jiffies == m.wd_arm_jiffies:
        return False
    if watchdog_periodic_jiffies(m, cpu):
        return m.jiffies >= m.wd_due_jiffies
    return t >= m.wd_expires


cdef void watchdog_retry(Machine* m, ns_t t) noexcept nogil:
    """At a vCPU's VM entry and when jiffies move: a round that waited (wd_waiting) runs now if its CPU can, and
    so does one whose bucket a periodic tick has counted to before its time on the TICK_NSEC grid (a PIT or HPET
    period a little short of TICK_NSEC).  Its queued expiry goes stale (wd_gen)."""
    cdef int cpu = <int>(m.wd_round % m.ncpus)
    if not watchdog_watching(m):
        return
    if not (m.wd_waiting or (t < m.wd_expires and watchdog_periodic_jiffies(m, cpu))):
        return
    if watchdog_can_run(m, cpu, t):
        m.wd_waiting = False
        m.wd_gen += 1
        push(m, t, EV_WATCHDOG, 0, m.wd_gen)


cdef inline void watchdog_jiffies_moved(Machine* m, ns_t t) noexcept nogil:
    """Jiffies moved (do_timer, a catch-up, VMI's alarm loop): a round waiting for them, or one a periodic tick has
    counted to (wd_due_jiffies), may run now (watchdog_retry; the test first keeps the usual jiffy cheap)."""
    if m.wd_waiting or m.jiffies >= m.wd_due_jiffies:
        watchdog_retry(m, t)


cdef inline uint64_t cycles_to_nsec_safe(ClockSrc* cs, uint64_t last, uint64_t now) noexcept nogil:
    """The watchdog's interval in ns (6.13+): a masked delta above mask*7/8 is a small backwards step and
    reads 0 (clocksource_delta's negative-motion rule); the product never wraps (mul_u64_u32_shr)."""
    cdef uint64_t delta = (now - last) & cs.mask
    if delta > (cs.mask >> 1) + (cs.mask >> 2) + (cs.mask >> 3):
        return 0
    return <uint64_t>((<uint128>delta * cs.mult) >> cs.shift)


cdef inline int override_select(Machine* m, ns_t t, int cpu, int best) noexcept nogil:
    """__clocksource_select's override check: the clocksource= override wins unless the tick is in oneshot
    mode and it is not valid for high-res; an unstable one is then given up (and the kernel says so)."""
    cdef int ov = m.cs_override
    if ov < 0:
        return best
    if m.bc_mode_oneshot and (m.cs[ov].unstable or not m.cs[ov].continuous):
        if m.cs[ov].unstable:
            mlog(m, t, cpu, K_WATCHDOG, 8, ov)
            m.cs_override = -1
        return best
    return ov


cdef void watchdog(Machine* m, ns_t t) noexcept nogil:
    """clocksource_watchdog: compare the TSC with the watchdog over the last interval.  An interval longer than
    WATCHDOG_INTERVAL_MAX_NS on either clock is not judged ("Long readout interval"): the timer is re-anchored at
    the current jiffy before it moves on by HZ/2 (engine semantics 14)."""
    cdef int ti = m.tsc_idx
    cdef int cpu, i, best, rating
    cdef ClockSrc* cs
    cdef ClockSrc* wd
    cdef uint64_t cs_now, wd_now, cs_last, wd_last
    cdef uint64_t cs_nsec = 0
    cdef uint64_t wd_nsec = 0
    cdef int64_t skew
    cdef bint first, skip = False
    cdef int64_t jnow
    cpu = <int>(m.wd_round % m.ncpus)
    jnow = m.jiffies0 + (m.jiffies if watchdog_periodic_jiffies(m, cpu) else t // m.tick)
    if not watchdog_watching(m):
        watchdog_arm(m, jnow + 1)
        return
    if not watchdog_can_run(m, cpu, t):
        # engine semantics 17: the round waits for its CPU (before, it ran at the jiffy's true time whatever the
        # guest was doing: inside a migration's pause, on a descheduled vCPU, with jiffies standing still)
        m.wd_waiting = True
        return
    cs = &m.cs[ti]
    wd = &m.cs[m.watchdog]
    cs_now = tsc_read(m, cpu, t) & cs.mask
    wd_now = <uint64_t>cs_cycles(m, m.watchdog, t) & wd.mask
    first = m.wd_first
    if not first:
        cs_nsec = cycles_to_nsec_safe(cs, m.wd_cs_last, cs_now)
        wd_nsec = cycles_to_nsec_safe(wd, m.wd_wd_last, wd_now)
        skip = (cs_nsec if cs_nsec > wd_nsec else wd_nsec) > <uint64_t>(2 * m.wd_interval * (1000000000 // m.hz))
        if skip:
            m.wd_jexp = jnow
    watchdog_arm(m, jnow + 1)
    m.wd_round += 1
    watchdog_requeued(m, t)
    if first:
        m.wd_first = False
        m.wd_cs_last = cs_now
        m.wd_wd_last = wd_now
        return
    cs_last = m.wd_cs_last
    wd_last = m.wd_wd_last
    m.wd_cs_last = cs_now
    m.wd_wd_last = wd_now
    if skip:
        mlog(m, t, cpu, K_WATCHDOG, 9, <int64_t>cs_nsec)
        mlog(m, t, cpu, K_WATCHDOG, 10, <int64_t>wd_nsec)
        return
    skew = <int64_t>cs_nsec - <int64_t>wd_nsec
    if (skew if skew >= 0 else -skew) <= m.watchdog_margin:
        mlog(m, t, cpu, K_WATCHDOG, 0, skew)
        return
    mlog(m, t, cpu, K_WATCHDOG, 1, skew)
    mlog(m, t, cpu, K_WATCHDOG, 2, <int64_t>wd_nsec)
    mlog(m, t, cpu, K_WATCHDOG, 3, <int64_t>cs_nsec)
    # the raw reads the kernel prints with them (wd_now / wd_last, cs_now / cs_last: masked counters)
    mlog(m, t, cpu, K_WATCHDOG, 4, <int64_t>wd_now)
    mlog(m, t, cpu, K_WATCHDOG, 5, <int64_t>wd_last)
    mlog(m, t, cpu, K_WATCHDOG, 6, <int64_t>cs_now)
    mlog(m, t, cpu, K_WATCHDOG, 7, <int64_t>cs_last)
    cs.unstable = True
    if m.cs_idx == ti:
        best = -1
        rating = -1
        for i in range(m.ncs):
            if m.cs[i].unstable or (m.bc_mode_oneshot and not m.cs[i].continuous):
                continue
            if m.cs[i].rating > rating:
                best = i
                rating = m.cs[i].rating
        best = override_select(m, t, cpu, best)
        if best >= 0 and best != m.cs_idx:
            switch_clocksource(m, t, best)

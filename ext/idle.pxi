# Workloads, idle and C-states, NO_HZ, included into engine.pyx (the broadcast follows in
# broadcast.pxi); the twin of sim/reference_idle.py: same order of
# side effects, records and random draws.

from libc.math cimport log as c_log


# -- random durations ---------------------------------------------------------------------

cdef inline int64_t draw_exp(Machine* m, int64_t mean) noexcept nogil:
    # Same IEEE operations as the reference: u in (0, 1], -mean * log(u), truncated.
    cdef double u = <double>((rand64(m) >> 11) + 1) / 9007199254740992.0
    cdef int64_t v = <int64_t>((<double>(-mean)) * c_log(u))
    return v if v > 1 else 1


cdef inline int64_t draw(Machine* m, const Dist* d) noexcept nogil:
    if d.code == DIST_FIXED:
        return d.mean
    if d.code == DIST_EXP:
        return draw_exp(m, d.mean)
    return d.lo + <int64_t>(rand64(m) % <uint64_t>(d.hi - d.lo + 1))


# -- set-up -------------------------------------------------------------------------------

cdef void start_idle(Machine* m) noexcept nogil:
    """After the tick devices are set up: the broadcast device, user timers, workloads, the watchdog."""
    cdef int cpu, i
    cdef Cpu* c
    cdef UTimer* u
    if m.any_periodic_bc:
        dev_set_periodic(m, m.bslot, 0)
    for cpu in range(m.ncpus):
        c = &m.cpus[cpu]
        for i in range(c.nutimers):
            u = &c.utimers[i]
            u.expiry = u.param if u.kind == TIMER_PERIODIC else draw_exp(m, u.param)
            u.hard = u.expiry + u.slack
    for cpu in range(m.ncpus):
        c = &m.cpus[cpu]
        if c.wl_kind == WL_BUSY:
            c.busy_mixed = True
        elif c.wl_kind == WL_MIXED:
            c.busy_mixed = True
            schedule_work(m, cpu, 0, &c.busy)
        if not c.busy_mixed:
            idle_enter(m, cpu, 0)
    if m.watchdog >= 0:
        # clocksource_start_watchdog: expires = jiffies + WATCHDOG_INTERVAL, queued at jiffies
        m.wd_jexp = m.jiffies0
        watchdog_arm(m, m.jiffies0)


# -- workload -----------------------------------------------------------------------------

cdef inline bint is_busy(Machine* m, int cpu, ns_t t) noexcept nogil:
    return m.cpus[cpu].busy_mixed or t < m.cpus[cpu].busy_until


cdef inline void schedule_work(Machine* m, int cpu, ns_t t, const Dist* dist) noexcept nogil:
    push(m, t + draw(m, dist), EV_WORK, cpu, 0)


cdef void work_toggle(Machine* m, int cpu, ns_t t) noexcept nogil:
    """A mixed workload's busy period ends or its idle period ends.

    A busy period is CPU time: drawn now, but when the CPU is asleep it starts once the CPU has woken
    (idle_exit) and not during the C-state's exit latency."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef bint was = is_busy(m, cpu, t)
    c.busy_mixed = not c.busy_mixed
    if c.busy_mixed and c.idle_state >= 0:
        c.work_len = draw(m, &c.busy)
    else:
        schedule_work(m, cpu, t, &c.busy if c.busy_mixed else &c.idle)
    work_changed(m, cpu, t, was)


cdef void work_changed(Machine* m, int cpu, ns_t t, bint was_busy) noexcept nogil:
    cdef bint now_busy = is_busy(m, cpu, t)
    if was_busy and not now_busy:
        idle_enter(m, cpu, t)
    elif not was_busy and now_busy:
        arrive(m, cpu, t, PEND_RESCHED)


cdef void utimer_fire(Machine* m, int cpu, ns_t t, int i, ns_t now) noexcept nogil:
    cdef Cpu* c = &m.cpus[cpu]
    cdef UTimer* u = &c.utimers[i]
    mlog(m, t, cpu, K_UTIMER, i, u.expiry)
    if u.kind == TIMER_PERIODIC:
        u.expiry += (floordiv_i64(now - u.expiry, u.param) + 1) * u.param   # hrtimer_forward: overruns skipped
    else:
        u.expiry += draw_exp(m, u.param)   # Poisson arrivals at rate_hz, however late this one ran
    u.hard = u.expiry + u.slack
    if m.timer_work and not c.busy_mixed:
        # each expiry's work is CPU time: it queues behind the work still running
        c.busy_until = (c.busy_until if c.busy_until > t else t) + m.timer_work
        push(m, c.busy_until, EV_WORKEND, cpu, 0)


cdef inline void run_timers(Machine* m, int cpu, ns_t t, ns_t now) noexcept nogil:
    """The broadcast hrtimer and user timers due at *now*: from hrtimer_interrupt (high-res, after the sched
    tick) or from every low-res tick interrupt (hrtimer_run_queues)."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef int i
    if m.bc_bound == cpu and m.bc_expires <= now:
        m.bc_expire(m, cpu, t)   # through a pointer: see bc_hrtimer_expire
    for i in range(c.nutimers):
        while c.utimers[i].expiry <= now:
            utimer_fire(m, cpu, t, i, now)


# -- interrupts reaching a CPU ------------------------------------------------------------

# perf: arrive/handle/after_irq and the hrtimer path (tick.pxi) inline: bench 457 instructions/event vs 496, best of 12
# runs 22.9 vs 21.2 M events/s.
cdef inline void arrive(Machine* m, int cpu, ns_t t, int what) noexcept nogil:
    cdef Cpu* c = &m.cpus[cpu]
    cdef int s = c.idle_state
    if c.waking:
        c.pending |= what
        return
    if s >= 0:
        c.pending |= what
        c.waking = True
        push(m, t + m.cstates[s].exit_latency, EV_WAKE, cpu, 0)
        return
    handle(m, cpu, t, what)
    after_irq(m, cpu, t, what == PEND_RESCHED)


cdef void wake_done(Machine* m, int cpu, ns_t t) noexcept nogil:
    cdef Cpu* c = &m.cpus[cpu]
    cdef int s = c.idle_state
    cdef ns_t res = t - c.state_enter
    cdef ns_t now
    cdef int pend
    c.waking = False
    # woken while finish drains: the residency report stops at the run's end
    c.residency[s] += min(t, m.acct_end) - c.state_enter if m.acct_end > c.state_enter else 0
    c.wakeups += 1
    if m.cstates[s].stops_timer:
        c.deep_ns += res
    mlog(m, t, cpu, K_WAKE, s, res)
    c.idle_state = IN_IDLE
    if c.bc_used:
        c.bc_used = False
        bc_exit(m, cpu, t)
    # irq_enter on an idle CPU (tick_nohz_stop_idle): the sleep so far counts now, the next starts now
    now = ktime(m, t)
    c.idle_sleeptime += now - c.idle_entrytime
    c.idle_entrytime = now
    pend = c.pending
    c.pending = 0
    if pend & PEND_DEV:
        handle(m, cpu, t, PEND_DEV)
    if pend & PEND_BC:
        handle(m, cpu, t, PEND_BC)
    if pend & PEND_IPI:
        handle(m, cpu, t, PEND_IPI)
    after_irq(m, cpu, t, (pend & PEND_RESCHED) != 0)


cdef inline void handle(Machine* m, int cpu, ns_t t, int what) noexcept nogil:
    """An interrupt's handler on *cpu*.  need_resched alone (PEND_RESCHED) is no interrupt: no tick_irq_enter."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t now
    if what == PEND_RESCHED:
        return
    if c.tick_stopped:
        # tick_irq_enter on a tickless CPU: tick_nohz_update_jiffies notes the wake and catches jiffies up
        now = ktime(m, t)
        m.idle_waketime[cpu] = now
        update_jiffies64(m, cpu, t, now)
    if what == PEND_DEV:
        device_handler(m, cpu, t)
    elif what == PEND_BC:
        bc_device_interrupt(m, cpu, t)
    else:
        c.bc_received += 1
        c.ipis += 1
        mlog(m, t, cpu, K_BROADCAST, 0 if m.bc_mode_oneshot else 1, c.ipi_from)
        event_handler(m, cpu, t, c.ipi_expiry)


cdef inline void after_irq(Machine* m, int cpu, ns_t t, bint resched) noexcept nogil:
    """Run the task now due, or idle on; need_resched with nothing to run (the NO_HZ kick, wake_up_idle_cpu)
    still leaves do_idle's loop: tick_nohz_idle_exit, then straight back to tick_nohz_idle_enter (semantics 17)."""
    if m.cpus[cpu].idle_state == RUNNING:
        return
    if is_busy(m, cpu, t):
        idle_exit(m, cpu, t)
    elif resched:
        idle_exit(m, cpu, t)
        idle_enter(m, cpu, t)
    else:
        idle_reenter(m, cpu, t)


# -- idle entry / exit --------------------------------------------------------------------

cdef void idle_enter(Machine* m, int cpu, ns_t t) noexcept nogil:
    m.cpus[cpu].idle_state = IN_IDLE
    m.cpus[cpu].idle_entrytime = ktime(m, t)
    idle_reenter(m, cpu, t)


cdef inline bint nohz_active(Machine* m, int cpu) noexcept nogil:
    return m.nohz_idle and (m.cpus[cpu].mode == TM_HIGHRES or m.cpus[cpu].mode == TM_LOWRES_NOHZ)


cdef void idle_reenter(Machine* m, int cpu, ns_t t) noexcept nogil:
    """One pass of the idle loop: maybe stop the tick, ask the governor, go to sleep."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t now, nxt, sleep
    cdef int s, rc
    cdef Device* d
    # menu asks tick_nohz_tick_stopped() before this pass stops the tick: only a tick still running bounds
    # the exit latency by the predicted sleep (engine semantics 16)
    cdef bint stopped_before = c.tick_stopped
    cdef ns_t predicted = -1   # tick_nohz_get_sleep_length: the device's next event unless NO_HZ finds the next timer
    if nohz_active(m, cpu):
        predicted = nohz_stop_tick(m, cpu, t)
    now = ktime(m, t)
    nxt = m.slots[cpu].next_event
    if c.mode == TM_PERIODIC_BC:
        nxt = m.slots[m.bslot].next_event if m.slots[m.bslot].state else KTIME_MAX
        if now + m.tick < nxt:
            nxt = now + m.tick
    elif c.mode == TM_PERIODIC and m.slots[cpu].state == STATE_PERIODIC:
        # a device ticking periodically in hardware keeps no next event: its next period is within a tick
        if now + m.tick < nxt:
            nxt = now + m.tick
    sleep = nxt - now if nxt != KTIME_MAX else KTIME_MAX
    if not cstates_offered(m, cpu):
        s = 0   # HLT until the CPU's first tick switched it to oneshot: no cpuidle driver yet (semantics 18)
    else:
        if predicted < 0:
            s = governor(m, sleep, KTIME_MAX if stopped_before else sleep)
        else:
            # the tick was running and menu retained it (nohz_stop_tick returns a prediction only then; engine
            # semantics 19): menu picks by the predicted sleep, which the tick does not cut short, with that sleep
            # as its exit-latency limit, then steps down to a state whose target residency fits before the tick
            # (delta_tick: the device's next event)
            s = governor(m, predicted, predicted)
            while s > 0 and m.cstates[s].target_residency > sleep:
                s -= 1
        d = m.slots[cpu].dev
        if m.cstates[s].stops_timer and d != NULL and (d.features & FEAT_C3STOP):
            rc = bc_enter(m, cpu, t)
            mlog(m, t, cpu, K_BC_ENTER, 1 if rc else 0, s)
            if rc:
                s = state_keeping_timer(m, s)
            else:
                c.bc_used = c.mode != TM_PERIODIC_BC
    c.idle_state = s
    c.state_enter = t
    mlog(m, t, cpu, K_IDLE, s, sleep)


cdef inline int governor(Machine* m, ns_t sleep, ns_t latency_limit) noexcept nogil:
    """menu-like: the deepest state whose target residency fits the predicted sleep, walking shallow to deep and
    stopping at the first whose exit latency exceeds *latency_limit* (menu's latency_req; engine semantics 16)."""
    cdef int best = 0
    cdef int i
    for i in range(m.nstates):
        if m.cstates[i].target_residency > sleep or m.cstates[i].exit_latency > latency_limit:
            break
        best = i
    return best


cdef inline int state_keeping_timer(Machine* m, int refused) noexcept nogil:
    """find_deepest_state after tick_broadcast_enter said -EBUSY: no timer-stopping state, exit latency at most the
    refused state's and strictly rising from pick to pick; target residency is not looked at (semantics 16)."""
    cdef int best = 0
    cdef int i
    cdef ns_t limit = m.cstates[refused].exit_latency
    cdef ns_t picked = 0
    for i in range(m.nstates):
        if m.cstates[i].stops_timer or m.cstates[i].exit_latency <= picked or m.cstates[i].exit_latency > limit:
            continue
        picked = m.cstates[i].exit_latency
        best = i
    return best


cdef void idle_exit(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_nohz_idle_exit: restart the tick if it was stopped; the CPU runs its task.  idle_exittime is set
    only with the tick stopped (tick_nohz_account_idle_time, via tick_nohz_idle_update_tick)."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t now
    cdef int stopped = c.tick_stopped
    if stopped:
        nohz_restart_tick(m, cpu, t)
    now = ktime(m, t)
    if stopped:
        c.idle_exittime = now
    c.idle_sleeptime += now - c.idle_entrytime
    c.idle_state = RUNNING
    if c.work_len >= 0:
        push(m, t + c.work_len, EV_WORK, cpu, 0)
        c.work_len = -1


# -- NO_HZ --------------------------------------------------------------------------------

cdef ns_t next_hrtimer(Machine* m, int cpu) noexcept nogil:
    """The CPU's earliest hrtimer other than its tick: user timers and the broadcast hrtimer it holds."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t nxt = KTIME_MAX
    cdef int i
    for i in range(c.nutimers):
        if c.utimers[i].hard < nxt:
            nxt = c.utimers[i].hard
    if m.bc_bound == cpu and m.bc_expires < nxt:
        nxt = m.bc_expires
    return nxt


cdef inline ns_t jiffy_at_or_after(Machine* m, ns_t k) noexcept nogil:
    """The start of the first jiffy at or after kernel time *k* (> last_jiffies_update) on the kernel's grid."""
    cdef ns_t base = m.last_jiffies_update
    return base - floordiv_i64(-(k - base), m.tick) * m.tick


cdef ns_t next_timer(Machine* m, int cpu, ns_t t) noexcept nogil:
    """get_next_timer_interrupt as tick_nohz_next_event asks it: the next timer-wheel timer, and in low-res mode
    also the next hrtimer (hrtimers run from the tick there); in high-res mode hrtimers are not looked at."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t nxt = KTIME_MAX
    cdef ns_t hr
    if m.wd_round % m.ncpus == cpu and watchdog_watching(m) and not m.wd_waiting:
        # the watchdog is a timer_list timer on the CPU it runs on next (add_timer_on): it wakes that CPU
        nxt = watchdog_expiry(m, ktime(m, t))
    if c.mode == TM_LOWRES_NOHZ:
        hr = next_hrtimer(m, cpu)
        if hr < nxt:
            nxt = hr
        if nxt != KTIME_MAX:
            # low-res: timers only run from the tick, so the next event is the jiffy at or after them
            if nxt > m.last_jiffies_update:
                nxt = jiffy_at_or_after(m, nxt)
    return nxt


cdef inline bint menu_keeps_tick(Machine* m, ns_t predicted) noexcept nogil:
    """menu_select's stop_tick while the tick runs (ReferenceEngine._menu_keeps_tick, engine semantics 19): a sleep
    under a tick keeps it; a longer one keeps it when the first state whose target residency it does not reach
    comes after a state whose target residency is under a tick; an exit latency above the sleep stops it."""
    cdef int best = 0
    cdef int i
    if predicted < m.tick:
        return True
    for i in range(m.nstates):
        if m.cstates[i].target_residency > predicted:
            return m.cstates[best].target_residency < m.tick
        if m.cstates[i].exit_latency > predicted:
            return False
        best = i
    return False


cdef ns_t nohz_stop_tick(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_nohz_idle_stop_tick: stop the tick if nothing is due within a tick.  Returns the sleep the governor
    predicted when it retained the running tick (the next timer or hrtimer, from now); -1 otherwise: the tick
    stopped, or a timer within a tick kept it (the governor then reads the device's next event)."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t base = m.last_jiffies_update
    cdef ns_t nxt = next_timer(m, cpu, t)
    cdef ns_t soon = nxt
    cdef ns_t hr = KTIME_MAX
    cdef ns_t old, now
    cdef ns_t expires
    cdef int128 cap
    # tick_nohz_next_event's record for /proc/timer_list
    m.ts_last_jiffies[cpu] = m.jiffies
    m.ts_next_timer[cpu] = nxt
    # in high-res mode the hrtimers (not in nxt) also decide below whether moving the sched_timer reprograms
    # the device
    if c.mode == TM_HIGHRES:
        hr = next_hrtimer(m, cpu)
        if hr < soon:
            soon = hr
    if not c.tick_stopped:
        now = ktime(m, t)
        # tick_nohz_next_event: a timer due within a tick of the last jiffy update keeps the tick.  A governor
        # then predicts the device's next event; only if that is a tick away or more does it still ask for
        # the stop (tick_nohz_idle_stop_tick, which counts the call and finds expires 0)
        if nxt != KTIME_MAX and nxt - base <= m.tick:
            if not m.has_cpuidle or m.slots[cpu].next_event - now >= m.tick:
                c.idle_calls += 1
            return -1
        # menu's stop_tick (engine semantics 13, 19): the governor keeps the tick when the sleep it predicts, the
        # time from now to the next event, hrtimers included (tick_nohz_get_sleep_length), is below a tick, or
        # when its state choice retains it; the idle loop then retains the tick (tick_nohz_idle_retain_tick),
        # which counts no idle call
        if m.has_cpuidle and soon != KTIME_MAX and menu_keeps_tick(m, soon - now):
            return soon - now
    c.idle_calls += 1
    if m.do_timer_cpu == cpu or (m.do_timer_cpu == TICK_DO_TIMER_NONE and c.do_timer_last):
        cap = <int128>base + m.cs[m.cs_idx].max_idle_ns
        expires = nxt if <int128>nxt < cap else <ns_t>cap
    else:
        expires = nxt
    if m.do_timer_cpu == cpu:
        m.do_timer_cpu = TICK_DO_TIMER_NONE
        c.do_timer_last = 1
    elif m.do_timer_cpu != TICK_DO_TIMER_NONE:
        c.do_timer_last = 0
    if c.tick_stopped and expires == m.next_tick[cpu]:
        # tick_nohz_stop_tick: the stopped tick's expiry did not change, so nothing is reprogrammed (next_tick
        # is cleared wherever the sched_timer moves otherwise: its expiry, the restart)
        c.idle_sleeps += 1
        c.idle_expires = expires
        return -1
    if not c.tick_stopped:
        c.last_tick = c.sched_expires
        c.tick_stopped = 1
        c.idle_jiffies = m.jiffies
        mlog(m, t, cpu, K_TICK_STOP, 0, expires)
    c.idle_sleeps += 1
    c.idle_expires = expires
    m.next_tick[cpu] = expires
    old = c.sched_expires
    c.sched_expires = expires
    if c.mode == TM_HIGHRES:
        sched_timer_moved(m, cpu, t, old, expires, hr)
    elif expires == KTIME_MAX:
        m.slots[cpu].next_event = KTIME_MAX
        if m.slots[cpu].state == STATE_ONESHOT:
            stop_oneshot(m, cpu)
    elif c.in_oneshot:
        m.slots[cpu].next_event = expires
    else:
        program_event(m, cpu, t, expires, True)
    return -1


cdef inline void sched_timer_moved(Machine* m, int cpu, ns_t t, ns_t old, ns_t new, ns_t hr) noexcept nogil:
    """High-res: the sched_timer moved from expiry *old* (KTIME_MAX: not queued) to *new*.  hrtimer_start /
    hrtimer_cancel reprogram the device only when it was the CPU's first hrtimer (before the others' earliest,
    *hr*: force_local, or its removal) or becomes it (hrtimer_reprogram: before expires_next)."""
    if (old != KTIME_MAX and old <= hr) or new < hr:
        hrtimer_reprogram(m, cpu, t, True)


cdef void nohz_restart_tick(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_nohz_restart_sched_tick: catch jiffies up, resume the tick on its old grid."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t now = ktime(m, t)
    cdef ns_t exp, old, hr
    update_jiffies64(m, cpu, t, now)
    c.tick_stopped = 0
    m.next_tick[cpu] = 0   # tick_nohz_restart
    exp = c.last_tick
    if exp <= now:
        exp = forward(exp, now, m.tick)
    old = c.sched_expires   # KTIME_MAX: cancelled by the stop, or expired with the tick stopped
    c.sched_expires = exp
    mlog(m, t, cpu, K_TICK_RESTART, 0, exp)
    if c.mode == TM_HIGHRES:
        sched_timer_moved(m, cpu, t, old, exp, next_hrtimer(m, cpu))   # as on the stop (engine semantics 17)
    else:
        program_event(m, cpu, t, c.sched_expires, True)

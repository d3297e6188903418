# The kernel's tick machinery, included into engine.pyx (one C module, so the
# tick and idle layers may call each other as the kernel's do).
#
# clockevents_program_event (clamp, -ETIME, forced min-delta retries, growth of
# min_delta_ns), tick_setup_device, tick_handle_periodic (hardware periodic and
# oneshot-emulated), the oneshot switch, hrtimer_interrupt with the sched_timer,
# jiffies.  A line-for-line twin of sim/reference.py: same order of side
# effects, same records, same RNG draws.  Devices are reached only through
# the dev_* entry points of devices.pxd.

cdef inline int _slot_cpu(Machine* m, int slot) noexcept nogil:
    """The CPU a slot's records are logged under (the broadcast slot logs as the last CPU)."""
    return slot if slot < m.ncpus else m.ncpus - 1


cdef inline void set_state(Machine* m, int slot, int state) noexcept nogil:
    """clockevents_switch_state: leaving PERIODIC/ONESHOT stops the hardware."""
    m.slots[slot].state = state
    cancel(m, slot)


cdef inline void stop_oneshot(Machine* m, int slot) noexcept nogil:
    """tick_program_event(KTIME_MAX) on a ONESHOT device (next_event already KTIME_MAX): ONESHOT_STOPPED where the
    driver has set_state_oneshot_stopped; without it __clockevents_switch_state returns -ENOSYS, the state stays
    ONESHOT and the hardware stays armed for its last expiry (engine semantics 19)."""
    if m.slots[slot].dev.oneshot_stopped:
        set_state(m, slot, STATE_ONESHOT_STOPPED)


# -- clockevents core ---------------------------------------------------------------------

cdef int program_min_delta(Machine* m, int slot, ns_t t) noexcept nogil:
    """clockevents_program_min_delta with CONFIG_GENERIC_CLOCKEVENTS_MIN_ADJUST (x86)."""
    cdef Slot* s = &m.slots[slot]
    cdef Device* d = s.dev
    cdef int cpu = _slot_cpu(m, slot)
    cdef int i = 0
    cdef ns_t limit = NSEC_PER_SEC_ // m.hz
    cdef ns_t delta, cur, new
    while True:
        delta = s.min_delta_ns
        s.next_event = ktime(m, t) + delta
        if s.state == STATE_SHUTDOWN:
            return 0
        s.retries += 1
        mlog(m, t, cpu, K_RETRY, slot == m.bslot, s.retries)
        if dev_set_next_event(m, slot, t, mul_shift_wrap(<uint64_t>delta, d.mult, d.shift)) == 0:
            return 0
        i += 1
        if i > 2:
            cur = s.min_delta_ns
            if cur >= limit:
                s.next_event = KTIME_MAX
                mlog(m, t, cpu, K_MIN_DELTA, slot == m.bslot, -1)
                return -ETIME_
            new = 5000 if cur < 5000 else cur + (cur >> 1)
            s.min_delta_ns = new if new < limit else limit
            mlog(m, t, cpu, K_MIN_DELTA, slot == m.bslot, s.min_delta_ns)
            i = 0


# perf: inline (with hrtimer_reprogram, hrtimer_interrupt, device_handler): see arrive in idle.pxi for the measurement.
cdef inline int program_event(Machine* m, int slot, ns_t t, ns_t expires, bint force) noexcept nogil:
    """clockevents_program_event: 0, or -ETIME when *expires* already passed (or the device refused)."""
    cdef Slot* s = &m.slots[slot]
    cdef Device* d = s.dev
    cdef ns_t delta
    cdef int rc
    s.next_event = expires
    if s.state == STATE_SHUTDOWN:
        return 0
    if s.state == STATE_ONESHOT_STOPPED:
        s.state = STATE_ONESHOT
    delta = expires - ktime(m, t)
    if delta <= 0:
        if force:
            return program_min_delta(m, slot, t)
        mlog(m, t, _slot_cpu(m, slot), K_PROGRAM_ETIME, slot == m.bslot, expires)
        return -ETIME_
    if delta < s.min_delta_ns:
        delta = s.min_delta_ns
    if delta > d.max_delta_ns:
        delta = d.max_delta_ns
    rc = dev_set_next_event(m, slot, t, mul_shift_wrap(<uint64_t>delta, d.mult, d.shift))
    if rc and force:
        return program_min_delta(m, slot, t)
    if rc:
        mlog(m, t, _slot_cpu(m, slot), K_PROGRAM_ETIME, slot == m.bslot, expires)
    return rc


# -- tick layer: setup and periodic -------------------------------------------------------

cdef void tick_setup_device(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_setup_device + tick_setup_periodic at boot."""
    cdef Slot* s = &m.slots[cpu]
    cdef Cpu* c = &m.cpus[cpu]
    cdef Device* d = s.dev
    cdef ns_t nxt
    if c.vmi_alarm >= 0:
        # VMI 2.6.21: no clock event device; the alarm on the hijacked LVTT drives VMI's own tick code
        s.dev = &m.devs[c.vmi_alarm]
        s.dev_id = c.vmi_alarm
        c.mode = TM_VMI_ALARM
        c.check_clocks = 0
        dev_set_periodic(m, cpu, t)
        mlog(m, t, cpu, K_MODE, TM_VMI_ALARM, m.tick)
        return
    if d == NULL:
        return
    if m.do_timer_cpu == TICK_DO_TIMER_BOOT:
        m.do_timer_cpu = cpu
        m.last_jiffies_update = ktime(m, t)
    s.state = STATE_SHUTDOWN
    c.check_clocks = 1 if d.features & FEAT_ONESHOT else 0
    if c.in_periodic:
        # tick_device_uses_broadcast: the local timer stops in deep idle, the broadcast device ticks for it
        c.mode = TM_PERIODIC_BC
        mlog(m, t, cpu, K_MODE, TM_PERIODIC_BC, 0)
    elif d.features & FEAT_PERIODIC:
        c.mode = TM_PERIODIC
        dev_set_periodic(m, cpu, t)
        mlog(m, t, cpu, K_MODE, TM_PERIODIC, dev_periodic_fire(m, cpu, 1))
    else:
        c.mode = TM_PERIODIC_EMUL
        s.state = STATE_ONESHOT
        nxt = m.last_jiffies_update
        while program_event(m, cpu, t, nxt, False):
            nxt += m.tick
        mlog(m, t, cpu, K_MODE, TM_PERIODIC_EMUL, nxt)


cdef inline void do_timer_periodic(Machine* m, int cpu, ns_t t) noexcept nogil:
    if cpu == m.do_timer_cpu:
        m.last_jiffies_update += m.tick
        m.jiffies += 1
        mlog(m, t, cpu, K_JIFFIES, 1, m.jiffies)
        watchdog_jiffies_moved(m, t)


cdef inline void update_jiffies64(Machine* m, int cpu, ns_t t, ns_t now) noexcept nogil:
    """tick_do_update_jiffies64: catch jiffies up to *now* (several at once when late)."""
    cdef ns_t delta
    cdef int64_t n
    if now > m.jiffies_cap:  # finish delivering past the end: jiffies stop at the end's kernel time
        now = m.jiffies_cap
    delta = now - m.last_jiffies_update
    if delta < m.tick:
        return
    # delta >= tick here; the common case (one jiffy) skips the division.
    n = 1 if delta < 2 * m.tick else 1 + floordiv_i64(delta - m.tick, m.tick)
    m.last_jiffies_update += n * m.tick
    m.jiffies += n
    mlog(m, t, cpu, K_JIFFIES, n if n < 255 else 255, m.jiffies)
    watchdog_jiffies_moved(m, t)


cdef inline ns_t forward(ns_t exp, ns_t now, ns_t tick) noexcept nogil:
    """hrtimer_forward for exp <= now: the next slot strictly after *now* (never replays)."""
    if now - exp < tick:  # the usual on-time tick: no division
        return exp + tick
    return exp + (floordiv_i64(now - exp, tick) + 1) * tick


cdef void tick_periodic(Machine* m, int cpu, ns_t t, ns_t expiry) noexcept nogil:
    """tick_periodic: do_timer on the owner, then update_process_times (which may switch modes)."""
    cdef Cpu* c = &m.cpus[cpu]
    do_timer_periodic(m, cpu, t)
    c.ticks += 1
    mlog(m, t, cpu, K_TICK, m.via_bc, expiry)
    run_timers(m, cpu, t, ktime(m, t))
    hrtimer_run_queues(m, cpu, t)


cdef void hrtimer_run_queues(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The oneshot switch check (tick_check_oneshot_change) run from every low-res tick."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef Device* d
    if not c.check_clocks:
        return
    c.check_clocks = 0
    if not oneshot_switch_possible(m, cpu):
        return
    if m.highres:
        switch_to_oneshot(m, cpu, t, TM_HIGHRES)
    elif m.nohz_idle:
        switch_to_oneshot(m, cpu, t, TM_LOWRES_NOHZ)


cdef bint oneshot_switch_possible(Machine* m, int cpu) noexcept nogil:
    """Whether the CPU's tick check would switch it to oneshot now (tick_check_oneshot_change)."""
    cdef Device* d = m.slots[cpu].dev
    if d == NULL:   # no tick device (check_clocks is set for every CPU before its device is)
        return False
    if not m.cs[m.cs_idx].continuous or not (d.features & FEAT_ONESHOT) or m.cpus[cpu].mode == TM_PERIODIC_BC:
        return False
    if (d.features & FEAT_C3STOP) and not broadcast_oneshot_available(m):
        return False
    return m.highres or m.nohz_idle


cdef inline bint cstates_offered(Machine* m, int cpu) noexcept nogil:
    """The CPU idles with its C-states: not while its first tick has yet to switch it to oneshot (semantics 18)."""
    return not (m.cpus[cpu].check_clocks and oneshot_switch_possible(m, cpu))


cdef void switch_to_oneshot(Machine* m, int cpu, ns_t t, int mode) noexcept nogil:
    """tick_switch_to_oneshot + tick_setup_sched_timer (highres) / tick_nohz_switch_to_nohz (lowres)."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t now, exp
    c.mode = mode
    set_state(m, cpu, STATE_ONESHOT)
    m.slots[cpu].next_event = KTIME_MAX
    m.bc_mode_oneshot = True
    now = ktime(m, t)
    exp = m.last_jiffies_update
    if m.skew_tick:
        exp += (m.tick >> 1) // m.ncpus * cpu
    if exp <= now:
        exp = forward(exp, now, m.tick)
    c.sched_expires = exp
    mlog(m, t, cpu, K_MODE, mode, exp)
    if mode == TM_HIGHRES:
        hrtimer_reprogram(m, cpu, t, True)   # hrtimer_start_expires
    else:
        program_event(m, cpu, t, c.sched_expires, True)


cdef inline bint broadcast_oneshot_available(Machine* m) noexcept nogil:
    if m.bc_kind == BC_HRTIMER:
        return True
    return m.bc_kind == BC_DEVICE and (m.devs[m.bc_dev].features & FEAT_ONESHOT) != 0


# -- hrtimers (high-res mode) -------------------------------------------------------------

cdef inline ns_t hrtimer_next(Machine* m, int cpu) noexcept nogil:
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t nxt = c.sched_expires
    cdef int i
    for i in range(c.nutimers):
        if c.utimers[i].hard < nxt:   # the hard expiry (soft + slack): __hrtimer_next_event_base programs it
            nxt = c.utimers[i].hard
    if m.bc_bound == cpu and m.bc_expires < nxt:
        nxt = m.bc_expires
    return nxt


cdef inline int hrtimer_reprogram(Machine* m, int cpu, ns_t t, bint force) noexcept nogil:
    """Program the CPU's device for its earliest hrtimer (or stop it when there is none).

    *force*: everywhere but at the end of hrtimer_interrupt, which retries instead: starting or moving a
    timer (hrtimer_start, hrtimer_force_reprogram) programs through __hrtimer_reprogram with force.
    While the device is armed for a broadcast hrtimer another CPU took away (hr_stale), only an earlier expiry
    reprograms it."""
    cdef ns_t nxt = hrtimer_next(m, cpu)
    cdef Slot* s = &m.slots[cpu]
    cdef Cpu* c = &m.cpus[cpu]
    if c.hr_stale != KTIME_MAX:
        if nxt >= c.hr_stale:
            return 0
        c.hr_stale = KTIME_MAX
    if nxt == KTIME_MAX:
        s.next_event = KTIME_MAX
        if s.state == STATE_ONESHOT:
            stop_oneshot(m, cpu)
        return 0
    if m.cpus[cpu].in_oneshot:
        if s.state == STATE_SHUTDOWN:
            # the local device is shut down in deep idle: only record what the broadcast must honour
            s.next_event = nxt
            if nxt < m.bc_next_event:
                bc_set_event(m, cpu, t, nxt)
            return 0
        if nxt == s.next_event and s.fire_at != KTIME_MAX:
            return 0   # left running on its way into the broadcast (its hrtimer is first): armed for it already
    return program_event(m, cpu, t, nxt, force)


cdef inline void hrtimer_interrupt(Machine* m, int cpu, ns_t t) noexcept nogil:
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t now
    cdef int tries = 0
    c.nr_events += 1
    m.slots[cpu].next_event = KTIME_MAX
    c.hr_stale = KTIME_MAX   # expires_next is computed afresh from the CPU's own hrtimers
    now = ktime(m, t)
    if not expire_hrtimers(m, cpu, t, now):
        mlog(m, t, cpu, K_IRQ, m.via_bc, now)
    while hrtimer_reprogram(m, cpu, t, False):
        # Already past: expire again (hrtimer_interrupt's retry loop), then the hang path.
        c.nr_retries += 1
        tries += 1
        expire_hrtimers(m, cpu, t, ktime(m, t))
        if tries >= 3:
            # the hang path: now + the handler's time (none in the model), forced (engine semantics 15)
            c.nr_hangs += 1
            program_event(m, cpu, t, ktime(m, t), True)
            break


cdef bint expire_hrtimers(Machine* m, int cpu, ns_t t, ns_t now) noexcept nogil:
    """Run every hrtimer of the CPU due at *now*: the sched tick, the broadcast hrtimer, user timers."""
    cdef bint handled_tick = False
    if m.cpus[cpu].sched_expires <= now:
        tick_sched_timer(m, cpu, t, now)
        handled_tick = True
    run_timers(m, cpu, t, now)
    return handled_tick


cdef inline void tick_sched_do_timer(Machine* m, int cpu, ns_t t, ns_t now) noexcept nogil:
    """tick_sched_do_timer: take a dropped do_timer duty, update jiffies on its owner, and (6.1+) update them
    here too when this CPU's tick found them unchanged MAX_STALLED_JIFFIES times in a row (a stalled
    timekeeper: a descheduled vCPU)."""
    cdef Cpu* c = &m.cpus[cpu]
    if m.do_timer_cpu == TICK_DO_TIMER_NONE:
        m.do_timer_cpu = cpu
    if m.do_timer_cpu == cpu:
        update_jiffies64(m, cpu, t, now)
    if c.tick_jiffies != m.jiffies:
        c.tick_jiffies = m.jiffies
        c.stalled_jiffies = 0
    else:
        c.stalled_jiffies += 1
        if c.stalled_jiffies == MAX_STALLED_JIFFIES:
            update_jiffies64(m, cpu, t, now)
            c.stalled_jiffies = 0
            c.tick_jiffies = m.jiffies


cdef inline void tick_sched_handle(Machine* m, int cpu) noexcept nogil:
    """tick_sched_handle: update_process_times, counted as one tick of the CPU."""
    cdef Cpu* c = &m.cpus[cpu]
    if c.tick_stopped:
        c.idle_jiffies += 1
        m.next_tick[cpu] = 0   # the next stop programs the expiry again
    c.ticks += 1


cdef void tick_sched_timer(Machine* m, int cpu, ns_t t, ns_t now) noexcept nogil:
    """tick_sched_timer / tick_nohz_handler: jiffies, process times, then forward (never replay)."""
    cdef Cpu* c = &m.cpus[cpu]
    tick_sched_do_timer(m, cpu, t, now)
    tick_sched_handle(m, cpu)
    mlog(m, t, cpu, K_TICK, m.via_bc, c.sched_expires)
    if c.tick_stopped:
        c.sched_expires = KTIME_MAX  # HRTIMER_NORESTART: the idle loop re-arms
    else:
        c.sched_expires = forward(c.sched_expires, now, m.tick)


cdef void lowres_handler(Machine* m, int cpu, ns_t t) noexcept nogil:
    """tick_nohz_lowres_handler: every interrupt runs the tick (tick_sched_do_timer, tick_sched_handle and, from
    it, hrtimer_run_queues: the broadcast hrtimer, user timers), whether or not the sched_timer's slot is due."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef ns_t now
    cdef int stopped
    m.slots[cpu].next_event = KTIME_MAX
    now = ktime(m, t)
    stopped = c.tick_stopped
    if c.sched_expires <= now:
        tick_sched_timer(m, cpu, t, now)
    else:
        # before the slot (an interrupt already raised when the device was re-armed, one programmed for a
        # timer): a tick for no slot (value = kernel time); hrtimer_forward leaves the sched_timer alone
        tick_sched_do_timer(m, cpu, t, now)
        tick_sched_handle(m, cpu)
        mlog(m, t, cpu, K_TICK, m.via_bc, now)
    # one run_timers call site: see bc_hrtimer_expire on GCC's inlining of the tick path
    run_timers(m, cpu, t, now)
    if stopped:
        return   # the idle loop programs the stopped tick again (next_tick was cleared)
    program_event(m, cpu, t, c.sched_expires, True)   # forwarded past now by tick_sched_timer when due


# -- interrupt handlers -------------------------------------------------------------------

cdef inline void device_handler(Machine* m, int cpu, ns_t t) noexcept nogil:
    """The CPU's tick device interrupt: dispatch to the handler the core installed."""
    cdef Cpu* c = &m.cpus[cpu]
    cdef Slot* s = &m.slots[cpu]
    cdef int mode = c.mode
    cdef ns_t nxt
    c.irqs += 1
    if mode == TM_HIGHRES:
        hrtimer_interrupt(m, cpu, t)
    elif mode == TM_PERIODIC:
        # the device reloaded itself at dispatch (per_expiry); KVM's in-kernel PIT acks its host queue
        if m.pv_pit and s.dev.host_pit and s.state == STATE_PERIODIC:
            pit_guest_tick(m, cpu, t)
        else:
            tick_periodic(m, cpu, t, s.per_expiry)
    elif mode == TM_PERIODIC_EMUL:
        nxt = s.next_event
        tick_periodic(m, cpu, t, nxt)
        while c.mode == TM_PERIODIC_EMUL:
            nxt += m.tick
            if program_event(m, cpu, t, nxt, False) == 0:
                break
            # the catch-up replay; a slot past the end's kernel time is dropped (finish: semantics 17, as the reference)
            if m.cs[m.cs_idx].continuous and nxt <= m.jiffies_cap:
                tick_periodic(m, cpu, t, nxt)
    elif mode == TM_LOWRES_NOHZ:
        lowres_handler(m, cpu, t)
    elif mode == TM_VMI_ALARM:
        vmi_alarm(m, cpu, t)


cdef void event_handler(Machine* m, int cpu, ns_t t, ns_t expiry) noexcept nogil:
    """evt->event_handler called on behalf of the broadcast (tick_receive_broadcast)."""
    cdef int mode = m.cpus[cpu].mode
    m.via_bc = 1
    if mode == TM_HIGHRES:
        hrtimer_interrupt(m, cpu, t)
    elif mode == TM_LOWRES_NOHZ:
        lowres_handler(m, cpu, t)
    else:
        tick_periodic(m, cpu, t, expiry)
    m.via_bc = 0  # not restored on nesting: as the reference

"""Reference engine, part two: workloads, idle and C-states, NO_HZ.

Mixed into :class:`tickscope.sim.reference.ReferenceEngine`; the Cython engine
mirrors it in ``ext/idle.pxi``.  The broadcast is in :mod:`tickscope.sim.reference_broadcast`
and the clocksource watchdog in :mod:`tickscope.sim.reference_watchdog`.

Idle model
----------
A CPU is *busy* (running a task), *in the idle loop* (C0, between interrupts)
or *asleep* in a C-state.  An interrupt that reaches a sleeping CPU waits for
the state's exit latency (one ``EV_WAKE``), then ``tick_broadcast_exit`` runs,
then the pending handlers, then the idle loop decides again: back to busy
(``tick_nohz_idle_exit``) or asleep again (``tick_nohz_idle_stop_tick`` and the
governor).  With no C-states configured the CPU halts in an implicit ``HLT``
state with no exit latency.
"""
from __future__ import annotations

import math

from tickscope.sim import boot as B
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.reference_clockevents import KTIME_MAX, STATE_ONESHOT, STATE_PERIODIC, ceil_div

EBUSY = 16
EV_IPI, EV_WAKE, EV_WORK, EV_WORKEND, EV_WATCHDOG = 1, 2, 3, 4, 5

RUNNING = -2   # idle_state: running a task
IN_IDLE = -1   # idle_state: in the idle loop, awake


class IdleMixin:
    PEND_DEV, PEND_BC, PEND_IPI, PEND_RESCHED = 1, 2, 4, 8

    # ------------------------------------------------------------------ set-up
    def _init_idle(self):
        p = self.plan
        n = self.ncpus
        self.cstates = list(p.cstates) or [("HLT", 0, 0, False)]
        self.nstates = len(self.cstates)
        # no C-states: no cpuidle driver, the idle loop halts in default_idle_call and no governor has a say in
        # stopping the tick (cpuidle_not_available: tick_nohz_idle_stop_tick alone)
        self.has_cpuidle = bool(p.cstates)
        self.idle_state = [RUNNING] * n
        self.waking = [False] * n
        self.wake_gen = [0] * n
        self.pending = [0] * n
        self.state_enter = [0] * n
        self.bc_used = [False] * n
        self.residency = [[0] * self.nstates for _ in range(n)]
        self.wakeups = [0] * n
        self.bc_received = [0] * n
        self.ipis = [0] * n
        self.resched_ipis = [0] * n  # NO_HZ kicks (wake_up_nohz_cpu): /proc/interrupts' RES
        self.bc_irqs = 0
        self.ipi_expiry = [0] * n
        self.ipi_from = [0] * n   # the CPU that sent the last broadcast IPI (tick_do_broadcast's caller)
        self.deep_ns = [0] * n        # time spent in timer-stopping states (a non-invariant TSC stops there)
        # NO_HZ per-CPU state (struct tick_sched)
        self.tick_stopped = [0] * n
        self.last_tick = [0] * n
        self.idle_jiffies = [0] * n
        self.idle_calls = [0] * n
        self.idle_sleeps = [0] * n
        self.idle_entrytime = [0] * n
        self.idle_waketime = [0] * n
        self.idle_exittime = [0] * n
        self.idle_sleeptime = [0] * n
        self.idle_expires = [0] * n
        self.do_timer_last = [0] * n
        self.tick_jiffies = [-1] * n     # ts->last_tick_jiffies: jiffies as this CPU's tick last saw them change
        self.stalled_jiffies = [0] * n   # ts->stalled_jiffies: its ticks since then
        self.next_tick = [0] * n   # ts->next_tick: the stopped tick's expiry last programmed (0 = none)
        # read only by timer-list: tick_nohz_next_event's basejiff (-1 = never asked) and the next timer it found
        self.ts_last_jiffies = [-1] * n
        self.ts_next_timer = [0] * n
        # workload
        self.busy_mixed = [False] * n
        self.busy_until = [0] * n
        self.work_len = [-1] * n   # a busy period drawn while the CPU slept: it starts when the CPU runs
        self.work_gen = [0] * n
        self.tw_gen = [0] * n
        self.utimers = [[] for _ in range(n)]   # per CPU: [soft expiry, kind, param, slack, hard expiry]
        # broadcast
        self.oneshot_mask: set[int] = set()
        self.pending_mask: set[int] = set()
        self.force_mask: set[int] = set()
        self.bc_next_event = KTIME_MAX
        self.bc_bound = -1
        self.bc_expires = KTIME_MAX
        self.bc_mode_oneshot = False
        self.bc_periodic_mask: set[int] = set()
        # intel_idle turns the broadcast on (tick_broadcast_enable) on every CPU without ARAT, whatever its
        # states; tick_broadcast_control takes only CPUs whose tick device has C3STOP (engine semantics 19)
        if p.bc_kind == B.BC_DEVICE and self.cstates and not self._will_switch_oneshot():
            self.bc_periodic_mask = {c for c in range(n)
                                     if p.tick_device[c] >= 0 and self.devs[p.tick_device[c]].has(B.FEAT_C3STOP)}
        # watchdog
        self.wd_first = True
        self.wd_round = 0
        self.wd_expires = KTIME_MAX        # the watchdog timer's next expiry (queued on CPU wd_round % ncpus)
        self.wd_jexp = 0                   # its expires, absolute jiffies: + WATCHDOG_INTERVAL (HZ >> 1) a round
        self.wd_bucket = 0                 # the jiffy whose tick runs it (timer_wheel_bucket)
        self.wd_cs_last = 0
        self.wd_wd_last = 0
        self.wd_waiting = False            # a due round waits for its CPU to run and for jiffies to have moved
        self.wd_arm_jiffies = 0            # jiffies when the timer was last queued
        self.wd_due_jiffies = 1 << 62      # its bucket, in jiffies from t = 0 (none queued yet)
        self.wd_gen = 0                    # the valid queue entry's generation (a retry makes the timer's stale)

    def _will_switch_oneshot(self) -> bool:
        p = self.plan
        cs = p.clocksources[p.cs_index]
        return (p.highres or p.nohz_idle) and cs.continuous and any(
            d >= 0 and self.devs[d].has(B.FEAT_ONESHOT) for d in p.tick_device)

    def _start_idle(self):
        """After the tick devices are set up: the broadcast device, user timers, workloads, the watchdog."""
        p = self.plan
        if self.bc_periodic_mask:
            self._set_periodic(self.bslot, 0)
        for cpu in range(self.ncpus):
            for kind, param, slack in p.timers[cpu]:
                first = param if kind == B.TIMER_PERIODIC else self._draw_exp(param)
                # [soft expiry, kind, param, slack, hard expiry]: runs from soft on, the device is programmed for hard
                self.utimers[cpu].append([first, kind, param, slack, first + slack])
        for cpu in range(self.ncpus):
            kind, busy, idle = p.workload[cpu]
            if kind == B.WL_BUSY:
                self.busy_mixed[cpu] = True
            elif kind == B.WL_MIXED:
                self.busy_mixed[cpu] = True
                self._schedule_work(cpu, 0, busy)
            if not self.busy_mixed[cpu]:
                self._idle_enter(cpu, 0)
        if p.watchdog >= 0:
            # clocksource_start_watchdog: expires = jiffies + WATCHDOG_INTERVAL, queued at jiffies
            self.wd_jexp = p.initial_jiffies
            self._watchdog_arm(p.initial_jiffies)

    # ------------------------------------------------------------------ random durations
    def _draw_exp(self, mean) -> int:
        u = ((self._rand() >> 11) + 1) / 9007199254740992.0  # (0, 1]
        return max(1, int(-mean * math.log(u)))

    def _draw(self, dist) -> int:
        code, mean, lo, hi = dist
        if code == B.DIST_FIXED:
            return mean
        if code == B.DIST_EXP:
            return self._draw_exp(mean)
        return lo + self._rand() % (hi - lo + 1)

    # ------------------------------------------------------------------ workload
    def _busy(self, cpu, t) -> bool:
        return self.busy_mixed[cpu] or t < self.busy_until[cpu]

    def _schedule_work(self, cpu, t, dist):
        self._queue_work(cpu, t + self._draw(dist))

    def _queue_work(self, cpu, at):
        self.work_gen[cpu] += 1
        self._push(at, EV_WORK, cpu, self.work_gen[cpu])

    def _work_toggle(self, cpu, t):
        """A mixed workload's busy period ends or its idle period ends.

        A busy period is CPU time: drawn now, but when the CPU is asleep it starts once the CPU has woken
        (``_idle_exit``) and not during the C-state's exit latency."""
        kind, busy, idle = self.plan.workload[cpu]
        was = self._busy(cpu, t)
        self.busy_mixed[cpu] = not self.busy_mixed[cpu]
        if self.busy_mixed[cpu] and self.idle_state[cpu] >= 0:
            self.work_len[cpu] = self._draw(busy)
        else:
            self._schedule_work(cpu, t, busy if self.busy_mixed[cpu] else idle)
        self._work_changed(cpu, t, was)

    def _timer_work_end(self, cpu, t):
        self._work_changed(cpu, t, True)

    def _work_changed(self, cpu, t, was_busy):
        now_busy = self._busy(cpu, t)
        if was_busy and not now_busy:
            self._idle_enter(cpu, t)
        elif not was_busy and now_busy:
            self._arrive(cpu, t, self.PEND_RESCHED)

    def _utimer_fire(self, cpu, t, i, now):
        u = self.utimers[cpu][i]
        self._log(t, cpu, Kind.UTIMER, i, u[0])
        if u[1] == B.TIMER_PERIODIC:
            u[0] += ((now - u[0]) // u[2] + 1) * u[2]   # hrtimer_forward: overruns skipped
        else:
            u[0] += self._draw_exp(u[2])   # Poisson arrivals at rate_hz, however late this one ran
        u[4] = u[0] + u[3]
        if self.plan.timer_work_ns and not self.busy_mixed[cpu]:
            # each expiry's work is CPU time: it queues behind the work still running
            self.busy_until[cpu] = max(self.busy_until[cpu], t) + self.plan.timer_work_ns
            self.tw_gen[cpu] += 1
            self._push(self.busy_until[cpu], EV_WORKEND, cpu, self.tw_gen[cpu])

    def _not_before(self, exp, now):
        """*exp* if still ahead of *now*, else the next tick slot strictly after *now* (hrtimer_forward; the
        engine's ``forward`` behind its ``exp <= now`` test)."""
        return exp if exp > now else exp + ((now - exp) // self.tick + 1) * self.tick

    def _run_timers(self, cpu, t, now):
        """The broadcast hrtimer and user timers due at *now*: from hrtimer_interrupt (high-res, after the sched
        tick) or from every low-res tick interrupt (hrtimer_run_queues)."""
        if self.bc_bound == cpu and self.bc_expires <= now:
            self.bc_expires = KTIME_MAX
            self._bc_oneshot_handler(cpu, t)
        for i, u in enumerate(self.utimers[cpu]):
            while u[0] <= now:
                self._utimer_fire(cpu, t, i, now)

    # ------------------------------------------------------------------ interrupts reaching a CPU
    def _arrive(self, cpu, t, what):
        s = self.idle_state[cpu]
        if self.waking[cpu]:
            self.pending[cpu] |= what
            return
        if s >= 0:
            self.pending[cpu] |= what
            self.waking[cpu] = True
            self.wake_gen[cpu] += 1
            self._push(t + self.cstates[s][1], EV_WAKE, cpu, self.wake_gen[cpu])
            return
        self._handle(cpu, t, what)
        self._after_irq(cpu, t, what == self.PEND_RESCHED)

    def _wake_done(self, cpu, t):
        self.waking[cpu] = False
        s = self.idle_state[cpu]
        res = t - self.state_enter[cpu]
        # woken while finish drains: the residency report stops at the run's end
        self.residency[cpu][s] += max(0, min(t, self.acct_end) - self.state_enter[cpu])
        self.wakeups[cpu] += 1
        if self.cstates[s][3]:
            self.deep_ns[cpu] += res
        self._log(t, cpu, Kind.WAKE, s, res)
        self.idle_state[cpu] = IN_IDLE
        if self.bc_used[cpu]:
            self.bc_used[cpu] = False
            self._bc_exit(cpu, t)
        # irq_enter on an idle CPU (tick_nohz_stop_idle): the sleep so far counts now, the next starts now
        now = self.ktime(t)
        self.idle_sleeptime[cpu] += now - self.idle_entrytime[cpu]
        self.idle_entrytime[cpu] = now
        pend = self.pending[cpu]
        self.pending[cpu] = 0
        for bit in (self.PEND_DEV, self.PEND_BC, self.PEND_IPI):
            if pend & bit:
                self._handle(cpu, t, bit)
        self._after_irq(cpu, t, bool(pend & self.PEND_RESCHED))

    def _handle(self, cpu, t, what):
        """An interrupt's handler on *cpu*.  need_resched alone (PEND_RESCHED: a NO_HZ kick, a task woken here) is
        no interrupt: x86's reschedule IPI is a simple system vector without irq_enter, and a CPU idling in MWAIT
        gets only the flag, so tick_irq_enter does not run for it (engine semantics 17)."""
        if what == self.PEND_RESCHED:
            return
        if self.tick_stopped[cpu]:
            # tick_irq_enter on a tickless CPU: tick_nohz_update_jiffies notes the wake and catches jiffies up
            now = self.ktime(t)
            self.idle_waketime[cpu] = now
            self._update_jiffies64(cpu, t, now)
        if what == self.PEND_DEV:
            self._device_handler(cpu, t)
        elif what == self.PEND_BC:
            self._bc_device_interrupt(cpu, t)
        else:
            self.bc_received[cpu] += 1
            self.ipis[cpu] += 1
            self._log(t, cpu, Kind.BROADCAST, 0 if self.bc_mode_oneshot else 1, self.ipi_from[cpu])
            self._event_handler(cpu, t, self.ipi_expiry[cpu])

    def _after_irq(self, cpu, t, resched=False):
        """The idle loop after the interrupts: run the task now due, or idle on.  need_resched set (*resched*) with
        nothing to run is the NO_HZ kick (wake_up_idle_cpu): do_idle leaves its loop all the same, so
        tick_nohz_idle_exit restarts a stopped tick and writes idle_exittime, and schedule_idle comes straight back
        to tick_nohz_idle_enter (engine semantics 17; before, the kicked CPU only ran its idle loop again)."""
        if self.idle_state[cpu] == RUNNING:
            return
        if self._busy(cpu, t):
            self._idle_exit(cpu, t)
        elif resched:
            self._idle_exit(cpu, t)
            self._idle_enter(cpu, t)
        else:
            self._idle_reenter(cpu, t)

    # ------------------------------------------------------------------ idle entry / exit
    def _idle_enter(self, cpu, t):
        self.idle_state[cpu] = IN_IDLE
        self.idle_entrytime[cpu] = self.ktime(t)
        self._idle_reenter(cpu, t)

    def _nohz_active(self, cpu) -> bool:
        return self.plan.nohz_idle and self.mode[cpu] in (TickMode.HIGHRES, TickMode.LOWRES_NOHZ)

    def _idle_reenter(self, cpu, t):
        """One pass of the idle loop: maybe stop the tick, ask the governor, go to sleep."""
        # menu asks tick_nohz_tick_stopped() before this pass stops the tick: only a tick still running bounds
        # the exit latency by the predicted sleep (engine semantics 16)
        stopped_before = self.tick_stopped[cpu]
        predicted = -1   # tick_nohz_get_sleep_length: the device's next event unless NO_HZ finds the next timer
        if self._nohz_active(cpu):
            predicted = self._nohz_stop_tick(cpu, t)
        now = self.ktime(t)
        nxt = self.next_event[cpu]
        if self.mode[cpu] == TickMode.PERIODIC_BC:
            nxt = self.next_event[self.bslot] if self.state[self.bslot] else KTIME_MAX
            nxt = min(nxt, now + self.tick)
        elif self.mode[cpu] == TickMode.PERIODIC and self.state[cpu] == STATE_PERIODIC:
            # a device ticking periodically in hardware keeps no next event: its next period is within a tick
            # (engine semantics 11; the governor saw an endless sleep and picked the deepest state every time)
            nxt = min(nxt, now + self.tick)
        sleep = nxt - now if nxt != KTIME_MAX else KTIME_MAX
        if not self._cstates_offered(cpu):
            # until its first tick has switched it to oneshot a CPU idles in the shallowest state (HLT), without
            # the governor or the broadcast: in a real boot the C-states appear when the cpuidle driver registers
            # (device_initcall), after the switch that clocksource_done_booting sets off.  A machine that stays
            # periodic has them from t = 0 (engine semantics 18; before, a C3STOP CPU asked for a deep state at
            # t = 0 and the broadcast, still periodic, refused it: deep_refused 1 on every CPU)
            s = 0
        else:
            if predicted < 0:
                s = self._governor(sleep, KTIME_MAX if stopped_before else sleep)
            else:
                # the tick was running and menu retained it (_nohz_stop_tick returns a prediction only then; engine
                # semantics 19): menu picks by the predicted sleep, which the tick does not cut short, with that
                # sleep as its exit-latency limit, then steps down to a state whose target residency fits before
                # the tick (delta_tick: the device's next event)
                s = self._governor(predicted, predicted)
                while s > 0 and self.cstates[s][2] > sleep:
                    s -= 1
            did = self.dev[cpu]
            if self.cstates[s][3] and did >= 0 and self.devs[did].has(B.FEAT_C3STOP):
                rc = self._bc_enter(cpu, t)
                self._log(t, cpu, Kind.BC_ENTER, 1 if rc else 0, s)
                if rc:
                    s = self._state_keeping_timer(s)
                else:
                    self.bc_used[cpu] = self.mode[cpu] != TickMode.PERIODIC_BC
        self.idle_state[cpu] = s
        self.state_enter[cpu] = t
        self._log(t, cpu, Kind.IDLE, s, min(sleep, KTIME_MAX))

    def _governor(self, sleep, latency_limit) -> int:
        """menu-like: the deepest state whose target residency fits the predicted sleep, walking the states
        shallow to deep and stopping at the first whose exit latency exceeds *latency_limit* (menu_select: with
        the tick running, ``latency_req`` is at most the predicted idle duration; engine semantics 16)."""
        best = 0
        for i, (_name, lat, res, _stops) in enumerate(self.cstates):
            if res > sleep or lat > latency_limit:
                break
            best = i
        return best

    def _state_keeping_timer(self, refused) -> int:
        """cpuidle_enter_state after tick_broadcast_enter said -EBUSY: find_deepest_state with the refused state's
        exit latency as the limit and timer-stopping states forbidden, each pick slower to leave than the one
        before (exit latency strictly rising); target residency is not looked at (engine semantics 16; before,
        the residency-only governor again)."""
        best = 0
        limit = self.cstates[refused][1]
        picked = 0
        for i, (_name, lat, _res, stops) in enumerate(self.cstates):
            if stops or lat <= picked or lat > limit:
                continue
            picked = lat
            best = i
        return best

    def _idle_exit(self, cpu, t):
        """tick_nohz_idle_exit: restart the tick if it was stopped; the CPU runs its task.  idle_exittime is set
        only with the tick stopped (tick_nohz_account_idle_time, via tick_nohz_idle_update_tick)."""
        stopped = self.tick_stopped[cpu]
        if stopped:
            self._nohz_restart_tick(cpu, t)
        now = self.ktime(t)
        if stopped:
            self.idle_exittime[cpu] = now
        self.idle_sleeptime[cpu] += now - self.idle_entrytime[cpu]
        self.idle_state[cpu] = RUNNING
        if self.work_len[cpu] >= 0:
            self._queue_work(cpu, t + self.work_len[cpu])
            self.work_len[cpu] = -1

    # ------------------------------------------------------------------ NO_HZ
    def _next_hrtimer(self, cpu) -> int:
        """The CPU's earliest hrtimer other than its tick (by hard expiry: user timers' slack included) and the
        broadcast hrtimer it holds."""
        nxt = KTIME_MAX
        for u in self.utimers[cpu]:
            if u[4] < nxt:
                nxt = u[4]
        if self.bc_bound == cpu and self.bc_expires < nxt:
            nxt = self.bc_expires
        return nxt

    def _jiffy_at_or_after(self, k) -> int:
        """The start of the first jiffy at or after kernel time *k* (> last_jiffies_update) on the kernel's grid."""
        base = self.last_jiffies_update
        return base + ceil_div(k - base, self.tick) * self.tick

    def _next_timer(self, cpu, t) -> int:
        """get_next_timer_interrupt as tick_nohz_next_event asks it: the next timer-wheel timer, and in low-res
        mode also the next hrtimer (hrtimers run from the tick there).  In high-res mode hrtimers are not looked
        at: they program the device themselves, and the stopped tick's sched_timer is queued at the next
        timer-wheel timer (or the timekeeper's max_idle_ns cap, or not at all)."""
        nxt = KTIME_MAX
        if self.wd_round % self.ncpus == cpu and self._watchdog_watching() and not self.wd_waiting:
            # the watchdog is a timer_list timer on the CPU it runs on next (add_timer_on): it wakes that CPU
            nxt = self._watchdog_expiry(self.ktime(t))
        if self.mode[cpu] == TickMode.LOWRES_NOHZ:
            nxt = min(nxt, self._next_hrtimer(cpu))
            if nxt != KTIME_MAX:
                # low-res: timers only run from the tick, so the next event is the jiffy at or after them
                if nxt > self.last_jiffies_update:
                    nxt = self._jiffy_at_or_after(nxt)
        return nxt

    def _menu_keeps_tick(self, predicted) -> bool:
        """menu_select's stop_tick while the tick runs, for a predicted sleep of *predicted* ns: it keeps the tick
        for a sleep under a tick; for a longer one it walks the states shallow to deep, and at the first whose
        target residency the sleep does not reach it predicts the target residency of the state it has so far
        ("retain the tick": waking early from a shallow state does not hurt), keeping the tick if that is under a
        tick; a state whose exit latency exceeds the sleep ends the walk with the tick stopped (engine semantics
        19; before, only a sleep under a tick kept it)."""
        if predicted < self.tick:
            return True
        best = 0
        for i, (_name, lat, res, _stops) in enumerate(self.cstates):
            if res > predicted:
                return self.cstates[best][2] < self.tick
            if lat > predicted:
                return False
            best = i
        return False

    def _nohz_stop_tick(self, cpu, t) -> int:
        """tick_nohz_idle_stop_tick: stop the tick if nothing is due within a tick.  Returns the sleep the
        governor predicted when it retained the running tick (tick_nohz_get_sleep_length: the next timer or
        hrtimer, from now); -1 otherwise: the tick stopped, or a timer within a tick kept it (the governor then
        reads the device's next event)."""
        base = self.last_jiffies_update
        nxt = self._next_timer(cpu, t)
        self.ts_last_jiffies[cpu], self.ts_next_timer[cpu] = self.jiffies, nxt   # tick_nohz_next_event's record
        # in high-res mode the hrtimers (not in nxt) also decide below whether moving the sched_timer reprograms
        # the device
        hr = self._next_hrtimer(cpu) if self.mode[cpu] == TickMode.HIGHRES else KTIME_MAX
        if not self.tick_stopped[cpu]:
            now = self.ktime(t)
            # tick_nohz_next_event: a timer due within a tick of the last jiffy update keeps the tick.  A governor
            # then predicts the device's next event; only if that is a tick away or more does it still ask for
            # the stop (tick_nohz_idle_stop_tick, which counts the call and finds expires 0)
            if nxt != KTIME_MAX and nxt - base <= self.tick:
                if not self.has_cpuidle or self.next_event[cpu] - now >= self.tick:
                    self.idle_calls[cpu] += 1
                return -1
            # menu's stop_tick (engine semantics 13, 19): the governor keeps the tick when the sleep it predicts,
            # the time from now to the next event, hrtimers included (tick_nohz_get_sleep_length), is below a tick,
            # or when its state choice retains it; the idle loop then retains the tick
            # (tick_nohz_idle_retain_tick), which counts no idle call
            soon = min(nxt, hr)
            if self.has_cpuidle and soon != KTIME_MAX and self._menu_keeps_tick(soon - now):
                return soon - now
        self.idle_calls[cpu] += 1
        if self.do_timer_cpu == cpu or (self.do_timer_cpu == -1 and self.do_timer_last[cpu]):
            cap = base + self.plan.clocksources[self.cs_idx].params.max_idle_ns
            expires = min(nxt, cap)
        else:
            expires = nxt
        if self.do_timer_cpu == cpu:
            self.do_timer_cpu = -1
            self.do_timer_last[cpu] = 1
        elif self.do_timer_cpu != -1:
            self.do_timer_last[cpu] = 0
        if self.tick_stopped[cpu] and expires == self.next_tick[cpu]:
            # tick_nohz_stop_tick: the stopped tick's expiry did not change, so nothing is reprogrammed (next_tick
            # is cleared wherever the sched_timer moves otherwise: its expiry, the restart)
            self.idle_sleeps[cpu] += 1
            self.idle_expires[cpu] = expires
            return -1
        if not self.tick_stopped[cpu]:
            self.last_tick[cpu] = self.sched_expires[cpu]
            self.tick_stopped[cpu] = 1
            self.idle_jiffies[cpu] = self.jiffies
            self._log(t, cpu, Kind.TICK_STOP, 0, expires)
        self.idle_sleeps[cpu] += 1
        self.idle_expires[cpu] = expires
        self.next_tick[cpu] = expires
        old = self.sched_expires[cpu]
        self.sched_expires[cpu] = expires
        if self.mode[cpu] == TickMode.HIGHRES:
            self._sched_timer_moved(cpu, t, old, expires, hr)
        elif expires == KTIME_MAX:
            self.next_event[cpu] = KTIME_MAX
            if self.state[cpu] == STATE_ONESHOT:
                self._stop_oneshot(cpu)
        elif cpu in self.oneshot_mask:
            self.next_event[cpu] = expires
        else:
            self._program_event(cpu, t, expires, True)
        return -1

    def _sched_timer_moved(self, cpu, t, old, new, hr):
        """High-res: the sched_timer moved from expiry *old* (KTIME_MAX: not queued) to *new*.  hrtimer_start /
        hrtimer_cancel reprogram the device only when it was the CPU's first hrtimer (before the others' earliest,
        *hr*: force_local, or its removal) or becomes it (hrtimer_reprogram: before expires_next)."""
        if (old != KTIME_MAX and old <= hr) or new < hr:
            self._hrtimer_reprogram(cpu, t, True)

    def _nohz_restart_tick(self, cpu, t):
        """tick_nohz_restart_sched_tick: catch jiffies up, resume the tick on its old grid."""
        now = self.ktime(t)
        self._update_jiffies64(cpu, t, now)
        self.tick_stopped[cpu] = 0
        self.next_tick[cpu] = 0   # tick_nohz_restart
        exp = self._not_before(self.last_tick[cpu], now)
        old = self.sched_expires[cpu]   # KTIME_MAX: cancelled by the stop, or expired with the tick stopped
        self.sched_expires[cpu] = exp
        self._log(t, cpu, Kind.TICK_RESTART, 0, exp)
        if self.mode[cpu] == TickMode.HIGHRES:
            # as on the stop (engine semantics 17; before, always, which re-armed a device the broadcast exit had
            # left unprogrammed for an hrtimer already past)
            self._sched_timer_moved(cpu, t, old, exp, self._next_hrtimer(cpu))
        else:
            self._program_event(cpu, t, self.sched_expires[cpu], True)

    # ------------------------------------------------------------------ state for views
    def _idle_state(self, c) -> dict:
        residency = list(self.residency[c])
        s = self.idle_state[c]
        end = min(self.now, self.acct_end)
        if s >= 0 and end > self.state_enter[c]:
            residency[s] += end - self.state_enter[c]  # the sleep still going on when read
        return {
            "idle_state": self.idle_state[c], "tick_stopped": self.tick_stopped[c], "last_tick": self.last_tick[c],
            "idle_jiffies": self.idle_jiffies[c], "idle_calls": self.idle_calls[c], "idle_sleeps": self.idle_sleeps[c],
            "idle_entrytime": self.idle_entrytime[c], "idle_waketime": self.idle_waketime[c], "idle_exittime": self.idle_exittime[c],
            "idle_sleeptime": self.idle_sleeptime[c], "idle_expires": self.idle_expires[c],
            "residency_ns": residency, "wakeups": self.wakeups[c],
            "broadcast_received": self.bc_received[c], "ipis": self.ipis[c], "resched_ipis": self.resched_ipis[c],
            "last_jiffies": self.ts_last_jiffies[c], "next_timer": self.ts_next_timer[c],
            "timer_expiries": [u[0] for u in self.utimers[c]],
            "timer_slacks": [u[3] for u in self.utimers[c]],
        }

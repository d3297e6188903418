"""Reference engine: the clocksource watchdog (kernel/time/clocksource.c, clocksource_watchdog).

Mixed into :class:`tickscope.sim.reference.ReferenceEngine`; the Cython engine mirrors it in
``ext/clocksource.pxi``.  Every HZ/2 jiffies (on the timer wheel's buckets) the watchdog timer compares
the MUST_VERIFY clocksource (the TSC, read as the CPU it runs on sees it) against the watchdog clocksource
over the last interval; a skew beyond the margin marks the TSC unstable and switches to the best remaining
clocksource.
"""
from __future__ import annotations

from tickscope.sim.events import Kind, TickMode
from tickscope.sim.kclock_base import NSEC_PER_SEC, clocksource_delta, timer_wheel_bucket
from tickscope.sim.reference_clockevents import KTIME_MAX
from tickscope.sim.reference_idle import EV_WATCHDOG


#: Tick modes whose jiffies are counted by the tick itself (tick_periodic's do_timer(1), VMI's alarm loop): the
#: timer wheel reaches a bucket when those ticks have counted to it, not at a time.
_PERIODIC_JIFFIES = (TickMode.PERIODIC, TickMode.PERIODIC_EMUL, TickMode.PERIODIC_BC, TickMode.VMI_ALARM)


def _cycles_to_nsec_safe(cs, last: int, now: int) -> int:
    """The watchdog's interval in ns (6.13+): clocksource_delta with the negative-motion rule (a masked delta
    above mask*7/8 reads 0), then the product without a u64 wrap (mul_u64_u32_shr past max_cycles)."""
    return (clocksource_delta(now, last, cs.mask, cs.max_raw_delta) * cs.mult) >> cs.shift


class WatchdogMixin:
    def _tsc_read(self, cpu, t) -> int:
        """The TSC as CPU *cpu* reads it: offset per CPU, and stopped while in deep idle if not invariant."""
        lost = 0
        if self.plan.tsc_stops:
            lost = self.deep_ns[cpu]
            s = self.idle_state[cpu]
            if s >= 0 and self.cstates[s][3]:
                lost += t - self.state_enter[cpu]
        return self.tsc(t - lost) + self.plan.tsc_offset[cpu]

    def _watchdog_requeued(self, t):
        """add_timer_on(next CPU): a CPU whose tick is stopped past the new expiry is kicked (wake_up_nohz_cpu's
        reschedule IPI) so that its idle loop sees the timer."""
        target = self.wd_round % self.ncpus
        if self.tick_stopped[target] and self._watchdog_expiry(self.ktime(t)) < self.idle_expires[target]:
            self.resched_ipis[target] += 1
            self._arrive(target, t, self.PEND_RESCHED)

    def _watchdog_arm(self, clk):
        """add_timer_on: the timer's expires moves on by WATCHDOG_INTERVAL (HZ/2 jiffies) and the timer wheel runs
        it from the tick that starts its bucket's jiffy (timer_wheel_bucket from the base's clock *clk*: the
        jiffy after the round's own, as __run_timers keeps base->clk one ahead while it runs timers): 120 or 128
        jiffies apart at HZ=250, never exactly 0.5 s, and at the next jiffy when a late round finds the new expiry
        already past.  In the oneshot modes jiffies follow the kernel's clock: the jiffy starts on the TICK_NSEC
        grid from t = 0, and the round runs right then, ahead of that tick's interrupt (the kernel runs it in the
        tick's softirq, the IRQ latency later, but before the idle loop looks at its timers again).  A periodic
        tick counts jiffies itself: the round runs at the tick that counts to the bucket (_watchdog_retry)."""
        p = self.plan
        self.wd_jexp += p.hz >> 1
        self.wd_bucket = timer_wheel_bucket(self.wd_jexp, clk)
        self.wd_expires = (self.wd_bucket - p.initial_jiffies) * self.tick
        self.wd_due_jiffies = self.wd_bucket - p.initial_jiffies
        self.wd_arm_jiffies = self.jiffies
        self.wd_waiting = False
        self.wd_gen += 1
        self._push(self.wd_expires, EV_WATCHDOG, 0, self.wd_gen)

    def _watchdog_periodic_jiffies(self, cpu) -> bool:
        return self.mode[cpu] in _PERIODIC_JIFFIES

    def _watchdog_can_run(self, cpu, t) -> bool:
        """The round is the timer softirq of its CPU's tick: that vCPU must run (not descheduled, the VM not paused
        for a migration), jiffies must have moved since the timer was queued (a kernel whose tick never reaches
        its handler, vmi-2007 with the lapic-irq-path change, runs no timer_list timer at all), and its bucket must
        be due: counted to by a periodic tick, or reached on the kernel's jiffy grid (true time here)."""
        if not self.vcpu_running[cpu] or self.paused or self.jiffies == self.wd_arm_jiffies:
            return False
        if self._watchdog_periodic_jiffies(cpu):
            return self.jiffies >= self.wd_due_jiffies
        return t >= self.wd_expires

    def _watchdog_jiffies_moved(self, t):
        """Jiffies moved (do_timer, a catch-up, VMI's alarm loop): a round waiting for them, or one a periodic tick
        has counted to (``wd_due_jiffies``), may run now (:meth:`_watchdog_retry`)."""
        if self.wd_waiting or self.jiffies >= self.wd_due_jiffies:
            self._watchdog_retry(t)

    def _watchdog_retry(self, t):
        """At a vCPU's VM entry and when jiffies move: a round that waited (``wd_waiting``) runs now if its CPU can,
        and so does one whose bucket a periodic tick has counted to before its time on the TICK_NSEC grid (a PIT
        or HPET period a little short of TICK_NSEC).  Its queued expiry goes stale (``wd_gen``)."""
        cpu = self.wd_round % self.ncpus
        if not self._watchdog_watching():
            return
        if not (self.wd_waiting or (t < self.wd_expires and self._watchdog_periodic_jiffies(cpu))):
            return
        if self._watchdog_can_run(cpu, t):
            self.wd_waiting = False
            self.wd_gen += 1
            self._push(t, EV_WATCHDOG, 0, self.wd_gen)

    def _watchdog_expiry(self, now: int) -> int:
        """The watchdog timer's expiry on the kernel's clock, for a CPU whose kernel time is *now*: the start of its
        bucket's jiffy on the kernel's jiffy grid (as tick_nohz_next_event turns a timer-wheel jiffy into a time:
        base + (jiffy - jiffies) * TICK_NSEC).  The round itself runs at true time ``wd_expires``; a kernel clock
        running ahead of true time reaches that jiffy first.  By less than the interrupt's way to the CPU, the
        round has run when the woken CPU looks at its timers again; by more (a fast-drifting TSC, a clock stepped
        forward) the jiffy is already past at *now* with the round still to come, and the CPU sleeps until the
        first jiffy at or after the round's kernel time instead: woken before the round, it would find the timer
        due and spin in the idle loop until the round."""
        t = self.wd_expires
        if t == KTIME_MAX:
            return t
        j = self.last_jiffies_update + (self.wd_bucket - self.plan.initial_jiffies - self.jiffies) * self.tick
        if j > now:   # (jiffies count from 0 here)
            return j
        return self._jiffy_at_or_after(max(self.ktime(t), now + 1))

    def _watchdog_watching(self) -> bool:
        """The watchdog timer is queued: a MUST_VERIFY clocksource is still being checked."""
        ti = self._tsc_index()
        return self.plan.watchdog >= 0 and ti >= 0 and not self.cs_unstable[ti]

    def _tsc_index(self) -> int:
        for i, c in enumerate(self.plan.clocksources):
            if c.must_verify:
                return i
        return -1

    def _watchdog(self, t):
        """clocksource_watchdog: compare the TSC with the watchdog over the last interval.  An interval longer
        than WATCHDOG_INTERVAL_MAX_NS on either clock (a TSC running twice as fast after a migration) is not
        judged ("Long readout interval, skipping watchdog check"): the timer is re-anchored at the current jiffy
        (``watchdog_timer.expires = jiffies``) before it moves on by HZ/2 (engine semantics 14)."""
        p = self.plan
        ti = self._tsc_index()
        cpu = self.wd_round % self.ncpus
        jnow = p.initial_jiffies + (self.jiffies if self._watchdog_periodic_jiffies(cpu) else t // self.tick)
        if not self._watchdog_watching():
            self._watchdog_arm(jnow + 1)
            return
        if not self._watchdog_can_run(cpu, t):
            # engine semantics 17: the round waits for its CPU (before, it ran at the jiffy's true time whatever
            # the guest was doing: inside a migration's pause, on a descheduled vCPU, with jiffies standing still)
            self.wd_waiting = True
            return
        cs = p.clocksources[ti].params
        wd = p.clocksources[p.watchdog]
        cs_now = self._tsc_read(cpu, t) & cs.mask
        wd_now = self._cs_cycles(p.watchdog, t) & wd.params.mask
        first = self.wd_first
        if not first:
            cs_nsec = _cycles_to_nsec_safe(cs, self.wd_cs_last, cs_now)
            wd_nsec = _cycles_to_nsec_safe(wd.params, self.wd_wd_last, wd_now)
            skip = max(cs_nsec, wd_nsec) > 2 * (p.hz >> 1) * (NSEC_PER_SEC // p.hz)
            if skip:
                self.wd_jexp = jnow
        self._watchdog_arm(jnow + 1)
        self.wd_round += 1
        self._watchdog_requeued(t)
        if first:
            self.wd_first = False
            self.wd_cs_last, self.wd_wd_last = cs_now, wd_now
            return
        cs_last, wd_last = self.wd_cs_last, self.wd_wd_last
        self.wd_cs_last, self.wd_wd_last = cs_now, wd_now
        if skip:
            self._log(t, cpu, Kind.WATCHDOG, 9, cs_nsec)
            self._log(t, cpu, Kind.WATCHDOG, 10, wd_nsec)
            return
        skew = cs_nsec - wd_nsec
        if abs(skew) <= p.watchdog_margin_ns:
            self._log(t, cpu, Kind.WATCHDOG, 0, skew)
            return
        self._log(t, cpu, Kind.WATCHDOG, 1, skew)
        self._log(t, cpu, Kind.WATCHDOG, 2, wd_nsec)
        self._log(t, cpu, Kind.WATCHDOG, 3, cs_nsec)
        # the raw reads the kernel prints with them (masked counters; the log holds int64 bits)
        for src, raw in ((4, wd_now), (5, wd_last), (6, cs_now), (7, cs_last)):
            self._log(t, cpu, Kind.WATCHDOG, src, raw - (1 << 64) if raw >= 1 << 63 else raw)
        self.cs_unstable[ti] = True
        if self.cs_idx == ti:
            best, rating = -1, -1
            for i, c in enumerate(p.clocksources):
                if self.cs_unstable[i] or (self.bc_mode_oneshot and not c.continuous):
                    continue
                if c.rating > rating:
                    best, rating = i, c.rating
            best = self._override_select(t, cpu, best)
            if best >= 0 and best != self.cs_idx:
                self._switch_clocksource(t, best)

    def _override_select(self, t, cpu, best) -> int:
        """__clocksource_select's override check: the clocksource= override wins unless the tick is in oneshot
        mode and it is not valid for high-res; an unstable one is then given up (and the kernel says so)."""
        ov = self.cs_override
        if ov < 0:
            return best
        if self.bc_mode_oneshot and (self.cs_unstable[ov] or not self.plan.clocksources[ov].continuous):
            if self.cs_unstable[ov]:
                self._log(t, cpu, Kind.WATCHDOG, 8, ov)
                self.cs_override = -1
            return best
        return ov

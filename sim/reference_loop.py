"""The reference engine's event loop, mixed into :class:`tickscope.sim.reference.ReferenceEngine`: pop the
earliest queue entry and dispatch it (``run_until``), and end a run with what is in flight delivered
(``finish``).  Mirrors ext/loop.pxi and CyEngine.run_until / finish.
"""
from __future__ import annotations

import heapq

from tickscope.sim import boot as B
from tickscope.sim.reference_clockevents import KTIME_MAX, STATE_ONESHOT, STATE_PERIODIC
from tickscope.sim.reference_pv import EV_INJ, EV_MIGRATE, EV_VCPU

EV_DEV, EV_IPI, EV_WAKE, EV_WORK, EV_WORKEND, EV_WATCHDOG = 0, 1, 2, 3, 4, 5
# finish(): how far the kernel's clock may lag true time and still be waited for, and how long after the
# end in-flight interrupts are still delivered
SETTLE_KTIME_CAP_NS = 1_000_000
DRAIN_HORIZON_NS = 1_000_000_000


class LoopMixin:
    """run_until, finish and the dispatch of one queue entry."""

    def run_until(self, t_end: int) -> int:
        """Process every event at or before *t_end*; returns the number processed."""
        if self.finished:
            raise RuntimeError("the run has ended (finish); start a new engine to run further")
        heap = self._heap
        done = 0
        while heap and heap[0][0] <= t_end:
            t, ev, _seq, cpu, gen = heapq.heappop(heap)
            if not self._dispatch_event(t, ev, cpu, gen):
                continue
            self.events += 1
            done += 1
        self.now = max(self.now, t_end)
        return done

    def settle_ktime(self, t_end: int) -> int:
        """The true time by which the kernel's clock reads *t_end* (at least *t_end*; at most
        SETTLE_KTIME_CAP_NS later: a clock further behind is left behind)."""
        if self.ktime(t_end) >= t_end or self.ktime(t_end + SETTLE_KTIME_CAP_NS) < t_end:
            return t_end
        lo, hi = t_end, t_end + SETTLE_KTIME_CAP_NS
        while lo < hi:
            mid = (lo + hi) // 2
            if self.ktime(mid) >= t_end:
                hi = mid
            else:
                lo = mid + 1
        return lo

    def finish(self, t_end: int) -> int:
        """End the run at *t_end* with the interrupts already on their way delivered.

        Runs on until the kernel's clock reads *t_end* (:meth:`settle_ktime`), then handles only what
        is in flight: device interrupts raised by then, injections, IPIs and C-state exits, with whatever
        they cause in turn; nothing new starts (later device expiries, workload and host events are
        dropped).  The engine cannot run further afterwards.  Returns the settle time: every device
        expiry at or before it was delivered.
        """
        t_k = self.settle_ktime(t_end)
        # residency stops at the end even for a wake-up in the settle window (a lagging clock reads t_end later):
        # set before running there (engine semantics 19; before, such a sleep counted up to its wake-up)
        self.acct_end = t_end
        self.run_until(t_k)
        self.jiffies_cap = self.ktime(t_k)
        heap = self._heap
        last = t_k
        while heap and heap[0][0] <= t_k + DRAIN_HORIZON_NS:
            t, ev, _seq, cpu, gen = heapq.heappop(heap)
            if ev == EV_DEV:
                if gen != self.gen[cpu]:
                    continue
                if self.fire_at[cpu] > t_k and not self._due_by_end(cpu, t_end):
                    self.fire_at[cpu] = KTIME_MAX  # raised after the end: dropped
                    continue
            elif ev not in (EV_IPI, EV_INJ, EV_WAKE):
                continue
            if self._dispatch_event(t, ev, cpu, gen):
                self.events += 1
                last = t
        self.now = max(self.now, last)
        self.finished = True
        return t_k

    def _due_by_end(self, slot, t_end) -> bool:
        """A oneshot device programmed for a kernel expiry at or before the end, firing within one clock quantum
        of the moment the kernel's clock reached that expiry: on its way at the end.  The kernel programs the
        delta from a clock read floored to a whole clocksource cycle (70 ns on the HPET, 279 ns on the ACPI PM
        timer) and the device counts whole ticks, so such an interrupt comes up to a cycle plus a device tick
        after the clock read its expiry.  A programming clamped to min_delta_ns comes later and stays dropped;
        the jiffies and pit clocksources (non-continuous: their clock follows the tick) are left as they are."""
        expires = self.next_event[slot]
        cs = self.plan.clocksources[self.cs_idx]
        if self.state[slot] != STATE_ONESHOT or expires > t_end or not cs.continuous:
            return False
        d = self.devs[self.dev[slot]]
        quantum = (cs.params.mult + (1 << cs.params.shift) - 1) >> cs.params.shift
        if d.mult:
            quantum += ((1 << d.shift) + d.mult - 1) // d.mult
        return self.fire_at[slot] <= self.settle_ktime(expires) + quantum

    def _dispatch_event(self, t, ev, cpu, gen) -> bool:
        self._t = t
        if ev == EV_DEV:
            slot = cpu
            if gen != self.gen[slot]:
                return False
            self.fire_at[slot] = KTIME_MAX
            if self.state[slot] == STATE_PERIODIC:
                # a periodic device reloads itself at the expiry, whoever handles it and when
                k = self.per_k[slot]
                self.per_k[slot] = k + 1
                self.per_expiry[slot] = self._periodic_fire(slot, k)
                self._arm(slot, self._periodic_fire(slot, k + 1))
            target, what = (self.plan.bc_cpu, self.PEND_BC) if slot == self.bslot else (slot, self.PEND_DEV)
            if not self.guest:
                self._arrive(target, t, what)
            elif (self.plan.pv_pit and what == self.PEND_DEV and self.devs[self.dev[slot]].hw == B.HW_PIT
                  and self.state[slot] == STATE_PERIODIC):
                self._pit_host_queue(t, self.per_expiry[slot])
            else:
                self._inject(target, t, what)
        elif ev == EV_IPI:
            if self.guest:
                self._inject(cpu, t, self.PEND_IPI)
            else:
                self._arrive(cpu, t, self.PEND_IPI)
        elif ev == EV_INJ:
            self._inj_arrives(cpu, t, gen)
        elif ev == EV_WAKE:
            if gen != self.wake_gen[cpu]:
                return False
            self._wake_done(cpu, t)
        elif ev == EV_WORK:
            if gen != self.work_gen[cpu]:
                return False
            self._work_toggle(cpu, t)
        elif ev == EV_WORKEND:
            if gen != self.tw_gen[cpu]:
                return False
            self._timer_work_end(cpu, t)
        elif ev == EV_WATCHDOG:
            if gen != self.wd_gen:
                return False
            self._watchdog(t)
        elif ev == EV_VCPU:
            self._vcpu_toggle(cpu, t)
        elif ev == EV_MIGRATE:
            self._migrate(t, gen)
        else:
            self._resume(t, gen)
        return True

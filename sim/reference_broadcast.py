"""Reference engine: the tick broadcast (kernel/time/tick-broadcast.c).

Mixed into :class:`tickscope.sim.reference.ReferenceEngine`; the Cython engine mirrors it in
``ext/broadcast.pxi``.  A CPU whose local timer stops in the C-state its governor chose hands its next
event to the broadcast device on entry (``tick_broadcast_enter``) and takes it back on exit; the
broadcast device's interrupt, or the broadcast hrtimer on the CPU holding it, wakes the CPUs whose
events expired, the local one directly and the others by IPI.
"""
from __future__ import annotations

from tickscope.sim import boot as B
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.reference_clockevents import KTIME_MAX, STATE_ONESHOT, STATE_PERIODIC, STATE_SHUTDOWN
from tickscope.sim.reference_idle import EBUSY, EV_IPI


class BroadcastMixin:
    def _bc_enter(self, cpu, t) -> int:
        """tick_broadcast_enter for a CPU whose timer stops in the chosen state; 0 or -EBUSY."""
        kind = self.plan.bc_kind
        if kind == B.BC_NONE:
            return -EBUSY
        if not self.bc_mode_oneshot:
            return 0 if cpu in self.bc_periodic_mask else -EBUSY
        if kind == B.BC_HRTIMER and self.bc_bound == cpu and self.bc_next_event != KTIME_MAX:
            return -EBUSY   # broadcast_needs_cpu: it holds the armed broadcast hrtimer
        if cpu not in self.oneshot_mask:
            self.oneshot_mask.add(cpu)
            if self.mode[cpu] == TickMode.PERIODIC and self.state[cpu] == STATE_PERIODIC:
                # still ticking periodically in hardware (no next_event) after the broadcast went oneshot:
                # the broadcast wakes it at the next period, as tick_broadcast_init_next_event arranges for
                # the CPUs tick_broadcast_setup_oneshot takes over; that tick then switches it to oneshot
                self.next_event[cpu] = self._not_before(self.last_jiffies_update + self.tick, self.ktime(t))
            if not (kind == B.BC_HRTIMER and self.next_event[cpu] < self.bc_next_event):
                ne = self.next_event[cpu]
                self._set_state(cpu, STATE_SHUTDOWN)
                self.next_event[cpu] = ne
            if cpu in self.force_mask:
                return -EBUSY
            if self.next_event[cpu] < self.bc_next_event:
                self._bc_set_event(cpu, t, self.next_event[cpu])
                if kind == B.BC_HRTIMER and self.bc_bound == cpu:
                    self.oneshot_mask.discard(cpu)
                    return -EBUSY
        return 0

    def _bc_exit(self, cpu, t):
        """tick_broadcast_exit: take the local timer back."""
        if cpu not in self.oneshot_mask:
            return
        self.oneshot_mask.discard(cpu)
        ne = self.next_event[cpu]
        self.state[cpu] = STATE_ONESHOT
        if cpu in self.pending_mask:
            self.pending_mask.discard(cpu)
            return
        if ne == KTIME_MAX:
            return
        if ne <= self.ktime(t):
            self.force_mask.add(cpu)
            return
        self._program_event(cpu, t, ne, True)

    def _bc_set_event(self, cpu, t, expires):
        """tick_broadcast_set_event: program the broadcast device (forced) for *expires*."""
        self.bc_next_event = expires
        self.state[self.bslot] = STATE_ONESHOT   # tick_broadcast_set_event: the HPET's or bc_hrtimer's
        if self.plan.bc_kind == B.BC_DEVICE:
            self._program_event(self.bslot, t, expires, True)
        else:
            # hrtimer_start (and the removal from the old holder) program a device only where high-res is active
            # (hrtimer_reprogram): in low-res mode the bc_hrtimer runs from its holder's tick (hrtimer_run_queues),
            # which the holder's tick stop accounts for at the jiffy after it (get_next_timer_interrupt)
            old, removed = self.bc_bound, self.bc_expires
            self.bc_bound = cpu
            self.bc_expires = expires
            if (old >= 0 and old != cpu and removed != KTIME_MAX and old not in self.oneshot_mask
                    and self.mode[old] == TickMode.HIGHRES and removed < self._hrtimer_next(old)):
                # hrtimer_start takes the armed timer off the former holder's base, which is remote here:
                # remove_hrtimer reprograms only the local CPU's device, so the former holder's stays armed for
                # the old expiry and takes an interrupt there that expires nothing (engine semantics 16)
                self.hr_stale[old] = min(self.hr_stale[old], removed)
            if self.mode[cpu] != TickMode.HIGHRES:
                return
            if cpu in self.oneshot_mask and self.state[cpu] == STATE_SHUTDOWN:
                # awake in the oneshot mask with its device shut down: refused from the force mask (-EBUSY, left
                # in the mask, shallow), then interrupted. Interrupt entry switched its device back to oneshot
                # (tick_irq_enter -> tick_check_oneshot_broadcast_this_cpu), so the timer started here programs
                # it (engine semantics 17; before, the device stayed shut down with the broadcast hrtimer on it:
                # every sleeper slept to the end)
                self.state[cpu] = STATE_ONESHOT
            self._hrtimer_reprogram(cpu, t, True)

    def _bc_device_interrupt(self, cpu, t):
        """The broadcast device's interrupt on the CPU it is routed to."""
        self.bc_irqs += 1
        if self.bc_mode_oneshot:
            self._log(t, cpu, Kind.BC_IRQ, 0, self.bc_next_event)
            self._bc_oneshot_handler(cpu, t)
        else:
            self._log(t, cpu, Kind.BC_IRQ, 1, self.per_expiry[self.bslot])
            self._bc_periodic_handler(cpu, t)

    def _bc_oneshot_handler(self, cpu, t):
        """tick_handle_oneshot_broadcast."""
        now = self.ktime(t)
        self.bc_next_event = KTIME_MAX
        self.next_event[self.bslot] = KTIME_MAX
        nxt = KTIME_MAX
        wake = set()
        for c in sorted(self.oneshot_mask):
            if self.next_event[c] <= now:
                wake.add(c)
                self.pending_mask.add(c)
            elif self.next_event[c] < nxt:
                nxt = self.next_event[c]
        self.pending_mask.discard(cpu)
        wake |= self.force_mask
        self.force_mask.clear()
        self._do_broadcast(cpu, t, sorted(wake), 0)
        if nxt != KTIME_MAX:
            self._bc_set_event(cpu, t, nxt)

    def _bc_periodic_handler(self, cpu, t):
        """tick_handle_periodic_broadcast on a hardware-periodic broadcast device."""
        expiry = self.per_expiry[self.bslot]
        self._do_broadcast(cpu, t, sorted(self.bc_periodic_mask), expiry)

    def _do_broadcast(self, cpu, t, targets, expiry):
        """tick_do_broadcast: the local CPU runs its handler directly, the others get an IPI."""
        for c in targets:
            self.ipi_expiry[c] = expiry
            self.ipi_from[c] = cpu
            if c == cpu:
                self.bc_received[c] += 1
                self._log(t, c, Kind.BROADCAST, 0 if self.bc_mode_oneshot else 1, cpu)
                self._event_handler(c, t, expiry)
            else:
                self._push(t + self.plan.ipi_latency_ns, EV_IPI, c, 0)

    # ------------------------------------------------------------------ state for views
    def _bc_state(self) -> dict:
        return {"bc_next_event": self.bc_next_event, "oneshot_mask": sorted(self.oneshot_mask),
                "periodic_mask": sorted(self.bc_periodic_mask), "bc_oneshot": self.bc_mode_oneshot,
                "bc_bound": self.bc_bound, "bc_expires": self.bc_expires, "bc_state": self.state[self.bslot],
                "bc_next_device_event": self.next_event[self.bslot], "bc_retries": self.retries[self.bslot],
                "bc_min_delta_ns": self.min_delta_ns[self.bslot], "bc_irqs": self.bc_irqs}

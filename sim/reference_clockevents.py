"""Reference engine: clock event devices and the clockevents core (kernel/time/clockevents.c).

Mixed into :class:`tickscope.sim.reference.ReferenceEngine`; the Cython engine mirrors the device ops in
``ext/devices.pxd`` and the core in ``ext/tick.pxi``.  ``_set_next_event`` programs one device's hardware
by kind (TSC-deadline or other deadline counter, the HPET comparator with its match-on-equality race, a
nanosecond paravirtual timer, or a relative down-counter: LAPIC, PIT); ``_program_event`` is
clockevents_program_event: clamp to the device's delta range, -ETIME for an expiry already past, and
with *force* the min-delta retries that grow ``min_delta_ns`` (CONFIG_GENERIC_CLOCKEVENTS_MIN_ADJUST).
"""
from __future__ import annotations

from tickscope.sim import boot as B
from tickscope.sim.events import Kind

M64 = (1 << 64) - 1
KTIME_MAX = B.KTIME_MAX
ETIME = 62
# clock_event_state
STATE_DETACHED, STATE_SHUTDOWN, STATE_PERIODIC, STATE_ONESHOT, STATE_ONESHOT_STOPPED = 0, 1, 2, 3, 4
HPET_MIN_CYCLES = 128
NSEC_PER_SEC = 1_000_000_000


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class ClockeventsMixin:
    def _set_next_event(self, slot, t, ticks) -> int:
        d = self.devs[self.dev[slot]]
        if d.hw == B.HW_DEADLINE:
            if d.tsc_based:
                self._arm(slot, self._tsc_time(self.tsc(t) + ticks * d.tick_scale))
            else:
                target = t * d.num // d.den + ticks * d.tick_scale
                self._arm(slot, ceil_div(target * d.den, d.num))
        elif d.hw == B.HW_HPET:
            now_c = t * d.num // d.den
            target = now_c + ticks
            # The comparator matches on equality: hpet_clkevt_set_next_event re-reads the counter after the
            # write; if it already passed (or is within HPET_MIN_CYCLES of) the target, the event is lost.
            after = (t + self.plan.hpet_write_delay_ns) * d.num // d.den
            diff = (target - after) & 0xFFFFFFFF
            if diff >= 1 << 31 or diff < HPET_MIN_CYCLES:
                return -ETIME
            self._arm(slot, ceil_div(target * d.den, d.num))
        elif d.hw == B.HW_NS:
            self._arm(slot, t + ticks)
        else:  # relative down-counters: LAPIC, PIT
            self._arm(slot, t + ceil_div(ticks * d.tick_scale * d.den, d.num))
        return 0

    def _periodic_fire(self, slot, k) -> int:
        d = self.devs[self.dev[slot]]
        if d.hw == B.HW_HPET:
            return ceil_div((self.per_c0[slot] + k * d.periodic_count) * d.den, d.num)
        return self.per_t0[slot] + ceil_div(k * d.periodic_count * d.den, d.num)

    def _set_periodic(self, slot, t):
        d = self.devs[self.dev[slot]]
        self.state[slot] = STATE_PERIODIC
        self.per_t0[slot] = t
        self.per_c0[slot] = t * d.num // d.den
        self.per_k[slot] = 1
        self._arm(slot, self._periodic_fire(slot, 1))

    def _set_state(self, slot, state):
        """clockevents_switch_state: leaving PERIODIC/ONESHOT stops the hardware."""
        self.state[slot] = state
        self._cancel(slot)

    def _stop_oneshot(self, slot):
        """tick_program_event(KTIME_MAX) on a ONESHOT device (next_event already KTIME_MAX): ONESHOT_STOPPED where
        the driver has set_state_oneshot_stopped; without it __clockevents_switch_state returns -ENOSYS, the state
        stays ONESHOT and the hardware stays armed for its last expiry (engine semantics 19)."""
        if self.devs[self.dev[slot]].has_oneshot_stopped:
            self._set_state(slot, STATE_ONESHOT_STOPPED)

    # ------------------------------------------------------------------ clockevents core
    def _program_event(self, slot, t, expires, force) -> int:
        """clockevents_program_event."""
        d = self.devs[self.dev[slot]]
        self.next_event[slot] = expires
        if self.state[slot] == STATE_SHUTDOWN:
            return 0
        if self.state[slot] == STATE_ONESHOT_STOPPED:
            self.state[slot] = STATE_ONESHOT
        delta = expires - self.ktime(t)
        if delta <= 0:
            if force:
                return self._program_min_delta(slot, t)
            self._log(t, min(slot, self.ncpus - 1), Kind.PROGRAM_ETIME, int(slot == self.bslot), expires)
            return -ETIME
        delta = min(max(delta, self.min_delta_ns[slot]), d.max_delta_ns)
        ticks = ((delta * d.mult) & M64) >> d.shift
        rc = self._set_next_event(slot, t, ticks)
        if rc and force:
            return self._program_min_delta(slot, t)
        if rc:
            self._log(t, min(slot, self.ncpus - 1), Kind.PROGRAM_ETIME, int(slot == self.bslot), expires)
        return rc

    def _program_min_delta(self, slot, t) -> int:
        """clockevents_program_min_delta with CONFIG_GENERIC_CLOCKEVENTS_MIN_ADJUST (x86)."""
        d = self.devs[self.dev[slot]]
        cpu = min(slot, self.ncpus - 1)
        i = 0
        limit = NSEC_PER_SEC // self.plan.hz
        while True:
            delta = self.min_delta_ns[slot]
            self.next_event[slot] = self.ktime(t) + delta
            if self.state[slot] == STATE_SHUTDOWN:
                return 0
            self.retries[slot] += 1
            self._log(t, cpu, Kind.RETRY, int(slot == self.bslot), self.retries[slot])
            ticks = ((delta * d.mult) & M64) >> d.shift
            if self._set_next_event(slot, t, ticks) == 0:
                return 0
            i += 1
            if i > 2:
                cur = self.min_delta_ns[slot]
                if cur >= limit:
                    self.next_event[slot] = KTIME_MAX
                    self._log(t, cpu, Kind.MIN_DELTA, int(slot == self.bslot), -1)
                    return -ETIME
                new = 5000 if cur < 5000 else cur + (cur >> 1)
                self.min_delta_ns[slot] = min(new, limit)
                self._log(t, cpu, Kind.MIN_DELTA, int(slot == self.bslot), self.min_delta_ns[slot])
                i = 0

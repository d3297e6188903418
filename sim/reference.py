"""The reference engine: a small, slow, obviously-correct pure-Python twin of ext/.

It implements exactly the semantics of the Cython engine (``ext/engine.pyx``):
the same event queue key, the same kernel state machine, the same integer math
and the same random draws, so that both produce identical event logs.  The
differential tests in ``tests/ext`` hold them to that; ``tickscope bench``
reports the speed ratio.

Time model
----------
``t`` is true simulated time in integer ns.  Hardware counters are exact
integers: ``counter(t) = t * num // den``.  The kernel's own notion of time,
``ktime(t)``, is read through the current clocksource exactly as timekeeping
does (``cycles * mult >> shift``, accumulated without loss), so a clocksource
whose mult is rounded drifts against true time as the kernel's would, and a
jiffies clocksource only moves when the tick does.

Kernel model (issue scope: periodic and oneshot/high-res ticks)
---------------------------------------------------------------
* ``tick_handle_periodic`` on a hardware-periodic device, or emulated on a
  oneshot device by re-arming ``next_event + TICK_NSEC`` (with the catch-up
  replay when timekeeping is valid for high-res);
* the oneshot switch from ``hrtimer_run_queues`` when ``check_clocks`` is set,
  the clocksource is continuous and the device is oneshot-capable;
* ``hrtimer_interrupt`` with the per-CPU ``sched_timer`` at multiples of
  TICK_NSEC, forwarded (not replayed) past now;
* ``tick_do_update_jiffies64`` on the do_timer CPU;
* ``clockevents_program_event`` with the clamp, -ETIME, forced min-delta
  retries and the growth of ``min_delta_ns``.
"""
from __future__ import annotations

import heapq

import numpy as np

from tickscope.sim import boot as B
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.results import COLUMNS, Results

M64 = (1 << 64) - 1
KTIME_MAX = B.KTIME_MAX
ETIME = 62

# clock_event_state
STATE_DETACHED, STATE_SHUTDOWN, STATE_PERIODIC, STATE_ONESHOT, STATE_ONESHOT_STOPPED = 0, 1, 2, 3, 4

HPET_MIN_CYCLES = 128
NSEC_PER_SEC = 1_000_000_000


def splitmix64(state: int) -> tuple[int, int]:
    """One step of splitmix64: returns (new_state, output).  Mirrored in ext/rng.pxd."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


class ReferenceEngine:
    """Pure-Python engine over a :class:`tickscope.sim.boot.BootPlan`.

    Parameters
    ----------
    plan : BootPlan
        The booted machine and kernel.
    """

    name = "reference"

    def __init__(self, plan: B.BootPlan):
        self.plan = plan
        p = plan
        n = p.ncpus
        self.ncpus = n
        self.tick = p.tick_nsec
        self.now = 0
        self.events = 0
        self._heap: list[tuple[int, int, int, int, int]] = []
        self._seq = 0
        self._rng = p.seed & M64
        cs = p.clocksource
        self.cs_kind, self.cs_num, self.cs_den = cs.kind, cs.num, cs.den
        self.cs_mult, self.cs_shift = cs.params.mult, cs.params.shift
        self.cs_hres = cs.continuous
        self.devs = p.devices
        # kernel-global state
        self.jiffies = 0
        self.last_jiffies_update = 0
        self.do_timer_cpu = -2  # TICK_DO_TIMER_BOOT
        # per-CPU state (plain lists: the Cython twin uses a C struct array)
        self.dev = list(p.tick_device)
        self.mode = [TickMode.NONE] * n
        self.state = [STATE_DETACHED] * n
        self.gen = [0] * n
        self.next_event = [KTIME_MAX] * n
        self.min_delta_ns = [self.devs[d].min_delta_ns if d >= 0 else 0 for d in self.dev]
        self.retries = [0] * n
        self.per_t0 = [0] * n
        self.per_c0 = [0] * n
        self.per_k = [0] * n
        self.sched_expires = [KTIME_MAX] * n
        self.check_clocks = [1] * n
        self.nr_events = [0] * n
        self.nr_retries = [0] * n
        self.nr_hangs = [0] * n
        self.fire_at = [KTIME_MAX] * n
        self.irqs = [0] * n
        self.ticks = [0] * n
        # event log
        self.log_t: list[int] = []
        self.log_cpu: list[int] = []
        self.log_kind: list[int] = []
        self.log_src: list[int] = []
        self.log_val: list[int] = []
        for cpu in range(n):
            self._tick_setup_device(cpu, 0)

    # ------------------------------------------------------------------ infrastructure
    def _log(self, t, cpu, kind, src, val):
        self.log_t.append(t)
        self.log_cpu.append(cpu)
        self.log_kind.append(kind)
        self.log_src.append(src)
        self.log_val.append(val)

    def _rand(self) -> int:
        self._rng, out = splitmix64(self._rng)
        return out

    def _latency(self) -> int:
        lat = self.plan.irq_latency_ns
        if self.plan.irq_jitter_ns:
            lat += self._rand() % (self.plan.irq_jitter_ns + 1)
        return lat

    def _arm(self, cpu, fire):
        """The device of *cpu* raises its interrupt at true time *fire*; the handler runs after the IRQ latency."""
        self.gen[cpu] += 1
        self.fire_at[cpu] = fire
        self._seq += 1
        heapq.heappush(self._heap, (fire + self._latency(), 0, self._seq, cpu, self.gen[cpu]))

    def _cancel(self, cpu):
        self.gen[cpu] += 1
        self.fire_at[cpu] = KTIME_MAX

    def ktime(self, t: int) -> int:
        """The kernel's CLOCK_MONOTONIC at true time *t*, read through the clocksource."""
        if self.cs_kind == B.CS_JIFFIES:
            cycles = self.jiffies
        else:
            cycles = t * self.cs_num // self.cs_den
        return (cycles * self.cs_mult) >> self.cs_shift

    # ------------------------------------------------------------------ device ops
    def _set_next_event(self, cpu, t, ticks) -> int:
        d = self.devs[self.dev[cpu]]
        if d.hw == B.HW_DEADLINE:
            target = t * d.num // d.den + ticks * d.tick_scale
            self._arm(cpu, _ceil_div(target * d.den, d.num))
        elif d.hw == B.HW_HPET:
            now_c = t * d.num // d.den
            target = now_c + ticks
            # The comparator matches on equality: if the counter already passed
            # (or is within HPET_MIN_CYCLES of) the target, the interrupt is lost.
            diff = (target - now_c) & 0xFFFFFFFF
            if diff >= 1 << 31 or diff < HPET_MIN_CYCLES:
                return -ETIME
            self._arm(cpu, _ceil_div(target * d.den, d.num))
        elif d.hw == B.HW_NS:
            self._arm(cpu, t + ticks)
        else:  # relative down-counters: LAPIC, PIT
            self._arm(cpu, t + _ceil_div(ticks * d.tick_scale * d.den, d.num))
        return 0

    def _periodic_fire(self, cpu, k) -> int:
        d = self.devs[self.dev[cpu]]
        if d.hw == B.HW_HPET:
            return _ceil_div((self.per_c0[cpu] + k * d.periodic_count) * d.den, d.num)
        return self.per_t0[cpu] + _ceil_div(k * d.periodic_count * d.den, d.num)

    def _set_periodic(self, cpu, t):
        d = self.devs[self.dev[cpu]]
        self.state[cpu] = STATE_PERIODIC
        self.per_t0[cpu] = t
        self.per_c0[cpu] = t * d.num // d.den
        self.per_k[cpu] = 1
        self._arm(cpu, self._periodic_fire(cpu, 1))

    def _set_oneshot(self, cpu):
        self.state[cpu] = STATE_ONESHOT
        self._cancel(cpu)

    # ------------------------------------------------------------------ clockevents core
    def _program_event(self, cpu, t, expires, force) -> int:
        """clockevents_program_event."""
        d = self.devs[self.dev[cpu]]
        self.next_event[cpu] = expires
        if self.state[cpu] == STATE_SHUTDOWN:
            return 0
        delta = expires - self.ktime(t)
        if delta <= 0:
            if force:
                return self._program_min_delta(cpu, t)
            self._log(t, cpu, Kind.PROGRAM_ETIME, d.id, expires)
            return -ETIME
        delta = min(max(delta, self.min_delta_ns[cpu]), d.max_delta_ns)
        ticks = ((delta * d.mult) & M64) >> d.shift
        rc = self._set_next_event(cpu, t, ticks)
        if rc and force:
            return self._program_min_delta(cpu, t)
        if rc:
            self._log(t, cpu, Kind.PROGRAM_ETIME, d.id, expires)
        return rc

    def _program_min_delta(self, cpu, t) -> int:
        """clockevents_program_min_delta with CONFIG_GENERIC_CLOCKEVENTS_MIN_ADJUST (x86)."""
        d = self.devs[self.dev[cpu]]
        i = 0
        limit = NSEC_PER_SEC // self.plan.hz
        while True:
            delta = self.min_delta_ns[cpu]
            self.next_event[cpu] = self.ktime(t) + delta
            if self.state[cpu] == STATE_SHUTDOWN:
                return 0
            self.retries[cpu] += 1
            self._log(t, cpu, Kind.RETRY, d.id, self.retries[cpu])
            ticks = ((delta * d.mult) & M64) >> d.shift
            if self._set_next_event(cpu, t, ticks) == 0:
                return 0
            i += 1
            if i > 2:
                cur = self.min_delta_ns[cpu]
                if cur >= limit:
                    self.next_event[cpu] = KTIME_MAX
                    self._log(t, cpu, Kind.MIN_DELTA, d.id, -1)
                    return -ETIME
                new = 5000 if cur < 5000 else cur + (cur >> 1)
                self.min_delta_ns[cpu] = min(new, limit)
                self._log(t, cpu, Kind.MIN_DELTA, d.id, self.min_delta_ns[cpu])
                i = 0

    # ------------------------------------------------------------------ tick layer
    def _tick_setup_device(self, cpu, t):
        """tick_setup_device + tick_setup_periodic at boot."""
        did = self.dev[cpu]
        if did < 0:
            return
        d = self.devs[did]
        if self.do_timer_cpu == -2:
            self.do_timer_cpu = cpu
            self.last_jiffies_update = self.ktime(t)
        self.state[cpu] = STATE_SHUTDOWN
        self.check_clocks[cpu] = 1 if d.has(B.FEAT_ONESHOT) else 0
        if d.has(B.FEAT_PERIODIC):
            self.mode[cpu] = TickMode.PERIODIC
            self._set_periodic(cpu, t)
            self._log(t, cpu, Kind.MODE, TickMode.PERIODIC, self._periodic_fire(cpu, 1))
        else:
            self.mode[cpu] = TickMode.PERIODIC_EMUL
            self._set_oneshot(cpu)
            nxt = self.last_jiffies_update
            while self._program_event(cpu, t, nxt, False):
                nxt += self.tick
            self._log(t, cpu, Kind.MODE, TickMode.PERIODIC_EMUL, nxt)

    def _do_timer_periodic(self, cpu, t):
        if cpu == self.do_timer_cpu:
            self.last_jiffies_update += self.tick
            self.jiffies += 1
            self._log(t, cpu, Kind.JIFFIES, 1, self.jiffies)

    def _update_jiffies64(self, cpu, t, now):
        """tick_do_update_jiffies64: catch jiffies up to *now* (several at once when late)."""
        delta = now - self.last_jiffies_update
        if delta < self.tick:
            return
        n = 1 + (delta - self.tick) // self.tick
        self.last_jiffies_update += n * self.tick
        self.jiffies += n
        self._log(t, cpu, Kind.JIFFIES, min(n, 255), self.jiffies)

    def _tick_periodic(self, cpu, t, expiry):
        """tick_periodic: do_timer on the owner, then update_process_times (which may switch modes)."""
        self._do_timer_periodic(cpu, t)
        self.ticks[cpu] += 1
        self._log(t, cpu, Kind.TICK, self.dev[cpu], expiry)
        self._hrtimer_run_queues(cpu, t)

    def _hrtimer_run_queues(self, cpu, t):
        """The oneshot/high-res switch check (tick_check_oneshot_change)."""
        if not self.check_clocks[cpu]:
            return
        self.check_clocks[cpu] = 0
        d = self.devs[self.dev[cpu]]
        if not self.cs_hres or not d.has(B.FEAT_ONESHOT):
            return
        if d.has(B.FEAT_C3STOP) and not self._broadcast_oneshot_available():
            return
        if not self.plan.highres:
            return  # low-res NO_HZ arrives with the tick-layer issue
        # tick_init_highres -> tick_switch_to_oneshot(hrtimer_interrupt); tick_setup_sched_timer
        self.mode[cpu] = TickMode.HIGHRES
        self._set_oneshot(cpu)
        now = self.ktime(t)
        exp = self.last_jiffies_update
        if self.plan.skew_tick:
            exp += (self.tick >> 1) // self.ncpus * cpu
        if exp <= now:
            exp += ((now - exp) // self.tick + 1) * self.tick
        self.sched_expires[cpu] = exp
        self._log(t, cpu, Kind.MODE, TickMode.HIGHRES, exp)
        self._program_event(cpu, t, exp, False)

    def _broadcast_oneshot_available(self) -> bool:
        b = self.plan.broadcast_device
        return b >= 0 and self.devs[b].has(B.FEAT_ONESHOT)

    # ------------------------------------------------------------------ interrupt handlers
    def _handle(self, cpu, t):
        mode = self.mode[cpu]
        self.irqs[cpu] += 1
        if mode == TickMode.PERIODIC:
            k = self.per_k[cpu]
            expiry = self._periodic_fire(cpu, k)
            self.per_k[cpu] = k + 1
            self._arm(cpu, self._periodic_fire(cpu, k + 1))
            self._tick_periodic(cpu, t, expiry)
        elif mode == TickMode.PERIODIC_EMUL:
            nxt = self.next_event[cpu]
            self._tick_periodic(cpu, t, nxt)
            while self.mode[cpu] == TickMode.PERIODIC_EMUL:
                nxt += self.tick
                if self._program_event(cpu, t, nxt, False) == 0:
                    break
                if self.cs_hres:
                    self._tick_periodic(cpu, t, nxt)
        elif mode == TickMode.HIGHRES:
            self._hrtimer_interrupt(cpu, t)

    def _hrtimer_interrupt(self, cpu, t):
        self.nr_events[cpu] += 1
        self.next_event[cpu] = KTIME_MAX
        now = self.ktime(t)
        exp = self.sched_expires[cpu]
        if exp <= now:
            # tick_sched_timer
            if self.do_timer_cpu == -1:
                self.do_timer_cpu = cpu
            if self.do_timer_cpu == cpu:
                self._update_jiffies64(cpu, t, now)
            self.ticks[cpu] += 1
            self._log(t, cpu, Kind.TICK, self.dev[cpu], exp)
            exp += ((now - exp) // self.tick + 1) * self.tick  # hrtimer_forward: never replays
            self.sched_expires[cpu] = exp
        else:
            self._log(t, cpu, Kind.IRQ, self.dev[cpu], now)
        if self._program_event(cpu, t, exp, False):
            # Cannot happen with a zero-length handler; kept for the hang path's shape.
            self.nr_retries[cpu] += 1
            self._program_event(cpu, t, exp, True)

    # ------------------------------------------------------------------ driving
    def run_until(self, t_end: int) -> int:
        """Process every event at or before *t_end*; returns the number processed."""
        heap = self._heap
        done = 0
        while heap and heap[0][0] <= t_end:
            t, _prio, _seq, cpu, gen = heapq.heappop(heap)
            if gen != self.gen[cpu]:
                continue
            self.fire_at[cpu] = KTIME_MAX
            self.events += 1
            done += 1
            self._handle(cpu, t)
        self.now = max(self.now, t_end)
        return done

    def columns(self) -> dict[str, np.ndarray]:
        data = (self.log_t, self.log_cpu, self.log_kind, self.log_src, self.log_val)
        return {name: np.array(col, dtype=dt) for (name, dt), col in zip(COLUMNS, data)}

    def cpu_state(self) -> list[dict]:
        """Per-CPU kernel state, for /proc/timer_list and the JSON summary."""
        out = []
        for c in range(self.ncpus):
            did = self.dev[c]
            out.append({
                "cpu": c, "device": did, "mode": int(self.mode[c]), "state": self.state[c],
                "next_event": self.next_event[c], "min_delta_ns": self.min_delta_ns[c], "retries": self.retries[c],
                "sched_expires": self.sched_expires[c], "nr_events": self.nr_events[c],
                "nr_retries": self.nr_retries[c], "nr_hangs": self.nr_hangs[c], "irqs": self.irqs[c],
                "ticks": self.ticks[c],
            })
        return out

    def global_state(self) -> dict:
        return {"jiffies": self.jiffies, "last_jiffies_update": self.last_jiffies_update,
                "do_timer_cpu": self.do_timer_cpu, "events": self.events, "now_ns": self.now,
                "ktime_ns": self.ktime(self.now)}

"""The reference engine: a small, slow, obviously-correct pure-Python twin of ext/.

It implements exactly the semantics of the Cython engine (``ext/engine.pyx``):
the same event queue key, the same kernel state machine, the same integer math
and the same random draws, so that both produce identical event logs.  The
differential tests in ``tests/ext`` hold them to that; ``tickscope bench``
reports the speed ratio.  ``docs/engine.md`` describes the model in prose.

Time model
----------
``t`` is true simulated time in integer ns.  Hardware counters are exact
integers: ``counter(t) = t * num // den``.  The kernel's own notion of time,
``ktime(t)``, is read through the current clocksource as timekeeping does
(``base + (cycles - cycle_base) * mult >> shift``, accumulated without loss),
so a clocksource whose rate is off drifts against true time as the kernel's
would, a jiffies clocksource only moves when the tick does, and a clocksource
switch keeps kernel time continuous.

Device slots
------------
Slots ``0..ncpus-1`` hold each CPU's tick device, slot ``ncpus`` the broadcast
device.  Every slot has its own clockevents state (``next_event``, state,
``min_delta_ns``, ``retries``) and its own pending hardware interrupt, cancelled
by bumping the slot's generation.

This module holds the state, the queue and the tick handlers;
:mod:`tickscope.sim.reference_clockevents` the device ops and the clockevents core,
:mod:`tickscope.sim.reference_idle` workloads, idle and NO_HZ,
:mod:`tickscope.sim.reference_broadcast` the tick broadcast, :mod:`tickscope.sim.reference_watchdog`
the clocksource watchdog and :mod:`tickscope.sim.reference_loop` the event loop.
"""
from __future__ import annotations

import heapq

import numpy as np

from tickscope.sim import boot as B
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.reference_broadcast import BroadcastMixin
from tickscope.sim.reference_clockevents import (KTIME_MAX, M64, STATE_DETACHED, STATE_ONESHOT,
                                                 STATE_PERIODIC, STATE_SHUTDOWN, ClockeventsMixin)
from tickscope.sim.reference_idle import IdleMixin
from tickscope.sim.reference_loop import LoopMixin
from tickscope.sim.reference_pv import EV_INJ, PvMixin
from tickscope.sim.reference_watchdog import WatchdogMixin
from tickscope.sim.results import COLUMNS

#: Version of the engine semantics.  The Cython engine declares the version it
#: implements (``CyEngine.SEMANTICS``); ``auto`` only picks it when they match.
SEMANTICS = 19

EBUSY = 16

#: tick_sched_do_timer (6.1+): a CPU whose tick saw jiffies stand still this many times updates them itself.
MAX_STALLED_JIFFIES = 5

# Queue event types; the type is also the tie-break priority at equal times.
EV_DEV, EV_IPI, EV_WAKE, EV_WORK, EV_WORKEND, EV_WATCHDOG = 0, 1, 2, 3, 4, 5


def splitmix64(state: int) -> tuple[int, int]:
    """One step of splitmix64: returns (new_state, output).  Mirrored in ext/rng.pxd."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


class ReferenceEngine(LoopMixin, ClockeventsMixin, IdleMixin, BroadcastMixin, WatchdogMixin, PvMixin):
    """Pure-Python engine over a :class:`tickscope.sim.boot.BootPlan`."""

    name = "reference"

    def __init__(self, plan: B.BootPlan):
        self.plan = p = plan
        n = p.ncpus
        self.ncpus = n
        self.bslot = n  # the broadcast device's slot
        self.tick = p.tick_nsec
        self.now = 0
        self._t = -1  # time of the event being dispatched
        self.finished = False
        self.acct_end = KTIME_MAX  # C-state residency counts up to here (finish: the run's end)
        self.jiffies_cap = KTIME_MAX  # jiffies catch up at most to this kernel time (finish: the end's)
        self.events = 0
        self._heap: list[tuple] = []
        self._seq = 0
        self._rng = p.seed & M64
        self.devs = p.devices
        # timekeeping: current clocksource and the base of the current conversion
        self.cs_idx = p.cs_index
        self.k_base = 0
        self.c_base = 0
        self.cs_unstable = [c.unstable for c in p.clocksources]
        self.cs_override = p.cs_override   # cleared when the kernel gives an unstable override up
        # kernel-global tick state
        self.jiffies = 0
        self.last_jiffies_update = 0
        self.do_timer_cpu = -2  # TICK_DO_TIMER_BOOT
        # per-slot clockevents state (CPU tick devices, then the broadcast device)
        slots = n + 1
        self.dev = list(p.tick_device) + [p.broadcast_device]
        self.state = [STATE_DETACHED] * slots
        self.gen = [0] * slots
        self.next_event = [KTIME_MAX] * slots
        self.min_delta_ns = [self.devs[d].min_delta_ns if d >= 0 else 0 for d in self.dev]
        self.retries = [0] * slots
        self.per_t0 = [0] * slots
        self.per_c0 = [0] * slots
        self.per_k = [0] * slots
        self.per_expiry = [0] * slots
        self.fire_at = [KTIME_MAX] * slots
        self.arrive_at = [KTIME_MAX] * slots
        self.keeps_in_flight = [False] * slots  # armed as a oneshot event on bare metal (see _keep_in_flight)
        # per-CPU tick state
        self.mode = [TickMode.NONE] * n
        self.sched_expires = [KTIME_MAX] * n
        self.check_clocks = [1] * n
        self.nr_events = [0] * n
        self.nr_retries = [0] * n
        self.nr_hangs = [0] * n
        # expires_next left behind by the broadcast hrtimer's removal from this CPU by another (high-res): the
        # device stays armed for it until an earlier hrtimer or the interrupt it raises (KTIME_MAX: none)
        self.hr_stale = [KTIME_MAX] * n
        self.irqs = [0] * n
        self.ticks = [0] * n
        self.via_bc = 0  # 1 while a handler runs on behalf of the broadcast (TICK/IRQ source)
        # event log
        self.log_t: list[int] = []
        self.log_cpu: list[int] = []
        self.log_kind: list[int] = []
        self.log_src: list[int] = []
        self.log_val: list[int] = []
        self._init_pv()
        self._init_idle()
        for cpu in range(n):
            self._tick_setup_device(cpu, 0)
        self._start_idle()
        self._start_pv()

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

    def _push(self, t, ev, cpu, gen):
        self._seq += 1
        heapq.heappush(self._heap, (t, ev, self._seq, cpu, gen))

    def _latency(self) -> int:
        lat = self.plan.irq_latency_ns
        if self.plan.irq_jitter_ns:
            lat += self._rand() % (self.plan.irq_jitter_ns + 1)
        return lat

    def _keep_in_flight(self, slot):
        """Re-arming or stopping a device whose oneshot interrupt is already raised (fire_at <= now) does not
        recall it: the local APIC holds it until the CPU takes it, and the handler then finds what is due."""
        if self.keeps_in_flight[slot] and self.fire_at[slot] <= self._t:
            if slot == self.bslot:
                self._push(self.arrive_at[slot], EV_INJ, self.plan.bc_cpu, self.PEND_BC)
            else:
                self._push(self.arrive_at[slot], EV_INJ, slot, self.PEND_DEV)

    def _arm(self, slot, fire):
        """The device in *slot* raises its interrupt at true time *fire*; it reaches a CPU after the IRQ latency."""
        self._keep_in_flight(slot)
        self.keeps_in_flight[slot] = not self.guest and self.state[slot] != STATE_PERIODIC
        self.gen[slot] += 1
        self.fire_at[slot] = fire
        # bare metal: the interrupt reaches the CPU after the IRQ latency; a guest's goes through injection
        self.arrive_at[slot] = fire if self.guest else fire + self._latency()
        self._push(self.arrive_at[slot], EV_DEV, slot, self.gen[slot])

    def _cancel(self, slot):
        self._keep_in_flight(slot)
        self.gen[slot] += 1
        self.fire_at[slot] = KTIME_MAX

    def _cs_cycles(self, idx, t) -> int:
        cs = self.plan.clocksources[idx]
        kind = cs.kind
        if kind == B.CS_JIFFIES:
            return self.jiffies
        if kind == B.CS_TSC:
            return self.tsc(t)
        if kind == B.CS_PVCLOCK:
            return self.pvclock_ns(t)
        if kind == B.CS_HVPAGE:
            return self.hv_reference(t)
        return t * cs.num // cs.den

    def ktime(self, t: int) -> int:
        """The kernel's CLOCK_MONOTONIC at true time *t*, read through the current clocksource."""
        cs = self.plan.clocksources[self.cs_idx]
        return self.k_base + (((self._cs_cycles(self.cs_idx, t) - self.c_base) * cs.params.mult) >> cs.params.shift)

    def _switch_clocksource(self, t, idx):
        """timekeeping_notify: continue kernel time from now on the new clocksource."""
        self.k_base = self.ktime(t)
        self.cs_idx = idx
        self.c_base = self._cs_cycles(idx, t)
        self._log(t, 0, Kind.CS_SWITCH, idx, self.k_base)

    def _cs_hres(self) -> bool:
        return self.plan.clocksources[self.cs_idx].continuous

    # ------------------------------------------------------------------ tick layer: setup and periodic
    def _tick_setup_device(self, cpu, t):
        """tick_setup_device + tick_setup_periodic at boot."""
        if self.plan.vmi_alarm and self.plan.vmi_alarm[cpu] >= 0:
            # VMI 2.6.21: no clock event device; the alarm on the hijacked LVTT drives VMI's own tick code
            self.dev[cpu] = self.plan.vmi_alarm[cpu]
            self.mode[cpu] = TickMode.VMI_ALARM
            self.check_clocks[cpu] = 0
            self._set_periodic(cpu, t)
            self._log(t, cpu, Kind.MODE, TickMode.VMI_ALARM, self.tick)
            return
        did = self.dev[cpu]
        if did < 0:
            return
        d = self.devs[did]
        if self.do_timer_cpu == -2:
            self.do_timer_cpu = cpu
            self.last_jiffies_update = self.ktime(t)
        self.state[cpu] = STATE_SHUTDOWN
        self.check_clocks[cpu] = 1 if d.has(B.FEAT_ONESHOT) else 0
        if cpu in self.bc_periodic_mask:
            # tick_device_uses_broadcast: the local timer stops in deep idle, the broadcast device ticks for it
            self.mode[cpu] = TickMode.PERIODIC_BC
            self._log(t, cpu, Kind.MODE, TickMode.PERIODIC_BC, 0)
        elif d.has(B.FEAT_PERIODIC):
            self.mode[cpu] = TickMode.PERIODIC
            self._set_periodic(cpu, t)
            self._log(t, cpu, Kind.MODE, TickMode.PERIODIC, self._periodic_fire(cpu, 1))
        else:
            self.mode[cpu] = TickMode.PERIODIC_EMUL
            self.state[cpu] = STATE_ONESHOT
            nxt = self.last_jiffies_update
            while self._program_event(cpu, t, nxt, False):
                nxt += self.tick
            self._log(t, cpu, Kind.MODE, TickMode.PERIODIC_EMUL, nxt)

    def _do_timer_periodic(self, cpu, t):
        if cpu == self.do_timer_cpu:
            self.last_jiffies_update += self.tick
            self.jiffies += 1
            self._log(t, cpu, Kind.JIFFIES, 1, self.jiffies)
            self._watchdog_jiffies_moved(t)

    def _update_jiffies64(self, cpu, t, now):
        """tick_do_update_jiffies64: catch jiffies up to *now* (several at once when late)."""
        # finish delivering past the end: jiffies stop at the end's kernel time
        delta = min(now, self.jiffies_cap) - self.last_jiffies_update
        if delta < self.tick:
            return
        n = 1 + (delta - self.tick) // self.tick
        self.last_jiffies_update += n * self.tick
        self.jiffies += n
        self._log(t, cpu, Kind.JIFFIES, min(n, 255), self.jiffies)
        self._watchdog_jiffies_moved(t)

    def _tick_periodic(self, cpu, t, expiry):
        """tick_periodic: do_timer on the owner, then update_process_times (which may switch modes)."""
        self._do_timer_periodic(cpu, t)
        self.ticks[cpu] += 1
        self._log(t, cpu, Kind.TICK, self.via_bc, expiry)
        self._run_timers(cpu, t, self.ktime(t))
        self._hrtimer_run_queues(cpu, t)

    def _hrtimer_run_queues(self, cpu, t):
        """The oneshot switch check (tick_check_oneshot_change) run from every low-res tick."""
        if not self.check_clocks[cpu]:
            return
        self.check_clocks[cpu] = 0
        if not self._oneshot_switch_possible(cpu):
            return
        if self.plan.highres:
            self._switch_to_oneshot(cpu, t, TickMode.HIGHRES)
        elif self.plan.nohz_idle:
            self._switch_to_oneshot(cpu, t, TickMode.LOWRES_NOHZ)

    def _oneshot_switch_possible(self, cpu) -> bool:
        """Whether the CPU's tick check would switch it to oneshot now (tick_check_oneshot_change: a clocksource
        valid for high-res, a oneshot tick device not ticked by the periodic broadcast, a broadcast able to run
        oneshot if that device stops in deep C-states, and high-res or NO_HZ asked for)."""
        if self.dev[cpu] < 0:   # no tick device
            return False
        d = self.devs[self.dev[cpu]]
        if not self._cs_hres() or not d.has(B.FEAT_ONESHOT) or self.mode[cpu] == TickMode.PERIODIC_BC:
            return False
        if d.has(B.FEAT_C3STOP) and not self._broadcast_oneshot_available():
            return False
        return bool(self.plan.highres or self.plan.nohz_idle)

    def _cstates_offered(self, cpu) -> bool:
        """Whether the CPU idles with its C-states (the cpuidle driver registered): not while its first tick has yet
        to switch it to oneshot, as a real boot's drivers register after that switch (engine semantics 18)."""
        return not (self.check_clocks[cpu] and self._oneshot_switch_possible(cpu))

    def _switch_to_oneshot(self, cpu, t, mode):
        """tick_switch_to_oneshot + tick_setup_sched_timer (highres) / tick_nohz_switch_to_nohz (lowres)."""
        self.mode[cpu] = mode
        self._set_state(cpu, STATE_ONESHOT)
        self.next_event[cpu] = KTIME_MAX
        self.bc_mode_oneshot = True
        now = self.ktime(t)
        exp = self.last_jiffies_update
        if self.plan.skew_tick:
            exp += (self.tick >> 1) // self.ncpus * cpu
        exp = self._not_before(exp, now)
        self.sched_expires[cpu] = exp
        self._log(t, cpu, Kind.MODE, mode, exp)
        if mode == TickMode.HIGHRES:
            self._hrtimer_reprogram(cpu, t, True)   # hrtimer_start_expires
        else:
            self._program_event(cpu, t, self.sched_expires[cpu], True)

    def _broadcast_oneshot_available(self) -> bool:
        if self.plan.bc_kind == B.BC_HRTIMER:
            return True
        b = self.plan.broadcast_device
        return self.plan.bc_kind == B.BC_DEVICE and self.devs[b].has(B.FEAT_ONESHOT)

    # ------------------------------------------------------------------ hrtimers (high-res mode)
    def _hrtimer_next(self, cpu) -> int:
        nxt = self.sched_expires[cpu]
        for u in self.utimers[cpu]:
            if u[4] < nxt:   # the hard expiry (soft + slack): __hrtimer_next_event_base programs it
                nxt = u[4]
        if self.bc_bound == cpu and self.bc_expires < nxt:
            nxt = self.bc_expires
        return nxt

    def _hrtimer_reprogram(self, cpu, t, force):
        """Program the CPU's device for its earliest hrtimer (or stop it when there is none).

        *force*: everywhere but at the end of hrtimer_interrupt, which retries instead: starting or moving a
        timer (hrtimer_start, hrtimer_force_reprogram) programs through __hrtimer_reprogram with force.
        While the device is armed for a broadcast hrtimer another CPU took away (``hr_stale``), only an earlier
        expiry reprograms it (hrtimer_reprogram: before ``expires_next``), as a removal never moves it."""
        nxt = self._hrtimer_next(cpu)
        if self.hr_stale[cpu] != KTIME_MAX:
            if nxt >= self.hr_stale[cpu]:
                return 0
            self.hr_stale[cpu] = KTIME_MAX
        if nxt == KTIME_MAX:
            self.next_event[cpu] = KTIME_MAX
            if self.state[cpu] == STATE_ONESHOT:
                self._stop_oneshot(cpu)
            return 0
        if cpu in self.oneshot_mask:
            if self.state[cpu] == STATE_SHUTDOWN:
                # the local device is shut down in deep idle: only record what the broadcast must honour
                self.next_event[cpu] = nxt
                if nxt < self.bc_next_event:
                    self._bc_set_event(cpu, t, nxt)
                return 0
            if nxt == self.next_event[cpu] and self.fire_at[cpu] != KTIME_MAX:
                return 0   # left running on its way into the broadcast (its hrtimer is first): armed for it already
        return self._program_event(cpu, t, nxt, force)

    def _hrtimer_interrupt(self, cpu, t):
        self.nr_events[cpu] += 1
        self.next_event[cpu] = KTIME_MAX
        self.hr_stale[cpu] = KTIME_MAX   # expires_next is computed afresh from the CPU's own hrtimers
        now = self.ktime(t)
        handled_tick = self._expire_hrtimers(cpu, t, now)
        if not handled_tick:
            self._log(t, cpu, Kind.IRQ, self.via_bc, now)
        tries = 0
        while self._hrtimer_reprogram(cpu, t, False):
            # Already past: expire again (hrtimer_interrupt's retry loop), then the hang path.
            self.nr_retries[cpu] += 1
            tries += 1
            self._expire_hrtimers(cpu, t, self.ktime(t))
            if tries >= 3:
                # The hang path: program (forced) now + the time the handler took, at most 100 ms.  The model's
                # handler takes no time, so that is now: clockevents_program_min_delta, which raises
                # min_delta_ns until the device can be programmed (engine semantics 15; before, a whole
                # jiffy, which skipped the next tick slot and never grew min_delta_ns).
                self.nr_hangs[cpu] += 1
                self._program_event(cpu, t, self.ktime(t), True)
                break

    def _expire_hrtimers(self, cpu, t, now) -> bool:
        """Run every hrtimer of the CPU due at *now*: the sched tick, the broadcast hrtimer, user timers."""
        handled_tick = False
        if self.sched_expires[cpu] <= now:
            self._tick_sched_timer(cpu, t, now)
            handled_tick = True
        self._run_timers(cpu, t, now)
        return handled_tick

    def _tick_sched_do_timer(self, cpu, t, now):
        """tick_sched_do_timer: take a dropped do_timer duty, update jiffies on its owner, and (6.1+) update them
        here too when this CPU's tick found them unchanged MAX_STALLED_JIFFIES times in a row (a stalled
        timekeeper: a descheduled vCPU)."""
        if self.do_timer_cpu == -1:
            self.do_timer_cpu = cpu
        if self.do_timer_cpu == cpu:
            self._update_jiffies64(cpu, t, now)
        if self.tick_jiffies[cpu] != self.jiffies:
            self.tick_jiffies[cpu] = self.jiffies
            self.stalled_jiffies[cpu] = 0
        else:
            self.stalled_jiffies[cpu] += 1
            if self.stalled_jiffies[cpu] == MAX_STALLED_JIFFIES:
                self._update_jiffies64(cpu, t, now)
                self.stalled_jiffies[cpu] = 0
                self.tick_jiffies[cpu] = self.jiffies

    def _tick_sched_handle(self, cpu):
        """tick_sched_handle: update_process_times, counted as one tick of the CPU."""
        if self.tick_stopped[cpu]:
            self.idle_jiffies[cpu] += 1
            self.next_tick[cpu] = 0   # the next stop programs the expiry again
        self.ticks[cpu] += 1

    def _tick_sched_timer(self, cpu, t, now):
        """tick_sched_timer / tick_nohz_handler: jiffies, process times, then forward (never replay)."""
        self._tick_sched_do_timer(cpu, t, now)
        self._tick_sched_handle(cpu)
        self._log(t, cpu, Kind.TICK, self.via_bc, self.sched_expires[cpu])
        if self.tick_stopped[cpu]:
            self.sched_expires[cpu] = KTIME_MAX  # HRTIMER_NORESTART: the idle loop re-arms
        else:
            exp = self.sched_expires[cpu]
            self.sched_expires[cpu] = exp + ((now - exp) // self.tick + 1) * self.tick

    def _lowres_handler(self, cpu, t):
        """tick_nohz_lowres_handler: every interrupt runs the tick (tick_sched_do_timer, tick_sched_handle and, from
        it, hrtimer_run_queues: the broadcast hrtimer, user timers), whether or not the sched_timer's slot is due."""
        self.next_event[cpu] = KTIME_MAX
        now = self.ktime(t)
        stopped = self.tick_stopped[cpu]
        if self.sched_expires[cpu] <= now:
            self._tick_sched_timer(cpu, t, now)
        else:
            # before the slot (an interrupt already raised when the device was re-armed, one programmed for a
            # timer): a tick for no slot (value = kernel time); hrtimer_forward leaves the sched_timer alone
            self._tick_sched_do_timer(cpu, t, now)
            self._tick_sched_handle(cpu)
            self._log(t, cpu, Kind.TICK, self.via_bc, now)
        self._run_timers(cpu, t, now)
        if stopped:
            return   # the idle loop programs the stopped tick again (next_tick was cleared)
        self._program_event(cpu, t, self.sched_expires[cpu], True)   # forwarded past now by the tick when due

    # ------------------------------------------------------------------ interrupt handlers
    def _device_handler(self, cpu, t):
        """The CPU's tick device interrupt: dispatch to the handler the core installed."""
        mode = self.mode[cpu]
        self.irqs[cpu] += 1
        if mode == TickMode.PERIODIC:
            if self.plan.pv_pit and self.devs[self.dev[cpu]].hw == B.HW_PIT and self.state[cpu] == STATE_PERIODIC:
                self._pit_guest_tick(cpu, t)
            else:
                self._tick_periodic(cpu, t, self.per_expiry[cpu])
        elif mode == TickMode.PERIODIC_EMUL:
            nxt = self.next_event[cpu]
            self._tick_periodic(cpu, t, nxt)
            while self.mode[cpu] == TickMode.PERIODIC_EMUL:
                nxt += self.tick
                if self._program_event(cpu, t, nxt, False) == 0:
                    break
                # the catch-up replay; a slot past the end's kernel time (finish delivering an interrupt late
                # enough to replay it) is a later tick, dropped with the rest: jiffies stop at the end's (semantics 17)
                if self._cs_hres() and nxt <= self.jiffies_cap:
                    self._tick_periodic(cpu, t, nxt)
        elif mode == TickMode.HIGHRES:
            self._hrtimer_interrupt(cpu, t)
        elif mode == TickMode.LOWRES_NOHZ:
            self._lowres_handler(cpu, t)
        elif mode == TickMode.VMI_ALARM:
            self._vmi_alarm(cpu, t)

    def _event_handler(self, cpu, t, expiry):
        """evt->event_handler called on behalf of the broadcast (tick_receive_broadcast)."""
        self.via_bc = 1
        mode = self.mode[cpu]
        if mode == TickMode.HIGHRES:
            self._hrtimer_interrupt(cpu, t)
        elif mode == TickMode.LOWRES_NOHZ:
            self._lowres_handler(cpu, t)
        else:
            self._tick_periodic(cpu, t, expiry)
        self.via_bc = 0

    def columns(self) -> dict[str, np.ndarray]:
        data = (self.log_t, self.log_cpu, self.log_kind, self.log_src, self.log_val)
        return {name: np.array(col, dtype=dt) for (name, dt), col in zip(COLUMNS, data)}

    def cpu_state(self) -> list[dict]:
        """Per-CPU kernel state, for /proc/timer_list and the JSON summary."""
        out = []
        for c in range(self.ncpus):
            out.append({
                "cpu": c, "device": self.dev[c], "mode": int(self.mode[c]), "state": self.state[c],
                "next_event": self.next_event[c], "min_delta_ns": self.min_delta_ns[c], "retries": self.retries[c],
                "sched_expires": self.sched_expires[c], "hr_stale": self.hr_stale[c], "nr_events": self.nr_events[c],
                "nr_retries": self.nr_retries[c], "nr_hangs": self.nr_hangs[c], "irqs": self.irqs[c],
                "ticks": self.ticks[c], "steal_ns": self.steal_ns[c], "cstates_offered": self._cstates_offered(c),
                **self._idle_state(c),
            })
        return out

    def global_state(self) -> dict:
        now = min(self.ktime(self.now), self.jiffies_cap)
        behind = now - self.last_jiffies_update
        # a reader on a running CPU sees jiffies caught up by tick_do_update_jiffies64 (the NO_HZ machinery: only
        # a stopped tick catches up on irq entry or idle exit; with nohz=off a tick that died leaves jiffies there)
        catch_up = self.plan.nohz_idle and any(m == TickMode.HIGHRES or m == TickMode.LOWRES_NOHZ for m in self.mode)
        seen = self.jiffies + (1 + (behind - self.tick) // self.tick if behind >= self.tick and catch_up else 0)
        return {"jiffies": self.jiffies, "jiffies_seen": seen, "last_jiffies_update": self.last_jiffies_update,
                "do_timer_cpu": self.do_timer_cpu, "events": self.events, "now_ns": self.now,
                "ktime_ns": self.ktime(self.now), "clocksource": self.plan.clocksources[self.cs_idx].name,
                "cs_unstable": list(self.cs_unstable), **self._bc_state(), **self._pv_state()}

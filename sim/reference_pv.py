"""Reference engine, part three: the guest side of a hypervisor and the paravirtual backends.

Mixed into :class:`tickscope.sim.reference.ReferenceEngine`; the Cython engine
mirrors it.

* **vCPU scheduling.**  With ``overcommit`` k, each vCPU runs one timeslice,
  then waits (k-1) timeslices plus a random host latency.  A timer that fires
  while its vCPU is not running is injected when the vCPU runs again, after
  the injection latency; busy time spent waiting is steal.
* **Guest clocks.**  The guest TSC is piecewise linear: a live migration to a
  host with another TSC rate changes its rate unless the host scales it.
  kvm-clock and xen read it through the shared pvclock math
  (``system_time + scale_delta(tsc - tsc_timestamp, mul, shift)``), Hyper-V
  through its reference TSC page; the host rewrites both records when it
  migrates, so they stay right while a bare ``tsc`` clocksource does not.
* **KVM's in-kernel PIT.**  A host timer at the PIT period; an expiry is
  injected only once the guest acked the previous one.  ``reinject`` keeps the
  missed ones pending and delivers them back to back; ``discard`` drops them.
* **VMI 2.6.21.**  No clock event device: an alarm on the hijacked LVTT vector
  runs VMI's own catch-up loops (``do_timer`` per elapsed jiffy of real time,
  ``update_process_times`` per elapsed jiffy of available time).  Core changes
  that reach its hooks (computed from the architecture model) break it.
"""
from __future__ import annotations

from tickscope.sim import boot as B
from tickscope.sim.events import Kind
from tickscope.sim.pvclock import kvm_get_time_scale, pvclock_scale_delta

KTIME_MAX = B.KTIME_MAX
M64 = (1 << 64) - 1
EV_VCPU, EV_INJ, EV_MIGRATE, EV_RESUME = 6, 7, 8, 9


class PvMixin:
    # ------------------------------------------------------------------ set-up
    def _init_pv(self):
        p = self.plan
        n = self.ncpus
        self.guest = p.pv != B.PV_NONE
        self.vcpu_running = [True] * n
        self.paused = False
        self.pend_inj = [0] * n
        self.desched_start = [0] * n
        self.desched_busy = [False] * n
        self.steal_ns = [0] * n
        self.injections = 0
        # the guest TSC: tsc(t) = tsc_c0 + (t - tsc_t0) * tsc_num // tsc_den
        self.tsc_t0, self.tsc_c0 = 0, 0
        self.tsc_num, self.tsc_den = p.tsc_num, p.tsc_den
        self.migrations_done = 0
        # pvclock / Hyper-V TSC page records the host keeps for the guest
        self._pv_host_update(0)
        # KVM in-kernel PIT
        self.pit_queue: list[int] = []
        self.pit_inflight = False
        self.pit_discarded = 0
        self.pit_pending_max = 0
        # VMI 2.6.21 accounting
        self.vmi_real_acc = 0
        self.vmi_real_acc_cpu = [0] * n
        self.vmi_proc_acc = [0] * n
        self.wall_ahead = 0

    def _start_pv(self):
        p = self.plan
        if p.overcommit > 1:
            for cpu in range(self.ncpus):
                phase = cpu % p.overcommit
                if phase:
                    self.vcpu_running[cpu] = False
                    self.desched_start[cpu] = 0
                    self.desched_busy[cpu] = self.idle_state[cpu] == -2
                    self._push(phase * p.timeslice_ns, EV_VCPU, cpu, 0)
                else:
                    self._push(p.timeslice_ns, EV_VCPU, cpu, 0)
        for i, (at, _hz, _pause) in enumerate(p.migrations):
            self._push(at, EV_MIGRATE, 0, i)

    # ------------------------------------------------------------------ guest clocks
    def tsc(self, t) -> int:
        return self.tsc_c0 + (t - self.tsc_t0) * self.tsc_num // self.tsc_den

    def _tsc_time(self, target) -> int:
        """First true time at which the guest TSC reaches *target*."""
        if target <= self.tsc_c0:
            return self.tsc_t0
        return self.tsc_t0 + -(-(target - self.tsc_c0) * self.tsc_den // self.tsc_num)

    def _pv_host_update(self, t):
        """The host (re)writes the pvclock record and the Hyper-V TSC page for the current TSC rate."""
        tsc_now = self.tsc(t)
        rate_hz = max(1, self.tsc_num * 1_000_000_000 // self.tsc_den)
        self.pv_mul, self.pv_shift = kvm_get_time_scale(rate_hz)
        self.pv_tsc_ts = tsc_now
        self.pv_sys = t
        self.hv_scale = ((10_000_000 << 64) // rate_hz)
        self.hv_offset = t // 100 - ((tsc_now * self.hv_scale) >> 64)

    def pvclock_ns(self, t) -> int:
        return self.pv_sys + pvclock_scale_delta((self.tsc(t) - self.pv_tsc_ts) & M64, self.pv_mul, self.pv_shift)

    def hv_reference(self, t) -> int:
        return ((self.tsc(t) * self.hv_scale) >> 64) + self.hv_offset

    # ------------------------------------------------------------------ injection
    def _inject(self, cpu, t, what):
        """A host-side timer expiry for *cpu*: inject now if the vCPU runs, else when it next runs."""
        if self.vcpu_running[cpu] and not self.paused:
            self.injections += 1
            self._push(t + self._draw(self.plan.injection), EV_INJ, cpu, what)
        else:
            self.pend_inj[cpu] |= what

    def _inj_arrives(self, cpu, t, what):
        """An injected interrupt reaches its vCPU, which takes it if it runs; one descheduled (or a VM paused for a
        migration) since the injection keeps it pending and is injected again when it next runs (VM entry).
        Bare metal: every CPU runs."""
        if self.vcpu_running[cpu] and not self.paused:
            self._arrive(cpu, t, what)
        else:
            self.pend_inj[cpu] |= what

    def _deliver_pending(self, cpu, t):
        what = self.pend_inj[cpu]
        self.pend_inj[cpu] = 0
        for bit in (self.PEND_DEV, self.PEND_BC, self.PEND_IPI):
            if what & bit:
                self.injections += 1
                self._push(t + self._draw(self.plan.injection), EV_INJ, cpu, bit)

    def _vcpu_toggle(self, cpu, t):
        p = self.plan
        if self.vcpu_running[cpu]:
            self.vcpu_running[cpu] = False
            self.desched_start[cpu] = t
            self.desched_busy[cpu] = self.idle_state[cpu] == -2
            wait = (p.overcommit - 1) * p.timeslice_ns
            if p.host_latency_ns:
                wait += self._rand() % (p.host_latency_ns + 1)
            self._push(t + wait, EV_VCPU, cpu, 0)
        else:
            self.vcpu_running[cpu] = True
            self._account_steal(cpu, t)
            self._push(t + p.timeslice_ns, EV_VCPU, cpu, 0)
            if not self.paused:
                self._deliver_pending(cpu, t)
                self._watchdog_retry(t)

    def _account_steal(self, cpu, t):
        if self.desched_busy[cpu] and t > self.desched_start[cpu]:
            stolen = t - self.desched_start[cpu]
            self.steal_ns[cpu] += stolen
            self._log(t, cpu, Kind.STEAL, 0, stolen)
        self.desched_busy[cpu] = False

    def _migrate(self, t, i):
        at, _hz, pause = self.plan.migrations[i]
        self.paused = True
        self._log(t, 0, Kind.MIGRATE, 0, pause)
        for cpu in range(self.ncpus):
            if self.vcpu_running[cpu]:
                self.desched_start[cpu] = t
                self.desched_busy[cpu] = self.idle_state[cpu] == -2
        self._push(t + pause, EV_RESUME, 0, i)

    def _resume(self, t, i):
        _at, hz, _pause = self.plan.migrations[i]
        self.paused = False
        self.migrations_done += 1
        if not self.plan.tsc_scaling:
            # the destination's TSC runs at its own rate: continuous, but faster or slower from now on
            c = self.tsc(t)
            self.tsc_t0, self.tsc_c0 = t, c
            self.tsc_num, self.tsc_den = hz, 1_000_000_000
        self._pv_host_update(t)
        self._log(t, 0, Kind.MIGRATE, 1, hz)
        for cpu in range(self.ncpus):
            if self.vcpu_running[cpu]:
                self._account_steal(cpu, t)
                self._deliver_pending(cpu, t)
        self._watchdog_retry(t)

    # ------------------------------------------------------------------ KVM in-kernel PIT
    def _pit_host_queue(self, t, expiry):
        """The host hrtimer behind the guest PIT expired: queue the tick by the lost-tick policy."""
        if self.plan.pit_policy == B.PIT_DISCARD and self.pit_inflight:
            self.pit_discarded += 1
            self._log(t, 0, Kind.PIT_DISCARD, 0, expiry)
            return
        self.pit_queue.append(expiry)
        if len(self.pit_queue) > self.pit_pending_max:
            self.pit_pending_max = len(self.pit_queue)
        if not self.pit_inflight:
            self.pit_inflight = True
            self._inject(0, t, self.PEND_DEV)

    def _pit_guest_tick(self, cpu, t):
        """The guest handles a PIT interrupt (tick_handle_periodic); its EOI acks it to the host."""
        expiry = self.pit_queue.pop(0) if self.pit_queue else t
        self._tick_periodic(cpu, t, expiry)
        self.pit_inflight = False
        if self.pit_queue:
            self.pit_inflight = True
            self._inject(0, t, self.PEND_DEV)

    # ------------------------------------------------------------------ VMI 2.6.21
    def _vmi_alarm(self, cpu, t):
        """vmi_local_timer_interrupt, reached through the hijacked LOCAL_TIMER_VECTOR gate."""
        if self.plan.effects & B.EFF_HOOK_BYPASSED:
            # the core rebuilt the vector's gate: its own handler runs and finds no clock event device
            self._log(t, cpu, Kind.IRQ, 0, self.ktime(t))
            return
        tick = self.tick
        dup = self.plan.effects & B.EFF_DUP_DO_TIMER
        # its loops catch up to the real time they read; an alarm finish delivers after the end catches up to the
        # end only, as the jiffies catch-up of the clock event backends does (engine semantics 17)
        real = min(t, self.acct_end)
        acc = self.vmi_real_acc_cpu[cpu] if dup else self.vmi_real_acc
        while real - acc >= tick:
            acc += tick
            self.jiffies += 1
            self._log(t, cpu, Kind.JIFFIES, 1, self.jiffies)
            if dup and cpu != 0:
                self.wall_ahead += tick  # the changed core's do_timer assumes a single caller
        if dup:
            self.vmi_real_acc_cpu[cpu] = acc
        else:
            self.vmi_real_acc = acc
        self._watchdog_jiffies_moved(t)
        if acc > self.last_jiffies_update:
            self.last_jiffies_update = acc
        avail = real - self.steal_ns[cpu]
        while avail - self.vmi_proc_acc[cpu] >= tick:
            self.vmi_proc_acc[cpu] += tick
            self.ticks[cpu] += 1
            self._log(t, cpu, Kind.TICK, 0, self.vmi_proc_acc[cpu])
            self._run_timers(cpu, t, self.ktime(t))

    def _pv_state(self) -> dict:
        return {"steal_ns": list(self.steal_ns), "injections": self.injections, "pit_discarded": self.pit_discarded,
                "pit_pending_max": self.pit_pending_max, "pit_pending": list(self.pit_queue),
                "migrations": self.migrations_done,
                "wall_ahead_ns": self.wall_ahead, "tsc_hz_now": self.tsc_num * 1_000_000_000 // max(1, self.tsc_den)}

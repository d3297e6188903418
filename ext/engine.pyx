# cython: language_level=3, cdivision=True, boundscheck=False, wraparound=False
"""The compiled engine: ``CyEngine``, the twin of ``tickscope.sim.reference.ReferenceEngine``.

Same input (a BootPlan, read by attribute: ext/ never imports sim/), same
interface (``name``, ``now``, ``events``, ``run_until``, ``columns``,
``cpu_state``, ``global_state``) and the same event log, record for record.
All simulation state is C structs (machine.pxd); ``run_until`` runs the event
loop without the GIL and without Python objects per event.

Layout: _types.pxd (types, shared numbers), kmath.pxd (integer kernel math),
rng.pxd (splitmix64), heap.pxd (event queue), eventlog.pxd (columnar log),
machine.pxd (structs and shared helpers), devices.pxd (device ops tables),
tick.pxi, idle.pxi, clocksource.pxi and pv.pxi (the kernel and hypervisor
model, included here so the layers can call each other as the kernel's do),
loop.pxi (the nogil event loop) and this file (the Python class).
"""
from cpython.mem cimport PyMem_Calloc, PyMem_Free
from libc.stdint cimport int16_t, int32_t, int64_t, uint8_t, uint64_t
from libc.stdlib cimport malloc, free

cimport numpy as cnp

from ext._types cimport *
from ext.kmath cimport floordiv_i64, mul_shift_wrap, Divider, divider_init, divide, kvm_get_time_scale, timer_wheel_bucket
from ext.rng cimport splitmix64_next
from ext.heap cimport EventHeap, HeapEntry, heap_init, heap_free, heap_pop, heap_top, heap_before
from ext.eventlog cimport log_init, log_free, log_unreserve, LOG_RESERVE_RECORDS
from ext.machine cimport (Machine, Slot, Cpu, Device, ClockSrc, CState, UTimer, Dist, Migration,
                          rand64, push, arm, cancel, cs_cycles, ktime, ktime_miss, ktime_read, mlog, tsc_at, time_changed)
from ext.devices cimport device_ops, dev_set_next_event, dev_set_periodic, dev_periodic_fire

cnp.import_array()

include "tick.pxi"
include "idle.pxi"
include "broadcast.pxi"
include "clocksource.pxi"
include "pv.pxi"
include "loop.pxi"

# -- the numbers shared with sim/ (checked by tests/ext/test_types_mirror.py) -----------------
KINDS = {"TICK": K_TICK, "IRQ": K_IRQ, "JIFFIES": K_JIFFIES, "PROGRAM_ETIME": K_PROGRAM_ETIME,
         "MIN_DELTA": K_MIN_DELTA, "MODE": K_MODE, "RETRY": K_RETRY, "IDLE": K_IDLE, "WAKE": K_WAKE,
         "TICK_STOP": K_TICK_STOP, "TICK_RESTART": K_TICK_RESTART, "BROADCAST": K_BROADCAST,
         "UTIMER": K_UTIMER, "WATCHDOG": K_WATCHDOG, "CS_SWITCH": K_CS_SWITCH, "BC_ENTER": K_BC_ENTER,
         "STEAL": K_STEAL, "PIT_DISCARD": K_PIT_DISCARD, "MIGRATE": K_MIGRATE, "BC_IRQ": K_BC_IRQ}
TICK_MODES = {"NONE": TM_NONE, "PERIODIC": TM_PERIODIC, "PERIODIC_EMUL": TM_PERIODIC_EMUL,
              "HIGHRES": TM_HIGHRES, "LOWRES_NOHZ": TM_LOWRES_NOHZ, "PERIODIC_BC": TM_PERIODIC_BC,
              "VMI_ALARM": TM_VMI_ALARM}
HW_KINDS = {"HW_LAPIC": HW_LAPIC, "HW_DEADLINE": HW_DEADLINE, "HW_HPET": HW_HPET, "HW_PIT": HW_PIT, "HW_NS": HW_NS}
FEATURES = {"FEAT_PERIODIC": FEAT_PERIODIC, "FEAT_ONESHOT": FEAT_ONESHOT, "FEAT_KTIME": FEAT_KTIME,
            "FEAT_C3STOP": FEAT_C3STOP, "FEAT_DUMMY": FEAT_DUMMY, "FEAT_PERCPU": FEAT_PERCPU}
CS_KINDS = {"CS_COUNTER": CS_COUNTER, "CS_JIFFIES": CS_JIFFIES, "CS_TSC": CS_TSC, "CS_PVCLOCK": CS_PVCLOCK,
            "CS_HVPAGE": CS_HVPAGE}
PV_KINDS = {"PV_NONE": PV_NONE, "PV_VMI2007": PV_VMI2007, "PV_VMICE": PV_VMICE, "PV_XEN": PV_XEN, "PV_KVM": PV_KVM,
            "PV_HYPERV": PV_HYPERV}
EFFECTS = {"EFF_HOOK_BYPASSED": EFF_HOOK_BYPASSED, "EFF_DUP_DO_TIMER": EFF_DUP_DO_TIMER, "EFF_NO_NOHZ": EFF_NO_NOHZ,
           "EFF_NO_HIGHRES": EFF_NO_HIGHRES, "EFF_NO_BROADCAST": EFF_NO_BROADCAST}
PIT_POLICIES = {"PIT_REINJECT": PIT_REINJECT, "PIT_DISCARD": PIT_DISCARD}
BC_KINDS = {"BC_NONE": BC_NONE, "BC_DEVICE": BC_DEVICE, "BC_HRTIMER": BC_HRTIMER}
WORKLOAD_KINDS = {"WL_BUSY": WL_BUSY, "WL_IDLE": WL_IDLE, "WL_MIXED": WL_MIXED, "WL_TIMERS": WL_TIMERS}
DISTS = {"DIST_FIXED": DIST_FIXED, "DIST_EXP": DIST_EXP, "DIST_UNIFORM": DIST_UNIFORM}
TIMER_KINDS = {"TIMER_PERIODIC": TIMER_PERIODIC, "TIMER_RANDOM": TIMER_RANDOM}
EVENT_TYPES = {"EV_DEV": EV_DEV, "EV_IPI": EV_IPI, "EV_WAKE": EV_WAKE, "EV_WORK": EV_WORK,
               "EV_WORKEND": EV_WORKEND, "EV_WATCHDOG": EV_WATCHDOG, "EV_VCPU": EV_VCPU, "EV_INJ": EV_INJ,
               "EV_MIGRATE": EV_MIGRATE, "EV_RESUME": EV_RESUME}
CLOCK_STATES = {"STATE_DETACHED": STATE_DETACHED, "STATE_SHUTDOWN": STATE_SHUTDOWN,
                "STATE_PERIODIC": STATE_PERIODIC, "STATE_ONESHOT": STATE_ONESHOT,
                "STATE_ONESHOT_STOPPED": STATE_ONESHOT_STOPPED}
ETIME = ETIME_
EBUSY = EBUSY_


cdef extern from *:
    """
    #ifndef TICKSCOPE_PGO
    #define TICKSCOPE_PGO 0
    #endif
    #ifndef TICKSCOPE_PLAIN_WHY
    #define TICKSCOPE_PLAIN_WHY ""
    #endif
    """
    int TICKSCOPE_PGO   # setup.py defines it in the profile-optimised compile of a profile-guided build
    const char* TICKSCOPE_PLAIN_WHY   # setup.py: why a build is plain ("" when built some other way)


#: Whether this module is the optimised half of setup.py's profile-guided build (False: a plain build).
PROFILE_GUIDED = bool(TICKSCOPE_PGO)
#: Why setup.py built this module without a profile ("TICKSCOPE_PGO=0 asked for it", "clang is not GCC",
#: "the profile-guided build failed: ..."); "" for a profile-guided build or one not made by setup.py.
PLAIN_BUILD_REASON = TICKSCOPE_PLAIN_WHY.decode("utf-8", "replace")
HPET_MIN_CYCLES = HPET_MIN_CYCLES_
KTIME_MAX_NS = KTIME_MAX
SETTLE_KTIME_CAP = SETTLE_KTIME_CAP_NS
DRAIN_HORIZON = DRAIN_HORIZON_NS

COLUMN_NAMES = ("time_ns", "cpu", "kind", "source", "value")
BYTES_PER_RECORD = 8 + 2 + 1 + 1 + 8
# 64 Ki records (1.3 MB) to start; doubling after that.
_INITIAL_LOG_CAPACITY = 1 << 16
_UINT64_MAX = (1 << 64) - 1


def divide_u64(uint64_t n, uint64_t d):
    """floor(n / d) through kmath's Divider, for checking the reciprocal against Python's //."""
    cdef Divider v
    if d == 0:
        raise ZeroDivisionError("divide_u64: d must be positive")
    divider_init(&v, d)
    return divide(&v, n)


def log_record_budget():
    """Event-log records the memory available now can hold (3/4 of /proc/meminfo's MemAvailable at 20 bytes
    a record; the whole reservation where that cannot be read)."""
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                if line.startswith(b"MemAvailable:"):
                    return max(1 << 20, min(LOG_RESERVE_RECORDS, int(line.split()[1]) * 1024 * 3 // 4 // 20))
    except (OSError, ValueError, IndexError):
        pass
    return LOG_RESERVE_RECORDS


def splitmix64(uint64_t state):
    """One splitmix64 step: (new_state, output), for checking against the reference."""
    cdef uint64_t s = state
    cdef uint64_t out = splitmix64_next(&s)
    return s, out


cdef class _LogBlocks:
    """Owns exported log blocks; numpy views hold it as their base and it frees them last."""

    cdef void* p[5]
    cdef bint reserved        # reserved mappings (eventlog.pxd), released with munmap; else malloc'ed

    def __dealloc__(self):
        cdef int i
        if self.reserved:
            log_unreserve(self.p, LOG_RESERVE_RECORDS)
        else:
            for i in range(5):
                free(self.p[i])
        for i in range(5):
            self.p[i] = NULL


cdef void _set_dist(Dist* d, tup):
    d.code = tup[0]
    d.mean = tup[1]
    d.lo = tup[2]
    d.hi = tup[3]


cdef class CyEngine:
    """Compiled engine over a :class:`tickscope.sim.boot.BootPlan`.

    Parameters
    ----------
    plan : BootPlan
        The booted machine and kernel (validated by sim/; trusted here except for
        integer ranges, which raise OverflowError when they do not fit C types).
    """

    cdef Machine m            # all simulation state, C structs only
    cdef readonly object plan
    cdef readonly int ncpus
    cdef object _export       # _LogBlocks owning the blocks columns() exported, while they are current
    cdef object _cs_names
    cdef long long _now
    cdef bint _finished
    cdef bint _broken         # an allocation failed mid-event: the state is no longer trustworthy
    cdef int64_t* _residency
    cdef UTimer* _utimers
    cdef Migration* _migs

    name = "cython"
    SEMANTICS = 19  # the reference semantics version mirrored (sim/reference.py SEMANTICS)

    def __cinit__(self, plan):
        cdef Machine* m = &self.m
        cdef Device* d
        cdef Slot* s
        cdef Cpu* c
        cdef ClockSrc* k
        cdef int i, cpu, did, nut
        self.plan = plan
        n = int(plan.ncpus)
        if n < 1 or n > 32767:
            raise ValueError(f"plan.ncpus: {n} is out of range (1..32767)")
        self.ncpus = n
        m.ncpus = n
        m.bslot = n
        m.hz = plan.hz
        m.tick = plan.tick_nsec
        m.highres = bool(plan.highres)
        m.nohz_idle = bool(plan.nohz_idle)
        m.skew_tick = bool(plan.skew_tick)
        m.irq_latency = plan.irq_latency_ns
        m.irq_jitter = plan.irq_jitter_ns
        m.hpet_write_delay = plan.hpet_write_delay_ns
        m.ipi_latency = plan.ipi_latency_ns
        m.timer_work = plan.timer_work_ns
        m.rng = plan.seed & _UINT64_MAX
        m.do_timer_cpu = TICK_DO_TIMER_BOOT
        m.bc_kind = plan.bc_kind
        m.bc_cpu = plan.bc_cpu
        m.bc_dev = plan.broadcast_device
        m.bc_next_event = KTIME_MAX
        m.bc_bound = -1
        m.bc_expires = KTIME_MAX
        m.tsc_stops = bool(plan.tsc_stops)
        m.watchdog = plan.watchdog
        m.watchdog_margin = plan.watchdog_margin_ns
        m.wd_first = True
        m.wd_waiting = False
        m.wd_arm_jiffies = 0
        m.wd_due_jiffies = <int64_t>1 << 62
        m.wd_gen = 0
        m.wd_expires = KTIME_MAX
        m.wd_interval = plan.hz >> 1
        m.jiffies0 = plan.initial_jiffies
        m.kt_t = -1
        m.acct_end = KTIME_MAX
        m.jiffies_cap = KTIME_MAX
        m.ev_t = -1
        m.tsc_key = -1
        m.kt_miss = ktime_miss
        m.bc_expire = bc_hrtimer_expire
        # guest and hypervisor
        m.guest = plan.pv != PV_NONE
        m.effects = plan.effects
        m.overcommit = plan.overcommit
        m.timeslice = plan.timeslice_ns
        m.host_latency = plan.host_latency_ns
        _set_dist(&m.injection, plan.injection)
        m.pit_policy = plan.pit_policy
        m.pv_pit = bool(plan.pv_pit)
        m.tsc_scaling = bool(plan.tsc_scaling)
        m.tsc_num = plan.tsc_num
        m.tsc_den = plan.tsc_den
        if m.tsc_den == 0:
            raise ValueError(f"plan.tsc_den: {plan.tsc_den} must be positive")
        divider_init(&m.tsc_dnum, m.tsc_num)
        divider_init(&m.tsc_dden, m.tsc_den)
        migs = list(plan.migrations)
        m.nmig = len(migs)
        self._migs = <Migration*>PyMem_Calloc(max(m.nmig, 1), sizeof(Migration))
        m.migs = self._migs
        for i, (at, hz, pause) in enumerate(migs):
            m.migs[i].at = at
            m.migs[i].tsc_hz = hz
            m.migs[i].pause = pause
        m.pit_cap = 16
        m.pit_q = <ns_t*>malloc(m.pit_cap * sizeof(ns_t))
        if m.migs == NULL or m.pit_q == NULL:
            raise MemoryError()
        pv_host_update(m, 0)
        # clocksources
        css = list(plan.clocksources)
        self._cs_names = [x.name for x in css]
        m.ncs = len(css)
        m.cs = <ClockSrc*>PyMem_Calloc(max(m.ncs, 1), sizeof(ClockSrc))
        cstates = list(plan.cstates) or [("HLT", 0, 0, False)]
        m.nstates = len(cstates)
        m.has_cpuidle = bool(plan.cstates)
        m.cstates = <CState*>PyMem_Calloc(m.nstates, sizeof(CState))
        devices = list(plan.devices)
        m.ndevs = len(devices)
        m.devs = <Device*>PyMem_Calloc(max(m.ndevs, 1), sizeof(Device))
        m.slots = <Slot*>PyMem_Calloc(n + 1, sizeof(Slot))
        m.cpus = <Cpu*>PyMem_Calloc(n, sizeof(Cpu))
        m.idle_waketime = <ns_t*>PyMem_Calloc(n, sizeof(ns_t))
        m.next_tick = <ns_t*>PyMem_Calloc(n, sizeof(ns_t))
        m.ts_last_jiffies = <int64_t*>PyMem_Calloc(n, sizeof(int64_t))
        m.ts_next_timer = <ns_t*>PyMem_Calloc(n, sizeof(ns_t))
        self._residency = <int64_t*>PyMem_Calloc(n * m.nstates, sizeof(int64_t))
        nut = sum(len(x) for x in plan.timers)
        self._utimers = <UTimer*>PyMem_Calloc(max(nut, 1), sizeof(UTimer))
        if not (m.cs and m.cstates and m.devs and m.slots and m.cpus and m.idle_waketime and m.next_tick and m.ts_last_jiffies and m.ts_next_timer and self._residency and self._utimers):
            raise MemoryError()
        if (heap_init(&m.q[0], 4 * n + 1, 2 * n + 8) or heap_init(&m.q[1], 4 * n + 1, 2 * n + 8)
                or heap_init(&m.q[2], 4 * n + 1, 2 * n + 8) or log_init(&m.log, _INITIAL_LOG_CAPACITY)):
            raise MemoryError()
        if m.log.reserved:  # the reservation is address space: hold the log to the memory there is
            m.log.cap = min(m.log.cap, log_record_budget())
        m.tsc_idx = -1
        for i, cs in enumerate(css):
            k = &m.cs[i]
            k.kind = cs.kind
            k.num = cs.num
            k.den = cs.den
            divider_init(&k.div_den, k.den)
            k.mult = cs.params.mult
            k.shift = cs.params.shift
            k.mask = cs.params.mask
            k.max_idle_ns = cs.params.max_idle_ns
            k.rating = cs.params.rating
            k.continuous = bool(cs.continuous)
            k.must_verify = bool(cs.must_verify)
            k.unstable = bool(cs.unstable)
            if k.must_verify and m.tsc_idx < 0:
                m.tsc_idx = i
        m.cs_idx = plan.cs_index
        m.cs_override = plan.cs_override
        for i, (_name, exit_latency, target_residency, stops) in enumerate(cstates):
            m.cstates[i].exit_latency = exit_latency
            m.cstates[i].target_residency = target_residency
            m.cstates[i].stops_timer = bool(stops)
        for i, dev in enumerate(devices):
            if dev.id != i:
                raise ValueError(f"plan.devices[{i}].id is {dev.id}; ids must equal list positions")
            d = &m.devs[i]
            d.id = dev.id
            d.features = dev.features
            d.cpu = dev.cpu
            d.mult = dev.mult
            d.shift = dev.shift
            d.min_delta_ns = dev.min_delta_ns
            d.max_delta_ns = dev.max_delta_ns
            d.num = dev.num
            d.den = dev.den
            divider_init(&d.div_num, d.num)
            divider_init(&d.div_den, d.den)
            d.host_pit = bool(plan.pv_pit and dev.hw == HW_PIT)
            d.tick_scale = dev.tick_scale
            d.periodic_count = dev.periodic_count
            d.ops = device_ops(dev.hw, bool(dev.tsc_based))
            d.oneshot_stopped = bool(dev.has_oneshot_stopped)
            if d.ops < 0:
                raise ValueError(f"plan.devices[{i}].hw: {dev.hw} is not an ops kind (allowed: {sorted(HW_KINDS.values())})")
        slot_devs = list(plan.tick_device) + [plan.broadcast_device]
        for i in range(n + 1):
            s = &m.slots[i]
            did = slot_devs[i]
            s.dev_id = did
            s.dev = &m.devs[did] if did >= 0 else NULL
            s.state = STATE_DETACHED
            s.fire_at = KTIME_MAX
            s.next_event = KTIME_MAX
            s.min_delta_ns = s.dev.min_delta_ns if did >= 0 else 0
        # the broadcast device ticks periodically for CPUs whose idle driver turned the broadcast on: intel_idle
        # calls tick_broadcast_enable() on every CPU without ARAT, whatever its states (engine semantics 19)
        idle_driver = len(cstates) > 0
        cs_now = css[plan.cs_index]
        will_oneshot = (plan.highres or plan.nohz_idle) and cs_now.continuous and any(
            td >= 0 and devices[td].features & FEAT_ONESHOT for td in plan.tick_device)
        nut = 0
        for cpu in range(n):
            c = &m.cpus[cpu]
            c.mode = TM_NONE
            c.sched_expires = KTIME_MAX
            c.hr_stale = KTIME_MAX
            c.check_clocks = 1
            c.idle_state = RUNNING
            c.work_len = -1
            c.residency = &self._residency[cpu * m.nstates]
            kind, busy, idle = plan.workload[cpu]
            c.wl_kind = kind
            _set_dist(&c.busy, busy)
            _set_dist(&c.idle, idle)
            c.utimers = &self._utimers[nut]
            c.nutimers = len(plan.timers[cpu])
            for i, (tkind, param, slack) in enumerate(plan.timers[cpu]):
                c.utimers[i].kind = tkind
                c.utimers[i].param = param
                c.utimers[i].slack = slack
            nut += c.nutimers
            c.tsc_offset = plan.tsc_offset[cpu] if cpu < len(plan.tsc_offset) else 0
            c.vcpu_running = True
            m.ts_last_jiffies[cpu] = -1   # tick_nohz_next_event never asked yet
            c.tick_jiffies = -1
            c.vmi_alarm = plan.vmi_alarm[cpu] if plan.vmi_alarm else -1
            did = plan.tick_device[cpu]
            c.in_periodic = bool(plan.bc_kind == BC_DEVICE and idle_driver and not will_oneshot
                                 and did >= 0 and devices[did].features & FEAT_C3STOP)
            if c.in_periodic:
                m.any_periodic_bc = True
        self._now = 0
        self._export = None
        self._broken = False
        self._finished = False
        with nogil:
            for cpu in range(m.ncpus):
                tick_setup_device(m, cpu, 0)
            start_idle(m)
            start_pv(m)
        self._check()

    def __dealloc__(self):
        heap_free(&self.m.q[0])
        heap_free(&self.m.q[1])
        heap_free(&self.m.q[2])
        log_free(&self.m.log)  # leaves exported blocks to their _LogBlocks
        PyMem_Free(self.m.cs)
        PyMem_Free(self.m.cstates)
        PyMem_Free(self.m.devs)
        PyMem_Free(self.m.slots)
        PyMem_Free(self.m.cpus)
        PyMem_Free(self.m.idle_waketime)
        PyMem_Free(self.m.next_tick)
        PyMem_Free(self.m.ts_last_jiffies)
        PyMem_Free(self.m.ts_next_timer)
        PyMem_Free(self._residency)
        PyMem_Free(self._utimers)
        PyMem_Free(self._migs)
        free(self.m.pit_q)

    cdef int _check(self) except -1:
        if self.m.log.failed or self.m.status:
            self._broken = True
            n = self.m.log.n
            raise MemoryError(f"engine: out of memory: the event log reached {n} records ({n * 20 / 1e9:.1f} GB) at "
                              f"{max(self.m.ev_t, 0) / 1e9:g} s simulated; shorten the run or use fewer CPUs")
        if self._export is not None and not self.m.log.exported:
            self._export = None  # the log moved to new blocks; the views keep the old ones alive
        return 0

    @property
    def now(self):
        """True simulated time reached (ns)."""
        return self._now

    @property
    def events(self):
        """Queue events processed so far."""
        return self.m.events

    @property
    def log_reserved(self):
        """Whether the event log lives in reserved address space (else in malloc'ed, doubling blocks)."""
        return bool(self.m.log.reserved)

    @property
    def nrecords(self):
        """Records in the event log."""
        return self.m.log.n

    def run_until(self, long long t_end):
        """Process every event at or before *t_end*; returns the number processed.

        Raises
        ------
        MemoryError
            If the event log or queue cannot grow (the engine is unusable afterwards).
        """
        cdef int64_t done = 0
        cdef Machine* m = &self.m
        if self._broken:
            raise RuntimeError("the engine failed earlier (out of memory); start a new one")
        if self._finished:
            raise RuntimeError("the run has ended (finish); start a new engine to run further")
        with nogil:
            run_events(m, t_end, &done)
        self._check()
        if t_end > self._now:
            self._now = t_end
        return done

    def settle_ktime(self, long long t_end):
        """The true time by which the kernel's clock reads *t_end* (ReferenceEngine.settle_ktime)."""
        return settle_at(&self.m, t_end)

    def finish(self, long long t_end):
        """End the run at *t_end* with the interrupts already on their way delivered; returns the settle
        time (ReferenceEngine.finish)."""
        cdef int64_t done = 0
        cdef Machine* m = &self.m
        cdef ns_t t_k = self.settle_ktime(t_end), last
        m.acct_end = t_end   # before the settle window too (ReferenceEngine.finish, engine semantics 19)
        self.run_until(t_k)
        m.jiffies_cap = ktime(m, t_k)
        with nogil:
            last = drain_events(m, t_k, t_end, t_k + DRAIN_HORIZON_NS, &done)
        self._check()
        self._now = max(self._now, t_k, last)
        self._finished = True
        return t_k

    def columns(self):
        """The event log as five numpy arrays, zero-copy read-only views of the engine's buffers.

        The views stay valid after later runs: a full buffer moves to new memory
        and the old blocks live as long as any view of them does.
        """
        cdef cnp.npy_intp n = self.m.log.n
        cdef _LogBlocks owner
        if self._export is None:
            owner = _LogBlocks()
            owner.p[0] = self.m.log.t
            owner.p[1] = self.m.log.cpu
            owner.p[2] = self.m.log.kind
            owner.p[3] = self.m.log.src
            owner.p[4] = self.m.log.val
            owner.reserved = self.m.log.reserved
            self.m.log.exported = True
            self._export = owner
        owner = self._export
        types = (cnp.NPY_INT64, cnp.NPY_INT16, cnp.NPY_UINT8, cnp.NPY_UINT8, cnp.NPY_INT64)
        out = {}
        for i in range(5):
            arr = cnp.PyArray_SimpleNewFromData(1, &n, types[i], owner.p[i])
            cnp.set_array_base(arr, owner)
            arr.flags.writeable = False
            out[COLUMN_NAMES[i]] = arr
        return out

    def cpu_state(self):
        """Per-CPU kernel state, for /proc/timer_list and the JSON summary."""
        out = []
        cdef Cpu* c
        cdef Slot* s
        cdef Machine* m = &self.m
        for cpu in range(self.ncpus):
            c = &m.cpus[cpu]
            s = &m.slots[cpu]
            residency = [c.residency[i] for i in range(m.nstates)]
            end = min(self._now, m.acct_end)
            if c.idle_state >= 0 and end > c.state_enter:
                residency[c.idle_state] += end - c.state_enter  # the sleep still going on when read
            out.append({
                "cpu": cpu, "device": s.dev_id, "mode": c.mode, "state": s.state,
                "next_event": s.next_event, "min_delta_ns": s.min_delta_ns, "retries": s.retries,
                "sched_expires": c.sched_expires, "hr_stale": c.hr_stale, "nr_events": c.nr_events,
                "nr_retries": c.nr_retries, "nr_hangs": c.nr_hangs, "irqs": c.irqs,
                "ticks": c.ticks, "steal_ns": c.steal_ns, "cstates_offered": cstates_offered(m, cpu),
                "idle_state": c.idle_state, "tick_stopped": c.tick_stopped, "last_tick": c.last_tick,
                "idle_jiffies": c.idle_jiffies, "idle_calls": c.idle_calls, "idle_sleeps": c.idle_sleeps,
                "idle_entrytime": c.idle_entrytime, "idle_waketime": m.idle_waketime[cpu], "idle_exittime": c.idle_exittime,
                "idle_sleeptime": c.idle_sleeptime, "idle_expires": c.idle_expires,
                "residency_ns": residency, "wakeups": c.wakeups,
                "broadcast_received": c.bc_received, "ipis": c.ipis, "resched_ipis": c.resched_ipis,
                "last_jiffies": m.ts_last_jiffies[cpu], "next_timer": m.ts_next_timer[cpu],
                "timer_expiries": [c.utimers[i].expiry for i in range(c.nutimers)],
                "timer_slacks": [c.utimers[i].slack for i in range(c.nutimers)],
            })
        return out

    def global_state(self):
        cdef Machine* m = &self.m
        cdef Slot* b = &m.slots[m.bslot]
        cdef ns_t behind = min(ktime(m, self._now), m.jiffies_cap) - m.last_jiffies_update
        # a reader on a running CPU sees jiffies caught up by tick_do_update_jiffies64 (the NO_HZ machinery: only
        # a stopped tick catches up on irq entry or idle exit; with nohz=off a tick that died leaves jiffies there)
        catch_up = m.nohz_idle and any(m.cpus[c].mode == TM_HIGHRES or m.cpus[c].mode == TM_LOWRES_NOHZ for c in range(self.ncpus))
        seen = m.jiffies + (1 + floordiv_i64(behind - m.tick, m.tick) if behind >= m.tick and catch_up else 0)
        return {"jiffies": m.jiffies, "jiffies_seen": seen, "last_jiffies_update": m.last_jiffies_update,
                "do_timer_cpu": m.do_timer_cpu, "events": m.events, "now_ns": self._now,
                "ktime_ns": ktime(m, self._now), "clocksource": self._cs_names[m.cs_idx],
                "cs_unstable": [bool(m.cs[i].unstable) for i in range(m.ncs)],
                "bc_next_event": m.bc_next_event,
                "oneshot_mask": [c for c in range(self.ncpus) if m.cpus[c].in_oneshot],
                "periodic_mask": [c for c in range(self.ncpus) if m.cpus[c].in_periodic],
                "bc_oneshot": bool(m.bc_mode_oneshot), "bc_bound": m.bc_bound, "bc_expires": m.bc_expires, "bc_state": b.state,
                "bc_next_device_event": b.next_event, "bc_retries": b.retries,
                "bc_min_delta_ns": b.min_delta_ns, "bc_irqs": m.bc_irqs,
                "steal_ns": [m.cpus[c].steal_ns for c in range(self.ncpus)], "injections": m.injections,
                "pit_discarded": m.pit_discarded, "pit_pending_max": m.pit_pending_max,
                "pit_pending": [m.pit_q[(m.pit_head + i) % m.pit_cap] for i in range(m.pit_n)],
                "migrations": m.migrations_done, "wall_ahead_ns": m.wall_ahead,
                "tsc_hz_now": int(m.tsc_num) * 1000000000 // max(1, int(m.tsc_den))}

# Shared C types and the numbers both engines agree on.
#
# Every constant here mirrors tickscope/sim/events.py (record kinds, tick modes)
# or tickscope/sim/boot.py and the modules it re-exports (boot_devices: ops kinds, feature
# bits; boot_clocksources: clocksource kinds);
# tests/ext/test_types_mirror.py holds them equal through the constants that
# engine.pyx exposes.  ext/ never imports sim/ (import-linter contract), so the
# numbers are written twice on purpose and checked, not shared.

from libc.stdint cimport int16_t, int64_t, uint8_t, uint32_t, uint64_t

# gcc/clang 128-bit integers: the kernel's mult/shift scaling of 64-bit counters
# needs 128-bit intermediates ((t * num // den) * mult >> shift overflows 64 bits).
cdef extern from *:
    ctypedef long long int128 "__int128"
    ctypedef unsigned long long uint128 "unsigned __int128"

ctypedef int64_t ns_t        # simulated or kernel time, integer nanoseconds
ctypedef uint64_t cycles_t   # a hardware counter in its own units (TSC cycles, HPET ticks, PIT counts)

cdef extern from *:
    """
    #define TS_KTIME_MAX ((int64_t)0x7FFFFFFFFFFFFFFFLL)
    """
    const int64_t KTIME_MAX "TS_KTIME_MAX"

cdef enum:
    NSEC_PER_SEC_ = 1000000000
    ETIME_ = 62
    HPET_MIN_CYCLES_ = 128
    TICK_DO_TIMER_NONE = -1
    TICK_DO_TIMER_BOOT = -2
    MAX_STALLED_JIFFIES = 5   # tick_sched_do_timer (6.1+)

# Record kinds (sim/events.py Kind)
cdef enum:
    K_TICK = 0
    K_IRQ = 1
    K_JIFFIES = 2
    K_PROGRAM_ETIME = 3
    K_MIN_DELTA = 4
    K_MODE = 5
    K_RETRY = 6
    K_IDLE = 7
    K_WAKE = 8
    K_TICK_STOP = 9
    K_TICK_RESTART = 10
    K_BROADCAST = 11
    K_UTIMER = 12
    K_WATCHDOG = 13
    K_CS_SWITCH = 14
    K_BC_ENTER = 15
    K_STEAL = 16
    K_PIT_DISCARD = 17
    K_MIGRATE = 18
    K_BC_IRQ = 19

# Tick modes (sim/events.py TickMode): the handler the core installed.
cdef enum:
    TM_NONE = 0
    TM_PERIODIC = 1
    TM_PERIODIC_EMUL = 2
    TM_HIGHRES = 3
    TM_LOWRES_NOHZ = 4
    TM_PERIODIC_BC = 5
    TM_VMI_ALARM = 6

# Broadcast kinds (sim/boot_devices.py BC_*), workload kinds, period distributions, user timer kinds (sim/boot.py)
cdef enum:
    BC_NONE = 0
    BC_DEVICE = 1
    BC_HRTIMER = 2
cdef enum:
    WL_BUSY = 0
    WL_IDLE = 1
    WL_MIXED = 2
    WL_TIMERS = 3
cdef enum:
    DIST_FIXED = 0
    DIST_EXP = 1
    DIST_UNIFORM = 2
cdef enum:
    TIMER_PERIODIC = 0
    TIMER_RANDOM = 1

# Queue event types; the type is also the tie-break priority at equal times (sim/reference.py EV_*).
cdef enum:
    EV_DEV = 0
    EV_IPI = 1
    EV_WAKE = 2
    EV_WORK = 3
    EV_WORKEND = 4
    EV_WATCHDOG = 5
    EV_VCPU = 6       # sim/reference_pv.py: a vCPU is descheduled / runs again
    EV_INJ = 7        # an interrupt injected into the guest (gen = the PEND_* bit)
    EV_MIGRATE = 8    # a live migration pauses the VM (gen = migration index)
    EV_RESUME = 9     # it resumes on the new host (gen = migration index)

# Idle: pending-interrupt bits and idle_state sentinels (sim/reference_idle.py)
cdef enum:
    PEND_DEV = 1
    PEND_BC = 2
    PEND_IPI = 4
    PEND_RESCHED = 8
    RUNNING = -2
    IN_IDLE = -1

cdef enum:
    EBUSY_ = 16
    SETTLE_KTIME_CAP_NS = 1000000     # ReferenceEngine: the run's end (finish)
    DRAIN_HORIZON_NS = 1000000000

# Device ops kinds (sim/boot_devices.py HW_*): which ops table a device gets.
cdef enum:
    HW_LAPIC = 0
    HW_DEADLINE = 1
    HW_HPET = 2
    HW_PIT = 3
    HW_NS = 4
    HW_NKINDS = 5

# Clock event feature bits (include/linux/clockchips.h, sim/boot_devices.py FEAT_*)
cdef enum:
    FEAT_PERIODIC = 0x01
    FEAT_ONESHOT = 0x02
    FEAT_KTIME = 0x04
    FEAT_C3STOP = 0x08
    FEAT_DUMMY = 0x10
    FEAT_PERCPU = 0x40

# Clocksource counter kinds (sim/boot_clocksources.py CS_*)
cdef enum:
    CS_COUNTER = 0
    CS_JIFFIES = 1
    CS_TSC = 2        # the (guest) TSC, piecewise across migrations
    CS_PVCLOCK = 3    # pvclock: system_time + scale_delta(tsc - tsc_timestamp, mul, shift)
    CS_HVPAGE = 4     # Hyper-V reference TSC page: ((tsc * scale) >> 64) + offset

# Paravirtual backends, core-change effect bits, KVM PIT lost-tick policies (sim/boot.py PV_*, EFF_*, PIT_*)
cdef enum:
    PV_NONE = 0
    PV_VMI2007 = 1
    PV_VMICE = 2
    PV_XEN = 3
    PV_KVM = 4
    PV_HYPERV = 5
cdef enum:
    EFF_HOOK_BYPASSED = 1
    EFF_DUP_DO_TIMER = 2
    EFF_NO_NOHZ = 4
    EFF_NO_HIGHRES = 8
    EFF_NO_BROADCAST = 16
cdef enum:
    PIT_REINJECT = 0
    PIT_DISCARD = 1

# enum clock_event_state
cdef enum:
    STATE_DETACHED = 0
    STATE_SHUTDOWN = 1
    STATE_PERIODIC = 2
    STATE_ONESHOT = 3
    STATE_ONESHOT_STOPPED = 4

# Status codes of the nogil loop (0 = ok); raised as Python exceptions with the GIL.
cdef enum:
    ST_OK = 0
    ST_NOMEM = 1

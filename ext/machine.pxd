# The simulated machine as C structs: clock event devices with their ops tables,
# device slots (clockevents state), per-CPU tick/idle state, clocksources, and
# the engine core (queue, RNG, log).
#
# Slots 0..ncpus-1 hold each CPU's tick device, slot ncpus the broadcast device
# (as in sim/reference.py).  devices.pxd fills the DevOps records; the kernel
# model (tick.pxi, idle.pxi) calls devices only through them and never looks at
# a device's kind or name.  The helpers here are what both sides share.

from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from ext._types cimport ns_t, cycles_t, int128, uint128, KTIME_MAX, CS_JIFFIES, EV_DEV, ST_NOMEM
from ext.heap cimport EventHeap, heap_push
from ext.eventlog cimport EventLog, log_append
from ext.rng cimport splitmix64_next
from ext.kmath cimport muldiv_u64


cdef struct Machine


# struct clock_event_device's callbacks that the tick layers use.
ctypedef int (*set_next_event_fn)(Machine* m, int slot, ns_t t, uint64_t ticks) noexcept nogil
ctypedef void (*set_periodic_fn)(Machine* m, int slot, ns_t t) noexcept nogil
ctypedef ns_t (*periodic_fire_fn)(Machine* m, int slot, int64_t k) noexcept nogil


ctypedef struct DevOps:
    set_next_event_fn set_next_event   # program a oneshot expiry *ticks* device ticks from now (0 / -ETIME)
    set_periodic_fn set_periodic       # enter hardware periodic state at true time t
    periodic_fire_fn periodic_fire     # true time of the k-th periodic interrupt since set_periodic


ctypedef struct Device:
    int id
    int features              # FEAT_* bits
    int cpu                   # -1 = global device
    uint64_t mult             # ns -> ticks: (ns * mult) >> shift
    unsigned int shift
    ns_t min_delta_ns
    ns_t max_delta_ns
    uint64_t num              # the backing counter advances num/den counts per ns
    uint64_t den
    uint64_t fast_num         # UINT64_MAX // num: t*num fits 64 bits up to here
    uint64_t tick_scale       # counter counts per device tick
    uint64_t periodic_count   # counter counts per period in periodic state
    DevOps ops


ctypedef struct Slot:
    # clockevents state of one device slot (struct clock_event_device's core-owned fields)
    Device* dev               # NULL = no device
    int dev_id
    int state                 # STATE_*
    uint64_t gen              # bumped on every arm/cancel; queue entries carry it
    ns_t fire_at              # when the device raises its interrupt (KTIME_MAX = not armed)
    ns_t next_event
    ns_t min_delta_ns
    int64_t retries
    ns_t per_t0               # periodic state: start time and counter value at set_periodic
    cycles_t per_c0
    int64_t per_k             # next periodic interrupt index


ctypedef struct Dist:
    int code                  # DIST_*
    int64_t mean
    int64_t lo
    int64_t hi


ctypedef struct UTimer:
    ns_t expiry
    int kind                  # TIMER_*
    int64_t param             # period, or mean interval of a random timer


ctypedef struct CState:
    ns_t exit_latency
    ns_t target_residency
    bint stops_timer


ctypedef struct ClockSrc:
    int kind                  # CS_*
    uint64_t num
    uint64_t den
    uint64_t fast_num
    uint64_t mult
    unsigned int shift
    uint64_t mask
    int64_t max_idle_ns
    int rating
    bint continuous
    bint must_verify
    bint unstable


ctypedef struct Cpu:
    int mode                  # TM_*
    ns_t sched_expires        # the sched_timer hrtimer's expiry (kernel ns)
    int check_clocks
    int64_t nr_events
    int64_t nr_retries
    int64_t nr_hangs
    int64_t irqs
    int64_t ticks
    # idle
    int idle_state            # RUNNING, IN_IDLE or a C-state index
    bint waking
    uint64_t wake_gen
    int pending               # PEND_* bits
    ns_t state_enter
    bint bc_used
    int64_t* residency        # ns per C-state (nstates entries)
    int64_t wakeups
    int64_t bc_received
    int64_t ipis
    ns_t ipi_expiry
    ns_t deep_ns
    # NO_HZ (struct tick_sched)
    int tick_stopped
    ns_t last_tick
    int64_t idle_jiffies
    int64_t idle_calls
    int64_t idle_sleeps
    ns_t idle_entrytime
    ns_t idle_exittime
    ns_t idle_sleeptime
    ns_t idle_expires
    int do_timer_last
    # workload
    int wl_kind
    Dist busy
    Dist idle
    bint busy_mixed
    ns_t busy_until
    uint64_t work_gen
    uint64_t tw_gen
    UTimer* utimers
    int nutimers
    int64_t tsc_offset
    # broadcast masks (the reference's sets; iteration is by ascending CPU like sorted())
    bint in_oneshot
    bint in_pending
    bint in_force
    bint in_periodic


cdef struct Machine:
    int32_t ncpus
    int bslot                 # the broadcast device's slot (= ncpus)
    int hz
    ns_t tick                 # TICK_NSEC
    bint highres
    bint nohz_idle
    bint skew_tick
    ns_t irq_latency
    uint64_t irq_jitter
    ns_t ipi_latency
    ns_t timer_work
    uint64_t rng
    uint64_t seq
    # timekeeping: the current clocksource and the base of the current conversion
    ClockSrc* cs
    int ncs
    int cs_idx
    ns_t k_base
    int64_t c_base
    int tsc_idx               # first MUST_VERIFY clocksource, -1 = none
    # kernel globals
    int64_t jiffies
    ns_t last_jiffies_update
    int do_timer_cpu
    int64_t events
    int via_bc                # 1 while a handler runs on behalf of the broadcast (TICK/IRQ source)
    # broadcast
    int bc_kind
    int bc_cpu
    int bc_dev                # device id, -1 = none
    ns_t bc_next_event
    int bc_bound
    ns_t bc_expires
    bint bc_mode_oneshot
    bint any_periodic_bc
    int64_t bc_irqs
    # idle
    CState* cstates
    int nstates
    bint tsc_stops
    # watchdog
    int watchdog              # clocksource index, -1 = none
    int64_t watchdog_margin
    bint wd_first
    int64_t wd_round
    uint64_t wd_cs_last
    uint64_t wd_wd_last
    Device* devs
    int ndevs
    Slot* slots
    Cpu* cpus
    EventHeap heap
    EventLog log
    int status                # ST_*


cdef inline uint64_t rand64(Machine* m) noexcept nogil:
    return splitmix64_next(&m.rng)


cdef inline void push(Machine* m, ns_t t, int ev, int cpu, uint64_t gen) noexcept nogil:
    m.seq += 1
    if heap_push(&m.heap, t, (<uint64_t>ev << 56) | m.seq, cpu, gen):
        m.status = ST_NOMEM


cdef inline ns_t irq_latency(Machine* m) noexcept nogil:
    if m.irq_jitter:
        return m.irq_latency + <ns_t>(rand64(m) % (m.irq_jitter + 1))
    return m.irq_latency


cdef inline void arm(Machine* m, int slot, ns_t fire) noexcept nogil:
    """The device in *slot* raises its interrupt at true time *fire*; it reaches a CPU after the IRQ latency."""
    cdef Slot* s = &m.slots[slot]
    cdef ns_t at
    s.gen += 1
    s.fire_at = fire
    at = fire + irq_latency(m)
    if at < fire:  # only past KTIME_MAX (a saturated far expiry): stays unreachable
        at = KTIME_MAX
    push(m, at, EV_DEV, slot, s.gen)


cdef inline void cancel(Machine* m, int slot) noexcept nogil:
    m.slots[slot].gen += 1
    m.slots[slot].fire_at = KTIME_MAX


cdef inline int64_t cs_cycles(Machine* m, int idx, ns_t t) noexcept nogil:
    cdef ClockSrc* cs = &m.cs[idx]
    if cs.kind == CS_JIFFIES:
        return m.jiffies
    return <int64_t>muldiv_u64(<uint64_t>t, cs.num, cs.den, cs.fast_num)


cdef inline ns_t ktime(Machine* m, ns_t t) noexcept nogil:
    """The kernel's CLOCK_MONOTONIC at true time *t* (>= 0), read through the current clocksource.

    base + (cycles - cycle_base) * mult >> shift, without the kernel's u64 wrap
    (the reference accumulates losslessly); the signed 128-bit shift floors like Python's.
    """
    cdef ClockSrc* cs = &m.cs[m.cs_idx]
    return m.k_base + <ns_t>((<int128>(cs_cycles(m, m.cs_idx, t) - m.c_base) * <int128>cs.mult) >> cs.shift)


cdef inline void mlog(Machine* m, ns_t t, int cpu, int kind, int src, int64_t val) noexcept nogil:
    log_append(&m.log, t, cpu, kind, src, val)

"""Event-log record kinds and tick modes, shared by both engines.

The engine appends one fixed-width record per logged happening to
struct-of-arrays columns: ``time_ns`` (int64, true simulated time), ``cpu``
(int16), ``kind`` (uint8, below), ``source`` (uint8, meaning per kind) and
``value`` (int64, meaning per kind).  ``ext/_types.pxd`` mirrors these numbers;
``tests/ext`` checks that the two agree.
"""
from enum import IntEnum


class Kind(IntEnum):
    """What a record means.  ``source``/``value`` per kind are documented here."""

    TICK = 0
    """Tick handled (tick_periodic / tick_sched_timer ran).  source = 0 from the
    CPU's own tick device, 1 on behalf of the broadcast device; value = expiry of
    the tick slot it handled (ns).  Latency = time - value.  A low-res NO_HZ interrupt
    before its slot runs the tick too (tick_nohz_lowres_handler): value = kernel time
    at entry (no slot)."""
    IRQ = 1
    """Timer interrupt that handled no tick (high-res: an early expiry or another hrtimer;
    a VMI alarm whose gate the core rebuilt).  source = 0 own device / 1 via broadcast,
    value = kernel time at entry (ns)."""
    JIFFIES = 2
    """jiffies advanced, on the CPU that advanced them (the do_timer CPU; a tickless CPU on
    interrupt entry; a CPU whose tick found them stalled, MAX_STALLED_JIFFIES).  source =
    number of jiffies added (capped at 255), value = jiffies since boot after the update."""
    PROGRAM_ETIME = 3
    """clockevents_program_event failed with -ETIME.  source = 0 the CPU's tick
    device / 1 the broadcast device, value = the expiry asked for (kernel ns)."""
    MIN_DELTA = 4
    """min_delta_ns was raised after repeated failures (``CE: ... increased
    min_delta_ns``).  source = 0 tick device / 1 broadcast device, value = the new min_delta_ns;
    value = -1 means ``CE: Reprogramming failure. Giving up``."""
    MODE = 5
    """The CPU's tick mode changed.  source = TickMode, value = first tick
    expiry in the new mode (ns)."""
    RETRY = 6
    """A forced min-delta programming attempt (dev->retries++).  source = 0 tick / 1 broadcast device,
    value = retries so far on this device."""
    IDLE = 7
    """The CPU entered an idle state.  source = state index in ``meta["cstates"]``,
    value = the sleep length the governor predicted (ns)."""
    WAKE = 8
    """The CPU left its idle state (exit latency paid).  source = state index,
    value = residency in the state (ns)."""
    TICK_STOP = 9
    """NO_HZ stopped the tick on idle entry.  value = the expiry programmed
    instead (ns; KTIME_MAX = none)."""
    TICK_RESTART = 10
    """The tick restarted on idle exit.  value = first tick expiry (ns)."""
    BROADCAST = 11
    """A broadcast wake-up reached this CPU (IPI or local call).  source = 0
    oneshot / 1 periodic broadcast, value = the CPU that sent it."""
    UTIMER = 12
    """A user hrtimer expired.  source = timer index on the CPU, value = expiry (ns)."""
    WATCHDOG = 13
    """Clocksource watchdog round.  source = 0 within margin, 1 marked unstable,
    2 detail: value = wd_nsec, 3 detail: value = cs_nsec; for 0/1 value = skew
    (cs_nsec - wd_nsec); after 1..3: 4 wd_now, 5 wd_last, 6 cs_now, 7 cs_last (the masked counter
    reads, int64 bits of the u64); 8: the clocksource= override (value = its index in
    ``meta["clocksources"]``) is unstable and given up in oneshot mode; 9 and 10: the round was not judged
    because one clock's interval exceeded WATCHDOG_INTERVAL_MAX_NS (2 * HZ/2 jiffies, 1 s): value = cs_nsec (9)
    and wd_nsec (10) ("Long readout interval, skipping watchdog check", engine semantics 14)."""
    CS_SWITCH = 14
    """Timekeeping switched clocksource.  source = index in ``meta["clocksources"]``,
    value = kernel time at the switch (ns)."""
    STEAL = 16
    """The vCPU ran again after being descheduled while busy.  value = the time
    stolen (ns), ending at ``time_ns``."""
    PIT_DISCARD = 17
    """KVM's in-kernel PIT dropped an expiry (discard policy).  value = its expiry (ns)."""
    MIGRATE = 18
    """Live migration.  source 0: the VM paused (value = pause ns); source 1: it
    resumed on the new host (value = the new host's TSC Hz)."""
    BC_ENTER = 15
    """tick_broadcast_enter on deep idle entry.  source = 0 accepted, 1 -EBUSY
    (the CPU stays shallow), value = the deep state asked for."""
    BC_IRQ = 19
    """The broadcast device's own interrupt (IRQ 0 on x86), on the CPU it is routed to, before its handler
    wakes the CPUs due (TICK/IRQ source 1 are those CPUs' handler runs).  source = 0 oneshot / 1 periodic
    broadcast, value = the expiry it fired for (ns)."""


class TickMode(IntEnum):
    """How a CPU's tick is driven (the handler the core installed)."""

    NONE = 0
    """No tick device."""
    PERIODIC = 1
    """tick_handle_periodic on a device in hardware periodic state."""
    PERIODIC_EMUL = 2
    """tick_handle_periodic on a oneshot-only device, re-armed every TICK_NSEC."""
    HIGHRES = 3
    """hrtimer_interrupt; the tick is the per-CPU sched_timer hrtimer."""
    LOWRES_NOHZ = 4
    """tick_nohz_lowres_handler (low-resolution NO_HZ)."""
    PERIODIC_BC = 5
    """Periodic tick delivered by the broadcast device (the local timer is shut
    down because it stops in deep idle)."""
    VMI_ALARM = 6
    """VMI 2.6.21: no clock event device; the VMI alarm on the hijacked LAPIC
    vector runs VMI's own do_timer / update_process_times catch-up loops."""


def nohz_mode(mode: TickMode, nohz_idle: bool) -> int:
    """``struct tick_sched``'s nohz_mode (kernels <= 6.8; /proc/timer_list v0.9's ``.nohz_mode``) for a CPU
    whose tick runs in *mode*: 0 NOHZ_MODE_INACTIVE, 1 NOHZ_MODE_LOWRES, 2 NOHZ_MODE_HIGHRES."""
    if not nohz_idle:
        return 0
    return 2 if mode == TickMode.HIGHRES else 1 if mode == TickMode.LOWRES_NOHZ else 0


HANDLER_NAMES = {
    TickMode.NONE: "<NULL>",
    TickMode.PERIODIC: "tick_handle_periodic",
    TickMode.PERIODIC_EMUL: "tick_handle_periodic",
    TickMode.HIGHRES: "hrtimer_interrupt",
    TickMode.LOWRES_NOHZ: "tick_nohz_lowres_handler",
    TickMode.PERIODIC_BC: "tick_handle_periodic",
    TickMode.VMI_ALARM: "vmi_local_timer_interrupt",
}

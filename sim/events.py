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
    """Tick handled (tick_periodic / tick_sched_timer ran).  source = device id,
    value = expiry of the tick slot it handled (ns).  Latency = time - value."""
    IRQ = 1
    """Timer interrupt that handled no tick (early or spurious expiry).
    source = device id, value = kernel time at entry (ns)."""
    JIFFIES = 2
    """jiffies advanced on the do_timer CPU.  source = number of jiffies added
    (capped at 255), value = jiffies since boot after the update."""
    PROGRAM_ETIME = 3
    """clockevents_program_event failed with -ETIME.  source = device id,
    value = the expiry asked for (kernel ns)."""
    MIN_DELTA = 4
    """min_delta_ns was raised after repeated failures (``CE: ... increased
    min_delta_ns``).  source = device id, value = the new min_delta_ns;
    value = -1 means ``CE: Reprogramming failure. Giving up``."""
    MODE = 5
    """The CPU's tick mode changed.  source = TickMode, value = first tick
    expiry in the new mode (ns)."""
    RETRY = 6
    """A forced min-delta programming attempt (dev->retries++).  source = device id,
    value = retries so far on this device."""


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


HANDLER_NAMES = {
    TickMode.NONE: "<NULL>",
    TickMode.PERIODIC: "tick_handle_periodic",
    TickMode.PERIODIC_EMUL: "tick_handle_periodic",
    TickMode.HIGHRES: "hrtimer_interrupt",
    TickMode.LOWRES_NOHZ: "tick_nohz_lowres_handler",
}

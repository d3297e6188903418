"""Boot: the clock event devices a scenario's kernel registers, and which ones serve the tick.

Every device is an ops record (:class:`Device`: ops kind, feature bits, rating,
mult/shift, min/max delta, the hardware counter behind it and the kernel's
callback names).  ``make_devices`` builds the machine's devices in registration
order, ``choose_tick_devices`` applies ``tick_check_percpu`` /
``tick_check_preferred`` per CPU and ``broadcast_plan`` picks what stands in for
CPU-local timers that stop in deep idle.  :mod:`tickscope.sim.boot` assembles
the plan from these.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from tickscope.sim import kclock
from tickscope.sim.boot_clocksources import PV_ONLY_BACKENDS, ratio, tsc_ratio
from tickscope.sim.errors import InputError

# Clock event feature bits (include/linux/clockchips.h)
FEAT_PERIODIC = 0x01
FEAT_ONESHOT = 0x02
FEAT_KTIME = 0x04
FEAT_C3STOP = 0x08
FEAT_DUMMY = 0x10
FEAT_PERCPU = 0x40

# Device hardware ops kinds: how set_next_event / periodic mode reach the hardware.
HW_LAPIC = 0      # relative count at bus/16, periodic reload
HW_DEADLINE = 1   # absolute TSC deadline, 1 device tick = 8 TSC cycles
HW_HPET = 2       # absolute comparator on the main counter (equality match)
HW_PIT = 3        # relative count at 1 193 182 Hz, mode 2 periodic / mode 4 oneshot
HW_NS = 4         # paravirtual device programmed in nanoseconds

HW_NAMES = {HW_LAPIC: "lapic", HW_DEADLINE: "tsc-deadline", HW_HPET: "hpet", HW_PIT: "pit", HW_NS: "pv-ns"}


# Broadcast kinds
BC_NONE = 0
BC_DEVICE = 1     # a global hardware clock event device (HPET legacy channel, PIT)
BC_HRTIMER = 2    # bc_hrtimer: one CPU's hrtimer stands in, that CPU may not go deep

# Kernel callback names per ops kind, as /proc/timer_list prints them.
_CALLBACKS = {
    HW_LAPIC: dict(set_next_event="lapic_next_event", shutdown="lapic_timer_shutdown", periodic="lapic_timer_set_periodic",
                   oneshot="lapic_timer_set_oneshot", oneshot_stopped="lapic_timer_shutdown", resume=None),
    HW_DEADLINE: dict(set_next_event="lapic_next_deadline", shutdown="lapic_timer_shutdown", periodic="lapic_timer_set_periodic",
                      oneshot="lapic_timer_set_oneshot", oneshot_stopped="lapic_timer_shutdown", resume=None),
    HW_HPET: dict(set_next_event="hpet_clkevt_set_next_event", shutdown="hpet_clkevt_set_state_shutdown",
                  periodic="hpet_clkevt_set_state_periodic", oneshot="hpet_clkevt_set_state_oneshot",
                  oneshot_stopped=None, resume="hpet_clkevt_legacy_resume"),
    HW_PIT: dict(set_next_event="pit_next_event", shutdown="pit_shutdown", periodic="pit_set_periodic",
                 oneshot="pit_set_oneshot", oneshot_stopped=None, resume=None),
    HW_NS: dict(set_next_event="xen_vcpuop_set_next_event", shutdown="xen_vcpuop_shutdown", periodic=None,
                oneshot="xen_vcpuop_set_oneshot", oneshot_stopped=None, resume=None),
}
# hv_stimer_init sets no set_state_oneshot_stopped (drivers/clocksource/hyperv_timer.c, 5.4-6.x)
_STIMER_CALLBACKS = dict(set_next_event="hv_ce_set_next_event", shutdown="hv_ce_shutdown", periodic=None,
                         oneshot="hv_ce_set_oneshot", oneshot_stopped=None, resume=None)
_VMI_CALLBACKS = dict(set_next_event="vmi_timer_next_event", shutdown="vmi_timer_set_mode", periodic="vmi_timer_set_mode",
                      oneshot="vmi_timer_set_mode", oneshot_stopped=None, resume=None)


@dataclass
class Device:
    """One clock event device: its ops kind, properties and hardware clock.

    The hardware counter that backs the device advances ``num/den`` counts per
    true nanosecond; one device tick is ``tick_scale`` counts.
    """

    id: int
    name: str
    hw: int
    features: int
    rating: int
    mult: int
    shift: int
    min_delta_ns: int
    max_delta_ns: int
    min_delta_ticks: int
    max_delta_ticks: int
    freq_hz: int
    num: int
    den: int
    tick_scale: int = 1
    periodic_count: int = 0       # hardware counts per period in periodic state
    cpu: int = -1                 # -1 = global device, else the CPU it is local to
    irq: str = "LOC"
    callbacks: dict = field(default_factory=dict)
    clockevent: bool = True       # False: not a clock event device (the VMI 2.6.21 alarm)
    tsc_based: bool = False       # counts the (guest) TSC, which a migration may change

    def has(self, feature: int) -> bool:
        return bool(self.features & feature)

    @property
    def has_oneshot_stopped(self) -> bool:
        """Whether the driver gives ``set_state_oneshot_stopped``: without it (HPET, PIT, Xen's vcpuop timer,
        Hyper-V's stimer, a pre-4.3 ``set_mode`` device) ``__clockevents_switch_state`` returns -ENOSYS, so
        ``tick_program_event(KTIME_MAX)`` leaves the device in ONESHOT and still armed for its last expiry."""
        return bool(self.callbacks.get("oneshot_stopped"))


def _kernel_sets_up_pit(sc) -> bool:
    """Whether an x86 kernel without an HPET registers the PIT's clock event device (5.2+ ``pit_timer_init``:
    ``use_pit`` -> ``apic_needs_pit``). Not on a machine whose local APIC timer is always running (ARAT) and
    TSC-deadline with a known TSC rate: it can never need the PIT, which the kernel stops instead (a KVM guest's
    PIT among them, so its /proc/timer_list shows no broadcast device and /proc/interrupts no IRQ 0). A scenario
    that asks for the PIT (``kernel.clockevent`` or ``machine.broadcast = "pit"``) keeps it."""
    m = sc.machine
    if sc.kernel.clockevent == "pit" or m.broadcast == "pit":
        return True
    return not (m.lapic and m.arat and m.tsc_deadline and m.tsc_hz > 0)


def make_devices(sc, hz: int, tsc_khz: int) -> list[Device]:
    """Build the machine's clock event devices in registration order.

    Global devices (HPET legacy channel or PIT) come first, then one local APIC
    timer per CPU, then the paravirtual backend's per-vCPU devices.

    Parameters
    ----------
    sc : tickscope.sim.scenario.Scenario
    hz : int
        ``CONFIG_HZ``, which sets the periodic reload counts.
    tsc_khz : int
        The TSC's nominal rate in kHz (the TSC deadline timer is calibrated on it).

    Returns
    -------
    list of Device
        Each device's ``id`` is its index in the list.
    """
    m = sc.machine
    devices: list[Device] = []
    tick = kclock.tick_nsec(hz)

    def add(**kw):
        d = Device(id=len(devices), **kw)
        d.callbacks = dict(_CALLBACKS[d.hw])
        devices.append(d)
        return d

    backend = sc.hypervisor.backend
    visible = backend not in PV_ONLY_BACKENDS
    # IRQ 0 as "chip hwirq[-flow] action": through the IO-APIC (pin 2, its irq domain's hwirq, "edge" flow name)
    # with a local APIC, else the 8259 PIC, whose x86 IRQs have no irq domain (no hwirq: "-") and no flow name
    # (init_ISA_irqs' irq_set_chip_and_handler), so /proc/interrupts prints neither
    legacy_irq0 = "IO-APIC 2-edge timer" if m.lapic else "XT-PIC - timer"
    # Global devices first, registered on the boot CPU at time_init.
    if m.hpet and visible:
        period = kclock.hpet_period_fs(m.hpet_hz)
        freq = kclock.hpet_freq_from_period(period)
        p = kclock.hpet_clockevent(freq)
        num, den = ratio(10**6, period)
        add(name="hpet", hw=HW_HPET, features=FEAT_PERIODIC | FEAT_ONESHOT, rating=50, mult=p.mult, shift=p.shift,
            min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns, min_delta_ticks=p.min_delta_ticks,
            max_delta_ticks=p.max_delta_ticks, freq_hz=freq, num=num, den=den,
            periodic_count=(kclock.NSEC_PER_SEC // hz * p.mult) >> p.shift, irq=legacy_irq0)
    elif m.pit and visible and _kernel_sets_up_pit(sc):
        p = kclock.pit_clockevent()
        num, den = ratio(kclock.PIT_TICK_RATE, kclock.NSEC_PER_SEC)
        add(name="pit", hw=HW_PIT, features=FEAT_PERIODIC | FEAT_ONESHOT, rating=0, mult=p.mult, shift=p.shift,
            min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns, min_delta_ticks=p.min_delta_ticks,
            max_delta_ticks=p.max_delta_ticks, freq_hz=kclock.PIT_TICK_RATE, num=num, den=den,
            periodic_count=kclock.pit_latch(hz), irq=legacy_irq0)
    # One local APIC timer per CPU (VMI 2.6.21 takes the LVTT over, 2.6.22's vmi_time_bsp_init replaces its set-up;
    # a Xen PV guest has none).
    if m.lapic and visible:
        rating = 150 if m.arat else 100
        c3 = 0 if m.arat else FEAT_C3STOP
        for cpu in range(m.cpus):
            if m.tsc_deadline:
                p = kclock.lapic_deadline_clockevent(tsc_khz)
                num, den = tsc_ratio(m)
                add(name="lapic-deadline", hw=HW_DEADLINE, features=FEAT_ONESHOT | c3, rating=rating, mult=p.mult,
                    shift=p.shift, min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns,
                    min_delta_ticks=p.min_delta_ticks, max_delta_ticks=p.max_delta_ticks, freq_hz=p.freq,
                    num=num, den=den, tick_scale=kclock.TSC_DIVISOR, cpu=cpu, tsc_based=True)
            else:
                p = kclock.lapic_clockevent(m.lapic_bus_hz, hz)
                num, den = ratio(m.lapic_bus_hz, kclock.APIC_DIVISOR * kclock.NSEC_PER_SEC)
                add(name="lapic", hw=HW_LAPIC, features=FEAT_PERIODIC | FEAT_ONESHOT | c3, rating=rating, mult=p.mult,
                    shift=p.shift, min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns,
                    min_delta_ticks=p.min_delta_ticks, max_delta_ticks=p.max_delta_ticks,
                    freq_hz=m.lapic_bus_hz // kclock.APIC_DIVISOR, num=num, den=den,
                    periodic_count=(m.lapic_bus_hz // hz) // kclock.APIC_DIVISOR, cpu=cpu)
    # Paravirtual clock event devices, one per vCPU
    for cpu in range(m.cpus):
        if backend == "xen-pv":
            d = add(name="xen", hw=HW_NS, features=FEAT_ONESHOT, rating=500, mult=1, shift=0, min_delta_ns=100_000,
                    max_delta_ns=0xFFFFFFFF, min_delta_ticks=100_000, max_delta_ticks=0xFFFFFFFF, freq_hz=kclock.NSEC_PER_SEC,
                    num=1, den=1, cpu=cpu, irq=f"timer{cpu}")
        elif backend == "hyperv":
            p = kclock.clockevents_config(kclock.HV_CLOCK_HZ, 1, 0xFFFFFFFF)
            d = add(name="Hyper-V clockevent", hw=HW_DEADLINE, features=FEAT_ONESHOT, rating=1000, mult=p.mult,
                    shift=p.shift, min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns, min_delta_ticks=1,
                    max_delta_ticks=0xFFFFFFFF, freq_hz=kclock.HV_CLOCK_HZ, num=1, den=100, cpu=cpu, irq="HVS")
            d.callbacks = dict(_STIMER_CALLBACKS)
        elif backend == "vmi-clockevents":
            cycles_per_msec = m.tsc_hz // 1000
            mult = kclock.div_sc(cycles_per_msec, 1_000_000, 22)
            num, den = tsc_ratio(m)
            d = add(name="vmi-timer", hw=HW_LAPIC, features=FEAT_PERIODIC | FEAT_ONESHOT, rating=1000, mult=mult, shift=22,
                    min_delta_ns=kclock.cev_delta2ns(1, mult, 22, False),
                    max_delta_ns=kclock.cev_delta2ns(0xFFFFFFFF, mult, 22, True), min_delta_ticks=1,
                    max_delta_ticks=0xFFFFFFFF, freq_hz=m.tsc_hz, num=num, den=den, cpu=cpu,
                    periodic_count=m.tsc_hz // hz, irq="VMI-LOCAL")
            d.callbacks = dict(_VMI_CALLBACKS)
        elif backend == "vmi-2007":
            # not a clock event device: the 2.6.21 VMI alarm, wired to the hijacked LVTT vector
            num, den = tsc_ratio(m)
            add(name="vmi-alarm", hw=HW_LAPIC, features=FEAT_PERIODIC, rating=0, mult=0, shift=0, min_delta_ns=0,
                max_delta_ns=0, min_delta_ticks=0, max_delta_ticks=0, freq_hz=m.tsc_hz, num=num, den=den, cpu=cpu,
                periodic_count=m.tsc_hz // sc.hypervisor.vmi_alarm_hz, irq="LOC", clockevent=False)
    assert tick > 0
    return devices


def _preferred(cur: Device | None, new: Device, cpu: int) -> bool:
    """tick_check_percpu + tick_check_preferred for the device *new* offered on *cpu*."""
    if new.cpu not in (-1, cpu):
        return False
    if cur is not None and cur.cpu == cpu and new.cpu != cpu:
        return False  # a non-local device never displaces a CPU-local one
    if not new.has(FEAT_ONESHOT) and cur is not None and cur.has(FEAT_ONESHOT):
        return False
    return cur is None or new.rating > cur.rating or new.cpu != cur.cpu


def choose_tick_devices(devices: list[Device], ncpus: int, forced: str) -> list[int]:
    """Per CPU, offer every device that can serve it in registration order (tick_check_new_device).

    A forced device (``kernel.clockevent``) is the only candidate on the CPUs it can serve.

    Parameters
    ----------
    devices : list of Device
    ncpus : int
    forced : str
        ``kernel.clockevent``; "" lets the kernel's rules choose.

    Returns
    -------
    list of int
        The tick device id per CPU, -1 = none.

    Raises
    ------
    InputError
        If *forced* names no clock event device on this machine.
    """
    names = sorted({d.name for d in devices if d.clockevent})
    if forced and forced not in names:
        # the 2.6.21 VMI alarm is a device of the model but not of clockevents: the tick never goes through it
        others = sorted({d.name for d in devices if not d.clockevent})
        known = f"devices: {', '.join(names)}" if names else "it has none"
        if others:
            known += (f"{'; ' if names else ': '}{', '.join(others)} drives the tick itself, not through clockevents"
                      + ("" if names else "; leave kernel.clockevent empty"))
        raise InputError(f"kernel.clockevent: {forced!r} is not a clock event device on this machine ({known})")
    tick = [-1] * ncpus
    taken: set[int] = set()
    # each CPU's own devices and the global ones, with their place in *devices* (the order candidates are weighed
    # in): grouped once, as a scan of every device for every CPU took 0.1 s of boot at 1024 CPUs
    own: dict[int, list[tuple[int, Device]]] = {}
    shared: list[tuple[int, Device]] = []
    for i, d in enumerate(devices):
        if d.clockevent:
            (shared if d.cpu == -1 else own.setdefault(d.cpu, [])).append((i, d))
    for cpu in range(ncpus):
        cands = [d for _, d in sorted(own.get(cpu, []) + [(i, d) for i, d in shared if d.id not in taken],
                                      key=lambda item: item[0])]
        chosen = [d for d in cands if d.name == forced] if forced else []
        cur = None
        for d in chosen or cands:
            if _preferred(cur, d, cpu):
                cur = d
        if cur is not None:
            tick[cpu] = cur.id
            if cur.cpu == -1:
                taken.add(cur.id)
    return tick


def _choose_broadcast(devices, tick):
    """tick_check_broadcast_device: a leftover global device, not DUMMY/PERCPU/C3STOP, best rating."""
    used = set(tick)
    best = None
    for d in devices:
        if d.id in used or d.cpu != -1 or not d.clockevent or d.features & (FEAT_DUMMY | FEAT_PERCPU | FEAT_C3STOP):
            continue
        if best is None or d.rating > best.rating:
            best = d
    return -1 if best is None else best.id


def pv_no_hpet_pit(backend: str) -> str:
    """Why a guest of a :data:`PV_ONLY_BACKENDS` backend has no HPET or PIT: a Xen PV guest has no emulated platform;
    the 2.6.21 VMI kernel's ``time_init`` hook replaces ``hpet_time_init`` (no ``hpet_enable``, no PIT clock event
    device) and puts the PIT in mode 5 (domain.md §6a)."""
    if backend == "vmi-2007":
        return "a vmi-2007 kernel's vmi_time_init enables no HPET and stops the PIT"
    if backend == "vmi-clockevents":
        # 2.6.22 vmiclock.c: paravirt time_init = vmi_time_init (PIT to mode 5, the vmi-timer registered),
        # setup_boot_clock = vmi_time_bsp_init: no hpet_enable, no setup_pit_timer, no local APIC timer
        return "a vmi-clockevents kernel's vmi_time_init enables no HPET, stops the PIT and sets up no local APIC timer"
    return f"a {backend} guest sees no emulated timer hardware"


def _why_no_global_device(m, backend: str) -> str:
    """Why the HPET or PIT that ``machine.broadcast`` names was not registered (scenario validation already
    refused a broadcast device the machine lacks)."""
    if backend in PV_ONLY_BACKENDS:
        return f" ({pv_no_hpet_pit(backend)}: use \"hrtimer\" or \"none\")"
    if m.broadcast == "pit" and m.hpet:
        return " (with an HPET, the kernel registers no PIT clock event device)"
    return ""


def broadcast_plan(m, devices: list[Device], tick: list[int], backend: str = "none") -> tuple[int, int]:
    """Which device stands in for CPU-local timers that stop in deep idle (machine.broadcast).

    Parameters
    ----------
    m : tickscope.sim.scenario.Machine
    devices : list of Device
    tick : list of int
        The tick device id per CPU.
    backend : str
        ``hypervisor.backend``: names the reason a device the machine has was not registered.

    Returns
    -------
    bc_kind : int
        ``BC_NONE``, ``BC_DEVICE`` or ``BC_HRTIMER``.
    device : int
        The broadcast device's id, -1 = none.

    Raises
    ------
    InputError
        If ``machine.broadcast`` names a device that is missing or already a tick device.
    """
    if m.broadcast == "none":
        return BC_NONE, -1
    if m.broadcast == "hrtimer":
        return BC_HRTIMER, -1
    if m.broadcast in ("hpet", "pit"):
        for d in devices:
            if d.name == m.broadcast and d.cpu == -1:
                if d.id in tick:
                    raise InputError(f"machine.broadcast: {m.broadcast!r} is used as a tick device (kernel.clockevent), "
                                     "so it cannot also be the broadcast device")
                return BC_DEVICE, d.id
        raise InputError(f"machine.broadcast: {m.broadcast!r}: no such global clock event device on this machine"
                         + _why_no_global_device(m, backend))
    bid = _choose_broadcast(devices, tick)
    # x86 never sets up the hrtimer broadcast by itself (only some ARM platforms call tick_setup_hrtimer_broadcast)
    return (BC_DEVICE, bid) if bid >= 0 else (BC_NONE, -1)

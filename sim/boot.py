"""Boot: which clocksources and clock event devices a scenario's kernel registers.

This is the cold, once-per-run part of the kernel model, in Python: it walks
the x86 boot order, registers clocksources (with the kernel's dmesg lines),
builds every clock event device as an ops record (features, rating, mult/shift,
min/max delta) and picks each CPU's tick device with the kernel's rules
(``tick_check_percpu`` / ``tick_check_preferred``).  The result is a
:class:`BootPlan`, plain numbers the engines consume; the engines never branch
on a device's name, only on its ops kind and feature bits.
"""
from __future__ import annotations

from dataclasses import dataclass, field, asdict
from math import gcd

from tickscope.sim import kclock
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

# Workload kinds and period distributions (the engines' integer codes)
WL_BUSY, WL_IDLE, WL_MIXED, WL_TIMERS = 0, 1, 2, 3
DIST_FIXED, DIST_EXP, DIST_UNIFORM = 0, 1, 2
TIMER_PERIODIC, TIMER_RANDOM = 0, 1

# Clocksource counter kinds
CS_COUNTER = 0    # a free-running hardware counter: cycles(t) = t * num // den
CS_JIFFIES = 1    # jiffies: the kernel's own tick count
CS_TSC = 2        # the (guest) TSC, piecewise across migrations
CS_PVCLOCK = 3    # pvclock: system_time + scale_delta(tsc - tsc_timestamp, mul, shift) (kvm-clock, xen)
CS_HVPAGE = 4     # Hyper-V reference TSC page: ((tsc * scale) >> 64) + offset, 100 ns units

# Paravirtual backends (hypervisor.backend)
PV_NONE, PV_VMI2007, PV_VMICE, PV_XEN, PV_KVM, PV_HYPERV = 0, 1, 2, 3, 4, 5
PV_CODES = {"none": PV_NONE, "vmi-2007": PV_VMI2007, "vmi-clockevents": PV_VMICE, "xen-pv": PV_XEN, "kvm": PV_KVM,
            "hyperv": PV_HYPERV}
#: The architecture model each backend's era is bound to (assets/arch).
PV_MODEL = {"none": "linux-6.x", "vmi-2007": "linux-2.6.21", "vmi-clockevents": "linux-2.6.22", "xen-pv": "linux-6.x",
            "kvm": "linux-6.x", "hyperv": "linux-6.x"}
PV_COMPONENT = {"none": "bare-metal"}
# Effects of core changes on a backend that reaches into the changed symbols (assets/arch/changes)
EFF_HOOK_BYPASSED, EFF_DUP_DO_TIMER, EFF_NO_NOHZ, EFF_NO_HIGHRES, EFF_NO_BROADCAST = 1, 2, 4, 8, 16
EFFECT_BITS = {"hook-bypassed": EFF_HOOK_BYPASSED, "duplicate-do-timer": EFF_DUP_DO_TIMER, "no-nohz": EFF_NO_NOHZ,
               "no-highres": EFF_NO_HIGHRES, "no-broadcast": EFF_NO_BROADCAST}
PIT_REINJECT, PIT_DISCARD = 0, 1

KTIME_MAX = 2**63 - 1

_NATIVE_CLOCKSOURCES = {"jiffies", "refined-jiffies", "tsc", "tsc-early", "hpet", "acpi_pm", "pit"}
_PV_CLOCKSOURCE_NAMES = {"kvm": ("kvm-clock",), "xen-pv": ("xen",), "hyperv": ("hyperv_clocksource_tsc_page",),
                         "vmi-2007": ("vmi-timer",), "vmi-clockevents": ("vmi-timer",)}

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
_STIMER_CALLBACKS = dict(set_next_event="hv_ce_set_next_event", shutdown="hv_ce_shutdown", periodic=None,
                         oneshot="hv_ce_set_oneshot", oneshot_stopped="hv_ce_shutdown", resume=None)
_VMI_CALLBACKS = dict(set_next_event="vmi_timer_next_event", shutdown="vmi_timer_set_mode", periodic="vmi_timer_set_mode",
                      oneshot="vmi_timer_set_mode", oneshot_stopped=None, resume=None)


def _tsc_ratio(m) -> tuple[int, int]:
    """The TSC's true counts per ns: its nominal rate, off by ``tsc_drift_ppm`` (the kernel calibrated the nominal)."""
    return _ratio(m.tsc_hz * (10**6 + m.tsc_drift_ppm), 10**15)


def _ratio(num: int, den: int) -> tuple[int, int]:
    g = gcd(num, den)
    return num // g, den // g


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


@dataclass
class Clocksource:
    """A registered clocksource with the kernel's numbers and the counter model."""

    params: kclock.ClocksourceParams
    kind: int
    num: int = 1
    den: int = 1
    continuous: bool = True
    must_verify: bool = False
    registered_at_ns: int = 0
    unstable: bool = False

    @property
    def name(self) -> str:
        return self.params.name

    @property
    def rating(self) -> int:
        return self.params.rating


@dataclass
class BootPlan:
    """What the engine needs, plus what the kernel printed while booting."""

    ncpus: int
    hz: int
    tick_nsec: int
    highres: bool
    nohz: str
    skew_tick: bool
    irq_latency_ns: int
    irq_jitter_ns: int
    hpet_write_delay_ns: int
    until_ns: int
    seed: int
    devices: list[Device]
    tick_device: list[int]            # device id per CPU, -1 = none
    broadcast_device: int             # device id, -1 = none
    clocksources: list[Clocksource]
    clocksource: Clocksource          # the one timekeeping ends up on
    log: list[tuple[int, str]]        # (time_ns, text) boot messages
    initial_jiffies: int
    # idle, broadcast, workload, TSC and watchdog (tick-layer issue)
    nohz_idle: bool = False
    cstates: list[tuple[str, int, int, bool]] = field(default_factory=list)  # name, exit_latency, target_residency, stops_timer
    bc_kind: int = 0                  # BC_NONE / BC_DEVICE / BC_HRTIMER
    bc_cpu: int = 0                   # CPU the broadcast device's interrupt is routed to
    ipi_latency_ns: int = 2000
    workload: list[tuple] = field(default_factory=list)     # per CPU: (kind, busy dist, idle dist)
    timers: list[list[tuple[int, int]]] = field(default_factory=list)  # per CPU: [(kind, ns)]
    timer_work_ns: int = 20_000
    tsc_offset: list[int] = field(default_factory=list)     # per-CPU TSC offset in cycles
    tsc_stops: bool = False           # a non-invariant TSC stops in deep C-states
    cs_index: int = 0                 # index of the current clocksource in ``clocksources``
    watchdog: int = -1                # index of the watchdog clocksource, -1 = none
    watchdog_margin_ns: int = 0
    # paravirtual backend and hypervisor (paravirt issue)
    pv: int = PV_NONE
    pv_name: str = "none"
    tsc_num: int = 1                  # the guest TSC's true counts per ns (num/den) at boot
    tsc_den: int = 1
    tsc_khz: int = 0
    vmi_alarm: list[int] = field(default_factory=list)     # per CPU: the VMI 2.6.21 alarm pseudo-device, or -1
    effects: int = 0                  # EFF_* bits the scenario's core changes have on this backend
    effect_evidence: list[dict] = field(default_factory=list)
    overcommit: int = 1
    timeslice_ns: int = 0
    host_latency_ns: int = 0
    injection: tuple = (DIST_FIXED, 0, 0, 0)
    pit_policy: int = PIT_REINJECT
    pv_pit: bool = False              # the PIT is KVM's in-kernel PIT (host timer + lost-tick policy)
    steal_reported: bool = True
    tsc_scaling: bool = False
    migrations: list[tuple[int, int, int]] = field(default_factory=list)  # (at, tsc_hz, pause)

    def meta(self) -> dict:
        """JSON-able description for Results.meta."""
        return {
            "hz": self.hz, "tick_nsec": self.tick_nsec, "ncpus": self.ncpus, "highres": self.highres,
            "nohz": self.nohz, "until_ns": self.until_ns, "seed": self.seed,
            "initial_jiffies": self.initial_jiffies,
            "devices": [_device_meta(d) for d in self.devices],
            "tick_device": list(self.tick_device),
            "broadcast_device": self.broadcast_device,
            "clocksources": [_cs_meta(c) for c in self.clocksources],
            "clocksource": self.clocksource.name,
            "boot_log": [[t, s] for t, s in self.log],
            "nohz_idle": self.nohz_idle,
            "cstates": [{"name": n, "exit_latency_ns": e, "target_residency_ns": r, "stops_timer": st}
                        for n, e, r, st in self.cstates],
            "bc_kind": self.bc_kind, "bc_cpu": self.bc_cpu,
            "watchdog": self.clocksources[self.watchdog].name if self.watchdog >= 0 else "",
            "watchdog_margin_ns": self.watchdog_margin_ns,
            "backend": self.pv_name, "effects": self.effects, "effect_evidence": self.effect_evidence,
            "overcommit": self.overcommit, "vmi_alarm": list(self.vmi_alarm), "tsc_scaling": self.tsc_scaling,
        }


def _device_meta(d: Device) -> dict:
    out = asdict(d)
    out["hw_name"] = HW_NAMES[d.hw]
    return out


def _cs_meta(c: Clocksource) -> dict:
    p = c.params
    return {"name": p.name, "rating": p.rating, "mask": p.mask, "mult": p.mult, "shift": p.shift, "maxadj": p.maxadj,
            "max_cycles": p.max_cycles, "max_idle_ns": p.max_idle_ns, "kind": c.kind, "num": c.num, "den": c.den,
            "continuous": c.continuous, "must_verify": c.must_verify, "dmesg": p.dmesg_line(),
            "uncertainty_margin": p.uncertainty_margin, "unstable": c.unstable}


# --------------------------------------------------------------------------------------------
# clocksources

def _import_time(sc, name: str, default_ns: int) -> int:
    """Registration time: the imported dmesg timestamp when the machine was imported, else *default_ns*."""
    for e in sc.imported.get("clocksources", []) or []:
        line = str(e.get("dmesg", "")) if isinstance(e, dict) and e.get("name") == name else ""
        if line.startswith("[") and "]" in line:
            try:
                whole, frac = line[1:line.index("]")].strip().split(".")
                return int(whole) * 10**9 + int(frac.ljust(6, "0")[:6]) * 1000
            except ValueError:
                pass
    return default_ns


def _register_clocksources(sc, hz, log):
    m = sc.machine
    out: list[Clocksource] = []

    def add(cs: Clocksource, t_ns: int):
        cs.registered_at_ns = t_ns
        out.append(cs)
        log.append((t_ns, cs.params.dmesg_line()))

    def at(name: str, default_ns: int) -> int:
        return _import_time(sc, name, default_ns)

    # Paravirtual clocksources kept by an import (e.g. kvm-clock) register first, as in a guest.
    for i, extra in enumerate(sc.imported.get("clocksources", []) or []):
        if not isinstance(extra, dict) or extra.get("name") in _NATIVE_CLOCKSOURCES or extra.get("modelled"):
            continue
        if extra.get("name") in _PV_CLOCKSOURCE_NAMES.get(sc.hypervisor.backend, ()):
            continue  # the backend registers it itself
        try:
            freq = int(extra["freq_hz"])
            bits = int(extra.get("mask_bits", 64))
            rating = int(extra.get("rating", 400))
            name = str(extra["name"])
        except (KeyError, TypeError, ValueError):
            raise InputError(f"imported.clocksources[{i}]: needs name, freq_hz (and optional mask_bits, rating)") from None
        if m.tsc_invariant and name == "kvm-clock" and rating == 400 and m.tsc_hz:
            rating = 299  # kvmclock lowers itself when CPUID shows an invariant TSC
        p = kclock.clocksource_register(name, freq, bits, rating=rating, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_COUNTER, *_ratio(freq, kclock.NSEC_PER_SEC)), at(name, 4_000))
    backend = sc.hypervisor.backend
    if backend == "kvm":
        log.append((0, "kvm-clock: Using msrs 4b564d01 and 4b564d00"))
        rating = 299 if (m.tsc_invariant and m.tsc_hz) else 400  # kvmclock defers to an invariant TSC
        p = kclock.clocksource_register("kvm-clock", kclock.NSEC_PER_SEC, 64, rating=rating, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_PVCLOCK), at("kvm-clock", 4_000))
    elif backend == "xen-pv":
        p = kclock.clocksource_register("xen", kclock.NSEC_PER_SEC, 64, rating=400, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_PVCLOCK), at("xen", 4_000))
    elif backend == "hyperv":
        rating = 250 if m.tsc_invariant else 500
        p = kclock.clocksource_register("hyperv_clocksource_tsc_page", kclock.HV_CLOCK_HZ, 64, rating=rating,
                                        flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_HVPAGE, 1, 100), at("hyperv_clocksource_tsc_page", 4_000))
    elif backend in ("vmi-2007", "vmi-clockevents"):
        # the VMI cycle counter (VMI_CYCLES_REAL) runs at the hypervisor's cycle frequency, here the TSC's
        p = kclock.clocksource_register("vmi-timer", m.tsc_hz // 1000, 64, scale=1000, rating=450,
                                        flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_TSC, *_tsc_ratio(m)), at("vmi-timer", 4_000))
    # x86 setup_arch registers refined-jiffies on the PIT rate whether or not a PIT exists
    add(Clocksource(kclock.refined_jiffies_clocksource(hz), CS_JIFFIES, continuous=False), at("refined-jiffies", 49_000_000))
    add(Clocksource(kclock.jiffies_clocksource(hz), CS_JIFFIES, continuous=False), at("jiffies", 137_000_000))
    if m.hpet and backend not in ("xen-pv", "vmi-2007"):
        period = kclock.hpet_period_fs(m.hpet_hz)
        freq = kclock.hpet_freq_from_period(period)
        p = kclock.clocksource_register("hpet", freq, 32, rating=250, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_COUNTER, *_ratio(10**6, period)), at("hpet", 137_500_000))
    elif m.pit and backend == "none":
        p = kclock.clocksource_register("pit", kclock.PIT_TICK_RATE, 32, rating=110)
        add(Clocksource(p, CS_COUNTER, *_ratio(kclock.PIT_TICK_RATE, kclock.NSEC_PER_SEC), continuous=False), 137_500_000)
    tsc_khz = m.tsc_hz // 1000
    if m.tsc_hz:
        p = kclock.clocksource_register("tsc-early", tsc_khz, 64, scale=1000, rating=299,
                                        flags=("CONTINUOUS", "MUST_VERIFY"))
        add(Clocksource(p, CS_TSC, *_tsc_ratio(m), must_verify=True), at("tsc-early", 137_800_000))
    if m.acpi_pm and backend != "xen-pv":
        p = kclock.clocksource_register("acpi_pm", kclock.ACPI_PM_HZ, 24, rating=200, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_COUNTER, *_ratio(kclock.ACPI_PM_HZ, kclock.NSEC_PER_SEC)), at("acpi_pm", 180_000_000))
    return out, tsc_khz


def _select_clocksource(candidates, override, log, t_ns, oneshot):
    """clocksource_select: best rating first; an override wins if usable."""
    ranked = sorted((c for c in candidates if not c.unstable), key=lambda c: -c.rating)  # stable: equal ratings keep registration order
    if oneshot:
        usable = [c for c in ranked if c.continuous]
    else:
        usable = ranked
    best = usable[0] if usable else ranked[0]
    if override:
        match = [c for c in candidates if c.name == override]
        if not match:
            names = ", ".join(c.name for c in candidates)
            raise InputError(f"kernel.clocksource: {override!r} is not registered on this machine (registered: {names})")
        # At boot the tick is still periodic, so a non-HRT override is accepted; it then keeps the
        # tick from ever switching to oneshot (timekeeping is not valid for high resolution).
        best = match[0]
    return best


# --------------------------------------------------------------------------------------------
# clock event devices

def _make_devices(sc, hz, tsc_khz):
    m = sc.machine
    devices: list[Device] = []
    tick = kclock.tick_nsec(hz)

    def add(**kw):
        d = Device(id=len(devices), **kw)
        d.callbacks = dict(_CALLBACKS[d.hw])
        devices.append(d)
        return d

    backend = sc.hypervisor.backend
    visible = backend not in ("xen-pv", "vmi-2007")   # a PV guest sees no emulated timer hardware
    # Global devices first, registered on the boot CPU at time_init.
    if m.hpet and visible:
        period = kclock.hpet_period_fs(m.hpet_hz)
        freq = kclock.hpet_freq_from_period(period)
        p = kclock.hpet_clockevent(freq)
        num, den = _ratio(10**6, period)
        add(name="hpet", hw=HW_HPET, features=FEAT_PERIODIC | FEAT_ONESHOT, rating=50, mult=p.mult, shift=p.shift,
            min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns, min_delta_ticks=p.min_delta_ticks,
            max_delta_ticks=p.max_delta_ticks, freq_hz=freq, num=num, den=den,
            periodic_count=(kclock.NSEC_PER_SEC // hz * p.mult) >> p.shift, irq="IO-APIC 2-edge timer")
    elif m.pit and visible:
        p = kclock.pit_clockevent()
        num, den = _ratio(kclock.PIT_TICK_RATE, kclock.NSEC_PER_SEC)
        add(name="pit", hw=HW_PIT, features=FEAT_PERIODIC | FEAT_ONESHOT, rating=0, mult=p.mult, shift=p.shift,
            min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns, min_delta_ticks=p.min_delta_ticks,
            max_delta_ticks=p.max_delta_ticks, freq_hz=kclock.PIT_TICK_RATE, num=num, den=den,
            periodic_count=kclock.pit_latch(hz), irq="IO-APIC 2-edge timer")
    # One local APIC timer per CPU (VMI 2.6.21 takes the LVTT over; a Xen PV guest has none).
    if m.lapic and visible:
        rating = 150 if m.arat else 100
        c3 = 0 if m.arat else FEAT_C3STOP
        for cpu in range(m.cpus):
            if m.tsc_deadline:
                p = kclock.lapic_deadline_clockevent(tsc_khz)
                num, den = _tsc_ratio(m)
                add(name="lapic-deadline", hw=HW_DEADLINE, features=FEAT_ONESHOT | c3, rating=rating, mult=p.mult,
                    shift=p.shift, min_delta_ns=p.min_delta_ns, max_delta_ns=p.max_delta_ns,
                    min_delta_ticks=p.min_delta_ticks, max_delta_ticks=p.max_delta_ticks, freq_hz=p.freq,
                    num=num, den=den, tick_scale=kclock.TSC_DIVISOR, cpu=cpu, tsc_based=True)
            else:
                p = kclock.lapic_clockevent(m.lapic_bus_hz, hz)
                num, den = _ratio(m.lapic_bus_hz, kclock.APIC_DIVISOR * kclock.NSEC_PER_SEC)
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
            num, den = _tsc_ratio(m)
            d = add(name="vmi-timer", hw=HW_LAPIC, features=FEAT_PERIODIC | FEAT_ONESHOT, rating=1000, mult=mult, shift=22,
                    min_delta_ns=kclock.cev_delta2ns(1, mult, 22, False),
                    max_delta_ns=kclock.cev_delta2ns(0xFFFFFFFF, mult, 22, True), min_delta_ticks=1,
                    max_delta_ticks=0xFFFFFFFF, freq_hz=m.tsc_hz, num=num, den=den, cpu=cpu,
                    periodic_count=m.tsc_hz // hz, irq="VMI-LOCAL")
            d.callbacks = dict(_VMI_CALLBACKS)
        elif backend == "vmi-2007":
            # not a clock event device: the 2.6.21 VMI alarm, wired to the hijacked LVTT vector
            num, den = _tsc_ratio(m)
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


def _choose_tick_devices(devices, ncpus, forced):
    """Per CPU, offer every device that can serve it in registration order (tick_check_new_device).

    A forced device (``kernel.clockevent``) is the only candidate on the CPUs it can serve.
    """
    if forced and forced not in {d.name for d in devices}:
        names = ", ".join(sorted({d.name for d in devices}))
        raise InputError(f"kernel.clockevent: {forced!r} is not a clock event device on this machine (devices: {names})")
    tick = [-1] * ncpus
    taken: set[int] = set()
    for cpu in range(ncpus):
        cands = [d for d in devices if d.clockevent and (d.cpu == cpu or (d.cpu == -1 and d.id not in taken))]
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


def plan(sc) -> BootPlan:
    """Boot the scenario's kernel: clocksources, devices, tick devices.

    Parameters
    ----------
    sc : tickscope.sim.scenario.Scenario

    Returns
    -------
    BootPlan

    Raises
    ------
    InputError
        If an override names a device or clocksource the machine does not have.
    """
    hz = sc.kernel.hz
    log: list[tuple[int, str]] = []
    m = sc.machine
    if m.tsc_hz:
        log.append((23_000, f"tsc: Detected {m.tsc_hz // 1000 // 1000}.{m.tsc_hz // 1000 % 1000:03d} MHz processor"))
    if m.lapic and m.tsc_deadline:
        log.append((49_024_000, "TSC deadline timer available"))
    clocksources, tsc_khz = _register_clocksources(sc, hz, log)
    log.sort(key=lambda x: x[0])
    devices = _make_devices(sc, hz, tsc_khz)
    tick = _choose_tick_devices(devices, m.cpus, sc.kernel.clockevent)
    oneshot_possible = sc.kernel.highres and any(
        t >= 0 and devices[t].has(FEAT_ONESHOT) for t in tick)
    # tsc-early is replaced by the refined tsc; both print a registration line, the final list holds tsc.
    t_switch = 195_000_000
    early = _select_clocksource(clocksources, "", [], t_switch, False)
    log.append((t_switch, f"clocksource: Switched to clocksource {early.name}"))
    final_list = list(clocksources)
    if m.tsc_hz:
        early_tsc = next(c for c in clocksources if c.name == "tsc-early")
        p = kclock.clocksource_register("tsc", tsc_khz, 64, scale=1000, rating=300,
                                        flags=("CONTINUOUS", "MUST_VERIFY", "VALID_FOR_HRES"))
        t_tsc = _import_time(sc, "tsc", 241_900_000)
        tsc = Clocksource(p, CS_TSC, early_tsc.num, early_tsc.den, must_verify=True, registered_at_ns=t_tsc)
        log.append((t_tsc, p.dmesg_line()))
        final_list = [c for c in clocksources if c.name != "tsc-early"] + [tsc]
    if m.tsc_hz and m.tsc_skew and m.cpus > 1:
        warp = m.tsc_skew * m.tsc_hz // kclock.NSEC_PER_SEC
        log.append((230_000_000, "TSC synchronization [CPU#0 -> CPU#1]:"))
        log.append((230_000_000, f"Measured {warp} cycles TSC warp between CPUs, turning off TSC clock."))
        log.append((230_000_000, "tsc: Marking TSC unstable due to check_tsc_sync_source failed"))
        for c in final_list:
            if c.name.startswith("tsc"):
                c.unstable = True
    final = _select_clocksource(final_list, sc.kernel.clocksource, log, 241_950_000, oneshot_possible)
    if final.name != early.name:
        log.append((241_960_000, f"clocksource: Switched to clocksource {final.name}"))
    for cpu, t in enumerate(tick):
        if t < 0 and sc.hypervisor.backend == "vmi-2007":
            log.append((250_000_000, f"vmi: CPU {cpu}: VMI alarm wired to the LAPIC timer vector (no clock event device)"))
        elif t < 0:
            log.append((250_000_000, f"tick: CPU {cpu} has no clock event device; it will not tick"))
    bc_kind, bc_dev = _broadcast_plan(m, devices, tick)
    wd, margin = _watchdog_plan(sc, final_list, final)
    hv = sc.hypervisor
    effects, evidence = _core_effects(sc, log)
    tsc_num, tsc_den = _tsc_ratio(m) if m.tsc_hz else (0, 1)
    return BootPlan(
        ncpus=m.cpus, hz=hz, tick_nsec=kclock.tick_nsec(hz), highres=sc.kernel.highres, nohz=sc.kernel.nohz,
        skew_tick=sc.kernel.skew_tick, irq_latency_ns=m.irq_latency, irq_jitter_ns=m.irq_jitter,
        hpet_write_delay_ns=m.hpet_write_delay,
        until_ns=sc.run.until, seed=sc.run.seed, devices=devices, tick_device=tick,
        broadcast_device=bc_dev, clocksources=final_list, clocksource=final,
        log=log, initial_jiffies=kclock.initial_jiffies(hz),
        nohz_idle=sc.kernel.nohz == "idle",
        cstates=[(c.name, c.exit_latency, c.target_residency, c.stops_timer) for c in m.cstates],
        bc_kind=bc_kind, bc_cpu=0, ipi_latency_ns=m.ipi_latency,
        workload=_workload_plan(sc), timers=_timer_plan(sc), timer_work_ns=sc.workload.timer_work,
        tsc_offset=[(m.tsc_skew * c // max(1, m.cpus - 1)) * m.tsc_hz // kclock.NSEC_PER_SEC for c in range(m.cpus)],
        tsc_stops=not m.tsc_invariant, cs_index=final_list.index(final), watchdog=wd, watchdog_margin_ns=margin,
        pv=PV_CODES[hv.backend], pv_name=hv.backend, tsc_num=tsc_num, tsc_den=tsc_den, tsc_khz=tsc_khz,
        vmi_alarm=[next((d.id for d in devices if d.cpu == c and d.name == "vmi-alarm"), -1) for c in range(m.cpus)],
        effects=effects, effect_evidence=evidence, overcommit=hv.overcommit, timeslice_ns=hv.timeslice,
        host_latency_ns=hv.host_latency, injection=_dist(hv.injection),
        pit_policy=PIT_DISCARD if hv.pit_policy == "discard" else PIT_REINJECT,
        pv_pit=hv.backend == "kvm" and any(d.name == "pit" for d in devices),
        steal_reported=hv.steal_reported, tsc_scaling=hv.tsc_scaling,
        migrations=sorted((mg.at, mg.tsc_hz, mg.pause) for mg in hv.migrations),
    )


def _core_effects(sc, log) -> tuple[int, list[dict]]:
    """What the scenario's core changes do to its backend: computed from the architecture model's reachout edges."""
    if not sc.core.changes:
        return 0, []
    from tickscope.sim.graph import archmodel

    backend = sc.hypervisor.backend
    model = PV_MODEL[backend]
    affected = archmodel.affected_backends(model, list(sc.core.changes))
    hits = affected.get(PV_COMPONENT.get(backend, backend), [])
    bits = 0
    for h in hits:
        bits |= EFFECT_BITS.get(h["effect"], 0)
    seen = set()
    for h in hits:
        key = (h["change"], h["effect"])
        if key in seen:
            continue
        seen.add(key)
        ev = h["evidence"][0] if h.get("evidence") else {}
        where = f" ({ev.get('file')}:{ev.get('line')})" if ev else ""
        log.append((250_000_000, f"tickscope: core change {h['change']}: {backend} reaches {h['symbol']}{where}: {h['effect']}"))
    if not hits:
        log.append((250_000_000, f"tickscope: core changes {', '.join(sc.core.changes)}: {backend} has no reachout into "
                                 f"them in {model}; unaffected"))
    return bits, [{"change": h["change"], "effect": h["effect"], "symbol": h["symbol"], "evidence": h.get("evidence", [])}
                  for h in hits]


def _broadcast_plan(m, devices, tick):
    """Which device stands in for CPU-local timers that stop in deep idle (machine.broadcast)."""
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
        raise InputError(f"machine.broadcast: {m.broadcast!r}: no such global clock event device on this machine "
                         "(with an HPET, the kernel registers no PIT clock event device)")
    bid = _choose_broadcast(devices, tick)
    # x86 never sets up the hrtimer broadcast by itself (only some ARM platforms call tick_setup_hrtimer_broadcast)
    return (BC_DEVICE, bid) if bid >= 0 else (BC_NONE, -1)


def _watchdog_plan(sc, clocksources, current):
    """clocksource_select_watchdog: the best continuous clocksource that needs no verification itself."""
    if not sc.kernel.watchdog:
        return -1, 0
    cands = [c for c in clocksources if c.continuous and not c.must_verify and c.kind != CS_JIFFIES]
    if not cands or not any(c.must_verify and not c.unstable for c in clocksources):
        return -1, 0
    wd = max(cands, key=lambda c: c.rating)
    tsc = next(c for c in clocksources if c.must_verify)
    return clocksources.index(wd), tsc.params.uncertainty_margin + wd.params.uncertainty_margin


def _dist(period) -> tuple[int, int, int, int]:
    code = {"fixed": DIST_FIXED, "exponential": DIST_EXP, "uniform": DIST_UNIFORM}[period.dist]
    return code, period.mean, period.min, period.max


def _scaled(dist, factor_num: int, factor_den: int):
    code, mean, lo, hi = dist
    return (code, max(1, mean * factor_num // factor_den), max(1, lo * factor_num // factor_den),
            max(1, hi * factor_num // factor_den))


def _workload_plan(sc):
    """Per CPU: (kind, busy period distribution, idle period distribution)."""
    w = sc.workload
    kinds = {"busy": WL_BUSY, "idle": WL_IDLE, "mixed": WL_MIXED, "timers": WL_TIMERS}
    per = {}
    for o in w.per_cpu:
        for c in o.cpus:
            per[c] = o
    out = []
    for cpu in range(sc.machine.cpus):
        o = per.get(cpu)
        kind = kinds[o.kind if o else w.kind]
        frac = o.busy_fraction if (o and o.busy_fraction is not None) else w.busy_fraction
        busy = _dist(w.busy_period)
        if kind == WL_MIXED and frac <= 0.0:
            kind = WL_IDLE
        elif kind == WL_MIXED and frac >= 1.0:
            kind = WL_BUSY
        if w.idle_period is not None:
            idle = _dist(w.idle_period)
        else:
            # same shape as the busy period, scaled so that busy / (busy + idle) = busy_fraction
            f_ppm = int(round(frac * 10**6))
            idle = _scaled(busy, 10**6 - f_ppm, max(1, f_ppm))
        out.append((kind, busy, idle))
    return out


def _timer_plan(sc):
    out = [[] for _ in range(sc.machine.cpus)]
    for spec in sc.workload.timers:
        cpus = spec.cpus or range(sc.machine.cpus)
        for c in cpus:
            if spec.kind == "periodic":
                out[c].append((TIMER_PERIODIC, spec.period))
            else:
                out[c].append((TIMER_RANDOM, max(1, kclock.NSEC_PER_SEC // spec.rate_hz)))
    return out

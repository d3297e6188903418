"""Boot: the plan a scenario's kernel boots into, which both engines consume.

This is the cold, once-per-run part of the kernel model, in Python.
:func:`plan` walks the x86 boot order: it registers clocksources
(:mod:`tickscope.sim.boot_clocksources`), builds every clock event device as an
ops record and picks each CPU's tick device and the broadcast device
(:mod:`tickscope.sim.boot_devices`), then switches timekeeping to its final
clocksource.  This module holds the result, :class:`BootPlan` (plain numbers,
including the workload and timer plans, the paravirtual backend and the effects
of core changes on it), and every integer code the engines share, re-exporting
those defined beside the devices and clocksources.  The engines never branch on
a device's name, only on its ops kind and feature bits.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from tickscope.sim import kclock
from tickscope.sim.errors import InputError
from tickscope.sim.boot_clocksources import (CS_COUNTER, CS_HVPAGE, CS_JIFFIES, CS_PVCLOCK, CS_TSC, Clocksource,
                                             import_time, register_clocksources, select_clocksource, tsc_ratio,
                                             watchdog_plan)
from tickscope.sim.boot_devices import (BC_DEVICE, BC_HRTIMER, BC_NONE, FEAT_C3STOP, FEAT_DUMMY, FEAT_KTIME,
                                        FEAT_ONESHOT, FEAT_PERCPU, FEAT_PERIODIC, HW_DEADLINE, HW_HPET, HW_LAPIC,
                                        HW_NAMES, HW_NS, HW_PIT, Device, broadcast_plan, choose_tick_devices,
                                        make_devices)

# Re-exports included: the reference engines and the ext mirror test read every code as boot.<NAME>.
__all__ = [
    "BootPlan", "plan", "Device", "Clocksource", "KTIME_MAX",
    "FEAT_PERIODIC", "FEAT_ONESHOT", "FEAT_KTIME", "FEAT_C3STOP", "FEAT_DUMMY", "FEAT_PERCPU",
    "HW_LAPIC", "HW_DEADLINE", "HW_HPET", "HW_PIT", "HW_NS", "HW_NAMES",
    "BC_NONE", "BC_DEVICE", "BC_HRTIMER",
    "WL_BUSY", "WL_IDLE", "WL_MIXED", "WL_TIMERS", "DIST_FIXED", "DIST_EXP", "DIST_UNIFORM",
    "TIMER_PERIODIC", "TIMER_RANDOM",
    "CS_COUNTER", "CS_JIFFIES", "CS_TSC", "CS_PVCLOCK", "CS_HVPAGE",
    "PV_NONE", "PV_VMI2007", "PV_VMICE", "PV_XEN", "PV_KVM", "PV_HYPERV", "PV_CODES", "PV_MODEL", "PV_COMPONENT",
    "EFF_HOOK_BYPASSED", "EFF_DUP_DO_TIMER", "EFF_NO_NOHZ", "EFF_NO_HIGHRES", "EFF_NO_BROADCAST", "EFFECT_BITS",
    "PIT_REINJECT", "PIT_DISCARD",
]

# Workload kinds and period distributions (the engines' integer codes)
WL_BUSY, WL_IDLE, WL_MIXED, WL_TIMERS = 0, 1, 2, 3
DIST_FIXED, DIST_EXP, DIST_UNIFORM = 0, 1, 2
TIMER_PERIODIC, TIMER_RANDOM = 0, 1

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
    timers: list[list[tuple[int, int, int]]] = field(default_factory=list)  # per CPU: [(kind, ns, slack ns)]
    timer_work_ns: int = 20_000
    tsc_offset: list[int] = field(default_factory=list)     # per-CPU TSC offset in cycles
    tsc_stops: bool = False           # a non-invariant TSC stops in deep C-states
    cs_index: int = 0                 # index of the current clocksource in ``clocksources``
    cs_override: int = -1             # index of the ``clocksource=`` override in ``clocksources``, -1 = none
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
            # what the kernel log's clocksource_verify_percpu lines read (analysis.kernel_log)
            "tsc_offset": list(self.tsc_offset), "tsc_stops": self.tsc_stops, "ipi_latency_ns": self.ipi_latency_ns,
        }


_DEVICE_FIELDS = tuple(f.name for f in fields(Device))
_SCALARS = (int, str, bool, float, type(None))


def _device_meta(d: Device) -> dict:
    # asdict() sends every field through copy.deepcopy: ~0.35 ms a device, ~90 ms per Results of the
    # 256-CPU preset, which a live GUI asks for ~30 times a run (measured: 2.8 s of a 500 ms run's engine
    # thread).  A device's fields are scalars and one dict of them (its callbacks), copied here exactly as
    # asdict copies them; anything else still goes through asdict.
    out = {}
    for name in _DEVICE_FIELDS:
        v = getattr(d, name)
        if type(v) is dict and all(type(k) in _SCALARS and type(x) in _SCALARS for k, x in v.items()):
            v = dict(v)
        elif type(v) not in _SCALARS:
            out = asdict(d)
            break
        out[name] = v
    out["hw_name"] = HW_NAMES[d.hw]
    return out


def _cs_meta(c: Clocksource) -> dict:
    p = c.params
    return {"name": p.name, "rating": p.rating, "mask": p.mask, "mult": p.mult, "shift": p.shift, "maxadj": p.maxadj,
            "max_cycles": p.max_cycles, "max_idle_ns": p.max_idle_ns, "kind": c.kind, "num": c.num, "den": c.den,
            "continuous": c.continuous, "must_verify": c.must_verify, "dmesg": p.dmesg_line(),
            "uncertainty_margin": p.uncertainty_margin, "unstable": c.unstable}


def check_boots(sc, where: str | None = None) -> None:
    """Boot *sc* to check what only booting can (a clocksource, clock event device or broadcast device the machine
    does not register, which the schema accepts); InputError prefixed with *where* (where the scenario came from)."""
    try:
        plan(sc)
    except InputError as exc:
        raise InputError(f"{where}: {exc}" if where else str(exc)) from None


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
    clocksources, tsc_khz = register_clocksources(sc, hz, log)
    log.sort(key=lambda x: x[0])
    devices = make_devices(sc, hz, tsc_khz)
    tick = choose_tick_devices(devices, m.cpus, sc.kernel.clockevent)
    oneshot_possible = sc.kernel.highres and any(
        t >= 0 and devices[t].has(FEAT_ONESHOT) for t in tick)
    tsc_offset = [(m.tsc_skew * c // max(1, m.cpus - 1)) * m.tsc_hz // kclock.NSEC_PER_SEC for c in range(m.cpus)]
    # check_tsc_sync_source runs as each CPU comes up (smp_init, before the initcalls): the first CPU whose TSC
    # differs from CPU 0's fails it (a skew too small to move any CPU by a whole cycle warps nothing)
    warp_cpu = next((c for c in range(1, m.cpus) if tsc_offset[c] != tsc_offset[0]), 0) if m.tsc_hz else 0
    warped = warp_cpu > 0
    if warped:
        # the warp it measures is that CPU's offset from CPU 0
        t_sync = 140_000_000
        log.append((t_sync, f"TSC synchronization [CPU#0 -> CPU#{warp_cpu}]:"))
        log.append((t_sync, f"Measured {abs(tsc_offset[warp_cpu] - tsc_offset[0])} cycles TSC warp between CPUs, "
                            "turning off TSC clock."))
        log.append((t_sync, "tsc: Marking TSC unstable due to check_tsc_sync_source failed"))
        for c in clocksources:
            if c.name.startswith("tsc"):
                c.unstable = True
    # tsc-early is replaced by the refined tsc; both print a registration line, the final list holds tsc.
    t_switch = 195_000_000
    # clocksource_done_booting (fs_initcall) drops what is unstable by then (a TSC that failed the sync check)
    # and selects; it honours a clocksource= override registered by then (hpet); one that registers later
    # (acpi_pm, whose fs_initcall comes after it; tsc) takes over when it registers
    override = sc.kernel.clocksource
    by_then = [c for c in clocksources if c.registered_at_ns <= t_switch]
    early = select_clocksource(by_then, override if any(c.name == override for c in by_then) else "", False)
    if early.name != "jiffies":  # done_booting starts from clocksource_default_clock(): no switch to it is printed
        log.append((t_switch, f"clocksource: Switched to clocksource {early.name}"))
    final_list = list(clocksources)
    if m.tsc_hz:
        early_tsc = next(c for c in clocksources if c.name == "tsc-early")
        p = kclock.clocksource_register("tsc", tsc_khz, 64, scale=1000, rating=300,
                                        flags=("CONTINUOUS", "MUST_VERIFY", "VALID_FOR_HRES"))
        t_tsc = import_time(sc, "tsc", 241_900_000)
        tsc = Clocksource(p, CS_TSC, early_tsc.num, early_tsc.den, must_verify=True, registered_at_ns=t_tsc)
        tsc.unstable = warped
        if not warped:  # init_tsc_clocksource: a TSC found unstable before is never registered
            log.append((t_tsc, p.dmesg_line()))
        final_list = [c for c in clocksources if c.name != "tsc-early"] + [tsc]
    final = select_clocksource(final_list, sc.kernel.clocksource, oneshot_possible)
    if final.name != early.name:
        # __clocksource_register_scale's select: the switch follows the registration that brings it
        t_switch_final = 241_960_000 if final.name == "tsc" else max(t_switch, final.registered_at_ns)
        log.append((t_switch_final, f"clocksource: Switched to clocksource {final.name}"))
    for cpu, t in enumerate(tick):
        if t < 0 and sc.hypervisor.backend == "vmi-2007":
            log.append((250_000_000, f"vmi: CPU {cpu}: VMI alarm wired to the LAPIC timer vector (no clock event device)"))
        elif t < 0:
            log.append((250_000_000, f"tick: CPU {cpu} has no clock event device; it will not tick"))
    bc_kind, bc_dev = broadcast_plan(m, devices, tick, sc.hypervisor.backend)
    alarms: dict[int, int] = {}   # each CPU's (first) VMI alarm, found in one pass over the devices
    for d in devices:
        if d.name == "vmi-alarm":
            alarms.setdefault(d.cpu, d.id)
    wd, margin = watchdog_plan(sc, final_list)
    hv = sc.hypervisor
    effects, evidence = _core_effects(sc, log)
    tsc_num, tsc_den = tsc_ratio(m) if m.tsc_hz else (0, 1)
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
        tsc_offset=tsc_offset,
        tsc_stops=not m.tsc_invariant, cs_index=final_list.index(final),
        cs_override=next((i for i, c in enumerate(final_list) if c.name == sc.kernel.clocksource), -1), watchdog=wd, watchdog_margin_ns=margin,
        pv=PV_CODES[hv.backend], pv_name=hv.backend, tsc_num=tsc_num, tsc_den=tsc_den, tsc_khz=tsc_khz,
        vmi_alarm=[alarms.get(c, -1) for c in range(m.cpus)],
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


def _dist(period) -> tuple[int, int, int, int]:
    code = {"fixed": DIST_FIXED, "exponential": DIST_EXP, "uniform": DIST_UNIFORM}[period.dist]
    return code, period.mean, period.min, period.max


def _scaled(dist, factor_num: int, factor_den: int):
    code, mean, lo, hi = dist
    return (code, max(1, mean * factor_num // factor_den), max(1, lo * factor_num // factor_den),
            max(1, hi * factor_num // factor_den))


def _workload_plan(sc):
    """Per CPU: (kind, busy period distribution, idle period distribution).

    The idle periods come from one setting, the most specific one given (``Workload.idle_setting``):
    the CPU's override's busy_fraction or idle_period, else the workload's idle_period or busy_fraction.
    """
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
        busy = _dist(o.busy_period if (o and o.busy_period is not None) else w.busy_period)
        frac, idle_period = w.idle_setting(o)
        if idle_period is not None:
            idle = _dist(idle_period)
        else:
            if kind == WL_MIXED and frac <= 0.0:
                kind = WL_IDLE
            elif kind == WL_MIXED and frac >= 1.0:
                kind = WL_BUSY
            # same shape as the busy period, scaled so that busy / (busy + idle) = busy_fraction
            f_ppm = int(round(frac * 10**6))
            idle = _scaled(busy, 10**6 - f_ppm, max(1, f_ppm))
        out.append((kind, busy, idle))
    return out


def _timer_plan(sc):
    out = [[] for _ in range(sc.machine.cpus)]
    specs = [(spec, spec.cpus or range(sc.machine.cpus)) for spec in sc.workload.timers]
    specs += [(spec, o.cpus) for o in sc.workload.per_cpu for spec in o.timers]
    for spec, cpus in specs:
        for c in cpus:
            if spec.kind == "periodic":
                out[c].append((TIMER_PERIODIC, spec.period, spec.slack))
            else:
                out[c].append((TIMER_RANDOM, max(1, kclock.NSEC_PER_SEC // spec.rate_hz), spec.slack))
    return out

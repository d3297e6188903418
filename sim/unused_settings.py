"""Settings a scenario gives that nothing in its run reads: said, not refused.

A key that contradicts the rest of its own table is an error where it is checked (a periodic timer's ``rate_hz``,
a per-CPU override's busy share on a CPU that is not mixed).  The keys here are different: each describes a part
of the machine or workload that the rest of the scenario leaves unused (an HPET frequency with no HPET, a busy share
when no CPU is mixed, a host timeslice on bare metal).  Presets and saved files write them, and ``--set`` can change
what reads them (``--preset bare-metal-hpet-c3 --set workload.kind="busy"``), so they are not refused; but a
setting with no effect should not be silent either: the CLI prints each note on stderr and the app shows them
above the scenario form.
"""
from __future__ import annotations

from tickscope.sim import boot, boot_devices
from tickscope.sim.errors import InputError
from tickscope.sim.scenario_workload import Period


def _off_default(section, keys) -> list[str]:
    fields = type(section).model_fields
    return [k for k in keys if getattr(section, k) != fields[k].get_default(call_default_factory=True)]


def notes(sc) -> list[str]:
    """One sentence per group of settings the scenario *sc* gives (off their defaults) that its run never reads."""
    out = [note] if (note := _unused_hpet_pit(sc)) else []
    out += _workload_notes(sc.workload) + _period_notes(sc) + _hardware_notes(sc.machine, sc.hypervisor)
    if note := _periodic_for_good(sc):
        out.append(note)
    return out


def _unused_hpet_pit(sc) -> str | None:
    """``machine.hpet`` / ``machine.pit`` left true on a guest whose kernel never uses an HPET or PIT (xen-pv,
    vmi-2007): the machine's defaults have both, and a scenario saved by the app writes them."""
    backend = sc.hypervisor.backend
    keys = [f"machine.{k} = true" for k in ("hpet", "pit")
            if backend in boot_devices.PV_ONLY_BACKENDS and getattr(sc.machine, k)]
    if not keys:
        return None
    return (f"{' and '.join(keys)}: not used ({boot_devices.pv_no_hpet_pit(backend)}); the run is the same with "
            f"{' and '.join(k.replace('true', 'false') for k in keys)}")


def _workload_notes(w) -> list[str]:
    """The busy/idle period keys when no CPU is mixed; the timer work when there are no user timers."""
    out = []
    if w.kind != "mixed" and not any(o.kind == "mixed" for o in w.per_cpu):
        keys = [f"workload.{k}" for k in ("busy_fraction", "idle_period") if getattr(w, k) is not None]
        keys += ["workload.busy_period"] if w.busy_period != Period() else []
        if keys:
            out.append(f"{', '.join(keys)}: read by mixed CPUs only, and no CPU is mixed (workload.kind = \"{w.kind}\")")
    if _off_default(w, ("timer_work",)) and not w.timers and not any(o.timers for o in w.per_cpu):
        out.append("workload.timer_work: there are no user timers to run it")
    return out


def _period_notes(sc) -> list[str]:
    """A period table written whole (as saved, or edited by --set key by key) may hold a key its dist does not
    read: {dist = "exponential", min = "5ms", ...} is refused only when the table gives fewer than all keys.  Said
    for keys the table gives off both defaults a saved file may hold: Period's own and, for hypervisor.injection,
    its field's (bounds of 1 and 10 us, not 1 and 10 ms)."""
    plain = Period()
    injection = type(sc.hypervisor).model_fields["injection"].get_default(call_default_factory=True)
    periods = [("workload.busy_period", sc.workload.busy_period, plain),
               ("workload.idle_period", sc.workload.idle_period, plain),
               ("hypervisor.injection", sc.hypervisor.injection, injection)]
    for i, o in enumerate(sc.workload.per_cpu):
        periods += [(f"workload.per_cpu[{i}].busy_period", o.busy_period, plain),
                    (f"workload.per_cpu[{i}].idle_period", o.idle_period, plain)]
    out = []
    for where, period, default in periods:
        keys = [k for k in period.unread_keys() if k in period.model_fields_set
                and getattr(period, k) not in (getattr(plain, k), getattr(default, k))] if period else []
        if keys:
            out.append(f"{' and '.join(f'{where}.{k}' for k in keys)}: not read by dist = \"{period.dist}\"")
    return out


def _hardware_notes(m, hv) -> list[str]:
    """TSC or HPET keys on a machine without one, host keys on bare metal, VMI's alarm rate on another guest."""
    out = []
    if not m.tsc_hz and (keys := _off_default(m, ("tsc_skew", "tsc_drift_ppm"))):
        out.append(f"{' and '.join('machine.' + k for k in keys)}: the machine has no TSC (machine.tsc_hz = 0)")
    elif m.cpus == 1 and _off_default(m, ("tsc_skew",)):
        out.append("machine.tsc_skew: the offset between CPUs' TSCs, and the machine has one CPU (machine.cpus = 1)")
    if not m.hpet and (keys := _off_default(m, ("hpet_hz", "hpet_write_delay"))):
        out.append(f"{' and '.join('machine.' + k for k in keys)}: the machine has no HPET (machine.hpet = false)")
    if hv.backend == "none":
        if keys := _off_default(hv, ("timeslice", "host_latency", "injection", "pit_policy", "steal_reported",
                                     "tsc_scaling", "vmi_alarm_hz")):
            out.append(f"{', '.join('hypervisor.' + k for k in keys)}: bare metal (hypervisor.backend = \"none\") "
                       "has no host to apply them")
    else:
        if hv.backend != "vmi-2007" and _off_default(hv, ("vmi_alarm_hz",)):
            out.append(f"hypervisor.vmi_alarm_hz: read by the vmi-2007 backend only (this guest is {hv.backend})")
        if _off_default(hv, ("steal_reported",)):
            out.append("hypervisor.steal_reported: no part of the model reads it yet (the guest's steal accounting is "
                       "not modelled; steal_ns counts what the host took either way)")
    return out


def _periodic_for_good(sc) -> str | None:
    """Why ``kernel.nohz = "idle"`` (and high-res mode) never take effect on *sc*'s machine (its ticks stay
    periodic), else None: the first tick's tick_check_oneshot_change finds no clocksource valid for high-res
    (continuous), no tick device with a oneshot mode, or a tick device that stops in deep C-states with no
    broadcast able to run oneshot (tick_is_oneshot_available).  A clocksource the watchdog switches to later
    is not looked at."""
    if sc.kernel.nohz != "idle":
        return None   # (highres = true is the default: said only with NO_HZ, which a scenario asks for)
    try:
        plan = boot.plan(sc)
    except InputError:
        return None   # a scenario that cannot boot is said so where it is run (boot.check_boots)
    if any(a >= 0 for a in plan.vmi_alarm):
        return None   # VMI 2.6.21 ticks from its alarm, no clock event device: said by its preset and the graph
    cs = plan.clocksources[plan.cs_index]
    dev = plan.devices[plan.tick_device[0]] if plan.tick_device and plan.tick_device[0] >= 0 else None
    if not cs.continuous:
        why = f"the clocksource {cs.name} is not continuous (not valid for high-res or NO_HZ)"
    elif dev is None:
        return None
    elif not dev.has(boot_devices.FEAT_ONESHOT):
        why = f"the tick device {dev.name} has no oneshot mode"
    elif dev.has(boot_devices.FEAT_C3STOP) and not (
            plan.bc_kind == boot_devices.BC_HRTIMER
            or (plan.bc_kind == boot_devices.BC_DEVICE and plan.devices[plan.broadcast_device].has(boot_devices.FEAT_ONESHOT))):
        why = (f"the tick device {dev.name} stops in deep C-states and no broadcast device runs oneshot "
               f"(machine.broadcast = \"{sc.machine.broadcast}\")")
    else:
        return None
    return f"kernel.nohz = \"idle\": the tick stays periodic: {why}"

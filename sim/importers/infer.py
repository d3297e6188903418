"""Infer a scenario that reproduces a real machine from its timer_list, dmesg and interrupts.

Each scenario key is taken from the most direct evidence available, and the
evidence is written down: ``imported["inferred"]`` maps every key set here
to the reason, ``imported["assumed"]`` lists keys the inputs say nothing
about (left at a default), and ``imported["unmodelled"]`` lists what the
machine had that the engine cannot model yet (kvm-clock, NO_HZ idle, ...).
The raw facts behind those (clocksource lines, interrupt counts, tick device
counters) are kept in ``imported`` as plain TOML-able data.
"""
from __future__ import annotations

from pathlib import Path

from tickscope.sim import kclock
from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError

__all__ = ["infer_scenario", "tsc_khz_from_deadline_device"]

NSEC_PER_SEC = kclock.NSEC_PER_SEC
HZ_CHOICES = (100, 250, 300, 1000)

# Clocksources the engine models, by the name the kernel registers them under.
_MODELLED_CLOCKSOURCES = {"tsc", "tsc-early", "hpet", "acpi_pm", "pit", "jiffies", "refined-jiffies"}
_MODELLED_CLOCKEVENTS = {"lapic", "lapic-deadline", "hpet", "pit"}
# dmesg guest kind -> simulated backend, and the clocksources that backend registers itself
_GUEST_BACKENDS = {"kvm": "kvm", "xen": "xen-pv", "hyperv": "hyperv", "hyper-v": "hyperv"}
_BACKEND_CLOCKSOURCES = {"kvm": ("kvm-clock",), "xen-pv": ("xen",), "hyperv": ("hyperv_clocksource_tsc_page",)}
# Ratings and frequencies as registered by the kernel (domain.md §1.9); rating None = varies.
_CLOCKSOURCE_FACTS = {
    "kvm-clock": (400, NSEC_PER_SEC), "xen": (400, NSEC_PER_SEC), "tsc": (300, None), "tsc-early": (299, None),
    "hpet": (250, None), "acpi_pm": (200, 3_579_545), "pit": (110, 1_193_182), "jiffies": (1, None),
    "refined-jiffies": (2, None), "hyperv_clocksource_tsc_page": (None, 10_000_000),
    "hyperv_clocksource_msr": (None, 10_000_000), "lguest": (200, NSEC_PER_SEC),
}
_HIGHRES_HANDLER = "hrtimer_interrupt"
_TICK_TIMER_CALLBACKS = {"tick_sched_timer", "tick_nohz_handler", "tick_nohz_highres_handler"}


def tsc_khz_from_deadline_device(mult: int, shift: int) -> list[int]:
    """TSC kHz values that give a ``lapic-deadline`` device this mult/shift.

    The kernel registers the device at ``tsc_khz * 125`` Hz (one tick = 8 TSC
    cycles) with mult rounded to nearest, so only a window of about a quarter
    kHz fits; each candidate is checked against :mod:`~tickscope.sim.kclock`.
    """
    lo = ((2 * mult - 1) * NSEC_PER_SEC) // (2 << shift) // 125 - 1
    hi = ((2 * mult + 1) * NSEC_PER_SEC) // (2 << shift) // 125 + 1
    out = []
    for khz in range(max(lo, 1), hi + 1):
        dev = kclock.lapic_deadline_clockevent(khz)
        if (dev.mult, dev.shift) == (mult, shift):
            out.append(khz)
    return out


def _roundest_in(lo: int, hi: int) -> int:
    """The integer in [lo, hi] with the most trailing zeros (a clock's nominal frequency)."""
    step = 10**10
    while step > 1:
        cand = -(-lo // step) * step
        if cand <= hi:
            return cand
        step //= 10
    return lo


def _freq_from_mult(mult: int, shift: int) -> int:
    """Nominal frequency of a clockevent from its ns->ticks mult/shift.

    Drivers compute mult rounded to nearest (clockevents_config) or down
    (div_sc), so every f with ``(f << shift) / 10^9`` in [mult - 1/2, mult + 1)
    fits; the roundest of those is the nominal clock.
    """
    lo = -(-((2 * mult - 1) * NSEC_PER_SEC) // (1 << (shift + 1)))
    hi = ((mult + 1) * NSEC_PER_SEC - 1) >> shift
    return _roundest_in(lo, max(lo, hi))


#: The idle states an imported machine gets when its broadcast masks show CPUs that needed the broadcast: a
#: shallow state and one that stops the local APIC timer (sim/scenario.py CSTATE_TABLE).
_STAND_IN_CSTATES = ("C1", "C6")


class _Evidence:
    def __init__(self):
        self.inferred: dict[str, str] = {}
        self.assumed: list[str] = []
        self.unmodelled: list[str] = []

    def set(self, key: str, why: str):
        self.inferred[key] = why


def _infer_workload(timer_list: dict, ev) -> dict | None:
    """A mixed workload whose busy share matches the CPUs' idle time (.idle_sleeptime over the uptime)."""
    now = timer_list.get("now_ns") or 0
    shares = []
    for c in timer_list.get("cpus", []):
        sleep = (c.get("tick_sched") or {}).get("idle_sleeptime")
        if now and sleep is not None:
            shares.append(min(1.0, max(0.0, 1.0 - sleep / now)))
    if not shares:
        return None
    busy = round(sum(shares) / len(shares), 4)
    ev.set("workload.busy_fraction", f"timer_list: .idle_sleeptime is {100 * (1 - busy):.1f} % of the uptime")
    return {"kind": "mixed", "busy_fraction": busy}


def infer_scenario(timer_list: dict, dmesg: dict | None = None, interrupts: dict | None = None,
                   source_names=None) -> scen.Scenario:
    """Build a scenario that reproduces the machine the inputs came from.

    Parameters
    ----------
    timer_list : dict
        From :func:`~tickscope.sim.importers.parse_timer_list`.
    dmesg : dict, optional
        From :func:`~tickscope.sim.importers.parse_dmesg`.
    interrupts : dict, optional
        From :func:`~tickscope.sim.importers.parse_interrupts`.
    source_names : dict or sequence of str, optional
        File names: a dict with keys ``timer_list``, ``dmesg``,
        ``interrupts``, or a sequence in that order.  The scenario is named
        after the timer_list file.

    Returns
    -------
    Scenario
        Validated; ``imported`` holds ``inferred``, ``assumed``,
        ``unmodelled`` and the raw facts the engine cannot use yet.

    Raises
    ------
    InputError
        If the inputs cannot describe a machine (no CPUs) or contradict the
        schema.
    """
    names = _names(source_names, timer_list)
    ev = _Evidence()
    imported: dict = {"sources": {k: v for k, v in names.items() if v}}
    machine: dict = {}
    kernel: dict = {}

    cpus = timer_list.get("cpus") or []
    if not cpus:
        raise InputError(f"{names['timer_list']}: no 'cpu:' blocks, nothing to infer a machine from")
    machine["cpus"] = len(cpus)
    ev.set("machine.cpus", f"{len(cpus)} cpu blocks in the timer_list")
    if interrupts is not None and interrupts["cpus"] != len(cpus):
        ev.unmodelled.append(f"/proc/interrupts shows {interrupts['cpus']} CPU columns but timer_list "
                             f"{len(cpus)} online CPUs; used {len(cpus)}")

    devices = [e["device"] for e in timer_list.get("tick_devices", []) if e.get("device")]
    percpu = devices[0] if devices else None
    broadcast = timer_list.get("broadcast")
    bdev = broadcast["device"] if broadcast else None

    hz = _infer_hz(timer_list, dmesg, ev)
    kernel["hz"] = hz
    _infer_highres(timer_list, percpu, kernel, ev)
    _infer_tsc(dmesg, percpu, machine, ev, hz)
    _infer_devices(timer_list, dmesg, percpu, bdev, broadcast, machine, kernel, ev)
    _infer_clocksource(dmesg, kernel, imported, ev)
    _keep_facts(timer_list, dmesg, interrupts, imported, ev)

    workload = _infer_workload(timer_list, ev)
    guest = imported.get("guest")
    what = f"{guest.upper() if guest == 'kvm' else guest} guest" if guest else "machine"
    desc = (f"Imported from {names['timer_list']}: {len(cpus)}-CPU {what}, HZ={hz}, "
            f"{percpu['name'] if percpu else 'no tick device'}, {'highres' if kernel['highres'] else 'lowres'}")
    imported["inferred"] = ev.inferred
    if ev.assumed:
        imported["assumed"] = ev.assumed
    if ev.unmodelled:
        imported["unmodelled"] = ev.unmodelled
    data = {"schema": scen.SCHEMA_VERSION, "name": Path(names["timer_list"]).stem or "imported",
            "description": desc, "machine": machine, "kernel": kernel, "imported": _plain(imported)}
    if imported.get("backend"):
        data["hypervisor"] = {"backend": imported["backend"]}
    if workload:
        data["workload"] = workload
    return scen.from_dict(data, f"scenario inferred from {names['timer_list']}")


def _names(source_names, timer_list) -> dict:
    keys = ("timer_list", "dmesg", "interrupts")
    if source_names is None:
        out = {}
    elif isinstance(source_names, dict):
        out = dict(source_names)
    else:
        out = dict(zip(keys, source_names))
    out = {k: (str(out[k]) if out.get(k) else None) for k in keys}
    if not out["timer_list"]:
        out["timer_list"] = str(timer_list.get("source") or "timer_list")
    return out


# -- HZ ---------------------------------------------------------------------------

def _infer_hz(timer_list: dict, dmesg: dict | None, ev: _Evidence) -> int:
    if dmesg:
        for cs in dmesg["clocksources"]:
            if cs["name"] == "jiffies":
                for hz in HZ_CHOICES:
                    if kclock.jiffies_clocksource(hz).max_idle_ns == cs["max_idle_ns"]:
                        ev.set("kernel.hz", f"dmesg: jiffies clocksource max_idle_ns {cs['max_idle_ns']} is HZ={hz}")
                        return hz
    # Tick-aligned times: the sched timer fires on multiples of TICK_NSEC (domain.md §3.5).
    aligned = []
    for cpu in timer_list["cpus"]:
        if cpu["tick_sched"].get("last_tick"):
            aligned.append(cpu["tick_sched"]["last_tick"])
        for base in cpu["bases"][:1]:  # CLOCK_MONOTONIC
            aligned += [t["hard_ns"] for t in base["timers"] if t["callback"] in _TICK_TIMER_CALLBACKS]
    candidates = [hz for hz in HZ_CHOICES if aligned and all(v % kclock.tick_nsec(hz) == 0 for v in aligned)]
    by_jiffies = _hz_from_jiffies(timer_list)
    if len(candidates) == 1:
        ev.set("kernel.hz", f"timer_list: tick times ({len(aligned)} of them, e.g. .last_tick {aligned[0]}) are "
                            f"multiples of TICK_NSEC {kclock.tick_nsec(candidates[0])} only for HZ={candidates[0]}")
        return candidates[0]
    pool = candidates or list(HZ_CHOICES)
    if by_jiffies is not None:
        best = min(pool, key=lambda hz: by_jiffies[hz])
        if by_jiffies[best] < 0.01:
            why = "timer_list: jiffies since INITIAL_JIFFIES match now_ns for HZ=%d" % best
            if candidates:
                why += f" (tick times fit HZ in {candidates})"
            ev.set("kernel.hz", why)
            return best
    if candidates:
        ev.set("kernel.hz", f"timer_list: tick times fit HZ in {candidates}; took the largest TICK_NSEC")
        return candidates[0]
    ev.assumed.append("kernel.hz = 250 (no jiffies line in dmesg and the timer_list does not pin HZ down)")
    return 250


def _hz_from_jiffies(timer_list: dict):
    """Relative mismatch per HZ between jiffies elapsed since INITIAL_JIFFIES and now_ns."""
    now = timer_list.get("now_ns")
    jiffies = next((c["jiffies"] for c in timer_list["cpus"] if c.get("jiffies") is not None), None)
    if not now or jiffies is None or now < 60 * NSEC_PER_SEC:
        return None  # too early after boot to tell the rates apart reliably
    out = {}
    for hz in HZ_CHOICES:
        initial = kclock.initial_jiffies(hz)
        elapsed = (jiffies - initial) % 2**64
        expected = now * hz // NSEC_PER_SEC
        out[hz] = abs(elapsed - expected) / max(expected, 1)
    return out


# -- highres ------------------------------------------------------------------------

def _infer_highres(timer_list, percpu, kernel, ev):
    res = {b["resolution_ns"] for c in timer_list["cpus"] for b in c["bases"] if b.get("resolution_ns") is not None}
    handler = percpu.get("event_handler") if percpu else None
    flags = [c["highres_active"] for c in timer_list["cpus"] if c.get("highres_active") is not None]
    if res == {1} or handler == _HIGHRES_HANDLER or (flags and all(flags)):
        kernel["highres"] = True
        parts = []
        if res == {1}:
            parts.append("hrtimer resolution 1 ns")
        if handler == _HIGHRES_HANDLER:
            parts.append("tick device handler hrtimer_interrupt")
        ev.set("kernel.highres", "timer_list: " + " and ".join(parts or ["highres flag set"]))
    else:
        kernel["highres"] = False
        ev.set("kernel.highres", f"timer_list: hrtimer resolution {sorted(res)} ns, handler {handler}")
    nohz = [c["nohz_active"] for c in timer_list["cpus"] if c.get("nohz_active") is not None]
    kernel["nohz"] = "off"
    if any(nohz):
        kernel["nohz"] = "idle"
        ev.set("kernel.nohz", "timer_list: .nohz 1 (NO_HZ idle active)")


# -- TSC ----------------------------------------------------------------------------

def _infer_tsc(dmesg, percpu, machine, ev, hz):
    from_dev = None
    if percpu and percpu["name"] == "lapic-deadline" and "mult" in percpu:
        cands = tsc_khz_from_deadline_device(percpu["mult"], percpu["shift"])
        if cands:
            from_dev = cands[len(cands) // 2]
    if dmesg and dmesg.get("tsc_khz"):
        khz = dmesg["tsc_khz"]
        machine["tsc_hz"] = khz * 1000
        what = "Refined TSC clocksource calibration" if dmesg.get("tsc_refined_khz") else "tsc: Detected"
        why = f"dmesg: '{what}' {khz // 1000}.{khz % 1000:03d} MHz"
        if from_dev is not None:
            why += (" (agrees with the lapic-deadline mult)" if from_dev == khz
                    else f" (the lapic-deadline mult says {from_dev} kHz)")
        ev.set("machine.tsc_hz", why)
    elif from_dev is not None:
        machine["tsc_hz"] = from_dev * 1000
        ev.set("machine.tsc_hz", f"timer_list: lapic-deadline mult {percpu['mult']} shift {percpu['shift']} "
                                 f"= {from_dev} kHz TSC (device runs at tsc_khz*125 Hz)")
    else:
        ev.assumed.append("machine.tsc_hz = 2400000000 (no TSC frequency in the inputs)")
    ev.assumed.append("machine.tsc_invariant = true (constant/nonstop TSC is not visible in these files)")


# -- devices ------------------------------------------------------------------------

def _infer_devices(timer_list, dmesg, percpu, bdev, broadcast, machine, kernel, ev):
    names = {cs["name"] for cs in dmesg["clocksources"]} if dmesg else set()
    complete_log = bool(dmesg and dmesg["starts_at_boot"])
    dev_names = {d["name"] for d in (percpu, bdev) if d}
    if percpu is not None:
        name = percpu["name"]
        if name.startswith("lapic"):
            machine["lapic"] = True
            machine["tsc_deadline"] = name == "lapic-deadline"
            ev.set("machine.lapic", f"timer_list: per-CPU tick device {name}")
            ev.set("machine.tsc_deadline", f"timer_list: per-CPU tick device is {name}")
            if name == "lapic" and "mult" in percpu:
                bus = _freq_from_mult(percpu["mult"], percpu["shift"]) * 16
                if 1_000_000 <= bus <= 10_000_000_000:
                    machine["lapic_bus_hz"] = bus
                    ev.set("machine.lapic_bus_hz", f"timer_list: lapic mult {percpu['mult']} shift "
                                                   f"{percpu['shift']} = {bus // 16} Hz timer, bus = 16x")
        else:
            ev.unmodelled.append(f"per-CPU tick device {name!r} is not modelled; the simulation uses its own choice")
        if name in _MODELLED_CLOCKEVENTS:
            kernel["clockevent"] = name
            ev.set("kernel.clockevent", f"timer_list: every CPU's tick device is {name}")
    if "lapic_bus_hz" not in machine:
        ev.assumed.append("machine.lapic_bus_hz = 100000000 (the LAPIC bus clock is not visible in these files)")

    if dmesg and dmesg.get("tsc_deadline") == "disabled" and machine.get("tsc_deadline"):
        ev.unmodelled.append("dmesg says TSC_DEADLINE disabled but the tick device is lapic-deadline")

    # HPET: its clocksource line, its own log lines, or a tick/broadcast device named hpet*.
    hpet_seen = "hpet" in names or bool(dmesg and dmesg["hpet"]) or any(n.startswith("hpet") for n in dev_names)
    machine["hpet"] = hpet_seen
    if hpet_seen:
        ev.set("machine.hpet", "dmesg/timer_list mention an hpet clocksource or device")
        hz = (dmesg["hpet"] or {}).get("hz") if dmesg else None
        if hz is None and bdev and bdev["name"].startswith("hpet") and "mult" in bdev:
            hz = _freq_from_mult(bdev["mult"], bdev["shift"])
        if hz and 10_000_000 <= hz <= 10_000_000_000:
            machine["hpet_hz"] = hz
            ev.set("machine.hpet_hz", f"HPET counter {hz} Hz")
    elif broadcast is not None and bdev is None:
        ev.set("machine.hpet", "timer_list: broadcast device is <NULL>, so the kernel had no HPET to use"
                               + (" (and dmesg from boot registers no hpet clocksource)" if complete_log else ""))
    else:
        ev.set("machine.hpet", "no hpet clocksource or device in the inputs")

    # PIT: the kernel skips the PIT clockevent when the LAPIC timer works, so it is rarely visible.
    pit_seen = "pit" in names or "pit" in dev_names
    machine["pit"] = pit_seen
    if pit_seen:
        ev.set("machine.pit", "dmesg/timer_list mention the pit clocksource or device")
    else:
        ev.set("machine.pit", "no pit clocksource or device in the inputs"
                              + ("; broadcast device <NULL> means no PIT clockevent was registered"
                                 if broadcast is not None and bdev is None else ""))
    machine["acpi_pm"] = "acpi_pm" in names
    if "acpi_pm" in names:
        ev.set("machine.acpi_pm", "dmesg: acpi_pm clocksource registered")
    elif complete_log:
        ev.set("machine.acpi_pm", "dmesg from boot registers no acpi_pm clocksource")
    else:
        ev.assumed.append("machine.acpi_pm = false (no dmesg from boot to show an acpi_pm clocksource)")

    # ARAT: without it the LAPIC timer has C3STOP and a broadcast device must exist (domain.md §4).
    if broadcast is not None and bdev is None:
        machine["arat"] = True
        ev.set("machine.arat", f"timer_list: no broadcast device (<NULL>, tick mode {broadcast['mode']}): "
                               "the LAPIC timer needed none, i.e. it keeps running in deep C-states")
    elif broadcast is not None and (broadcast.get("mask_cpus") or broadcast.get("oneshot_mask_cpus")):
        machine["arat"] = False
        ev.set("machine.arat", f"timer_list: CPUs in the broadcast masks ({broadcast['mask']}, "
                               f"{broadcast.get('oneshot_mask')}) rely on {bdev['name']}")
        # a CPU joins the masks only through an idle driver that offers a state stopping its timer
        # (tick_broadcast_enter from cpuidle_enter_state; tick_broadcast_enable at its registration): without
        # one the imported machine would never use the broadcast the file shows
        machine["cstates"] = list(_STAND_IN_CSTATES)
        ev.set("machine.cstates", f"timer_list: CPUs in the broadcast masks had an idle state that stops the local "
                                  f"APIC timer; the states themselves are not in these files, so "
                                  f"{' and '.join(_STAND_IN_CSTATES)} stand in")
    else:
        ev.assumed.append("machine.arat = true (a broadcast device exists but no CPU was using it)")
    if "cstates" not in machine:
        ev.assumed.append("machine.cstates = [] (idle states are not visible in these files)")
    if not (machine.get("lapic", True) or machine["hpet"] or machine["pit"]):
        machine["pit"] = True
        ev.assumed.append("machine.pit = true (the schema needs some clock event device)")


def _infer_clocksource(dmesg, kernel, imported, ev):
    if not dmesg or not dmesg["current_clocksource"]:
        ev.assumed.append('kernel.clocksource = "" (no "Switched to clocksource" line; best by rating)')
        return
    final = dmesg["current_clocksource"]
    if final in _MODELLED_CLOCKSOURCES:
        kernel["clocksource"] = final
        ev.set("kernel.clocksource", f"dmesg: last 'Switched to clocksource {final}'")
    else:
        ev.unmodelled.append(f"the machine's clocksource was {final}, which the engine does not model; "
                             "the simulation picks the best modelled one by rating")
    imported["clocksource_switches"] = [s["line"] for s in dmesg["switches"]]


# -- facts kept for later ---------------------------------------------------------------

def _keep_facts(timer_list, dmesg, interrupts, imported, ev):
    imported["timer_list"] = {
        "version": timer_list.get("version"), "now_ns": timer_list.get("now_ns"),
        "jiffies": next((c["jiffies"] for c in timer_list["cpus"] if c.get("jiffies") is not None), None),
        "sched_timer": sorted({t["callback"] for c in timer_list["cpus"] for b in c["bases"][:1]
                               for t in b["timers"] if t["callback"] in _TICK_TIMER_CALLBACKS}),
    }
    per_cpu = []
    for cpu, entry in zip(timer_list["cpus"], timer_list.get("tick_devices", []) + [None] * len(timer_list["cpus"])):
        ts = cpu["tick_sched"]
        rec = {"cpu": cpu["cpu"]}
        for key in ("nr_events", "nr_retries", "nr_hangs", "max_hang_time", "idle_calls", "idle_sleeps",
                    "idle_sleeptime", "iowait_sleeptime"):
            if key in ts:
                rec[key] = ts[key]
        if entry and entry.get("device"):
            dev = entry["device"]
            rec.update(device=dev["name"], retries=dev.get("retries"), min_delta_ns=dev.get("min_delta_ns"),
                       max_delta_ns=dev.get("max_delta_ns"), mult=dev.get("mult"), shift=dev.get("shift"),
                       event_handler=dev.get("event_handler"))
        per_cpu.append(rec)
    imported["tick_devices"] = per_cpu
    if any(r.get("retries") for r in per_cpu) or any(r.get("nr_retries") for r in per_cpu):
        ev.unmodelled.append("real tick device retries/hrtimer nr_retries ("
                             + ", ".join(f"cpu{r['cpu']}: {r.get('retries', '?')}/{r.get('nr_retries', '?')}"
                                         for r in per_cpu) + ") are kept for comparison, not reproduced")

    if dmesg:
        kept = []
        for cs in dmesg["clocksources"]:
            rating, freq = _CLOCKSOURCE_FACTS.get(cs["name"], (None, None))
            if cs["name"] in ("tsc", "tsc-early") and dmesg.get("tsc_khz"):
                freq = dmesg["tsc_khz"] * 1000
            rec = {"name": cs["name"], "mask_bits": cs["mask_bits"], "max_cycles": cs["max_cycles"],
                   "max_idle_ns": cs["max_idle_ns"], "modelled": cs["name"] in _MODELLED_CLOCKSOURCES,
                   "dmesg": cs["line"]}
            if freq:
                rec["freq_hz"] = freq
            if rating is not None:
                rec["rating"] = rating
            kept.append(rec)
            if not rec["modelled"]:
                ev.unmodelled.append(f"clocksource {cs['name']} ({cs['mask_bits']}-bit"
                                     + (f", {freq} Hz" if freq else "") + ") registered at boot")
        if kept:
            imported["clocksources"] = kept
        if dmesg["guest"]:
            imported["guest"] = dmesg["guest"]
            backend = _GUEST_BACKENDS.get(dmesg["guest"])
            if backend:
                imported["backend"] = backend
                for rec in imported.get("clocksources", []):
                    if rec["name"] in _BACKEND_CLOCKSOURCES.get(backend, ()):
                        rec["modelled"] = True
                ev.unmodelled[:] = [u for u in ev.unmodelled
                                    if not any(u.startswith(f"clocksource {n} ") for n in _BACKEND_CLOCKSOURCES.get(backend, ()))]
                ev.set("hypervisor.backend", f"dmesg: the machine is a {dmesg['guest']} guest")
            else:
                ev.unmodelled.append(f"the machine is a {dmesg['guest']} guest, which no simulated backend models")
        if dmesg["hypervisor"]:
            imported["hypervisor"] = dmesg["hypervisor"]
        if dmesg["kvm_clock"]:
            kvm = {"lines": dmesg["kvm_clock"]["lines"]}
            if dmesg["kvm_clock"]["sched_offset_cycles"] is not None:
                kvm["sched_offset_cycles"] = dmesg["kvm_clock"]["sched_offset_cycles"]
                ev.unmodelled.append(f"kvm-clock sched offset of {kvm['sched_offset_cycles']} cycles")
            if dmesg["kvm_clock"]["msrs"]:
                kvm["msrs"] = dmesg["kvm_clock"]["msrs"]
            imported["kvm_clock"] = kvm
        if dmesg["unstable"]:
            imported["unstable"] = [u["line"] for u in dmesg["unstable"]]
            ev.unmodelled.append("clocksource(s) marked unstable at runtime: "
                                 + ", ".join(sorted({u["name"] for u in dmesg["unstable"]})))
        if dmesg["firmware_bugs"]:
            imported["firmware_bugs"] = dmesg["firmware_bugs"]
            ev.unmodelled.append(f"{len(dmesg['firmware_bugs'])} firmware bug line(s) about timers")
        if dmesg["tsc_deadline"]:
            imported["tsc_deadline"] = dmesg["tsc_deadline"]
    if interrupts is not None:
        # label -> counts and label -> description: the compact form of the table, in file order.
        imported["interrupts"] = {
            "cpus": interrupts["cpus"],
            "counts": {r["label"]: r["counts"] for r in interrupts["rows"]},
            "descriptions": {r["label"]: r["description"] for r in interrupts["rows"] if r["description"]},
        }
        loc = interrupts["by_label"].get("LOC")
        if loc:
            ev.unmodelled.append("interrupt counts (LOC " + "/".join(map(str, loc)) + ") kept for comparison")


def _plain(value):
    """Drop None values so the data is TOML-able (TOML has no null)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value if v is not None]
    return value

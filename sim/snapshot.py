"""Kernel views of a running simulation: /proc/timer_list, /proc/interrupts, the boot log.

These turn engine state into the plain data that :mod:`tickscope.sim.procfs`
prints byte for byte in the kernel's formats.
"""
from __future__ import annotations

from typing import Callable

from tickscope.sim import boot as B
from tickscope.sim import procfs
from tickscope.sim.events import HANDLER_NAMES, TickMode
from tickscope.sim.simulation import Simulation

#: CLOCK_REALTIME - CLOCK_MONOTONIC at boot: the simulated machine booted at 2026-01-01T00:00:00Z.
WALL_EPOCH_NS = 1_767_225_600 * 10**9
KTIME_MAX = B.KTIME_MAX
# hrtimer clock bases in v0.10 order: MONOTONIC, REALTIME, BOOTTIME, TAI, then their _SOFT twins
_REALTIME_LIKE = {1, 3, 5, 7}


#: The "CPU" the broadcast hrtimer's hashed address is derived from: none of the CPUs, as it is no per-CPU timer.
BC_HRTIMER_PTR_CPU = -1


def _hashed(seed: int, *parts: int) -> str:
    """A stable stand-in for the kernel's hashed %p output."""
    x = (seed * 0x9E3779B97F4A7C15 + 0xD1B54A32D192ED03) & (2**64 - 1)
    for p in parts:
        x ^= (p + 0x632BE59BD9B4E019 + (x << 6) + (x >> 2)) & (2**64 - 1)
        x = (x * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    return f"{x & 0xFFFFFFFF:016x}"


def _device_dict(plan, dev: B.Device, state: int, next_event: int, handler: str, retries: int, min_delta_ns=None) -> dict:
    cb = dev.callbacks
    return {
        "name": dev.name, "max_delta_ns": dev.max_delta_ns,
        "min_delta_ns": dev.min_delta_ns if min_delta_ns is None else min_delta_ns,
        "mult": dev.mult, "shift": dev.shift, "mode": state, "next_event": next_event,
        "set_next_event": cb["set_next_event"], "shutdown": cb["shutdown"], "periodic": cb["periodic"],
        "oneshot": cb["oneshot"], "oneshot_stopped": cb["oneshot_stopped"], "resume": cb["resume"],
        "event_handler": handler, "retries": retries,
    }


def timer_list_snapshot(sim) -> dict:
    """The /proc/timer_list data of a :class:`~tickscope.sim.simulation.Simulation` at its current time."""
    plan = sim.plan
    eng = sim.engine
    g = eng.global_state()
    now = g["ktime_ns"]
    if getattr(sim, "settled_ns", None) is not None:
        # read at the run's end: the kernel's clock reads `until` there (the in-flight interrupts the end
        # delivered a little later are in the counters, as they were on their way at the read)
        now = min(now, sim.until_ns)
    cpus = eng.cpu_state()
    seed = plan.seed
    # the reader runs on a CPU, whose irq entry caught jiffies up (tick_nohz_update_jiffies): as run's jiffies_delta
    jiffies_read = plan.initial_jiffies + g["jiffies_seen"]
    tick = plan.tick_nsec
    lowres_next = _lowres_expires_next(cpus)
    out_cpus, tick_devices = [], []
    for c in cpus:
        cpu = c["cpu"]
        mode = TickMode(c["mode"])
        highres = mode == TickMode.HIGHRES
        monotonic = _monotonic_timers(seed, cpu, c, g, highres)
        bases = [{"index": i, "base": _hashed(seed, cpu, i), "resolution_ns": 1 if highres else tick,
                  "offset_ns": WALL_EPOCH_NS if i in _REALTIME_LIKE else 0, "timers": monotonic if i == 0 else []}
                 for i in range(8)]
        oneshot = mode in (TickMode.HIGHRES, TickMode.LOWRES_NOHZ)
        ts = {
            "expires_next": (_highres_expires_next(c, monotonic) if highres else lowres_next[cpu]),
            "hres_active": int(highres), "nr_events": c["nr_events"], "nr_retries": c["nr_retries"],
            "nr_hangs": c["nr_hangs"], "max_hang_time": 0,
            "nohz": int(plan.nohz_idle and oneshot),
            "highres": int(highres), "last_tick": c["last_tick"], "tick_stopped": c["tick_stopped"],
            # set at a tick stop (the jiffies then, >= 1: NO_HZ starts at the first tick), so 0 = never stopped,
            # which the real file prints as 0 (tick_sched starts zeroed), as it does .last_jiffies
            "idle_jiffies": plan.initial_jiffies + c["idle_jiffies"] if c["idle_jiffies"] else 0,
            "idle_calls": c["idle_calls"],
            "idle_sleeps": c["idle_sleeps"], "idle_entrytime": c["idle_entrytime"], "idle_waketime": c["idle_waketime"],
            "idle_exittime": c["idle_exittime"], "idle_sleeptime": c["idle_sleeptime"], "iowait_sleeptime": 0,
            # tick_nohz_next_event's record of the CPU's last idle entry (0 if it never asked: no NO_HZ)
            "last_jiffies": plan.initial_jiffies + c["last_jiffies"] if c["last_jiffies"] >= 0 else 0,
            "next_timer": c["next_timer"],
            "idle_expires": c["idle_expires"] if c["idle_sleeps"] else 0,
        }
        out_cpus.append({"cpu": cpu, "bases": bases, "tick_sched": ts, "jiffies": jiffies_read})
        did = c["device"]
        dev = None
        if did >= 0:
            dev = _device_dict(plan, plan.devices[did], c["state"], c["next_event"], HANDLER_NAMES[mode], c["retries"],
                               c["min_delta_ns"])
        tick_devices.append({"cpu": cpu, "mode": 1 if mode in (TickMode.HIGHRES, TickMode.LOWRES_NOHZ) else 0,
                             "device": dev, "wakeup_device": None})
    any_oneshot = any(t["mode"] == 1 for t in tick_devices)
    g = eng.global_state()
    bdev = None
    # The broadcast device's event_handler: tick_broadcast_setup_oneshot installs the oneshot one at the first
    # oneshot switch; before (or without) it, tick_broadcast_start_periodic installs the periodic one once the
    # broadcast mask is non-empty. A device never started keeps what it had: an x86 HPET or PIT ticked CPU 0 at
    # boot (tick_handle_periodic) until the local APIC timer replaced it, and tick_install_broadcast_device leaves
    # the handler alone; the hrtimer broadcast never had one (%ps of NULL).
    # the idle driver turns the broadcast on for a CPU when it offers that CPU its C-states (after the CPU's switch
    # to oneshot: engine semantics 18); a CPU still ticking periodically before that switch is not in the mask
    broadcast_on = {c["cpu"] for c in cpus if c.get("cstates_offered", True)} & _broadcast_on(plan)
    started_periodic = bool(set(g["periodic_mask"]) | broadcast_on)
    if g["bc_oneshot"]:
        bc_handler = "tick_handle_oneshot_broadcast"
    elif started_periodic:
        bc_handler = "tick_handle_periodic_broadcast"
    else:
        bc_handler = "0x0" if plan.bc_kind == B.BC_HRTIMER else "tick_handle_periodic"
    if plan.broadcast_device >= 0 and plan.bc_kind == B.BC_DEVICE:
        d = plan.devices[plan.broadcast_device]
        bdev = _device_dict(plan, d, g["bc_state"] or 1, g["bc_next_device_event"], bc_handler, g["bc_retries"],
                            g["bc_min_delta_ns"])
    elif plan.bc_kind == B.BC_HRTIMER:
        bdev = {"name": "bc_hrtimer", "max_delta_ns": KTIME_MAX, "min_delta_ns": 1, "mult": 1, "shift": 0,
                "mode": 3 if g["bc_oneshot"] else 1, "next_event": g["bc_next_event"],
                # ce_broadcast_hrtimer sets set_next_ktime (bc_set_next), not set_next_event: %ps of NULL
                "set_next_event": "0x0",
                "shutdown": "bc_shutdown", "periodic": None, "oneshot": None, "oneshot_stopped": None, "resume": None,
                "event_handler": bc_handler, "retries": 0}
    return {
        "version": "v0.10", "max_clock_bases": 8, "now_ns": now, "cpus": out_cpus,
        "broadcast": {"mode": 1 if any_oneshot else 0, "device": bdev,
                      "mask": _cpumask(set(g["periodic_mask"]) | broadcast_on, len(cpus)),
                      "oneshot_mask": _cpumask(g["oneshot_mask"], len(cpus))},
        "tick_devices": tick_devices,
    }


def _pending_hrtimers(c: dict) -> list[int]:
    """The hard expiries (expiry + slack) of the CPU's queued user timers, by timer index (KTIME_MAX: none)."""
    slacks = list(c.get("timer_slacks", ()))
    return [e + (slacks[i] if i < len(slacks) else 0) if e != KTIME_MAX else KTIME_MAX
            for i, e in enumerate(c.get("timer_expiries", ()))]


def _highres_expires_next(c: dict, monotonic: list[dict]) -> int:
    """hrtimer_cpu_base.expires_next in high-res mode: every reprogram (__hrtimer_reprogram, the end of
    hrtimer_interrupt) stores the CPU's earliest hrtimer there before it programs the device, so it is the
    earliest hard expiry of its queued timers (*monotonic*: :func:`_monotonic_timers`) even where the device holds
    another (a forced min-delta programming, a hang's delay, a programming that gave up: dev->next_event). A
    broadcast hrtimer another CPU took away leaves it at the removed expiry (a remote removal does not reprogram:
    hr_stale) until an earlier timer or the interrupt replaces it."""
    return min([c.get("hr_stale", KTIME_MAX)] + [t["hard_ns"] for t in monotonic])


def _lowres_expires_next(cpus: list[dict]) -> list[int]:
    """hrtimer_cpu_base.expires_next of each CPU while high-res is not active (5.15+): its earliest user timer.

    __hrtimer_reprogram stores expires_next whether or not high-res is active (only the device programming is
    skipped). A user timer is a task's sleep (hrtimer_wakeup): started at boot, removed without reprogramming
    when the tick runs it (hrtimer_run_queues), started again by the woken task for its next expiry. A start
    lowers expires_next to the timer's expiry when that is earlier (hrtimer_reprogram, which also makes the timer
    cpu_base->next_timer); a start of the timer that is cpu_base->next_timer (force_local in
    __hrtimer_start_range_ns) recomputes the earliest timer and stores it, later or not; and a low-res NO_HZ CPU's
    every idle pass points next_timer at its earliest timer (tick_nohz_next_event -> get_next_timer_interrupt ->
    hrtimer_get_next_event). Together these keep expires_next at the earliest queued timer whenever a timer has
    just been started, which is whenever the log can be read: tests/sim/test_timer_list_expires_next.py
    replays those rules over generated runs and finds the same value. KTIME_MAX on a CPU without timers. Not
    counted: the broadcast hrtimer started on a low-res holder (bc_set_next). Each expiry is the hard one
    (expiry + slack), which expires_next holds."""
    return [min(_pending_hrtimers(c), default=KTIME_MAX) for c in cpus]


def _monotonic_timers(seed: int, cpu: int, c: dict, g: dict, highres: bool) -> list[dict]:
    """The CPU's queued CLOCK_MONOTONIC hrtimers in expiry order (the timerqueue's): the tick's sched_timer
    (queued in high-res mode only; low-res NO_HZ keeps its expiry without queueing it), the user timers
    (a task's nanosleep / poll timeout: hrtimer_wakeup) and, on the CPU holding it, the broadcast hrtimer."""
    timers = []   # (hard expiry, order tag, callback, soft expiry): the timerqueue orders by the hard one
    if highres and c["sched_expires"] != KTIME_MAX:
        timers.append((c["sched_expires"], 100, "tick_nohz_handler", c["sched_expires"]))
    for i, (exp, hard) in enumerate(zip(c.get("timer_expiries", ()), _pending_hrtimers(c))):
        if exp != KTIME_MAX:
            timers.append((hard, 200 + i, "hrtimer_wakeup", exp))
    if g.get("bc_bound") == cpu and g.get("bc_expires", KTIME_MAX) != KTIME_MAX:
        timers.append((g["bc_expires"], 300, "bc_handler", g["bc_expires"]))
    timers.sort(key=lambda x: (x[0], x[1]))
    # the sched_timer and a task's timers are per CPU; the broadcast hrtimer is one static timer (bctimer) that
    # moves between CPUs: one address wherever it is queued
    return [{"ptr": _hashed(seed, BC_HRTIMER_PTR_CPU if tag == 300 else cpu, tag), "callback": name, "state": "01",
             "soft_ns": soft, "hard_ns": hard}
            for hard, tag, name, soft in timers]


def _broadcast_on(plan) -> set[int]:
    """CPUs the idle driver put in tick_broadcast_on (and so tick_broadcast_mask): intel_idle calls
    tick_broadcast_enable() on every CPU of a machine without ARAT, whatever states it offers
    (intel_idle_cpu_online; ACPI's processor_idle would do so only for a state that stops the timer), and
    tick_broadcast_control() sets the CPU's bit when its tick device has C3STOP, with or without a broadcast
    device (hrtimer or none: the bit is set all the same, only the local timer's shutdown depends on one)."""
    if not plan.cstates:
        return set()
    return {cpu for cpu, did in enumerate(plan.tick_device) if did >= 0 and plan.devices[did].has(B.FEAT_C3STOP)
            and not plan.devices[did].has(B.FEAT_DUMMY)}


def _cpumask(cpus, nbits: int) -> str:
    """%*pb with nr_cpu_ids bits: hex in 32-bit chunks separated by commas, each chunk zero-padded to its
    width (the top chunk to the bits it holds: 4 CPUs print one digit, 16 four, 40 "00,00000000")."""
    v = 0
    for c in cpus:
        v |= 1 << c
    nbits = max(int(nbits), 1)
    chunks = []
    top = nbits % 32 or 32
    for lo in range(((nbits - 1) // 32) * 32, -1, -32):
        width = top if lo + 32 > nbits else 32
        chunks.append(f"{(v >> lo) & ((1 << width) - 1):0{(width + 3) // 4}x}")
    return ",".join(chunks)


#: The /proc/timer_list layouts ``timer_list_text`` prints: v0.10 (6.9+) and v0.9 (5.14 to 6.8).
TIMER_LIST_VERSIONS = ("v0.10", "v0.9")

#: The tick's handlers under their 5.14-6.8 names: the sched_timer's hrtimer callback, the low-res NO_HZ handler.
_V09_CALLBACKS = {"tick_nohz_handler": "tick_sched_timer"}
_V09_HANDLERS = {"tick_nohz_lowres_handler": "tick_nohz_handler"}
#: Each clock base's ``get_time`` callback in v0.10 base order (MONOTONIC, REALTIME, BOOTTIME, TAI, then their
#: _SOFT twins): every kernel before 6.18 prints it as a ``.get_time`` line between ``.resolution`` and ``.offset``
#: (the v0.10 capture in data/real/ comes from a kernel after its removal, so v0.10 here has no such line).
_BASE_GET_TIME = ("ktime_get", "ktime_get_real", "ktime_get_boottime", "ktime_get_clocktai") * 2


def as_v09(snap: dict) -> dict:
    """*snap* (v0.10) as a 5.14-6.8 kernel prints it (v0.9): ``.nohz_mode`` (NOHZ_MODE_INACTIVE 0, LOWRES 1,
    HIGHRES 2: NO_HZ active, and in which mode) where v0.10 prints ``.nohz`` and ``.highres``, each clock base's
    ``.get_time`` callback, and the tick's handlers under their older names (``tick_sched_timer``,
    ``tick_nohz_handler`` for low-res NO_HZ)."""
    out = dict(snap, version="v0.9", cpus=[], tick_devices=[])
    for cpu in snap["cpus"]:
        ts = {}
        for name, value in cpu["tick_sched"].items():
            if name == "nohz":   # as events.nohz_mode, from the two flags v0.10 prints
                ts["nohz_mode"] = (2 if cpu["tick_sched"]["highres"] else 1) if value else 0
            elif name != "highres":
                ts[name] = value
        bases = [dict(b, get_time=_BASE_GET_TIME[b["index"] % len(_BASE_GET_TIME)],
                      timers=[dict(t, callback=_V09_CALLBACKS.get(t["callback"], t["callback"])) for t in b["timers"]])
                 for b in cpu["bases"]]
        out["cpus"].append(dict(cpu, tick_sched=ts, bases=bases))
    for entry in snap["tick_devices"]:
        dev = entry["device"]
        if dev is not None:
            dev = dict(dev, event_handler=_V09_HANDLERS.get(dev["event_handler"], dev["event_handler"]))
        out["tick_devices"].append(dict(entry, device=dev))
    return out


#: proc_files' titles of /proc/timer_list in the v0.10 and v0.9 layouts
TIMER_LIST_TITLES = ("/proc/timer_list (v0.10)", "/proc/timer_list (v0.9)")


def timer_list_files(sim) -> dict[str, str]:
    """/proc/timer_list in both layouts, by title, from one reading of the engine now."""
    snap = timer_list_snapshot(sim)
    return dict(zip(TIMER_LIST_TITLES, (procfs.render_timer_list(snap), procfs.render_timer_list(as_v09(snap)))))


def proc_files(sim) -> dict[str, str]:
    """The simulated kernel's /proc files at the simulation's current time, by title: /proc/timer_list in both
    layouts and /proc/interrupts' timer rows, as ``tickscope timer-list`` and ``tickscope interrupts`` print them.

    A run that ended with ``sim.at_end = timer_list_files`` shows the timer lists read where the kernel's clock
    read ``until`` (as ``timer-list`` reads them); read after the end delivered the interrupts in flight, a
    C-state exit put idle times past "now at".  The interrupt counts include those deliveries, as ``interrupts``'."""
    reading = sim.end_reading if sim.settled_ns is not None and isinstance(sim.end_reading, dict) else None
    files = dict(reading) if reading and set(reading) == set(TIMER_LIST_TITLES) else timer_list_files(sim)
    files["/proc/interrupts"] = interrupts_text(sim)
    return files


def proc_files_at(scenario, at_ns: int, engine: str = "auto", seed: int | None = None,
                  on_progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None,
                  slices: int = 200) -> dict[str, str]:
    """The simulated kernel's /proc files at *at_ns* of *scenario*'s run, by title (as :func:`proc_files`): the
    texts ``tickscope timer-list --at`` (both layouts) and ``tickscope interrupts --at`` print for that instant.

    The scenario is simulated again from boot to *at_ns*: same scenario and seed, same event log up to there
    (the engines are deterministic), whatever ``run.until`` the run that asked went on to.

    Parameters
    ----------
    scenario : tickscope.sim.scenario.Scenario
        What was run.
    at_ns : int
        The instant to read at (1 ns .. ``UNTIL_MAX_NS``).
    engine : {"auto", "cython", "reference"}
        Which engine simulates.
    seed : int, optional
        Overrides ``run.seed`` (a seed the run was given apart from its scenario).
    on_progress : callable(now_ns, at_ns), optional
        Called after every slice of the simulation.
    cancel : callable() -> bool, optional
        Polled after every slice; a true answer raises :class:`~tickscope.sim.simulation.Cancelled`.
    slices : int
        How many slices the simulation to *at_ns* takes (how often progress and cancel are looked at).

    Returns
    -------
    dict of str to str
        Title -> text: ``TIMER_LIST_TITLES`` and ``"/proc/interrupts"``.

    Raises
    ------
    InputError
        If *at_ns* or *seed* is out of range, or the scenario does not boot.
    Cancelled
        If *cancel* answered true.
    """
    sim = Simulation(scenario, engine=engine, seed=seed, until_ns=at_ns)
    # the timer lists where the kernel's clock reads at_ns, the interrupt counts after the end's deliveries:
    # as a GUI run reads its end, and as `timer-list --at` / `interrupts --at` read theirs
    sim.at_end = timer_list_files
    sim.run(on_progress=on_progress, cancel=cancel, slices=slices)
    return proc_files(sim)


def timer_list_text(sim, version: str = "v0.10") -> str:
    """/proc/timer_list as the simulated kernel prints it, in the layout of *version* (TIMER_LIST_VERSIONS)."""
    snap = timer_list_snapshot(sim)
    return procfs.render_timer_list(as_v09(snap) if version == "v0.9" else snap)


def boot_log_lines(plan) -> list[str]:
    """The dmesg lines about clocksources and clock events that booting the scenario printed."""
    # in time order, as dmesg prints them (stable: same-time lines keep their order), as the run's log does
    return [procfs.dmesg_line(t, text) for t, text in sorted(plan.log, key=lambda e: e[0])]


#: a Xen guest's per-CPU event-channel IRQs: each vCPU binds its timer VIRQ, then five IPIs (resched, callfunc,
#: debug VIRQ, callfuncsingle, spinlock), numbered after the 24 GSIs of an HVM guest's IO-APIC
XEN_FIRST_DYNAMIC_IRQ = 24
XEN_IRQS_PER_CPU = 6


def x86_nr_irqs(ncpus: int, gsi_top: int) -> int:
    """nr_irqs as x86's ``arch_probe_nr_irqs`` sizes it (CONFIG_PCI_MSI): the GSIs and 16 legacy IRQs, 8 per CPU,
    and room for MSIs (8 more per CPU without IO-APIC pins above the legacy 16, else 16 per GSI).  A 2-vCPU KVM
    guest (one 24-pin IO-APIC) gets 440, 4 CPUs 456, 72 CPUs 1000."""
    nr = gsi_top + 16 + 8 * ncpus
    return nr + (8 * ncpus if gsi_top <= 16 else 16 * gsi_top)


def interrupts_prec(plan) -> int:
    """Width of /proc/interrupts' first column: the digits of nr_irqs, at least 3 (``show_interrupts``), so a
    machine of 72 or more CPUs prints ``   0:`` and `` LOC:``.  One 24-pin IO-APIC where there is a local APIC."""
    io_apic = any(d.irq == "LOC" or d.irq.startswith("IO-APIC") for d in plan.devices)
    nr, prec = x86_nr_irqs(plan.ncpus, 24 if io_apic else 0), 3
    while prec < 10 and 10 ** prec <= nr:
        prec += 1
    xen_top = XEN_FIRST_DYNAMIC_IRQ + XEN_IRQS_PER_CPU * plan.ncpus    # a Xen guest's event-channel IRQs
    return max(prec, len(str(xen_top))) if any(d.irq.startswith("timer") for d in plan.devices) else prec


def interrupts_text(sim) -> str:
    """/proc/interrupts' timer rows (:func:`interrupts_rows`) as the simulated kernel prints them."""
    return procfs.render_interrupts(sim.plan.ncpus, interrupts_rows(sim), prec=interrupts_prec(sim.plan))


def interrupts_rows(sim) -> list[tuple[str, list[int], str]]:
    """/proc/interrupts rows for timers: IRQ 0 (a global tick or broadcast device), LOC and the broadcast IPIs.

    Broadcast wake-ups arrive on LOCAL_TIMER_VECTOR, so they count in LOC as on x86; where the machine has a
    broadcast, an ``IPI`` row (as ARM's "Timer broadcast interrupts") shows them on their own too.
    A paravirtual per-CPU timer counts where its guest kernel counts it, not in LOC: Xen's timer VIRQ in the
    vCPU's own ``xen-percpu -virq timerN`` row, Hyper-V's direct-mode stimer0 in ``HVS``, and the 2.6.22 VMI
    timer in IRQ 0 (``vmi_time_bsp_init`` routes the local APIC timer's LVT to IRQ 0's ``VMI-LOCAL`` chip).
    """
    plan = sim.plan
    cpus = sim.engine.cpu_state()
    g = sim.engine.global_state()
    n = plan.ncpus
    loc = [0] * n
    irq0 = [0] * n
    pv = {}          # the device's irq label -> per-CPU counts
    for c in cpus:
        did = c["device"]
        label = plan.devices[did].irq if did >= 0 else "LOC"
        if (did >= 0 and plan.devices[did].cpu == -1) or label == "VMI-LOCAL":
            irq0[c["cpu"]] += c["irqs"]
        elif label != "LOC":
            pv.setdefault(label, [0] * n)[c["cpu"]] += c["irqs"]
        else:
            loc[c["cpu"]] += c["irqs"]
        loc[c["cpu"]] += c["ipis"]
    irq0[plan.bc_cpu] += g.get("bc_irqs", 0)
    rows = []
    labels = {d.irq for d in plan.devices}
    legacy = next((d for d in plan.devices if d.cpu == -1), None)
    prec = interrupts_prec(plan)
    if "VMI-LOCAL" in labels:
        rows.append(("0", irq0, "VMI-LOCAL-lvtt      vmi-timer"))   # 2.6.22's " %8s-%-8s  %s": chip, handler, action
    elif legacy is not None:
        # show_interrupts: chip "%8s", then " %*lu" hwirq (blank without an irq domain), "-%-8s" flow name, "  action"
        chip, line, action = legacy.irq.split()            # e.g. "IO-APIC 2-edge timer", "XT-PIC - timer"
        hwirq, _, flow = line.partition("-")
        rows.append(("0", irq0, f"{chip} {hwirq:>{prec}}" + (f"-{flow:<8}" if flow else "") + f"  {action}"))
    xen = sorted((int(k[len("timer"):]), v) for k, v in pv.items() if k.startswith("timer"))
    for cpu, counts in xen:      # no IRQ domain, so the hwirq column is blank
        rows.append((str(XEN_FIRST_DYNAMIC_IRQ + XEN_IRQS_PER_CPU * cpu), counts,
                     f"xen-percpu {' ' * prec}-{'virq':<8}  timer{cpu}"))
    rows.append(("LOC", loc, "Local timer interrupts"))
    # wake_up_nohz_cpu -> wake_up_idle_cpu sends the IPI only to an idle task not polling its flags: a bare-metal
    # machine with C-states idles in intel_idle's MWAIT (mwait_idle_with_hints sets TIF_POLLING_NRFLAG and
    # monitors the flags), so its kick is a write to those flags, no interrupt; HLT (default_idle: no C-states,
    # or a guest) needs the IPI.
    mwait = bool(plan.cstates) and plan.pv == B.PV_NONE
    rows.append(("RES", [0 if mwait else c["resched_ipis"] for c in cpus], "Rescheduling interrupts"))
    if "HVS" in pv:
        rows.append(("HVS", pv["HVS"], "Hyper-V stimer0 interrupts"))
    if plan.bc_kind != B.BC_NONE:
        rows.append(("IPI", [c["ipis"] for c in cpus], "Timer broadcast interrupts (IPIs; x86 counts them in LOC)"))
    return rows

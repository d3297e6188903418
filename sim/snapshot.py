"""Kernel views of a running simulation: /proc/timer_list, /proc/interrupts, the boot log.

These turn engine state into the plain data that :mod:`tickscope.sim.procfs`
prints byte for byte in the kernel's formats.
"""
from __future__ import annotations

from tickscope.sim import boot as B
from tickscope.sim import procfs
from tickscope.sim.events import HANDLER_NAMES, TickMode

#: CLOCK_REALTIME - CLOCK_MONOTONIC at boot: the simulated machine booted at 2026-01-01T00:00:00Z.
WALL_EPOCH_NS = 1_767_225_600 * 10**9
KTIME_MAX = B.KTIME_MAX
# hrtimer clock bases in v0.10 order: MONOTONIC, REALTIME, BOOTTIME, TAI, then their _SOFT twins
_REALTIME_LIKE = {1, 3, 5, 7}


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
    cpus = eng.cpu_state()
    seed = plan.seed
    jiffies = plan.initial_jiffies + g["jiffies"]
    tick = plan.tick_nsec
    out_cpus, tick_devices = [], []
    for c in cpus:
        cpu = c["cpu"]
        mode = TickMode(c["mode"])
        highres = mode == TickMode.HIGHRES
        bases = []
        for i in range(8):
            timers = []
            if i == 0 and highres and c["sched_expires"] != KTIME_MAX:
                timers.append({"ptr": _hashed(seed, cpu, 100), "callback": "tick_nohz_handler", "state": "01",
                               "soft_ns": c["sched_expires"], "hard_ns": c["sched_expires"]})
            bases.append({"index": i, "base": _hashed(seed, cpu, i), "resolution_ns": 1 if highres else tick,
                          "offset_ns": WALL_EPOCH_NS if i in _REALTIME_LIKE else 0, "timers": timers})
        last_tick = c["sched_expires"] - tick if highres else 0
        ts = {
            "expires_next": c["next_event"] if highres else KTIME_MAX,
            "hres_active": int(highres), "nr_events": c["nr_events"], "nr_retries": c["nr_retries"],
            "nr_hangs": c["nr_hangs"], "max_hang_time": 0,
            "nohz": int(mode == TickMode.LOWRES_NOHZ or (highres and plan.nohz != "off")),
            "highres": int(highres), "last_tick": last_tick, "tick_stopped": 0,
            "idle_jiffies": 0, "idle_calls": 0, "idle_sleeps": 0, "idle_entrytime": 0, "idle_waketime": 0,
            "idle_exittime": 0, "idle_sleeptime": 0, "iowait_sleeptime": 0,
            "last_jiffies": 0, "next_timer": 0, "idle_expires": 0,
        }
        out_cpus.append({"cpu": cpu, "bases": bases, "tick_sched": ts, "jiffies": jiffies})
        did = c["device"]
        dev = None
        if did >= 0:
            dev = _device_dict(plan, plan.devices[did], c["state"], c["next_event"], HANDLER_NAMES[mode], c["retries"],
                               c["min_delta_ns"])
        tick_devices.append({"cpu": cpu, "mode": 1 if mode in (TickMode.HIGHRES, TickMode.LOWRES_NOHZ) else 0,
                             "device": dev, "wakeup_device": None})
    any_oneshot = any(t["mode"] == 1 for t in tick_devices)
    bdev = None
    if plan.broadcast_device >= 0:
        d = plan.devices[plan.broadcast_device]
        handler = "tick_handle_oneshot_broadcast" if any_oneshot else "tick_handle_periodic_broadcast"
        state = 1  # shut down until a CPU needs it
        bdev = _device_dict(plan, d, state, KTIME_MAX, handler, 0)
    return {
        "version": "v0.10", "max_clock_bases": 8, "now_ns": now, "cpus": out_cpus,
        "broadcast": {"mode": 1 if any_oneshot else 0, "device": bdev, "mask": "0", "oneshot_mask": "0"},
        "tick_devices": tick_devices,
    }


def timer_list_text(sim) -> str:
    """/proc/timer_list v0.10 as the simulated kernel prints it."""
    return procfs.render_timer_list(timer_list_snapshot(sim))


def boot_log_lines(plan) -> list[str]:
    """The dmesg lines about clocksources and clock events that booting the scenario printed."""
    return [procfs.dmesg_line(t, text) for t, text in plan.log]


def interrupts_rows(sim) -> list[tuple[str, list[int], str]]:
    """/proc/interrupts rows for timer interrupts: IRQ 0 (a global tick device) and LOC."""
    plan = sim.plan
    cpus = sim.engine.cpu_state()
    n = plan.ncpus
    loc = [0] * n
    irq0 = [0] * n
    for c in cpus:
        did = c["device"]
        if did < 0:
            continue
        if plan.devices[did].cpu == -1:
            irq0[c["cpu"]] += c["irqs"]
        else:
            loc[c["cpu"]] += c["irqs"]
    rows = []
    if any(d.cpu == -1 for d in plan.devices):
        rows.append(("0", irq0, "IO-APIC   2-edge      timer"))
    rows.append(("LOC", loc, "Local timer interrupts"))
    return rows

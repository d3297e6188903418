"""Render kernel text formats from plain data: ``/proc/timer_list``, ``/proc/interrupts``, dmesg.

Pure formatting, no simulation: the simulation (or an importer) fills the
data, these functions print it exactly as the kernel does, byte for byte.

Timer list snapshot
-------------------
:func:`render_timer_list` takes a dict shaped like this (the v0.10 layout of
``kernel/time/timer_list.c``; :func:`tickscope.sim.importers.parse_timer_list`
returns the same shape)::

    {
      "version": "v0.10",               # printed as is in the header
      "max_clock_bases": 8,             # HRTIMER_MAX_CLOCK_BASES
      "now_ns": int,                    # CLOCK_MONOTONIC at the time of reading
      "cpus": [{                        # one per online CPU, in order
        "cpu": int,
        "bases": [{                     # one per hrtimer clock base
          "index": int,
          "base": "000000002a2afe02",   # hashed pointer, printed as is
          "resolution_ns": int,         # 1 when highres is active, else TICK_NSEC
          "get_time": str,              # optional (older kernels print .get_time)
          "offset_ns": int,
          "timers": [{                  # in expiry order
            "ptr": "000000003be0aa8f", "callback": "tick_nohz_handler",
            "state": "01", "soft_ns": int, "hard_ns": int}]}],
        "tick_sched": {                 # ordered: the ".name: value" lines, names as printed
          "expires_next": int, "hres_active": int, ...},
        "jiffies": int}],               # None: no jiffies line (!CONFIG_TICK_ONESHOT)
      "broadcast": {                    # None: no broadcast section
        "mode": int,                    # tick device mode: 0 periodic, 1 oneshot
        "device": None or <device>,
        "mask": "0",                    # %*pb hex bitmaps, printed as is
        "oneshot_mask": "0"},           # None: line omitted (!CONFIG_TICK_ONESHOT)
      "tick_devices": [{                # one per online CPU
        "cpu": int, "mode": int,
        "device": None or <device>,
        "wakeup_device": None or name}] # key absent: no Wakeup line (v0.8)
    }

    <device> = {"name", "max_delta_ns", "min_delta_ns", "mult", "shift",
                "mode" (clockevent state 0..4), "next_event" (ns),
                "set_next_event", "set_mode" (optional, pre-4.3),
                "shutdown", "periodic", "oneshot", "oneshot_stopped", "resume"
                (optional callbacks: None or absent omits the line),
                "event_handler", "retries"}

A timer's ``[in a to b nsecs]`` is derived: expiry minus (now + the base's
offset), as the kernel computes it.  ``tick_sched`` values carry the unit the
kernel prints for that field (``nsecs`` for the fields in
:data:`TICK_SCHED_NSEC_FIELDS`).

Interrupts
----------
:func:`render_interrupts` prints the per-CPU count table; numeric IRQ rows
get the chip name right-aligned in 8 columns, architecture rows (NMI, LOC,
...) a two-space gap before their description.
"""
from __future__ import annotations

__all__ = ["render_timer_list", "render_interrupts", "dmesg_line", "TICK_SCHED_NSEC_FIELDS"]

#: tick_sched/hrtimer_cpu_base fields the kernel prints with a trailing " nsecs".
TICK_SCHED_NSEC_FIELDS = frozenset({
    "expires_next", "last_tick", "idle_entrytime", "idle_waketime", "idle_exittime",
    "idle_sleeptime", "iowait_sleeptime", "idle_expires", "idle_lastupdate", "idle_tick",
})

# Optional clockevent callbacks in print order, with the label as the kernel pads it.
_CALLBACK_LINES = (
    ("set_mode", " set_mode:       "),
    ("shutdown", " shutdown:       "),
    ("periodic", " periodic:       "),
    ("oneshot", " oneshot:        "),
    ("oneshot_stopped", " oneshot stopped: "),
    ("resume", " resume:         "),
)


def _render_device(out: list, dev: dict) -> None:
    out.append(f"{dev['name']}\n")
    out.append(f" max_delta_ns:   {dev['max_delta_ns']}\n")
    out.append(f" min_delta_ns:   {dev['min_delta_ns']}\n")
    out.append(f" mult:           {dev['mult']}\n")
    out.append(f" shift:          {dev['shift']}\n")
    out.append(f" mode:           {dev['mode']}\n")
    out.append(f" next_event:     {dev['next_event']} nsecs\n")
    out.append(f" set_next_event: {dev['set_next_event']}\n")
    for key, label in _CALLBACK_LINES:
        if dev.get(key) is not None:
            out.append(f"{label}{dev[key]}\n")
    out.append(f" event_handler:  {dev['event_handler']}\n")
    out.append("\n")
    out.append(f" retries:        {dev['retries']}\n")


def _render_tick_device(out: list, entry: dict, cpu: int | None) -> None:
    out.append(f"Tick Device: mode:     {entry['mode']}\n")
    out.append("Broadcast device\n" if cpu is None else f"Per CPU device: {cpu}\n")
    out.append("Clock Event Device: ")
    dev = entry.get("device")
    if dev is None:
        out.append("<NULL>\n")
        return  # the kernel stops the entry here: no blank line, no wakeup line
    _render_device(out, dev)
    if cpu is not None and "wakeup_device" in entry:
        wake = entry["wakeup_device"]
        out.append(f"Wakeup Device: {'<NULL>' if wake is None else wake}\n")
    out.append("\n")


def render_timer_list(snapshot: dict) -> str:
    """Render a snapshot as the text of ``/proc/timer_list``.

    Parameters
    ----------
    snapshot : dict
        The schema in this module's docstring.

    Returns
    -------
    str
        The file text, ending in a newline.

    Raises
    ------
    KeyError
        If a required key is missing from the snapshot (a bug in the caller).
    """
    now = snapshot["now_ns"]
    out = [
        f"Timer List Version: {snapshot.get('version', 'v0.10')}\n",
        f"HRTIMER_MAX_CLOCK_BASES: {snapshot['max_clock_bases']}\n",
        f"now at {now} nsecs\n",
        "\n",
    ]
    for cpu in snapshot["cpus"]:
        out.append(f"cpu: {cpu['cpu']}\n")
        for base in cpu["bases"]:
            out.append(f" clock {base['index']}:\n")
            out.append(f"  .base:       {base['base']}\n")
            out.append(f"  .index:      {base['index']}\n")
            out.append(f"  .resolution: {base['resolution_ns']} nsecs\n")
            if base.get("get_time") is not None:
                out.append(f"  .get_time:   {base['get_time']}\n")
            out.append(f"  .offset:     {base['offset_ns']} nsecs\n")
            out.append("active timers:\n")
            base_now = now + base["offset_ns"]
            for k, t in enumerate(base["timers"]):
                out.append(f" #{k}: <{t['ptr']}>, {t['callback']}, S:{t['state']}\n")
                out.append(f" # expires at {t['soft_ns']}-{t['hard_ns']} nsecs "
                           f"[in {t['soft_ns'] - base_now} to {t['hard_ns'] - base_now} nsecs]\n")
        for name, value in cpu["tick_sched"].items():
            unit = " nsecs" if name in TICK_SCHED_NSEC_FIELDS else ""
            out.append(f"  .{name:<15}: {value}{unit}\n")
        if cpu.get("jiffies") is not None:
            out.append(f"jiffies: {cpu['jiffies']}\n")
        out.append("\n")
    bc = snapshot.get("broadcast")
    if bc is not None:
        _render_tick_device(out, bc, None)
        out.append(f"tick_broadcast_mask: {bc['mask']}\n")
        if bc.get("oneshot_mask") is not None:
            out.append(f"tick_broadcast_oneshot_mask: {bc['oneshot_mask']}\n")
        out.append("\n")
    for entry in snapshot["tick_devices"]:
        _render_tick_device(out, entry, entry["cpu"])
    return "".join(out)


def render_interrupts(cpus: int, rows: list, prec: int | None = None) -> str:
    """Render ``/proc/interrupts``.

    Parameters
    ----------
    cpus : int
        Number of CPU columns (CPU0 .. CPU<cpus-1>).
    rows : list of (label, counts, description)
        ``label`` is the IRQ number as text (``"24"``) or an architecture
        row name (``"LOC"``); ``counts`` one int per CPU (``ERR``/``MIS``
        have a single count); ``description`` the text after the counts
        (for numbered IRQs: chip, hwirq, trigger and action names, e.g.
        ``"IO-APIC   5-edge      ACPI:Ged"``), ``""`` for none.
    prec : int, optional
        Width of the label column; the kernel uses the digit count of
        ``nr_irqs`` (at least 3).  Default: 3 or the longest label.

    Returns
    -------
    str
        The file text, ending in a newline.
    """
    if prec is None:
        prec = max([3] + [len(str(r[0])) for r in rows])
    out = [" " * (prec + 8) + "".join(f"CPU{j:<8d}" for j in range(cpus)) + "\n"]
    for label, counts, desc in rows:
        label = str(label)
        line = f"{label:>{prec}}: " + "".join(f"{c:10d} " for c in counts)
        if label.isdigit():
            chip, _, rest = desc.partition(" ")
            line += f"{chip:>8}" + (" " + rest if rest else "")
        elif desc:
            line += "  " + desc
        else:
            line = line.rstrip(" ")
        out.append(line + "\n")
    return "".join(out)


def dmesg_line(time_ns: int, text: str) -> str:
    """One kernel log line with printk's timestamp prefix: ``[%5lu.%06lu] text``.

    Parameters
    ----------
    time_ns : int
        Log time in nanoseconds since boot (printk truncates to microseconds).
    text : str
        The message.

    Returns
    -------
    str
        ``"[    0.000004] text"`` (no trailing newline).
    """
    if time_ns < 0:
        raise ValueError(f"time_ns must be >= 0, got {time_ns}")
    secs, rem = divmod(time_ns, 1_000_000_000)
    return f"[{secs:5d}.{rem // 1000:06d}] {text}"

"""Pick the timer facts out of a kernel log (``dmesg``, journalctl -k, a serial console capture).

Only lines about clocksources, the TSC, the TSC-deadline timer, HPET,
kvm-clock and hypervisor detection are read; everything else is skipped.
Lines may carry printk's ``[    0.000004]`` prefix, a syslog/journal prefix
ending in ``kernel:``, a ``<6>`` level prefix, or none.
"""
from __future__ import annotations

import re
from decimal import Decimal

from tickscope.sim.errors import InputError

__all__ = ["parse_dmesg", "CLOCKSOURCE_RE"]

#: The clocksource registration line, 4.1+ (domain.md §9.2).
CLOCKSOURCE_RE = re.compile(
    r"clocksource: (?P<name>\S+): mask: 0x(?P<mask>[0-9a-f]+) max_cycles: 0x(?P<maxc>[0-9a-f]+), "
    r"max_idle_ns: (?P<idle>\d+) ns")

_PREFIX_RE = re.compile(
    r"^(?:<\d+>)?(?:.*?\bkernel:\s?)?(?:\[\s*(?P<secs>\d+)\.(?P<frac>\d+)\]\s?)?(?P<msg>.*)$")
_SWITCHED_RE = re.compile(r"clocksource: Switched to clocksource (?P<name>\S+)")
_DETECTED_RE = re.compile(r"tsc: Detected (?P<mhz>\d+\.\d+) MHz (?P<what>processor|TSC)")
_REFINED_RE = re.compile(r"tsc: Refined TSC clocksource calibration: (?P<mhz>\d+\.\d+) MHz")
_UNSTABLE_NEW_RE = re.compile(
    r"clocksource: timekeeping watchdog on CPU(?P<cpu>\d+): Marking clocksource '(?P<name>[^']+)' as unstable")
_UNSTABLE_OLD_RE = re.compile(r"Clocksource (?P<name>\S+) unstable \(delta = (?P<delta>-?\d+) ns\)")
_TSC_UNSTABLE_RE = re.compile(r"Marking TSC unstable due to (?P<reason>.*)")
_DEADLINE_RE = re.compile(r"TSC deadline timer (?P<state>available|enabled)")
_DEADLINE_OFF_RE = re.compile(r"TSC_DEADLINE disabled")
_SCHED_OFFSET_RE = re.compile(r"kvm-clock: using sched offset of (?P<cycles>\d+) cycles")
_KVM_MSRS_RE = re.compile(r"kvm-clock: Using msrs (?P<a>[0-9a-f]+) and (?P<b>[0-9a-f]+)")
_HYPERVISOR_RE = re.compile(r"Hypervisor detected: (?P<name>.+)")
_HPET_COUNTER_RE = re.compile(r"hpet\d*: (?P<n>\d+) comparators, (?P<bits>\d+)-bit (?P<mhz>\d+\.\d+) MHz counter")
_PARAVIRT_RE = re.compile(r"Booting paravirtualized kernel on (?P<name>.+)")


def _mhz_to_khz(text: str) -> int:
    # The kernel prints "%lu.%03lu MHz" from an integer kHz value, so this is exact.
    return int(Decimal(text) * 1000)


def _mhz_to_hz(text: str) -> int:
    return int(Decimal(text) * 1_000_000)


def _split(raw: str) -> tuple[int | None, str]:
    m = _PREFIX_RE.match(raw)
    secs, frac, msg = m.group("secs"), m.group("frac"), m.group("msg")
    if secs is None:
        return None, msg
    # printk prints microseconds; some tools print nanoseconds: scale either to ns.
    frac_ns = int(frac.ljust(9, "0")[:9])
    return int(secs) * 1_000_000_000 + frac_ns, msg


def parse_dmesg(text: str, source: str = "<dmesg>") -> dict:
    """Parse timer-related kernel log lines.

    Parameters
    ----------
    text : str
        The log, any number of lines, with or without timestamps.
    source : str
        Name used in error messages.

    Returns
    -------
    dict
        ``clocksources``: registrations in log order, each ``name``, ``mask``,
        ``mask_bits``, ``max_cycles``, ``max_idle_ns``, ``time_ns`` (None
        without a timestamp), ``line`` (the exact log line), ``lineno``;
        ``switches``: ``Switched to clocksource`` events (``name``,
        ``time_ns``, ``line``); ``current_clocksource``: the last one or
        None; ``tsc_detected_khz``/``tsc_detected_line``, ``tsc_refined_khz``,
        ``tsc_khz`` (refined if present, else detected); ``unstable``: list of
        ``name``, ``reason``, ``line``; ``tsc_deadline``: None, ``"available"``,
        ``"enabled"`` or ``"disabled"``; ``kvm_clock``: dict with
        ``sched_offset_cycles``, ``msrs``, ``lines`` (None if no kvm-clock
        lines); ``guest``: ``"kvm"``, ``"xen"``, ``"hyperv"``, ``"vmware"``
        or None; ``hypervisor``: the detected name or None; ``hpet``: dict
        with ``hz``, ``comparators``, ``bits``, ``lines`` (None without HPET
        lines); ``firmware_bugs``: ``[Firmware Bug]`` lines about timers;
        ``sched_clock_stable``: bool or None; ``starts_at_boot``: whether the
        log reaches back to time 0 (so an absent line means an absent device).

    Raises
    ------
    InputError
        If the text contains binary data (naming *source* and the line).
    """
    out: dict = {
        "clocksources": [], "switches": [], "current_clocksource": None,
        "tsc_detected_khz": None, "tsc_detected_line": None, "tsc_refined_khz": None, "tsc_khz": None,
        "unstable": [], "tsc_deadline": None, "kvm_clock": None, "guest": None, "hypervisor": None,
        "hpet": None, "firmware_bugs": [], "sched_clock_stable": None, "starts_at_boot": False,
    }
    for lineno, raw in enumerate(text.splitlines(), 1):
        if any(not (ch.isprintable() or ch == "\t") or ch == "\ufffd" for ch in raw):
            raise InputError(f"{source}:{lineno}: binary or unreadable characters; expected kernel log text")
        time_ns, msg = _split(raw)
        if time_ns == 0:
            out["starts_at_boot"] = True
        _line(out, lineno, raw, time_ns, msg)
    if out["tsc_refined_khz"] is not None:
        out["tsc_khz"] = out["tsc_refined_khz"]
    elif out["tsc_detected_khz"] is not None:
        out["tsc_khz"] = out["tsc_detected_khz"]
    if out["switches"]:
        out["current_clocksource"] = out["switches"][-1]["name"]
    return out


def _line(out: dict, lineno: int, raw: str, time_ns, msg: str) -> None:
    if (m := CLOCKSOURCE_RE.search(msg)):
        mask = int(m.group("mask"), 16)
        out["clocksources"].append({
            "name": m.group("name"), "mask": mask, "mask_bits": mask.bit_length(),
            "max_cycles": int(m.group("maxc"), 16), "max_idle_ns": int(m.group("idle")),
            "time_ns": time_ns, "line": raw, "lineno": lineno,
        })
        if m.group("name").startswith("hpet"):
            _hpet(out)["lines"].append(raw)
        return
    if (m := _SWITCHED_RE.search(msg)):
        out["switches"].append({"name": m.group("name"), "time_ns": time_ns, "line": raw, "lineno": lineno})
        return
    if (m := _REFINED_RE.search(msg)):
        out["tsc_refined_khz"] = _mhz_to_khz(m.group("mhz"))
        return
    if (m := _DETECTED_RE.search(msg)):
        # "MHz TSC" (newer kernels) is the TSC itself; "MHz processor" is cpu_khz, usually equal.
        if m.group("what") == "TSC" or out["tsc_detected_khz"] is None:
            out["tsc_detected_khz"] = _mhz_to_khz(m.group("mhz"))
            out["tsc_detected_line"] = raw
        return
    if (m := _UNSTABLE_NEW_RE.search(msg)) or (m := _UNSTABLE_OLD_RE.search(msg)):
        out["unstable"].append({"name": m.group("name"), "reason": "watchdog", "line": raw, "lineno": lineno})
        return
    if (m := _TSC_UNSTABLE_RE.search(msg)):
        out["unstable"].append({"name": "tsc", "reason": m.group("reason").strip(), "line": raw, "lineno": lineno})
        return
    if _DEADLINE_OFF_RE.search(msg):
        out["tsc_deadline"] = "disabled"
    elif (m := _DEADLINE_RE.search(msg)):
        if out["tsc_deadline"] != "enabled":
            out["tsc_deadline"] = m.group("state")
    if "[Firmware Bug]" in msg and re.search(r"TSC|HPET|APIC|timer", msg, re.IGNORECASE):
        out["firmware_bugs"].append(raw)
    if msg.startswith("kvm-clock:") or "kvm-clock" in msg and "clocksource" not in msg:
        kvm = out["kvm_clock"] or {"sched_offset_cycles": None, "msrs": None, "lines": []}
        out["kvm_clock"] = kvm
        kvm["lines"].append(raw)
        if (m := _SCHED_OFFSET_RE.search(msg)):
            kvm["sched_offset_cycles"] = int(m.group("cycles"))
        if (m := _KVM_MSRS_RE.search(msg)):
            kvm["msrs"] = [m.group("a"), m.group("b")]
        out["guest"] = out["guest"] or "kvm"
    elif msg.startswith("kvm-guest:"):
        out["guest"] = out["guest"] or "kvm"
    if (m := _HYPERVISOR_RE.search(msg)) or (m := _PARAVIRT_RE.search(msg)):
        name = m.group("name").strip()
        if name != "bare hardware":
            out["hypervisor"] = out["hypervisor"] or name
            low = name.lower()
            guess = next((g for key, g in (("kvm", "kvm"), ("xen", "xen"), ("microsoft", "hyperv"),
                                           ("hyper-v", "hyperv"), ("vmware", "vmware")) if key in low), None)
            out["guest"] = out["guest"] or guess
    if (m := _HPET_COUNTER_RE.search(msg)):
        hpet = _hpet(out)
        hpet["lines"].append(raw)
        hpet.update(comparators=int(m.group("n")), bits=int(m.group("bits")), hz=_mhz_to_hz(m.group("mhz")))
    elif re.match(r"(?:hpet\d*|HPET)[: ]", msg):
        _hpet(out)["lines"].append(raw)
    if msg.startswith("sched_clock: Marking stable"):
        out["sched_clock_stable"] = True
    elif msg.startswith("sched_clock: Marking unstable"):
        out["sched_clock_stable"] = False


def _hpet(out: dict) -> dict:
    if out["hpet"] is None:
        out["hpet"] = {"hz": None, "comparators": None, "bits": None, "lines": []}
    return out["hpet"]


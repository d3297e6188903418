"""Parse timer events from ftrace text: the raw ``trace`` file or ``trace-cmd report`` output.

Events kept: ``irq_vectors:local_timer_entry``/``local_timer_exit``,
``timer:hrtimer_expire_entry``/``hrtimer_expire_exit``/``hrtimer_start`` and
``timer:tick_stop``.  The line regex is deliberately loose (domain.md §9.3):
optional ``(tgid)`` column, optional 4-5 character latency-flags column,
timestamps with 6 or 9 decimals, event names with or without the system
prefix and with any padding.
"""
from __future__ import annotations

import re

__all__ = ["parse_ftrace", "TIMER_EVENTS"]

#: event name -> tracepoint system
TIMER_EVENTS = {
    "local_timer_entry": "irq_vectors",
    "local_timer_exit": "irq_vectors",
    "hrtimer_expire_entry": "timer",
    "hrtimer_expire_exit": "timer",
    "hrtimer_start": "timer",
    "tick_stop": "timer",
}

_LINE_RE = re.compile(
    r"^\s*(?P<comm>.+?)-(?P<pid>\d+)\s+"
    r"(?:\(\s*(?P<tgid>[\d-]+)\)\s+)?"
    r"\[(?P<cpu>\d+)\]\s+"
    r"(?:(?P<flags>[^\s\[\]:]{4,5})\s+)?"
    r"(?P<secs>\d+)\.(?P<frac>\d{6}|\d{9}):\s+"
    r"(?:(?P<system>\w+):)?(?P<event>\w+):\s*(?P<fields>.*?)\s*$")
_FIELD_RE = re.compile(r"(\w+)=(\S+)")
_INT_FIELDS = {"vector", "now", "expires", "softexpires", "success"}


def parse_ftrace(text: str) -> list[dict]:
    """Timer events from ftrace text, in file order.

    Parameters
    ----------
    text : str
        A raw ``trace``/``trace_pipe`` capture or ``trace-cmd report`` output.
        Comment lines, headers and other events are skipped.

    Returns
    -------
    list of dict
        Each ``time_ns`` (int), ``cpu``, ``comm``, ``pid``, ``tgid`` (int or
        None), ``flags`` (str or None), ``system``, ``event`` and the event's
        fields: ``vector``; ``hrtimer``, ``function``, ``now``, ``expires``,
        ``softexpires``, ``mode``; ``success``, ``dependency`` (numbers as
        int, the rest as text).
    """
    events = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = _LINE_RE.match(line)
        if not m or m.group("event") not in TIMER_EVENTS:
            continue
        frac = m.group("frac")
        time_ns = int(m.group("secs")) * 1_000_000_000 + int(frac) * (1000 if len(frac) == 6 else 1)
        tgid = m.group("tgid")
        event = {
            "time_ns": time_ns, "cpu": int(m.group("cpu")), "comm": m.group("comm").strip(),
            "pid": int(m.group("pid")), "tgid": int(tgid) if tgid and tgid.strip("-") else None,
            "flags": m.group("flags"), "system": TIMER_EVENTS[m.group("event")], "event": m.group("event"),
        }
        for key, value in _FIELD_RE.findall(m.group("fields")):
            if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
                event[key] = int(value)
            else:
                event[key] = value
        events.append(event)
    return events

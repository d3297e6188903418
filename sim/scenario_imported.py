"""The ``[imported]`` table of a scenario: what ``tickscope import timer-list`` keeps, checked key by key.

The table holds facts the engine cannot model yet (kept for comparison and for the import report) and one
it does use: ``clocksources``, whose entries that are neither modelled nor registered by the hypervisor
backend are registered at boot with their ``freq_hz``, ``mask_bits`` and ``rating``.  It was a free
``dict``: ``clocksources = 5`` or ``freq_hz = 0`` passed the scenario check and crashed in boot (or in one
engine only), and a misspelt key was kept without a word.  :func:`check_imported` walks it against
:data:`IMPORTED` and raises ``ValueError("imported.KEY...: what is wrong (allowed ...)")`` at the first
bad value.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

INT64_MAX = 2**63 - 1
U32_MAX = 2**32 - 1
#: ``struct clocksource.rating`` is a C int (ext/machine.pxd too)
RATING_MAX = 2**31 - 1


@dataclass(frozen=True)
class Int:
    lo: int = 0
    hi: int = INT64_MAX


@dataclass(frozen=True)
class ListOf:
    item: Any


@dataclass(frozen=True)
class MapOf:
    """A table whose keys are free (labels, dotted scenario keys) and whose values are all *value*."""
    value: Any


@dataclass(frozen=True)
class Table:
    """A table with these keys (none required unless listed in *required*)."""
    keys: dict
    required: tuple = ()


STR, BOOL = str, bool

CLOCKSOURCE = Table({"name": STR, "mask_bits": Int(1, 64), "max_cycles": Int(), "max_idle_ns": Int(), "modelled": BOOL,
                     "dmesg": STR, "freq_hz": Int(1, U32_MAX), "rating": Int(0, RATING_MAX)}, required=("name",))

TICK_DEVICE = Table({"cpu": Int(0, 1_000_000), "nr_events": Int(), "nr_retries": Int(), "nr_hangs": Int(),
                     "max_hang_time": Int(), "idle_calls": Int(), "idle_sleeps": Int(), "idle_sleeptime": Int(),
                     "iowait_sleeptime": Int(), "device": STR, "retries": Int(), "min_delta_ns": Int(),
                     "max_delta_ns": Int(), "mult": Int(), "shift": Int(), "event_handler": STR}, required=("cpu",))

#: Every key ``[imported]`` takes (sim/importers/infer.py writes them).
IMPORTED = Table({
    "sources": MapOf(STR),
    "inferred": MapOf(STR),
    "assumed": ListOf(STR),
    "unmodelled": ListOf(STR),
    "clocksource_switches": ListOf(STR),
    "timer_list": Table({"version": STR, "now_ns": Int(), "jiffies": Int(), "sched_timer": ListOf(STR)}),
    "tick_devices": ListOf(TICK_DEVICE),
    "clocksources": ListOf(CLOCKSOURCE),
    "guest": STR,
    "backend": STR,
    "hypervisor": STR,
    "kvm_clock": Table({"lines": ListOf(STR), "sched_offset_cycles": Int(), "msrs": ListOf(STR)}),
    "unstable": ListOf(STR),
    "firmware_bugs": ListOf(STR),
    "tsc_deadline": STR,
    "interrupts": Table({"cpus": Int(1, 1_000_000), "counts": MapOf(ListOf(Int())), "descriptions": MapOf(STR)}),
})


def _kind(v) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, dict):
        return "a table"
    if isinstance(v, (list, tuple)):
        return "an array"
    return type(v).__name__


def _want(spec) -> str:
    if spec is STR:
        return "a string"
    if spec is BOOL:
        return "true or false"
    if isinstance(spec, Int):
        return f"an integer ({spec.lo}..{spec.hi})"
    if isinstance(spec, ListOf):
        return "an array"
    return "a table"


def _check(value, spec, where: str) -> None:
    def bad(what: str):
        raise ValueError(f"{where}: {what}")

    if spec is STR or spec is BOOL:
        if type(value) is not spec:
            bad(f"must be {_want(spec)}, not {_kind(value)} ({value!r})")
    elif isinstance(spec, Int):
        if isinstance(value, bool) or not isinstance(value, int):
            bad(f"must be {_want(spec)}, not {_kind(value)} ({value!r})")
        if not spec.lo <= value <= spec.hi:
            bad(f"{value} is out of range (allowed {spec.lo}..{spec.hi})")
    elif isinstance(spec, ListOf):
        if not isinstance(value, list):
            bad(f"must be an array, not {_kind(value)} ({value!r})")
        for i, item in enumerate(value):
            _check(item, spec.item, f"{where}[{i}]")
    elif isinstance(spec, MapOf):
        if not isinstance(value, dict):
            bad(f"must be a table, not {_kind(value)} ({value!r})")
        for k, item in value.items():
            _check(item, spec.value, f"{where}.{_key(k)}")
    else:   # Table
        if not isinstance(value, dict):
            bad(f"must be a table, not {_kind(value)} ({value!r})")
        for k, item in value.items():
            if k not in spec.keys:
                hint = difflib.get_close_matches(str(k), list(spec.keys), n=1)
                raise ValueError(f"{where}.{_key(k)}: unknown key" + (f" (did you mean '{where}.{hint[0]}'?)" if hint
                                 else f"; allowed here: {', '.join(spec.keys)}"))
            _check(item, spec.keys[k], f"{where}.{_key(k)}")
        for k in spec.required:
            if k not in value:
                raise ValueError(f"{where}.{k}: required key is missing")


def _key(k) -> str:
    k = str(k)
    return k if k.replace("_", "").replace("-", "").isalnum() else f'"{k}"'


def check_imported(imported: dict) -> None:
    """Check an ``[imported]`` table: known keys only, each value of its type and range.

    Raises
    ------
    ValueError
        ``imported.KEY: what is wrong (allowed ...)`` for the first bad key or value.
    """
    _check(imported, IMPORTED, "imported")
    for i, cs in enumerate(imported.get("clocksources", [])):
        if not cs["name"].strip():
            raise ValueError(f"imported.clocksources[{i}].name: must not be empty")

"""Chrome/Perfetto JSON trace export (opens in https://ui.perfetto.dev).

One process ``tickscope <scenario>`` with one thread track per CPU.  Each
record becomes an instant event on its CPU's track (ticks carry expiry,
latency and device), idle and steal records become complete slices, and
counters show each CPU's tick rate per 10 ms window and jiffies.

Timestamps are microseconds (the format's unit) written as exact decimals
with three places, so no nanosecond is lost to float formatting.

The JSON is streamed in chunks of records, never built as one list, and
written atomically.
"""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np

from tickscope.sim import __version__
from tickscope.sim.atomic import atomic_path
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.export import Progress, kind_name, report_progress
from tickscope.sim.results import Results

PID = 1
RATE_WINDOW_NS = 10_000_000
CHUNK_RECORDS = 1 << 16
"""Records formatted per write: bounded memory for logs of any length."""
GLOBAL_TID_BASE = 1 << 16
"""Tracks for records with a negative cpu (machine-wide) sit above every CPU id."""

INSTANT_ARGS = {
    # kind name: (name of the source arg, name of the value arg).  A source
    # arg named "device" shows the device's name, "mode" the TickMode name.
    "TICK": ("device", "expiry_ns"),
    "IRQ": ("device", "entry_ns"),
    "JIFFIES": ("added", "jiffies"),
    "PROGRAM_ETIME": ("device", "expiry_ns"),
    "MIN_DELTA": ("device", "min_delta_ns"),
    "MODE": ("mode", "first_expiry_ns"),
    "RETRY": ("device", "retries"),
}
"""Argument names per record kind; kinds missing here get ``source``/``value``."""

SLICE_PAIRS = (
    # (begin kind, end kind, slice name): a slice from each begin to the next end on that CPU.
    ("IDLE_ENTER", "IDLE_EXIT", "idle"),
)
SLICE_DURATIONS = (
    # (kind, slice name): one record is a slice of ``value`` ns ending at ``time_ns``.
    ("STEAL", "steal"),
)
"""Kinds drawn as slices.  Rows naming kinds this version lacks are skipped."""


def _kind_code(name: str) -> int | None:
    member = Kind.__members__.get(name)
    return None if member is None else int(member)


def _us(ns: int) -> str:
    """Integer ns as exact decimal microseconds (``1234567`` -> ``"1234.567"``)."""
    if ns < 0:
        return "-" + _us(-ns)
    return f"{ns // 1000}.{ns % 1000:03d}"


def _tid(cpu: int) -> int:
    return cpu if cpu >= 0 else GLOBAL_TID_BASE - cpu


def _scenario_name(results: Results, scenario) -> str:
    if scenario is not None:
        return scenario.name
    if isinstance(results.meta.get("scenario_name"), str) and results.meta["scenario_name"]:
        return results.meta["scenario_name"]
    text = results.meta.get("scenario")
    if isinstance(text, str):
        try:
            name = tomllib.loads(text).get("name")
        except tomllib.TOMLDecodeError:
            name = None
        if isinstance(name, str) and name:
            return name
    return "untitled"


def _device_names(meta: dict) -> dict[int, str]:
    names = {}
    devices = meta.get("devices")
    if isinstance(devices, list):
        for i, dev in enumerate(devices):
            if isinstance(dev, dict) and isinstance(dev.get("name"), str):
                names[i] = dev["name"]
    return names


class _Templates:
    """Per-kind JSON fragments, built once so the hot loop only fills in numbers."""

    def __init__(self, meta: dict):
        self._devices = _device_names(meta)
        self._by_kind: dict[int, tuple] = {}
        self._source_cache: dict[tuple, str] = {}

    def source_text(self, role: str, source: int) -> str:
        key = (role, source)
        text = self._source_cache.get(key)
        if text is None:
            if role == "device":
                value = self._devices.get(source, f"device {source}")
            elif role == "mode":
                try:
                    value = TickMode(source).name
                except ValueError:
                    value = f"MODE_{source}"
            else:
                value = source
            text = self._source_cache[key] = json.dumps(value)
        return text

    def for_kind(self, kind: int) -> tuple:
        entry = self._by_kind.get(kind)
        if entry is None:
            name = kind_name(kind)
            source_role, value_key = INSTANT_ARGS.get(name, ("source", "value"))
            label = "tick" if name == "TICK" else name.lower()
            prefix = (f'{{"name":{json.dumps(label)},"cat":{json.dumps(name.lower())},'
                      f'"ph":"i","s":"t","pid":{PID},"tid":')
            entry = self._by_kind[kind] = (prefix, source_role, json.dumps(value_key), name == "TICK")
        return entry


class _EventStream:
    """Writes trace events as JSON array items, comma-separated, in chunks."""

    def __init__(self, out):
        self._out = out
        self._first = True
        self.count = 0

    def write(self, items: list[str]) -> None:
        if not items:
            return
        sep = ",\n"
        self._out.write(("" if self._first else sep) + sep.join(items))
        self._first = False
        self.count += len(items)


def _cpu_tracks(results: Results, scenario) -> list[int]:
    n = 0
    if scenario is not None:
        n = scenario.machine.cpus
    elif isinstance(results.meta.get("tick_device"), list):
        n = len(results.meta["tick_device"])
    present = np.unique(results.cpu).tolist() if len(results) else []
    return sorted(set(range(n)) | set(int(c) for c in present))


def _run_end(results: Results) -> int:
    end = 0
    for key in ("now_ns", "until_ns"):
        value = results.meta.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            end = max(end, value)
            break
    if len(results):
        end = max(end, int(results.time_ns.max()))
    return end


def write_trace(results: Results, path, scenario=None, progress: Progress = None) -> int:
    """Write *results* as a Chrome/Perfetto JSON trace, atomically.

    Parameters
    ----------
    results : Results
        The run.
    path : str or Path
        The ``.json`` file.
    scenario : Scenario, optional
        Names the process and fixes the CPU count; otherwise taken from
        ``results.meta``.
    progress : callable, optional
        ``progress(records_done, records_total)``; return ``False`` to cancel.

    Returns
    -------
    int
        Number of trace events written.

    Raises
    ------
    ExportCancelled
        If *progress* cancelled; no file is left behind.
    """
    path = Path(path)
    meta = results.meta
    name = _scenario_name(results, scenario)
    cpus = _cpu_tracks(results, scenario)
    run_end = _run_end(results)
    templates = _Templates(meta)
    slice_codes = {c for row in SLICE_PAIRS for c in (_kind_code(row[0]), _kind_code(row[1]))}
    slice_codes |= {_kind_code(row[0]) for row in SLICE_DURATIONS}
    slice_codes.discard(None)
    n = len(results)

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as out:
        out.write('{"traceEvents":[\n')
        stream = _EventStream(out)
        stream.write(_metadata_events(name, cpus))
        for start in range(0, n, CHUNK_RECORDS):
            stop = min(n, start + CHUNK_RECORDS)
            stream.write(_instant_events(results, start, stop, templates, slice_codes))
            report_progress(progress, stop, n)
        for row in SLICE_PAIRS:
            stream.write(_paired_slices(results, row, run_end))
        for row in SLICE_DURATIONS:
            stream.write(_duration_slices(results, row))
        stream.write(_jiffies_counter(results))
        for cpu in cpus:
            stream.write(_tick_rate_counter(results, cpu, run_end))
        trace_meta = {
            "tickscope_version": __version__,
            "scenario": name,
            "seed": meta.get("seed"),
            "until_ns": meta.get("until_ns"),
            "hz": meta.get("hz"),
            "clocksource": meta.get("clocksource"),
            "engine": meta.get("engine"),
            "records": n,
            "tick_rate_window_ns": RATE_WINDOW_NS,
        }
        out.write('\n],\n"displayTimeUnit":"ns",\n"metadata":' + json.dumps(trace_meta, default=str) + "}\n")
    return stream.count


def _metadata_events(name: str, cpus: list[int]) -> list[str]:
    events = [json.dumps({"name": "process_name", "ph": "M", "pid": PID, "args": {"name": f"tickscope {name}"}})]
    for cpu in cpus:
        label = f"CPU {cpu}" if cpu >= 0 else f"machine {cpu}"
        tid = _tid(cpu)
        events.append(json.dumps({"name": "thread_name", "ph": "M", "pid": PID, "tid": tid, "args": {"name": label}}))
        events.append(json.dumps({"name": "thread_sort_index", "ph": "M", "pid": PID, "tid": tid,
                                  "args": {"sort_index": tid}}))
    return events


def _instant_events(results: Results, start: int, stop: int, templates: _Templates, skip: set) -> list[str]:
    cols = [getattr(results, c)[start:stop].tolist() for c in ("time_ns", "cpu", "kind", "source", "value")]
    events = []
    for t, cpu, kind, source, value in zip(*cols):
        if kind in skip:
            continue
        prefix, role, value_key, is_tick = templates.for_kind(kind)
        src = templates.source_text(role, source)
        if is_tick:
            args = f'"expiry_ns":{value},"latency_ns":{t - value},"device":{src}'
        else:
            args = f'"{role}":{src},{value_key}:{value}'
        events.append(f'{prefix}{_tid(cpu)},"ts":{_us(t)},"args":{{{args}}}}}')
    return events


def _paired_slices(results: Results, row: tuple, run_end: int) -> list[str]:
    begin, end, label = _kind_code(row[0]), _kind_code(row[1]), row[2]
    if begin is None or end is None:
        return []
    idx = np.flatnonzero((results.kind == begin) | (results.kind == end))
    open_at: dict[int, int] = {}
    events = []
    for t, cpu, kind in zip(results.time_ns[idx].tolist(), results.cpu[idx].tolist(), results.kind[idx].tolist()):
        if kind == begin:
            open_at.setdefault(cpu, t)
        elif cpu in open_at:
            t0 = open_at.pop(cpu)
            events.append(f'{{"name":"{label}","cat":"{label}","ph":"X","pid":{PID},"tid":{_tid(cpu)},'
                          f'"ts":{_us(t0)},"dur":{_us(t - t0)},"args":{{"duration_ns":{t - t0}}}}}')
    for cpu, t0 in sorted(open_at.items()):
        # Still open when the run ended: draw it to the end, and say so.
        events.append(f'{{"name":"{label}","cat":"{label}","ph":"X","pid":{PID},"tid":{_tid(cpu)},'
                      f'"ts":{_us(t0)},"dur":{_us(max(run_end - t0, 0))},'
                      f'"args":{{"duration_ns":{max(run_end - t0, 0)},"open_at_end":true}}}}')
    return events


def _duration_slices(results: Results, row: tuple) -> list[str]:
    code, label = _kind_code(row[0]), row[1]
    if code is None:
        return []
    idx = np.flatnonzero(results.kind == code)
    events = []
    for t, cpu, dur in zip(results.time_ns[idx].tolist(), results.cpu[idx].tolist(), results.value[idx].tolist()):
        dur = max(dur, 0)
        events.append(f'{{"name":"{label}","cat":"{label}","ph":"X","pid":{PID},"tid":{_tid(cpu)},'
                      f'"ts":{_us(t - dur)},"dur":{_us(dur)},"args":{{"duration_ns":{dur}}}}}')
    return events


def _jiffies_counter(results: Results) -> list[str]:
    code = _kind_code("JIFFIES")
    idx = np.flatnonzero(results.kind == code)
    return [f'{{"name":"jiffies","ph":"C","pid":{PID},"ts":{_us(t)},"args":{{"jiffies":{v}}}}}'
            for t, v in zip(results.time_ns[idx].tolist(), results.value[idx].tolist())]


def _tick_rate_counter(results: Results, cpu: int, run_end: int) -> list[str]:
    """Ticks per second on *cpu* in each 10 ms window, written only where it changes.

    Works on the windows that hold ticks (plus the zero windows after them), so
    a sparse log over a long run costs memory per tick, not per window.
    """
    windows = max(1, -(-run_end // RATE_WINDOW_NS))
    times = results.time_ns[(results.kind == int(Kind.TICK)) & (results.cpu == cpu)]
    times = times[times >= 0]
    busy, counts = np.unique(times // RATE_WINDOW_NS, return_counts=True)
    quiet = busy + 1
    quiet = quiet[~np.isin(quiet, busy) & (quiet < windows)]
    if not busy.size or busy[0] != 0:
        quiet = np.concatenate(([0], quiet))
    where = np.concatenate((busy, quiet))
    value = np.concatenate((counts, np.zeros(quiet.size, dtype=counts.dtype)))
    order = np.argsort(where, kind="stable")
    where, value = where[order], value[order]
    keep = np.concatenate(([True], value[1:] != value[:-1]))
    per_second = 1_000_000_000 // RATE_WINDOW_NS
    name = json.dumps(f"tick rate CPU {cpu}" if cpu >= 0 else f"tick rate machine {cpu}")
    return [f'{{"name":{name},"ph":"C","pid":{PID},"ts":{_us(w * RATE_WINDOW_NS)},"args":{{"Hz":{c * per_second}}}}}'
            for w, c in zip(where[keep].tolist(), value[keep].tolist())]

"""The ``.tickrec`` format: its members and the checks each one passes before it is decoded.

A recording is a zip archive with these members:

=================  ==========================================================
member             content
=================  ==========================================================
manifest.json      ``format`` ("tickrec"), ``format_version``, ``app_version``,
                   ``created`` (ISO time), ``members`` (name -> sha256, size),
                   ``columns`` (names of the .npy columns), ``seed``,
                   ``until_ns``
scenario.toml      the scenario that was run
actions.jsonl      one JSON object per line: ``{"t": s, "action": str, "args": {}}``
meta.json          :attr:`Results.meta <tickscope.sim.results.Results>`
<column>.npy       one event-log column (``np.save``, never pickled)
=================  ==========================================================

:mod:`tickscope.sim.record` writes and reads the archive; the checks here take a
member's bytes as read from a stranger's file and refuse (with an
:class:`~tickscope.sim.errors.InputError` naming the file and the member) anything
but what the format allows: JSON constants outside the standard, a manifest of
another format or version, hashes or sizes that do not match, ``.npy`` headers
needing pickle or of another dtype or shape.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re

import numpy as np

from tickscope.sim import __version__
from tickscope.sim.errors import InputError
from tickscope.sim.events import TickMode
from tickscope.sim.kclock_base import tick_nsec
from tickscope.sim.results import COLUMNS
from tickscope.sim.scenario import UNTIL_MAX_NS

FORMAT = "tickrec"
FORMAT_VERSION = 1

MANIFEST = "manifest.json"
SCENARIO = "scenario.toml"
ACTIONS = "actions.jsonl"
META = "meta.json"

_COLUMN_NAME_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
_DTYPES = {name: np.dtype(t) for name, t in COLUMNS}


def _normalise_action(action, index: int) -> dict:
    """*action* as stored, ``{"t": float seconds, "action": str, "args": dict}``; ValueError naming *index* if not."""
    if not isinstance(action, dict):
        raise ValueError(f"action {index}: expected a dict with t, action, args, got {type(action).__name__}")
    t, name, args = action.get("t"), action.get("action"), action.get("args", {})
    if isinstance(t, bool) or not isinstance(t, (int, float)) or not math.isfinite(t) or t < 0:
        raise ValueError(f"action {index}: t must be a finite number of seconds >= 0, got {t!r}")
    if not isinstance(name, str) or not name:
        raise ValueError(f"action {index}: action must be a non-empty string, got {name!r}")
    if not isinstance(args, dict):
        raise ValueError(f"action {index}: args must be a dict, got {type(args).__name__}")
    return {"t": float(t), "action": name, "args": args}


def _verify(where: str, name: str, data: bytearray, entry: dict) -> None:
    if len(data) != entry["size"]:
        raise InputError(f"{where}: member {name!r} is {len(data)} bytes, the manifest says {entry['size']} "
                         "(tampered or corrupt)")
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise InputError(f"{where}: member {name!r}: sha256 mismatch with the manifest (tampered or corrupt)")


def _parse_json(where: str, name: str, data) -> object:
    try:
        return json.loads(bytes(data).decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise InputError(f"{where}: member {name!r} is not UTF-8 text") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where}: member {name!r} is malformed JSON ({exc})") from None


def _refuse_constant(token: str):
    raise ValueError(f"{token} is not valid JSON")


def _check_manifest(where: str, manifest) -> dict:
    if not isinstance(manifest, dict):
        raise InputError(f"{where}: {MANIFEST}: expected a JSON object")
    if manifest.get("format") != FORMAT:
        raise InputError(f"{where}: {MANIFEST}: format {manifest.get('format')!r} is not a tickscope recording "
                         f"(expected {FORMAT!r})")
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InputError(f"{where}: {MANIFEST}: format_version {version!r} is not an integer")
    if version != FORMAT_VERSION:
        raise InputError(f"{where}: {MANIFEST}: unsupported format_version {version} "
                         f"(this tickscope {__version__} reads format_version {FORMAT_VERSION})")
    members = manifest.get("members")
    if not isinstance(members, dict):
        raise InputError(f"{where}: {MANIFEST}: members: expected an object of name -> {{sha256, size}}")
    for name, entry in members.items():
        if (not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str)
                or not _SHA256_RE.match(entry["sha256"]) or isinstance(entry.get("size"), bool)
                or not isinstance(entry.get("size"), int) or entry["size"] < 0):
            raise InputError(f"{where}: {MANIFEST}: members[{name!r}]: expected {{\"sha256\": 64 hex digits, "
                             "\"size\": bytes}")
    columns = manifest.get("columns")
    if not isinstance(columns, list) or not all(isinstance(c, str) and _COLUMN_NAME_RE.match(c) for c in columns):
        raise InputError(f"{where}: {MANIFEST}: columns: expected a list of column names")
    if len(set(columns)) != len(columns):
        raise InputError(f"{where}: {MANIFEST}: columns: duplicate column names")
    missing = [name for name, _ in COLUMNS if name not in columns]
    if missing:
        raise InputError(f"{where}: {MANIFEST}: columns: missing {', '.join(missing)}")
    for key in ("seed", "until_ns"):
        value = manifest.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
            raise InputError(f"{where}: {MANIFEST}: {key}: expected an integer 0..2**63-1, got {value!r}")
    return manifest


def _parse_npy(where: str, name: str, data: bytearray, expected: np.dtype | None) -> np.ndarray:
    """Decode a ``.npy`` member without pickle and without copying the data.

    The header is parsed by numpy's literal-only reader; the dtype is checked
    before any array is built, so object arrays are refused unread.
    """
    head = io.BytesIO(bytes(data[:65536 + 16]))
    try:
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError) as exc:
        raise InputError(f"{where}: member {name!r} is not a valid .npy array ({exc})") from None
    offset = head.tell()
    if dtype.hasobject:
        raise InputError(f"{where}: member {name!r} holds Python objects (needs pickle); refusing to load it")
    if dtype.fields is not None or dtype.subdtype is not None or dtype.kind not in "biuf":
        raise InputError(f"{where}: member {name!r} has dtype {dtype}, not a plain numeric column")
    if len(shape) != 1:
        raise InputError(f"{where}: member {name!r} has shape {shape}; a column is one-dimensional")
    if expected is not None and dtype.newbyteorder("=") != expected.newbyteorder("="):
        raise InputError(f"{where}: member {name!r} has dtype {dtype}, expected {expected}")
    if len(data) - offset != shape[0] * dtype.itemsize:
        raise InputError(f"{where}: member {name!r}: {len(data) - offset} data bytes do not match its header "
                         f"({shape[0]} x {dtype.itemsize} bytes)")
    arr = np.frombuffer(data, dtype=dtype, count=shape[0], offset=offset)
    if expected is not None and not dtype.isnative:
        arr = arr.astype(expected)
    return arr


def _parse_actions(where: str, data) -> list[dict]:
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{where}: member {ACTIONS!r} is not UTF-8 text") from None
    actions = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as exc:
            raise InputError(f"{where}: member {ACTIONS!r} line {lineno}: malformed JSON ({exc})") from None
        try:
            actions.append(_normalise_action(obj, lineno))
        except ValueError as exc:
            raise InputError(f"{where}: member {ACTIONS!r} line {lineno}: {str(exc).split(': ', 1)[1]}") from None
    return actions


I64_MIN, I64_MAX = -2**63, 2**63 - 1
#: An instant or span of a run's clocks (now_ns, ktime_ns, settled_ns...) is at most this far from 0: the readers add
#: and subtract them (and a tick or two) in int64 (settled_ns = 2**63 overflowed in the tick grid)
TIME_MAX = 2**62


class _Int:
    """A JSON integer in lo..hi."""

    def __init__(self, lo: int = I64_MIN, hi: int = I64_MAX):
        self.lo, self.hi = lo, hi


_INT, _COUNT, _TIME, _SPAN = _Int(), _Int(0), _Int(0, TIME_MAX), _Int(-TIME_MAX, TIME_MAX)

#: The JSON kind (and range of an integer) of every top-level ``meta.json`` key the engines write.  A key missing
#: (an older recording) is left to the readers' defaults unless :data:`_META_REQUIRED` lists it; a key present has
#: its kind, and is null only if listed in :data:`_META_NULLABLE` (null reached the readers and failed there).
_META_TYPES = {
    "hz": _Int(1, 100_000), "tick_nsec": _Int(1, TIME_MAX), "ncpus": _Int(1, 65_536), "until_ns": _Int(1),
    "seed": _Int(0, I64_MAX), "settled_ns": _TIME, "now_ns": _TIME, "ktime_ns": _SPAN, "last_jiffies_update": _SPAN,
    "wall_ahead_ns": _SPAN, "watchdog_margin_ns": _SPAN, "events": _COUNT, "broadcast_device": _INT,
    "do_timer_cpu": _INT, "initial_jiffies": _INT, "jiffies": _INT, "jiffies_updated": _INT, "engine_semantics": _INT,
    "overcommit": _INT, "bc_kind": _INT, "bc_cpu": _INT, "effects": _INT, "ipi_latency_ns": _TIME,
    **dict.fromkeys(("devices", "tick_device", "clocksources", "cstates", "cpus", "boot_log", "effect_evidence",
                     "vmi_alarm", "tsc_offset"), list),
    **dict.fromkeys(("hypervisor", "kinds", "modes"), dict),
    **dict.fromkeys(("clocksource", "boot_clocksource", "scenario", "scenario_name", "backend", "engine", "nohz",
                     "watchdog"), str),
    **dict.fromkeys(("highres", "nohz_idle", "tsc_scaling", "tsc_stops"), bool),
    "wall_s": float,
}
_META_NULLABLE = ("settled_ns",)   # a run not settled yet (a recording saved mid-run)


#: keys every run's meta has (an engine writes them) that the readers look up without a default: the run's
#: summary, the tick grid and the raster
_META_REQUIRED = ("seed", "until_ns", "now_ns", "events", "hz", "tick_nsec", "ncpus", "clocksource", "jiffies",
                  "ktime_ns", "devices", "tick_device", "broadcast_device", "clocksources")


def _json(value) -> str:
    return json.dumps(value)[:40]


def _check_kind(value, kind, what: str) -> None:
    """*value* is of *kind* (a type, or an :class:`_Int` range); ValueError naming *what* otherwise."""
    if isinstance(kind, _Int):
        if not _is_int(value):
            raise ValueError(f"{what} must be an integer, got {_json(value)}")
        if kind.lo == 1 and value < 1:
            raise ValueError(f"{what} must be positive, got {value}")
        if not kind.lo <= value <= kind.hi:
            raise ValueError(f"{what} must be {kind.lo}..{kind.hi}, got {value}")
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{what} must be a number, got {_json(value)}")
    elif not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f"{what} must be {_JSON_NAMES[kind]}, got {_json(value)}")


#: The fields of ``clocksources`` and ``devices`` entries that are u64 in the kernel (a 64-bit counter's mask is
#: 2**64 - 1): 0..2**64 - 1, where every other integer of meta is int64
_U64_FIELDS = {("clocksources", "mask"), ("clocksources", "max_cycles"), ("devices", "min_delta_ticks"),
               ("devices", "max_delta_ticks")}


def _check_int64(meta: dict) -> None:
    """Every integer anywhere in *meta* fits int64, as the readers' numpy arrays hold them (``timer_slacks: [2**64]``
    overflowed in the analysis), or u64 for :data:`_U64_FIELDS`; walked without recursion."""
    stack = [(meta, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, path + (k,)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, path + (i,)) for i, v in enumerate(node))
        elif _is_int(node):
            u64 = len(path) == 3 and (path[0], path[2]) in _U64_FIELDS
            if not (0 <= node < 2**64 if u64 else I64_MIN <= node <= I64_MAX):
                where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
                raise ValueError(f"{where} must be {'an unsigned' if u64 else 'a'} 64-bit integer, got {node}")


def _check_meta(where: str, meta) -> dict:
    """*meta* as the readers expect it: a JSON object with the keys of :data:`_META_REQUIRED`, every key of
    :data:`_META_TYPES` present of that kind and range (null only where the engines write it), every integer in
    int64, and the arrays and objects the readers index consistent (:func:`_check_meta_items`); InputError naming
    the key otherwise (a tampered meta.json with a consistent manifest reached the readers and failed there with a
    traceback)."""
    if not isinstance(meta, dict):
        raise InputError(f"{where}: member {META!r}: expected a JSON object")
    missing = [key for key in _META_REQUIRED if key not in meta]
    if missing:
        raise InputError(f"{where}: member {META!r}: {', '.join(missing)} missing (every recorded run has "
                         f"{'them' if len(missing) > 1 else 'it'}: the file was edited or is not a tickscope recording)")
    try:
        _check_int64(meta)
        for key, kind in _META_TYPES.items():
            if key in meta and not (meta[key] is None and key in _META_NULLABLE):
                _check_kind(meta[key], kind, key)
        _check_meta_items(meta)
    except ValueError as exc:
        raise InputError(f"{where}: member {META!r}: {exc}") from None
    return meta


#: keys of one ``devices`` / ``clocksources`` / ``cstates`` / ``effect_evidence`` entry the readers look up without
#: a default, with the least each may be (the tick grid divides by ``num`` and ``den``) or their kind
_DEVICE_KEYS = {"name": str, "hw_name": str, "num": 1, "den": 1, "periodic_count": 0}
_CLOCKSOURCE_KEYS = {"name": str, "kind": 0, "num": 1, "den": 1}
_CSTATE_KEYS = {"name": str}
_EVIDENCE_KEYS = {"change": str, "effect": str, "symbol": str}
#: keys of one ``cstates`` / ``hypervisor`` / ``effect_evidence`` entry that may be left out, with their kinds
_CSTATE_OPTIONAL = {"exit_latency_ns": _TIME, "target_residency_ns": _TIME, "stops_timer": bool}
_HYPERVISOR_KEYS = {"injections": _COUNT, "pit_discarded": _COUNT, "pit_pending_max": _COUNT, "migrations": _COUNT,
                    "tsc_hz_now": _COUNT}   # and pit_pending, an array of integers
_EVIDENCE_OPTIONAL = {"evidence": list}
#: keys of one ``cpus`` entry the readers use (with defaults): integers, or arrays of integers
_CPU_INTS = ("wakeups", "broadcast_received", "irqs", "idle_calls", "idle_sleeps", "last_tick", "steal_ns")
_CPU_INT_LISTS = ("residency_ns", "timer_expiries", "timer_slacks")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_entries(meta: dict, key: str, required: dict, optional: dict | None = None) -> None:
    for i, entry in enumerate(meta.get(key) or ()):
        if not isinstance(entry, dict):
            raise ValueError(f"{key}[{i}] must be an object, got {json.dumps(entry)[:40]}")
        for name, want in required.items():
            value = entry.get(name)
            if want is str and not isinstance(value, str):
                raise ValueError(f"{key}[{i}].{name} must be a string, got {json.dumps(value)[:40]}")
            if want is not str and (not _is_int(value) or value < want):
                raise ValueError(f"{key}[{i}].{name} must be an integer >= {want}, got {json.dumps(value)[:40]}")
        for name, kind in (optional or {}).items():
            if name in entry:
                _check_kind(entry[name], kind, f"{key}[{i}].{name}")


def _check_int_list(value, what: str) -> None:
    if not isinstance(value, list) or not all(_is_int(v) for v in value):
        raise ValueError(f"{what} must be an array of integers, got {json.dumps(value)[:40]}")


def _check_meta_items(meta: dict) -> None:
    """What the readers index inside meta's arrays and objects (a device, a clocksource, a CPU's state); a
    ValueError naming the entry otherwise.  With the manifest re-hashed, ``tick_device: [99, ...]``, a
    device without ``periodic_count`` or ``cpus: [1, 2]`` ended `tickscope export` in an IndexError,
    KeyError or AttributeError traceback, and ``tick_nsec: 1`` had it allocate memory until it was killed."""
    ncpus, hz = meta["ncpus"], meta["hz"]
    if meta["tick_nsec"] != tick_nsec(hz):
        raise ValueError(f"tick_nsec {meta['tick_nsec']} is not TICK_NSEC of hz {hz} ({tick_nsec(hz)})")
    if meta["until_ns"] > UNTIL_MAX_NS:
        raise ValueError(f"until_ns {meta['until_ns']} is over the longest run ({UNTIL_MAX_NS})")
    _check_entries(meta, "devices", _DEVICE_KEYS)
    _check_entries(meta, "clocksources", _CLOCKSOURCE_KEYS)
    _check_entries(meta, "cstates", _CSTATE_KEYS, _CSTATE_OPTIONAL)
    _check_entries(meta, "effect_evidence", _EVIDENCE_KEYS, _EVIDENCE_OPTIONAL)
    for i, dev in enumerate(meta["devices"]):
        if _is_int(dev.get("features")) and dev["features"] & 1 and not dev["periodic_count"]:
            raise ValueError(f"devices[{i}].periodic_count is 0 for a periodic device")   # the grid divides by it
    if "tsc_offset" in meta:
        _check_int_list(meta["tsc_offset"], "tsc_offset")
        if len(meta["tsc_offset"]) not in (0, ncpus):
            raise ValueError(f"tsc_offset has {len(meta['tsc_offset'])} entries for ncpus {ncpus}")
    ndev = len(meta["devices"])
    tick_device = meta["tick_device"]
    if len(tick_device) != ncpus:
        raise ValueError(f"tick_device has {len(tick_device)} entries for ncpus {ncpus}")
    for cpu, did in enumerate(tick_device):
        if not _is_int(did) or not -1 <= did < ndev:
            raise ValueError(f"tick_device[{cpu}] must be -1 or an index into devices ({ndev} of them), "
                             f"got {json.dumps(did)[:40]}")
    if not -1 <= meta["broadcast_device"] < ndev:
        raise ValueError(f"broadcast_device must be -1 or an index into devices ({ndev} of them), "
                         f"got {meta['broadcast_device']}")
    names = {cs["name"] for cs in meta["clocksources"]}
    for key in ("clocksource", "boot_clocksource"):
        if key in meta and meta[key] not in names:
            raise ValueError(f"{key} {json.dumps(meta[key])[:40]} is not one of clocksources")
    if "do_timer_cpu" in meta and not -2 <= meta["do_timer_cpu"] < ncpus:
        raise ValueError(f"do_timer_cpu must be -2, -1 or a CPU (ncpus {ncpus}), got {meta['do_timer_cpu']}")
    # C-state residency: one entry per state of cstates, or one (HLT) without
    nstates = max(1, len(meta.get("cstates", ())))
    cpus = meta.get("cpus")
    if cpus is not None:
        if len(cpus) != ncpus:
            raise ValueError(f"cpus has {len(cpus)} entries for ncpus {ncpus}")
        modes = {int(m) for m in TickMode}
        for cpu, state in enumerate(cpus):
            if not isinstance(state, dict):
                raise ValueError(f"cpus[{cpu}] must be an object, got {json.dumps(state)[:40]}")
            for name in _CPU_INTS + ("mode",):
                if name in state and not _is_int(state[name]):
                    raise ValueError(f"cpus[{cpu}].{name} must be an integer, got {json.dumps(state[name])[:40]}")
            if state.get("mode", 0) not in modes:
                raise ValueError(f"cpus[{cpu}].mode {state['mode']} is not a tick mode")
            for name in _CPU_INT_LISTS:
                if name in state:
                    _check_int_list(state[name], f"cpus[{cpu}].{name}")
            if len(state.get("residency_ns", ())) > nstates:
                raise ValueError(f"cpus[{cpu}].residency_ns has {len(state['residency_ns'])} entries for "
                                 f"{len(meta.get('cstates', ()))} cstates")
    for i, line in enumerate(meta.get("boot_log") or ()):
        if not (isinstance(line, list) and len(line) == 2 and _is_int(line[0]) and isinstance(line[1], str)):
            raise ValueError(f"boot_log[{i}] must be [time_ns, text], got {json.dumps(line)[:40]}")
    for key, kind in _HYPERVISOR_KEYS.items():
        if key in meta.get("hypervisor", {}):
            _check_kind(meta["hypervisor"][key], kind, f"hypervisor.{key}")
    if "pit_pending" in meta.get("hypervisor", {}):
        _check_int_list(meta["hypervisor"]["pit_pending"], "hypervisor.pit_pending")
    for i, entry in enumerate(meta.get("effect_evidence", ())):
        for j, ev in enumerate(entry.get("evidence", ())):   # the graph view keys sites by file and line
            if not (isinstance(ev, dict) and isinstance(ev.get("file"), str) and _is_int(ev.get("line"))):
                raise ValueError(f"effect_evidence[{i}].evidence[{j}] must be an object with file and line, "
                                 f"got {_json(ev)}")
    for key in ("kinds", "modes", "vmi_alarm"):
        values = meta.get(key, ())
        for name, value in (values.items() if isinstance(values, dict) else enumerate(values)):
            _check_kind(value, _INT, f"{key}[{name}]" if isinstance(name, int) else f"{key}.{name}")


_JSON_NAMES = {int: "an integer", list: "an array", dict: "an object", str: "a string", bool: "true or false"}

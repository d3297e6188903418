"""Recordings: ``.tickrec`` files holding a scenario, its results and the user's actions.

A recording is a zip archive of the scenario, the event-log columns, their
metadata and the actions, listed with their hashes in a manifest (the members and
their checks: :mod:`tickscope.sim.record_format`).

A recording comes from strangers (mailing lists, bug reports), so loading
trusts nothing: member names, sizes, compression, hashes, JSON, TOML and the
``.npy`` headers are all checked before anything is decoded, nothing is
unpickled or extracted, and nothing is written anywhere.  Every refusal is an
:class:`~tickscope.sim.errors.InputError` naming the file and the member.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from tickscope.sim import __version__
from tickscope.sim import scenario as scen
from tickscope.sim.atomic import atomic_path
from tickscope.sim.errors import InputError
from tickscope.sim.events import Kind
from tickscope.sim.record_format import (ACTIONS, FORMAT, FORMAT_VERSION, MANIFEST, META, SCENARIO, _DTYPES,
                                         _check_manifest, _check_meta, _normalise_action, _parse_actions, _parse_json, _parse_npy,
                                         _verify)
from tickscope.sim.results import COLUMNS, Results
from tickscope.sim.untrusted_zip import ZipLimits, check_archive, open_zip, read_member

# Limits on what a recording may make us allocate.  Declared sizes are checked
# before reading and actual sizes while reading, so a lying header cannot
# exhaust memory either.
MAX_TOTAL_BYTES = 2 * 1024**3
"""Sum of all members' uncompressed sizes."""
MAX_MEMBER_BYTES = 1 * 1024**3
"""One ``.npy`` column, uncompressed (134 M records of int64)."""
MAX_TEXT_BYTES = 64 * 1024**2
"""``scenario.toml``, ``actions.jsonl``, ``meta.json``: these are parsed into Python objects."""
MAX_MANIFEST_BYTES = 1024**2
MAX_MEMBERS = 256
MAX_COMPRESSION_RATIO = 200
"""Archive-wide uncompressed/compressed ratio, checked once the archive inflates
beyond :data:`RATIO_CHECK_MIN_BYTES`.  Per member, constant columns (one CPU,
ticks only) legitimately reach deflate's ~1030:1, but ``time_ns`` never
compresses much, so whole real recordings stay far below 200:1."""
RATIO_CHECK_MIN_BYTES = 64 * 1024**2
READ_CHUNK = 1024**2


@dataclass
class Recording:
    """A loaded recording.

    Attributes
    ----------
    scenario : Scenario
        The scenario that was run.
    results : Results
        The stored event log and metadata (ready to show, no re-simulation).
    actions : list of dict
        ``{"t": float seconds since session start, "action": str, "args": dict}``.
    manifest : dict
        The parsed ``manifest.json``.
    """

    scenario: scen.Scenario
    results: Results
    actions: list[dict] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)

    @property
    def seed(self) -> int:
        return int(self.manifest.get("seed", self.scenario.run.seed))

    @property
    def until_ns(self) -> int:
        return int(self.manifest.get("until_ns", self.scenario.run.until))

    def run_scenario(self) -> scen.Scenario:
        """The scenario with the run that was recorded: ``run.seed`` and ``run.until`` set to the recording's
        (a run paused, or ended by Run until, stopped before the scenario's own ``run.until``).

        Raises
        ------
        InputError
            If the recording's seed or until_ns is outside what a scenario allows.
        """
        # re-validated, so a manifest seed/until_ns the schema refuses is an InputError here
        data = self.scenario.model_dump(by_alias=True)
        data["run"] = {**data["run"], "seed": self.seed, "until": self.until_ns}
        return scen.from_dict(data, f"{MANIFEST} seed/until_ns")


# -- writing -------------------------------------------------------------------

class _HashingWriter:
    """File-like wrapper that hashes and counts what passes through to a zip member."""

    def __init__(self, raw):
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data) -> int:
        data = memoryview(data).cast("B")
        self.sha256.update(data)
        self.size += data.nbytes
        return self._raw.write(data)

    def flush(self):
        pass


def _json_default(obj):
    # The engine may leave numpy scalars in meta; store them as plain JSON.
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")


def save_recording(path, scenario: scen.Scenario, results: Results, actions: Iterable[dict] = ()) -> Path:
    """Write a ``.tickrec`` recording atomically (temporary file + rename).

    Parameters
    ----------
    path : str or Path
        The recording to write; replaced only once the new one is complete.
    scenario : Scenario
        The scenario that produced *results*.
    results : Results
        The event log and metadata to store.
    actions : iterable of dict, optional
        Timestamped user actions ``{"t": seconds, "action": str, "args": dict}``.

    Returns
    -------
    Path
        *path*.

    Raises
    ------
    InputError
        If a column is larger than a recording may hold (:data:`MAX_MEMBER_BYTES`,
        :data:`MAX_TOTAL_BYTES`): such a file could not be opened again.
    ValueError
        If an action or ``results.meta`` cannot be stored as JSON.
    """
    path = Path(path)
    columns = results.columns()
    lengths = {name: len(col) for name, col in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"results columns differ in length: {lengths}")
    for name, col in columns.items():
        if col.nbytes > MAX_MEMBER_BYTES:
            raise InputError(f"{path}: column {name} is {col.nbytes} bytes; a recording holds at most "
                             f"{MAX_MEMBER_BYTES} bytes per column (shorten the run)")
    if results.nbytes > MAX_TOTAL_BYTES - MAX_TEXT_BYTES:
        raise InputError(f"{path}: the event log is {results.nbytes} bytes; a recording holds at most "
                         f"{MAX_TOTAL_BYTES - MAX_TEXT_BYTES} bytes (shorten the run)")
    actions_text = "".join(json.dumps(_normalise_action(a, i), allow_nan=False, separators=(",", ":")) + "\n"
                           for i, a in enumerate(actions))
    meta_text = json.dumps(results.meta, allow_nan=False, default=_json_default, indent=1)
    seed = results.meta.get("seed", scenario.run.seed)
    until_ns = results.meta.get("until_ns", scenario.run.until)
    texts = {SCENARIO: scenario.to_toml(), ACTIONS: actions_text, META: meta_text}
    for name, text in texts.items():
        if len(text.encode("utf-8")) > MAX_TEXT_BYTES:
            raise InputError(f"{path}: {name} would be larger than {MAX_TEXT_BYTES} bytes")

    members = {}
    with atomic_path(path) as tmp:
        # compresslevel 1: on 2 M jittered tick records it reached 2.40:1 in 0.7 s
        # against 2.48:1 in 2.5 s at level 6.
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
            for name, text in texts.items():
                data = text.encode("utf-8")
                zf.writestr(name, data)
                members[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
            for name, col in columns.items():
                member = f"{name}.npy"
                with zf.open(member, "w") as raw:
                    out = _HashingWriter(raw)
                    np.save(out, np.ascontiguousarray(col, dtype=_DTYPES[name]), allow_pickle=False)
                members[member] = {"sha256": out.sha256.hexdigest(), "size": out.size}
            manifest = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "app_version": __version__,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "members": members,
                "columns": list(columns),
                "seed": int(seed),
                "until_ns": int(until_ns),
            }
            zf.writestr(MANIFEST, json.dumps(manifest, indent=1))
    return path


# -- reading -------------------------------------------------------------------

def _limits() -> ZipLimits:
    # Built per call so the module constants stay the one place to tune (and to patch in tests).
    return ZipLimits(max_total_bytes=MAX_TOTAL_BYTES, max_members=MAX_MEMBERS,
                     max_compression_ratio=MAX_COMPRESSION_RATIO, ratio_check_min_bytes=RATIO_CHECK_MIN_BYTES,
                     member_limit=_member_limit, read_chunk=READ_CHUNK)


def _member_limit(name: str) -> int:
    if name == MANIFEST:
        return MAX_MANIFEST_BYTES
    if name.endswith(".npy"):
        return MAX_MEMBER_BYTES
    return MAX_TEXT_BYTES


def load_recording(path) -> Recording:
    """Open a ``.tickrec`` recording, checking everything before decoding anything.

    Parameters
    ----------
    path : str or Path
        The recording.

    Returns
    -------
    Recording
        Scenario, stored results (not re-simulated), actions and manifest.

    Raises
    ------
    InputError
        Naming the file and the member at fault: not a zip or truncated,
        unsafe member names (absolute, ``..``, backslashes, symlinks),
        duplicate members, sizes over the limits (zip bombs), a member missing,
        unlisted or failing its sha256, an unknown format or format_version,
        malformed JSON/JSONL, a ``.npy`` needing pickle or with the wrong
        dtype/shape, or an invalid scenario.
    """
    path = Path(path)
    where = str(path)
    if not path.exists():
        raise InputError(f"{where}: no such recording")
    if path.is_dir():
        raise InputError(f"{where}: is a directory, not a recording (a .tickrec file)")
    if not path.is_file():
        raise InputError(f"{where}: not a file")
    limits = _limits()
    with open_zip(path, where, "tickscope recording") as zf:
        infos = check_archive(zf, where, limits)
        if MANIFEST not in infos:
            raise InputError(f"{where}: missing member {MANIFEST!r} (not a tickscope recording, or damaged)")
        manifest = _check_manifest(where, _parse_json(where, MANIFEST, read_member(zf, infos[MANIFEST], where, limits)))
        listed = manifest["members"]
        required = [SCENARIO, ACTIONS, META] + [f"{c}.npy" for c in manifest["columns"]]
        for name in required:
            if name not in infos:
                raise InputError(f"{where}: missing member {name!r}")
            if name not in listed:
                raise InputError(f"{where}: {MANIFEST} does not list member {name!r}")
        for name in infos:
            if name != MANIFEST and name not in listed:
                raise InputError(f"{where}: member {name!r} is not listed in {MANIFEST}")
        for name in listed:
            if name not in infos:
                raise InputError(f"{where}: missing member {name!r}")
            if name not in required:
                raise InputError(f"{where}: unexpected member {name!r}")
        declared_total = sum(entry["size"] for entry in listed.values())
        if declared_total > MAX_TOTAL_BYTES:
            raise InputError(f"{where}: {MANIFEST} lists {declared_total} bytes in total, over the limit of "
                             f"{MAX_TOTAL_BYTES} bytes")

        data = {}
        for name in required:
            data[name] = read_member(zf, infos[name], where, limits)
            _verify(where, name, data[name], listed[name])

    meta = _check_meta(where, _parse_json(where, META, data.pop(META)))
    actions = _parse_actions(where, data.pop(ACTIONS))
    try:
        scenario_text = bytes(data.pop(SCENARIO)).decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{where}: member {SCENARIO!r} is not UTF-8 text") from None
    scenario = _load_scenario(scenario_text, f"{where}: member {SCENARIO!r}", legacy="engine_semantics" not in meta)

    columns = {}
    for name in manifest["columns"]:
        member = f"{name}.npy"
        columns[name] = _parse_npy(where, member, data.pop(member), _DTYPES.get(name))
    lengths = {len(col) for col in columns.values()}
    if len(lengths) > 1:
        sizes = ", ".join(f"{n}.npy: {len(c)}" for n, c in columns.items())
        raise InputError(f"{where}: columns differ in length ({sizes})")
    _check_agrees(where, scenario, meta, columns)
    results = Results(*(columns[name] for name, _ in COLUMNS), meta=meta)
    return Recording(scenario=scenario, results=results, actions=actions, manifest=manifest)


def _check_agrees(where: str, scenario: scen.Scenario, meta: dict, columns: dict) -> None:
    """The stored results belong to the stored scenario: a scenario.toml edited after recording (the manifest
    re-hashed) opened with 4 CPU lanes under a form saying 2 CPUs.  Cheap checks, no re-simulation (``run
    FILE.tickrec`` replays and compares everything)."""
    for key, want, what in (("ncpus", scenario.machine.cpus, "machine.cpus"), ("hz", scenario.kernel.hz, "kernel.hz")):
        got = meta.get(key)
        if got is not None and got != want:
            raise InputError(f"{where}: member {SCENARIO!r} says {what} = {want} but the stored results "
                             f"({META!r}) have {key} = {got}: the scenario was changed after recording")
    ncpus = meta.get("ncpus")
    cpu = columns.get("cpu")
    if isinstance(ncpus, int) and cpu is not None and len(cpu) and (int(cpu.min()) < 0 or int(cpu.max()) >= ncpus):
        raise InputError(f"{where}: member 'cpu.npy' holds CPU numbers {int(cpu.min())}..{int(cpu.max())}, "
                         f"outside 0..{ncpus - 1} of the recorded machine")
    time_ns, kind, source, value = (columns.get(name) for name in ("time_ns", "kind", "source", "value"))
    if time_ns is None or kind is None or source is None or value is None or not len(time_ns):
        return
    # an engine appends records in time order, none before boot or after where the run stopped (now_ns); the
    # tick grid counts slots from each MODE / TICK_STOP / TICK_RESTART record's first expiry (kernel time, never
    # negative): a tampered value column there made `tickscope export` try to allocate 856 TiB
    if bool(np.any(time_ns[1:] < time_ns[:-1])):
        i = int(np.flatnonzero(time_ns[1:] < time_ns[:-1])[0]) + 1
        raise InputError(f"{where}: member 'time_ns.npy': record {i} goes back in time "
                         f"({int(time_ns[i])} after {int(time_ns[i - 1])})")
    now = meta.get("now_ns")
    if int(time_ns[0]) < 0 or (isinstance(now, int) and int(time_ns[-1]) > now):
        raise InputError(f"{where}: member 'time_ns.npy': times {int(time_ns[0])}..{int(time_ns[-1])} are outside "
                         f"0..{now} (now_ns) of the recorded run")
    grid = np.isin(kind, np.array([Kind.MODE, Kind.TICK_STOP, Kind.TICK_RESTART], dtype=np.uint8))
    if bool(np.any(value[grid] < 0)):
        i = int(np.flatnonzero(grid & (value < 0))[0])
        raise InputError(f"{where}: member 'value.npy': record {i} ({Kind(int(kind[i])).name}) has a negative "
                         f"first expiry {int(value[i])}")
    switches = source[kind == Kind.CS_SWITCH]
    css = meta.get("clocksources")
    if isinstance(css, list) and switches.size and int(switches.max()) >= len(css):
        raise InputError(f"{where}: member 'source.npy': a clocksource switch to clocksource {int(switches.max())}, "
                         f"but the recorded machine has {len(css)}")


def _load_scenario(text: str, source: str, legacy: bool = False) -> scen.Scenario:
    """The recording's scenario.

    *legacy*: a recording from before engine semantics 7 (its meta has no ``engine_semantics``), when any
    ``idle_period`` in reach decided a CPU's idle periods: its own table's, else the workload's, over a
    ``busy_fraction`` (and the writer always wrote the 0.5 default).  Read that way, the busy_fractions it
    overruled are dropped, so the scenario means what it meant (today a per-CPU busy_fraction wins over the
    workload's idle_period, and both in one table is an error)."""
    data = scen.toml_data(text, source)
    workload = data.get("workload") if isinstance(data, dict) else None
    if isinstance(workload, dict):
        per_cpu = workload.get("per_cpu")
        shared = legacy and "idle_period" in workload
        if "idle_period" in workload:
            workload.pop("busy_fraction", None)
        for level in per_cpu if isinstance(per_cpu, list) else []:
            if isinstance(level, dict) and ("idle_period" in level or shared):
                level.pop("busy_fraction", None)
    return scen.from_dict(data, source)


# -- replay --------------------------------------------------------------------

def _record(results: Results, index: int) -> dict | None:
    if index >= len(results):
        return None
    rec = {name: int(getattr(results, name)[index]) for name, _ in COLUMNS}
    try:
        rec["kind_name"] = Kind(rec["kind"]).name
    except ValueError:
        rec["kind_name"] = f"KIND_{rec['kind']}"
    return rec


def first_difference(stored: Results, replayed: Results) -> dict | None:
    """The first record where two event logs differ, or None if they are identical.

    Returns
    -------
    dict or None
        ``index``, ``columns`` (names that differ there; ``["length"]`` if one
        log is a prefix of the other), ``stored`` and ``replayed`` records
        (None past the end of a log).
    """
    n = min(len(stored), len(replayed))
    first, differing = n, []
    for name, _ in COLUMNS:
        a, b = getattr(stored, name)[:n], getattr(replayed, name)[:n]
        bad = np.flatnonzero(a != b)
        if bad.size:
            if bad[0] < first:
                first, differing = int(bad[0]), [name]
            elif bad[0] == first:
                differing.append(name)
    if first == n and len(stored) == len(replayed):
        return None
    if first == n:
        differing = ["length"]
    return {"index": first, "columns": differing,
            "stored": _record(stored, first), "replayed": _record(replayed, first)}


#: The simulated kernel's state where the run stopped (``Simulation.results`` meta: jiffies, the clocksource, the
#: do_timer owner, every CPU's tick device, counters and idle statistics...): a replay must reach it too, as the
#: engines' differential tests require.  Keys one side lacks (a recording from an older writer) are not compared.
END_STATE_KEYS = ("events", "now_ns", "jiffies", "jiffies_updated", "clocksource", "ktime_ns", "do_timer_cpu",
                  "last_jiffies_update", "wall_ahead_ns", "cpus", "hypervisor")


def _first_state_difference(stored, replayed, path: str):
    """(path, stored value, replayed value) of the first difference between two JSON-like values, comparing only
    the keys both dicts have; None if they agree."""
    if isinstance(stored, dict) and isinstance(replayed, dict):
        for key in stored:
            if key in replayed:
                found = _first_state_difference(stored[key], replayed[key], f"{path}.{key}")
                if found:
                    return found
        return None
    if isinstance(stored, list) and isinstance(replayed, list):
        if len(stored) != len(replayed):
            return (f"{path} (length)", len(stored), len(replayed))
        for i, (a, b) in enumerate(zip(stored, replayed)):
            found = _first_state_difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if stored == replayed else (path, stored, replayed)


def state_difference(stored: Results, replayed: Results) -> dict | None:
    """The first difference in the end-of-run state (:data:`END_STATE_KEYS`) of two results, or None.

    Returns
    -------
    dict or None
        ``key`` (a path such as ``cpus[2].idle_calls``), ``stored`` and ``replayed`` values.
    """
    # as a recording stores it: JSON (tuples are lists, keys strings)
    a = json.loads(json.dumps({k: stored.meta[k] for k in END_STATE_KEYS if k in stored.meta}, default=_json_default))
    b = json.loads(json.dumps({k: replayed.meta[k] for k in END_STATE_KEYS if k in replayed.meta}, default=_json_default))
    found = _first_state_difference(a, b, "")
    return None if found is None else {"key": found[0].lstrip("."), "stored": found[1], "replayed": found[2]}


def replay_matches(recording: Recording, simulate_fn: Callable[[scen.Scenario], Results]) -> tuple[bool, dict]:
    """Re-simulate a recording from its scenario and seed and compare the event logs and the end state.

    Parameters
    ----------
    recording : Recording
        A loaded recording.
    simulate_fn : callable
        ``simulate_fn(scenario, settle) -> Results``, e.g.
        ``lambda sc, settle: Simulation(sc, settle=settle).run()`` or
        ``tickscope.sim.simulation.simulate``.  The scenario passed is a copy
        of the stored one with ``run.seed`` and ``run.until`` set to the
        recording's ``seed`` and ``until_ns``; *settle* says whether the stored
        run ended (delivering what was in flight) or was paused there (also a
        recording from before engine semantics 6, whose runs stopped dead).

    Returns
    -------
    match : bool
        True if every column is identical, record for record, and so is the
        simulated kernel's state where the run stopped (:data:`END_STATE_KEYS`).
    details : dict
        JSON-able: ``seed``, ``until_ns``, ``records_stored``,
        ``records_replayed``, ``columns`` (name -> identical?),
        ``first_difference`` (see :func:`first_difference`, None on a match)
        and ``state_difference`` (see :func:`state_difference`).

    Raises
    ------
    InputError
        If the recording's seed or until_ns is outside what a scenario allows.
    """
    scenario = recording.run_scenario()
    replayed = simulate_fn(scenario, recording.results.meta.get("settled_ns") is not None)
    stored = recording.results
    diff = first_difference(stored, replayed)
    made = stored.meta.get("engine_semantics")
    now = replayed.meta.get("engine_semantics")
    details = {
        "engine_semantics": {"recorded": made, "replayed": now},
        "seed": recording.seed,
        "until_ns": recording.until_ns,
        "records_stored": len(stored),
        "records_replayed": len(replayed),
        "columns": {name: bool(np.array_equal(getattr(stored, name), getattr(replayed, name))) for name, _ in COLUMNS},
        "first_difference": diff,
        "state_difference": state_difference(stored, replayed),
    }
    if (diff is not None or details["state_difference"] is not None) and made != now:
        # not a regression or a corrupt file: the model changed since (e.g. semantics 7 forced programming)
        details["why"] = (f"recorded with engine semantics {made if made is not None else '6 or older'}, replayed "
                          f"with {now}: the simulated kernel changed in between (docs/engine.md)")
    return diff is None and details["state_difference"] is None, details

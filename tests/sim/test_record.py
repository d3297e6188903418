"""Recordings (.tickrec): round trip, atomic writes, replay comparison, hostile files."""
import hashlib
import io
import json
import os
import pickle
import stat
import struct
import tomllib
import tracemalloc
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
import tomli_w

from tickscope.sim import __version__
from tickscope.sim import record
from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError
from tickscope.sim.events import Kind
from tickscope.sim import simulation
from tickscope.sim.record import load_recording, replay_matches, save_recording
from tickscope.sim.results import Results

COLUMN_NAMES = ["time_ns", "cpu", "kind", "source", "value"]


def make_results(n=1000, cpus=4, seed=7):
    rng = np.random.default_rng(seed)
    slot = np.arange(n, dtype=np.int64) // cpus * 4_000_000
    time_ns = np.sort(slot + rng.integers(500, 3000, n))   # an engine appends records in time order
    cpu = (np.arange(n) % cpus).astype(np.int16)
    kind = np.full(n, int(Kind.TICK), dtype=np.uint8)
    kind[::97] = int(Kind.JIFFIES)
    kind[5] = 200  # a kind this version does not know
    source = rng.integers(0, 3, n).astype(np.uint8)
    value = slot.copy()
    meta = {"seed": 42, "until_ns": 2_000_000_000, "hz": 250, "clocksource": "tsc",
            "devices": [{"name": "lapic-deadline", "rating": 150, **DEVICE_GRID}], "tick_device": [0, 0, 0, 0],
            "boot_log": [[0, "clocksource: tsc"]], "engine": "reference", "events": np.int64(1234), **RUN_META}
    return Results(time_ns, cpu, kind, source, value, meta=meta)


#: the rest of what every recorded run's meta holds (record_format._META_REQUIRED)
RUN_META = {"now_ns": 2_000_000_000, "tick_nsec": 4_000_000, "ncpus": 4, "jiffies": 500, "ktime_ns": 2_000_000_000,
            "broadcast_device": -1, "clocksources": [{"name": "tsc", "kind": 2, "num": 12, "den": 5}]}
#: what the tick grid reads of a device (record_format._DEVICE_KEYS)
DEVICE_GRID = {"hw_name": "lapic", "num": 1, "den": 160, "periodic_count": 0}


ACTIONS = [
    {"t": 0.0, "action": "load_preset", "args": {"name": "bare-metal-lapic"}},
    {"t": 1.25, "action": "set", "args": {"key": "kernel.hz", "value": 1000}},
    {"t": 3.5, "action": "run_until", "args": {"until_ns": 2_000_000_000}},
]


@pytest.fixture
def scenario():
    return scen.preset("bare-metal-lapic")


@pytest.fixture
def good(tmp_path, scenario):
    path = tmp_path / "good.tickrec"
    save_recording(path, scenario, make_results(), ACTIONS)
    return path


def files_under(root):
    return sorted(str(p.relative_to(root)) for p in Path(root).rglob("*"))


def members_of(path):
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def npy_bytes(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def forge(path, members, manifest_changes=None, fix_hashes=True, extra_infos=()):
    """Write a zip from *members* (name -> bytes), with a manifest whose hashes match unless told not to."""
    members = dict(members)
    manifest = json.loads(members.pop("manifest.json"))
    if fix_hashes:
        manifest["members"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                               for name, data in members.items()}
    manifest.update(manifest_changes or {})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate-name tests
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
            for info, data in extra_infos:
                zf.writestr(info, data)
            zf.writestr("manifest.json", json.dumps(manifest))
    return path


def refuse(path, *needles):
    """Load *path*, expect InputError mentioning every needle; check nothing was written."""
    root = Path(path).parent
    before = files_under(root)
    with pytest.raises(InputError) as info:
        load_recording(path)
    message = str(info.value)
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    assert "\n" not in message
    assert files_under(root) == before
    return message


# -- round trip ------------------------------------------------------------------

def test_round_trip_keeps_every_member(tmp_path, scenario):
    results = make_results()
    path = save_recording(tmp_path / "run.tickrec", scenario, results, ACTIONS)
    rec = load_recording(path)

    for name in COLUMN_NAMES:
        stored, original = getattr(rec.results, name), getattr(results, name)
        assert stored.dtype == original.dtype
        np.testing.assert_array_equal(stored, original)
    assert rec.results.meta == {
        "seed": 42, "until_ns": 2_000_000_000, "hz": 250, "clocksource": "tsc",
        "devices": [{"name": "lapic-deadline", "rating": 150, **DEVICE_GRID}], "tick_device": [0, 0, 0, 0],
        "boot_log": [[0, "clocksource: tsc"]], "engine": "reference", "events": 1234, **RUN_META}
    assert rec.scenario == scenario
    assert rec.actions == ACTIONS
    assert rec.seed == 42 and rec.until_ns == 2_000_000_000


def test_manifest_lists_sha256_and_size_of_every_member(good):
    raw = members_of(good)
    manifest = json.loads(raw.pop("manifest.json"))
    assert manifest["format"] == "tickrec"
    assert manifest["format_version"] == 1
    assert manifest["app_version"] == __version__
    assert manifest["columns"] == COLUMN_NAMES
    assert manifest["seed"] == 42 and manifest["until_ns"] == 2_000_000_000
    assert set(raw) == {"scenario.toml", "actions.jsonl", "meta.json"} | {f"{c}.npy" for c in COLUMN_NAMES}
    for name, data in raw.items():
        assert manifest["members"][name] == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
    # The columns are plain .npy files any numpy reads without pickle.
    np.testing.assert_array_equal(np.load(io.BytesIO(raw["cpu.npy"]), allow_pickle=False),
                                  (np.arange(1000) % 4).astype(np.int16))
    assert raw["actions.jsonl"].decode().splitlines()[1] == \
        '{"t":1.25,"action":"set","args":{"key":"kernel.hz","value":1000}}'


def test_empty_results_and_no_actions_round_trip(tmp_path, scenario):
    meta = {**make_results().meta, "seed": 3, "events": 0}
    path = save_recording(tmp_path / "empty.tickrec", scenario, Results.empty(meta))
    rec = load_recording(path)
    assert len(rec.results) == 0 and rec.actions == [] and rec.results.meta == meta
    assert rec.until_ns == scenario.run.until


def test_loaded_columns_are_writable_numpy_arrays(good):
    rec = load_recording(good)
    rec.results.value[0] = 5  # consumers may edit a copy of the log in place
    assert rec.results.value[0] == 5


# -- atomic writing ----------------------------------------------------------------

def test_failed_write_leaves_no_file_and_no_temp(tmp_path, scenario, monkeypatch):
    real_save = np.save
    calls = []

    def save_then_fail(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OSError("disk full")
        return real_save(*args, **kwargs)

    monkeypatch.setattr(record.np, "save", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_recording(tmp_path / "run.tickrec", scenario, make_results(), ACTIONS)
    assert len(calls) == 3
    assert files_under(tmp_path) == []


def test_failed_overwrite_keeps_the_old_recording(good, scenario, monkeypatch):
    before = good.read_bytes()
    monkeypatch.setattr(record.np, "save", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        save_recording(good, scenario, make_results(n=10), [])
    assert good.read_bytes() == before
    assert files_under(good.parent) == ["good.tickrec"]


def test_bad_action_is_refused_before_anything_is_written(tmp_path, scenario):
    with pytest.raises(ValueError, match="action 1"):
        save_recording(tmp_path / "r.tickrec", scenario, make_results(), [ACTIONS[0], {"t": -1, "action": "x"}])
    assert files_under(tmp_path) == []


def test_column_over_the_member_limit_is_refused_at_save(tmp_path, scenario, monkeypatch):
    monkeypatch.setattr(record, "MAX_MEMBER_BYTES", 4000)
    with pytest.raises(InputError, match="column time_ns is 8000 bytes"):
        save_recording(tmp_path / "r.tickrec", scenario, make_results())
    assert files_under(tmp_path) == []


# -- replay ---------------------------------------------------------------------

def test_replay_identical_log_matches_and_passes_seed_and_until(good):
    rec = load_recording(good)
    seen = {}

    def simulate(sc, settle):
        seen["seed"], seen["until_ns"], seen["settle"] = sc.run.seed, sc.run.until, settle
        return make_results()

    ok, details = replay_matches(rec, simulate)
    assert ok
    assert seen == {"seed": 42, "until_ns": 2_000_000_000, "settle": False}   # make_results' meta: no settled_ns
    assert details["first_difference"] is None
    assert details["records_stored"] == details["records_replayed"] == 1000
    assert all(details["columns"].values())
    json.dumps(details)
    assert rec.scenario.run.seed == 1  # the stored scenario is not modified


def test_replay_refuses_until_the_schema_does_not_allow(good):
    rec = load_recording(good)
    rec.manifest["until_ns"] = 10**20
    with pytest.raises(InputError, match="run.until"):
        replay_matches(rec, lambda sc, settle: make_results())


def test_replay_with_the_real_simulation_matches(tmp_path):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["run.until=\"50ms\"", "run.seed=5"])
    results = simulation.Simulation(sc, engine="reference").run()
    assert len(results) > 0
    path = save_recording(tmp_path / "real.tickrec", sc, results, ACTIONS)
    rec = load_recording(path)
    assert rec.results.equal_log(results)
    assert rec.results.meta == json.loads(json.dumps(results.meta))
    ok, details = replay_matches(rec, lambda s, settle: simulation.Simulation(s, engine="reference", settle=settle).run())
    assert ok, details
    # A different seed or a shorter run is caught.
    rec.manifest["until_ns"] = 40_000_000
    ok, details = replay_matches(rec, lambda s, settle: simulation.Simulation(s, engine="reference", settle=settle).run())
    assert not ok and details["first_difference"]["columns"] == ["length"]


@pytest.mark.parametrize("preset", ["bare-metal-hpet-c3", "unstable-tsc"])
def test_replay_compares_the_end_state_too(tmp_path, preset):
    # the same log with another end state (a CPU's idle counter, the clocksource the watchdog left) is a difference:
    # `run REC` used to say "results match" on the event columns alone
    sc = scen.apply_sets(scen.preset(preset), ['run.until="1500ms"'])
    results = simulation.Simulation(sc, engine="reference").run()
    rec = load_recording(save_recording(tmp_path / "r.tickrec", sc, results))
    rerun = lambda s, settle: simulation.Simulation(s, engine="reference", settle=settle).run()  # noqa: E731
    ok, details = replay_matches(rec, rerun)
    assert ok and details["state_difference"] is None, details
    stored_calls = rec.results.meta["cpus"][1]["idle_calls"]
    rec.results.meta["cpus"][1]["idle_calls"] += 1
    ok, details = replay_matches(rec, rerun)
    assert not ok and details["first_difference"] is None
    assert details["state_difference"] == {"key": "cpus[1].idle_calls", "stored": stored_calls + 1,
                                           "replayed": stored_calls}
    rec.results.meta["cpus"][1]["idle_calls"] = stored_calls
    rec.results.meta["clocksource"] = "refined-jiffies"
    ok, details = replay_matches(rec, rerun)
    assert not ok and details["state_difference"]["key"] == "clocksource"
    # a key one side lacks (a recording from an older writer) is not a difference
    del rec.results.meta["clocksource"]
    del rec.results.meta["cpus"][0]["idle_calls"]
    ok, details = replay_matches(rec, rerun)
    assert ok, details


def test_replay_reports_first_differing_record(good):
    rec = load_recording(good)
    replayed = make_results()
    replayed.value[700] += 1
    replayed.cpu[300] = 3  # record 300 was cpu 0
    replayed.source[300] = 9
    ok, details = replay_matches(rec, lambda sc, settle: replayed)
    assert not ok
    diff = details["first_difference"]
    assert diff["index"] == 300
    assert diff["columns"] == ["cpu", "source"]
    assert diff["stored"]["cpu"] == 0 and diff["replayed"]["cpu"] == 3
    assert diff["replayed"]["source"] == 9
    assert diff["stored"]["kind_name"] == "TICK"
    assert details["columns"] == {"time_ns": True, "cpu": False, "kind": True, "source": False, "value": False}


def test_replay_shorter_log_differs_at_its_end(good):
    rec = load_recording(good)
    ok, details = replay_matches(rec, lambda sc, settle: make_results().select(np.arange(1000) < 600))
    assert not ok
    assert details["first_difference"]["index"] == 600
    assert details["first_difference"]["columns"] == ["length"]
    assert details["first_difference"]["replayed"] is None
    assert details["records_replayed"] == 600


# -- hostile files ----------------------------------------------------------------

def test_missing_file(tmp_path):
    refuse(tmp_path / "nope.tickrec", "no such recording")


@pytest.mark.parametrize("keep", [0, 10, 100, 0.5, -22, -1])
def test_truncated_file_is_refused(tmp_path, good, keep):
    data = good.read_bytes()
    keep = int(len(data) * keep) if isinstance(keep, float) else keep
    bad = tmp_path / "cut" / "bad.tickrec"
    bad.parent.mkdir()
    bad.write_bytes(data[:keep])
    refuse(bad, "not a zip archive, or truncated")


def test_random_bytes_are_refused(tmp_path):
    bad = tmp_path / "random.tickrec"
    bad.write_bytes(np.random.default_rng(3).bytes(5000))
    refuse(bad, "not a zip archive")


def test_scenario_file_is_not_a_recording(tmp_path):
    bad = tmp_path / "s.tickrec"
    bad.write_text(scen.preset("pit-only").to_toml())
    refuse(bad, "not a zip archive")


def test_tampered_member_fails_its_hash(tmp_path, good):
    raw = members_of(good)
    tampered = make_results().time_ns.copy()
    tampered[10] += 1
    raw["time_ns.npy"] = npy_bytes(tampered)
    bad = forge(tmp_path / "tampered.tickrec", raw, fix_hashes=False)
    refuse(bad, "'time_ns.npy'", "sha256 mismatch")


def test_tampered_member_with_other_size_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["meta.json"] = b'{"seed": 1}'
    refuse(forge(tmp_path / "t.tickrec", raw, fix_hashes=False), "'meta.json'", "manifest says")


def test_corrupt_deflate_stream_names_member(tmp_path, good):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("value.npy")
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len
    for i in range(start + 20, start + 60):
        data[i] ^= 0xFF
    bad = tmp_path / "corrupt.tickrec"
    bad.write_bytes(bytes(data))
    refuse(bad, "'value.npy'")


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
def test_unknown_format_version_is_refused(tmp_path, good, version):
    bad = forge(tmp_path / "v.tickrec", members_of(good), {"format_version": version})
    refuse(bad, "format_version", repr(version) if not isinstance(version, int) or isinstance(version, bool)
           else str(version))


def test_unknown_format_is_refused(tmp_path, good):
    refuse(forge(tmp_path / "f.tickrec", members_of(good), {"format": "npz"}), "format 'npz'")


class _TouchOnUnpickle:
    """Unpickling this creates a file: the proof a loader ran code."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_pickle_payload_is_never_executed(tmp_path, good):
    marker = tmp_path / "pwned"
    evil = np.empty(1000, dtype=object)
    evil[:] = [_TouchOnUnpickle(marker)] * 1000
    payload = npy_bytes(evil, allow_pickle=True)

    # The payload is live: unpickling it elsewhere really creates a file.
    proof = tmp_path / "proof"
    np.load(io.BytesIO(npy_bytes(np.array([_TouchOnUnpickle(proof)], dtype=object), allow_pickle=True)),
            allow_pickle=True)
    assert proof.exists()
    proof.unlink()

    raw = members_of(good)
    raw["time_ns.npy"] = payload
    bad = forge(tmp_path / "pickle.tickrec", raw)
    refuse(bad, "'time_ns.npy'", "pickle")
    assert not marker.exists()


def test_raw_pickle_instead_of_npy_is_refused(tmp_path, good):
    marker = tmp_path / "pwned"
    raw = members_of(good)
    raw["cpu.npy"] = pickle.dumps(_TouchOnUnpickle(marker))
    refuse(forge(tmp_path / "p.tickrec", raw), "'cpu.npy'", "not a valid .npy")
    assert not marker.exists()


def test_npz_archive_inside_member_is_refused(tmp_path, good):
    raw = members_of(good)
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3))
    raw["kind.npy"] = buf.getvalue()
    refuse(forge(tmp_path / "z.tickrec", raw), "'kind.npy'", "not a valid .npy")


def test_wrong_dtype_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["time_ns.npy"] = npy_bytes(make_results().time_ns.astype(np.float64))
    refuse(forge(tmp_path / "d.tickrec", raw), "'time_ns.npy'", "float64", "expected int64")


def test_structured_dtype_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["value.npy"] = npy_bytes(np.zeros(1000, dtype=[("a", "<i8")]))
    refuse(forge(tmp_path / "s.tickrec", raw), "'value.npy'", "not a plain numeric column")


def test_two_dimensional_column_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["value.npy"] = npy_bytes(np.zeros((500, 2), dtype=np.int64))
    refuse(forge(tmp_path / "s.tickrec", raw), "'value.npy'", "one-dimensional")


def test_columns_of_different_length_are_refused(tmp_path, good):
    raw = members_of(good)
    raw["cpu.npy"] = npy_bytes(np.zeros(999, dtype=np.int16))
    refuse(forge(tmp_path / "l.tickrec", raw), "differ in length", "cpu.npy: 999", "time_ns.npy: 1000")


def test_npy_data_shorter_than_its_header_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["source.npy"] = raw["source.npy"][:-10]
    refuse(forge(tmp_path / "h.tickrec", raw), "'source.npy'", "do not match its header")


def test_big_endian_column_is_accepted_and_converted(tmp_path, good):
    raw = members_of(good)
    raw["value.npy"] = npy_bytes(make_results().value.astype(">i8"))
    rec = load_recording(forge(tmp_path / "be.tickrec", raw))
    assert rec.results.value.dtype == np.dtype(np.int64)
    np.testing.assert_array_equal(rec.results.value, make_results().value)


@pytest.mark.parametrize("name, problem", [
    ("../evil", "escapes the archive"),
    ("/abs", "absolute path"),
    ("a\\..\\b", "backslash"),
    ("sub/../../evil", "escapes the archive"),
    ("C:evil", "absolute path"),
    ("dir/", "directory entry"),
    ("./meta.json", "not a plain member name"),
])
def test_member_names_escaping_the_archive_are_refused(tmp_path, good, monkeypatch, name, problem):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    raw = members_of(good)
    raw[name] = b"x"
    bad = forge(work / "trav.tickrec", raw)
    refuse(bad, repr(name), problem)
    assert files_under(tmp_path) == ["good.tickrec", "work", "work/trav.tickrec"]


def test_symlink_member_is_refused(tmp_path, good):
    info = zipfile.ZipInfo("link")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    bad = forge(tmp_path / "link.tickrec", members_of(good), extra_infos=[(info, b"/etc/passwd")])
    refuse(bad, "'link'", "symbolic link")


def test_duplicate_member_names_are_refused(tmp_path, good):
    raw = members_of(good)
    other = npy_bytes(np.zeros(1000, dtype=np.uint8))
    bad = forge(tmp_path / "dup.tickrec", raw, extra_infos=[(zipfile.ZipInfo("kind.npy"), other)])
    refuse(bad, "duplicate member 'kind.npy'")


def test_missing_member_is_refused(tmp_path, good):
    raw = members_of(good)
    del raw["meta.json"]
    refuse(forge(tmp_path / "m.tickrec", raw, fix_hashes=False), "missing member 'meta.json'")
    refuse(forge(tmp_path / "m2.tickrec", raw, fix_hashes=True), "missing member 'meta.json'")


def test_member_present_but_not_in_manifest_is_refused(tmp_path, good):
    raw = members_of(good)
    manifest = json.loads(raw["manifest.json"])
    del manifest["members"]["actions.jsonl"]
    raw["manifest.json"] = json.dumps(manifest).encode()
    refuse(forge(tmp_path / "m.tickrec", raw, fix_hashes=False), "does not list member 'actions.jsonl'")


def test_missing_manifest_is_refused(tmp_path, good):
    raw = members_of(good)
    bad = tmp_path / "nomanifest.tickrec"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in raw.items():
            if name != "manifest.json":
                zf.writestr(name, data)
    refuse(bad, "missing member 'manifest.json'")


def test_member_listed_but_absent_is_refused(tmp_path, good):
    raw = members_of(good)
    manifest = json.loads(raw["manifest.json"])
    manifest["members"]["extra.npy"] = {"sha256": "0" * 64, "size": 1}
    raw["manifest.json"] = json.dumps(manifest).encode()
    refuse(forge(tmp_path / "a.tickrec", raw, fix_hashes=False), "missing member 'extra.npy'")


def test_unlisted_member_is_refused(tmp_path, good):
    raw = members_of(good)
    bad = forge(tmp_path / "u.tickrec", raw, extra_infos=[(zipfile.ZipInfo("notes.txt"), b"hi")])
    refuse(bad, "'notes.txt'", "not listed")


def test_malformed_json_member_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["meta.json"] = b'{"seed": 1,'
    refuse(forge(tmp_path / "j.tickrec", raw), "'meta.json'", "malformed JSON")


def test_json_nan_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["meta.json"] = b'{"seed": NaN}'
    refuse(forge(tmp_path / "n.tickrec", raw), "'meta.json'", "malformed JSON")


def test_deeply_nested_json_is_refused_cleanly(tmp_path, good):
    raw = members_of(good)
    raw["meta.json"] = b"[" * 200_000 + b"]" * 200_000
    refuse(forge(tmp_path / "deep.tickrec", raw), "'meta.json'")


def test_malformed_manifest_is_refused(tmp_path, good):
    raw = members_of(good)
    bad = tmp_path / "mf.tickrec"
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in raw.items():
            zf.writestr(name, b"not json" if name == "manifest.json" else data)
    refuse(bad, "'manifest.json'", "malformed JSON")


@pytest.mark.parametrize("change, needle", [
    ({"members": []}, "members"),
    ({"columns": ["time_ns"]}, "missing cpu"),
    ({"columns": "time_ns"}, "columns"),
    ({"seed": "1"}, "seed"),
    ({"until_ns": -5}, "until_ns"),
])
def test_malformed_manifest_fields_are_refused(tmp_path, good, change, needle):
    refuse(forge(tmp_path / "mf.tickrec", members_of(good), change), "manifest.json", needle)


def test_malformed_actions_line_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["actions.jsonl"] = b'{"t": 0, "action": "a", "args": {}}\n{"t": 1, "action": \n'
    refuse(forge(tmp_path / "a.tickrec", raw), "'actions.jsonl' line 2", "malformed JSON")


def test_action_with_bad_fields_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["actions.jsonl"] = b'{"t": "soon", "action": "a", "args": {}}\n'
    refuse(forge(tmp_path / "a.tickrec", raw), "'actions.jsonl' line 1", "t must be")


def test_invalid_scenario_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["scenario.toml"] = raw["scenario.toml"].replace(b"cpus = 4", b"cpus = 0")
    refuse(forge(tmp_path / "s.tickrec", raw), "'scenario.toml'", "machine.cpus", "out of range")


def test_scenario_with_unknown_key_is_refused(tmp_path, good):
    raw = members_of(good)
    raw["scenario.toml"] += b'\n[evil]\ncommand = "rm -rf /"\n'
    refuse(forge(tmp_path / "s.tickrec", raw), "'scenario.toml'", "evil", "unknown key")


def _bomb_members(good, inflated):
    raw = members_of(good)
    manifest = json.loads(raw["manifest.json"])
    manifest["columns"] = COLUMN_NAMES + ["padding"]
    raw["manifest.json"] = json.dumps(manifest).encode()
    raw["padding.npy"] = npy_bytes(np.zeros(inflated, dtype=np.uint8))
    return raw


def test_zip_bomb_member_over_limit_is_refused(tmp_path, good, monkeypatch):
    monkeypatch.setattr(record, "MAX_MEMBER_BYTES", 1024**2)
    bad = forge(tmp_path / "bomb.tickrec", _bomb_members(good, 4 * 1024**2))
    assert bad.stat().st_size < 100_000
    refuse(bad, "'padding.npy'", "over the limit", "zip bomb")


def test_zip_bomb_total_over_limit_is_refused(tmp_path, good, monkeypatch):
    monkeypatch.setattr(record, "MAX_TOTAL_BYTES", 3 * 1024**2)
    bad = forge(tmp_path / "bomb.tickrec", _bomb_members(good, 4 * 1024**2))
    refuse(bad, "in total", "over the limit")


def test_compression_ratio_over_limit_is_refused(tmp_path, good, monkeypatch):
    monkeypatch.setattr(record, "RATIO_CHECK_MIN_BYTES", 1024**2)
    bad = forge(tmp_path / "bomb.tickrec", _bomb_members(good, 8 * 1024**2))
    refuse(bad, "compression-ratio limit")


@pytest.mark.parametrize("consistent", [False, True], ids=["bad-crc", "crc-and-hash-of-declared-prefix"])
def test_bomb_lying_about_its_size_stays_bounded(tmp_path, good, consistent):
    """A member whose headers declare 1000 bytes but whose data inflates to 64 MiB.

    With *consistent*, the CRC and the manifest also describe just the first
    1000 bytes, so only the .npy header check is left to notice.
    """
    raw = _bomb_members(good, 64 * 1024**2)
    prefix = raw["padding.npy"][:1000]
    changes = None
    if consistent:
        members = {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                   for n, d in raw.items() if n != "manifest.json"}
        members["padding.npy"] = {"sha256": hashlib.sha256(prefix).hexdigest(), "size": 1000}
        changes = {"members": members}
    bad = forge(tmp_path / "liar.tickrec", raw, changes)
    data = bytearray(bad.read_bytes())
    with zipfile.ZipFile(bad) as zf:
        info = zf.getinfo("padding.npy")
    eocd = data.rindex(b"PK\x05\x06")
    central = struct.unpack_from("<I", data, eocd + 16)[0]
    while True:
        name_len, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        if bytes(data[central + 46:central + 46 + name_len]) == b"padding.npy":
            break
        central += 46 + name_len + extra + comment
    # Patch the uncompressed size (and maybe CRC) in the local header and the central directory.
    struct.pack_into("<I", data, info.header_offset + 22, 1000)
    struct.pack_into("<I", data, central + 24, 1000)
    if consistent:
        struct.pack_into("<I", data, info.header_offset + 14, zlib.crc32(prefix))
        struct.pack_into("<I", data, central + 16, zlib.crc32(prefix))
    bad.write_bytes(bytes(data))
    with zipfile.ZipFile(bad) as zf:
        assert zf.getinfo("padding.npy").file_size == 1000

    tracemalloc.start()
    try:
        refuse(bad, "'padding.npy'", "do not match its header" if consistent else "corrupt")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024**2


def test_stream_longer_than_declared_is_cut_off(tmp_path, good, monkeypatch):
    """Even if the zip layer yielded more than the header says, reading stops at the declared size."""

    class Endless:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read(self, n=-1):
            return b"\0" * (n if n and n > 0 else 1024)

    monkeypatch.setattr(zipfile.ZipFile, "open", lambda self, *a, **k: Endless())
    refuse(good, "'manifest.json'", "beyond its declared size")


def test_unsupported_compression_is_refused(tmp_path, good):
    raw = members_of(good)
    bad = tmp_path / "bz.tickrec"
    with zipfile.ZipFile(bad, "w", compression=zipfile.ZIP_BZIP2) as zf:
        for name, data in raw.items():
            zf.writestr(name, data)
    refuse(bad, "compression method 12")


def test_too_many_members_are_refused(tmp_path, good, monkeypatch):
    monkeypatch.setattr(record, "MAX_MEMBERS", 5)
    refuse(good, "members, over the limit of 5")


def test_loading_never_writes_anything(tmp_path, good, monkeypatch):
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before = files_under(tmp_path)
    load_recording(good)
    assert files_under(tmp_path) == before
    assert os.listdir(work) == []


def test_member_with_empty_name_is_refused(tmp_path, good):
    bad = forge(tmp_path / "e.tickrec", members_of(good), extra_infos=[(zipfile.ZipInfo("x"), b"x")])
    data = bytearray(bad.read_bytes())
    # Rename "x" to "" in the central directory by setting its name length to zero.
    eocd = data.rindex(b"PK\x05\x06")
    central = struct.unpack_from("<I", data, eocd + 16)[0]
    while bytes(data[central + 46:central + 47]) != b"x" or struct.unpack_from("<H", data, central + 28)[0] != 1:
        name_len, extra, comment = struct.unpack_from("<HHH", data, central + 28)
        central += 46 + name_len + extra + comment
    struct.pack_into("<H", data, central + 28, 0)
    struct.pack_into("<H", data, central + 32, 1)  # keep the byte as a 1-byte comment so offsets stay valid
    bad.write_bytes(bytes(data))
    refuse(bad, "empty name")


def test_randomly_damaged_recordings_only_raise_input_error(tmp_path, good):
    """Byte flips, insertions and truncations anywhere: a clean refusal or a valid load, nothing else."""
    rng = np.random.default_rng(2024)
    data = good.read_bytes()
    bad = tmp_path / "fuzz" / "bad.tickrec"
    bad.parent.mkdir()
    refused = 0
    for _ in range(300):
        b = bytearray(data)
        mode = rng.integers(3)
        if mode == 0:
            for pos in rng.integers(0, len(b), rng.integers(1, 8)):
                b[pos] = rng.integers(256)
        elif mode == 1:
            del b[rng.integers(len(b)):]
        else:
            pos = int(rng.integers(len(b)))
            b[pos:pos] = rng.bytes(int(rng.integers(1, 20)))
        bad.write_bytes(bytes(b))
        try:
            load_recording(bad)
        except InputError as exc:
            assert str(exc).startswith(str(bad) + ": ")
            refused += 1
    assert refused > 250
    assert files_under(tmp_path) == ["fuzz", "fuzz/bad.tickrec", "good.tickrec"]


def test_a_paused_run_replays_without_the_end_delivery(tmp_path):
    # a recording saved while the run was paused (the GUI's partial results: until = now, nothing settled)
    # replays to that instant without delivering what was in flight, so it still matches
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="100ms"'])
    sim = simulation.Simulation(sc, engine="reference")
    sim.step(40_000_000)                              # a tick is due exactly at 40 ms: in flight at the pause
    res = sim.results()
    res.meta = dict(res.meta, until_ns=sim.now_ns)
    assert res.meta["settled_ns"] is None
    save_recording(tmp_path / "p.tickrec", sc, res)
    rec = load_recording(tmp_path / "p.tickrec")
    ok, details = replay_matches(rec, lambda s, settle: simulation.Simulation(s, engine="reference", settle=settle).run())
    assert ok, details
    settled = simulation.simulate(sc, engine="reference", until_ns=40_000_000)
    assert len(settled) > len(res)                   # ended there, the in-flight ticks would have been delivered


def test_a_recording_from_before_busy_fraction_was_optional_still_loads(tmp_path, good):
    # The old writer always wrote the 0.5 default; beside an idle_period (which decided then, as now) that
    # is a conflict for today's scenario rules: the loader drops the busy_fraction at each level it shares.
    members = members_of(good)
    data = tomllib.loads(members["scenario.toml"].decode())
    data["workload"].update(kind="mixed", busy_fraction=0.5, idle_period={"dist": "fixed", "mean": "3ms"},
                            per_cpu=[{"cpus": [1], "kind": "mixed", "busy_fraction": 0.9,
                                      "idle_period": {"dist": "fixed", "mean": "1ms"}}])
    old = tomli_w.dumps(data)
    members["scenario.toml"] = old.encode()
    rec = load_recording(forge(tmp_path / "old.tickrec", members))
    w = rec.scenario.workload
    assert w.busy_fraction is None and w.idle_period.mean == 3_000_000
    assert w.per_cpu[0].busy_fraction is None and w.per_cpu[0].idle_period.mean == 1_000_000
    # a scenario file with both is still refused (only recordings get the old reading)
    with pytest.raises(InputError, match="conflicts with workload.busy_fraction"):
        scen.loads(old, "my.toml")


@pytest.mark.parametrize("semantics,kept", [(None, None), (7, 0.8)])
def test_an_old_recording_keeps_its_old_reading_of_a_workload_idle_period(tmp_path, good, semantics, kept):
    # Before engine semantics 7 the workload's idle_period also overruled a per-CPU busy_fraction (CPU 1 ran
    # 83 % busy where 80 % is asked today): a recording without `engine_semantics` is read the old way.
    members = members_of(good)
    data = tomllib.loads(members["scenario.toml"].decode())
    data["workload"].update(kind="mixed", idle_period={"dist": "fixed", "mean": "1ms"},
                            per_cpu=[{"cpus": [1], "kind": "mixed", "busy_fraction": 0.8}])
    data["workload"].pop("busy_fraction", None)
    members["scenario.toml"] = tomli_w.dumps(data).encode()
    meta = json.loads(members["meta.json"])
    meta.pop("engine_semantics", None)
    if semantics is not None:
        meta["engine_semantics"] = semantics
    members["meta.json"] = json.dumps(meta).encode()
    rec = load_recording(forge(tmp_path / "r.tickrec", members))
    assert rec.scenario.workload.per_cpu[0].busy_fraction == kept


def test_a_replay_that_differs_across_engine_semantics_says_so(tmp_path, scenario):
    old = make_results()
    old.meta["engine_semantics"] = 6
    rec = load_recording(save_recording(tmp_path / "r.tickrec", scenario, old))
    new = make_results(seed=8)
    new.meta["engine_semantics"] = 7
    ok, details = replay_matches(rec, lambda sc, settle: new)
    assert not ok and details["engine_semantics"] == {"recorded": 6, "replayed": 7}
    assert "recorded with engine semantics 6, replayed with 7" in details["why"]
    same = make_results()
    same.meta["engine_semantics"] = 7
    ok, details = replay_matches(rec, lambda sc, settle: same)
    assert ok and "why" not in details


# -- stored results against the stored scenario ---------------------------------

@pytest.fixture
def simulated(tmp_path):
    from tickscope.sim.simulation import simulate
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="100ms"'])
    path = tmp_path / "c3.tickrec"
    save_recording(path, sc, simulate(sc))
    return path


def test_a_scenario_changed_after_recording_is_refused(tmp_path, simulated):
    # cpus 4 -> 2 with the manifest re-hashed: the GUI drew 4 lanes under a form saying 2 CPUs
    members = members_of(simulated)
    text = tomllib.loads(members["scenario.toml"].decode())
    text["machine"]["cpus"] = 2
    members["scenario.toml"] = tomli_w.dumps(text).encode()
    bad = forge(tmp_path / "cpus.tickrec", members)
    refuse(bad, "machine.cpus = 2", "ncpus = 4", "changed after recording")


def test_cpu_numbers_outside_the_machine_are_refused(tmp_path, simulated):
    members = members_of(simulated)
    cpu = np.load(io.BytesIO(members["cpu.npy"]), allow_pickle=False).copy()
    cpu[3] = 9
    members["cpu.npy"] = npy_bytes(cpu)
    bad = forge(tmp_path / "cpu.tickrec", members)
    refuse(bad, "'cpu.npy'", "0..9", "outside 0..3")


def test_a_real_recording_of_every_tick_layer_preset_loads(tmp_path):
    from tickscope.sim.simulation import simulate
    for name in ("laptop-deep-idle", "unstable-tsc", "pit-only"):
        sc = scen.apply_sets(scen.preset(name), ['run.until="50ms"'])
        save_recording(tmp_path / f"{name}.tickrec", sc, simulate(sc))
        assert load_recording(tmp_path / f"{name}.tickrec").scenario.machine.cpus == sc.machine.cpus


@pytest.mark.parametrize("key, value, message", [
    ("until_ns", "abc", "until_ns must be an integer"),
    ("ncpus", True, "ncpus must be an integer"),
    ("tick_nsec", -5, "tick_nsec must be positive"),
    ("devices", {"a": 1}, "devices must be an array"),
    ("hypervisor", [], "hypervisor must be an object"),
])
def test_meta_of_another_shape_is_refused_naming_the_key(tmp_path, good, key, value, message):
    # with the manifest re-hashed, a meta.json of the wrong types passed every check and failed in the
    # readers: `tickscope export` ended in "ValueError: invalid literal for int()" and a traceback
    raw = members_of(good)
    meta = json.loads(raw["meta.json"])
    meta[key] = value
    raw["meta.json"] = json.dumps(meta).encode()
    refuse(forge(tmp_path / "meta.tickrec", raw), "'meta.json'", message)


@pytest.mark.parametrize("edit, message", [
    (lambda m: m.update(devices=[]), "tick_device[0] must be -1 or an index into devices (0 of them)"),
    (lambda m: m.update(devices=[1] * len(m["devices"])), "devices[0] must be an object"),
    (lambda m: m["devices"][0].pop("periodic_count"), "devices[0].periodic_count must be an integer"),
    (lambda m: m["devices"][0].update(den=0), "devices[0].den must be an integer >= 1"),
    (lambda m: m.update(tick_device=[99] * m["ncpus"]), "tick_device[0] must be -1 or an index into devices"),
    (lambda m: m.update(tick_device=[]), "tick_device has 0 entries for ncpus 4"),
    (lambda m: m.update(tick_device=["a"] * m["ncpus"]), "tick_device[0] must be"),
    (lambda m: m.update(broadcast_device=99), "broadcast_device must be -1 or an index into devices"),
    (lambda m: m.update(cpus=[1, 2, 3, 4]), "cpus[0] must be an object"),
    (lambda m: m["cpus"][1].update(residency_ns="x"), "cpus[1].residency_ns must be an array of integers"),
    (lambda m: m["cpus"][0].update(mode=77), "cpus[0].mode 77 is not a tick mode"),
    (lambda m: m.update(boot_log=[1, 2]), "boot_log[0] must be [time_ns, text]"),
    (lambda m: m.update(cstates=[1, None]), "cstates[0] must be an object"),
    (lambda m: m.update(clocksources=[None]), "clocksources[0] must be an object"),
    (lambda m: m.update(clocksource="nosuch"), 'clocksource "nosuch" is not one of clocksources'),
    (lambda m: m.update(hypervisor={"pit_pending": "zz"}), "hypervisor.pit_pending must be an array of integers"),
    (lambda m: m.update(tick_nsec=1), "tick_nsec 1 is not TICK_NSEC of hz 250"),
    (lambda m: m.update(until_ns=2**62), "until_ns 4611686018427387904 is over the longest run"),
    (lambda m: m.update(tsc_offset=[0]), "tsc_offset has 1 entries for ncpus 4"),
    (lambda m: m.update(tsc_offset=["x"] * m["ncpus"]), "tsc_offset must be an array of integers"),
])
def test_a_meta_whose_entries_the_readers_cannot_use_is_refused_naming_the_entry(tmp_path, edit, message, capsys):
    # with the manifest re-hashed, these reached the readers: `tickscope export` ended in an IndexError,
    # KeyError, TypeError or AttributeError traceback (tick_device[cpu] indexing devices, a device without
    # periodic_count, cpus: [1, 2, ...]), and tick_nsec = 1 allocated memory until the kernel killed it
    from tickscope.sim.cli import main as sim_main
    from tickscope.sim.simulation import simulate

    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="50ms"'])
    raw = members_of(save_recording(tmp_path / "real.tickrec", sc, simulate(sc)))
    meta = json.loads(raw["meta.json"])
    edit(meta)
    raw["meta.json"] = json.dumps(meta).encode()
    bad = forge(tmp_path / "meta.tickrec", raw)
    refuse(bad, "'meta.json'", message)
    assert sim_main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize("key", ["ncpus", "until_ns", "hz", "devices"])
def test_a_meta_without_a_key_every_run_has_is_refused_naming_it(tmp_path, key, capsys):
    # with the manifest re-hashed, a meta.json lacking one ended `tickscope export` in "KeyError: 'ncpus'" and
    # `tickscope gui FILE` in "KeyError: 'hz'" (a traceback, the engine thread aborted at exit)
    from tickscope.sim.cli import main as sim_main
    from tickscope.sim.simulation import simulate

    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="50ms"'])
    raw = members_of(save_recording(tmp_path / "real.tickrec", sc, simulate(sc)))
    meta = json.loads(raw["meta.json"])
    del meta[key]
    raw["meta.json"] = json.dumps(meta).encode()
    bad = forge(tmp_path / "meta.tickrec", raw)
    refuse(bad, "'meta.json'", f"{key} missing")
    assert sim_main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{key} missing" in err and "Traceback" not in err


def _with_column(raw, name, fn):
    arr = np.load(io.BytesIO(raw[f"{name}.npy"]), allow_pickle=False)
    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(fn(arr, {c: np.load(io.BytesIO(raw[f"{c}.npy"])) for c in COLUMN_NAMES})
                                      .astype(arr.dtype)))
    raw[f"{name}.npy"] = buf.getvalue()


@pytest.mark.parametrize("name, fn, message", [
    ("time_ns", lambda a, c: a[::-1], "member 'time_ns.npy': record 2 goes back in time"),
    ("time_ns", lambda a, c: a - 10**12, "member 'time_ns.npy': times -1000000000000.."),
    ("time_ns", lambda a, c: a + 2**62, "(now_ns) of the recorded run"),
    ("value", lambda a, c: np.where(c["kind"] == int(Kind.MODE), -2**62, a), "member 'value.npy': record 0 (MODE) has "
                                                                            "a negative first expiry"),
    ("source", lambda a, c: np.where(c["kind"] == int(Kind.CS_SWITCH), 77, a), "member 'source.npy': a clocksource "
                                                                                "switch to clocksource 77"),
])
def test_an_event_log_no_engine_writes_is_refused_naming_the_column(tmp_path, name, fn, message, capsys):
    # with the manifest re-hashed: a negative first expiry in a MODE record made `tickscope export` try to
    # allocate 856 TiB, a clocksource switch to a clocksource the machine lacks ended it in an IndexError
    # traceback, and records out of time order were drawn and summarised as if nothing were wrong
    from tickscope.sim.cli import main as sim_main
    from tickscope.sim.simulation import simulate

    sc = scen.apply_sets(scen.preset("unstable-tsc"), ['run.until="2s"'])
    res = simulate(sc)
    assert np.count_nonzero(res.kind == int(Kind.CS_SWITCH)) == 1   # the watchdog drops the TSC
    raw = members_of(save_recording(tmp_path / "real.tickrec", sc, res))
    _with_column(raw, name, fn)
    bad = forge(tmp_path / "cols.tickrec", raw)
    refuse(bad, message)
    assert sim_main(["run", str(bad)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1

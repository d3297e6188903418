"""Chrome/Perfetto JSON trace export."""
import json
from collections import Counter

import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.events import Kind
from tickscope.sim.export import ExportCancelled
from tickscope.sim.export import trace
from tickscope.sim.export.trace import write_trace


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def events(doc, ph, name=None):
    return [e for e in doc["traceEvents"] if e["ph"] == ph and (name is None or e["name"] == name)]


def test_trace_has_process_and_one_thread_track_per_cpu(tmp_path, four_cpu_results):
    path = tmp_path / "t.json"
    write_trace(four_cpu_results, path, scen.preset("bare-metal-lapic"))
    doc = load(path)
    assert doc["displayTimeUnit"] == "ns"
    procs = events(doc, "M", "process_name")
    assert [p["args"]["name"] for p in procs] == ["tickscope bare-metal-lapic"]
    threads = events(doc, "M", "thread_name")
    assert sorted((t["tid"], t["args"]["name"]) for t in threads) == [(0, "CPU 0"), (1, "CPU 1"), (2, "CPU 2"),
                                                                       (3, "CPU 3")]
    assert {t["pid"] for t in threads} == {procs[0]["pid"]}
    assert doc["metadata"]["scenario"] == "bare-metal-lapic"
    assert doc["metadata"]["seed"] == 9
    assert doc["metadata"]["records"] == 4502


def test_one_instant_per_tick_on_its_cpu_track(tmp_path, four_cpu_results):
    path = tmp_path / "t.json"
    write_trace(four_cpu_results, path)
    doc = load(path)
    ticks = events(doc, "i", "tick")
    assert len(ticks) == 3500
    assert Counter(t["tid"] for t in ticks) == {0: 1000, 1: 1000, 2: 1000, 3: 500}
    assert all(t["s"] == "t" for t in ticks)
    # CPU 1's tick for slot 7 ms: latency 1000 + 37 + 7 % 5.
    tick = next(t for t in ticks if t["tid"] == 1 and t["args"]["expiry_ns"] == 7_000_000)
    assert tick["args"] == {"expiry_ns": 7_000_000, "latency_ns": 1039, "device": "lapic-deadline"}
    assert tick["ts"] == pytest.approx(7001.039, abs=1e-9)
    assert {t["args"]["device"] for t in ticks if t["tid"] == 2} == {"hpet"}


def test_other_kinds_are_instants_on_their_cpu(tmp_path, four_cpu_results):
    path = tmp_path / "t.json"
    write_trace(four_cpu_results, path)
    doc = load(path)
    irq = events(doc, "i", "irq")
    assert len(irq) == 1 and irq[0]["tid"] == 1
    assert irq[0]["args"] == {"device": "lapic-deadline", "entry_ns": 123_455_000}
    jiffies = events(doc, "i", "jiffies")
    assert len(jiffies) == 1000 and {j["tid"] for j in jiffies} == {0}
    unknown = events(doc, "i", "kind_200")
    assert len(unknown) == 1
    assert unknown[0]["tid"] == 2 and unknown[0]["args"] == {"source": 7, "value": -5}


def test_jiffies_counter_follows_jiffies_records(tmp_path, four_cpu_results):
    path = tmp_path / "t.json"
    write_trace(four_cpu_results, path)
    counter = events(load(path), "C", "jiffies")
    assert len(counter) == 1000
    assert counter[0]["args"] == {"jiffies": 4_294_937_297}
    assert counter[0]["ts"] == pytest.approx(1.5)
    assert counter[-1]["args"] == {"jiffies": 4_294_938_296}


def test_tick_rate_counter_per_cpu_per_10ms(tmp_path, four_cpu_results):
    path = tmp_path / "t.json"
    write_trace(four_cpu_results, path)
    doc = load(path)
    for cpu in (0, 1, 2):
        rate = events(doc, "C", f"tick rate CPU {cpu}")
        assert [(e["ts"], e["args"]) for e in rate] == [(0, {"Hz": 1000})]
    # CPU 3 stops ticking at 500 ms: the rate drops to zero in that window.
    rate3 = events(doc, "C", "tick rate CPU 3")
    assert [(e["ts"], e["args"]) for e in rate3] == [(0, {"Hz": 1000}), (500_000, {"Hz": 0})]


def test_timestamps_keep_nanosecond_precision(tmp_path, build_results):
    t = 1_234_567_891_234_567
    results = build_results([(t, 0, int(Kind.TICK), 0, t - 1), (5, 0, int(Kind.TICK), 0, 0)])
    path = tmp_path / "t.json"
    write_trace(results, path)
    text = path.read_text()
    assert '"ts":1234567891234.567' in text
    assert '"ts":0.005' in text


def test_idle_and_steal_become_slices(tmp_path, monkeypatch, build_results):
    codes = {"IDLE_ENTER": 201, "IDLE_EXIT": 202, "STEAL": 203}
    real = trace._kind_code
    monkeypatch.setattr(trace, "_kind_code", lambda name: codes.get(name, real(name)))
    results = build_results([
        (100_000, 1, 201, 0, 0), (350_000, 1, 202, 0, 0),
        (400_000, 1, 201, 0, 0), (410_500, 1, 202, 0, 0),
        (600_000, 2, 201, 0, 0),                       # still idle when the run ends
        (1_000_000, 0, 203, 0, 30_000),                # 30 us stolen, ending here
        (2_000_000, 0, int(Kind.TICK), 0, 1_999_000),
    ], meta={"now_ns": 5_000_000})
    path = tmp_path / "t.json"
    write_trace(results, path)
    doc = load(path)
    idle = sorted((e["tid"], e["ts"], e["dur"]) for e in events(doc, "X", "idle"))
    assert idle == [(1, 100.0, 250.0), (1, 400.0, 10.5), (2, 600.0, 4400.0)]
    assert [e["args"].get("open_at_end") for e in events(doc, "X", "idle") if e["tid"] == 2] == [True]
    steal = events(doc, "X", "steal")
    assert [(e["tid"], e["ts"], e["dur"]) for e in steal] == [(0, 970.0, 30.0)]
    # Slice kinds are not also drawn as instants.
    assert [e["name"] for e in events(doc, "i")] == ["tick"]


def test_slice_rows_for_kinds_this_version_lacks_are_skipped(tmp_path, build_results):
    results = build_results([(100, 0, 201, 0, 0)])
    path = tmp_path / "t.json"
    write_trace(results, path)
    doc = load(path)
    assert events(doc, "X") == []
    assert [e["name"] for e in events(doc, "i")] == ["kind_201"]


def test_streamed_in_small_chunks_gives_same_events(tmp_path, monkeypatch, four_cpu_results):
    write_trace(four_cpu_results, tmp_path / "big.json")
    monkeypatch.setattr(trace, "CHUNK_RECORDS", 7)
    count = write_trace(four_cpu_results, tmp_path / "small.json")
    a, b = load(tmp_path / "big.json"), load(tmp_path / "small.json")
    assert a["traceEvents"] == b["traceEvents"]
    assert count == len(b["traceEvents"])


def test_empty_results_give_a_valid_trace(tmp_path, build_results):
    path = tmp_path / "t.json"
    write_trace(build_results([], meta={"tick_device": [0, 0]}), path)
    doc = load(path)
    assert sorted(t["args"]["name"] for t in events(doc, "M", "thread_name")) == ["CPU 0", "CPU 1"]
    assert events(doc, "i") == []


def test_scenario_name_comes_from_meta_without_a_scenario(tmp_path, four_cpu_results):
    four_cpu_results.meta["scenario"] = scen.preset("pit-only").to_toml()
    path = tmp_path / "t.json"
    write_trace(four_cpu_results, path)
    assert events(load(path), "M", "process_name")[0]["args"]["name"] == "tickscope pit-only"


def test_cancelled_export_leaves_no_file(tmp_path, monkeypatch, four_cpu_results):
    monkeypatch.setattr(trace, "CHUNK_RECORDS", 100)
    seen = []

    def progress(done, total):
        seen.append((done, total))
        return len(seen) < 3

    with pytest.raises(ExportCancelled):
        write_trace(four_cpu_results, tmp_path / "t.json", progress=progress)
    assert seen == [(100, 4502), (200, 4502), (300, 4502)]
    assert list(tmp_path.iterdir()) == []


def test_tick_rate_counter_on_sparse_ticks(tmp_path, build_results):
    # Ticks in windows 3 (x2), 4 (x1) and 9 (x1) of a 100 ms run; everything else is zero.
    ms = 1_000_000
    results = build_results([(31 * ms, 0, 0, 0, 0), (35 * ms, 0, 0, 0, 0), (41 * ms, 0, 0, 0, 0),
                             (95 * ms, 0, 0, 0, 0)], meta={"now_ns": 100 * ms})
    path = tmp_path / "t.json"
    write_trace(results, path)
    rate = [(e["ts"], e["args"]["Hz"]) for e in events(load(path), "C", "tick rate CPU 0")]
    assert rate == [(0, 0), (30_000, 200), (40_000, 100), (50_000, 0), (90_000, 100)]


def test_long_sparse_run_does_not_allocate_per_window(tmp_path, build_results):
    # 40 000 s of simulated time is 4e9 windows: per-window arrays would need tens of GB.
    t = 40_000 * 10**9
    results = build_results([(5, 0, 0, 0, 0), (t, 0, 0, 0, t - 1)])
    path = tmp_path / "t.json"
    write_trace(results, path)
    rate = [(e["ts"], e["args"]["Hz"]) for e in events(load(path), "C", "tick rate CPU 0")]
    assert rate == [(0, 100), (10_000, 0), (t // 1000, 100)]


def test_trace_of_a_real_run(tmp_path):
    simulation = pytest.importorskip("tickscope.sim.simulation")
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="100ms"'])
    results = simulation.Simulation(sc, engine="reference").run()
    n_ticks = int((results.kind == int(Kind.TICK)).sum())
    assert n_ticks > 0
    path = tmp_path / "real.json"
    write_trace(results, path)
    doc = load(path)
    threads = events(doc, "M", "thread_name")
    assert sorted(t["args"]["name"] for t in threads) == [f"CPU {i}" for i in range(sc.machine.cpus)]
    assert len(events(doc, "i", "tick")) == n_ticks
    assert events(doc, "M", "process_name")[0]["args"]["name"] == "tickscope bare-metal-lapic"

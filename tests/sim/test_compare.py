import copy

import pytest

from tickscope.sim import analysis, scenario, simulation
from tickscope.sim.compare import diff_summaries, flatten_summary, format_diff


@pytest.fixture(scope="module")
def summaries():
    base = scenario.preset("bare-metal-lapic")
    a = analysis.summarize(simulation.simulate(scenario.apply_sets(base, ["run.until=500ms"]), engine="reference"))
    b = analysis.summarize(simulation.simulate(
        scenario.apply_sets(base, ["run.until=500ms", "kernel.hz=1000"]), engine="reference"))
    return a, b


def test_identical_summaries_have_no_differences(summaries):
    a, _ = summaries
    rows = diff_summaries(a, copy.deepcopy(a))
    assert rows and not any(r["differs"] for r in rows)
    assert all(r["delta"] in (0, None) for r in rows)


def test_every_metric_of_run_json_is_listed_except_the_log(summaries):
    a, _ = summaries
    metrics = {r["metric"] for r in diff_summaries(a, a)}
    assert "hz" in metrics and "clocks.wall_drift_ns" in metrics
    for c in a["cpus"]:
        for key, value in c.items():
            if key == "cpu":
                continue
            if isinstance(value, dict):  # e.g. cstate_residency_ns: one metric per state
                assert all(f"cpus[{c['cpu']}].{key}.{k}" in metrics for k in value)
            else:
                assert f"cpus[{c['cpu']}].{key}" in metrics
    assert not any(m.startswith("log") for m in metrics)


def test_hz_change_shows_delta_and_percent(summaries):
    a, b = summaries
    rows = {r["metric"]: r for r in diff_summaries(a, b)}
    hz = rows["hz"]
    assert (hz["a"], hz["b"], hz["delta"], hz["pct"], hz["differs"]) == (250, 1000, 750, 300.0, True)
    exp = rows["cpus[0].ticks_expected"]
    assert exp["delta"] == b["cpus"][0]["ticks_expected"] - a["cpus"][0]["ticks_expected"]


def test_metric_only_in_one_run_is_reported_with_none():
    a = {"hz": 250, "cpus": [{"cpu": 0, "ticks_lost": 0}]}
    b = {"hz": 250, "steal_ns": 5, "cpus": [{"cpu": 0, "ticks_lost": 0, "cstate_residency_ns": {"C1": 10, "C6": 90}},
                                          {"cpu": 1, "ticks_lost": 3}]}
    rows = {r["metric"]: r for r in diff_summaries(a, b)}
    assert rows["steal_ns"]["a"] is None and rows["steal_ns"]["b"] == 5 and rows["steal_ns"]["differs"]
    assert rows["steal_ns"]["delta"] is None
    assert rows["cpus[0].cstate_residency_ns.C6"]["b"] == 90
    assert rows["cpus[1].ticks_lost"]["a"] is None
    assert not rows["hz"]["differs"]


def test_percent_is_undefined_from_zero_and_strings_have_no_delta():
    rows = {r["metric"]: r for r in diff_summaries({"x": 0, "cs": "tsc", "ok": True}, {"x": 4, "cs": "hpet", "ok": False})}
    assert rows["x"]["delta"] == 4 and rows["x"]["pct"] is None
    assert rows["cs"]["delta"] is None and rows["cs"]["differs"]
    assert rows["ok"]["delta"] is None and rows["ok"]["differs"]


def test_flatten_keys_cpus_by_cpu_number():
    flat = flatten_summary({"cpus": [{"cpu": 3, "idle_ns": 7}], "log": ["x"]})
    assert flat == {"cpus[3].idle_ns": 7}


def test_format_diff_flags_differences(summaries):
    a, b = summaries
    text = format_diff(diff_summaries(a, b), only_differences=True, label_a="250Hz", label_b="1000Hz")
    lines = text.splitlines()
    assert "250Hz" in lines[0] and "1000Hz" in lines[0]
    hz = next(line for line in lines if line.split()[1] == "hz")
    assert hz.startswith("*") and "+750" in hz and "+300.00%" in hz
    assert all(line.startswith("*") for line in lines[1:])

import json

import pytest

from tickscope.sim.cli import main
from tickscope.sim.simulation import cython_available


@pytest.mark.skipif(not cython_available(), reason="Cython engine not built")
def test_bench_quick_json_reports_every_figure(capsys):
    assert main(["bench", "--quick", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("engine_events_per_s", "reference_events_per_s", "ratio", "bytes_per_event", "peak_rss_mb",
                "tick_layer_events_per_s", "tick_layer_mixed_events_per_s", "tick_layer_mixed_simulated_s_per_wall_s",
                "summary_records_per_s", "many_cores_wall_s"):
        assert isinstance(out[key], float) and out[key] > 0, key
    # the log is 20 bytes a record; the standard scenario logs 1.125 records per event (one jiffies record
    # per 8 ticks): 22.5 bytes per event exactly
    assert out["bytes_per_event"] == pytest.approx(22.5, abs=0.01)
    ticks = out["engine_run"]["simulated_ns"] // 1_000_000 * 8           # 8 CPUs at HZ=1000, one event a tick
    assert ticks <= out["engine_run"]["events"] <= ticks * 1.001           # plus the boot-time mode switches
    assert out["ratio"] > 1.0
    assert out["summary_run"]["records"] == out["engine_run"]["records"]    # the same log, summarised
    run = out["tick_layer_mixed_run"]
    assert run["simulated_s_per_wall_s"] == pytest.approx(run["simulated_ns"] / 1e9 / run["wall_s"])
    # the many-cores target (10 s in under 10 s of wall time), scaled to the quick bench's 1 s
    many = out["many_cores_run"]
    assert (many["scenario"], many["cpus"], many["simulated_ns"]) == ("many-cores", 256, 1_000_000_000)
    assert many["target_wall_s"] == 1.0
    assert many["wall_s"] == pytest.approx(many["engine_wall_s"] + many["summary_wall_s"], rel=1e-6)
    # 256 CPUs ticking at HZ=250 with a mixed load: at least the busy half of the 256 x 250 ticks
    assert many["events"] > 256 * 250 // 2
    assert out["engine_build"] in ("profile-guided", "plain")


def test_top_level_help_describes_bench_as_it_is(capsys):
    # it said "(and, later, GUI frame time)": --gui and --graph have been there for a while
    from tickscope.sim.cli import build_parser

    text = build_parser().format_help()
    assert "later" not in text and "--gui" in text


def test_the_tick_layer_line_says_whether_the_20_m_target_is_met():
    from tickscope.sim.cli.bench import TICK_LAYER_TARGET_EVENTS_PER_S, _met

    assert TICK_LAYER_TARGET_EVENTS_PER_S == 20e6
    assert (_met(20e6), _met(19.99e6), _met(28.5e6)) == ("met", "NOT met", "met")


@pytest.mark.skipif(not cython_available(), reason="Cython engine not built")
def test_bench_text_names_the_target_beside_the_tick_layer_figures(capsys):
    import re

    assert main(["bench", "--quick"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if x.startswith("tick layer"))
    m = re.search(r"busy ([\d.]+) M events/s, mixed idle ([\d.]+) M events/s .*target 20 M: busy (met|NOT met), "
                  r"mixed (met|NOT met)\)$", line)
    assert m, line
    for value, verdict in ((m.group(1), m.group(3)), (m.group(2), m.group(4))):
        assert (float(value) >= 20) == (verdict == "met"), line

"""The plain-text summary block for mailing lists."""
import pytest

from tickscope.sim.export.summary import WIDTH, format_ns, summary_markdown, summary_text, write_summary_markdown


def cpu_entry(cpu, device="lapic-deadline", delivered=500, lost=0, late=0, dup=0, p50=1200, lat_max=4800):
    return {"cpu": cpu, "tick_device": device, "ticks_expected": 500, "ticks_delivered": delivered,
            "ticks_lost": lost, "ticks_late": late, "ticks_duplicated": dup, "wakeups": 500, "idle_ns": 0,
            "broadcast_received": 0, "latency_ns_p50": p50, "latency_ns_max": lat_max}


def make_summary(n_cpus, **extra):
    cpus = [cpu_entry(i) for i in range(n_cpus)]
    summary = {"scenario": "bare-metal-lapic", "seed": 1, "until_ns": 2_000_000_000, "events": 123456,
               "hz": 250, "clocksource": "tsc", "jiffies_delta": 500, "cpus": cpus,
               "clocks": {"wall_drift_ns": -35}, "log": ["clocksource: Switched to clocksource tsc"]}
    summary.update(extra)
    return summary


def assert_fits(text):
    for line in text.splitlines():
        assert len(line) <= 72, f"{len(line)} columns: {line!r}"
        assert line.isascii()
        assert line == line.rstrip()


@pytest.mark.parametrize("n_cpus", [1, 4, 256])
def test_summary_fits_in_72_columns(n_cpus):
    text = summary_text(make_summary(n_cpus))
    assert WIDTH == 72
    assert_fits(text)
    assert text.endswith("\n")


def test_summary_has_the_key_numbers():
    summary = make_summary(4)
    summary["cpus"][2] = cpu_entry(2, device="hpet", delivered=480, lost=20, late=3, dup=1, p50=2500, lat_max=73_000)
    lines = summary_text(summary).splitlines()
    assert "scenario      bare-metal-lapic" in lines
    assert "seed          1" in lines
    assert "simulated     2 s" in lines
    assert "HZ            250" in lines
    assert "clocksource   tsc" in lines
    assert "jiffies       +500" in lines
    assert "wall drift    -35 ns" in lines
    rows = {line.split()[0]: line.split() for line in lines if line[:4].strip().isdigit()}
    assert sorted(rows) == ["0", "1", "2", "3"]
    assert rows["2"] == ["2", "hpet", "500", "480", "20", "3", "1", "2.50us", "73.00us"]
    assert rows["0"] == ["0", "lapic-deadline", "500", "500", "0", "0", "0", "1.20us", "4.80us"]
    total = next(line.split() for line in lines if line.startswith(" all"))
    assert total == ["all", "-", "2000", "1980", "20", "3", "1", "-", "73.00us"]


def test_many_cpus_are_summarised_with_the_worst_listed():
    summary = make_summary(256)
    summary["cpus"][17] = cpu_entry(17, delivered=450, lost=50)
    summary["cpus"][200] = cpu_entry(200, late=7, lat_max=900_000)
    summary["cpus"][3] = cpu_entry(3, device="hpet", lat_max=1_000_000)
    text = summary_text(summary)
    lines = text.splitlines()
    assert len(lines) < 40
    by_label = {line.split()[0]: line.split() for line in lines if line.strip()}
    assert by_label["min"][1:5] == ["-", "500", "450", "0"]
    assert by_label["med"][1:5] == ["-", "500", "500", "0"]
    assert by_label["max"][1:5] == ["-", "500", "500", "50"]
    assert by_label["max"][-1] == "1.00ms"
    assert by_label["all"][1:6] == ["-", "128000", "127950", "50", "7"]
    start = next(i for i, line in enumerate(lines) if line.startswith("worst 5 of 256 CPUs"))
    worst = [line.split()[0] for line in lines[start + 1:start + 6]]
    assert worst[:3] == ["17", "200", "3"]
    assert any(line.startswith("tick devices: lapic-deadline x255, hpet x1") for line in lines)


def test_long_names_and_huge_numbers_still_fit():
    summary = make_summary(3, scenario="x" * 200 + " with a very long name", clocksource="c" * 90)
    summary["cpus"][0] = cpu_entry(0, device="Hyper-V clockevent", delivered=123_456_789_012, lost=10**9,
                                   p50=10**15, lat_max=3 * 10**12)
    summary["cpus"][1]["tick_device"] = "lapic\tdeadline\u00b5\n"
    text = summary_text(summary)
    assert_fits(text)
    assert "Hyper-V clock~ " in text
    assert "123.5G" in text


def test_missing_and_unknown_fields_do_not_break_it():
    text = summary_text({"cpus": [{"cpu": 0}, "garbage"], "new_field_from_a_later_issue": {"x": 1},
                         "clocks": None})
    assert_fits(text)
    assert "scenario      -" in text.splitlines()
    assert text.splitlines()[-1].split() == ["0", "-", "-", "-", "-", "-", "-", "-", "-"]


def test_empty_summary_renders():
    assert_fits(summary_text({}))


@pytest.mark.parametrize("ns, text", [(0, "0ns"), (850, "850ns"), (1000, "1.00us"), (12_345, "12.35us"),
                                      (123_456, "123.5us"), (4_000_000, "4.00ms"), (-2500, "-2.50us"),
                                      (12_345_678_901, "12.35s"), (None, "-")])
def test_format_ns(ns, text):
    assert format_ns(ns) == text


def test_markdown_wraps_the_block_in_a_fence(tmp_path):
    summary = make_summary(4)
    md = summary_markdown(summary, "Review: LAPIC deadline")
    assert md.startswith("# Review: LAPIC deadline\n\n```text\n")
    assert summary_text(summary) in md
    assert md.endswith("```\n")
    path = write_summary_markdown(summary, tmp_path / "summary.md")
    assert path.read_text(encoding="utf-8").startswith("# tickscope: bare-metal-lapic\n")


def test_backticks_in_a_name_cannot_close_the_fence():
    md = summary_markdown(make_summary(1, scenario="evil ```` name"))
    fence = md.splitlines()[2]
    assert fence == "`````text"
    assert md.splitlines()[-1] == "`````"

"""timer-list --format v0.9: the layout 5.14-6.8 kernels print (.nohz_mode, .get_time, tick_sched_timer, tick_nohz_handler)."""
import pytest

from tickscope.sim.cli import main
from tickscope.sim.importers import parse_timer_list

#: NOHZ_MODE_INACTIVE / LOWRES / HIGHRES of <= 6.8's struct tick_sched, for (nohz, highres) as scenario keys
CASES = [('"idle"', "true", 2), ('"idle"', "false", 1), ('"off"', "true", 0), ('"off"', "false", 0)]


def _text(capsys, fmt, nohz, highres):
    argv = ["timer-list", "--preset", "bare-metal-hpet-c3", "--until", "500ms", "--set", f"kernel.nohz={nohz}",
            "--set", f"kernel.highres={highres}"]
    assert main(argv + (["--format", fmt] if fmt else [])) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("nohz, highres, mode", CASES)
def test_v09_prints_nohz_mode_in_place_of_nohz_and_highres(capsys, nohz, highres, mode):
    old = _text(capsys, "v0.9", nohz, highres)
    new = _text(capsys, None, nohz, highres)
    assert old.startswith("Timer List Version: v0.9\n") and new.startswith("Timer List Version: v0.10\n")
    assert old.count(f"  .nohz_mode      : {mode}\n") == 4          # one per CPU, padded like every other field
    assert "  .nohz    " not in old and "  .highres " not in old and ".nohz_mode" not in new
    a, b = parse_timer_list(old), parse_timer_list(new)
    for ca, cb in zip(a["cpus"], b["cpus"]):
        assert ca["highres_active"] == cb["highres_active"] and ca["nohz_active"] == cb["nohz_active"]
        same = {k: v for k, v in cb["tick_sched"].items() if k not in ("nohz", "highres")}
        assert {k: v for k, v in ca["tick_sched"].items() if k != "nohz_mode"} == same
    # the tick's handlers under the names of those kernels
    if highres == "true":
        assert "tick_sched_timer" in old and "tick_nohz_handler" not in old and "tick_nohz_handler" in new
    elif nohz == '"idle"':
        assert " event_handler:  tick_nohz_handler\n" in old and "tick_nohz_lowres_handler" in new


def test_an_unknown_format_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["timer-list", "--preset", "pit-only", "--format", "v0.7"])
    assert exc.value.code == 2 and "invalid choice: 'v0.7'" in capsys.readouterr().err


@pytest.mark.parametrize("nohz, highres, mode", CASES)
def test_run_json_reports_nohz_mode_and_last_tick_as_the_timer_list_does(capsys, nohz, highres, mode):
    import json

    text = _text(capsys, "v0.9", nohz, highres)
    parsed = parse_timer_list(text)
    assert main(["run", "--preset", "bare-metal-hpet-c3", "--until", "500ms", "--set", f"kernel.nohz={nohz}",
                 "--set", f"kernel.highres={highres}", "--json"]) == 0
    cpus = json.loads(capsys.readouterr().out)["cpus"]
    assert [c["nohz_mode"] for c in cpus] == [mode] * 4
    assert [c["last_tick"] for c in cpus] == [c["tick_sched"]["last_tick"] for c in parsed["cpus"]]


def test_v09_prints_each_clock_bases_get_time_between_resolution_and_offset(capsys):
    # 5.14-6.8's print_base: .base, .index, .resolution, .get_time (%ps of the base's clock reader), .offset.
    # Base order MONOTONIC, REALTIME, BOOTTIME, TAI, then the four _SOFT bases with the same readers.
    readers = ["ktime_get", "ktime_get_real", "ktime_get_boottime", "ktime_get_clocktai"] * 2
    old = _text(capsys, "v0.9", '"idle"', "true")
    new = _text(capsys, None, '"idle"', "true")
    cpu0 = old.split("cpu: 1\n")[0]
    got = [line.split(":", 1)[1].strip() for line in cpu0.splitlines() if line.startswith("  .get_time:")]
    assert got == readers
    assert old.count("  .get_time:   ") == 4 * 8          # every base of every CPU
    assert " clock 1:\n  .base:       " in old
    assert "  .resolution: 1 nsecs\n  .get_time:   ktime_get_real\n  .offset:     1767225600000000000 nsecs\n" in old
    assert ".get_time" not in new                        # the v0.10 capture in data/real has none
    assert parse_timer_list(old)["cpus"][0]["bases"][3]["get_time"] == "ktime_get_clocktai"

"""parse_timer_list on the real v0.10 file, on other versions, and on broken copies."""
import pytest

from tickscope.sim.errors import InputError
from tickscope.sim.importers import parse_timer_list


def _line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_real_file_header_and_cpus(real_timer_list):
    d = parse_timer_list(real_timer_list, "real_timer_list.txt")
    assert d["version"] == "v0.10"
    assert d["max_clock_bases"] == 8
    assert d["now_ns"] == 5902973839769
    assert [c["cpu"] for c in d["cpus"]] == [0, 1]
    assert [len(c["bases"]) for c in d["cpus"]] == [8, 8]


def test_real_file_hrtimer_bases_and_timers(real_timer_list):
    cpu0 = parse_timer_list(real_timer_list)["cpus"][0]
    mono = cpu0["bases"][0]
    assert mono["base"] == "000000002a2afe02"
    assert mono["resolution_ns"] == 1
    assert mono["offset_ns"] == 0
    assert cpu0["bases"][1]["offset_ns"] == 1795541268539675493
    assert [t["callback"] for t in mono["timers"]] == [
        "tick_nohz_handler", "timerfd_tmrproc", "hrtimer_wakeup", "dl_task_timer",
        "watchdog_timer_fn", "hrtimer_wakeup", "hrtimer_wakeup"]
    first, third = mono["timers"][0], mono["timers"][2]
    assert (first["ptr"], first["state"], first["soft_ns"], first["hard_ns"]) == (
        "000000003be0aa8f", "01", 5902976000000, 5902976000000)
    assert (third["soft_ns"], third["hard_ns"]) == (5903107810701, 5903107966700)
    assert all(not b["timers"] for b in cpu0["bases"][1:])


def test_real_file_tick_sched_fields(real_timer_list):
    cpus = parse_timer_list(real_timer_list)["cpus"]
    ts0, ts1 = cpus[0]["tick_sched"], cpus[1]["tick_sched"]
    assert list(ts0)[:8] == ["expires_next", "hres_active", "nr_events", "nr_retries", "nr_hangs",
                             "max_hang_time", "nohz", "highres"]
    assert ts0["nr_events"] == 59509 and ts1["nr_events"] == 61677
    assert ts0["last_tick"] == 5902956000000
    assert ts0["iowait_sleeptime"] == 242396194
    assert ts1["next_timer"] == 9223372036854775807
    assert ts1["idle_expires"] == 9223372036854775807
    assert cpus[0]["jiffies"] == cpus[1]["jiffies"] == 4296368005
    assert cpus[0]["nohz_active"] is True and cpus[0]["highres_active"] is True


def test_real_file_broadcast_and_tick_devices(real_timer_list):
    d = parse_timer_list(real_timer_list)
    assert d["broadcast"]["device"] is None
    assert d["broadcast"]["mode"] == 1
    assert (d["broadcast"]["mask"], d["broadcast"]["oneshot_mask"]) == ("0", "0")
    assert [e["cpu"] for e in d["tick_devices"]] == [0, 1]
    dev = d["tick_devices"][0]["device"]
    assert dev["name"] == "lapic-deadline"
    assert (dev["max_delta_ns"], dev["min_delta_ns"], dev["mult"], dev["shift"], dev["mode"]) == (
        1798493412911, 1000, 10256776, 25, 3)
    assert dev["next_event"] == 5902976000000
    assert dev["set_next_event"] == "lapic_next_deadline"
    assert dev["shutdown"] == "lapic_timer_shutdown"
    assert dev["periodic"] == "lapic_timer_set_periodic"
    assert dev["oneshot"] == "lapic_timer_set_oneshot"
    assert dev["oneshot_stopped"] == "lapic_timer_shutdown"
    assert dev["resume"] is None
    assert dev["event_handler"] == "hrtimer_interrupt"
    assert [e["device"]["retries"] for e in d["tick_devices"]] == [6, 11]
    assert [e["wakeup_device"] for e in d["tick_devices"]] == [None, None]
    assert d["tick_devices"][0]["mode"] == 1


OLD_V09 = """\
Timer List Version: v0.9
HRTIMER_MAX_CLOCK_BASES: 8
now at 1000000000 nsecs

cpu: 0
 clock 0:
  .base:       00000000deadbeef
  .index:      0
  .resolution: 4000000 nsecs
  .get_time:   ktime_get
  .offset:     0 nsecs
active timers:
 #0: <00000000cafef00d>, tick_sched_timer, S:01
 # expires at 1004000000-1004000000 nsecs [in 4000000 to 4000000 nsecs]
  .expires_next   : 9223372036854775807 nsecs
  .hres_active    : 0
  .nr_events      : 0
  .nr_retries     : 0
  .nr_hangs       : 0
  .max_hang_time  : 0
  .nohz_mode      : 1
  .last_tick      : 996000000 nsecs
  .tick_stopped   : 0
  .some_new_field : 17
jiffies: 4294892546

Tick Device: mode:     0
Broadcast device
Clock Event Device: hpet
 max_delta_ns:   149983013277
 min_delta_ns:   13410
 mult:           61496111
 shift:          32
 mode:           1
 next_event:     9223372036854775807 nsecs
 set_next_event: hpet_legacy_next_event
 shutdown:       hpet_legacy_shutdown
 periodic:       hpet_legacy_set_periodic
 oneshot:        hpet_legacy_set_oneshot
 resume:         hpet_legacy_resume
 event_handler:  tick_handle_oneshot_broadcast
 future_field:   whatever

 retries:        0

tick_broadcast_mask: 1
tick_broadcast_oneshot_mask: 0

Tick Device: mode:     1
Per CPU device: 0
Clock Event Device: lapic
 max_delta_ns:   343597391201
 min_delta_ns:   2401
 mult:           26843545
 shift:          32
 mode:           3
 next_event:     1004000000 nsecs
 set_next_event: lapic_next_event
 shutdown:       lapic_timer_shutdown
 periodic:       lapic_timer_set_periodic
 oneshot:        lapic_timer_set_oneshot
 oneshot stopped: lapic_timer_shutdown
 event_handler:  tick_nohz_handler

 retries:        0
Wakeup Device: <NULL>

"""


def test_older_version_with_nohz_mode_get_time_and_extra_lines():
    d = parse_timer_list(OLD_V09, "old.txt")
    assert d["version"] == "v0.9"
    cpu = d["cpus"][0]
    assert cpu["bases"][0]["get_time"] == "ktime_get"
    assert cpu["bases"][0]["resolution_ns"] == 4000000
    assert cpu["tick_sched"]["nohz_mode"] == 1
    assert cpu["tick_sched"]["some_new_field"] == 17
    assert cpu["nohz_active"] is True and cpu["highres_active"] is False
    bc = d["broadcast"]
    assert bc["device"]["name"] == "hpet" and bc["device"]["mult"] == 61496111
    assert bc["device"]["future_field"] == "whatever"
    assert bc["mask_cpus"] == [0] and bc["oneshot_mask_cpus"] == []
    assert d["tick_devices"][0]["device"]["event_handler"] == "tick_nohz_handler"


def test_v08_without_wakeup_lines_parses():
    text = OLD_V09.replace("v0.9", "v0.8").replace("Wakeup Device: <NULL>\n", "")
    d = parse_timer_list(text)
    assert "wakeup_device" not in d["tick_devices"][0]


def test_missing_lines_are_tolerated(real_timer_list):
    text = "".join(l for l in real_timer_list.splitlines(True)
                   if not l.startswith(("  .idle_calls", "  .get_time", " periodic:")))
    d = parse_timer_list(text)
    assert "idle_calls" not in d["cpus"][0]["tick_sched"]
    assert d["tick_devices"][0]["device"]["periodic"] is None


@pytest.mark.parametrize("needle", ["  .nr_events      : 59509", " # expires at 5903038302322", " mult:           10256776"])
def test_cut_mid_line_names_the_line(real_timer_list, needle):
    cut = real_timer_list.index(needle) + len(needle) - 3
    with pytest.raises(InputError) as exc:
        parse_timer_list(real_timer_list[:cut], "tl.txt")
    assert f"tl.txt:{real_timer_list[:cut].count(chr(10)) + 1}:" in str(exc.value)
    assert "mid-line" in str(exc.value)


def test_cut_between_lines_inside_a_device_entry(real_timer_list):
    marker = "Per CPU device: 1\nClock Event Device: lapic-deadline\n max_delta_ns:   1798493412911\n"
    cut = real_timer_list.index(marker) + len(marker)
    with pytest.raises(InputError, match=r"tl\.txt:\d+: .*lapic-deadline.*retries"):
        parse_timer_list(real_timer_list[:cut], "tl.txt")


def test_missing_per_cpu_tick_device_entry_is_truncation(real_timer_list):
    cut = real_timer_list.index("Tick Device: mode:     1\nPer CPU device: 1")
    with pytest.raises(InputError, match="1 of 2 per-CPU"):
        parse_timer_list(real_timer_list[:cut], "tl.txt")


def test_dropped_header_names_line_1(real_timer_list):
    text = real_timer_list.split("\n", 1)[1]
    with pytest.raises(InputError) as exc:
        parse_timer_list(text, "tl.txt")
    assert str(exc.value).startswith("tl.txt:1: expected 'Timer List Version")


def test_binary_junk_names_the_line(real_timer_list):
    lines = real_timer_list.splitlines(True)
    lines.insert(40, "\x00\x7f\x03\x89PNG junk\n")
    with pytest.raises(InputError, match=r"^tl\.txt:41: binary"):
        parse_timer_list("".join(lines), "tl.txt")


def test_non_numeric_field_names_line_and_field(real_timer_list):
    text = real_timer_list.replace("  .nr_events      : 59509", "  .nr_events      : lots")
    line = _line_of(text, "  .nr_events      : lots")
    with pytest.raises(InputError) as exc:
        parse_timer_list(text, "tl.txt")
    msg = str(exc.value)
    assert msg.startswith(f"tl.txt:{line}: .nr_events: expected an integer")
    assert "'lots'" in msg


def test_non_numeric_device_field(real_timer_list):
    text = real_timer_list.replace(" shift:          25", " shift:          twenty", 1)
    with pytest.raises(InputError, match=rf"^tl\.txt:{_line_of(text, 'twenty')}: shift: expected an integer"):
        parse_timer_list(text, "tl.txt")


def test_unrecognised_line_is_an_error(real_timer_list):
    text = real_timer_list.replace("active timers:\n #0:", "active timers:\n???? what\n #0:", 1)
    with pytest.raises(InputError, match=rf"^tl\.txt:{_line_of(text, '????')}: unrecognised line"):
        parse_timer_list(text, "tl.txt")


def test_timer_without_expiry_line(real_timer_list):
    text = real_timer_list.replace(
        " # expires at 5902976000000-5902976000000 nsecs [in 2160231 to 2160231 nsecs]\n #1: <00000000d4203131>",
        " #1: <00000000d4203131>", 1)
    with pytest.raises(InputError, match="expires at"):
        parse_timer_list(text, "tl.txt")


def test_empty_input():
    with pytest.raises(InputError, match="^x:1: empty"):
        parse_timer_list("", "x")

"""procfs renderers reproduce the kernel's text byte for byte."""
import pytest

from tickscope.sim.importers import parse_dmesg, parse_interrupts, parse_timer_list
from tickscope.sim.procfs import dmesg_line, render_interrupts, render_timer_list

_DEVICE_KEYS = ("name", "max_delta_ns", "min_delta_ns", "mult", "shift", "mode", "next_event", "set_next_event",
                "shutdown", "periodic", "oneshot", "oneshot_stopped", "resume", "event_handler", "retries")


def _snapshot(parsed: dict) -> dict:
    """Only the documented snapshot keys, so the renderer cannot lean on parser extras."""
    def device(d):
        return None if d is None else {k: d.get(k) for k in _DEVICE_KEYS}
    return {
        "version": parsed["version"], "max_clock_bases": parsed["max_clock_bases"], "now_ns": parsed["now_ns"],
        "cpus": [{"cpu": c["cpu"], "jiffies": c["jiffies"], "tick_sched": dict(c["tick_sched"]),
                  "bases": [{"index": b["index"], "base": b["base"], "resolution_ns": b["resolution_ns"],
                             "offset_ns": b["offset_ns"],
                             "timers": [{k: t[k] for k in ("ptr", "callback", "state", "soft_ns", "hard_ns")}
                                        for t in b["timers"]]} for b in c["bases"]]}
                 for c in parsed["cpus"]],
        "broadcast": {"mode": parsed["broadcast"]["mode"], "device": device(parsed["broadcast"]["device"]),
                      "mask": parsed["broadcast"]["mask"], "oneshot_mask": parsed["broadcast"]["oneshot_mask"]},
        "tick_devices": [{"cpu": e["cpu"], "mode": e["mode"], "device": device(e["device"]),
                          "wakeup_device": e["wakeup_device"]} for e in parsed["tick_devices"]],
    }


def test_real_timer_list_round_trips_byte_for_byte(real_timer_list):
    rendered = render_timer_list(_snapshot(parse_timer_list(real_timer_list, "real")))
    assert rendered.encode() == real_timer_list.encode()


def _hand_snapshot():
    dev = {"name": "hpet", "max_delta_ns": 149983013277, "min_delta_ns": 13410, "mult": 61496111, "shift": 32,
           "mode": 3, "next_event": 2004000000, "set_next_event": "hpet_clkevt_set_next_event",
           "shutdown": "hpet_clkevt_set_state_shutdown", "periodic": None, "oneshot": "hpet_clkevt_set_state_oneshot",
           "oneshot_stopped": None, "resume": "hpet_clkevt_legacy_resume",
           "event_handler": "tick_handle_oneshot_broadcast", "retries": 0}
    return {
        "version": "v0.10", "max_clock_bases": 2, "now_ns": 2000000000,
        "cpus": [{"cpu": 0, "jiffies": 4294892796,
                  "bases": [{"index": 0, "base": "00000000aaaaaaaa", "resolution_ns": 1, "offset_ns": 0, "timers": []},
                            {"index": 1, "base": "00000000bbbbbbbb", "resolution_ns": 1, "offset_ns": 500,
                             "timers": [{"ptr": "00000000cccccccc", "callback": "hrtimer_wakeup", "state": "01",
                                         "soft_ns": 2000001500, "hard_ns": 2000051500}]}],
                  "tick_sched": {"expires_next": 2004000000, "nohz": 0, "iowait_sleeptime": 7}}],
        "broadcast": {"mode": 1, "device": dev, "mask": "0", "oneshot_mask": "1"},
        "tick_devices": [{"cpu": 0, "mode": 1, "device": None, "wakeup_device": None}],
    }


EXPECTED_HAND = """\
Timer List Version: v0.10
HRTIMER_MAX_CLOCK_BASES: 2
now at 2000000000 nsecs

cpu: 0
 clock 0:
  .base:       00000000aaaaaaaa
  .index:      0
  .resolution: 1 nsecs
  .offset:     0 nsecs
active timers:
 clock 1:
  .base:       00000000bbbbbbbb
  .index:      1
  .resolution: 1 nsecs
  .offset:     500 nsecs
active timers:
 #0: <00000000cccccccc>, hrtimer_wakeup, S:01
 # expires at 2000001500-2000051500 nsecs [in 1000 to 51000 nsecs]
  .expires_next   : 2004000000 nsecs
  .nohz           : 0
  .iowait_sleeptime: 7 nsecs
jiffies: 4294892796

Tick Device: mode:     1
Broadcast device
Clock Event Device: hpet
 max_delta_ns:   149983013277
 min_delta_ns:   13410
 mult:           61496111
 shift:          32
 mode:           3
 next_event:     2004000000 nsecs
 set_next_event: hpet_clkevt_set_next_event
 shutdown:       hpet_clkevt_set_state_shutdown
 oneshot:        hpet_clkevt_set_state_oneshot
 resume:         hpet_clkevt_legacy_resume
 event_handler:  tick_handle_oneshot_broadcast

 retries:        0

tick_broadcast_mask: 0
tick_broadcast_oneshot_mask: 1

Tick Device: mode:     1
Per CPU device: 0
Clock Event Device: <NULL>
"""


def test_render_broadcast_device_offsets_and_null_percpu_device():
    assert render_timer_list(_hand_snapshot()) == EXPECTED_HAND


def test_rendered_hand_snapshot_parses_back():
    d = parse_timer_list(EXPECTED_HAND, "hand")
    assert d["broadcast"]["device"]["name"] == "hpet"
    assert d["broadcast"]["oneshot_mask_cpus"] == [0]
    assert d["tick_devices"][0]["device"] is None


def test_real_interrupts_round_trip(real_interrupts):
    parsed = parse_interrupts(real_interrupts, "irq")
    rows = [(r["label"], r["counts"], r["description"]) for r in parsed["rows"]]
    assert render_interrupts(parsed["cpus"], rows) == real_interrupts


def test_render_interrupts_layout_from_scratch():
    text = render_interrupts(2, [("0", [41, 0], "IO-APIC   2-edge      timer"),
                                 ("LOC", [1234567, 89], "Local timer interrupts"),
                                 ("ERR", [0], "")])
    assert text == ("           CPU0       CPU1       \n"
                    "  0:         41          0  IO-APIC   2-edge      timer\n"
                    "LOC:    1234567         89   Local timer interrupts\n"
                    "ERR:          0\n")


@pytest.mark.parametrize("ns, expected", [
    (0, "[    0.000000] x"),
    (4_000, "[    0.000004] x"),
    (4_999, "[    0.000004] x"),
    (5_902_973_839_769, "[ 5902.973839] x"),
    (123_456_789_000_000_000, "[123456789.000000] x"),
])
def test_dmesg_line_timestamp(ns, expected):
    assert dmesg_line(ns, "x") == expected


def test_dmesg_line_reproduces_real_log(real_dmesg):
    for line in real_dmesg.splitlines():
        secs, rest = line[1:].split("]", 1)
        whole, frac = secs.strip().split(".")
        assert dmesg_line(int(whole) * 10**9 + int(frac) * 1000, rest[1:]) == line


def test_dmesg_clocksource_lines_survive_parse_and_render(real_dmesg):
    for cs in parse_dmesg(real_dmesg)["clocksources"]:
        text = cs["line"].split("] ", 1)[1]
        assert dmesg_line(cs["time_ns"], text) == cs["line"]

"""parse_ftrace on hand-written lines in raw trace and trace-cmd report formats."""
from tickscope.sim.importers import parse_ftrace

RAW = """\
# tracer: nop
#
# entries-in-buffer/entries-written: 5/5   #P:2
#
#                                _-----=> irqs-off/BH-disabled
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
          <idle>-0       [001] d.h1.   123.456789: local_timer_entry: vector=236
          <idle>-0       [001] d.h2.   123.456790: hrtimer_expire_entry: hrtimer=00000000a1b2c3d4 function=tick_nohz_handler now=123456000000
          <idle>-0       [001] d.h2.   123.456795: hrtimer_expire_exit: hrtimer=00000000a1b2c3d4
          <idle>-0       [001] d.h2.   123.456796: hrtimer_start: hrtimer=00000000a1b2c3d4 function=tick_nohz_handler expires=123460000000 softexpires=123460000000 mode=ABS|PINNED|HARD
          <idle>-0       [001] d.h1.   123.456799: local_timer_exit: vector=236
 kworker/0:1-events-42   ( 42) [000] dN.1   124.000000: tick_stop: success=0 dependency=SCHED
            bash-1234    [000] ....   124.100000: sys_enter: NR 0 (0, 0, 0)
"""

REPORT = """\
cpus=2
          <idle>-0     [000]  5902.973839812: local_timer_entry:    vector=236
          <idle>-0     [000]  5902.973840: hrtimer_expire_entry: hrtimer=0xffff9b0c7fc1e6c0 function=tick_sched_timer now=5902973836000
       trace-cmd-977   [001]  5902.974000: timer:tick_stop:      success=1 dependency=NONE
"""


def test_raw_trace_format():
    ev = parse_ftrace(RAW)
    assert [e["event"] for e in ev] == ["local_timer_entry", "hrtimer_expire_entry", "hrtimer_expire_exit",
                                        "hrtimer_start", "local_timer_exit", "tick_stop"]
    first = ev[0]
    assert (first["comm"], first["pid"], first["cpu"], first["flags"], first["time_ns"]) == (
        "<idle>", 0, 1, "d.h1.", 123_456_789_000)
    assert first["vector"] == 236 and first["system"] == "irq_vectors"
    assert ev[1]["function"] == "tick_nohz_handler" and ev[1]["now"] == 123456000000
    assert ev[1]["hrtimer"] == "00000000a1b2c3d4" and ev[1]["system"] == "timer"
    start = ev[3]
    assert (start["expires"], start["softexpires"], start["mode"]) == (123460000000, 123460000000, "ABS|PINNED|HARD")
    stop = ev[5]
    assert (stop["comm"], stop["pid"], stop["tgid"], stop["cpu"], stop["flags"]) == ("kworker/0:1-events", 42, 42, 0, "dN.1")
    assert (stop["success"], stop["dependency"]) == (0, "SCHED")


def test_trace_cmd_report_format():
    ev = parse_ftrace(REPORT)
    assert [e["event"] for e in ev] == ["local_timer_entry", "hrtimer_expire_entry", "tick_stop"]
    assert ev[0]["time_ns"] == 5_902_973_839_812 and ev[0]["flags"] is None and ev[0]["vector"] == 236
    assert ev[1]["time_ns"] == 5_902_973_840_000 and ev[1]["function"] == "tick_sched_timer"
    assert (ev[2]["comm"], ev[2]["pid"], ev[2]["cpu"], ev[2]["success"], ev[2]["dependency"]) == (
        "trace-cmd", 977, 1, 1, "NONE")


def test_nothing_matching_gives_empty_list():
    assert parse_ftrace("hello\n\n# comment\n") == []

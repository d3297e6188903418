"""User timers with slack (hrtimer_start_range_ns): they run from their expiry on, the device is programmed for
expiry + slack, so an interrupt in between runs them early.  Both engines; numbers worked out by hand."""
import numpy as np
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.events import Kind
from tickscope.sim.simulation import cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])
MS = 1_000_000
# one CPU, no C-states (an idle CPU halts: no exit latency), tickless idle, high-res, no watchdog, HZ=250;
# interrupts take 1 us to arrive
ONE_CPU = ["machine.cpus=1", "machine.cstates=[]", 'kernel.nohz="idle"', "kernel.highres=true", "kernel.watchdog=false",
           "kernel.hz=250", 'workload.kind="timers"']


def run(timers, until="100ms", engine="reference"):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ONE_CPU + [f"workload.timers={timers}", f'run.until="{until}"'])
    return simulate(sc, engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
def test_a_lone_timer_with_slack_runs_at_its_hard_expiry(engine):
    # a 10 ms timer with 3 ms of slack on an otherwise idle CPU: nothing else interrupts between k*10 ms and
    # k*10 ms + 3 ms (the tick is stopped), so it runs at the hard expiry, 13, 23, ... 93 ms (+ the 1 us IRQ
    # latency, within the few ns the TSC clock's rounding moves it); the record keeps the expiry, k*10 ms
    res = run('[{kind="periodic", period="10ms", slack="3ms"}]', engine=engine)
    rows = res.kind == Kind.UTIMER
    assert res.value[rows].tolist() == [k * 10 * MS for k in range(1, 10)]
    assert np.abs(res.time_ns[rows] - (np.arange(1, 10) * 10 * MS + 3 * MS + 1000)).max() <= 10
    cpu = analysis.summarize(res)["cpus"][0]
    # within its slack it is not late; 9 ran (103 ms is past the end), none overdue
    assert (cpu["timers_fired"], cpu["timers_late"], cpu["timers_overdue"]) == (9, 0, 0)
    # without slack: at the expiry
    res = run('[{kind="periodic", period="10ms"}]', engine=engine)
    assert np.abs(res.time_ns[res.kind == Kind.UTIMER] - (np.arange(1, 11) * 10 * MS + 1000)).max() <= 10


@pytest.mark.parametrize("engine", ENGINES)
def test_slack_lets_a_timer_ride_on_another_ones_interrupt(engine):
    # A: every 8 ms, no slack.  B: every 5 ms, 4 ms of slack (runs anywhere in [5k, 5k + 4] ms).
    # Without slack the CPU wakes at every multiple of 5 or 8 ms: 200 + 125 - 25 (multiples of 40) = 300 a second.
    # With it, worked through for the first 40 ms: 8 (A, and B's 5), 14 (B's 10 at its hard expiry), 16 (A, B's
    # 15), 24 (A, B's 20), 29 (B's 25), 32 (A, B's 30), 39 (B's 35), 40 (A, B's 40): 8 wake-ups, then the same
    # again every 40 ms: 200 a second.  B never runs before its expiry nor after expiry + slack (+ the 1 us).
    slack = simulate(scen.apply_sets(scen.preset("bare-metal-lapic"), ONE_CPU + [
        'workload.timers=[{kind="periodic", period="8ms"}, {kind="periodic", period="5ms", slack="4ms"}]',
        'run.until="1s"']), engine=engine)
    b = (slack.kind == Kind.UTIMER) & (slack.source == 1)
    early = slack.time_ns[b] - slack.value[b]
    assert early.min() >= 0 and early.max() <= 4 * MS + 1000 + 10
    first = slack.time_ns[(slack.kind == Kind.UTIMER) & (slack.time_ns < 40_500_000)]
    assert sorted({int(round(t / MS)) for t in first}) == [8, 14, 16, 24, 29, 32, 39, 40]
    none = run('[{kind="periodic", period="8ms"}, {kind="periodic", period="5ms"}]', until="1s", engine=engine)
    got = [analysis.summarize(r)["cpus"][0] for r in (none, slack)]
    # + 1: the first tick at 4 ms (the switch to high-res) wakes the CPU too
    assert [c["wakeups"] for c in got] == [301, 201]
    assert [c["timers_fired"] for c in got] == [325, 325] and [c["timers_late"] for c in got] == [0, 0]


def test_timer_list_prints_a_timers_soft_and_hard_expiry(capsys):
    # /proc/timer_list's "# expires at <soft>-<hard> nsecs [in <soft - now> to <hard - now> nsecs]"
    assert main(["timer-list", "--preset", "bare-metal-lapic", "--at", "15ms", *(a for s in ONE_CPU for a in ("--set", s)),
                 "--set", 'workload.timers=[{kind="periodic", period="10ms", slack="3ms"}]']) == 0
    text = capsys.readouterr().out
    assert "hrtimer_wakeup, S:01\n # expires at 20000000-23000000 nsecs [in " in text

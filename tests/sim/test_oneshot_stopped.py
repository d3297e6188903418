"""tick_program_event(KTIME_MAX) on a device without set_state_oneshot_stopped (engine semantics 19).

kernel/time/tick-oneshot.c tick_program_event: KTIME_MAX -> clockevents_switch_state(dev, ONESHOT_STOPPED), then
dev->next_event = KTIME_MAX. __clockevents_switch_state returns -ENOSYS when the driver has no
set_state_oneshot_stopped, and clockevents_switch_state then leaves the state alone: the device stays ONESHOT and
its hardware stays armed for what it was last programmed for. The local APIC timer has the callback
(lapic_timer_shutdown); Xen's vcpuop timer and Hyper-V's stimer do not (xen_vcpuop_clockevent, hv_stimer_init).
"""
import re

import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.events import Kind
from tickscope.sim.simulation import simulate

IDLE = ['workload.kind="idle"', "kernel.watchdog=false", 'kernel.nohz="idle"', 'run.until="1s"']


def _cpu1(preset, engine):
    res = simulate(scen.apply_sets(scen.preset(preset), IDLE), engine=engine)
    rows = res.cpu == 1
    return list(zip(res.time_ns[rows].tolist(), [Kind(k) for k in res.kind[rows].tolist()], res.value[rows].tolist()))


@pytest.mark.parametrize("engine", ["reference", "cython"])
@pytest.mark.parametrize("preset,stale", [
    # the first tick switches CPU 1 to high-res with the sched_timer at the next jiffy, and the idle loop then stops
    # it (nothing else pending: KTIME_MAX); the device was programmed for that next jiffy and fires there once
    ("hyperv", 8_000_000),
    ("xen-pv", 12_000_000),    # its first tick (due at 4 ms) is handled at 10 ms, and switches with 12 ms next
])
def test_a_device_without_oneshot_stopped_fires_once_more_after_the_tick_stops(engine, preset, stale):
    recs = _cpu1(preset, engine)
    stop = next(i for i, (_, k, _) in enumerate(recs) if k == Kind.TICK_STOP)
    assert recs[stop][2] == 2**63 - 1                        # stopped for good: no timer left
    after = recs[stop + 1:]
    irqs = [(t, v) for t, k, v in after if k == Kind.IRQ]
    assert len(irqs) == 1 and stale < irqs[0][1] < stale + 10_000   # the stale expiry, raised a little after it
    assert not any(k == Kind.TICK for _, k, _ in after)      # hrtimer_interrupt finds nothing due
    assert sum(k == Kind.WAKE for _, k, _ in after) == 1


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_the_local_apic_timer_is_stopped_and_stays_quiet(engine):
    recs = _cpu1("bare-metal-lapic", engine)
    stop = next(i for i, (_, k, _) in enumerate(recs) if k == Kind.TICK_STOP)
    assert [k for _, k, _ in recs[stop + 1:]] == [Kind.IDLE]


@pytest.mark.parametrize("preset,mode,line", [("hyperv", 3, False), ("xen-pv", 3, False), ("bare-metal-lapic", 4, True)])
def test_timer_list_shows_the_state_each_driver_leaves(capsys, preset, mode, line):
    argv = ["timer-list", "--preset", preset, "--at", "500ms"]
    for s in IDLE[:-1]:
        argv += ["--set", s]
    assert main(argv) == 0
    text = capsys.readouterr().out
    cpu1 = text[text.index("Per CPU device: 1"):]
    cpu1 = cpu1[:cpu1.index("Tick Device")]
    assert re.search(r"^ mode:\s+(\d+)$", cpu1, re.M).group(1) == str(mode)
    assert ("oneshot stopped:" in cpu1) == line

"""The watchdog kthread's per-CPU check of an unstable current TSC (clocksource_verify_percpu, 6.13+).

kernel/time/clocksource.c: __clocksource_watchdog_kthread runs clocksource_verify_percpu for a current clocksource
that is UNSTABLE and VERIFY_PERCPU (the TSC: arch/x86/kernel/tsc.c) before it selects another: "Checking clocksource
tsc synchronization from CPU %d to CPUs %*pbl." (all other CPUs up to verify_n_cpus = 8; else the first online CPU
and seven random ones), "Not enough CPUs to check clocksource 'tsc'." on one CPU, then for CPUs whose TSC read
(in an IPI) comes before the checking CPU's first read or after its second: "CPUs %*pbl behind/ahead of CPU %d"
and "CPU %d check durations %lldns - %lldns". A real log (a 2025 LKML report) has the lines in this order:
Marking ..., tsc: Marking TSC unstable ..., TSC found unstable ..., sched_clock: ..., Checking ..., Switched ...
"""
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.events import Kind
from tickscope.sim.simulation import simulate


def _log(preset, *sets, engine="cython"):
    res = simulate(scen.apply_sets(scen.preset(preset), list(sets)), engine=engine)
    return res, analysis.kernel_log(res)


def _index(log, text):
    return next(i for i, line in enumerate(log) if text in line)


def test_cpulist_writes_runs_as_ranges():
    assert analysis.cpulist([]) == ""
    assert analysis.cpulist([3]) == "3"
    assert analysis.cpulist([0, 2, 3, 4, 5, 7]) == "0,2-5,7"
    assert analysis.cpulist([9, 8, 1, 0]) == "0-1,8-9"


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_one_cpu_has_no_other_to_check(engine):
    _, log = _log("unstable-tsc", "machine.cpus=1", 'run.until="2s"', engine=engine)
    i = _index(log, "Not enough CPUs to check clocksource 'tsc'.")
    assert log[i] == "[    1.024000] clocksource: Not enough CPUs to check clocksource 'tsc'."
    assert _index(log, "TSC found unstable after boot") < i < _index(log, "Switched to clocksource hpet")
    assert not any("Checking clocksource" in line for line in log)


def test_a_drifting_tsc_that_every_cpu_reads_alike_is_checked_and_found_in_step():
    # 3000 ppm fast on all four CPUs alike (invariant, no offsets): marked at the first judged round, 1.024 s on
    # CPU 1; the check finds no CPU ahead or behind, so it prints its first line only
    res, log = _log("bare-metal-lapic", "machine.tsc_drift_ppm=3000", 'run.until="2s"')
    (bad,) = [e for e in analysis.watchdog_events(res) if e["unstable"]]
    assert (bad["time_ns"], bad["cpu"]) == (1_024_000_000, 1)
    i = _index(log, "Checking clocksource")
    assert log[i] == "[    1.024000] clocksource: Checking clocksource tsc synchronization from CPU 1 to CPUs 0,2-3."
    assert "Switched to clocksource hpet" in log[i + 1]


def test_a_tsc_that_stopped_longer_in_c6_reads_behind_the_other():
    # unstable-tsc: 2 CPUs whose non-invariant TSC stops in C6; marked by CPU 1's round at 1.024 s. Each CPU's TSC
    # has lost its C6 time so far (the engine's tsc_read): the CPU that slept less in C6 reads ahead
    res, log = _log("unstable-tsc", 'run.until="2s"')
    t, test_cpu = 1_024_000_000, 1
    c6 = next(i for i, st in enumerate(res.meta["cstates"]) if st["name"] == "C6")
    lost, entered = [0, 0], [None, None]
    for i in range(len(res)):
        if res.time_ns[i] > t:
            break
        c = int(res.cpu[i])
        if res.kind[i] == Kind.IDLE:
            entered[c] = (int(res.source[i]), int(res.time_ns[i]))
        elif res.kind[i] == Kind.WAKE:
            entered[c] = None
            lost[c] += int(res.value[i]) if res.source[i] == c6 else 0
    assert entered[0] is not None and entered[0][0] == c6   # CPU 0 sleeps in C6 when CPU 1 checks it
    # CPU 0's TSC stands still until the IPI has woken it: it reads its value at sleep entry
    cpu0 = entered[0][1] - lost[0]
    cpu1 = t - lost[1]
    assert abs(cpu0 - cpu1) > 1_000_000                      # far more than the 89 us round trip
    where = "ahead of" if cpu0 > cpu1 else "behind"
    i = _index(log, "Checking clocksource")
    assert log[i:i + 3] == [
        f"[    1.024000] clocksource: Checking clocksource tsc synchronization from CPU {test_cpu} to CPUs 0.",
        f"[    1.024000] clocksource:         CPUs 0 {where} CPU {test_cpu} for clocksource tsc.",
        # the IPI (2 us), CPU 0's exit from C6 (85 us), the reply (2 us), on CPU 1's own TSC (2 GHz: mult
        # 8388608, shift 24, exact)
        f"[    1.024000] clocksource:         CPU {test_cpu} check durations 89000ns - 89000ns for clocksource tsc."]
    assert "Switched to clocksource hpet" in log[i + 3]


def test_more_than_eight_cpus_check_the_first_and_seven_random_ones_the_same_way_each_run():
    logs = [_log("unstable-tsc", "machine.cpus=12", 'run.until="2s"')[1] for _ in range(2)]
    assert logs[0] == logs[1]
    line = logs[0][_index(logs[0], "Checking clocksource")]
    test_cpu = int(line.split("from CPU ")[1].split()[0])
    listed = line.split("to CPUs ")[1].rstrip(".")
    cpus = set()
    for part in listed.split(","):
        lo, _, hi = part.partition("-")
        cpus |= set(range(int(lo), int(hi or lo) + 1))
    assert (0 if test_cpu else 1) in cpus and test_cpu not in cpus and 1 <= len(cpus) <= 8

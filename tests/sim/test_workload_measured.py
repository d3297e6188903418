"""What a ``[workload]`` does, measured on runs and held to figures worked out by hand: fixed periods exactly,
random ones within statistical bounds (about 4 sigma), user timers at their rates, per-CPU overrides on their
own CPUs only, and the same ``run --json`` from the same seed on either engine."""
import json

import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.events import Kind
from tickscope.sim.simulation import cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])
FAST = ENGINES[-1]
MS = 1_000_000
S = 1_000_000_000
# four CPUs that halt when idle (no C-states: no exit latency), tickless high-res, no watchdog
HALT = ["machine.cpus=4", "machine.cstates=[]", 'kernel.nohz="idle"', "kernel.highres=true", "kernel.watchdog=false"]


def run(sets, until_ns, engine=FAST, seed=None):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), HALT + sets)
    return simulate(sc, engine=engine, until_ns=until_ns, seed=seed)


def busy_share(res, until_ns):
    return [1 - c["idle_ns"] / until_ns for c in analysis.per_cpu(res)]


@pytest.mark.parametrize("engine", ENGINES)
def test_fixed_periods_give_the_busy_fraction_exactly(engine):
    # busy 1 ms, busy 25 %: idle 3 ms; 250 cycles of 4 ms in 1 s, each CPU asleep 250 x 3 ms and woken 250 times
    res = run(['workload.kind="mixed"', "workload.busy_fraction=0.25", 'workload.busy_period={dist="fixed", mean="1ms"}'],
              S, engine)
    assert [(c["idle_ns"], c["wakeups"]) for c in analysis.per_cpu(res)] == [(750 * MS, 250)] * 4


@pytest.mark.parametrize("engine", ENGINES)
def test_a_c_states_exit_latency_comes_before_the_busy_period(engine):
    # the same 1 ms / 3 ms on one CPU sleeping in C6 (85 us to leave): each cycle is 1 + 3 + 0.085 = 4.085 ms, the
    # exit counted as residency.  The first sleep (1 ms on) is in C1: no C-states before the CPU's first tick
    # (engine semantics 18); its idle period ends at 4 ms and C1's 2 us exit at 4.002 ms.  Then wake-ups at
    # 4.002 + k x 4.085 ms, k = 1..243 (996.657 ms): 244 in all; busy to 997.657 ms and asleep to the end:
    # 243 x 3.085 + 2.343 = 751.998 ms in C6, 3.002 in C1, 755 ms idle
    res = run(["machine.cpus=1", 'machine.cstates=["C1", "C6"]', 'workload.kind="mixed"', "workload.busy_fraction=0.25",
               'workload.busy_period={dist="fixed", mean="1ms"}'], S, engine)
    (c,) = analysis.per_cpu(res)
    assert (c["idle_ns"], c["wakeups"]) == (755 * MS, 244)
    assert c["cstate_residency_ns"] == {"C1": 3_002_000, "C6": 751_998_000}
    wakes = res.time_ns[res.kind == Kind.WAKE]
    assert wakes[:3].tolist() == [4_002_000, 8_087_000, 12_172_000]


@pytest.mark.parametrize("busy_period,fraction,seconds,share_tol,stops,stops_tol", [
    # busy U(1, 3) ms, busy 30 %: idle periods scaled by 7/3, U(2.333, 7) ms; a cycle is 6.667 ms on average, 3000
    # in 20 s.  Per cycle 0.7 B - 0.3 I has variance 0.49 x 1/3 + 0.09 x 49/27 = 0.327 ms^2, so the measured share
    # has a spread of 0.572 / (6.667 sqrt(3000)) = 0.0016: 0.3 +- 0.0065 is 4 of them.  The tick stops once per
    # idle period: 3000 +- 4 x 12 (renewal count: variance T var(cycle) / mean^3 = 20000 x 2.148 / 296.3)
    ('{dist="uniform", min="1ms", max="3ms"}', 0.3, 20, 0.0065, 3000, 48),
    # busy exp(3 ms), busy 40 %: idle exp(4.5 ms), cycles of 7.5 ms, 4000 in 30 s; the count varies by
    # sqrt(30000 x (9 + 20.25) / 7.5^3) = 46 (4 sigma: 183); the share by sqrt(0.36 x 9 + 0.16 x 20.25) /
    # (7.5 sqrt(4000)) = 0.0054 (4 sigma: 0.0215).  A mean off by 5 % moves the count by 200.
    ('{dist="exponential", mean="3ms"}', 0.4, 30, 0.0215, 4000, 183),
], ids=["uniform", "exponential"])
def test_random_busy_periods_keep_the_busy_fraction_and_cycle_count_within_their_spread(
        busy_period, fraction, seconds, share_tol, stops, stops_tol):
    until = seconds * S
    res = run(['workload.kind="mixed"', f"workload.busy_fraction={fraction}", f"workload.busy_period={busy_period}"],
              until)
    assert all(abs(s - fraction) < share_tol for s in busy_share(res, until)), busy_share(res, until)
    assert all(abs(c["tick_stops"] - stops) < stops_tol for c in analysis.per_cpu(res))


def test_user_timers_fire_at_their_rates_and_their_work_is_the_only_busy_time():
    # periodic 7 ms: 10 s / 7 ms = 1428 runs (9.996 s), exactly; random 137 Hz: a Poisson count of 1370 +- 4 x 37.
    # Each run is 20 us of work that queues behind the last, so a CPU is idle for all but fired x 20 us.
    until = 10 * S
    res = run(['workload.kind="timers"', 'workload.timers=[{kind="periodic", period="7ms"}, {kind="random", rate_hz=137}]'],
              until)
    for c in analysis.per_cpu(res):
        rows = (res.kind == Kind.UTIMER) & (res.cpu == c["cpu"])
        periodic, random = int((res.source[rows] == 0).sum()), int((res.source[rows] == 1).sum())
        assert periodic == 1428 and abs(random - 1370) < 148
        assert c["timers_fired"] == periodic + random and c["timers_overdue"] == 0
        assert c["idle_ns"] == until - c["timers_fired"] * 20_000


@pytest.mark.parametrize("engine", ENGINES)
def test_a_periodic_timer_skips_the_periods_a_slow_wake_overran(engine):
    # a 5 ms timer on a CPU whose deepest state takes 12 ms to leave (chosen once the tick is stopped; no timer work
    # keeps the CPU in the idle loop between wakes): expiry 15 ms runs at 27.001 ms (12 ms exit + 1 us IRQ latency),
    # is forwarded past that to 30 ms (20 and 25 skipped), which runs at 42.001 ms, ... every 15 ms.  With the two
    # before the tick stopped (5 and 10 ms, on time), expiries 15 + 15 k run at 27.001 + 15 k ms for k = 0..64,
    # and k = 65 (990 ms) wakes at 1002.001 ms, an exit the end still delivers: 2 + 66 = 68 runs, 66 of them late
    res = run(["machine.cpus=1", 'workload.kind="timers"', "workload.timer_work=0",
               'machine.cstates=["C1", {name="slow", exit_latency="12ms", target_residency="2us", stops_timer=false}]',
               'workload.timers=[{kind="periodic", period="5ms"}]'], S, engine)
    rows = res.kind == Kind.UTIMER
    assert res.value[rows].tolist() == [5 * MS, 10 * MS] + [(15 + 15 * k) * MS for k in range(66)]
    (c,) = analysis.per_cpu(res)
    assert (c["timers_fired"], c["timers_late"], c["timers_overdue"]) == (68, 66, 0)


def test_per_cpu_overrides_reach_their_cpus_only():
    # CPU 0: busy 0.7 ms fixed, idle exp(1.5 ms): busy 0.7 / 2.2 = 0.318 +- 4 x 0.0023 over 20 s; CPUs 1 and 3: the
    # workload's 30 % with U(1, 3) ms busy periods (+- 0.0065, above); CPU 2: idle, woken only by timers.  Every CPU has
    # the workload's 7 ms timer (20 s / 7 ms = 2857 runs); CPUs 1 and 3 also a 137 Hz one (2740 +- 4 x 52), CPU 2 its
    # own 900 Hz one (18000 +- 4 x 134).  No timer work, so CPU 2 never runs.
    until = 20 * S
    res = run(['workload.kind="mixed"', "workload.busy_fraction=0.3", "workload.timer_work=0",
               'workload.busy_period={dist="uniform", min="1ms", max="3ms"}',
               'workload.timers=[{kind="periodic", period="7ms", slack="500us"}, {kind="random", rate_hz=137, cpus=[1, 3]}]',
               'workload.per_cpu=[{cpus=[2], kind="timers", timers=[{kind="random", rate_hz=900, slack="50us"}]}, '
               '{cpus=[0], kind="mixed", idle_period={dist="exponential", mean="1500us"}, busy_period={dist="fixed", mean="700us"}}]'],
              until)
    share = busy_share(res, until)
    assert abs(share[0] - 0.7 / 2.2) < 0.0092 and abs(share[1] - 0.3) < 0.0065 and abs(share[3] - 0.3) < 0.0065
    assert share[2] == 0
    rows = res.kind == Kind.UTIMER
    count = {(c, s): int(((res.cpu == c) & (res.source == s) & rows).sum()) for c in range(4) for s in range(2)}
    assert [count[c, 0] for c in range(4)] == [2857] * 4
    assert count[0, 1] == 0 and abs(count[1, 1] - 2740) < 208 and abs(count[3, 1] - 2740) < 208
    assert abs(count[2, 1] - 18000) < 536


def test_the_same_seed_gives_the_same_json_on_either_engine_and_another_seed_does_not(capsys, tmp_path):
    path = tmp_path / "wl.toml"
    path.write_text('schema = 1\nname = "wl"\n[machine]\ncpus = 3\ncstates = ["C1", "C3", "C6"]\n[kernel]\nnohz = "idle"\n'
                    '[workload]\nkind = "mixed"\nbusy_fraction = 0.35\n'
                    'busy_period = { dist = "uniform", min = "200us", max = "1800us" }\n'
                    'timers = [{ kind = "random", rate_hz = 333, slack = "20us" }]\n'
                    'per_cpu = [{ cpus = [2], kind = "timers", timers = [{ kind = "periodic", period = "3ms" }] }]\n'
                    '[run]\nuntil = "300ms"\nseed = 77\n')

    def out(*extra):
        assert main(["run", str(path), "--json", *extra]) == 0
        d = json.loads(capsys.readouterr().out)
        d.pop("engine")
        return d

    first = out("--engine", FAST)
    assert out("--engine", FAST) == first
    for engine in ENGINES:
        assert out("--engine", engine) == first
    other = out("--engine", FAST, "--set", "run.seed=78")
    assert other["seed"] == 78 and [c["idle_ns"] for c in other["cpus"]] != [c["idle_ns"] for c in first["cpus"]]

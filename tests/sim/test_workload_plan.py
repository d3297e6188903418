"""The workload plan: which setting decides a CPU's idle periods, and workload input the scenario refuses.

A mixed CPU's idle periods come from one setting, the most specific one given: the CPU's per_cpu entry's
busy_fraction or idle_period, else the workload's idle_period or busy_fraction (0.5 if none).  Both in one
table contradict each other and are refused.
"""
import re
from pathlib import Path

import pytest

from tickscope.sim import analysis, boot, scenario as scen, scenario_workload
from tickscope.sim.cli import main
from tickscope.sim.errors import InputError
from tickscope.sim.events import Kind
from tickscope.sim.simulation import cython_available, simulate

ENGINE = "cython" if cython_available() else "reference"
MS = 1_000_000


def _scenario(workload: dict, cpus: int = 4) -> scen.Scenario:
    return scen.from_dict({"schema": 1, "machine": {"cpus": cpus}, "workload": workload})


def _plan(workload: dict, cpus: int = 4):
    """Per CPU: (kind, busy (dist, mean, min, max), idle (dist, mean, min, max))."""
    return boot.plan(_scenario(workload, cpus)).workload


FIXED_1MS = {"dist": "fixed", "mean": "1ms"}


def test_a_per_cpu_busy_fraction_wins_over_the_workloads_idle_period():
    plan = _plan({"kind": "mixed", "busy_period": FIXED_1MS, "idle_period": {"dist": "fixed", "mean": "3ms"},
                  "per_cpu": [{"cpus": [1], "kind": "mixed", "busy_fraction": 0.8}]})
    assert plan[0][2][:2] == (boot.DIST_FIXED, 3 * MS)              # the workload's idle period
    # busy 80 %: idle = busy * 0.2 / 0.8 = 250 us after each 1 ms busy period
    assert plan[1] == (boot.WL_MIXED, (boot.DIST_FIXED, MS, MS, 10 * MS), (boot.DIST_FIXED, 250_000, 250_000, 2_500_000))


def test_a_per_cpu_idle_period_wins_over_the_workloads_busy_fraction():
    plan = _plan({"kind": "mixed", "busy_fraction": 0.25, "busy_period": FIXED_1MS,
                  "per_cpu": [{"cpus": [2], "kind": "mixed", "idle_period": {"dist": "fixed", "mean": "7ms"}}]})
    assert plan[0][2][:2] == (boot.DIST_FIXED, 3 * MS)              # busy 25 %: idle = 3 x busy
    assert plan[2][2][:2] == (boot.DIST_FIXED, 7 * MS)


def test_an_idle_period_keeps_the_cpu_mixed_whatever_the_workloads_busy_fraction():
    # busy_fraction 0 makes the other CPUs idle; CPU 1's own idle period decides for it, so it stays mixed
    plan = _plan({"kind": "mixed", "busy_fraction": 0.0,
                  "per_cpu": [{"cpus": [1], "kind": "mixed", "idle_period": FIXED_1MS}]})
    assert [p[0] for p in plan] == [boot.WL_IDLE, boot.WL_MIXED, boot.WL_IDLE, boot.WL_IDLE]


def test_without_either_setting_a_mixed_cpu_is_busy_half_the_time():
    plan = _plan({"kind": "mixed", "busy_period": FIXED_1MS})
    assert all(p[2][:2] == (boot.DIST_FIXED, MS) for p in plan)


@pytest.mark.parametrize("workload,key", [
    ({"kind": "mixed", "busy_fraction": 0.3, "idle_period": FIXED_1MS}, "workload.idle_period"),
    ({"per_cpu": [{"cpus": [0], "kind": "busy"},
                  {"cpus": [3], "kind": "mixed", "busy_fraction": 0.8, "idle_period": FIXED_1MS}]},
     "workload.per_cpu[1].idle_period"),
])
def test_busy_fraction_and_idle_period_in_one_table_are_refused(workload, key):
    with pytest.raises(InputError, match=re.escape(f"x.toml: {key}: conflicts with {key[:-len('idle_period')]}busy_fraction")):
        scen.from_dict({"schema": 1, "workload": workload}, "x.toml")


def test_setting_one_of_the_two_replaces_the_files_other():
    sc = scen.preset("bare-metal-hpet-c3")
    assert sc.workload.busy_fraction == 0.3
    after = scen.apply_sets(sc, ['workload.idle_period={dist="fixed", mean="1ms"}'])
    assert after.workload.busy_fraction is None and after.workload.idle_period.mean == MS
    back = scen.apply_sets(after, ["workload.busy_fraction=0.6"])
    assert back.workload.busy_fraction == 0.6 and back.workload.idle_period is None
    with pytest.raises(InputError, match="conflicts"):
        scen.apply_sets(sc, ['workload.idle_period={dist="fixed", mean="1ms"}', "workload.busy_fraction=0.6"])


def test_an_idle_period_left_out_may_be_set_key_by_key(capsys):
    # the preset gives busy_fraction = 0.3 and no idle_period; "--set workload.idle_period=5" is refused with the
    # advice to set one of its keys, which said "idle_period is not a table" (the unset table dumps as None)
    sc = scen.preset("bare-metal-hpet-c3")
    after = scen.apply_sets(sc, ['workload.idle_period.dist="fixed"', 'workload.idle_period.mean="1500us"'])
    # one of idle_period's keys replaces the file's busy_fraction, as the whole table does
    assert after.workload.busy_fraction is None and after.workload.idle_period.mean == 1_500_000
    assert all(p[2][:2] == (boot.DIST_FIXED, 1_500_000) for p in boot.plan(after).workload)
    with pytest.raises(InputError, match="conflicts"):
        scen.apply_sets(sc, ['workload.idle_period.mean="1ms"', "workload.busy_fraction=0.6"])
    run = ["run", "--preset", "bare-metal-hpet-c3", "--until", "1ms"]
    assert main(run + ["--set", "workload.idle_period=5"]) == 2
    assert "set one of its keys, e.g. workload.idle_period.dist" in capsys.readouterr().err
    assert main(run + ["--set", 'workload.idle_period.dist="fixed"']) == 0


def test_a_workload_idle_period_survives_every_round_trip():
    # to_toml, model_dump -> from_dict (recordings, demos, the form) and --set must not make the default
    # busy_fraction look given next to the idle period
    sc = _scenario({"kind": "mixed", "idle_period": FIXED_1MS})
    assert scen.loads(sc.to_toml()) == sc
    assert scen.from_dict(sc.model_dump(by_alias=True)) == sc
    assert scen.apply_sets(sc, ["machine.cpus=2"]).workload == sc.workload


def test_the_schema_says_which_setting_wins():
    docs = {(f["section"], f["key"]): f["doc"] for f in scen.schema_fields()}
    assert "not both" in docs[("workload", "busy_fraction")] and "not both" in docs[("workload", "idle_period")]
    for key in ("busy_fraction", "idle_period"):
        assert "wins over the workload's" in scenario_workload.CpuWorkload.model_fields[key].description


def _readme_tick_layer_block() -> str:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    return next(b for b in re.findall(r"```toml\n(.*?)```", text, re.S) if "per_cpu" in b)


def test_the_readme_per_cpu_busy_fraction_makes_that_cpu_busy_that_share():
    sc = scen.loads(_readme_tick_layer_block(), "README.md")
    plan = boot.plan(sc).workload
    # busy periods exponential, mean 2 ms (the workload's); busy 80 %: idle periods of a quarter of that
    assert plan[4] == (boot.WL_MIXED, (boot.DIST_EXP, 2 * MS, MS, 10 * MS), (boot.DIST_EXP, 500_000, 250_000, 2_500_000))
    res = simulate(sc, engine=ENGINE, until_ns=2_000_000_000)
    idle_share = analysis.per_cpu(res)[4]["idle_ns"] / 2e9
    assert 0.1 < idle_share < 0.3          # ~20 % idle (was ~56 % while its idle_period silently won)


# -- per_cpu entries the scenario refuses (exit 2 on the command line) ---------------------------

@pytest.mark.parametrize("per_cpu,msg", [
    ('[{cpus=[0], kind="timers"}]', 'workload.per_cpu[0].kind = "timers" needs a timer on CPU 0'),
    ('[{cpus=[1], kind="busy"}, {cpus=[], kind="busy"}]', "workload.per_cpu[1].cpus: empty"),
    ('[{cpus=[1], kind="mixed", busy_fraction=0.8, idle_period={dist="fixed", mean="1ms"}}]',
     "workload.per_cpu[0].idle_period: conflicts with workload.per_cpu[0].busy_fraction"),
    # a CPU the machine does not have is named as such, whatever the entry's kind (a "timers" entry asked for a
    # timer on it), and a CPU listed twice in one entry is not said to be "already in" that same entry
    ('[{cpus=[9], kind="timers"}]', "workload.per_cpu[0].cpus: CPU 9 does not exist (machine.cpus = 4)"),
    ('[{cpus=[2], kind="busy"}, {cpus=[1, 1], kind="idle"}]', "workload.per_cpu[1].cpus: a CPU is listed twice"),
])
def test_bad_per_cpu_entries_exit_2_with_one_line(per_cpu, msg, capsys):
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--set", f"workload.per_cpu={per_cpu}"]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_timers_cpu_may_take_its_timers_from_the_workloads_list():
    # workload timers without `cpus` reach every CPU; one with `cpus` only those
    ok = {"timers": [{"kind": "periodic", "period": "5ms"}], "per_cpu": [{"cpus": [0, 3], "kind": "timers"}]}
    assert boot.plan(_scenario(ok)).timers[3] == [(boot.TIMER_PERIODIC, 5 * MS, 0)]   # no slack
    narrow = {"timers": [{"kind": "periodic", "period": "5ms", "cpus": [0]}],
              "per_cpu": [{"cpus": [0, 3], "kind": "timers"}]}
    with pytest.raises(InputError, match=r'per_cpu\[0\]\.kind = "timers" needs a timer on CPU 3'):
        _scenario(narrow)


@pytest.mark.parametrize("sets,ok", [
    # a workload-level "timers" kind needs a timer on each CPU it reaches ...
    (['workload.kind="timers"', 'workload.timers=[{kind="periodic", period="10ms", cpus=[0]}]'], False),
    (['workload.kind="timers"'], False),
    (['workload.kind="timers"', 'workload.timers=[{kind="periodic", period="10ms"}]'], True),
    # ... and per-CPU entries may give every CPU its timers instead
    (['workload.kind="timers"',
      'workload.per_cpu=[{cpus=[0, 1, 2, 3], kind="timers", timers=[{kind="periodic", period="10ms"}]}]'], True),
    (['workload.kind="timers"', 'workload.timers=[{kind="random", rate_hz=100, cpus=[0]}]',
      'workload.per_cpu=[{cpus=[1, 2, 3], kind="idle"}]'], True),
])
def test_the_timers_kind_needs_a_timer_on_each_cpu_it_reaches(sets, ok):
    base = scen.apply_sets(scen.preset("bare-metal-lapic"), ["machine.cpus=4"])
    if ok:
        scen.apply_sets(base, sets)
    else:
        with pytest.raises(InputError, match=r'workload.kind = "timers" needs a timer on CPU \d'):
            scen.apply_sets(base, sets)


# -- how many user timers one CPU may have ----------------------------------------------------

def _periodic(n: int, period: str = "10ms") -> str:
    return "[" + ", ".join(f'{{kind="periodic", period="{period}"}}' for _ in range(n)) + "]"


@pytest.mark.parametrize("sets,msg", [
    # 257 timers on every CPU: a UTIMER record's source (one byte) numbers them 0..255
    ([f"workload.timers={_periodic(257)}"], "workload.timers: CPU 0 gets 257 user timers; at most 256 per CPU"),
    # 200 for all CPUs + 57 of CPU 2's own: CPU 2 has one too many, its per_cpu entry is named
    ([f"workload.timers={_periodic(200)}", f'workload.per_cpu=[{{cpus=[2], kind="timers", timers={_periodic(57)}}}]'],
     "workload.per_cpu[0].timers: CPU 2 gets 257 user timers; at most 256 per CPU"),
])
def test_more_than_256_user_timers_on_one_cpu_exit_2_with_one_line(sets, msg, capsys):
    # the reference engine died on the 257th (OverflowError writing source 256) and the Cython one wrote it as 0
    args = ["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--engine", "reference"]
    assert main(args + [a for s in sets for a in ("--set", s)]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("engine", ["reference"] + (["cython"] if cython_available() else []))
def test_256_user_timers_on_one_cpu_run_in_both_engines(engine):
    # 200 timers for every CPU and 56 of CPU 1's own, all every 10 ms: over 25 ms each runs at 10 and 20 ms,
    # 2 x 256 = 512 on CPU 1 (the last numbered 255), 2 x 200 = 400 on the others
    sc = _scenario({"kind": "timers", "timer_work": 0, "timers": [{"kind": "periodic", "period": "10ms"}] * 200,
                    "per_cpu": [{"cpus": [1], "kind": "timers", "timers": [{"kind": "periodic", "period": "10ms"}] * 56}]})
    res = simulate(sc, engine=engine, until_ns=25 * MS)
    assert [c["timers_fired"] for c in analysis.per_cpu(res)] == [400, 512, 400, 400]
    assert int(res.source[(res.kind == Kind.UTIMER) & (res.cpu == 1)].max()) == 255


# -- a timer takes its own kind's key --------------------------------------------------------

@pytest.mark.parametrize("timers,msg", [
    # a periodic timer "at 200 Hz" ran every 10 ms (the default period), a random one "every 3 ms" at 100 Hz
    ('[{kind="periodic", rate_hz=200}]', 'workload.timers[0]: rate_hz = 200 is for kind = "random"; a periodic timer '
                                         'runs every `period` (for 200 Hz: period = "5ms")'),
    ('[{rate_hz=200}]', 'workload.timers[0]: rate_hz = 200 is for kind = "random"'),     # kind defaults to periodic
    ('[{kind="random", rate_hz=50}, {kind="random", period="3ms"}]',
     'workload.timers[1]: period = "3ms" is for kind = "periodic"'),
    # the other kind's key at its default, written by hand: a "100 Hz" periodic timer ran every 4 ms
    ('[{kind="periodic", period="4ms", rate_hz=100}]', 'workload.timers[0]: rate_hz = 100 is for kind = "random"'),
    ('[{kind="random", rate_hz=30, period="10ms"}]', 'workload.timers[0]: period = "10ms" is for kind = "periodic"'),
])
def test_a_timer_given_the_other_kinds_key_exits_2_with_one_line(timers, msg, capsys):
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--set", f"workload.timers={timers}"]) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_a_saved_timer_keeps_the_other_kinds_default_and_loads_again():
    # to_toml writes every key, the unused one at its default: that is not the other kind's key "given"
    sc = _scenario({"kind": "timers", "timers": [{"kind": "random", "rate_hz": 300}, {"kind": "periodic", "period": "3ms"}]})
    text = sc.to_toml()
    assert 'period = "10ms"' in text and "rate_hz = 100" in text
    assert scen.loads(text) == sc


@pytest.mark.parametrize("sets,msg", [
    # a per_cpu entry of kind "idle" with a busy share ran idle and said nothing
    (['workload.per_cpu=[{cpus=[1], kind="idle", busy_fraction=0.3}]'],
     'workload.per_cpu[0].busy_fraction: read by a mixed workload only; this override\'s kind is "idle"'),
    (['workload.kind="mixed"', 'workload.per_cpu=[{cpus=[1], kind="busy", busy_period={dist="fixed", mean="3ms"}}]'],
     'workload.per_cpu[0].busy_period: read by a mixed workload only; this override\'s kind is "busy"'),
])
def test_a_busy_or_idle_period_key_on_a_cpu_that_is_not_mixed_exits_2(sets, msg, capsys):
    argv = ["run", "--preset", "bare-metal-lapic", "--until", "10ms"]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1


def test_the_workloads_busy_share_is_read_when_a_per_cpu_override_is_mixed():
    # kind = "busy" for most CPUs, one mixed override without its own share: it takes the workload's
    sc = _scenario({"kind": "busy", "busy_fraction": 0.2, "per_cpu": [{"cpus": [1], "kind": "mixed"}]})
    assert sc.workload.busy_fraction == 0.2

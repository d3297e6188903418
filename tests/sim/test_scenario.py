import pytest
from hypothesis import given, strategies as st

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.errors import InputError


def test_presets_load_and_default_exists():
    names = scen.presets()
    assert {"bare-metal-lapic", "pit-only"} <= set(names)
    assert scen.DEFAULT_PRESET == "bare-metal-lapic"
    bm = names["bare-metal-lapic"]
    assert (bm.machine.cpus, bm.kernel.hz, bm.kernel.highres) == (4, 250, True)
    assert bm.machine.tsc_deadline and bm.machine.hpet and bm.machine.pit and bm.machine.acpi_pm


@pytest.mark.parametrize("text,ns", [("10s", 10**10), ("250ms", 250_000_000), ("40us", 40_000), ("1500ns", 1500),
                                     ("1.5ms", 1_500_000), ("0.25s", 250_000_000), ("0", 0), (" 0.0 ", 0), ("00", 0)])
def test_parse_duration(text, ns):
    assert scen.parse_duration(text) == ns


@pytest.mark.parametrize("bad", ["10", "0.5", "01", "-0", "ten s", "5 parsecs", "1.0000000001ns", "-3s", ""])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        scen.parse_duration(bad)


@given(st.integers(min_value=0, max_value=10**15))
def test_format_duration_round_trips(ns):
    assert scen.parse_duration(scen.format_duration(ns)) == ns


def test_toml_round_trip_is_identical():
    for sc in scen.presets().values():
        again = scen.loads(sc.to_toml())
        assert again == sc
        assert sc.to_toml().startswith("schema = 1\n")


def test_unknown_key_names_file_key_and_suggestion(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text("schema = 1\n[machine]\ncpu = 4\n")
    with pytest.raises(InputError) as e:
        scen.load(f)
    assert str(f) in str(e.value) and "machine.cpu" in str(e.value) and "machine.cpus" in str(e.value)


def test_out_of_range_names_range():
    with pytest.raises(InputError, match=r"machine\.cpus: 2000 is out of range \(allowed 1\.\.1024\)"):
        scen.from_dict({"schema": 1, "machine": {"cpus": 2000}}, "x.toml")


def test_bad_hz_lists_allowed():
    with pytest.raises(InputError, match=r"kernel\.hz: 123 .*100, 250, 300 or 1000"):
        scen.from_dict({"schema": 1, "kernel": {"hz": 123}})


def test_malformed_toml_gives_line():
    with pytest.raises(InputError, match=r"malformed TOML.*line 2"):
        scen.loads("schema = 1\n[machine\n", "bad.toml")


def test_a_leading_bom_is_ignored_but_one_elsewhere_is_malformed():
    assert scen.loads("\ufeffschema = 1\n[kernel]\nhz = 100\n").kernel.hz == 100
    with pytest.raises(InputError, match=r"bad.toml: malformed TOML.*line 2"):
        scen.loads("schema = 1\n\ufeff[kernel]\n", "bad.toml")


def test_missing_and_wrong_schema():
    with pytest.raises(InputError, match="schema"):
        scen.loads("name = 'x'\n")
    with pytest.raises(InputError, match="schema: 2 is not supported"):
        scen.loads("schema = 2\n")


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="no such scenario file"):
        scen.load(tmp_path / "nope.toml")


def test_apply_sets_reads_toml_values_then_strings():
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"),
                         ["machine.cpus=8", "kernel.highres=false", "kernel.clocksource=hpet", "run.until=3s"])
    assert sc.machine.cpus == 8 and sc.kernel.highres is False
    assert sc.kernel.clocksource == "hpet" and sc.run.until == 3 * 10**9


@pytest.mark.parametrize("item,msg", [("machine.cpus", "expected dotted.key=VALUE"),
                                      ("machine.nope=1", "unknown key"),
                                      ("kernel.hz=7", "not allowed"),
                                      ("machine.cpus=0", "out of range"),
                                      # values of the wrong type are refused, not coerced
                                      ('kernel.highres="yes"', "kernel.highres: Input should be a valid boolean"),
                                      ("kernel.highres=1", "kernel.highres: Input should be a valid boolean"),
                                      ('machine.cpus="4"', "machine.cpus: Input should be a valid integer"),
                                      ("kernel.hz=250.0", "kernel.hz: must be an integer"),
                                      # values the schema used to accept and the engine could not run
                                      ("machine.tsc_hz=999", "is not a TSC"),
                                      ("machine.hpet_hz=4294967295", r"allowed 10000000\.\.4000000000"),
                                      ('workload.busy_period={dist="fixed", mean="1ns"}',
                                       r"workload.busy_period.mean: 1ns is out of range \(allowed 1us\.\.100s\)"),
                                      ('workload.timers=[{kind="periodic", period=5}]',
                                       r"workload.timers\[0\].period: 5ns is out of range \(allowed 1us\.\.100s\)"),
                                      ('run.until="200000s"', r"run.until: 200000s is out of range \(allowed 1ns\.\.100000s\)"),
                                      ('workload.timers=[{kind="periodic", period="5ms", cpus=[0, 0]}]', "listed twice"),
                                      ('workload.per_cpu=[{cpus=[0], kind="busy"}, {cpus=[0, 1], kind="idle"}]',
                                       r"CPU 0 is already in workload.per_cpu\[0\]"),
                                      ("schema=true", "not supported"), ("schema=1.0", "not supported")])
def test_apply_sets_rejects(item, msg):
    with pytest.raises(InputError, match=msg):
        scen.apply_sets(scen.preset("bare-metal-lapic"), [item])


def test_a_float_field_takes_an_integer():
    sc = scen.apply_sets(scen.preset("many-cores"), ["workload.busy_fraction=1"])
    assert sc.workload.busy_fraction == 1.0


def test_smp_without_lapic_is_refused():
    with pytest.raises(InputError, match="machine.lapic = false needs machine.cpus = 1"):
        scen.from_dict({"schema": 1, "machine": {"lapic": False, "cpus": 2}})


def test_unknown_preset_suggests():
    with pytest.raises(InputError, match="did you mean 'pit-only'"):
        scen.preset("pit-onyl")


def test_schema_fields_cover_every_key():
    keys = {(f["section"], f["key"]) for f in scen.schema_fields()}
    assert ("machine", "cpus") in keys and ("kernel", "hz") in keys and ("run", "until") in keys
    cpus = next(f for f in scen.schema_fields() if f["key"] == "cpus")
    assert (cpus["min"], cpus["max"]) == (1, 1024) and cpus["doc"]


def test_cstates_must_be_listed_shallow_to_deep():
    with pytest.raises(InputError, match=r"machine.cstates\[1\] \(C1\): target residency 2us is below the 100us of C3"):
        scen.apply_sets(scen.preset("bare-metal-lapic"), ['machine.cstates=["C3", "C1"]'])
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['machine.cstates=["C1", "C1E", "C3", "C6", "C7s", "C8"]'])
    assert [c.name for c in sc.machine.cstates][-2:] == ["C7s", "C8"]   # equal residencies are fine


@pytest.mark.parametrize("states", ['["C3"]', '["C10"]', '["C6", "C10"]',
                                    '[{name="CX", exit_latency="5ms", target_residency="20ms", stops_timer=true}]'])
def test_a_c_state_list_needs_a_shallow_state_to_fall_back_to(states):
    # with deep states only the governor had nothing to pick for a 1 ms sleep, nor when the broadcast
    # refused (C3 "entered" with deep_refused counting every entry)
    with pytest.raises(InputError, match=r"machine.cstates\[0\] \(\w+\): the shallowest state must keep the timer"):
        scen.apply_sets(scen.preset("bare-metal-lapic"), [f"machine.cstates={states}"])
    assert scen.apply_sets(scen.preset("bare-metal-lapic"), ['machine.cstates=["C1E", "C10"]']).machine.cstates


def _states(n: int) -> str:
    return "[" + ", ".join(f'{{name="S{i}", exit_latency={i}, target_residency={i}}}' for i in range(n)) + "]"


def test_at_most_256_c_states_one_line_for_more(capsys):
    # IDLE and WAKE records carry the state's index in one byte: with 300 states the reference engine died writing
    # index 256 (OverflowError, a traceback from tickscope run) and the Cython one logged S299 as S43
    args = ["run", "--preset", "bare-metal-lapic", "--until", "1ms", "--engine", "reference", "--set"]
    assert main(args + [f"machine.cstates={_states(257)}"]) == 2
    err = capsys.readouterr().err
    assert err == "tickscope: error: --set: machine.cstates: 257 states; at most 256 (IDLE and WAKE records carry a " \
                  "state's index in one byte)\n"
    assert main(args + [f"machine.cstates={_states(256)}"]) == 0


def test_an_unknown_key_in_a_list_item_gets_a_did_you_mean_in_the_same_notation():
    with pytest.raises(InputError, match=r"workload.per_cpu\[0\].busy_perod: unknown key "
                                         r"\(did you mean 'workload.per_cpu\[0\].busy_period'\?\)"):
        scen.apply_sets(scen.preset("bare-metal-lapic"),
                        ['workload.per_cpu=[{cpus=[0], kind="busy", busy_perod={dist="fixed"}}]'])


@pytest.mark.parametrize("text", ["-5ms", " -1s", "-250us"])
def test_a_negative_duration_is_called_negative(text):
    from tickscope.sim.units import parse_duration

    with pytest.raises(ValueError, match="is negative; a duration is 0 or more"):
        parse_duration(text)


def test_a_table_given_a_value_says_it_is_a_table_and_a_quoted_value_is_not_repeated():
    base = scen.preset("bare-metal-lapic")
    with pytest.raises(InputError) as e:
        scen.apply_sets(base, ["machine=3"])
    assert str(e.value).endswith("machine: is a table ([machine]), not a value (got 3); set one of its keys, "
                                 "e.g. machine.cpus")
    with pytest.raises(InputError, match=r"workload\.timers\[0\]: is an inline table \(\{ kind = \.\.\., \.\.\. \}\)"):
        scen.apply_sets(base, ["workload.timers=[3]"])
    with pytest.raises(InputError) as e:
        scen.apply_sets(base, ['machine.cstates=["C99"]'])
    assert str(e.value).count("'C99'") == 1 and "unknown C-state 'C99'" in str(e.value)
    with pytest.raises(InputError, match=r"machine\.cpus: .*integer \(got 'x'\)"):
        scen.apply_sets(base, ['machine.cpus="x"'])


def test_compact_data_leaves_out_only_the_keys_a_kind_does_not_read_at_their_defaults():
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), [
        'workload.timers=[{kind="periodic", period="3ms"}, {kind="random", rate_hz=7}]',
        # a saved table (every key) whose min is left from a uniform period it was switched from
        'workload.busy_period={dist="exponential", mean="2ms", min="3ms", max="10ms"}'])
    work = sc.to_dict(compact=True)["workload"]
    assert work["timers"] == [{"kind": "periodic", "period": "3ms", "cpus": [], "slack": "0ns"},
                              {"kind": "random", "rate_hz": 7, "cpus": [], "slack": "0ns"}]
    # an unread key off its default: the table stays whole, as only a whole table may hold it
    assert work["busy_period"] == {"dist": "exponential", "mean": "2ms", "min": "3ms", "max": "10ms"}
    assert scen.from_dict(sc.to_dict(compact=True)) == sc
    plain = scen.apply_sets(sc, ['workload.busy_period={dist="exponential", mean="2ms"}'])
    assert plain.to_dict(compact=True)["workload"]["busy_period"] == {"dist": "exponential", "mean": "2ms"}
    assert "rate_hz = 100" in sc.to_toml()   # the full rendering writes every key


def test_schema_defaults_of_list_and_table_keys_are_values():
    fields = {(f["section"], f["key"]): f for f in scen.schema_fields()}
    assert fields["workload", "timers"]["default"] == [] and fields["machine", "cstates"]["default_data"] == []
    assert fields["workload", "busy_period"]["default_data"] == {"dist": "exponential", "mean": "5ms", "min": "1ms",
                                                                  "max": "10ms"}
    assert fields["machine", "irq_latency"]["default_data"] == "1us"
    assert ("rate_hz", 100) in fields["workload", "timers"]["table_keys"]
    assert ("name", None) in fields["machine", "cstates"]["table_keys"]



@pytest.mark.parametrize("table,msg", [
    # {dist = "uniform", mean = "3ms"} ran U(1ms, 10ms) and said nothing
    ('{dist="uniform", mean="3ms"}', 'workload.busy_period: mean is not read by dist = "uniform", which reads min '
                                     'and max; leave mean out'),
    ('{dist="exponential", mean="3ms", min="2ms"}', 'workload.busy_period: min is not read by dist = "exponential", '
                                                    'which reads mean; leave min out'),
    ('{dist="fixed", mean="3ms", min="1ms", max="2ms"}', None),   # all four keys: a saved table, read as saved
    ('{mean="3ms", max="4ms"}', 'max is not read by dist = "exponential"'),   # dist defaults to exponential
])
def test_a_period_key_its_dist_does_not_read_is_refused_unless_the_table_is_whole(table, msg, capsys):
    from tickscope.sim.cli import main

    rc = main(["run", "--preset", "bare-metal-hpet-c3", "--until", "10ms", "--set", f"workload.busy_period={table}"])
    err = capsys.readouterr().err
    if msg is None:
        assert rc == 0, err
    else:
        assert rc == 2 and msg in err and err.count("\n") == 1


def test_switching_a_periods_dist_key_by_key_still_works_and_a_file_table_is_checked(tmp_path):
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['workload.busy_period.dist="uniform"'])
    assert (sc.workload.busy_period.dist, sc.workload.busy_period.min) == ("uniform", 1_000_000)
    assert scen.loads(sc.to_toml()) == sc   # saved whole (the old mean kept): loads again
    text = scen.preset("bare-metal-hpet-c3").to_toml().replace('[workload.busy_period]\ndist = "exponential"\n'
                                                               'mean = "3ms"\nmin = "1ms"\nmax = "10ms"\n',
                                                               '[workload.busy_period]\ndist = "uniform"\nmean = "3ms"\n')
    assert 'dist = "uniform"\nmean = "3ms"\n' in text
    with pytest.raises(scen.InputError, match="mean is not read by dist"):
        scen.loads(text)


@pytest.mark.parametrize("sets,msg", [
    # a number or a nested list was "an inline table ({ name = ..., ... }), not a value": a name is just as good
    (["machine.cstates=[1]"], "machine.cstates[0]: a C-state is a name (C1, C1E, C3, C6, C7s, C8, C10) or a table"),
    (['machine.cstates=[["C1"]]'], "machine.cstates[0]: a C-state is a name"),
    # a nameless state was taken
    (['machine.cstates=[{name=" ", exit_latency="1us", target_residency="2us"}]'], "machine.cstates[0].name: must not be empty"),
    (['machine.cstates=["C1", {name="C1 ", exit_latency="5us", target_residency="10us"}]'],
     "machine.cstates[1].name: 'C1 ' has blanks at its ends; write it as 'C1'"),
    # "min must not exceed max" with no max given: the 10 ms it was compared with is the default
    (['workload.busy_period={dist="uniform", min="20ms"}'],
     "workload.busy_period: min (20ms) must not exceed max (10ms, the default)"),
    (['workload.busy_period={dist="uniform", min="20ms", max="5ms"}'], "workload.busy_period: min (20ms) must not exceed max (5ms)"),
])
def test_c_state_and_period_messages_say_what_is_allowed(sets, msg, capsys):
    argv = ["run", "--preset", "bare-metal-lapic", "--until", "1ms"]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1, err

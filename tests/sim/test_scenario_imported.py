"""[imported] is checked at scenario load: every bad value is one line naming imported.KEY and what is allowed,
exit 2, and both engines never see a value only one of them can take."""
import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.errors import InputError


@pytest.mark.parametrize("setting, msg", [
    ("imported.clocksources=5", "imported.clocksources: must be an array, not an integer"),
    ('imported.clocksources="kvm-clock"', "imported.clocksources: must be an array, not a string"),
    ("imported.clocksources=[5]", "imported.clocksources[0]: must be a table"),
    ('imported.clocksources=[{name="x",freq_hz=0}]', "imported.clocksources[0].freq_hz: 0 is out of range (allowed 1..4294967295)"),
    ('imported.clocksources=[{name="x",freq_hz=-1}]', "imported.clocksources[0].freq_hz: -1 is out of range (allowed 1..4294967295)"),
    ('imported.clocksources=[{name="x",freq_hz=1000000000000000000}]', "imported.clocksources[0].freq_hz: 1000000000000000000 is out of range"),
    ('imported.clocksources=[{name="x",freq_hz=inf}]', "imported.clocksources[0].freq_hz: must be an integer (1..4294967295), not a float"),
    ('imported.clocksources=[{name="x",freq_hz="1000"}]', "imported.clocksources[0].freq_hz: must be an integer"),
    ('imported.clocksources=[{name="x",freq_hz=1000,mask_bits=0}]', "imported.clocksources[0].mask_bits: 0 is out of range (allowed 1..64)"),
    ('imported.clocksources=[{name="x",freq_hz=1000,mask_bits=65}]', "imported.clocksources[0].mask_bits: 65 is out of range (allowed 1..64)"),
    ('imported.clocksources=[{name="x",freq_hz=1000,rating=4294967296}]', "imported.clocksources[0].rating: 4294967296 is out of range (allowed 0..2147483647)"),
    ('imported.clocksources=[{name="x",freq_hz=1000,modelled=1}]', "imported.clocksources[0].modelled: must be true or false"),
    ('imported.clocksources=[{freq_hz=1000}]', "imported.clocksources[0].name: required key is missing"),
    ('imported.clocksources=[{name=" ",freq_hz=1000}]', "imported.clocksources[0].name: must not be empty"),
    ('imported.clocksources=[{nme="x",freq_hz=1000}]', "imported.clocksources[0].nme: unknown key (did you mean 'imported.clocksources[0].name'?)"),
    ("imported.whatever=1", "imported.whatever: unknown key; allowed here: sources,"),
    ("imported.sources=3", "imported.sources: must be a table"),
    ("imported.timer_list.now_ns=-5", "imported.timer_list.now_ns: -5 is out of range"),
    ("imported.interrupts.counts.LOC=[1,true]", "imported.interrupts.counts.LOC[1]: must be an integer"),
])
@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_a_bad_imported_value_is_one_line_naming_the_key_exit_2(setting, msg, engine, capsys):
    rc = main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--engine", engine, "--json", "--set", setting])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and msg in err, err
    assert "Traceback" not in err


def test_a_bad_imported_value_in_a_file_names_the_file(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text('schema = 1\n[imported]\n[[imported.clocksources]]\nname = "x"\nfreq_hz = 0\n')
    with pytest.raises(InputError, match=r"s\.toml: imported\.clocksources\[0\]\.freq_hz: 0 is out of range"):
        scen.load(f)


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_imported_clocksource_at_the_edges_of_its_ranges_runs_on_both_engines(engine, capsys):
    rc = main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--engine", engine, "--json", "--set",
               'imported.clocksources=[{name="x",freq_hz=4294967295,mask_bits=1,rating=2147483647}]'])
    assert rc == 0, capsys.readouterr().err
    assert '"clocksource": "x"' in capsys.readouterr().out


def test_every_shipped_preset_with_imported_facts_still_loads():
    with_facts = {name: sc for name, sc in scen.presets().items() if sc.imported}
    assert "real-kvm-guest" in with_facts
    assert with_facts["real-kvm-guest"].imported["clocksources"][0]["name"] == "kvm-clock"


def test_an_imported_clocksource_boot_registers_without_its_rate_names_the_key(capsys):
    rc = main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--set", 'imported.clocksources=[{name="x"}]'])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1
    assert "imported.clocksources[0].freq_hz: required key is missing" in err and "1..4294967295" in err, err


def test_an_entry_the_engine_models_needs_no_rate(capsys):
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--json", "--set",
                 'imported.clocksources=[{name="jiffies",mask_bits=32,rating=1,modelled=true}]']) == 0

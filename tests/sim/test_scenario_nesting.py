"""Deeply nested TOML, in a file or a --set value, is one line and exit 2 (a RecursionError traceback was exit 1)."""
import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.errors import InputError


def _nested(n: int) -> str:
    return "[" * n + "]" * n


@pytest.mark.parametrize("depth", [40, 1000, 20000])
def test_a_deeply_nested_file_is_one_line_exit_2(depth, tmp_path, capsys):
    f = tmp_path / "deep.toml"
    f.write_text(f"schema = 1\n[machine]\ncstates = {_nested(depth)}\n")
    rc = main(["run", str(f), "--until", "1ms", "--json"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "deep.toml" in err and "nested too deeply" in err, err


@pytest.mark.parametrize("value", [_nested(40), _nested(1000), "{x=" * 1000 + "1" + "}" * 1000])
def test_a_deeply_nested_set_value_is_one_line_exit_2(value, capsys):
    rc = main(["run", "--preset", "bare-metal-lapic", "--until", "1ms", "--json", "--set", f"machine.cstates={value}"])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "--set machine.cstates: malformed TOML: nested too deeply" in err, err


def test_nesting_a_scenario_uses_is_not_refused():
    sc = scen.preset("real-kvm-guest")
    assert scen.too_deep(sc.to_dict()) is None
    assert scen.loads(sc.to_toml()) == sc


def test_too_deep_names_the_key():
    with pytest.raises(InputError, match=r"^x: machine\.cstates: malformed TOML: nested too deeply"):
        scen.loads(f"schema = 1\n[machine]\ncstates = {_nested(scen.MAX_DEPTH + 2)}\n", "x")

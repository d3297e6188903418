"""Shipped files given by their checkout path (assets/KIND/NAME.toml) or by name work from any directory."""
from pathlib import Path

import pytest

from tickscope.sim import demo, shipped
from tickscope.sim.cli import main

REPO = Path(__file__).resolve().parents[2]
TREE = REPO / "tests" / "sim" / "graph" / "fixtures" / "linuxlike"


@pytest.fixture
def elsewhere(tmp_path, monkeypatch):
    """A current directory that is not a checkout: assets/... does not exist relative to it."""
    monkeypatch.chdir(tmp_path)
    assert not Path("assets").exists()
    return tmp_path


def _graph_out(capsys, *layers):
    assert main(["graph", "--source", str(TREE), *layers]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("given", ["assets/layers/linux.toml", "linux", "linux.toml", "../x/assets/layers/linux.toml"])
def test_layers_named_by_checkout_path_or_name_load_the_shipped_file_from_any_directory(given, elsewhere, capsys):
    want = _graph_out(capsys, "--layers", str(REPO / "assets" / "layers" / "linux.toml"))
    assert want != _graph_out(capsys)   # the shipped layers change the graph, so the check below means something
    assert _graph_out(capsys, "--layers", given) == want


def test_a_layers_file_that_exists_wins_over_the_shipped_one(elsewhere, capsys):
    own = elsewhere / "assets" / "layers" / "linux.toml"
    own.parent.mkdir(parents=True)
    own.write_text('[[component]]\nname = "all"\nkind = "middleware"\npaths = ["**"]\n')
    assert main(["graph", "--source", str(TREE), "--layers", "assets/layers/linux.toml"]) == 2
    assert "assets/layers/linux.toml: component[0].kind" in capsys.readouterr().err


@pytest.mark.parametrize("given", ["assets/layers/nope.toml", "nope.toml", "/abs/assets/layers/linux.toml",
                                   "assets/arch/linux.toml"])
def test_a_missing_layers_file_is_exit_2_naming_it_and_the_shipped_ones(given, elsewhere, capsys):
    assert main(["graph", "--source", str(TREE), "--layers", given]) == 2
    err = capsys.readouterr().err
    assert err == f"tickscope: error: {given}: no such layers file (shipped layers files: linux)\n"


def test_models_demos_and_presets_take_their_checkout_path_from_any_directory(elsewhere, capsys):
    assert main(["graph", "--model", "assets/arch/linux-2.6.21.toml"]) == 0
    assert capsys.readouterr().out.startswith("graph linux-2.6.21: ")
    assert main(["graph", "--model", "linux-2.6.21.toml"]) == 0
    assert capsys.readouterr().out.startswith("graph linux-2.6.21: ")
    assert demo.load("assets/demos/tickless-idle.toml").source == "demo tickless-idle"
    assert demo.load("tickless-idle.toml").source == "demo tickless-idle"
    assert main(["boot-log", "--preset", "pit-only"]) == 0
    want = capsys.readouterr().out
    for given in (["assets/presets/pit-only.toml"], ["--preset", "pit-only.toml"]):
        assert main(["boot-log", *given]) == 0
        assert capsys.readouterr().out == want


def test_missing_demo_and_scenario_files_stay_errors(elsewhere, capsys):
    with pytest.raises(demo.DemoError, match=r"assets/demos/nope.toml: no such demo script \(built-in demos: "
                                             r"reachout-2007, tickless-idle\)"):
        demo.load("assets/demos/nope.toml")
    assert main(["boot-log", "assets/presets/nope.toml"]) == 2
    assert capsys.readouterr().err == "tickscope: error: assets/presets/nope.toml: no such scenario file\n"


def test_name_in_accepts_only_names_and_checkout_paths_of_shipped_files():
    assert shipped.name_in("layers", "linux") == "linux"
    assert shipped.name_in("layers", "sub/assets/layers/linux.toml") == "linux"
    assert shipped.name_in("layers", "layers/linux.toml") is None       # not the checkout path
    assert shipped.name_in("layers", "assets/demos/linux.toml") is None  # another kind's folder
    assert shipped.name_in("layers", "/assets/layers/linux.toml") is None
    assert shipped.name_in("arch", "linux-6.x") == "linux-6.x"
    assert "linux" in shipped.names("layers") and "kvm" in shipped.names("presets")

"""Scripted demos: parsing, validation errors naming step and key, playback without Qt."""
import json

import numpy as np
import pytest

from tickscope.sim import demo
from tickscope.sim.events import Kind


def _toml(steps: str) -> str:
    return 'title = "t"\n' + steps


def _err(text, fmt="toml") -> str:
    with pytest.raises(demo.DemoError) as info:
        demo.loads(text, "s.toml", fmt=fmt)
    return str(info.value)


def test_builtin_demos_load_and_round_trip_through_toml():
    names = demo.builtin_demos()
    assert {"reachout-2007", "tickless-idle"} <= set(names)
    for name in names:
        d = demo.load(name)
        assert demo.loads(demo.dumps(d)).steps == d.steps


def test_unknown_action_names_step_and_suggests():
    msg = _err(_toml('[[step]]\naction = "preset"\nname = "kvm"\n[[step]]\naction = "rnu"\nuntil = "1ms"\n'))
    assert "s.toml: step 2" in msg and "'rnu'" in msg and "did you mean 'run'" in msg


def test_unknown_and_missing_keys_name_the_key():
    msg = _err(_toml('[[step]]\naction = "caption"\ntitle = "x"\nbdy = "y"\n'))
    assert "step 1 (caption): bdy" in msg and "did you mean 'body'" in msg
    assert "step 1 (zoom): to: missing" in _err(_toml('[[step]]\naction = "zoom"\nfrom = "1ms"\n'))


def test_bad_values_name_step_and_key():
    base = '[[step]]\naction = "preset"\nname = "kvm"\n'
    assert "step 2 (run): until" in _err(_toml(base + '[[step]]\naction = "run"\nuntil = "soon"\n'))
    assert "step 2 (pause): seconds" in _err(_toml(base + '[[step]]\naction = "pause"\nseconds = 0\n'))
    assert "step 2 (zoom): to: must be after from" in _err(_toml(base + '[[step]]\naction = "zoom"\nfrom = "5ms"\nto = "1ms"\n'))
    assert "step 1 (preset): name" in _err(_toml('[[step]]\naction = "preset"\nname = "vmi2007"\n'))
    msg = _err(_toml(base + '[[step]]\naction = "set"\nkeys = { "kernel.hz" = 123 }\n'))
    assert "step 2 (set)" in msg and "kernel.hz" in msg
    msg = _err(_toml(base + '[[step]]\naction = "view"\nname = "pie"\n'))
    assert "step 2 (view): name" in msg


def test_highlight_checks_nodes_against_the_model():
    msg = _err(_toml('[[step]]\naction = "preset"\nname = "vmi-2007"\n'
                     '[[step]]\naction = "highlight"\nnodes = ["do_timerr"]\n'))
    assert "step 2 (highlight): nodes: 'do_timerr' is not a node of linux-2.6.21" in msg
    assert "did you mean 'do_timer'" in msg


def test_steps_needing_a_scenario_or_run_say_so():
    assert "needs a scenario first" in _err(_toml('[[step]]\naction = "run"\nuntil = "1ms"\n'))
    msg = _err(_toml('[[step]]\naction = "preset"\nname = "kvm"\n[[step]]\naction = "compare"\npreset = "xen-pv"\n'))
    assert "step 2 (compare): needs a 'run' step" in msg


def test_json_lines_demo_and_its_errors():
    lines = [json.dumps({"action": "preset", "name": "kvm"}), "# comment", "",
             json.dumps({"action": "run", "until": "20ms", "seconds": 0.5})]
    d = demo.loads("\n".join(lines), "s.jsonl", fmt="jsonl")
    assert [s["action"] for s in d.steps] == ["preset", "run"] and d.steps[1]["until"] == 20_000_000
    assert "line 2: malformed JSON" in _err('{"action": "preset", "name": "kvm"}\n{oops', fmt="jsonl")
    assert "step 1: expected a table" in _err("[1, 2]", fmt="jsonl")


def test_empty_and_non_toml_scripts_are_refused(tmp_path):
    assert "no steps" in _err('title = "x"\n')
    assert "not valid TOML" in _err("[[step]\n")
    with pytest.raises(demo.DemoError, match="no demo named 'nope'"):
        demo.load("nope")
    with pytest.raises(demo.DemoError, match="no such demo script"):
        demo.load(tmp_path / "missing.toml")


def test_total_frames_counts_run_caption_and_pause_seconds():
    d = demo.loads(_toml('[[step]]\naction = "preset"\nname = "kvm"\n'
                         '[[step]]\naction = "run"\nuntil = "10ms"\nseconds = 0.5\n'
                         '[[step]]\naction = "caption"\ntitle = "x"\nseconds = 1\n'
                         '[[step]]\naction = "pause"\nseconds = 0.25\n'))
    assert demo.total_frames(d, 8) == 4 + 8 + 2


def test_reachout_demo_loses_ticks_after_the_core_change_and_clockevents_survive():
    scenes = list(demo.scenes(demo.load("reachout-2007")))
    runs = [s for _, step, s in scenes if step["action"] == "run"]
    assert len(runs) == 2
    before, after = runs[0].results, runs[1].results
    assert np.count_nonzero(before.kind == Kind.TICK) > 0
    assert np.count_nonzero(after.kind == Kind.TICK) == 0
    final = scenes[-1][2]
    assert final.compare.hypervisor.backend == "vmi-clockevents"
    assert np.count_nonzero(final.compare_results.kind == Kind.TICK) > 0
    assert final.model == "linux-6.x" and final.view == "graph"


def test_a_script_file_starting_with_a_bom_loads(tmp_path):
    f = tmp_path / "windows.toml"
    f.write_bytes(b"\xef\xbb\xbf" + _toml('[[step]]\naction = "preset"\nname = "kvm"\n').encode())
    assert demo.load(f).steps[0]["action"] == "preset"

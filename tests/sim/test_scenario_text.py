"""Scenario text kept on edit (scenario.text_of, scenario_text.edit_text): comments, order, spelling."""
import tomllib

from hypothesis import given, settings, strategies as st

from tickscope.sim import scenario as scen

COMMENTED = '''# my desk machine: keep these notes
schema = 1
name = "desk"  # short
description = "a commented scenario"

[machine]
# four cores, the LAPIC timer stops in C3
cpus = 4
arat = false
cstates = ["C1", "C3"]   # no C6 on this board
irq_latency = "1000us"

[kernel]
hz = 250  # distro default
nohz = "idle"

[workload]
kind = "mixed"
busy_fraction = 0.25
'''


def _comments(text):
    return [line[line.index("#"):] for line in text.splitlines() if "#" in line]


def test_an_edit_keeps_comments_order_and_the_spelling_of_unchanged_values():
    old = scen.loads(COMMENTED)
    new = scen.apply_sets(old, ["machine.cpus=8", 'kernel.nohz="off"'])
    text = scen.text_of(new, COMMENTED, old)
    assert scen.loads(text) == new
    assert _comments(text) == _comments(COMMENTED)
    assert 'irq_latency = "1000us"' in text          # the rendering from data writes "1ms"
    assert "cpus = 8" in text and 'nohz = "off"' in text
    # keys the file left at their defaults stay unwritten (the rendering from data writes every key)
    assert "tsc_hz" not in text and "tsc_hz" in new.to_toml()
    lines = text.splitlines()
    assert lines.index("[machine]") < lines.index("[kernel]") < lines.index("[workload]")


def test_changed_list_removed_optional_and_a_new_section_are_written():
    old = scen.loads(COMMENTED)
    new = scen.apply_sets(old, ['machine.cstates=["C1", "C3", "C6"]', 'workload.kind="busy"',
                                "run.seed=7"])
    new = scen.from_dict({**new.model_dump(by_alias=True),
                          "workload": {**new.model_dump(by_alias=True)["workload"], "busy_fraction": None}}, "t")
    text = scen.text_of(new, COMMENTED, old)
    assert scen.loads(text) == new
    data = tomllib.loads(text)
    assert data["machine"]["cstates"] == ["C1", "C3", "C6"]
    assert "busy_fraction" not in data["workload"]
    assert data["run"]["seed"] == 7
    assert "# four cores, the LAPIC timer stops in C3" in text


def test_an_unchanged_scenario_keeps_its_text_byte_for_byte():
    sc = scen.loads(COMMENTED)
    assert scen.text_of(sc, COMMENTED, sc) == COMMENTED


def test_a_text_that_does_not_read_as_the_old_scenario_falls_back_to_the_rendering():
    sc = scen.preset("bare-metal-lapic")
    new = scen.apply_sets(sc, ["machine.cpus=2"])
    assert scen.text_of(new, "not [ toml", sc) == new.to_toml()
    assert scen.text_of(new, None, sc) == new.to_toml()


def test_save_writes_the_text_only_when_it_reads_as_the_scenario(tmp_path):
    sc = scen.loads(COMMENTED)
    path = tmp_path / "s.toml"
    scen.save(sc, path, COMMENTED)
    assert path.read_text() == COMMENTED
    other = scen.apply_sets(sc, ["machine.cpus=2"])
    scen.save(other, path, COMMENTED)   # a stale text is never written for another scenario
    assert scen.load(path) == other and "#" not in path.read_text()


def test_load_with_text_returns_the_file_as_it_is(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(COMMENTED)
    sc, text = scen.load_with_text(path)
    assert text == COMMENTED and sc == scen.loads(COMMENTED)


def test_a_file_starting_with_a_bom_loads_and_is_saved_back_edited_without_it(tmp_path):
    path = tmp_path / "windows.toml"
    path.write_bytes(b"\xef\xbb\xbf" + COMMENTED.encode())
    sc, text = scen.load_with_text(path)
    assert sc == scen.loads(COMMENTED) and text == COMMENTED   # the BOM is not part of the kept text
    new = scen.apply_sets(sc, ["machine.cpus=8"])
    scen.save(new, path, scen.text_of(new, text, sc))
    data = path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\xef\xbb\xbf" not in data
    assert scen.load(path) == new and _comments(data.decode()) == _comments(COMMENTED)


def test_a_text_with_a_bom_is_still_edited_in_place_not_rendered_from_data():
    old = scen.loads("\ufeff" + COMMENTED)
    new = scen.apply_sets(old, ["kernel.hz=1000"])
    text = scen.text_of(new, "\ufeff" + COMMENTED, old)
    assert _comments(text) == _comments(COMMENTED) and text.count("\ufeff") <= 1
    assert scen.loads(text) == new


def test_preset_text_is_the_shipped_file():
    text = scen.preset_text("laptop-deep-idle")
    assert scen.loads(text) == scen.preset("laptop-deep-idle") and 'name = "laptop-deep-idle"' in text


EDITS = st.lists(st.sampled_from([
    "machine.cpus=2", "machine.cpus=16", "machine.arat=true", 'machine.cstates=["C1"]',
    'machine.cstates=["C1", "C1E", "C3", "C6"]', 'machine.irq_latency="2us"', "kernel.hz=1000",
    'kernel.nohz="off"', "kernel.highres=false", 'workload.kind="idle"', "workload.busy_fraction=0.5",
    "run.seed=3", 'run.until="2s"', "kernel.watchdog=true", 'machine.broadcast="hpet"']), max_size=6)


@settings(max_examples=60, deadline=None)
@given(EDITS)
def test_any_sequence_of_form_edits_keeps_every_comment_and_reads_back(edits):
    sc, text = scen.loads(COMMENTED), COMMENTED
    for e in edits:   # one form edit at a time, each an edit of the text before it
        new = scen.apply_sets(sc, [e])
        text, sc = scen.text_of(new, text, sc), new
        assert scen.loads(text) == sc
    assert _comments(text) == _comments(COMMENTED)

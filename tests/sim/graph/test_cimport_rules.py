"""The C importer and the rules on the fixture trees (expected values read off the fixtures)."""
import pytest

from tickscope.sim.errors import InputError
from tickscope.sim.graph import rules
from tickscope.sim.graph.cimport import import_tree
from tickscope.sim.graph.layers import load_layers


@pytest.fixture
def graph(linuxlike):
    g = import_tree(linuxlike)
    rules.check(g)
    return g


def where(violations, rule):
    return sorted((v.file, v.line, v.symbol) for v in violations if v.rule == rule)


def test_reachout_reported_at_each_call_line_with_the_core_symbol(graph):
    assert where(graph.violations, "reachout") == [
        ("arch/x86/vmi/vmitimer.c", 13, "do_timer"),
        ("arch/x86/vmi/vmitimer.c", 16, "update_process_times"),
        ("arch/x86/vmi/vmitimer.c", 21, "LOCAL_TIMER_VECTOR"),
        ("arch/x86/vmi/vmitimer.c", 21, "set_intr_gate"),
    ]
    gate = next(v for v in graph.violations if v.symbol == "set_intr_gate")
    assert gate.component == "arch/x86/vmi"
    assert "clockevents_config_and_register" in gate.fix and "APIC timer vector" in gate.fix


def test_self_contained_backends_have_no_violations(graph):
    clean = {"drivers/goodtimer", "arch/x86/kvmclock", "drivers/xenlike", "include", "kernel", "lib"}
    assert not [v for v in graph.violations if v.component in clean]


def test_duplicate_math_names_the_shared_function(graph):
    dups = [v for v in graph.violations if v.rule == "duplicate-math"]
    assert [(v.component, v.file, v.line, v.symbol) for v in dups] == [
        ("drivers/dupclock", "drivers/dupclock/dupclock.c", 4, "pvclock_scale_delta")]
    edge = graph.g.edges["drivers/dupclock/dupclock.c:dup_scale", "lib/pvclock.c:pvclock_scale_delta", "duplicate"]
    assert edge["evidence"][0].text.startswith("static unsigned long long dup_scale(")


def test_structurally_equal_records_without_shared_code_are_shareable(graph):
    found = sorted((v.component, v.file, v.line, v.symbol) for v in graph.violations if v.rule == "shareable")
    assert found == [("drivers/alpha_tm", "drivers/alpha_tm/alpha.c", 4, "beta_clock_record"),
                     ("drivers/beta_tm", "drivers/beta_tm/beta.c", 4, "alpha_time_info")]


def test_backends_sharing_the_library_are_not_shareable(graph):
    assert not [v for v in graph.violations if v.rule == "shareable" and "xen" in v.component + v.symbol]


def test_ops_table_member_gives_a_callback_edge_from_the_core(graph):
    data = graph.g.edges["kernel/time/clockevents.c:clockevents_program_event",
                         "drivers/goodtimer/goodtimer.c:goodtimer_next", "callback"]
    assert [(e.file, e.line) for e in data["evidence"]] == [
        ("kernel/time/clockevents.c", 20), ("drivers/goodtimer/goodtimer.c", 17)]


def test_edge_classes_of_interface_and_shared_library_use(graph):
    classes = {(s, t): d["cls"] for s, t, d in graph.edges()}
    assert classes[("drivers/goodtimer/goodtimer.c:goodtimer_init",
                    "kernel/time/clockevents.c:clockevents_config_and_register")] == "interface"
    assert classes[("arch/x86/kvmclock/kvmclock.c:kvm_read", "lib/pvclock.c:pvclock_read_ns")] == "shared-lib"
    assert classes[("lib/pvclock.c:pvclock_read_ns", "lib/pvclock.c:pvclock_scale_delta")] == "internal"


def test_default_components(graph):
    kinds = {c: a["kind"] for c, a in graph.components.items()}
    assert kinds["include"] == "interface"
    assert kinds["lib"] == "shared-lib"
    assert kinds["kernel"] == "core"
    assert kinds["drivers/goodtimer"] == "backend"
    assert kinds["arch/x86/vmi"] == "backend"


def test_broken_file_is_graphed_up_to_the_error_and_named(graph):
    assert any(w.startswith("drivers/broken/broken.c: does not parse") and "line 11" in w for w in graph.warnings)
    assert "drivers/broken/broken.c:broken_init" in graph.g


def test_binary_file_is_skipped_with_a_warning(graph):
    assert "drivers/firmware/blob.c: skipped, binary file" in graph.warnings
    assert "drivers/firmware/blob.c" not in graph.g


def test_missing_directory_is_input_error(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        import_tree(tmp_path / "absent")


def test_layering_and_cycles(tangle):
    g = import_tree(tangle)
    rules.check(g)
    assert where(g.violations, "layering") == [("kernel/tick.c", 13, "foo_poke")]
    cycles = [v for v in g.violations if v.rule == "cycles"]
    assert len(cycles) == 1
    assert set(cycles[0].chain) == {"drivers/a", "drivers/b"}
    assert where(g.violations, "reachout") == [("drivers/a/a.c", 11, "b_helper"), ("drivers/b/b.c", 6, "a_helper")]


def test_layers_file_overrides_components_and_interface(linuxlike):
    lay = load_layers(linuxlike.parent / "linuxlike-layers.toml")
    g = import_tree(linuxlike, lay)
    rules.check(g)
    kinds = {c: a["kind"] for c, a in g.components.items()}
    assert kinds["x86-irq"] == "hardware" and kinds["tick"] == "core" and kinds["timers"] == "backend"
    assert "drivers/goodtimer" not in kinds and "kernel" not in kinds
    # interrupt.h is no longer an interface header, so request_irq becomes reachout
    assert ("drivers/goodtimer/goodtimer.c", 32, "request_irq") in where(g.violations, "reachout")
    gate = next(v for v in g.violations if v.symbol == "set_intr_gate")
    assert gate.chain[-1] == "x86-irq"


def test_bad_layers_file_is_input_error(tmp_path):
    bad = tmp_path / "l.toml"
    bad.write_text('[[component]]\nname = "x"\nkind = "middleware"\npaths = ["a/**"]\n')
    with pytest.raises(InputError, match=r"component\[0\]\.kind"):
        load_layers(bad)
    with pytest.raises(InputError, match="no such layers file"):
        load_layers(tmp_path / "none.toml")


def test_a_layers_file_starting_with_a_bom_loads(tmp_path):
    f = tmp_path / "l.toml"
    f.write_bytes(b'\xef\xbb\xbf[[component]]\nname = "x"\nkind = "core"\npaths = ["a/**"]\n')
    assert [(c.name, c.kind) for c in load_layers(f).components] == [("x", "core")]

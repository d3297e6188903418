"""Shipped architecture models and core changes."""
import pytest

from tickscope.sim.errors import InputError
from tickscope.sim.graph import archmodel, rules
from tickscope.sim.graph.archmodel import affected_backends

ALL_CHANGES = ["lapic-irq-path", "do-timer-owner", "nohz-idle", "hrtimer-highres"]


def test_vmi_2007_reachout_cites_vmitime_lines():
    g = archmodel.load_model("linux-2.6.21")
    found = {(v.symbol, v.line) for v in rules.check(g) if v.rule == "reachout"}
    assert ("do_timer", 271) in found
    assert ("set_intr_gate", 188) in found
    assert ("update_process_times", 292) in found
    assert all(v.file == "arch/i386/kernel/vmitime.c" and v.component == "vmi-timer"
               for v in g.violations if v.rule == "reachout")


def test_core_changes_break_only_the_reachout_backend():
    hit = affected_backends("linux-2.6.21", ["lapic-irq-path"])
    assert set(hit) == {"vmi-2007", "bare-metal"}
    assert hit["bare-metal"] == []
    assert {e["effect"] for e in hit["vmi-2007"]} == {"hook-bypassed"}
    assert {e["symbol"] for e in hit["vmi-2007"]} == {"set_intr_gate", "LOCAL_TIMER_VECTOR", "irq_stat"}
    dt = affected_backends("linux-2.6.21", ["do-timer-owner"])["vmi-2007"]
    assert {(e["symbol"], e["effect"]) for e in dt} == {("do_timer", "duplicate-do-timer"), ("xtime_lock", "duplicate-do-timer")}
    assert dt[0]["evidence"][0]["file"] == "arch/i386/kernel/vmitime.c"


@pytest.mark.parametrize("model", ["linux-2.6.22", "linux-6.x"])
def test_clockevent_backends_are_unaffected_by_every_change(model):
    hit = affected_backends(model, ALL_CHANGES)
    assert hit and all(v == [] for v in hit.values())


def test_model_backends_bind_to_simulated_backends():
    assert set(affected_backends("linux-6.x", [])) == {"kvm", "xen-pv", "hyperv", "bare-metal"}
    assert set(affected_backends("linux-2.6.22", [])) == {"vmi-clockevents", "xen-pv", "bare-metal"}


def test_xen_scale_delta_is_a_duplicate_of_the_shared_math():
    g = archmodel.load_model("linux-2.6.22")
    dups = [v for v in rules.check(g) if v.rule == "duplicate-math"]
    assert [(v.component, v.symbol, v.file, v.line) for v in dups] == [
        ("xen-time", "pvclock_scale_delta", "arch/i386/xen/time.c", 259)]


def test_same_time_model_without_shared_code_is_shareable_and_fixed_later():
    early = [v for v in rules.check(archmodel.load_model("linux-2.6.25")) if v.rule == "shareable"]
    assert sorted(v.component for v in early) == ["kvm-clock", "xen-time"]
    assert rules.check(archmodel.load_model("linux-6.x")) == []


def test_unknown_model_or_change_is_input_error():
    with pytest.raises(InputError, match="unknown model"):
        affected_backends("linux-9", [])
    with pytest.raises(InputError, match="unknown change"):
        affected_backends("linux-2.6.21", ["no-such-change"])


def test_reachout_class_cannot_be_declared_in_a_model():
    data = {"component": [{"name": "a", "kind": "backend", "symbols": ["f"]},
                          {"name": "b", "kind": "core", "symbols": ["g"]}],
            "reference": [{"from": "f", "to": "g", "class": "interface", "evidence": [{"file": "x.c", "line": 1}]}]}
    with pytest.raises(InputError, match="only callback, duplicate may be declared"):
        archmodel.build_model(data, "m.toml")
    del data["reference"][0]["class"]
    g = archmodel.build_model(data, "m.toml")
    assert [d["cls"] for _s, _t, d in g.edges()] == ["reachout"]


def test_every_change_uses_the_effect_vocabulary():
    for name in archmodel.list_changes():
        ch = archmodel.load_change(name)
        assert ch["effect"] in archmodel.EFFECTS and ch["symbols"]

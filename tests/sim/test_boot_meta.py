"""The booted plan's description in Results.meta."""
from dataclasses import asdict

import pytest

from tickscope.sim import boot, scenario


@pytest.mark.parametrize("name", list(scenario.presets()))
def test_device_meta_is_what_asdict_gives_with_the_hardware_name(name):
    plan = boot.plan(scenario.preset(name))
    meta = plan.meta()
    want = [dict(asdict(d), hw_name=boot.HW_NAMES[d.hw]) for d in plan.devices]
    assert meta["devices"] == want
    assert [list(m) for m in meta["devices"]] == [list(w) for w in want]   # same keys in the same order
    for m, d in zip(meta["devices"], plan.devices):   # copies: writing into the meta leaves the plan alone
        assert m["callbacks"] is not d.callbacks


def test_device_meta_falls_back_to_asdict_for_a_field_that_is_not_plain():
    plan = boot.plan(scenario.preset("bare-metal-lapic"))
    d = plan.devices[0]
    d.callbacks = {"set_next_event": ["nested"]}
    m = boot._device_meta(d)
    assert m["callbacks"] == {"set_next_event": ["nested"]} and m["callbacks"]["set_next_event"] is not d.callbacks["set_next_event"]


@pytest.mark.parametrize("sets", [
    ["machine.cpus=4"],                                        # SMP: i8253_lock does not scale
    ["machine.cpus=1"],                                        # UP, but the LAPIC timer took the tick over
])
def test_the_pit_clocksource_is_registered_only_on_a_uniprocessor_ticked_by_the_pit(sets):
    # init_pit_clocksource (arch/x86/kernel/i8253.c) returns without registering when num_possible_cpus() > 1,
    # when the HPET is enabled, or when the PIT clockevent is not in periodic mode.  Without HPET and ACPI PM, a
    # TSC that fails the boot-time sync check leaves refined-jiffies (or, on one CPU with a PIT tick, pit).
    base = ["machine.hpet=false", "machine.acpi_pm=false", 'machine.tsc_skew="1ms"']
    p = boot.plan(scenario.apply_sets(scenario.preset("bare-metal-lapic"), base + sets))
    assert "pit" not in [c.name for c in p.clocksources]
    assert not any("clocksource: pit:" in text for _, text in p.log)
    if sets == ["machine.cpus=4"]:
        assert p.clocksource.name == "refined-jiffies"
    up = boot.plan(scenario.apply_sets(scenario.preset("bare-metal-lapic"), base + ["machine.cpus=1", 'kernel.clockevent="pit"']))
    assert "pit" in [c.name for c in up.clocksources]
    assert "pit" in [c.name for c in boot.plan(scenario.preset("pit-only")).clocksources]

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

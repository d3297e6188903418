"""A recording's meta.json with null, a value of another type or out of int64, the manifest re-hashed: `run REC`
(and every reader behind load_recording) gets one line naming the key, exit 2, never a traceback."""

import pytest

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.errors import InputError
from tickscope.sim.record import load_recording, save_recording
from tickscope.sim.simulation import simulate


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    sc = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="50ms"'])
    path = tmp_path_factory.mktemp("rec") / "good.tickrec"
    save_recording(path, sc, simulate(sc, engine="reference"))
    return path


def _set(key, value):
    return lambda m: m.__setitem__(key, value)


#: (edit, what the message says): the fuzzer's tracebacks, one each
CASES = [
    (_set("until_ns", None), "until_ns must be an integer, got null"),
    (_set("devices", None), "devices must be an array, got null"),
    (_set("clocksources", None), "clocksources must be an array, got null"),
    (_set("tick_device", None), "tick_device must be an array, got null"),
    (_set("broadcast_device", None), "broadcast_device must be an integer, got null"),
    (_set("boot_clocksource", []), "boot_clocksource must be a string, got []"),
    (_set("boot_clocksource", {}), "boot_clocksource must be a string, got {}"),
    (_set("boot_log", None), "boot_log must be an array, got null"),
    (_set("cstates", None), "cstates must be an array, got null"),
    (_set("cstates", []), "cpus[0].residency_ns has 3 entries for 0 cstates"),
    (lambda m: m.pop("cstates"), "cpus[0].residency_ns has 3 entries for 0 cstates"),
    (_set("effect_evidence", None), "effect_evidence must be an array, got null"),
    (_set("effect_evidence", [{}]), "effect_evidence[0].change must be a string, got null"),
    (_set("cpus", None), "cpus must be an array, got null"),
    (_set("now_ns", None), "now_ns must be an integer, got null"),
    (_set("ktime_ns", None), "ktime_ns must be an integer, got null"),
    (_set("ktime_ns", "x"), 'ktime_ns must be an integer, got "x"'),
    (_set("wall_ahead_ns", None), "wall_ahead_ns must be an integer, got null"),
    (_set("do_timer_cpu", None), "do_timer_cpu must be an integer, got null"),
    (_set("do_timer_cpu", 99), "do_timer_cpu must be -2, -1 or a CPU (ncpus 4), got 99"),
    (_set("hypervisor", None), "hypervisor must be an object, got null"),
    (_set("settled_ns", "x"), 'settled_ns must be an integer, got "x"'),
    (_set("settled_ns", []), "settled_ns must be an integer, got []"),
    (_set("settled_ns", {}), "settled_ns must be an integer, got {}"),
    (_set("settled_ns", 2**63), "settled_ns must be a 64-bit integer, got 9223372036854775808"),
    (_set("settled_ns", 2**63 - 1), "settled_ns must be 0..4611686018427387904, got 9223372036854775807"),
    (lambda m: m["cpus"][0].__setitem__("timer_slacks", [2**64]),
     "cpus[0].timer_slacks[0] must be a 64-bit integer, got 18446744073709551616"),
    (lambda m: m["clocksources"][0].__setitem__("mask", 2**64), "clocksources[0].mask must be an unsigned 64-bit integer"),
    (_set("highres", None), "highres must be true or false, got null"),
]


@pytest.mark.parametrize("edit, message", CASES)
def test_a_meta_value_the_readers_cannot_use_is_one_line_naming_the_key(recording, tmp_path, edit, message, capsys,
                                                                       forge_meta):
    bad = forge_meta(recording, tmp_path / "bad.tickrec", edit)
    with pytest.raises(InputError) as info:
        load_recording(bad)
    assert "member 'meta.json': " + message in str(info.value)
    assert main(["run", str(bad), "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and message in err and "Traceback" not in err


@pytest.mark.parametrize("edit", [
    _set("settled_ns", None),                                                   # a run saved before it settled
    lambda m: m["clocksources"].__setitem__(0, {**m["clocksources"][0], "mask": 2**64 - 1, "max_cycles": 2**64 - 1}),
    lambda m: m["devices"][0]["callbacks"].__setitem__("resume", None),        # a callback the device lacks
    lambda m: [m.pop(k) for k in ("boot_clocksource", "wall_ahead_ns", "effect_evidence", "hypervisor", "kinds")],
])
def test_what_the_engines_write_and_older_recordings_lack_still_loads(recording, tmp_path, edit, forge_meta):
    ok = forge_meta(recording, tmp_path / "ok.tickrec", edit)
    assert load_recording(ok).scenario.name == "bare-metal-hpet-c3"

"""/proc/timer_list's tick_broadcast_mask on machines whose local timer stops in deep idle.

intel_idle calls tick_broadcast_enable() on every CPU of a machine without ARAT, whatever states it offers
(intel_idle_cpu_online), and tick_broadcast_control(TICK_BROADCAST_ON) sets the CPU in tick_broadcast_on and
tick_broadcast_mask when its tick device has CLOCK_EVT_FEAT_C3STOP, whether a broadcast device exists or not.
The mask stays set after the broadcast switches to oneshot; tick_broadcast_oneshot_mask holds the CPUs asleep
right now.
"""
import pytest

from tickscope.sim.cli import main


def _masks(capsys, preset, *sets, at="1s"):
    argv = ["timer-list", "--preset", preset, "--at", at]
    for s in sets:
        argv += ["--set", s]
    assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    return {k: v for k, _, v in (line.partition(": ") for line in lines if line.startswith("tick_broadcast_"))}


@pytest.mark.parametrize("broadcast", ["auto", "hpet", "hrtimer", "none"])
def test_every_cpu_whose_lapic_stops_in_deep_idle_is_in_the_broadcast_mask(capsys, broadcast):
    masks = _masks(capsys, "bare-metal-hpet-c3", f'machine.broadcast="{broadcast}"')   # 4 CPUs, no ARAT, C3
    assert masks["tick_broadcast_mask"] == "f"


def test_the_mask_holds_in_periodic_broadcast_too(capsys):
    masks = _masks(capsys, "bare-metal-hpet-c3", 'kernel.nohz="off"', "kernel.highres=false")
    assert masks["tick_broadcast_mask"] == "f"


@pytest.mark.parametrize("sets", [
    ["machine.arat=true"],                                         # the LAPIC timer keeps running: no C3STOP
    ["machine.cstates=[]"],                                        # no idle driver to turn the broadcast on
])
def test_no_cpu_is_in_the_mask_when_its_timer_never_stops(capsys, sets):
    assert _masks(capsys, "bare-metal-hpet-c3", *sets)["tick_broadcast_mask"] == "0"


def test_intel_idle_turns_the_broadcast_on_without_arat_even_when_no_state_stops_the_timer(capsys):
    # engine semantics 19: before, the mask read 0 here (the generic cpuidle rule, as ACPI's processor_idle has it)
    assert _masks(capsys, "bare-metal-hpet-c3", 'machine.cstates=["C1", "C1E"]')["tick_broadcast_mask"] == "f"


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_with_a_periodic_tick_the_hpet_then_ticks_for_every_cpu(capsys, engine):
    # tick_broadcast_control(ON) in periodic broadcast mode shuts the local APIC timer down and starts the HPET's
    # periodic broadcast: over 2 s at HZ=250 the HPET's IRQ 0 fires 500 times on CPU 0, which runs its own handler;
    # CPUs 1-3 get their 500 ticks as broadcast IPIs (counted in LOC, as x86 counts them)
    argv = ["interrupts", "--preset", "bare-metal-hpet-c3", "--until", "2s", "--engine", engine]
    for s in ('machine.cstates=["C1", "C1E"]', 'kernel.nohz="off"', "kernel.highres=false"):
        argv += ["--set", s]
    assert main(argv) == 0
    rows = {line.split(":")[0].strip(): line.split()[1:5] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["0"] == ["500", "0", "0", "0"]
    assert rows["LOC"] == ["0", "500", "500", "500"]


def test_a_wide_mask_prints_in_32_bit_groups(capsys):
    masks = _masks(capsys, "bare-metal-hpet-c3", "machine.cpus=40", at="100ms")
    assert masks["tick_broadcast_mask"] == "ff,ffffffff"


@pytest.mark.parametrize("cpus, mask", [
    (16, "0000"),          # %*pb pads every chunk to its width in hex digits: nr_cpu_ids = 16 -> 4 digits
    (6, "00"),             # 6 bits -> 2 digits
    (40, "00,00000000"),   # top chunk 8 bits, then a full 32-bit chunk
])
def test_an_empty_mask_is_zero_padded_to_nr_cpu_ids_bits(capsys, cpus, mask):
    # the LAPIC keeps running (ARAT): no CPU in either mask
    masks = _masks(capsys, "bare-metal-hpet-c3", f"machine.cpus={cpus}", "machine.arat=true", at="100ms")
    assert masks["tick_broadcast_mask"] == mask
    assert masks["tick_broadcast_oneshot_mask"] == mask


def test_a_partial_mask_keeps_its_leading_zeros():
    from tickscope.sim.snapshot import _cpumask
    assert _cpumask({1}, 6) == "02"
    assert _cpumask({0, 35}, 40) == "08,00000001"
    assert _cpumask({4}, 64) == "00000000,00000010"
    assert _cpumask(set(), 2) == "0"                   # the real 2-CPU KVM guest's line

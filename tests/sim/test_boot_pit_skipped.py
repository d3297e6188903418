"""x86 5.2+ skips the PIT's clock event device where the local APIC timer can never need it.

arch/x86/kernel/i8253.c pit_timer_init -> use_pit -> apic_needs_pit (arch/x86/kernel/apic/apic.c): with a known
TSC rate, an enabled local APIC, ARAT and the TSC-deadline timer it returns false, so without an HPET the kernel
stops the PIT and registers no global clock event device: no broadcast device, no IRQ 0 action. The real KVM
guest in data/real/ (ARAT, lapic-deadline) shows exactly that: "Clock Event Device: <NULL>" and no IRQ 0 row.
"""
import pytest

from tickscope.sim.cli import main


def _out(capsys, cmd, *argv):
    assert main([cmd, *argv]) == 0
    return capsys.readouterr().out


def test_a_kvm_guest_with_arat_and_tsc_deadline_has_no_pit_device(capsys):
    text = _out(capsys, "timer-list", "--preset", "kvm", "--at", "100ms")
    assert "Broadcast device\nClock Event Device: <NULL>\ntick_broadcast_mask: 0\n" in text
    assert "Clock Event Device: pit" not in text
    rows = _out(capsys, "interrupts", "--preset", "kvm", "--until", "100ms").splitlines()
    assert [r.split(":")[0].strip() for r in rows[1:]] == ["LOC", "RES"]     # no IRQ 0, no broadcast


@pytest.mark.parametrize("sets", [["--set", "machine.arat=false"], ["--set", "machine.tsc_deadline=false"]])
def test_the_pit_stays_where_the_lapic_timer_might_need_it(capsys, sets):
    text = _out(capsys, "timer-list", "--preset", "kvm", "--at", "100ms", *sets)
    assert "Broadcast device\nClock Event Device: pit\n" in text


def test_a_scenario_ticking_on_the_pit_keeps_it(capsys):
    text = _out(capsys, "timer-list", "--preset", "kvm", "--at", "100ms", "--set", 'kernel.clockevent="pit"')
    assert "Per CPU device: 0\nClock Event Device: pit\n" in text

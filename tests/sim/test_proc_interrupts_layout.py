"""/proc/interrupts' layout as x86's show_interrupts / arch_show_interrupts print it: the label column's width
(the digits of nr_irqs, from arch_probe_nr_irqs) and IRQ 0's chip / hwirq / flow-name columns."""
from tickscope.sim.cli import main
from tickscope.sim.snapshot import x86_nr_irqs


def _out(capsys, *argv):
    assert main(["interrupts", *argv]) == 0
    return capsys.readouterr().out


def test_nr_irqs_as_x86_sizes_it():
    # (gsi_top + 16 legacy) + 8 per CPU, + 16 per GSI for MSIs with a 24-pin IO-APIC: the "nr_irqs: 440" a
    # 2-vCPU KVM guest logs, 456 for 4 vCPUs; without an IO-APIC 8 more per CPU instead
    assert x86_nr_irqs(2, 24) == 440 and x86_nr_irqs(4, 24) == 456
    assert x86_nr_irqs(71, 24) == 992 and x86_nr_irqs(72, 24) == 1000
    assert x86_nr_irqs(1, 0) == 32


def test_the_label_column_widens_to_four_digits_at_72_cpus(capsys):
    small = _out(capsys, "--preset", "bare-metal-lapic", "--until", "20ms", "--set", "machine.cpus=71")
    big = _out(capsys, "--preset", "bare-metal-lapic", "--until", "20ms", "--set", "machine.cpus=72")
    assert small.startswith(" " * 11 + "CPU0       CPU1 ") and "\nLOC: " in small and "\n  0: " in small
    # nr_irqs 1000: prec 4, so the header is indented 12 and every label right-aligned in 4
    assert big.startswith(" " * 12 + "CPU0       CPU1 ")
    assert "\n LOC: " in big and "\n RES: " in big and "\n   0: " in big
    zero = next(line for line in big.splitlines() if line.startswith("   0: "))
    assert zero.endswith(" 0  IO-APIC    2-edge      timer")     # "%8s" chip, then " %*lu" hwirq in 4 as well


def test_many_cores_prints_four_digit_labels(capsys):
    text = _out(capsys, "--preset", "many-cores", "--until", "10ms")
    assert text.startswith(" " * 12 + "CPU0 ") and "\n LOC: " in text


def test_the_8259_pics_irq_0_has_no_hwirq_and_no_flow_name(capsys):
    # no IO-APIC: the XT-PIC's IRQs have no irq domain (blank hwirq, " %*s") and no handler name (no "-edge");
    # the PIT's 99 periods of 10 000 152 ns (1 193 182 / 11 932 Hz) end at 990 015 048 ns, the 100th after 1 s
    text = _out(capsys, "--preset", "pit-only", "--until", "1s")
    assert text.splitlines()[1] == "  0:         99   XT-PIC      timer"


def test_the_io_apic_irq_0_keeps_pin_2_and_its_edge_flow(capsys):
    text = _out(capsys, "--preset", "bare-metal-hpet-c3", "--until", "100ms")
    assert text.splitlines()[1].endswith(" IO-APIC   2-edge      timer")


def _res(capsys, *argv):
    text = _out(capsys, *argv)
    return [int(x) for x in next(r for r in text.splitlines() if r.startswith("RES:")).split()[1:-2]]


def test_a_kick_to_a_cpu_waiting_in_mwait_is_no_reschedule_interrupt(capsys):
    # wake_up_idle_cpu sends the IPI only if the idle task is not polling: intel_idle's MWAIT sets
    # TIF_POLLING_NRFLAG, HLT (no C-states) does not. Same machine, all CPUs idle, 3 s: five watchdog kicks
    # (0.512, 1.024, 1.504, 2.016, 2.528 s) alternate between the two CPUs with HLT; none is an interrupt in MWAIT.
    base = ["--preset", "bare-metal-lapic", "--set", "machine.cpus=2", "--set", 'kernel.nohz="idle"',
            "--set", 'workload.kind="idle"', "--until", "3s"]
    assert _res(capsys, *base) == [2, 3]
    assert _res(capsys, *base, "--set", 'machine.cstates=["C1", "C1E"]') == [0, 0]
    assert _res(capsys, "--preset", "bare-metal-hpet-c3", "--until", "3s") == [0, 0, 0, 0]

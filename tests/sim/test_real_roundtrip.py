"""Import the real KVM guest, then print what the simulated kernel prints: it must match the real machine."""
import re

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main


def test_import_then_boot_log_and_timer_list_reproduce_the_real_machine(real_data, tmp_path, capsys):
    out = tmp_path / "real.toml"
    assert main(["import", "timer-list", str(real_data / "real_timer_list.txt"), "--dmesg",
                 str(real_data / "real_dmesg_time.txt"), "--interrupts", str(real_data / "real_interrupts.txt"),
                 "-o", str(out)]) == 0
    capsys.readouterr()
    sc = scen.load(out)
    assert (sc.machine.cpus, sc.kernel.hz, sc.machine.tsc_hz) == (2, 250, 2445406000)

    assert main(["boot-log", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    printed_text = [line.split("] ", 1)[1] for line in printed]
    real = (real_data / "real_dmesg_time.txt").read_text().splitlines()
    real_cs = [line.split("] ", 1)[1] for line in real if re.search(r"clocksource: \S+: mask:", line)]
    assert len(real_cs) == 5
    for line in real_cs:
        assert line in printed_text, line
    # the same registration order as the real boot, and the same switches
    assert [t for t in printed_text if ": mask:" in t] == real_cs
    switches = [t for t in printed_text if "Switched to clocksource" in t]
    assert switches == ["clocksource: Switched to clocksource kvm-clock", "clocksource: Switched to clocksource tsc"]

    assert main(["timer-list", str(out), "--at", "200ms", "--engine", "reference"]) == 0
    tl = capsys.readouterr().out
    real_tl = (real_data / "real_timer_list.txt").read_text()
    block = re.search(r"Clock Event Device: lapic-deadline\n( max_delta_ns:.*?\n shift: [^\n]*\n)", real_tl, re.S).group(1)
    assert tl.count(block) == 2
    assert "Broadcast device\nClock Event Device: <NULL>\n" in tl
    assert " event_handler:  hrtimer_interrupt\n" in tl
    assert "tick_nohz_handler, S:01" in tl

"""`tickscope import timer-list`: writes a loadable scenario, or exits 2 with one line and no output file."""
import shutil

from tickscope.sim import scenario as scen
from tickscope.sim.cli import main


def _copy_real(real_dir, tmp_path):
    for name in ("real_timer_list.txt", "real_dmesg_time.txt", "real_interrupts.txt"):
        shutil.copy(real_dir / name, tmp_path / name)
    return tmp_path / "real_timer_list.txt", tmp_path / "real_dmesg_time.txt", tmp_path / "real_interrupts.txt"


def test_import_writes_a_loadable_scenario(real_dir, tmp_path, capsys):
    tl, dm, irq = _copy_real(real_dir, tmp_path)
    out = tmp_path / "guest.toml"
    rc = main(["import", "timer-list", str(tl), "--dmesg", str(dm), "--interrupts", str(irq), "-o", str(out)])
    assert rc == 0
    sc = scen.load(out)
    assert sc.name == "real_timer_list"
    assert (sc.machine.cpus, sc.kernel.hz, sc.machine.tsc_hz) == (2, 250, 2_445_406_000)
    assert sc.kernel.clockevent == "lapic-deadline" and sc.kernel.clocksource == "tsc"
    assert sc.imported["kvm_clock"]["sched_offset_cycles"] == 40380898
    report = capsys.readouterr().out
    assert "kernel.hz = 250" in report
    assert "kept but not modelled:" in report
    assert "kvm-clock" in report.split("kept but not modelled:")[1]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_input_exits_2_naming_the_file(tmp_path, capsys):
    out = tmp_path / "x.toml"
    rc = main(["import", "timer-list", str(tmp_path / "nope.txt"), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "nope.txt: no such file" in err
    assert not out.exists()


def test_truncated_input_exits_2_and_leaves_existing_output_alone(real_dir, tmp_path, capsys):
    text = (real_dir / "real_timer_list.txt").read_text()
    cut = text.index(".nr_events") + 5
    bad = tmp_path / "cut.txt"
    bad.write_text(text[:cut])
    out = tmp_path / "x.toml"
    out.write_text("precious")
    rc = main(["import", "timer-list", str(bad), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"cut.txt:{text[:cut].count(chr(10)) + 1}:" in err and err.count("\n") == 1
    assert out.read_text() == "precious"


def test_non_utf8_dmesg_names_file_and_line(real_dir, tmp_path, capsys):
    tl, _, _ = _copy_real(real_dir, tmp_path)
    dm = tmp_path / "dmesg.bin"
    dm.write_bytes(b"[    0.000000] fine\n[    0.000001] \xff\xfe broken\n")
    out = tmp_path / "x.toml"
    rc = main(["import", "timer-list", str(tl), "--dmesg", str(dm), "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 2 and "dmesg.bin:2: not text" in err
    assert not out.exists()


def test_garbled_interrupts_exits_2(real_dir, tmp_path, capsys):
    tl, _, irq = _copy_real(real_dir, tmp_path)
    irq.write_text(irq.read_text().replace("LOC:      59524", "LOC:      junk!"))
    out = tmp_path / "x.toml"
    rc = main(["import", "timer-list", str(tl), "--interrupts", str(irq), "-o", str(out)])
    assert rc == 2
    assert "real_interrupts.txt:" in capsys.readouterr().err
    assert not out.exists()


def test_a_dmesg_without_timer_lines_is_named_in_a_warning_not_listed_as_a_source(tmp_path, capsys):
    # a wrong file given as --dmesg was reported as a source ("from timer_list ..., dmesg notes.txt") of
    # a scenario it contributed nothing to
    assert main(["timer-list", "--preset", "bare-metal-lapic", "--at", "100ms", "--engine", "reference"]) == 0
    tl = tmp_path / "timer_list.txt"
    tl.write_text(capsys.readouterr().out)
    notes = tmp_path / "notes.txt"
    notes.write_text("[    1.000000] usb 1-1: new high-speed USB device\nsomething else\n")
    assert main(["import", "timer-list", str(tl), "--dmesg", str(notes), "-o", str(tmp_path / "m.toml")]) == 0
    out = capsys.readouterr()
    assert f"warning: {notes}: no timer lines" in out.err
    assert "notes.txt" not in out.out


def test_a_device_given_as_an_input_file_is_refused_before_reading(tmp_path, capsys):
    # /dev/zero as the timer list was read until memory ran out (the scenario reader refused it already)
    link = tmp_path / "timer_list.txt"
    link.symlink_to("/dev/zero")
    assert main(["import", "timer-list", str(link), "-o", str(tmp_path / "out.toml")]) == 2
    err = capsys.readouterr().err
    assert "timer_list.txt: not a regular file (a device or socket): give a file" in err and err.count("\n") == 1
    assert not (tmp_path / "out.toml").exists()

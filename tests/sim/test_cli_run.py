import json

import pytest

from tickscope.sim.cli import main
from tickscope.sim.cli.negative_values import join_negative_values

KEYS = {"scenario", "seed", "until_ns", "events", "hz", "clocksource", "jiffies_delta", "cpus", "clocks", "log"}
CPU_KEYS = {"cpu", "tick_device", "ticks_expected", "ticks_delivered", "ticks_lost", "ticks_late", "ticks_duplicated",
            "wakeups", "idle_ns", "broadcast_received", "latency_ns_p50", "latency_ns_max"}


def test_run_json_contract(capsys):
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "1s", "--json", "--engine", "reference"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= set(out)
    assert out["until_ns"] == 10**9 and out["hz"] == 250 and out["clocksource"] == "tsc"
    assert len(out["cpus"]) == 4 and CPU_KEYS <= set(out["cpus"][0])
    assert out["cpus"][0]["tick_device"] == "lapic-deadline"
    assert abs(out["jiffies_delta"] - 250) <= 1
    assert "wall_drift_ns" in out["clocks"]
    assert any("Switched to clocksource tsc" in line for line in out["log"])


def test_run_seed_and_set(capsys):
    assert main(["run", "--preset", "pit-only", "--set", "kernel.hz=1000", "--seed", "9", "--until", "100ms",
                 "--json", "--engine", "reference"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seed"] == 9 and out["hz"] == 1000 and out["cpus"][0]["tick_device"] == "pit"


@pytest.mark.parametrize("argv,msg", [
    (["run", "--preset", "nope"], "no preset named 'nope'"),
    (["run", "--preset", "pit-only", "--set", "machine.cpus=5000"], "machine.cpus: 5000 is out of range"),
    (["run", "--preset", "pit-only", "--until", "soon"], "--until"),
    (["run", "/no/such/file.toml"], "no such scenario file"),
    (["run"], "no scenario"),
    (["run", "--preset", "pit-only", "--seed", "99999999999999999999"], "--seed: 99999999999999999999 is out of range"),
    (["run", "--preset", "pit-only", "--seed", "-1"], "--seed: -1 is out of range"),
    (["run", "--preset", "pit-only", "--until", "200000s"], "--until: 200000s is longer than 100000s"),
    (["interrupts", "--preset", "pit-only", "--until", "0s"], "--at/--until: '0s' is zero; it must be more than 0"),
    (["interrupts", "--preset", "pit-only", "--until", "-5ms"], "--at/--until: '-5ms' is negative; it must be more than 0"),
    (["timer-list", "--preset", "pit-only", "--seed", "-3"], "--seed: -3 is out of range"),
])
def test_run_bad_input_exit_2_one_line(argv, msg, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert msg in err and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv,option,value,msg", [
    (["run", "--preset", "pit-only"], "--until", "-1s", "--until: '-1s' is negative"),
    (["run", "--preset", "pit-only"], "--late-threshold", "-5us", "--late-threshold: '-5us' is negative"),
    (["run", "--preset", "pit-only"], "--seed", "-1", "--seed: -1 is out of range"),
    (["interrupts", "--preset", "pit-only"], "--until", "-1s", "--at/--until: '-1s' is negative"),
    (["timer-list", "--preset", "pit-only"], "--at", "-0.5ms", "--at/--until: '-0.5ms' is negative"),
    (["calc", "clocksource", "--mask-bits", "64"], "--freq-hz", "-1e9", "--freq-hz '-1e9' is not a whole number"),
    (["calc", "clockevent", "--freq-hz", "1000", "--max-ticks", "9"], "--min-ticks", "-1_0",
     "--min-ticks -1_0 is out of range"),
    (["calc", "hyperv", "--tsc-hz", "20000000"], "--offset", "-1k", "--offset '-1k' is not a whole number"),
])
def test_a_negative_value_after_a_space_gets_the_same_message_as_after_an_equals(argv, option, value, msg, capsys):
    assert main([*argv, f"{option}={value}"]) == 2
    joined = capsys.readouterr().err
    assert main([*argv, option, value]) == 2
    spaced = capsys.readouterr().err
    assert spaced == joined and msg in spaced and spaced.count("\n") == 1, spaced


def test_only_number_like_words_are_taken_as_an_options_value(capsys):
    assert join_negative_values(["run", "--until", "-1s", "--seed", "-3", "x.toml"]) == \
        ["run", "--until=-1s", "--seed=-3", "x.toml"]
    assert join_negative_values(["run", "--until=2s", "--preset", "--json"]) == ["run", "--until=2s", "--preset", "--json"]
    assert join_negative_values(["run", "-o", "-1s", "--", "--until", "-1s"]) == ["run", "-o", "-1s", "--", "--until", "-1s"]
    with pytest.raises(SystemExit) as info:   # a missing value is still argparse's to name
        main(["run", "--preset", "pit-only", "--until"])
    assert info.value.code == 2
    assert "argument --until: expected one argument" in capsys.readouterr().err


def test_malformed_scenario_file(tmp_path, capsys):
    f = tmp_path / "bad.toml"
    f.write_text("schema = 1\n[kernel]\nhz = = 3\n")
    assert main(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert str(f) in err and "line 3" in err


def test_a_recording_under_another_name_is_named_a_zip_not_bad_utf8(tmp_path, capsys):
    # a renamed recording read as TOML said "not UTF-8 text (byte 0xb8); scenarios are UTF-8 TOML"
    rec = tmp_path / "r.tickrec"
    assert main(["run", "--preset", "pit-only", "--until", "20ms", "--engine", "reference", "-o", str(rec)]) == 0
    renamed = tmp_path / "r.toml"
    rec.rename(renamed)
    capsys.readouterr()
    for cmd in (["run", str(renamed)], ["timer-list", str(renamed)]):
        assert main(cmd) == 2
        err = capsys.readouterr().err
        assert f"{renamed}: is a zip archive, not a scenario" in err and ".tickrec" in err
        assert len(err.strip().splitlines()) == 1


def test_a_scenario_file_with_a_bom_runs_as_without_one(tmp_path, capsys):
    plain, bom = tmp_path / "plain.toml", tmp_path / "bom.toml"
    plain.write_text("schema = 1\n[kernel]\nhz = 100\n")
    bom.write_bytes(b"\xef\xbb\xbf" + plain.read_bytes())
    assert main(["boot-log", str(plain)]) == 0
    want = capsys.readouterr().out
    assert main(["boot-log", str(bom)]) == 0
    assert capsys.readouterr().out == want


def test_a_scenario_file_that_is_not_utf8_is_named_with_the_line_of_the_bad_byte(tmp_path, capsys):
    f = tmp_path / "latin1.toml"
    f.write_bytes("schema = 1\n# caf\u00e9 au lait\n".encode("latin-1"))
    assert main(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert err == f"tickscope: error: {f}:2: not UTF-8 text (byte 0xe9); scenarios are UTF-8 TOML\n"


def test_boot_log_and_timer_list(capsys):
    assert main(["boot-log", "--preset", "bare-metal-lapic", "--set", "machine.tsc_hz=2445406000"]) == 0
    out = capsys.readouterr().out
    assert "clocksource: tsc: mask: 0xffffffffffffffff max_cycles: 0x233fc4eb620, max_idle_ns: 440795316590 ns" in out
    assert "clocksource: jiffies: mask: 0xffffffff max_cycles: 0xffffffff, max_idle_ns: 7645041785100000 ns" in out
    assert main(["timer-list", "--preset", "bare-metal-lapic", "--set", "machine.tsc_hz=2445406000", "--at", "100ms",
                 "--engine", "reference"]) == 0
    tl = capsys.readouterr().out
    assert tl.startswith("Timer List Version: v0.10\nHRTIMER_MAX_CLOCK_BASES: 8\n")
    assert " mult:           10256776\n shift:          25\n" in tl
    assert " event_handler:  hrtimer_interrupt\n" in tl
    assert tl.count("Per CPU device:") == 4


def test_presets_lists_one_line_each(capsys):
    assert main(["presets"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert any(line.startswith("bare-metal-lapic") for line in lines)
    assert any(line.startswith("pit-only") for line in lines)


@pytest.mark.parametrize("make,flag,msg", [
    (lambda p: (p / "afile").write_text("x"), ["--csv", "afile"], "exists and is not a directory"),
    (lambda p: (p / "adir").mkdir(), ["-o", "adir"], "is a directory"),
    (lambda p: (p / "afile").write_text("x"), ["-o", "afile/x.tickrec"], "afile is not a directory"),
    (lambda p: (p / "afile").write_text("x"), ["--csv", "afile/deeper/sub"], "afile is not a directory"),
])
def test_run_refuses_unusable_output_paths_before_simulating(tmp_path, monkeypatch, capsys, make, flag, msg):
    monkeypatch.chdir(tmp_path)
    make(tmp_path)
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", *flag]) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_recording_not_named_tickrec_is_refused_before_simulating(tmp_path, monkeypatch, capsys):
    # `-o out.toml` wrote a zip that `run out.toml` then read as TOML: "not UTF-8 text (byte 0xb8)"
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "-o", "out.toml"]) == 2
    err = capsys.readouterr().err
    assert "-o out.toml: a recording's name ends in .tickrec (e.g. out.tickrec)" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out.toml").exists()


def test_run_makes_missing_output_folders_as_export_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--json",
                 "-o", "new/deep/x.tickrec", "--csv", "csvs/one"]) == 0
    assert (tmp_path / "new/deep/x.tickrec").stat().st_size > 0
    assert sorted(p.name for p in (tmp_path / "csvs/one").iterdir()) == ["cpus.csv", "events.csv"]


def test_an_output_that_fails_while_writing_exits_2_naming_the_file(capsys):
    # /proc exists, so the up-front check passes; creating a directory in it fails (also for root)
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "--csv", "/proc/tickscope-out"]) == 2
    err = capsys.readouterr().err
    assert "/proc/tickscope-out" in err and "Traceback" not in err


def test_an_error_only_booting_finds_names_the_scenario_file(tmp_path, capsys):
    f = tmp_path / "s.toml"
    f.write_text('schema = 1\nname = "x"\n[kernel]\nclocksource = "bogus"\n')
    assert main(["run", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"{f}: kernel.clocksource: 'bogus' is not registered" in err
    assert main(["timer-list", "--preset", "bare-metal-lapic", "--set", 'machine.broadcast="pit"']) == 2
    assert "preset bare-metal-lapic with --set: machine.broadcast:" in capsys.readouterr().err


def test_output_through_a_symlink_replaces_its_target_and_a_pipe_is_refused(tmp_path, monkeypatch, capsys):
    import os
    monkeypatch.chdir(tmp_path)
    (tmp_path / "target.tickrec").write_text("old")
    (tmp_path / "link.tickrec").symlink_to("target.tickrec")
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "-o", "link.tickrec"]) == 0
    assert (tmp_path / "link.tickrec").is_symlink() and (tmp_path / "target.tickrec").read_bytes()[:3] != b"old"
    os.mkfifo(tmp_path / "pipe")
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "-o", "pipe"]) == 2
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "-o", ""]) == 2
    err = capsys.readouterr().err
    assert "not a regular file" in err and "-o: empty file name" in err and "Traceback" not in err


def test_replacing_an_output_keeps_its_mode(tmp_path):
    import stat
    out = tmp_path / "private.tickrec"
    out.write_text("old")
    out.chmod(0o600)
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10ms", "-o", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and out.read_bytes()[:3] != b"old"


def test_interrupts_and_timer_list_take_until_seed_and_engine(capsys):
    assert main(["interrupts", "--preset", "bare-metal-lapic", "--until", "100ms", "--seed", "3", "--engine", "reference"]) == 0
    rows = capsys.readouterr().out.splitlines()
    loc = next(r for r in rows if r.startswith("LOC:"))
    assert [int(x) for x in loc.split()[1:5]] == [25] * 4     # HZ=250, 100 ms, the tick due at 100 ms included
    assert main(["timer-list", "--preset", "bare-metal-lapic", "--until", "100ms", "--engine", "reference"]) == 0
    assert "jiffies: " in capsys.readouterr().out


def test_a_run_longer_than_memory_allows_is_a_clear_error(monkeypatch, capsys):
    engine = pytest.importorskip("tickscope.ext.engine")
    monkeypatch.setattr(engine, "log_record_budget", lambda: 2_000)   # as if the machine had 40 kB to spare
    assert main(["run", "--preset", "bare-metal-lapic", "--until", "10s", "--engine", "cython"]) == 2
    err = capsys.readouterr().err
    assert "out of memory: the event log reached" in err and "shorten the run" in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_interrupts_rows_add_up_as_x86_counts_them(capsys):
    argv = ["--preset", "bare-metal-hpet-c3", "--until", "1s"]
    assert main(["run", *argv, "--json"]) == 0
    cpus = json.loads(capsys.readouterr().out)["cpus"]
    assert main(["interrupts", *argv]) == 0
    rows = {r.split(":")[0].strip(): [int(x) for x in r.split(":")[1].split()[:len(cpus)]]
            for r in capsys.readouterr().out.splitlines()[1:]}
    assert rows["LOC"] == [c["interrupts"] + c["ipis"] for c in cpus]
    assert rows["IPI"] == [c["ipis"] for c in cpus] and sum(rows["IPI"]) > 0
    assert sum(rows["0"]) > 0                            # the HPET broadcasting on IRQ 0


def _interrupt_rows(text, ncpus):
    return {r.split(":")[0].strip(): ([int(x) for x in r.split(":")[1].split()[:ncpus]], r)
            for r in text.splitlines()[1:]}


def test_paravirtual_timers_count_in_their_guests_own_rows(capsys):
    # a real Xen guest's timer VIRQ is its vCPU's "xen-percpu -virq timerN" row, its LOC stays 0; Hyper-V's
    # direct-mode stimer0 counts in HVS; the 2.6.22 VMI timer is IRQ 0 on the VMI-LOCAL chip
    assert main(["run", "--preset", "xen-pv", "--until", "1s", "--json"]) == 0
    cpus = json.loads(capsys.readouterr().out)["cpus"]
    assert main(["interrupts", "--preset", "xen-pv", "--until", "1s"]) == 0
    rows = _interrupt_rows(capsys.readouterr().out, 4)
    for cpu, irq in enumerate((24, 30, 36, 42)):    # after the 24 GSIs, six event channels per vCPU
        counts, line = rows[str(irq)]
        assert line.endswith(f"xen-percpu    -virq      timer{cpu}")
        assert counts[cpu] == cpus[cpu]["interrupts"] > 0 and sum(counts) == counts[cpu]
    assert rows["LOC"][0] == [0, 0, 0, 0]

    assert main(["run", "--preset", "hyperv", "--until", "1s", "--json"]) == 0
    cpus = json.loads(capsys.readouterr().out)["cpus"]
    assert main(["interrupts", "--preset", "hyperv", "--until", "1s"]) == 0
    rows = _interrupt_rows(capsys.readouterr().out, 4)
    assert rows["HVS"][0] == [c["interrupts"] for c in cpus] and min(rows["HVS"][0]) > 0
    assert rows["HVS"][1].endswith("Hyper-V stimer0 interrupts")
    assert rows["LOC"][0] == [c["ipis"] for c in cpus]

    # periodic at HZ=250 on every CPU for 1 s: 250 each, the tick due at 1 s included
    assert main(["interrupts", "--preset", "vmi-clockevents", "--until", "1s", "--set", 'kernel.nohz="off"']) == 0
    rows = _interrupt_rows(capsys.readouterr().out, 4)
    assert rows["0"][0] == [250] * 4 and rows["0"][1].endswith("VMI-LOCAL-lvtt      vmi-timer")
    assert rows["LOC"][0] == [0] * 4


def test_interrupts_res_row_counts_the_watchdogs_nohz_kicks(capsys):
    # all CPUs idle with their ticks stopped: each watchdog round (HZ/2 = 125 jiffies on the timer wheel's
    # 8-jiffy buckets: 0.512, 1.024, 1.504, 2.016, 2.528 s, five) queues the next round's timer on the other CPU
    # and kicks it (wake_up_nohz_cpu's reschedule IPI): CPU1 three times, CPU0 twice
    argv = ["--preset", "bare-metal-lapic", "--set", "machine.cpus=2", "--set", 'kernel.nohz="idle"',
            "--set", 'workload.kind="idle"', "--until", "3s"]
    outs = []
    for engine in ("reference", "cython"):
        assert main(["interrupts", *argv, "--engine", engine]) == 0
        outs.append(capsys.readouterr().out)
    res = next(r for r in outs[0].splitlines() if r.startswith("RES:"))
    assert res.split()[1:3] == ["2", "3"] and "Rescheduling interrupts" in res
    assert outs[0] == outs[1]


def test_human_table_columns_line_up_for_long_device_names(capsys):
    # "Hyper-V clockevent" is 18 characters: its rows ran two columns right of the header
    assert main(["run", "--preset", "hyperv", "--until", "100ms", "--engine", "reference"]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.lstrip().startswith("cpu"))
    rows = lines[header:]
    assert len({len(r) for r in rows}) == 1
    ends = {name: rows[0].index(name) + len(name) for name in ("expected", "delivered", "max lat")}
    for r in rows[1:]:
        for end in ends.values():
            assert r[end - 1] != " " and (end == len(r) or r[end] == " ")


@pytest.mark.parametrize("preset, now", [("bare-metal-lapic", 500_000_023), ("unstable-tsc", 500_000_000)])
def test_timer_list_is_read_at_t_or_when_a_lagging_clock_reads_t(preset, now, capsys):
    # README: read at true time T (a fast clock already reads past T: the TSC runs ~48 ppb fast here), or
    # once a lagging clock reads T (the HPET's rounded mult runs slow): "now at" is never below T
    assert main(["timer-list", "--preset", preset, "--at", "500ms"]) == 0
    assert f"now at {now} nsecs" in capsys.readouterr().out


@pytest.mark.parametrize("extra", [["--set", "kernel.hz=1000"], ["--until", "10s"], ["--seed", "0"], ["--preset", "kvm"],
                                   ["--late-threshold", "1ms"], ["-o", "again.tickrec"], ["--csv", "out"]])
def test_rerunning_a_recording_refuses_options_it_would_ignore(tmp_path, monkeypatch, capsys, extra):
    # they were ignored: `run rec.tickrec --set kernel.hz=1000` printed "results match" for the recorded HZ
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--preset", "pit-only", "--until", "50ms", "--engine", "reference", "-o", "r.tickrec"]) == 0
    capsys.readouterr()
    assert main(["run", "r.tickrec", *extra]) == 2
    err = capsys.readouterr().err
    assert f"{extra[0]} does not apply to a recording" in err and err.count("\n") == 1
    assert not (tmp_path / "again.tickrec").exists() and not (tmp_path / "out").exists()
    assert main(["run", "r.tickrec", "--engine", "reference", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["match"] is True


@pytest.mark.parametrize("command", ["interrupts", "timer-list"])
def test_a_read_time_given_twice_is_refused(command, capsys):
    # --at and --until are one option: "--at 1s --until 2s" read at 2 s without a word
    with pytest.raises(SystemExit) as exit_:
        main([command, "--preset", "kvm", "--at", "1s", "--until", "2s"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--until 2s: the time is already given (--at/--until 1s); give it once" in err and "Traceback" not in err


def test_the_human_report_shows_the_tick_layer_and_the_watchdogs_verdict(capsys):
    assert main(["run", "--preset", "unstable-tsc", "--until", "3s"]) == 0
    out = capsys.readouterr().out
    assert "C-state residency" in out and "tick stops" in out
    log = out.split("kernel log:\n", 1)[1].splitlines()
    assert any("Marking clocksource 'tsc' as unstable" in line for line in log)
    assert log[-1].endswith("clocksource: Switched to clocksource hpet")
    assert not any("tsc-early" in line for line in log)   # the boot's own switches are not repeated
    rows = [line.split() for line in out.splitlines() if line.strip().startswith(("0 ", "1 ")) and "%" in line]
    assert len(rows) == 2
    for row in rows:   # idle share and each state's share of the run, in percent: the states add up to the idle time
        idle = float(row[1].rstrip("%"))
        states = [float(x.rstrip("%")) for x in row[7::2]]
        assert 50 < idle <= 100 and abs(sum(states) - idle) <= 0.2


def test_a_busy_run_prints_no_idle_table_and_no_log(capsys):
    assert main(["run", "--preset", "kvm", "--until", "200ms"]) == 0
    out = capsys.readouterr().out
    assert "C-state residency" not in out and "kernel log:" not in out


@pytest.mark.parametrize("tamper,said", [
    (lambda res: res.meta["cpus"][0].update(idle_calls=res.meta["cpus"][0]["idle_calls"] + 7),
     "same event log, but the end state differs at cpus[0].idle_calls: stored {calls}, replayed {calls_7}"),
    (lambda res: res.value.__setitem__(3, res.value[3] + 1), "record 3 (value): stored {{"),
])
def test_a_replay_that_differs_says_where_in_one_line(tmp_path, monkeypatch, capsys, tamper, said):
    from tickscope.sim import record
    from tickscope.sim.cli import run as run_cmd
    from tickscope.sim.simulation import Simulation

    monkeypatch.chdir(tmp_path)
    assert main(["run", "--preset", "bare-metal-hpet-c3", "--until", "200ms", "--engine", "reference", "-o", "r.tickrec"]) == 0
    capsys.readouterr()

    class Tampered(Simulation):
        def run(self, *a, **kw):
            res = super().run(*a, **kw)
            tamper(res)
            return res

    monkeypatch.setattr(run_cmd, "Simulation", Tampered)
    assert main(["run", "r.tickrec", "--engine", "reference"]) == 1
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "results DIFFER: " in out
    stored = record.load_recording(tmp_path / "r.tickrec").results.meta["cpus"][0]["idle_calls"]
    assert said.format(calls=stored, calls_7=stored + 7) in out


def test_run_help_says_scenario_may_be_a_recording(capsys):
    # `run REC.tickrec` re-simulates a recording; its help said only "scenario TOML file"
    with pytest.raises(SystemExit) as e:
        main(["run", "--help"])
    assert e.value.code == 0
    assert ".tickrec" in " ".join(capsys.readouterr().out.split("SCENARIO", 2)[2].split()[:12])
    with pytest.raises(SystemExit):
        main(["timer-list", "--help"])
    assert ".tickrec" not in capsys.readouterr().out      # the /proc views take a scenario only


@pytest.mark.parametrize("until, shown", [("2s", "simulated 2 s "), ("2500ms", "simulated 2.5 s "),
                                          ("3999999ns", "simulated 0.003999999 s "), ("10ns", "simulated 0.00000001 s ")])
def test_the_header_says_the_simulated_time_exactly(until, shown, capsys):
    # `:g` printed 3999999ns as "simulated 0.004 s" and 10 ns as "simulated 1e-08 s"
    assert main(["run", "--preset", "laptop-deep-idle", "--until", until, "--engine", "reference"]) == 0
    assert shown in capsys.readouterr().out.splitlines()[0]


@pytest.mark.parametrize("preset,sets,note", [
    ("xen-pv", ["machine.hpet=true", "machine.pit=true"], "preset xen-pv with --set: machine.hpet = true and machine.pit "
     "= true: not used (a xen-pv guest sees no emulated timer hardware); the run is the same with machine.hpet = false "
     "and machine.pit = false"),
    ("vmi-2007", ["machine.hpet=true"], "preset vmi-2007 with --set: machine.hpet = true: not used (a vmi-2007 "
     "kernel's vmi_time_init enables no HPET and stops the PIT); the run is the same with machine.hpet = false"),
])
def test_hpet_or_pit_a_pv_guest_never_uses_is_noted_on_stderr(preset, sets, note, capsys):
    # they were silently ignored; not refused: the machine's defaults have both, and saved scenarios write them
    argv = ["run", "--preset", preset, "--until", "20ms", "--json", "--engine", "reference"]
    assert main(argv + [a for s in sets for a in ("--set", s)]) == 0
    out, err = capsys.readouterr()
    assert err == f"tickscope: note: {note}\n"
    assert main(argv) == 0   # the presets themselves say what their guest sees: no note, the same run
    again = capsys.readouterr()
    assert again.err == "" and json.loads(again.out)["cpus"] == json.loads(out)["cpus"]

"""``tickscope run``: simulate a scenario and report what the ticks did."""
from __future__ import annotations

from decimal import Decimal
import json
from pathlib import Path
import sys

from tickscope.sim.atomic import check_folder
from tickscope.sim import analysis, scenario as scen
from tickscope.sim.cli.common import (add_scenario_args, duration_arg, print_notes, run_end_arg, scenario_from_args,
                                      seed_arg)
from tickscope.sim.errors import InputError
from tickscope.sim.simulation import Simulation


def register(sub):
    p = sub.add_parser("run", help="simulate a scenario (or re-simulate a .tickrec) and report tick delivery")
    add_scenario_args(p, scenario_help="scenario TOML file, or a recording (.tickrec) to re-simulate and compare")
    p.add_argument("--until", metavar="T", help="simulated time to run, e.g. 10s (default: the scenario's run.until)")
    p.add_argument("--seed", type=int, metavar="N", help="random seed (default: the scenario's run.seed)")
    p.add_argument("--engine", choices=("cython", "reference"), default=None,
                   help="engine to use (default: cython when built)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--late-threshold", metavar="T", help="a tick handled later than expiry + T is late (default 100us)")
    p.add_argument("-o", "--output", metavar="FILE.tickrec", help="save a recording of the run")
    p.add_argument("--csv", metavar="DIR", help="write the event log and per-CPU summary as CSV into DIR")
    p.set_defaults(func=_run)


#: The files ``--csv DIR`` writes into DIR.
CSV_FILES = ("events.csv", "cpus.csv")


def _check_outputs(args):
    """Refuse output paths that cannot work before spending the run on them."""
    for flag, value in (("-o", args.output), ("--csv", args.csv)):
        if value is not None and not str(value).strip():
            raise InputError(f"{flag}: empty file name")
    if args.output:
        out = Path(args.output)
        if out.is_dir():
            raise InputError(f"-o {out}: is a directory (give a file name, e.g. {out / 'run.tickrec'})")
        if out.exists() and not out.is_file():
            raise InputError(f"-o {out}: not a regular file (a device or pipe): give a file name")
        if out.suffix.lower() != ".tickrec":
            # saved as out.toml it was a zip that `run`/`gui` read as TOML: "not UTF-8 text (byte 0xb8)"
            raise InputError(f"-o {out}: a recording's name ends in .tickrec (e.g. {out.with_suffix('.tickrec')}); "
                             "`run` and `gui` tell it from a scenario by that")
        check_folder(out.parent, f"-o {out}")   # missing folders are made when it is written
    if args.csv:
        d = Path(args.csv)
        if d.exists() and not d.is_dir():
            raise InputError(f"--csv {d}: exists and is not a directory")
        check_folder(d, f"--csv {d}")
        for name in CSV_FILES:   # a folder named cpus.csv failed after the run, with the recording already written
            if (d / name).exists() and not (d / name).is_file():
                raise InputError(f"--csv {d}: {d / name} exists and is not a regular file (a directory, device or "
                                 "pipe); --csv writes " + " and ".join(CSV_FILES) + " there")


def _run(args):
    if args.scenario and str(args.scenario).endswith(".tickrec"):
        return _replay(args)
    sc = scenario_from_args(args)
    # `is not None`: an empty --until or --late-threshold ('' from an unset shell variable) silently meant the default
    until = run_end_arg(args.until, "--until") if args.until is not None else None
    seed_arg(args.seed)
    # as long as the longest run at most: 9223372037s overflowed int64 in sim/clock_drift.py after the run
    late = duration_arg("100us" if args.late_threshold is None else args.late_threshold, "--late-threshold", positive=False, maximum=scen.UNTIL_MAX_NS)
    _check_outputs(args)
    print_notes(args)
    sim = Simulation(sc, engine=args.engine or "auto", seed=args.seed, until_ns=until)
    res = _run_with_progress(sim, quiet=args.json)
    summary = analysis.summarize(res, late)
    if args.output:
        from tickscope.sim import record

        record.save_recording(args.output, sim.scenario, res)
    if args.csv:
        from tickscope.sim.export import csv as csv_export

        events_csv, cpus_csv = CSV_FILES
        csv_export.write_event_log(res, f"{args.csv}/{events_csv}")
        csv_export.write_cpu_summary(summary["cpus"], f"{args.csv}/{cpus_csv}")
    if args.json:
        json.dump(summary, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_human(summary, sim)
    return 0


def _run_with_progress(sim, quiet):
    if quiet or not sys.stderr.isatty():
        return sim.run()
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]simulating[/]"), BarColumn(), TextColumn("{task.fields[now]}"),
                  TimeRemainingColumn(), transient=True, console=None) as prog:
        task = prog.add_task("run", total=sim.until_ns, now="")

        def progress(now, until):
            prog.update(task, completed=now, now=f"{now / 1e9:.3f} s / {until / 1e9:.3f} s")

        return sim.run(on_progress=progress, slices=200)


def _seconds(ns: int) -> str:
    """*ns* in seconds, exactly: ``2``, ``2.5``, ``0.003999999`` (``:g`` printed 0.004 and 1e-08)."""
    text = f"{Decimal(int(ns)).scaleb(-9):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _print_human(s, sim):
    print(f"scenario {s['scenario']}  seed {s['seed']}  simulated {_seconds(s['until_ns'])} s  HZ={s['hz']}  "
          f"clocksource {s['clocksource']}  engine {s['engine']}")
    rate = sim.events / sim.wall_s if sim.wall_s else 0.0
    # a short run took "0.000 s"
    wall = f"{sim.wall_s:.3f} s" if sim.wall_s >= 0.1 else f"{sim.wall_s * 1e3:.3g} ms"
    print(f"{s['events']} events in {wall} wall ({rate / 1e6:.2f} M events/s); jiffies +{s['jiffies_delta']}; "
          f"wall clock drift {s['clocks']['wall_drift_ns']} ns")
    # as wide as the longest device name ("Hyper-V clockevent" pushed its rows out of line) and latency
    dev = max([16] + [len(c["tick_device"]) for c in s["cpus"]])
    lat = max([7] + [len(str(c[k])) for c in s["cpus"] for k in ("latency_ns_p50", "latency_ns_max")])
    hdr = (f"{'cpu':>4} {'tick device':<{dev}} {'expected':>9} {'delivered':>9} {'lost':>6} {'late':>6} {'dup':>5} "
           f"{'p50 lat':>{lat + 2}} {'max lat':>{lat + 2}}")
    print(hdr)
    for c in s["cpus"]:
        print(f"{c['cpu']:>4} {c['tick_device']:<{dev}} {c['ticks_expected']:>9} {c['ticks_delivered']:>9} "
              f"{c['ticks_lost']:>6} {c['ticks_late']:>6} {c['ticks_duplicated']:>5} "
              f"{c['latency_ns_p50']:>{lat}}ns {c['latency_ns_max']:>{lat}}ns")
    _print_idle(s)
    _print_notable_log(s)


def _print_idle(s):
    """The tick layer per CPU when CPUs idle: time idle, tick stops, broadcast wake-ups, IPIs, C-state residency."""
    if not any(c.get("idle_ns") for c in s["cpus"]):
        return
    span = s["until_ns"] or 1
    print(f"{'cpu':>4} {'idle':>6} {'tick stops':>10} {'bc wakeups':>10} {'IPIs':>6} {'deep refused':>12}  C-state residency")
    for c in s["cpus"]:
        res = "  ".join(f"{name} {ns / span:6.1%}" for name, ns in c.get("cstate_residency_ns", {}).items())
        print(f"{c['cpu']:>4} {c['idle_ns'] / span:>6.1%} {c.get('tick_stops', 0):>10} {c.get('broadcast_received', 0):>10} "
              f"{c.get('ipis', 0):>6} {c.get('deep_refused', 0):>12}  {res}")


#: Kernel log lines worth showing after the tables: the watchdog's verdicts and the clockevents' retries.
NOTABLE = ("unstable", "skewed", "min_delta_ns", "watchdog")


def _print_notable_log(s):
    """The watchdog's and the clockevents' lines of the run's kernel log (the clocksource switch that follows one
    too); the whole log is in run --json's "log"."""
    lines, after_notable = [], False
    for line in s.get("log", []):
        if any(k in line for k in NOTABLE):
            lines.append(line)
            after_notable = True
        elif after_notable and "Switched to clocksource" in line:
            lines.append(line)
    if lines:
        print("kernel log:")
        for line in lines:
            print("  " + line)


def _replay(args):
    from tickscope.sim import record

    # the recorded scenario and seed are re-run as they are: these options were silently ignored (a --set
    # printed "results match" for a scenario that was never run)
    for flag, given in (("--preset", args.preset), ("--set", args.sets or None), ("--until", args.until), ("--seed", args.seed),
                        ("--late-threshold", args.late_threshold), ("-o", args.output), ("--csv", args.csv)):
        if given is not None:   # given empty ('') too
            raise InputError(f"{flag} does not apply to a recording: `run REC.tickrec` re-simulates its own scenario "
                             "and seed (only --engine and --json apply)")
    rec = record.load_recording(args.scenario)
    ok, details = record.replay_matches(rec, lambda sc, settle: Simulation(sc, engine=args.engine or "auto", settle=settle).run())
    if args.json:
        json.dump({"recording": str(args.scenario), "match": ok, "details": details}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(f"{args.scenario}: re-simulated from its scenario and seed: " + ("results match" if ok else
                                                                              "results DIFFER: " + _what_differs(details)))
        if not ok and details.get("why"):
            print(f"{args.scenario}: {details['why']}")
    return 0 if ok else 1


def _what_differs(details: dict) -> str:
    """The first difference of a replay, in one line (run --json has the whole record of both)."""
    diff, state = details.get("first_difference"), details.get("state_difference")
    if diff is not None:
        if diff["columns"] == ["length"]:
            return (f"the stored log has {details['records_stored']} records, the replay {details['records_replayed']} "
                    f"(the same up to record {diff['index']})")
        return f"record {diff['index']} ({', '.join(diff['columns'])}): stored {diff['stored']}, replayed {diff['replayed']}"
    return f"same event log, but the end state differs at {state['key']}: stored {state['stored']!r}, replayed {state['replayed']!r}"

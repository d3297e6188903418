"""``tickscope boot-log`` and ``tickscope timer-list``: what the simulated kernel prints."""
from __future__ import annotations

from tickscope.sim import snapshot
from tickscope.sim.cli.common import (add_read_time_arg, add_scenario_args, print_notes, run_end_arg, scenario_from_args,
                                      seed_arg)
from tickscope.sim.simulation import Simulation


def register(sub):
    p = sub.add_parser("boot-log", help="the dmesg clocksource/clockevent lines the scenario's boot implies")
    add_scenario_args(p)
    p.set_defaults(func=_boot_log)
    p = sub.add_parser("timer-list", help="/proc/timer_list (v0.10, or --format v0.9) as the simulated kernel prints it at --at")
    add_scenario_args(p)
    add_read_time_arg(p, "it")
    p.add_argument("--format", choices=snapshot.TIMER_LIST_VERSIONS, default="v0.10",
                   help="layout: v0.10 (6.9+: .nohz and .highres; no .get_time, as since its 2025 removal) or "
                        "v0.9 (5.14-6.8: .nohz_mode 0/1/2, .get_time, tick_sched_timer)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's run.seed)")
    p.add_argument("--engine", choices=("cython", "reference"), default=None)
    p.set_defaults(func=_timer_list)


def _boot_log(args):
    sim = Simulation(scenario_from_args(args), engine="reference")
    print_notes(args)
    for line in snapshot.boot_log_lines(sim.plan):
        print(line)
    return 0


def _timer_list(args):
    sc = scenario_from_args(args)
    at = run_end_arg(args.at, "--at/--until") if args.at is not None else sc.run.until
    seed = seed_arg(args.seed)
    print_notes(args)
    # A snapshot of one instant: the file is read when the kernel's clock reads --at (where a run's end
    # settles), before the in-flight interrupts the end delivers, whose C-state exits put idle times past
    # "now at": the reading the app's Proc files panel shows (snapshot.proc_files_at)
    files = snapshot.proc_files_at(sc, at, engine=args.engine or "auto", seed=seed)
    print(files[snapshot.TIMER_LIST_TITLES[snapshot.TIMER_LIST_VERSIONS.index(args.format)]], end="")
    return 0

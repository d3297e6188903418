"""``tickscope boot-log`` and ``tickscope timer-list``: what the simulated kernel prints."""
from __future__ import annotations

from tickscope.sim import scenario as scen
from tickscope.sim import snapshot
from tickscope.sim.cli.common import add_scenario_args, scenario_from_args
from tickscope.sim.errors import InputError
from tickscope.sim.simulation import Simulation


def register(sub):
    p = sub.add_parser("boot-log", help="the dmesg clocksource/clockevent lines the scenario's boot implies")
    add_scenario_args(p)
    p.set_defaults(func=_boot_log)
    p = sub.add_parser("timer-list", help="/proc/timer_list (v0.10) as the simulated kernel prints it")
    add_scenario_args(p)
    p.add_argument("--at", metavar="T", default=None,
                   help="simulated time to read it at, e.g. 500ms (default: the scenario's run.until)")
    p.add_argument("--engine", choices=("cython", "reference"), default=None)
    p.set_defaults(func=_timer_list)


def _boot_log(args):
    sim = Simulation(scenario_from_args(args), engine="reference")
    for line in snapshot.boot_log_lines(sim.plan):
        print(line)
    return 0


def _timer_list(args):
    sc = scenario_from_args(args)
    at = None
    if args.at is not None:
        try:
            at = scen.parse_duration(args.at)
        except ValueError as exc:
            raise InputError(f"--at: {exc}") from None
        if at <= 0:
            raise InputError("--at: must be positive")
    sim = Simulation(sc, engine=args.engine or "auto", until_ns=at)
    sim.run()
    print(snapshot.timer_list_text(sim), end="")
    return 0

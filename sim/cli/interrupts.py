"""``tickscope interrupts``: /proc/interrupts timer rows of the simulated kernel."""
from __future__ import annotations

from tickscope.sim import snapshot
from tickscope.sim.cli.common import (add_read_time_arg, add_scenario_args, print_notes, run_end_arg, scenario_from_args,
                                      seed_arg)
from tickscope.sim.simulation import Simulation


def register(sub):
    p = sub.add_parser("interrupts", help="/proc/interrupts timer rows (IRQ 0, LOC, RES, the broadcast IPIs, paravirtual timers) at --at")
    add_scenario_args(p)
    add_read_time_arg(p, "them")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's run.seed)")
    p.add_argument("--engine", choices=("cython", "reference"), default=None)
    p.set_defaults(func=_run)


def _run(args):
    sc = scenario_from_args(args)
    at = run_end_arg(args.at, "--at/--until") if args.at is not None else None
    seed = seed_arg(args.seed)
    print_notes(args)
    sim = Simulation(sc, engine=args.engine or "auto", until_ns=at, seed=seed)
    sim.run()
    print(snapshot.interrupts_text(sim), end="")
    return 0

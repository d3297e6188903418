"""``tickscope interrupts``: /proc/interrupts timer rows of the simulated kernel."""
from __future__ import annotations

from tickscope.sim import procfs
from tickscope.sim import snapshot
from tickscope.sim.cli.common import add_scenario_args, duration_arg, scenario_from_args
from tickscope.sim.simulation import Simulation


def register(sub):
    p = sub.add_parser("interrupts", help="/proc/interrupts timer rows (LOC, IRQ 0) after the run")
    add_scenario_args(p)
    p.add_argument("--at", metavar="T", default=None, help="simulated time to read them at (default: run.until)")
    p.set_defaults(func=_run)


def _run(args):
    sc = scenario_from_args(args)
    at = duration_arg(args.at, "--at") if args.at is not None else None
    sim = Simulation(sc, until_ns=at)
    sim.run()
    print(procfs.render_interrupts(sim.plan.ncpus, snapshot.interrupts_rows(sim)), end="")
    return 0

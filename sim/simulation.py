"""Running a scenario: boot it, drive an engine in slices, collect Results.

>>> from tickscope.sim import scenario, simulation
>>> sim = simulation.Simulation(scenario.preset("bare-metal-lapic"))
>>> res = sim.run()                      # to the scenario's run.until
>>> sim.step(10_000_000)                 # or stream: advance 10 ms at a time

The Cython engine is used when it is built; ``engine="reference"`` selects the
pure-Python twin (same event log, much slower).
"""
from __future__ import annotations

import time
from typing import Callable

from tickscope.sim import boot
from tickscope.sim import events as ev
from tickscope.sim.errors import InputError
from tickscope.sim.reference import SEMANTICS, ReferenceEngine
from tickscope.sim.results import Results
from tickscope.sim.scenario import SEED_MAX, UNTIL_MAX_NS

ENGINES = ("cython", "reference")


def cython_unavailable_reason() -> str | None:
    """Why the compiled engine cannot be used (not built, or built for other engine semantics), or None."""
    try:
        from tickscope.ext.engine import CyEngine
    except ImportError:
        return "the Cython engine is not built"
    built = getattr(CyEngine, "SEMANTICS", 1)
    if built != SEMANTICS:
        return f"the built Cython engine implements engine semantics {built}, the reference engine {SEMANTICS}"
    return None


def cython_available() -> bool:
    """True if the compiled engine is built and implements the reference engine's current semantics."""
    return cython_unavailable_reason() is None


def _make_engine(plan, engine: str):
    if engine == "reference":
        return ReferenceEngine(plan)
    if engine in ("cython", "auto"):
        why = cython_unavailable_reason()
        if why is None:
            from tickscope.ext.engine import CyEngine

            return CyEngine(plan)
        if engine == "cython":
            raise InputError(f"{why}; reinstall tickscope (pip install .) or use --engine reference")
        return ReferenceEngine(plan)
    raise InputError(f"engine: {engine!r} is not an engine (allowed: {', '.join(ENGINES)})")


def _check_run_override(seed, until_ns) -> None:
    """The seed / until a caller passes instead of run.seed / run.until, held to the scenario's bounds."""
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise InputError(f"seed: {seed} is out of range (0..{SEED_MAX})")
    if until_ns is not None and not 1 <= until_ns <= UNTIL_MAX_NS:
        raise InputError(f"until: {until_ns} ns is out of range (1 ns..{UNTIL_MAX_NS // 10**9} s)")


class Cancelled(Exception):
    """Raised by :meth:`Simulation.run` when its cancel callback returned true."""


class Simulation:
    """One run of one scenario.

    Parameters
    ----------
    scenario : tickscope.sim.scenario.Scenario
        What to simulate.
    engine : {"auto", "cython", "reference"}
        Which engine; "auto" takes the Cython one when built.
    seed : int, optional
        Overrides ``run.seed``.
    until_ns : int, optional
        Overrides ``run.until``.
    settle : bool
        At the end, deliver what is still in flight (the engine's ``finish``; default).  False stops
        dead at ``until``, as a run paused there (a recording of a paused run replays that way).

    Raises
    ------
    InputError
        If the scenario names devices the machine does not have.
    """

    def __init__(self, scenario, engine: str = "auto", seed: int | None = None, until_ns: int | None = None,
                 settle: bool = True):
        _check_run_override(seed, until_ns)
        if seed is not None or until_ns is not None:
            run = scenario.run.model_copy(update={k: v for k, v in (("seed", seed), ("until", until_ns)) if v is not None})
            scenario = scenario.model_copy(update={"run": run})
        self.scenario = scenario
        self.plan = boot.plan(scenario)
        self.until_ns = scenario.run.until
        self.seed = scenario.run.seed
        self.engine = _make_engine(self.plan, engine)
        self.engine_name = self.engine.name
        self.wall_s = 0.0
        self._toml_cache = None  # (scenario, its TOML): see _scenario_toml
        self.settle = settle
        self.settled_ns = None   # the engine's settle time, once the run reached its end: see step
        self._ended_at = None    # the until the run ended at
        #: ``at_end(sim)``, if set, is called where the run ends, when the kernel's clock reads ``until`` and
        #: before the interrupts then in flight are delivered (the instant ``tickscope timer-list`` reads);
        #: what it returns is kept as ``end_reading``
        self.at_end: Callable[[Simulation], object] | None = None
        self.end_reading = None

    @property
    def now_ns(self) -> int:
        return self.engine.now

    @property
    def done(self) -> bool:
        return self.engine.now >= self.until_ns

    @property
    def events(self) -> int:
        return self.engine.events

    def step(self, slice_ns: int) -> bool:
        """Advance by *slice_ns* (not past ``until``); returns True once the run is complete."""
        if slice_ns <= 0:
            raise ValueError(f"slice_ns must be positive, got {slice_ns}")
        if self.settled_ns is not None:
            if self.until_ns <= self._ended_at:
                return True
            raise RuntimeError("the run has ended; start a new Simulation to run further")
        target = min(self.engine.now + slice_ns, self.until_ns)
        t0 = time.perf_counter()
        self.engine.run_until(target)
        if target >= self.until_ns and self.settle:
            if self.at_end is not None:
                # where finish would start delivering (it runs to the same instant first: nothing changes)
                self.engine.run_until(self.engine.settle_ktime(self.until_ns))
                self.wall_s += time.perf_counter() - t0
                self.end_reading = self.at_end(self)
                t0 = time.perf_counter()
            # the end: the interrupts already on their way are delivered (engine finish), so a tick
            # due exactly at `until` counts and jiffies read HZ per second of the run
            self.settled_ns = self.engine.finish(self.until_ns)
            self._ended_at = self.until_ns
        self.wall_s += time.perf_counter() - t0
        return self.done

    def run(self, until_ns: int | None = None, on_progress: Callable[[int, int], None] | None = None,
            cancel: Callable[[], bool] | None = None, slices: int = 50) -> Results:
        """Run to *until_ns* (default: the scenario's ``run.until``) and return the results.

        Parameters
        ----------
        on_progress : callable(now_ns, until_ns), optional
            Called after every slice.
        cancel : callable() -> bool, optional
            Polled after every slice; a true answer raises :class:`Cancelled`.
        """
        if until_ns is not None:
            self.until_ns = until_ns
        step = max(1, (self.until_ns - self.engine.now) // max(1, slices))
        while not self.done:
            self.step(step)
            if on_progress:
                on_progress(self.engine.now, self.until_ns)
            if cancel and cancel():
                raise Cancelled()
        return self.results()

    def _scenario_toml(self) -> str:
        """The scenario as TOML, serialised once per scenario object (a live view asks for results ~40x/s)."""
        cached = self._toml_cache
        if cached is None or cached[0] is not self.scenario:
            cached = self._toml_cache = (self.scenario, self.scenario.to_toml())
        return cached[1]

    def results(self) -> Results:
        """The event log so far plus metadata."""
        cols = self.engine.columns()
        meta = self.plan.meta()
        g = self.engine.global_state()
        meta.update({
            "scenario": self._scenario_toml(),
            "scenario_name": self.scenario.name,
            "seed": self.seed,
            "until_ns": self.until_ns,
            "settled_ns": self.settled_ns,
            "now_ns": self.engine.now,
            "events": self.engine.events,
            "engine": self.engine_name,
            "engine_semantics": SEMANTICS,   # the model's version: a recording replays identically under the same
            "wall_s": self.wall_s,
            "jiffies": g["jiffies_seen"],
            "jiffies_updated": g["jiffies"],
            "boot_clocksource": meta["clocksource"],
            "clocksource": g["clocksource"],
            "ktime_ns": g["ktime_ns"],
            "do_timer_cpu": g["do_timer_cpu"],
            "last_jiffies_update": g["last_jiffies_update"],
            "cpus": self.engine.cpu_state(),
            "wall_ahead_ns": g.get("wall_ahead_ns", 0),
            "hypervisor": {k: g[k] for k in ("injections", "pit_discarded", "pit_pending_max", "pit_pending", "migrations",
                                             "tsc_hz_now") if k in g},
            "kinds": {k.name: int(k) for k in ev.Kind},
            "modes": {m.name: int(m) for m in ev.TickMode},
        })
        return Results(**cols, meta=meta)


def simulate(scenario, engine: str = "auto", seed: int | None = None, until_ns: int | None = None,
             settle: bool = True, **kw) -> Results:
    """Boot and run *scenario* to the end; see :class:`Simulation`."""
    return Simulation(scenario, engine=engine, seed=seed, until_ns=until_ns, settle=settle).run(**kw)

"""The scenario's ``[workload]``: what the CPUs do (busy, idle, mixed periods, user timers, per-CPU overrides).

Part of the scenario schema (:mod:`tickscope.sim.scenario`); :func:`check_workload` is its share of the
scenario's consistency check.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tickscope.sim.scenario_base import Duration, Section
from tickscope.sim.units import format_duration


class Period(Section):
    """A random duration: fixed, exponential (mean) or uniform (min..max)."""

    dist: Literal["fixed", "exponential", "uniform"] = Field("exponential", description="Distribution.")
    # at least 1 us: shorter busy/idle periods are not a workload (and a 1 ns period floods the log)
    mean: Duration = Field(5_000_000, ge=1000, le=100 * 10**9, description="Fixed value or exponential mean.",
                           json_schema_extra={"unit": "ns"})
    min: Duration = Field(1_000_000, ge=1000, le=100 * 10**9, description="Uniform lower bound.", json_schema_extra={"unit": "ns"})
    max: Duration = Field(10_000_000, ge=1000, le=100 * 10**9, description="Uniform upper bound.", json_schema_extra={"unit": "ns"})

    def unread_keys(self) -> tuple[str, ...]:
        """The keys this distribution does not read: ``min`` and ``max`` bound only a uniform one."""
        return ("mean",) if self.dist == "uniform" else ("min", "max")

    @model_validator(mode="after")
    def _order(self):
        if self.dist == "uniform" and self.min > self.max:
            # {dist = "uniform", min = "20ms"} named no max: say the bound it was compared with came by default
            given = "" if "max" in self.model_fields_set else ", the default"
            raise ValueError(f"min ({format_duration(self.min)}) must not exceed max ({format_duration(self.max)}{given})")
        return self

    @model_validator(mode="after")
    def _reads_what_it_is_given(self):
        # {dist = "uniform", mean = "3ms"} ran U(1ms, 10ms) and said nothing.  A table that gives all four keys is
        # read as saved: to_toml has always written every key, so a saved uniform period may hold the mean of the
        # exponential one it was switched from (and --set edits the saved form, all four keys).
        given = self.model_fields_set & {"dist", "mean", "min", "max"}
        unread = [k for k in self.unread_keys() if k in given]
        if len(given) < 4 and unread:
            reads = "min and max" if self.dist == "uniform" else "mean"
            raise ValueError(f"{unread[0]} is not read by dist = \"{self.dist}\", which reads {reads}; leave "
                             f"{' and '.join(unread)} out")
        return self


class TimerSpec(Section):
    """User hrtimers that wake idle CPUs."""

    kind: Literal["periodic", "random"] = Field("periodic", description="Periodic at `period`, or random at `rate_hz` "
                                                "(each kind takes its own key, not the other's).")
    period: Duration = Field(10_000_000, ge=1000, le=100 * 10**9, description="Period of a periodic timer.",
                             json_schema_extra={"unit": "ns"})
    rate_hz: int = Field(100, ge=1, le=1_000_000, description="Mean rate of a random (Poisson) timer.")
    cpus: list[int] = Field(default_factory=list, description="CPUs that get this timer; empty = all.")
    slack: Duration = Field(0, ge=0, le=10 * 10**9, description="Timer slack (hrtimer_start_range_ns's delta): the "
                            "timer may run from its expiry to expiry + slack; the device is programmed for the later, "
                            "so an interrupt in between (a tick, another timer) runs it early.  User space's default "
                            "is 50us (PR_SET_TIMERSLACK).", json_schema_extra={"unit": "ns"})

    def unread_keys(self) -> tuple[str, ...]:
        """The other kind's key, which this timer does not read: ``rate_hz`` of a periodic one, ``period`` of a random one."""
        return ("rate_hz",) if self.kind == "periodic" else ("period",)

    @model_validator(mode="after")
    def _one_kind(self):
        # each kind reads one of period and rate_hz, and the other was ignored: {kind = "periodic", rate_hz = 200}
        # ran every 10 ms.  A value off its default is refused wherever it comes from; one at its default only when
        # the table does not give every key ({period = "4ms", rate_hz = 100} ran at 250 Hz and said nothing), as a
        # saved scenario writes every key, the unread one at its default (as Period does)
        fields = type(self).model_fields
        other = self.unread_keys()[0]
        given = other in self.model_fields_set and not set(fields) <= self.model_fields_set
        if getattr(self, other) == fields[other].default and not given:
            return self
        if self.kind == "periodic":
            raise ValueError(f"rate_hz = {self.rate_hz} is for kind = \"random\"; a periodic timer runs every "
                             f"`period` (for {self.rate_hz} Hz: period = \"{format_duration(10**9 // self.rate_hz)}\")")
        raise ValueError(f"period = \"{format_duration(self.period)}\" is for kind = \"periodic\"; a random timer "
                         "fires at a mean rate of `rate_hz`")


#: User timers one CPU may have: a UTIMER record's ``source`` (uint8) is the timer's index on its CPU.
MAX_TIMERS_PER_CPU = 256

#: A mixed workload's share of busy time when neither busy_fraction nor idle_period says otherwise.
DEFAULT_BUSY_FRACTION = 0.5


class CpuWorkload(Section):
    """A per-CPU override of the workload."""

    cpus: list[int] = Field(description="The CPUs this override applies to (at least one).")
    kind: Literal["idle", "busy", "mixed", "timers"] = Field(
        description="What these CPUs do; \"timers\" needs a timer on each of them (here or in workload.timers).")
    busy_fraction: float | None = Field(None, ge=0.0, le=1.0, description="Share of time busy (mixed): idle periods "
                                        "scaled from the busy periods.  Give this or idle_period, not both; either "
                                        "one here wins over the workload's.")
    busy_period: Period | None = Field(None, description="Length of a busy period (mixed); default: the workload's.")
    idle_period: Period | None = Field(None, description="Length of an idle period (mixed).  Give this or "
                                       "busy_fraction, not both; either one here wins over the workload's.")
    timers: list[TimerSpec] = Field(default_factory=list, description="User timers on these CPUs only (each "
                                    "without `cpus`), in addition to the workload's.")


class Workload(Section):
    """What the CPUs do."""

    kind: Literal["idle", "busy", "mixed", "timers"] = Field(
        "busy", description="\"busy\": always running; \"idle\": only interrupts; \"mixed\": alternating busy/idle "
        "periods; \"timers\": idle, woken by user timers.")
    busy_fraction: float | None = Field(None, ge=0.0, le=1.0, description="Share of time busy in a mixed workload "
                                        f"(default {DEFAULT_BUSY_FRACTION}): idle periods scaled from the busy periods.  "
                                        "Give this or idle_period, not both.")
    busy_period: Period = Field(default_factory=Period, description="Length of a busy period (mixed).")
    idle_period: Period | None = Field(None, description="Length of an idle period (mixed); sets the busy share "
                                       "instead of busy_fraction (give one, not both).")
    timers: list[TimerSpec] = Field(default_factory=list, description="User timers (any kind; the \"timers\" kind needs one; "
                                    f"at most {MAX_TIMERS_PER_CPU} on one CPU, with its per_cpu entry's).")
    timer_work: Duration = Field(20_000, ge=0, le=10**9, description="CPU time each user timer expiry runs for.",
                                 json_schema_extra={"unit": "ns"})
    per_cpu: list[CpuWorkload] = Field(default_factory=list, description="Per-CPU overrides.")

    def idle_setting(self, override: CpuWorkload | None) -> tuple[float | None, Period | None]:
        """What sets a CPU's idle periods: ``(busy_fraction, None)`` or ``(None, idle_period)``.

        The more specific setting wins: the CPU's override's busy_fraction or idle_period (one at most),
        else the workload's idle_period, else its busy_fraction (default :data:`DEFAULT_BUSY_FRACTION`).
        """
        for level in (override, self):
            if level is not None and level.idle_period is not None:
                return None, level.idle_period
            if level is not None and level.busy_fraction is not None:
                return level.busy_fraction, None
        return DEFAULT_BUSY_FRACTION, None


def check_workload(w: Workload, ncpus: int) -> None:
    """The workload's consistency with itself and the machine's *ncpus* (raises ValueError naming the key)."""
    for at, level in [("workload", w)] + [(f"workload.per_cpu[{i}]", o) for i, o in enumerate(w.per_cpu)]:
        if level.busy_fraction is not None and level.idle_period is not None:
            raise ValueError(f"{at}.idle_period: conflicts with {at}.busy_fraction; give one of them (busy_fraction "
                             "scales the idle periods from the busy ones, idle_period sets them itself)")
    # the busy/idle period keys are read by mixed CPUs only: on an idle, busy or timers CPU they did nothing
    # (a per_cpu entry of kind "idle" with busy_fraction = 0.9 ran idle and said nothing).  The workload's own keys
    # are noted, not refused (sim/unused_settings.py): a preset's busy share outlives --set workload.kind="busy"
    for i, o in enumerate(w.per_cpu):
        given = [k for k in ("busy_fraction", "busy_period", "idle_period") if getattr(o, k) is not None]
        if o.kind != "mixed" and given:
            raise ValueError(f"workload.per_cpu[{i}].{given[0]}: read by a mixed workload only; this override's kind "
                             f"is \"{o.kind}\" (leave {given[0]} out, or set kind = \"mixed\")")
    seen: dict[int, int] = {}
    for i, o in enumerate(w.per_cpu):
        if not o.cpus:
            raise ValueError(f"workload.per_cpu[{i}].cpus: empty; list the CPUs this override applies to")
        # a CPU that does not exist is what to name, not the timer it lacks
        bad = [c for c in o.cpus if not 0 <= c < ncpus]
        if bad:
            raise ValueError(f"workload.per_cpu[{i}].cpus: CPU {bad[0]} does not exist (machine.cpus = {ncpus})")
        if len(set(o.cpus)) != len(o.cpus):
            raise ValueError(f"workload.per_cpu[{i}].cpus: a CPU is listed twice")
        bare = [c for c in o.cpus if o.kind == "timers" and not o.timers
                and not any(not t.cpus or c in t.cpus for t in w.timers)]
        if bare:
            raise ValueError(f"workload.per_cpu[{i}].kind = \"timers\" needs a timer on CPU {bare[0]}: give this "
                             "entry timers, or a [[workload.timers]] entry that reaches the CPU")
        for c in o.cpus:
            if c in seen:
                raise ValueError(f"workload.per_cpu[{i}].cpus: CPU {c} is already in workload.per_cpu[{seen[c]}]")
            seen[c] = i
        for j, t in enumerate(o.timers):
            if t.cpus:
                raise ValueError(f"workload.per_cpu[{i}].timers[{j}].cpus: a per-CPU override's timers run on "
                                 f"its own CPUs; leave cpus out")
    for i, t in enumerate(w.timers):
        bad = [c for c in t.cpus if not 0 <= c < ncpus]
        if bad:
            raise ValueError(f"workload.timers[{i}].cpus: CPU {bad[0]} does not exist (machine.cpus = {ncpus})")
        if len(set(t.cpus)) != len(t.cpus):
            raise ValueError(f"workload.timers[{i}].cpus: a CPU is listed twice")
    shared = [0] * ncpus
    for t in w.timers:
        for c in t.cpus or range(ncpus):
            shared[c] += 1
    for c in range(ncpus):
        own = len(w.per_cpu[seen[c]].timers) if c in seen else 0
        if shared[c] + own > MAX_TIMERS_PER_CPU:
            at = f"workload.per_cpu[{seen[c]}].timers" if own else "workload.timers"
            raise ValueError(f"{at}: CPU {c} gets {shared[c] + own} user timers; at most {MAX_TIMERS_PER_CPU} per CPU "
                             "(the event log numbers a CPU's timers in one byte)")
    if w.kind == "timers":
        # every CPU the workload's kind reaches needs a timer: idle forever is kind = "idle"
        overridden = {c for o in w.per_cpu for c in o.cpus}
        bare = [c for c in range(ncpus) if c not in overridden and not any(not t.cpus or c in t.cpus for t in w.timers)]
        if bare:
            raise ValueError(f"workload.kind = \"timers\" needs a timer on CPU {bare[0]}: give [[workload.timers]] an "
                             "entry that reaches it (no `cpus`, or one listing it), or a per_cpu entry for it")


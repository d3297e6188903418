"""Scenarios: TOML files with ``schema = 1``, validated by pydantic.

A scenario describes one simulated machine, the kernel configured on it, the
workload and the run.  Validation happens here, once, at the edge: every error
names the file, the dotted key, the bad value and what is allowed, and unknown
keys get a did-you-mean hint.  The engine trusts what passes.

Durations are strings with a unit (``"10s"``, ``"250ms"``, ``"40us"``,
``"1500ns"``) and become integer nanoseconds.
"""
from __future__ import annotations

import difflib
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import tomli_w
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from tickscope.sim.errors import InputError
from tickscope.sim.input_files import read_input
from tickscope.sim.scenario_base import Duration, Section
from tickscope.sim.scenario_errors import describe
from tickscope.sim.scenario_imported import check_imported
from tickscope.sim.scenario_workload import Period, Workload, check_workload
from tickscope.sim.units import format_duration, parse_duration

SCHEMA_VERSION = 1


#: Idle states one machine may list: an IDLE or WAKE record's ``source`` (uint8) is the state's index.
MAX_CSTATES = 256

#: Built-in C-states (intel_idle-like): exit latency and target residency in ns; C3 and deeper stop the
#: local APIC timer (CPUIDLE_FLAG_TIMER_STOP) unless the CPU has ARAT, and a non-invariant TSC.
CSTATE_TABLE = {
    "C1": (2_000, 2_000, False),
    "C1E": (10_000, 20_000, False),
    "C3": (70_000, 100_000, True),
    "C6": (85_000, 200_000, True),
    "C7s": (124_000, 800_000, True),
    "C8": (200_000, 800_000, True),
    "C10": (890_000, 5_000_000, True),
}


class CState(Section):
    """One idle state: how long waking takes and how long sleeping must last to pay off."""

    name: str = Field(description="State name, e.g. C6.")
    exit_latency: Duration = Field(ge=0, le=100_000_000, description="Wake-up latency.", json_schema_extra={"unit": "ns"})
    target_residency: Duration = Field(ge=0, le=10_000_000_000, description="Minimum useful residency.",
                                       json_schema_extra={"unit": "ns"})
    stops_timer: bool = Field(False, description="Deep state: the local APIC timer (and a non-invariant TSC) stops here.")

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, v: str) -> str:
        _not_blank(v)   # an empty name was taken: the residency table and legend showed a nameless state
        if v != v.strip():
            # "C1 " beside "C1" passed the duplicate check and printed as two C1 columns
            raise ValueError(f"{v!r} has blanks at its ends; write it as {v.strip()!r}")
        return v


def _not_blank(v: str) -> str:
    """A name field's check: not empty or only blanks."""
    if not v.strip():
        raise ValueError("must not be empty")
    return v


def _cstate(v):
    if isinstance(v, str):
        if v not in CSTATE_TABLE:
            raise ValueError(f"unknown C-state {v!r} (built-in: {', '.join(CSTATE_TABLE)}; or give a table "
                             "with name, exit_latency, target_residency, stops_timer)")
        lat, res, stop = CSTATE_TABLE[v]
        return {"name": v, "exit_latency": lat, "target_residency": res, "stops_timer": stop}
    if not isinstance(v, (dict, CState)):
        # [1] or [["C1"]] was "an inline table ..., not a value": a name is just as good
        raise ValueError(f"a C-state is a name ({', '.join(CSTATE_TABLE)}) or a table with name, exit_latency, "
                         f"target_residency, stops_timer, not {v!r}")
    return v


CStateItem = Annotated[CState, BeforeValidator(_cstate)]


class Machine(Section):
    """The simulated x86 machine's timer hardware."""

    cpus: int = Field(4, ge=1, le=1024, description="Number of CPUs (1..1024).")
    tsc_hz: int = Field(2_400_000_000, ge=0, le=10_000_000_000,
                        description="TSC frequency in Hz, at least 1 MHz; 0 = no TSC (a pre-Pentium box).",
                        json_schema_extra={"unit": "Hz"})
    tsc_invariant: bool = Field(True, description="Constant and non-stop TSC (CPUID 80000007H:EDX[8]).")
    lapic: bool = Field(True, description="Local APIC timer present (one per CPU).")
    lapic_bus_hz: int = Field(100_000_000, ge=1_000_000, le=10_000_000_000,
                              description="APIC bus clock in Hz; the LAPIC timer counts at bus/16.", json_schema_extra={"unit": "Hz"})
    tsc_deadline: bool = Field(True, description="LAPIC TSC-deadline mode available (lapic-deadline device).")
    arat: bool = Field(True, description="Always Running APIC Timer: the LAPIC timer keeps running in deep C-states.")
    hpet: bool = Field(True, description="HPET present.")
    hpet_hz: int = Field(14_318_179, ge=10_000_000, le=4_000_000_000,
                         description="HPET frequency in Hz (10 MHz..4 GHz: the kernel rebuilds it from a period in fs and "
                         "the clockevents core takes a u32).",
                         json_schema_extra={"unit": "Hz"})
    pit: bool = Field(True, description="i8254 PIT present (1 193 182 Hz).")
    acpi_pm: bool = Field(True, description="ACPI PM timer present (3 579 545 Hz, 24-bit).")
    irq_latency: Duration = Field(1000, ge=0, le=10_000_000,
                                  description="Interrupt entry latency from device fire to handler.", json_schema_extra={"unit": "ns"})
    irq_jitter: Duration = Field(0, ge=0, le=10_000_000,
                                 description="Extra uniformly distributed random latency, 0..irq_jitter (seeded).", json_schema_extra={"unit": "ns"})
    hpet_write_delay: Duration = Field(0, ge=0, le=10_000_000,
                                       description="Delay before a comparator write lands (posted writes, SMIs): the HPET "
                                       "comparator race of hpet_clkevt_set_next_event.", json_schema_extra={"unit": "ns"})
    ipi_latency: Duration = Field(2000, ge=0, le=10_000_000, description="IPI delivery latency (broadcast wake-ups).",
                                  json_schema_extra={"unit": "ns"})
    cstates: list[CStateItem] = Field(default_factory=list, description="Idle states, shallow to deep, e.g. [\"C1\", \"C1E\", \"C3\", \"C6\"]; "
                                      "empty = no cpuidle driver: idle halts (HLT) and no governor has a say in stopping the tick.")
    broadcast: Literal["auto", "hpet", "pit", "hrtimer", "none"] = Field(
        "auto", description="Tick broadcast device for CPUs whose timer stops in deep idle: \"auto\" = the leftover HPET or PIT "
        "(none if neither), \"hrtimer\" = one CPU's hrtimer stands in (that CPU cannot go deep).")
    tsc_skew: Duration = Field(0, ge=0, le=10_000_000_000, description="Largest TSC offset between CPUs (unsynchronised TSCs).",
                               json_schema_extra={"unit": "ns"})
    tsc_drift_ppm: int = Field(0, ge=-100_000, le=100_000, description="TSC runs this many ppm off its calibrated frequency.")


class Kernel(Section):
    """The simulated Linux kernel's time configuration."""

    hz: Literal[100, 250, 300, 1000] = Field(250, description="CONFIG_HZ: 100, 250, 300 or 1000.")
    highres: bool = Field(True, description="High-resolution timers (highres=on).")
    nohz: Literal["off", "idle"] = Field("off", description="Tickless idle: \"off\" or \"idle\" (NO_HZ_IDLE).")
    watchdog: bool = Field(True, description="Clocksource watchdog (CONFIG_CLOCKSOURCE_WATCHDOG) checks MUST_VERIFY clocksources.")
    clocksource: str = Field("", description="Clocksource override (clocksource=NAME); \"\" = best by rating.")
    clockevent: str = Field("", description="Tick device to use; \"\" = the kernel's own choice by rating.")
    skew_tick: bool = Field(False, description="skew_tick=1: offset each CPU's tick by cpu*(TICK_NSEC/2)/ncpus.")

    @field_validator("hz", mode="before")
    @classmethod
    def _hz_is_an_integer(cls, v):
        # a Literal of ints matches 250.0 by equality; CONFIG_HZ is an integer
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError("must be an integer: 100, 250, 300 or 1000")
        return v


class Migration(Section):
    """A live migration: the VM pauses, then resumes on a host whose TSC runs at ``tsc_hz``."""

    at: Duration = Field(ge=0, le=100_000 * 10**9, description="When the migration starts.", json_schema_extra={"unit": "ns"})
    tsc_hz: int = Field(ge=1_000_000, le=10_000_000_000, description="TSC frequency of the destination host.",
                        json_schema_extra={"unit": "Hz"})
    pause: Duration = Field(100_000_000, ge=0, le=100 * 10**9, description="How long the VM is stopped.",
                            json_schema_extra={"unit": "ns"})


BACKENDS = ("none", "vmi-2007", "vmi-clockevents", "xen-pv", "kvm", "hyperv")


class Hypervisor(Section):
    """The hypervisor the guest runs under and its paravirtual timer backend."""

    backend: Literal["none", "vmi-2007", "vmi-clockevents", "xen-pv", "kvm", "hyperv"] = Field(
        "none", description="Paravirtual timer backend: none (bare metal), vmi-2007, vmi-clockevents, xen-pv, kvm, hyperv.")
    overcommit: int = Field(1, ge=1, le=64, description="vCPUs per physical CPU: each vCPU runs one timeslice in `overcommit`.")
    timeslice: Duration = Field(6_000_000, ge=10_000, le=10**9, description="Host scheduler timeslice.",
                                json_schema_extra={"unit": "ns"})
    host_latency: Duration = Field(0, ge=0, le=10**9, description="Extra random delay before a vCPU runs again (0..value).",
                                   json_schema_extra={"unit": "ns"})
    injection: Period = Field(default_factory=lambda: Period(dist="exponential", mean=5_000, min=1_000, max=10_000),
                              description="Interrupt injection latency once the vCPU runs.")
    pit_policy: Literal["reinject", "discard"] = Field("reinject", description="KVM in-kernel PIT: lost ticks reinjected or discarded.")
    steal_reported: bool = Field(True, description="The guest is told about steal time (steal clock / runstate / VMI STOLEN).")
    tsc_scaling: bool = Field(False, description="Hardware TSC scaling keeps the guest TSC rate across migrations.")
    vmi_alarm_hz: int = Field(100, ge=1, le=10_000, description="VMI 2.6.21 alarm rate (CONFIG_VMI_ALARM_HZ).")
    migrations: list[Migration] = Field(default_factory=list, description="Live migrations during the run.")


class Core(Section):
    """Core-kernel changes applied to the simulated kernel (assets/arch/changes)."""

    changes: list[str] = Field(default_factory=list, description="Core changes, e.g. [\"lapic-irq-path\"].")


UNTIL_MAX_NS = 100_000 * 10**9
SEED_MAX = 2**63 - 1


class Run(Section):
    """How long and with which seed."""

    until: Duration = Field(1_000_000_000, ge=1, le=UNTIL_MAX_NS,
                            description="Simulated time to run.", json_schema_extra={"unit": "ns"})
    seed: int = Field(1, ge=0, le=SEED_MAX, description="Random seed; same scenario + same seed = identical event log.")


class Scenario(Section):
    """One simulated machine, kernel, workload and run."""

    schema_: Literal[1] = Field(1, alias="schema", description="Scenario file format version.")
    name: str = Field("untitled", description="Short name.")
    description: str = Field("", description="One line saying what the scenario shows.")
    machine: Machine = Field(default_factory=Machine)
    kernel: Kernel = Field(default_factory=Kernel)
    workload: Workload = Field(default_factory=Workload)
    hypervisor: Hypervisor = Field(default_factory=Hypervisor)
    core: Core = Field(default_factory=Core)
    run: Run = Field(default_factory=Run)
    imported: dict[str, Any] = Field(default_factory=dict,
                                     description="Facts kept by `import timer-list` that the engine cannot model yet.")

    model_config = ConfigDict(populate_by_name=True)   # merged with Section's (extra="forbid", strict, ...)

    @field_validator("name")
    @classmethod
    def _name_not_blank(cls, v: str) -> str:
        return _not_blank(v)

    @model_validator(mode="after")
    def _consistent(self) -> "Scenario":
        m = self.machine
        if 0 < m.tsc_hz < 1_000_000:
            raise ValueError(f"machine.tsc_hz: {m.tsc_hz} Hz is not a TSC (at least 1 MHz; 0 = no TSC)")
        if m.tsc_hz == 0 and m.tsc_deadline and m.lapic:
            raise ValueError("machine.tsc_deadline needs a TSC (machine.tsc_hz > 0)")
        if not m.lapic and m.cpus > 1 and self.hypervisor.backend not in ("xen-pv", "vmi-2007"):
            raise ValueError("machine.lapic = false needs machine.cpus = 1 (SMP x86 needs a local APIC)")
        check_workload(self.workload, m.cpus)
        if len(m.cstates) > MAX_CSTATES:
            raise ValueError(f"machine.cstates: {len(m.cstates)} states; at most {MAX_CSTATES} (IDLE and WAKE records carry "
                             "a state's index in one byte)")
        names = [c.name for c in m.cstates]
        if len(set(names)) != len(names):
            raise ValueError("machine.cstates: duplicate state names")
        for i in range(1, len(m.cstates)):
            a, b = m.cstates[i - 1], m.cstates[i]
            if b.target_residency < a.target_residency:   # the governor walks the list shallow to deep
                raise ValueError(f"machine.cstates[{i}] ({b.name}): target residency {format_duration(b.target_residency)} "
                                 f"is below the {format_duration(a.target_residency)} of {a.name} before it; "
                                 "list the states shallow to deep")
        if m.cstates and m.cstates[0].stops_timer:
            # x86 always has HLT (C1), and cpuidle falls back to a shallow state when nothing deeper fits or
            # a deep state is refused (no broadcast): a list of deep states only has nothing to fall back to
            raise ValueError(f"machine.cstates[0] ({m.cstates[0].name}): the shallowest state must keep the timer "
                             "running (C1 or C1E, or a custom state with stops_timer = false): x86 always has HLT, "
                             "and idle falls back to it")
        if m.broadcast == "hpet" and not m.hpet:
            raise ValueError("machine.broadcast = \"hpet\" needs machine.hpet = true")
        if m.broadcast == "pit" and not m.pit:
            raise ValueError("machine.broadcast = \"pit\" needs machine.pit = true")
        for i, mig in enumerate(self.hypervisor.migrations):
            if self.hypervisor.backend == "none":
                raise ValueError(f"hypervisor.migrations[{i}]: migrations need a guest (hypervisor.backend)")
        if self.hypervisor.overcommit > 1 and self.hypervisor.backend == "none":
            # bare metal has no vCPUs to share a host CPU: it ran as steal time that no tick felt
            raise ValueError(f"hypervisor.overcommit = {self.hypervisor.overcommit}: vCPUs sharing a host CPU need a "
                             "guest (hypervisor.backend)")
        if self.core.changes:
            from tickscope.sim.graph import archmodel

            known = archmodel.list_changes() if hasattr(archmodel, "list_changes") else None
            for i, c in enumerate(self.core.changes):
                if known is not None and c not in known:
                    hint = difflib.get_close_matches(c, known, n=1)
                    raise ValueError(f"core.changes[{i}]: unknown core change {c!r}"
                                     + (f" (did you mean {hint[0]!r}?)" if hint else f"; known: {', '.join(known)}"))
        if self.hypervisor.backend != "none" and not m.tsc_hz:
            raise ValueError("a guest (hypervisor.backend) needs a TSC: machine.tsc_hz > 0")
        if not (m.lapic or m.hpet or m.pit) and self.hypervisor.backend == "none":
            raise ValueError("the machine has no clock event device: enable machine.lapic, machine.hpet or machine.pit")
        return self

    @model_validator(mode="after")
    def _imported_facts(self) -> "Scenario":
        # boot registers imported.clocksources from their freq_hz, mask_bits and rating: a value it cannot take
        # (or a misspelt key, kept without a word) is refused here, naming the key and the allowed range
        check_imported(self.imported)
        return self

    # -- serialisation -------------------------------------------------
    def to_dict(self, compact: bool = False) -> dict:
        """The scenario as plain TOML-ready data (durations as unit strings, unset optionals left out).

        Parameters
        ----------
        compact : bool
            Leave out a table's keys that its kind does not read while they hold their defaults: a periodic
            timer's ``rate_hz = 100``, an exponential period's ``min`` and ``max`` (which do not bound it).
            Every key otherwise (what :meth:`to_toml` writes).

        Returns
        -------
        dict
            Sections by name, then keys by name.
        """
        d = _dump(self, compact)
        if not d.get("imported"):
            d.pop("imported", None)
        return d

    def to_toml(self) -> str:
        """The scenario as TOML text, ``schema`` first."""
        return tomli_w.dumps(self.to_dict())


def _dump(model: BaseModel, compact: bool = False):
    out = {}
    fields = type(model).model_fields
    unread = getattr(model, "unread_keys", tuple)() if compact else ()
    left_out = {k for k in unread if getattr(model, k) == fields[k].get_default(call_default_factory=True)}
    if left_out != set(unread):
        # an unread key off its default (a period switched from exponential to uniform keeps its mean): only the
        # whole table reads back as it is (Period refuses an unread key in a table that gives fewer than all keys)
        left_out = set()
    for key, field in fields.items():
        value = getattr(model, key)
        name = field.alias or key
        if value is None:
            continue
        if key in left_out:
            continue   # a periodic timer's rate_hz, an exponential period's min and max: left at their defaults
        out[name] = _plain(value, field, compact)
    return out


def _plain(value, field, compact: bool = False):
    """A key's *value* as TOML-ready data, as to_dict writes it: a built-in C-state by its name, a table as a dict
    (:func:`_dump`, *compact* passed on), a list element by element, a duration as a unit string."""
    if value is None:
        return None
    if _builtin_cstate(value):
        return value.name
    if isinstance(value, BaseModel):
        return _dump(value, compact)
    if isinstance(value, list):
        return [v.name if _builtin_cstate(v) else _dump(v, compact) if isinstance(v, BaseModel) else v for v in value]
    if _is_duration(field):
        return format_duration(value)
    return value


def _builtin_cstate(v) -> bool:
    return isinstance(v, CState) and CSTATE_TABLE.get(v.name) == (v.exit_latency, v.target_residency, v.stops_timer)


def _is_duration(field) -> bool:
    return any(isinstance(m, BeforeValidator) and m.func is parse_duration for m in field.metadata)


# -- loading, with errors that name the place --------------------------------

def from_dict(data: dict, source: str = "<scenario>") -> Scenario:
    """Validate plain data (as read from TOML) into a :class:`Scenario`.

    Raises
    ------
    InputError
        Naming *source*, the dotted key and what is allowed.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source}: a scenario must be a TOML table")
    if "schema" not in data:
        raise InputError(f"{source}: schema: required key is missing (write `schema = {SCHEMA_VERSION}` at the top)")
    if data.get("schema") != SCHEMA_VERSION or type(data.get("schema")) is not int:   # true and 1.0 equal 1
        raise InputError(f"{source}: schema: {data.get('schema')!r} is not supported (this tickscope reads schema = {SCHEMA_VERSION})")
    if (where := too_deep(data)) is not None:
        raise InputError(f"{source}: {where}: {TOO_DEEP}")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        raise InputError("; ".join(describe(e, source, Scenario) for e in errors[:3])
                         + (f" (and {len(errors) - 3} more)" if len(errors) > 3 else "")) from None


#: How deeply arrays and tables may nest in a scenario: its deepest key (imported.interrupts.counts.LOC[0]) is 5
#: down; a thousand nested arrays overflowed the parser's (and pydantic's) recursion with a RecursionError
MAX_DEPTH = 32
TOO_DEEP = f"malformed TOML: nested too deeply (more than {MAX_DEPTH} levels of arrays and tables)"


def too_deep(data, limit: int = MAX_DEPTH) -> str | None:
    """The dotted key under which *data* (plain TOML data) nests deeper than *limit* arrays and tables, else None.
    Walked without recursion."""
    stack = [(data, "", 0)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, (dict, list)):
            if depth > limit:
                return where or "(top level)"
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for k, v in items:
                # named by its key: a list's items by the list's (thirty "[0]"s said nothing more)
                stack.append((v, where if isinstance(node, list) else f"{where}.{k}".lstrip("."), depth + 1))
    return None


#: A UTF-8 byte order mark as text: TOML forbids it, Windows editors write it; a scenario's text may start with one.
BOM = "\ufeff"


def toml_data(text: str, source: str = "<scenario>") -> dict:
    """Scenario TOML text as plain data, not validated yet (:func:`from_dict` does that).  A leading byte order
    mark is ignored.

    Raises
    ------
    InputError
        For TOML syntax errors (with line and column).
    """
    try:
        return tomllib.loads(text.removeprefix(BOM))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: malformed TOML: {exc}") from None
    except RecursionError:   # tomllib parses nested arrays and inline tables recursively
        raise InputError(f"{source}: {TOO_DEEP}") from None


def loads(text: str, source: str = "<scenario>") -> Scenario:
    """Parse and validate TOML text.

    Raises
    ------
    InputError
        For TOML syntax errors (with line and column) and validation errors.
    """
    return from_dict(toml_data(text, source), source)


def load(path) -> Scenario:
    """Load and validate a scenario file.

    Raises
    ------
    InputError
        If the file is missing, unreadable, malformed or invalid.
    """
    return load_with_text(path)[0]


def load_with_text(path) -> tuple[Scenario, str]:
    """:func:`load`, also returning the file's text (kept as it is when the scenario is edited and saved).

    A leading byte order mark (Windows editors write one) is read past and is not part of the text, so a
    file saved back has none.
    """
    path = Path(path)
    data = read_input(path, "scenario file", MAX_SCENARIO_BYTES)
    if data[:4] == b"PK\x03\x04":   # read as TOML it was "not UTF-8 text (byte 0x85)", whatever the name
        raise InputError(f"{path}: is a zip archive, not a scenario (a tickscope recording is read by its name: "
                         "FILE.tickrec)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                         "scenarios are UTF-8 TOML") from None
    return loads(text, str(path)), text


#: The largest scenario file read: the shipped presets are under 10 KB, an imported 1024-CPU machine with its
#: interrupt counts a few hundred KB; /dev/zero (or a symlink to it) was read until memory ran out.
MAX_SCENARIO_BYTES = 8 * 1024 * 1024


def text_of(new: Scenario, text: str | None = None, old: Scenario | None = None) -> str:
    """*new* as TOML text.  Given the *text* that scenario *old* was read from, the result is an edit of that
    text (sim/scenario_text.py): its comments, key order and the spelling of unchanged values stay, only
    what differs between *old* and *new* is rewritten.  An edit that would not read back as exactly *new*
    (or a text that does not parse) gives the rendering from data instead, so the text never lies."""
    if not text or old is None:
        return new.to_toml()
    if old == new and _reads_as(text, new):
        return text
    from tickscope.sim.scenario_text import edit_text

    # the edited tables as the user writes them: a periodic timer without the rate_hz it does not read
    edited = edit_text(text, old.to_dict(compact=True), new.to_dict(compact=True))
    return edited if edited is not None and _reads_as(edited, new) else new.to_toml()


def _reads_as(text: str, sc: Scenario) -> bool:
    try:
        return loads(text) == sc
    except InputError:
        return False


def save(scenario: Scenario, path, text: str | None = None) -> None:
    """Write *scenario* as TOML, atomically: *text* (its file's text, kept with comments: see
    :func:`text_of`) when given and it reads as *scenario*, else rendered from its data."""
    from tickscope.sim.atomic import write_text

    write_text(path, text if text and _reads_as(text, scenario) else scenario.to_toml())


# -- presets -------------------------------------------------------------------

def _preset_dir():
    return resources.files("tickscope.assets").joinpath("presets")


def presets() -> dict[str, Scenario]:
    """All shipped presets by name, sorted by name."""
    out = {}
    for entry in sorted(_preset_dir().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            out[entry.name[:-5]] = loads(entry.read_text(encoding="utf-8"), f"preset {entry.name[:-5]}")
    return out


DEFAULT_PRESET = "bare-metal-lapic"


def preset(name: str) -> Scenario:
    """Load one preset by name.

    Raises
    ------
    InputError
        If there is no such preset (with a did-you-mean).
    """
    return preset_with_text(name)[0]


def preset_with_text(name: str) -> tuple[Scenario, str]:
    """:func:`preset`, also returning its file's text (as :func:`load_with_text` does for a file)."""
    text = preset_text(name)
    return loads(text, f"preset {name}"), text


def preset_text(name: str) -> str:
    """The preset's TOML file as shipped (with its comments); InputError like :func:`preset`."""
    entry = _preset_dir().joinpath(name + ".toml")
    if not entry.is_file():
        names = [e.name[:-5] for e in _preset_dir().iterdir() if e.name.endswith(".toml")]
        hint = difflib.get_close_matches(name, names, n=1)
        raise InputError(f"no preset named {name!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                         + f"; presets: {', '.join(sorted(names))}")
    return entry.read_text(encoding="utf-8")


# -- --set dotted.key=VALUE ----------------------------------------------------

def apply_sets(scenario: Scenario, assignments: list[str], source: str = "--set") -> Scenario:
    """Return a copy of *scenario* with ``dotted.key=VALUE`` assignments applied and validated.

    VALUE is read as a TOML value (``4``, ``true``, ``"x"``, ``[1, 2]``) and,
    failing that, as a plain string.  ``workload.busy_fraction`` and ``workload.idle_period``
    are alternatives: setting one (or one of idle_period's keys) drops the scenario's other (setting both is
    refused).  An optional table the scenario leaves out (``workload.idle_period``) may be set key by key.

    Raises
    ------
    InputError
        For a malformed assignment or a value the schema refuses.
    """
    data = scenario.model_dump(by_alias=True)
    assigned: set[str] = set()
    for item in assignments:
        if "=" not in item:
            raise InputError(f"{source} {item!r}: expected dotted.key=VALUE (e.g. machine.cpus=8)")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not p for p in key.split(".")):
            raise InputError(f"{source} {item!r}: empty key")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw
        except RecursionError:
            raise InputError(f"{source} {key}: {TOO_DEEP}") from None
        if too_deep(value, MAX_DEPTH - len(key.split("."))) is not None:
            raise InputError(f"{source} {key}: {TOO_DEEP}")
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            nxt = node.get(part)
            if nxt is None:
                # a new table, or an optional one left out (workload.idle_period): its keys start it
                nxt = node[part] = {}
            elif not isinstance(nxt, dict):
                raise InputError(f"{source} {item!r}: {part} is not a table")
            node = nxt
        node[parts[-1]] = value
        # workload.idle_period, or one of its keys, replaces busy_fraction, and the other way round
        partner = {"busy_fraction": "idle_period", "idle_period": "busy_fraction"}.get(parts[1]) if (
            parts[0] == "workload" and len(parts) > 1) else None
        if partner and not any(k == f"workload.{partner}" or k.startswith(f"workload.{partner}.") for k in assigned):
            data["workload"][partner] = None
        assigned.add(key)
    return from_dict(data, source)


def _table_keys(field) -> list[tuple[str, Any]] | None:
    """``(key, default as TOML-ready data; None when required or unset by default)`` of the table a list or table
    key holds (a timer's kind, period, rate_hz, cpus, slack), or None for a key that holds no table."""
    ann = field.annotation
    for arg in (ann, *get_args(ann)):   # Period, Period | None, list[TimerSpec], list[Annotated[CState, ...]]
        arg = get_args(arg)[0] if get_origin(arg) is Annotated else arg
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return [(f.alias or k, None if f.is_required() else _plain(f.get_default(call_default_factory=True), f))
                    for k, f in arg.model_fields.items()]
    return None


def schema_fields() -> list[dict]:
    """Describe every scenario key for generated forms: section, key, type, default (and ``default_data``, the
    default as TOML-ready data), ``table_keys`` (the keys of the tables a list or table key holds, with their
    defaults), range, unit, doc."""
    out = []
    for section, model in (("machine", Machine), ("kernel", Kernel), ("workload", Workload), ("hypervisor", Hypervisor),
                           ("core", Core), ("run", Run)):
        for key, field in model.model_fields.items():
            lo = hi = None
            for m in field.metadata:
                if getattr(m, "ge", None) is not None:
                    lo = m.ge
                if getattr(m, "le", None) is not None:
                    hi = m.le
            extra = field.json_schema_extra or {}
            choices = None
            ann = field.annotation
            if getattr(ann, "__origin__", None) is Literal:
                choices = list(ann.__args__)
            # a list or table's default comes from a factory: field.default is PydanticUndefined, which the form's
            # tooltips showed as "default: PydanticUndefined"
            default = field.get_default(call_default_factory=True)
            out.append({
                "section": section, "key": key, "type": "duration" if _is_duration(field) else getattr(ann, "__name__", str(ann)),
                "default": default, "default_data": _plain(default, field), "table_keys": _table_keys(field), "min": lo, "max": hi,
                "unit": extra.get("unit", ""), "choices": choices, "doc": field.description or "",
            })
    return out

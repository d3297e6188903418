"""Boot: the clocksources a scenario's kernel registers and the one timekeeping picks.

The counter model of every clocksource (:class:`Clocksource`: its kind and its
true rate as ``num/den`` counts per nanosecond), the x86 registration order with
the kernel's dmesg lines (``register_clocksources``), ``clocksource_select``
and the watchdog choice.  :mod:`tickscope.sim.boot` assembles the plan from these.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import gcd

from tickscope.sim import kclock
from tickscope.sim.errors import InputError

# Clocksource counter kinds
CS_COUNTER = 0    # a free-running hardware counter: cycles(t) = t * num // den
CS_JIFFIES = 1    # jiffies: the kernel's own tick count
CS_TSC = 2        # the (guest) TSC, piecewise across migrations
CS_PVCLOCK = 3    # pvclock: system_time + scale_delta(tsc - tsc_timestamp, mul, shift) (kvm-clock, xen)
CS_HVPAGE = 4     # Hyper-V reference TSC page: ((tsc * scale) >> 64) + offset, 100 ns units

# Backends whose guest kernel sees no emulated timer hardware: no HPET (neither its clocksource nor its clock
# event device), PIT or local APIC timer device (boot_devices re-exports it; defined here, which it imports)
PV_ONLY_BACKENDS = ("xen-pv", "vmi-2007", "vmi-clockevents")

_NATIVE_CLOCKSOURCES = {"jiffies", "refined-jiffies", "tsc", "tsc-early", "hpet", "acpi_pm", "pit"}
_PV_CLOCKSOURCE_NAMES = {"kvm": ("kvm-clock",), "xen-pv": ("xen",), "hyperv": ("hyperv_clocksource_tsc_page",),
                         "vmi-2007": ("vmi-timer",), "vmi-clockevents": ("vmi-timer",)}


def ratio(num: int, den: int) -> tuple[int, int]:
    """``num/den`` in lowest terms, the form every counter rate is kept in."""
    g = gcd(num, den)
    return num // g, den // g


def tsc_ratio(m) -> tuple[int, int]:
    """The TSC's true counts per ns: its nominal rate, off by ``tsc_drift_ppm`` (the kernel calibrated the nominal)."""
    return ratio(m.tsc_hz * (10**6 + m.tsc_drift_ppm), 10**15)


@dataclass
class Clocksource:
    """A registered clocksource with the kernel's numbers and the counter model."""

    params: kclock.ClocksourceParams
    kind: int
    num: int = 1
    den: int = 1
    continuous: bool = True
    must_verify: bool = False
    registered_at_ns: int = 0
    unstable: bool = False

    @property
    def name(self) -> str:
        return self.params.name

    @property
    def rating(self) -> int:
        return self.params.rating


def import_time(sc, name: str, default_ns: int) -> int:
    """When clocksource *name* registers.

    Parameters
    ----------
    sc : tickscope.sim.scenario.Scenario
    name : str
        Clocksource name as in dmesg.
    default_ns : int
        Registration time to use when the scenario was not imported or its
        dmesg does not show *name*.

    Returns
    -------
    int
        The imported dmesg timestamp of *name*'s registration line, else *default_ns*.
    """
    for e in sc.imported.get("clocksources", []) or []:
        line = str(e.get("dmesg", "")) if isinstance(e, dict) and e.get("name") == name else ""
        if line.startswith("[") and "]" in line:
            try:
                whole, frac = line[1:line.index("]")].strip().split(".")
                return int(whole) * 10**9 + int(frac.ljust(6, "0")[:6]) * 1000
            except ValueError:
                pass
    return default_ns


def register_clocksources(sc, hz: int, log: list[tuple[int, str]]) -> tuple[list[Clocksource], int]:
    """Register the machine's clocksources in x86 boot order, each with its dmesg line.

    Parameters
    ----------
    sc : tickscope.sim.scenario.Scenario
    hz : int
        ``CONFIG_HZ``.
    log : list of (int, str)
        Boot messages; one registration line per clocksource is appended.

    Returns
    -------
    clocksources : list of Clocksource
        In registration order (``tsc-early``, not yet the refined ``tsc``).
    tsc_khz : int
        The TSC's nominal rate in kHz, 0 without a TSC.

    Raises
    ------
    InputError
        If an imported clocksource lacks its name or rate.
    """
    m = sc.machine
    out: list[Clocksource] = []

    def add(cs: Clocksource, t_ns: int):
        cs.registered_at_ns = t_ns
        out.append(cs)
        log.append((t_ns, cs.params.dmesg_line()))

    def at(name: str, default_ns: int) -> int:
        return import_time(sc, name, default_ns)

    # Paravirtual clocksources kept by an import (e.g. kvm-clock) register first, as in a guest.
    for i, extra in enumerate(sc.imported.get("clocksources", []) or []):
        if not isinstance(extra, dict) or extra.get("name") in _NATIVE_CLOCKSOURCES or extra.get("modelled"):
            continue
        if extra.get("name") in _PV_CLOCKSOURCE_NAMES.get(sc.hypervisor.backend, ()):
            continue  # the backend registers it itself
        # the scenario checked the kinds and ranges (sim/scenario_imported.py); only freq_hz may be left out, by an
        # entry the engine models or the backend registers itself
        if "freq_hz" not in extra:
            raise InputError(f"imported.clocksources[{i}].freq_hz: required key is missing ({extra.get('name')!r} is "
                             "not a clocksource tickscope models: boot registers it from this entry; give its rate "
                             "in Hz, 1..4294967295)")
        freq, bits, rating, name = extra["freq_hz"], extra.get("mask_bits", 64), extra.get("rating", 400), extra["name"]
        if m.tsc_invariant and name == "kvm-clock" and rating == 400 and m.tsc_hz:
            rating = 299  # kvmclock lowers itself when CPUID shows an invariant TSC
        p = kclock.clocksource_register(name, freq, bits, rating=rating, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_COUNTER, *ratio(freq, kclock.NSEC_PER_SEC)), at(name, 4_000))
    backend = sc.hypervisor.backend
    if backend == "kvm":
        log.append((0, "kvm-clock: Using msrs 4b564d01 and 4b564d00"))
        rating = 299 if (m.tsc_invariant and m.tsc_hz) else 400  # kvmclock defers to an invariant TSC
        p = kclock.clocksource_register("kvm-clock", kclock.NSEC_PER_SEC, 64, rating=rating, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_PVCLOCK), at("kvm-clock", 4_000))
    elif backend == "xen-pv":
        p = kclock.clocksource_register("xen", kclock.NSEC_PER_SEC, 64, rating=400, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_PVCLOCK), at("xen", 4_000))
    elif backend == "hyperv":
        rating = 250 if m.tsc_invariant else 500
        p = kclock.clocksource_register("hyperv_clocksource_tsc_page", kclock.HV_CLOCK_HZ, 64, rating=rating,
                                        flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_HVPAGE, 1, 100), at("hyperv_clocksource_tsc_page", 4_000))
    elif backend in ("vmi-2007", "vmi-clockevents"):
        # the VMI cycle counter (VMI_CYCLES_REAL) runs at the hypervisor's cycle frequency, here the TSC's
        p = kclock.clocksource_register("vmi-timer", m.tsc_hz // 1000, 64, scale=1000, rating=450,
                                        flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_TSC, *tsc_ratio(m)), at("vmi-timer", 4_000))
    # x86 setup_arch registers refined-jiffies on the PIT rate whether or not a PIT exists
    add(Clocksource(kclock.refined_jiffies_clocksource(hz), CS_JIFFIES, continuous=False), at("refined-jiffies", 49_000_000))
    add(Clocksource(kclock.jiffies_clocksource(hz), CS_JIFFIES, continuous=False), at("jiffies", 137_000_000))
    if m.hpet and backend not in PV_ONLY_BACKENDS:
        period = kclock.hpet_period_fs(m.hpet_hz)
        freq = kclock.hpet_freq_from_period(period)
        p = kclock.clocksource_register("hpet", freq, 32, rating=250, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        add(Clocksource(p, CS_COUNTER, *ratio(10**6, period)), at("hpet", 137_500_000))
    elif m.pit and backend == "none" and m.cpus == 1 and (not m.lapic or sc.kernel.clockevent == "pit"):
        # init_pit_clocksource (arch/x86/kernel/i8253.c, 32-bit only): not on SMP (i8253_lock does not
        # scale), not with the HPET, and only while the PIT ticks periodically (a local APIC timer that took
        # over the tick has switched it off); elsewhere refined-jiffies is what is left
        p = kclock.clocksource_register("pit", kclock.PIT_TICK_RATE, 32, rating=110)
        add(Clocksource(p, CS_COUNTER, *ratio(kclock.PIT_TICK_RATE, kclock.NSEC_PER_SEC), continuous=False), 137_500_000)
    tsc_khz = m.tsc_hz // 1000
    if m.tsc_hz:
        p = kclock.clocksource_register("tsc-early", tsc_khz, 64, scale=1000, rating=299,
                                        flags=("CONTINUOUS", "MUST_VERIFY"))
        add(Clocksource(p, CS_TSC, *tsc_ratio(m), must_verify=True), at("tsc-early", 137_800_000))
    if m.acpi_pm and backend != "xen-pv":
        p = kclock.clocksource_register("acpi_pm", kclock.ACPI_PM_HZ, 24, rating=200, flags=("CONTINUOUS", "VALID_FOR_HRES"))
        # init_acpi_pm_clocksource is an fs_initcall linked after clocksource_done_booting's: it registers just
        # after the first "Switched to clocksource" line
        add(Clocksource(p, CS_COUNTER, *ratio(kclock.ACPI_PM_HZ, kclock.NSEC_PER_SEC)), at("acpi_pm", 205_000_000))
    return out, tsc_khz


def select_clocksource(candidates: list[Clocksource], override: str, oneshot: bool) -> Clocksource:
    """clocksource_select: best rating first; an override wins if usable.

    Parameters
    ----------
    candidates : list of Clocksource
        In registration order, which breaks rating ties.
    override : str
        ``kernel.clocksource``; "" picks by rating.
    oneshot : bool
        Whether a tick device can go oneshot (high resolution); then a continuous
        clocksource is preferred over a higher-rated one that is not.

    Returns
    -------
    Clocksource

    Raises
    ------
    InputError
        If *override* names a clocksource that is not registered.
    """
    ranked = sorted((c for c in candidates if not c.unstable), key=lambda c: -c.rating)  # stable: equal ratings keep registration order
    if oneshot:
        usable = [c for c in ranked if c.continuous]
    else:
        usable = ranked
    best = usable[0] if usable else ranked[0]
    if override:
        match = [c for c in candidates if c.name == override]
        if not match:
            names = ", ".join(c.name for c in candidates)
            raise InputError(f"kernel.clocksource: {override!r} is not registered on this machine (registered: {names})")
        # At boot the tick is still periodic, so a non-HRT override is accepted; it then keeps the
        # tick from ever switching to oneshot (timekeeping is not valid for high resolution).
        best = match[0]
    return best


def watchdog_plan(sc, clocksources: list[Clocksource]) -> tuple[int, int]:
    """clocksource_select_watchdog: the best continuous clocksource that needs no verification itself.

    Parameters
    ----------
    sc : tickscope.sim.scenario.Scenario
    clocksources : list of Clocksource
        The final registered list.

    Returns
    -------
    watchdog : int
        Index of the watchdog in *clocksources*, -1 = no watchdog.
    margin_ns : int
        The watchdog's tolerance: both clocksources' uncertainty margins.
    """
    if not sc.kernel.watchdog:
        return -1, 0
    cands = [c for c in clocksources if c.continuous and not c.must_verify and c.kind != CS_JIFFIES]
    if not cands or not any(c.must_verify and not c.unstable for c in clocksources):
        return -1, 0
    wd = max(cands, key=lambda c: c.rating)
    tsc = next(c for c in clocksources if c.must_verify)
    return clocksources.index(wd), tsc.params.uncertainty_margin + wd.params.uncertainty_margin

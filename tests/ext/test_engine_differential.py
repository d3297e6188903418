"""The Cython engine reproduces the reference engine record for record."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tickscope.sim import scenario as scen
from tickscope.sim.simulation import Simulation, cython_available, cython_unavailable_reason

pytestmark = pytest.mark.skipif(not cython_available(), reason=str(cython_unavailable_reason()))

CSTATES = ['[]', '["C1"]', '["C1","C3","C6"]', '["C1E","C6","C10"]']


def _engines(sc):
    a = Simulation(sc, engine="reference")
    b = Simulation(sc, engine="cython")
    return a, b


def _run_both_and_compare(sc):
    """Run *sc* on both engines to its end and require the same log and state."""
    a, b = _engines(sc)
    a.run()
    b.run()
    _assert_same(a, b)


def _assert_same(a, b):
    ca, cb = a.engine.columns(), b.engine.columns()
    for name in ("time_ns", "cpu", "kind", "source", "value"):
        assert ca[name].dtype == cb[name].dtype, name
        assert np.array_equal(ca[name], cb[name]), name
    assert a.engine.cpu_state() == b.engine.cpu_state()
    assert a.engine.global_state() == b.engine.global_state()
    assert a.engine.events == b.engine.events


BACKENDS = ("none", "vmi-2007", "vmi-clockevents", "xen-pv", "kvm", "hyperv")
# the preset each backend starts from (a preset carries the machine a backend's era had)
BASES = {"none": ("bare-metal-lapic", "pit-only", "bare-metal-hpet-c3"), "vmi-2007": ("vmi-2007",),
         "vmi-clockevents": ("vmi-clockevents",), "xen-pv": ("xen-pv",),
         "kvm": ("kvm", "kvm-overcommit", "kvm-migration"), "hyperv": ("hyperv",)}
DISTS = ('{dist="fixed", mean="4us"}', '{dist="exponential", mean="5us"}', '{dist="uniform", min="1us", max="30us"}',
         '{dist="exponential", mean="300us"}')
CHANGES = ('[]', '["lapic-irq-path"]', '["do-timer-owner"]', '["lapic-irq-path", "do-timer-owner"]', '["nohz-idle"]')


def _flag(v):
    return str(v).lower()


def _boots(sc):
    try:
        Simulation(sc, engine="reference")
    except Exception:
        return False
    return True


def _try(sc, sets):
    """Apply *sets* if the result validates and boots (boot rejecting a combination is not the engine's business)."""
    try:
        trial = scen.apply_sets(sc, sets)
    except Exception:
        return sc
    return trial if _boots(trial) else sc


@st.composite
def scenarios(draw):
    backend = draw(st.sampled_from(BACKENDS))
    base = draw(st.sampled_from(BASES[backend]))
    until = draw(st.integers(1, 150)) * 1_000_000
    sc = scen.apply_sets(scen.preset(base), [
        f"run.until={until}", f"run.seed={draw(st.integers(0, 2**63 - 1))}",
        f"kernel.hz={draw(st.sampled_from([100, 250, 300, 1000]))}",
        f"kernel.highres={_flag(draw(st.booleans()))}",
        f"kernel.skew_tick={_flag(draw(st.booleans()))}",
        f"machine.irq_latency={draw(st.integers(0, 20_000))}",
        f"machine.irq_jitter={draw(st.sampled_from([0, 0, 1, 999, 50_000, 2_000_000]))}"])
    if base != "pit-only":
        groups = [[f"machine.cpus={draw(st.integers(1, 6))}",
                   f"machine.tsc_hz={draw(st.sampled_from([1_000_000_000, 2_400_000_000, 2_445_406_000, 3_700_012_345]))}",
                   f"machine.lapic_bus_hz={draw(st.sampled_from([25_000_000, 100_000_000, 133_333_333]))}",
                   f"machine.hpet_hz={draw(st.sampled_from([10_000_000, 14_318_179, 24_000_000]))}"],
                  [f"machine.tsc_deadline={_flag(draw(st.booleans()))}"],
                  [f"machine.hpet={_flag(draw(st.booleans()))}",
                   f"machine.hpet_write_delay={draw(st.sampled_from([0, 0, 9_000, 200_000, 2_000_000]))}"],
                  [f"machine.pit={_flag(draw(st.booleans()))}"],
                  [f"machine.acpi_pm={_flag(draw(st.booleans()))}"],
                  [f"machine.arat={_flag(draw(st.booleans()))}"],
                  [f"machine.tsc_invariant={_flag(draw(st.booleans()))}"],
                  [f"machine.cstates={draw(st.sampled_from(CSTATES))}"],
                  [f'machine.broadcast="{draw(st.sampled_from(["auto", "hpet", "pit", "hrtimer", "none"]))}"'],
                  [f'kernel.nohz="{draw(st.sampled_from(["off", "idle"]))}"']]
        kind = draw(st.sampled_from(["busy", "idle", "mixed", "timers"]))
        wl = [f'workload.kind="{kind}"']
        if kind == "timers" or draw(st.booleans()):
            wl.append('workload.timers=[{kind="random", rate_hz=500}, {kind="periodic", period="3ms"}]')
        groups.append(wl)
        if draw(st.booleans()):
            groups.append([f"machine.tsc_drift_ppm={draw(st.integers(-500, 500))}"])
        whole = _try(sc, [x for g in groups for x in g])
        if whole is sc:  # some combination does not boot: take what does, one group at a time
            for g in groups:
                sc = _try(sc, g)
        else:
            sc = whole
    if backend != "none":
        n_mig = draw(st.integers(0, 2))
        migs = ", ".join(f'{{at={draw(st.integers(0, until))}, tsc_hz={draw(st.sampled_from([1_000_000_000, 2_000_000_000, 2_445_406_000, 3_100_000_017]))}, '
                         f'pause={draw(st.integers(0, 30_000_000))}}}' for _ in range(n_mig))
        sc = _try(sc, [f"hypervisor.overcommit={draw(st.integers(1, 4))}",
                       f"hypervisor.timeslice={draw(st.sampled_from([100_000, 1_000_000, 6_000_000]))}",
                       f"hypervisor.host_latency={draw(st.sampled_from([0, 0, 50_000, 2_000_000]))}",
                       f"hypervisor.injection={draw(st.sampled_from(DISTS))}",
                       f'hypervisor.pit_policy="{draw(st.sampled_from(["reinject", "discard"]))}"',
                       f"hypervisor.tsc_scaling={_flag(draw(st.booleans()))}",
                       f"hypervisor.vmi_alarm_hz={draw(st.sampled_from([100, 250, 1000]))}",
                       f"hypervisor.migrations=[{migs}]"])
        sc = _try(sc, [f"core.changes={draw(st.sampled_from(CHANGES))}"])
    # force the tick device / clocksource to each one the machine has (boot rejects the others)
    forced = draw(st.sampled_from(["", "lapic", "lapic-deadline", "hpet", "pit"]))
    cs = draw(st.sampled_from(["", "tsc", "hpet", "acpi_pm", "pit", "jiffies", "refined-jiffies", "kvm-clock"]))
    for extra in ([f'kernel.clockevent="{forced}"'] if forced else []) + ([f'kernel.clocksource="{cs}"'] if cs else []):
        sc = _try(sc, [extra])
    return sc


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(scenarios())
def test_cython_engine_log_equals_reference(sc):
    _run_both_and_compare(sc)


TICK_LAYER_PRESETS = ("bare-metal-hpet-c3", "laptop-deep-idle", "unstable-tsc", "many-cores", "bare-metal-lapic")
PERIODS = ('{dist="fixed", mean="2ms"}', '{dist="exponential", mean="3ms"}', '{dist="uniform", min="100us", max="8ms"}',
           '{dist="exponential", mean="200us"}')
TIMERS = ('{kind="random", rate_hz=2000}', '{kind="periodic", period="77us"}', '{kind="periodic", period="250ms"}',
          '{kind="random", rate_hz=10}', '{kind="periodic", period="4ms", cpus=[0]}',
          '{kind="periodic", period="3ms", slack="2500us"}', '{kind="random", rate_hz=300, slack="50us"}')


@st.composite
def tick_layer_scenarios(draw):
    """The tick layer's own keys together: per-CPU workloads of every kind, busy and idle periods of every
    distribution, several timers, the watchdog with TSC faults (skew, a stopping or drifting TSC), skew_tick
    and every broadcast kind, on the tick-layer presets (the hypervisor strategy above varies the hardware)."""
    ncpus = draw(st.integers(1, 6))
    sc = scen.apply_sets(scen.preset(draw(st.sampled_from(TICK_LAYER_PRESETS))), [
        f"machine.cpus={ncpus}", f"run.until={draw(st.integers(20, 1200)) * 1_000_000}",
        f"run.seed={draw(st.integers(0, 2**32))}", f"kernel.hz={draw(st.sampled_from([100, 250, 300, 1000]))}",
        f"kernel.highres={_flag(draw(st.booleans()))}", f'kernel.nohz="{draw(st.sampled_from(["off", "idle"]))}"',
        f"kernel.watchdog={_flag(draw(st.booleans()))}", f"kernel.skew_tick={_flag(draw(st.booleans()))}",
        f"machine.cstates={draw(st.sampled_from(CSTATES))}", f"machine.arat={_flag(draw(st.booleans()))}",
        f"machine.tsc_invariant={_flag(draw(st.booleans()))}",
        f'machine.tsc_skew={draw(st.sampled_from([0, 0, 20_000, 5_000_000]))}',
        f"machine.tsc_drift_ppm={draw(st.sampled_from([0, 0, -3000, 800]))}",
        f'workload.kind="{draw(st.sampled_from(["idle", "busy", "mixed"]))}"',
        f"workload.busy_period={draw(st.sampled_from(PERIODS))}"])
    # a broadcast kind the machine lacks, or timers missing a CPU of many-cores' per_cpu, do not boot: skip them
    sc = _try(sc, [f'machine.broadcast="{draw(st.sampled_from(["auto", "hpet", "pit", "hrtimer", "none"]))}"'])
    sc = _try(sc, [f"workload.timers=[{', '.join(draw(st.lists(st.sampled_from(TIMERS), max_size=3)))}]"])
    if draw(st.booleans()):
        sc = _try(sc, [f"workload.idle_period={draw(st.sampled_from(PERIODS))}"])
    else:
        sc = _try(sc, [f"workload.busy_fraction={draw(st.sampled_from([0.0, 0.2, 0.8, 1.0]))}"])
    per_cpu = []
    for cpu in draw(st.lists(st.integers(0, ncpus - 1), unique=True, max_size=3)):
        kind = draw(st.sampled_from(["idle", "busy", "mixed", "timers"]))
        extra = ', timers=[{kind="periodic", period="3ms"}]' if kind == "timers" else ""
        if kind == "mixed":
            extra = f", idle_period={draw(st.sampled_from(PERIODS))}"
        per_cpu.append(f'{{cpus=[{cpu}], kind="{kind}"{extra}}}')
    return _try(sc, [f"workload.per_cpu=[{', '.join(per_cpu)}]"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tick_layer_scenarios())
def test_cython_engine_log_equals_reference_on_tick_layer_scenarios(sc):
    _run_both_and_compare(sc)


GUEST_PRESETS = ("kvm", "kvm-overcommit", "kvm-migration", "xen-pv", "hyperv", "vmi-2007", "vmi-clockevents",
                 "real-kvm-guest")
GUEST_TIMERS = ('{kind="random", rate_hz=200, slack="50us"}', '{kind="periodic", period="10ms"}',
                '{kind="random", rate_hz=1000}', '{kind="periodic", period="3ms", cpus=[0]}')


@st.composite
def guest_tick_layer_scenarios(draw):
    """Each guest preset under the tick layer's keys: NO_HZ idle on and off, high-res on and off, C-states with and
    without ARAT, every broadcast kind (a global device where the guest has one), the watchdog, mixed and timer
    workloads, 1-8 vCPUs at 1-4 per CPU with the host's timeslice and latency (the strategy at the top varies the
    hardware and migrations, the one above the tick layer on bare metal)."""
    ncpus = draw(st.integers(1, 8))
    kind = draw(st.sampled_from(["mixed", "timers", "mixed", "idle"]))
    # a "timers" CPU needs a timer that reaches it: the CPU 0 timer comes only on top of one for every CPU
    timers = draw(st.lists(st.sampled_from(GUEST_TIMERS[:3]), min_size=kind == "timers", max_size=2))
    if timers and draw(st.booleans()):
        timers.append(GUEST_TIMERS[3])
    sc = scen.apply_sets(scen.preset(draw(st.sampled_from(GUEST_PRESETS))), [
        f"machine.cpus={ncpus}", f"run.until={draw(st.integers(20, 600)) * 1_000_000}",
        f"run.seed={draw(st.integers(0, 2**32))}", f"kernel.hz={draw(st.sampled_from([100, 250, 1000]))}",
        f"kernel.highres={_flag(draw(st.booleans()))}", f'kernel.nohz="{draw(st.sampled_from(["off", "idle"]))}"',
        f"kernel.watchdog={_flag(draw(st.booleans()))}", f"machine.cstates={draw(st.sampled_from(CSTATES))}",
        f"machine.arat={_flag(draw(st.booleans()))}", f'workload.kind="{kind}"',
        f"workload.timers=[{', '.join(timers)}]",
        f"hypervisor.overcommit={draw(st.integers(1, 4))}",
        f"hypervisor.timeslice={draw(st.sampled_from([1_000_000, 6_000_000, 10_000_000]))}",
        f"hypervisor.host_latency={draw(st.sampled_from([0, 0, 500_000]))}"])
    if kind == "mixed":
        sc = _try(sc, [f"workload.busy_fraction={draw(st.sampled_from([0.1, 0.5, 0.9]))}"])
    bc = draw(st.sampled_from(["auto", "hpet", "pit", "hrtimer", "none"]))
    return _try(sc, [f'machine.broadcast="{bc}"'] + ([f"machine.{bc}=true"] if bc in ("hpet", "pit") else []))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(guest_tick_layer_scenarios())
def test_cython_engine_log_equals_reference_on_guest_tick_layer_scenarios(sc):
    _run_both_and_compare(sc)


@st.composite
def lowres_hrtimer_broadcast_scenarios(draw):
    """Engine semantics 12: low-res NO_HZ (or a periodic tick) with the hrtimer broadcast, whose holder's device is
    left alone; the holder moves between CPUs, is busy or idle, runs user timers and skewed or jittered ticks."""
    sc = draw(tick_layer_scenarios())
    sets = ["kernel.highres=false", 'machine.broadcast="hrtimer"', "machine.arat=false",
            f'kernel.nohz="{draw(st.sampled_from(["idle", "idle", "off"]))}"',
            f'machine.cstates={draw(st.sampled_from(CSTATES[2:]))}',
            f"machine.irq_jitter={draw(st.sampled_from([0, 0, 30_000, 2_000_000]))}"]
    return _try(sc, sets)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(lowres_hrtimer_broadcast_scenarios())
def test_cython_engine_log_equals_reference_on_lowres_hrtimer_broadcast_scenarios(sc):
    _run_both_and_compare(sc)


@pytest.mark.parametrize("preset,sets", [
    ("kvm-overcommit", ['hypervisor.pit_policy="reinject"', 'run.until="400ms"']),
    ("kvm-overcommit", ['hypervisor.pit_policy="discard"', 'run.until="400ms"', "hypervisor.overcommit=4"]),
    ("kvm-migration", ['run.until="1300ms"']),
    ("kvm-migration", ['run.until="1300ms"', "hypervisor.tsc_scaling=true"]),
    ("kvm-migration", ['run.until="1300ms"', "machine.tsc_invariant=false", 'machine.cstates=["C1","C6"]']),
    ("hyperv", ['run.until="600ms"', 'hypervisor.migrations=[{at="300ms", tsc_hz=1000000000, pause="20ms"}]',
                "hypervisor.overcommit=3", 'hypervisor.host_latency="1ms"']),
    ("xen-pv", ['run.until="600ms"', 'workload.kind="timers"', 'workload.timers=[{kind="random", rate_hz=300}]',
                'hypervisor.migrations=[{at="200ms", tsc_hz=3000000000}, {at="400ms", tsc_hz=1500000000, pause=0}]']),
    ("vmi-2007", ['run.until="400ms"']),
    ("vmi-2007", ['run.until="400ms"', 'core.changes=["lapic-irq-path"]']),
    ("vmi-2007", ['run.until="400ms"', 'core.changes=["do-timer-owner"]', "hypervisor.overcommit=2"]),
    ("vmi-clockevents", ['run.until="400ms"', 'core.changes=["lapic-irq-path"]', 'workload.kind="mixed"']),
    # the comparator race: -ETIME, forced min-delta retries and min_delta_ns growth on the tick and broadcast HPET
    ("bare-metal-hpet-c3", ['run.until="400ms"', 'machine.hpet_write_delay="2ms"', 'kernel.clockevent="hpet"',
                            'machine.broadcast="none"', 'machine.cstates=["C1"]', "kernel.hz=1000"]),
    ("bare-metal-hpet-c3", ['run.until="400ms"', 'machine.hpet_write_delay="200us"']),
    # the watchdog with a clocksource= override (given up in oneshot mode, kept while periodic)
    ("unstable-tsc", ['run.until="1500ms"', 'kernel.clocksource="tsc"']),
    ("unstable-tsc", ['run.until="1500ms"', 'kernel.clocksource="tsc"', "kernel.highres=false", 'kernel.nohz="off"']),
    ("unstable-tsc", ['run.until="1500ms"', 'workload.per_cpu=[{cpus=[0], kind="busy"}, {cpus=[1], kind="idle"}]']),
    # engine semantics 11: vCPUs updating jiffies for a descheduled timekeeper (MAX_STALLED_JIFFIES), high-res
    # and low-res NO_HZ, busy and mixed
    ("kvm", ['run.until="400ms"', "machine.cpus=3", "hypervisor.overcommit=2", "kernel.hz=1000",
             'hypervisor.timeslice="6ms"', 'workload.kind="busy"', "hypervisor.host_latency=0"]),
    ("kvm", ['run.until="400ms"', "machine.cpus=4", "hypervisor.overcommit=3", 'workload.kind="mixed"',
             'hypervisor.host_latency="300us"', "kernel.highres=false"]),
])
def test_hypervisor_paths_match(preset, sets):
    sc = scen.apply_sets(scen.preset(preset), sets)
    _run_both_and_compare(sc)


@pytest.mark.parametrize("sets", [
    ['machine.cstates=["C1","C3","C6"]', 'kernel.nohz="idle"', 'workload.kind="mixed"', "machine.arat=false"],
    ['machine.cstates=["C1","C3","C6"]', 'workload.kind="mixed"', "machine.arat=false", "kernel.highres=false"],
    ['machine.cstates=["C1","C3","C6"]', 'kernel.nohz="idle"', 'workload.kind="timers"',
     'workload.timers=[{kind="random", rate_hz=300}]', "machine.arat=false", 'machine.broadcast="hrtimer"'],
    ['machine.tsc_skew="50us"', "machine.irq_jitter=\"20us\""],
    ["machine.tsc_invariant=false", 'machine.cstates=["C1","C6"]', 'workload.kind="idle"'],
    # engine semantics 7: forced tick stop/restart on a racing HPET (high-res and low-res), the hrtimer
    # broadcast's holder, busy periods after a deep exit, Poisson timers through C6
    ["machine.lapic=false", "machine.cpus=1", 'machine.hpet_write_delay="150us"', 'kernel.nohz="idle"',
     'workload.kind="mixed"', "kernel.hz=1000"],
    ["machine.lapic=false", "machine.cpus=1", 'machine.hpet_write_delay="150us"', 'kernel.nohz="idle"',
     'workload.kind="mixed"', "kernel.highres=false"],
    ["machine.cpus=5", 'kernel.nohz="off"', "machine.arat=false", 'machine.broadcast="hrtimer"',
     'machine.cstates=["C1","C1E","C6"]', 'workload.kind="idle"'],
    ["machine.cpus=2", 'kernel.nohz="idle"', 'machine.cstates=["C1","C8"]', 'workload.kind="mixed"',
     'workload.busy_period={dist="exponential", mean="150us"}', "workload.busy_fraction=0.3"],
    ['workload.kind="timers"', 'workload.timers=[{kind="random", rate_hz=3000}]', 'machine.cstates=["C1","C6"]',
     "kernel.highres=false", 'kernel.nohz="idle"'],
    # engine semantics 11: low-res NO_HZ interrupts before their slot (in flight at a tick stop, the hrtimer
    # broadcast holder's timers) run the tick
    ["kernel.highres=false", 'kernel.nohz="idle"', 'workload.kind="mixed"', 'machine.irq_latency="20us"',
     'machine.irq_jitter="2ms"'],
    ["kernel.highres=false", 'kernel.nohz="idle"', 'workload.kind="timers"',
     'workload.timers=[{kind="random", rate_hz=300}]', "machine.arat=false", 'machine.cstates=["C1","C3","C6"]',
     'machine.broadcast="hrtimer"'],
    # engine semantics 12: in low-res mode arming (or moving) the broadcast hrtimer programs no device: its holder
    # runs it from the tick; a busy holder, a holder that moves, skewed ticks, the "auto" choice without a HPET
    ["kernel.highres=false", 'kernel.nohz="idle"', 'workload.kind="mixed"', "machine.arat=false",
     'machine.cstates=["C1","C1E","C6"]', 'machine.broadcast="hrtimer"', "kernel.skew_tick=true",
     'workload.timers=[{kind="random", rate_hz=500}, {kind="periodic", period="7ms", cpus=[1]}]',
     'workload.per_cpu=[{cpus=[0], kind="busy"}]'],
    ["kernel.highres=false", 'kernel.nohz="idle"', 'workload.kind="mixed"', "machine.arat=false", "machine.hpet=false",
     'machine.cstates=["C1","C3","C6"]', 'machine.broadcast="auto"', "kernel.hz=1000", "machine.cpus=6",
     'workload.timers=[{kind="random", rate_hz=800}]', 'machine.irq_latency="150us"'],
    # engine semantics 12: the watchdog's tickless CPU sleeps until the round's jiffy on the kernel's grid, or the
    # jiffy after the round when a fast clock passed it first (drift, no IRQ latency, high-res and low-res)
    ['kernel.nohz="idle"', 'workload.kind="idle"', "machine.tsc_drift_ppm=300", "machine.irq_latency=0",
     'run.until="3s"'],
    ['kernel.nohz="idle"', 'workload.kind="mixed"', "machine.tsc_drift_ppm=20000", "kernel.highres=false",
     'run.until="3s"', 'machine.cstates=["C1","C6"]', "machine.arat=false"],
])
def test_idle_broadcast_and_watchdog_paths_match(sets):
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="1200ms"'] + sets)
    _run_both_and_compare(sc)


SLICED = {
    "bare-metal": ("bare-metal-lapic", ['machine.irq_jitter="30us"', 'machine.cstates=["C1","C6"]', 'kernel.nohz="idle"',
                                        'workload.kind="mixed"']),
    "kvm-guest": ("kvm-migration", ['hypervisor.overcommit=3', 'hypervisor.host_latency="300us"',
                                    'hypervisor.migrations=[{at="60ms", tsc_hz=2000000000, pause="10ms"}]']),
}


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(1, 30_000_000), min_size=1, max_size=40), st.integers(0, 2**32), st.sampled_from(sorted(SLICED)))
def test_stepping_in_slices_gives_the_same_log_as_one_run(cuts, seed, which):
    base, sets = SLICED[which]
    sc = scen.apply_sets(scen.preset(base), ['run.until="150ms"', f"run.seed={seed}"] + sets)
    whole = Simulation(sc, engine="cython")
    whole.run()
    sliced = Simulation(sc, engine="cython")
    views = []
    for cut in cuts:
        sliced.step(cut)
        views.append(sliced.engine.columns())  # exported views must survive later growth
        if sliced.done:
            break
    while not sliced.done:
        sliced.step(7_000_000)
    cw, cs = whole.engine.columns(), sliced.engine.columns()
    assert all(np.array_equal(cw[k], cs[k]) for k in cw)
    for v in views:  # an old view is a prefix of the final log
        n = len(v["time_ns"])
        assert all(np.array_equal(v[k], cw[k][:n]) for k in v)


@pytest.mark.parametrize("base,sets", [
    ("bare-metal-lapic", ['machine.irq_jitter="40us"', 'workload.kind="mixed"', 'machine.cstates=["C1","C6"]']),
    ("xen-pv", ['hypervisor.injection={dist="uniform", min="1us", max="40us"}', 'hypervisor.host_latency="1ms"']),
])
def test_same_scenario_and_seed_give_byte_identical_logs(base, sets):
    sc = scen.apply_sets(scen.preset(base), ['run.until="300ms"', "run.seed=7"] + sets)
    r1 = Simulation(sc, engine="cython").run()
    r2 = Simulation(sc, engine="cython").run()
    assert all(getattr(r1, k).tobytes() == getattr(r2, k).tobytes() for k in ("time_ns", "cpu", "kind", "source", "value"))


def test_cython_engine_runs_10s_at_hz1000_on_8_cpus():
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), ["machine.cpus=8", "kernel.hz=1000", 'run.until="10s"'])
    res = Simulation(sc, engine="cython").run()
    ticks = np.bincount(res.cpu[res.kind == 0], minlength=8)
    assert all(abs(int(n) - 10_000) <= 1 for n in ticks), ticks
    assert res.meta["jiffies"] >= 9_999


def test_columns_are_read_only_views():
    sim = Simulation(scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="20ms"']), engine="cython")
    sim.run()
    col = sim.engine.columns()["time_ns"]
    with pytest.raises(ValueError):
        col[0] = 1


@pytest.mark.parametrize("cpus", [12, 20, 40])
def test_queue_switching_between_sorted_and_heap_layouts_keeps_the_log(cpus):
    # ext/heap.pxd keeps up to 32 entries sorted and more as a binary heap; these CPU counts with mixed
    # work, idle wake-ups, timers and stale entries move the queue across that limit both ways.
    sc = scen.apply_sets(scen.preset("bare-metal-lapic"), [
        'run.until="40ms"', f"machine.cpus={cpus}", 'machine.cstates=["C1","C6"]', 'kernel.nohz="idle"',
        'workload.kind="mixed"', 'workload.timers=[{kind="random", rate_hz=2000}, {kind="periodic", period="700us"}]',
        'machine.irq_jitter="30us"'])
    _run_both_and_compare(sc)

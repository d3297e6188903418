"""tick_nohz_lowres_handler and tick_sched_do_timer as the kernel runs them (engine semantics 11), in both engines.

The expected numbers come from the kernel rules, worked through by hand in the comments, not from a run."""
import numpy as np
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.simulation import cython_available, simulate

ENGINES = ["reference"] + (["cython"] if cython_available() else [])


def run(preset, sets, engine):
    return simulate(scen.apply_sets(scen.preset(preset), list(sets)), engine=engine)


# One CPU in low-res NO_HZ at HZ=250, busy for 8.5 ms, then idle for 100 ms; interrupts take 1 ms to arrive.
IN_FLIGHT = ["kernel.highres=false", 'kernel.nohz="idle"', 'run.until="120ms"', "machine.cpus=1",
             'workload.kind="mixed"', 'workload.busy_period={dist="fixed", mean="8500us"}',
             'workload.idle_period={dist="fixed", mean="100ms"}', 'machine.irq_latency="1ms"', "machine.irq_jitter=0",
             'machine.cstates=["C1"]']


@pytest.mark.parametrize("engine", ENGINES)
def test_lowres_nohz_runs_the_tick_for_an_interrupt_that_arrives_before_its_slot(engine):
    # The 4 ms slot's interrupt reaches the CPU at 5 ms, which switches to low-res NO_HZ with its next slot at 8 ms.
    # That interrupt is raised at 8 ms; at 8.5 ms the CPU goes idle and stops the tick (the sched_timer moves to
    # the watchdog's round, half a second away), but the raised interrupt is already on its way and arrives at
    # 9 ms + the 2 us C1 exit latency.  tick_nohz_lowres_handler has no "is the slot due" test: it runs
    # tick_sched_do_timer and tick_sched_handle for every interrupt, so that is a tick (update_process_times),
    # for no slot of the grid.  Engine semantics 10 logged it as an IRQ that handled no tick.
    res = run("bare-metal-lapic", IN_FLIGHT, engine)
    ticks = np.flatnonzero(res.kind == Kind.TICK)
    # the 4 ms slot at 5 ms, the early one, then the 112 and 116 ms slots after the idle period (restart at 108.5)
    assert (res.time_ns[ticks] + 500_000) // 1_000_000 == pytest.approx([5, 9, 113, 117])
    assert res.time_ns[ticks[1]] == 9_002_000
    early = ticks[1]
    assert res.source[early] == 0 and res.value[early] == 9_002_000     # kernel time at entry: no slot
    assert np.count_nonzero(res.kind == Kind.IRQ) == 0
    (state,) = res.meta["cpus"]
    assert state["ticks"] == 4 and state["irqs"] == 4                   # one tick per interrupt
    (cpu,) = analysis.per_cpu(res)
    assert cpu["ticks_lost"] == 0 and cpu["ticks_duplicated"] == 0     # the skipped 8 ms slot is not expected
    assert analysis.tick_outcomes(res)["off_grid"].tolist() == [False, True, False, False]


# Four CPUs that cannot keep their LAPIC timer in C3/C6, with the hrtimer broadcast, in low-res NO_HZ; user timers
# at a random 300 Hz.  Interrupts that arrive between slots: one in flight at a tick stop, a broadcast IPI.
HRTIMER_BC = ["kernel.highres=false", 'kernel.nohz="idle"', 'run.until="500ms"', 'workload.kind="timers"',
              'workload.timers=[{kind="random", rate_hz=300}]', "machine.arat=false",
              'machine.cstates=["C1","C3","C6"]', 'machine.broadcast="hrtimer"']


@pytest.mark.parametrize("engine", ENGINES)
def test_every_lowres_nohz_interrupt_is_a_tick(engine):
    # Whatever the interrupt was programmed for, the low-res handler is the tick: each CPU's ticks are its own
    # device's interrupts plus the broadcast's calls of its handler, and no interrupt handles "no tick".
    res = run("bare-metal-lapic", HRTIMER_BC, engine)
    assert {c["mode"] for c in res.meta["cpus"]} == {TickMode.LOWRES_NOHZ}
    assert np.count_nonzero(res.kind == Kind.IRQ) == 0
    off = analysis.tick_outcomes(res)["off_grid"]
    assert off.sum() >= 10       # ticks for no slot: stopped ticks' expiries, broadcast IPIs after a jiffy
    for cpu, state in enumerate(res.meta["cpus"]):
        mine = res.cpu == cpu
        via_bc = np.count_nonzero(mine & (res.kind == Kind.TICK) & (res.source == 1))
        assert state["ticks"] == np.count_nonzero(mine & (res.kind == Kind.TICK))
        assert state["ticks"] == state["irqs"] + via_bc


@pytest.mark.parametrize("engine", ENGINES)
def test_lowres_broadcast_hrtimer_programs_no_device_between_jiffies(engine):
    # In low-res mode hrtimer_start leaves the clock event device alone (hrtimer_reprogram acts only while high-res
    # is active; so does the removal from another CPU's base), so arming or moving the broadcast hrtimer programs
    # nothing: it runs from its holder's tick (hrtimer_run_queues), and the holder's tick stop counts it at the
    # jiffy after it (get_next_timer_interrupt).  What programs a low-res CPU's device is then only the tick:
    # its sched_timer slot, the stopped tick's jiffy, the restart's next slot (all on the jiffy grid of kernel
    # time, here true time within a few ns: an invariant TSC).  So every interrupt of a CPU's own device (TICK,
    # source 0) reaches it within irq_latency (1 us) + C1's exit latency (2 us; in C3/C6 the device is shut
    # down and the broadcast IPIs) of a jiffy boundary; 1 us of slack either way for the clock's few ns.
    # Engine semantics 11 programmed the holder's device for its exact hrtimers: 31 interrupts between jiffies in
    # this run (72 forced min-delta retries for timers already due when the broadcast re-armed first).
    res = run("bare-metal-lapic", HRTIMER_BC, engine)
    tick = res.meta["tick_nsec"]
    assert tick == 4_000_000
    own = (res.kind == Kind.TICK) & (res.source == 0)
    phase = res.time_ns[own] % tick
    between = (phase > 1_000 + 2_000 + 1_000) & (phase < tick - 1_000)
    assert np.count_nonzero(own) > 100
    assert np.count_nonzero(between) == 0
    # every sched_timer and stopped-tick expiry is in the future when programmed: nothing is forced
    assert np.count_nonzero(res.kind == Kind.RETRY) == 0
    # so a user timer run from the CPU's own interrupt waits for the jiffy after its expiry (one that expired in
    # the few us between a jiffy and its interrupt runs in that interrupt: hrtimer_run_queues compares with now)
    rows = np.flatnonzero(res.kind == Kind.UTIMER)
    tick_row = np.flatnonzero(res.kind == Kind.TICK)
    last_tick = tick_row[np.searchsorted(tick_row, rows) - 1]
    assert (res.cpu[last_tick] == res.cpu[rows]).all()   # the tick that ran it is the record before its timers
    mid = rows[(res.source[last_tick] == 0) & (res.value[rows] % tick > 4_000)]
    assert mid.size > 100
    jiffy_after = -(-res.value[mid] // tick) * tick
    assert (res.time_ns[mid] >= jiffy_after - 1_000).all()


# Two KVM vCPUs sharing one host CPU (overcommit 2, 6 ms timeslices, no host latency), both busy, HZ=1000.
STALL = ['run.until="200ms"', "machine.cpus=2", "hypervisor.overcommit=2", "kernel.hz=1000",
         'hypervisor.timeslice="6ms"', 'workload.kind="busy"', "hypervisor.host_latency=0"]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_vcpu_updates_jiffies_itself_after_five_ticks_of_a_descheduled_timekeeper(engine):
    # vCPU 0 (the timekeeper) runs [0, 6), [12, 18), ... ms, vCPU 1 runs [6, 12), [18, 24), ...  In each of its
    # slices from 18 ms on, vCPU 1 ticks first for the slot it missed (jiffies moved meanwhile: its stall count
    # restarts), then at the next five milliseconds; jiffies stay at the timekeeper's last update (17 ms), so
    # the fifth of those, at 23 ms, reaches MAX_STALLED_JIFFIES and tick_sched_do_timer updates jiffies itself:
    # 6 at once (17 ms -> 23 ms).  In its first slice ([6, 12) ms) its first tick is still a periodic one (the
    # switch to high-res comes from it), so only four count.  Slices start at 18 + 12k ms; their fifth tick is
    # by 200 ms for k = 0..14: 15 updates, each of 6 jiffies, at 23 + 12k ms.
    res = run("kvm", STALL, engine)
    mine = (res.kind == Kind.JIFFIES) & (res.cpu == 1)
    assert np.count_nonzero(mine) == 15
    assert res.source[mine].tolist() == [6] * 15
    assert res.value[mine].tolist() == [23 + 12 * k for k in range(15)]
    assert (res.time_ns[mine] // 1_000_000).tolist() == [23 + 12 * k for k in range(15)]
    # the timekeeper, back at 24 + 12k ms, then adds the one jiffy since (semantics 10: 7 at once)
    back = (res.kind == Kind.JIFFIES) & (res.cpu == 0) & (res.time_ns >= 24_000_000) & (res.time_ns < 25_000_000)
    assert res.source[back].tolist() == [1]
    assert res.meta["jiffies"] == 200


@pytest.mark.parametrize("engine", ENGINES)
def test_jiffies_are_left_to_the_timekeeper_while_it_runs(engine):
    # The stall guard only counts ticks that saw jiffies unchanged: with the timekeeper ticking every
    # millisecond, another CPU's tick sees them move each time and never updates them.
    res = run("kvm", ["machine.cpus=4", "kernel.hz=1000", 'workload.kind="busy"', 'run.until="300ms"'], engine)
    jiffies_cpus = set(res.cpu[res.kind == Kind.JIFFIES].tolist())
    assert jiffies_cpus == {0}

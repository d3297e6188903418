"""/proc/timer_list's .expires_next: hrtimer_cpu_base.expires_next as the kernel keeps it (5.15+).

kernel/time/hrtimer.c: __hrtimer_reprogram stores expires_next before it programs the device, and returns before
programming when high-res is not active. So in high-res mode .expires_next is the CPU's earliest hrtimer even
where the device holds another expiry (a forced min-delta programming, a hang's delay, a programming that gave
up); in low-res mode it follows the user timers' starts (hrtimer_reprogram, force_local ->
hrtimer_force_reprogram), which the oracle below replays rule by rule from the event log.
"""
import random
import re

import numpy as np
import pytest

from tickscope.sim import scenario as scen, snapshot
from tickscope.sim.cli import main
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.simulation import Simulation

KTIME_MAX = 2**63 - 1
LOWRES = ["--set", "kernel.highres=false"]


def _expires_next(capsys, *argv):
    assert main(["timer-list", *argv]) == 0
    text = capsys.readouterr().out
    return ([int(x) for x in re.findall(r"\.expires_next   : (\d+) nsecs", text)],
            [int(x) for x in re.findall(r"\.hres_active    : (\d)", text)],
            [int(x) for x in re.findall(r" next_event:     (\d+) nsecs", text)])


@pytest.mark.parametrize("at,expected", [("10ms", 25_000_000), ("1s", 1_000_000_000), ("1010ms", 1_025_000_000)])
def test_lowres_expires_next_follows_each_restart_of_the_user_timer(capsys, at, expected):
    # bare-metal-hpet-c3 runs a 25 ms periodic user timer on every CPU (HZ=250, low-res NO_HZ here). Its first
    # expiry, 25 ms, is pending at 10 ms. The tick at 976 ms runs the 975 ms expiry and the task starts the timer
    # again for 1000 ms; at 1 s the interrupt of the 1000 ms tick is still on its way (1 us of IRQ latency), so
    # 1000 ms is pending; by 1010 ms it ran and the timer waits for 1025 ms. The task's start finds its timer is
    # cpu_base->next_timer (the idle pass before pointed it there): force_local, so expires_next is recomputed.
    # Before (semantics of 4.16-5.14): it stayed at 25 000 000 for good.
    nexts, hres, _ = _expires_next(capsys, "--preset", "bare-metal-hpet-c3", "--at", at, *LOWRES)
    assert hres == [0, 0, 0, 0] and nexts == [expected] * 4


def test_lowres_expires_next_with_two_timers_and_a_periodic_tick(capsys):
    # nohz off, HZ=250 (ticks every 4 ms), one CPU, timers A = 10 ms and B = 15 ms. Boot: A starts first and is
    # the earlier (expires_next 10 ms, next_timer A); B's 15 ms is not earlier. The 12 ms tick runs A (10 ms), whose
    # task starts it for 20 ms: A is next_timer, so the earliest timer is recomputed: B, 15 ms. The 16 ms tick
    # runs B, started for 30 ms, and B is next_timer: recomputed, A's 20 ms.
    base = ["--preset", "bare-metal-lapic", *LOWRES, "--set", 'kernel.nohz="off"', "--set", "machine.cpus=1",
            "--set", "kernel.watchdog=false", "--set", 'workload.kind="timers"',
            "--set", 'workload.timers=[{kind="periodic", period="10ms"}, {kind="periodic", period="15ms"}]']
    got = [_expires_next(capsys, *base, "--at", at)[0] for at in ("11ms", "14ms", "18ms")]
    assert got == [[10_000_000], [15_000_000], [20_000_000]]


def test_a_cpu_that_never_started_an_hrtimer_keeps_ktime_max(capsys):
    nexts, hres, _ = _expires_next(capsys, "--preset", "pit-only", "--at", "1s")
    assert hres == [0] and nexts == [KTIME_MAX]


HPET_ONLY = ["--preset", "bare-metal-lapic", "--set", "machine.cpus=1", "--set", "machine.lapic=false"]


@pytest.mark.parametrize("argv,at,expires_next,device_next", [
    # a 17 us timer on an HPET whose comparator write takes 20 us: at 4010 us the timer due at 4012 us is the
    # earliest, but the forced programming put the device at now + min_delta_ns
    ([*HPET_ONLY, "--set", "machine.hpet_write_delay=20us", "--set", 'workload.kind="timers"',
      "--set", 'workload.timers=[{kind="periodic", period="17us"}]'], "4010us", 4_012_000, 4_031_122),
    # a 10 ms write: every programming fails until clockevents_program_min_delta gives up (dev->next_event
    # KTIME_MAX), while the sched_timer due at 2 ms is still the earliest hrtimer
    ([*HPET_ONLY, "--set", "machine.hpet_write_delay=10ms", "--set", "kernel.hz=1000"], "100ms", 2_000_000, KTIME_MAX),
    # hrtimer_interrupt's hang path: expires_next keeps the earliest timer (4095 us), the device gets the hang delay
    ([*HPET_ONLY, "--seed", "1", "--set", "machine.irq_jitter=1us", "--set", "machine.hpet_write_delay=4480ns",
      "--set", 'workload.kind="timers"', "--set", 'workload.timers=[{kind="periodic", period="5us"}]'],
     "4091us", 4_095_000, 4_110_920),
])
def test_highres_expires_next_is_the_earliest_hrtimer_not_the_device_expiry(capsys, argv, at, expires_next,
                                                                          device_next):
    nexts, hres, devs = _expires_next(capsys, *argv, "--at", at)
    assert hres == [1] and nexts == [expires_next] and devs == [device_next]


def _replayed_expires_next(eng, cpus):
    """The oracle: the kernel's rules for expires_next in low-res mode replayed over the event log (see the
    module docstring of sim/snapshot.py's _lowres_expires_next for the rules)."""
    cols = eng.columns()
    kind = cols["kind"]
    sel = np.flatnonzero((kind == Kind.UTIMER) | (kind == Kind.IDLE) | (kind == Kind.MODE))
    rec_kind, rec_cpu, rec_t = kind[sel], cols["cpu"][sel], cols["time_ns"][sel]
    rec_src, rec_val = cols["source"][sel], cols["value"][sel]
    out = []
    for c in cpus:
        cpu = c["cpu"]
        final = snapshot._pending_hrtimers(c)
        if not final or TickMode(c["mode"]) == TickMode.HIGHRES:
            out.append(KTIME_MAX)
            continue
        slacks = list(c.get("timer_slacks", ())) + [0] * len(final)
        mine = rec_cpu == cpu
        ks, ts, srcs, vals = (a[mine].tolist() for a in (rec_kind, rec_t, rec_src, rec_val))
        fired: list[list[int]] = [[] for _ in final]   # each timer's fired (soft) expiries, in order
        for k, i, v in zip(ks, srcs, vals):
            if k == Kind.UTIMER and 0 <= i < len(final):
                fired[i].append(v)
        # each timer's hard expiries: the ones it fired at, then the one pending at the end
        expiries = [[v + slacks[i] for v in fired[i]] + [final[i]] for i in range(len(final))]
        nfired = [0] * len(final)
        seq = list(range(len(final)))   # enqueue order: the earlier-queued of two equal expiries is leftmost
        queued = [True] * len(final)
        stamp = len(final)

        def earliest():
            best = None
            for j in range(len(final)):
                if queued[j] and expiries[j][nfired[j]] != KTIME_MAX and (
                        best is None or (expiries[j][nfired[j]], seq[j]) < (expiries[best][nfired[best]], seq[best])):
                    best = j
            return best

        # boot: each timer started in turn; hrtimer_reprogram keeps the earliest
        expires_next, next_timer = KTIME_MAX, None
        for j in range(len(final)):
            if expiries[j][0] < expires_next:
                expires_next, next_timer = expiries[j][0], j
        mode = TickMode.PERIODIC
        pos, n = 0, len(ks)
        while pos < n:
            k = ks[pos]
            if k == Kind.MODE:
                mode = TickMode(srcs[pos])
                pos += 1
            elif k == Kind.IDLE:
                if mode == TickMode.LOWRES_NOHZ:
                    next_timer = earliest()
                pos += 1
            else:
                # one interrupt's expiries: all removed, then started again by their tasks
                end, group = pos, []
                while end < n and ks[end] == Kind.UTIMER and ts[end] == ts[pos]:
                    i = srcs[end]
                    if 0 <= i < len(final):
                        nfired[i] += 1
                        queued[i] = False
                        if i not in group:
                            group.append(i)
                    end += 1
                for i in sorted(group):
                    queued[i] = True
                    seq[i] = stamp
                    stamp += 1
                    exp = expiries[i][nfired[i]]
                    if next_timer == i:
                        next_timer = earliest()
                        expires_next = expiries[next_timer][nfired[next_timer]] if next_timer is not None else KTIME_MAX
                    elif exp < expires_next:
                        expires_next, next_timer = exp, i
                pos = end
        out.append(expires_next)
    return out




def _generated_lowres_runs(n, seed):
    rng = random.Random(seed)
    for _ in range(n):
        timers = []
        for _ in range(rng.randint(1, 3)):
            if rng.random() < 0.6:
                timers.append(f'{{kind="periodic", period="{rng.randint(1, 30)}ms", '
                              f'slack="{rng.choice([0, 50, 500, 3000])}us"}}')
            else:
                timers.append(f'{{kind="random", rate_hz={rng.randint(5, 400)}}}')
        sets = [f"kernel.hz={rng.choice([100, 250, 300, 1000])}", "kernel.highres=false",
                f'kernel.nohz="{rng.choice(["idle", "off"])}"', f"machine.cpus={rng.randint(1, 4)}",
                f'workload.kind="{rng.choice(["timers", "mixed"])}"', f"workload.timers=[{', '.join(timers)}]"]
        sc = scen.apply_sets(scen.preset(rng.choice(["bare-metal-lapic", "bare-metal-hpet-c3"])), sets)
        yield sc, rng.randint(1, 1500) * 1_000_000 + rng.randint(0, 999_999)


@pytest.mark.parametrize("engine", ["reference", "cython"])
def test_lowres_expires_next_is_what_the_kernels_rules_give_replayed_over_the_log(engine):
    checked = 0
    for sc, at in _generated_lowres_runs(12 if engine == "reference" else 40, seed=20261127):
        sim = Simulation(sc, engine=engine, until_ns=at)
        sim.run()
        cpus = sim.engine.cpu_state()
        expected = _replayed_expires_next(sim.engine, cpus)
        got = [cpu["tick_sched"]["expires_next"] for cpu in snapshot.timer_list_snapshot(sim)["cpus"]]
        assert got == expected, (sc.model_dump(), at)
        checked += sum(e != KTIME_MAX for e in expected)
    assert checked > 10   # the runs exercise CPUs with timers, not just KTIME_MAX

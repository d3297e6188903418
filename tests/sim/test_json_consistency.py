"""``run --json`` agrees with itself: jiffies_expected is what jiffies should read after ``until`` (so it matches
jiffies_delta where nothing is lost), and a CPU's latency figures cover the ticks its ticks_late judges."""
import json

import numpy as np
import pytest

from tickscope.sim import analysis, scenario as scen
from tickscope.sim.cli import main
from tickscope.sim.events import Kind, TickMode
from tickscope.sim.results import Results
from tickscope.sim.simulation import cython_available, simulate

ENGINE = "cython" if cython_available() else "reference"
PIT_TICK_RATE = 1_193_182
# HZ=1000, low-res NO_HZ, no ARAT, HPET broadcast, C-states to C10, 50 us IRQ latency, mixed load
DEEP_IDLE = ["kernel.hz=1000", "kernel.highres=false", 'kernel.nohz="idle"', "machine.arat=false",
             'machine.broadcast="hpet"', 'machine.cstates=["C1","C3","C6","C10"]', 'machine.irq_latency="50us"',
             'workload.kind="mixed"']


def _run_json(capsys, *argv) -> dict:
    assert main(["run", *argv, "--json", "--engine", ENGINE]) == 0
    return json.loads(capsys.readouterr().out)


def _sets(sets):
    return [a for s in sets for a in ("--set", s)]


@pytest.mark.parametrize("hz,until_ms", [(100, 3000), (250, 2500), (1000, 777)])
def test_a_pit_ticked_machine_expects_the_pits_periods_not_hz(capsys, hz, until_ms):
    # the i8254 counts LATCH = (1 193 182 + HZ/2) / HZ per period, so it ticks at 1 193 182 / LATCH Hz
    latch = (PIT_TICK_RATE + hz // 2) // hz
    want = until_ms * PIT_TICK_RATE // (latch * 1000)
    out = _run_json(capsys, "--preset", "pit-only", "--set", f"kernel.hz={hz}", "--until", f"{until_ms}ms")
    assert out["jiffies_expected"] == want == out["jiffies_delta"]


def test_pit_only_3s_expects_299(capsys):
    out = _run_json(capsys, "--preset", "pit-only", "--until", "3s")
    assert out["jiffies_expected"] == 299 == out["jiffies_delta"]       # not 300: HZ=100's PIT is 99.9985 Hz


def test_an_end_that_settles_after_until_still_expects_hz_times_until():
    # C10's exit (890 us) plus the IRQ latency can deliver the last wake-up more than a tick after `until`;
    # jiffies stop at the end's kernel time, and so does what is expected of them
    settled_late = 0
    for preset in ("bare-metal-hpet-c3", "laptop-deep-idle", "bare-metal-lapic"):
        for until_ms in (1000, 2500, 3000):
            sc = scen.apply_sets(scen.preset(preset), DEEP_IDLE + [f'run.until="{until_ms}ms"'])
            res = simulate(sc, engine=ENGINE)
            s = analysis.summarize(res)
            assert s["jiffies_expected"] == until_ms == s["jiffies_delta"], (preset, until_ms)
            settled_late += res.meta["now_ns"] >= res.meta["until_ns"] + res.meta["tick_nsec"]
    assert settled_late >= 2         # the premise: some of these ends settled more than a tick late


@pytest.mark.parametrize("hz", [100, 250, 300, 1000])
@pytest.mark.parametrize("until_ms", [777, 1000, 2500])
def test_a_kernel_time_tick_expects_hz_times_until_rounded_down(capsys, hz, until_ms):
    out = _run_json(capsys, "--preset", "bare-metal-lapic", "--set", f"kernel.hz={hz}", "--until", f"{until_ms}ms")
    assert out["jiffies_expected"] == hz * until_ms // 1000 == out["jiffies_delta"]


def test_latency_figures_cover_the_ticks_ticks_late_judges(capsys):
    out = _run_json(capsys, "--preset", "bare-metal-lapic", *_sets(DEEP_IDLE), "--until", "1s")
    late = out["late_threshold_ns"]
    for c in out["cpus"]:
        assert (c["latency_ns_max"] > late) == (c["ticks_late"] > 0), c
        assert c["latency_ns_p50"] <= c["latency_ns_max"]


def test_a_tick_handled_while_stopped_is_not_in_the_latency_figures():
    tick = 1_000_000
    recs = [(0, Kind.MODE, TickMode.LOWRES_NOHZ, tick)]
    recs += [(s * tick + 2_000, Kind.TICK, 0, s * tick) for s in (1, 2, 3)]   # on the grid, 2 us late
    recs.append((3 * tick + 500_000, Kind.TICK_STOP, 0, 0))
    recs.append((6 * tick + 900_000, Kind.TICK, 0, 6 * tick))                 # off the grid: the tick is stopped
    recs.append((7 * tick, Kind.TICK_RESTART, 0, 8 * tick))
    recs += [(s * tick + 4_000, Kind.TICK, 0, s * tick) for s in (8, 9)]      # 4 us late
    t, k, s, v = (np.array(x) for x in zip(*recs))
    meta = {"ncpus": 1, "tick_nsec": tick, "until_ns": 10 * tick, "now_ns": 10 * tick, "hz": 1000,
            "tick_device": [0], "devices": [{"name": "lapic-deadline", "hw_name": "tsc-deadline"}], "cpus": [{}]}
    res = Results(t.astype(np.int64), np.zeros(len(recs), np.int16), k.astype(np.uint8), s.astype(np.uint8),
                  v.astype(np.int64), meta)
    c = analysis.per_cpu(res)[0]
    assert (c["ticks_expected"], c["ticks_delivered"], c["ticks_late"]) == (5, 5, 0)
    assert (c["latency_ns_p50"], c["latency_ns_max"]) == (2_000, 4_000)


@pytest.mark.parametrize("until", ["10ms", "50ms", "1000015000ns", "2990045000ns"])
def test_a_pit_tick_the_end_delivers_just_after_until_is_expected_everywhere(capsys, until):
    # The end waits until the kernel's clock reads `until`; a PIT tick due a few hundred ns after `until` in
    # true time is then delivered and counted in ticks_expected, so jiffies_expected counts it too (5 vs 4
    # at 50 ms before).
    out = _run_json(capsys, "--preset", "pit-only", "--until", until)
    cpu = out["cpus"][0]
    assert out["jiffies_expected"] == out["jiffies_delta"] == cpu["ticks_expected"] == cpu["ticks_delivered"]


def test_tick_latency_is_never_negative_on_a_jiffies_clock(capsys):
    # kvm-overcommit counts time in jiffies: its kernel clock can read behind an emulated tick's expiry when
    # the interrupt comes (latency_ns_p50 was -852882); such a tick was not early
    out = _run_json(capsys, "--preset", "kvm-overcommit", "--set", "machine.cpus=4", "--set", 'workload.kind="mixed"',
                    "--until", "2s")
    assert out["clocksource"] == "jiffies"
    assert all(c["latency_ns_p50"] >= 0 and c["latency_ns_max"] >= 0 for c in out["cpus"])
    res = simulate(scen.apply_sets(scen.preset("kvm-overcommit"), ["machine.cpus=4", 'workload.kind="mixed"',
                                                                  'run.until="2s"']), engine=ENGINE)
    assert analysis.tick_outcomes(res)["latency_ns"].min() >= 0


def test_timer_list_is_read_when_the_kernel_clock_reads_at(capsys):
    # the end delivers in-flight C-state exits up to ~1 ms later; "now at" is the kernel's clock at the read
    assert main(["timer-list", "--preset", "laptop-deep-idle", "--at", "100ms"]) == 0
    assert "now at 100000000 nsecs" in capsys.readouterr().out

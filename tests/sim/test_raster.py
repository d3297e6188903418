"""The numpy tick raster draws every mark, whatever the zoom."""
import numpy as np
import pytest

from tickscope.sim import analysis, raster, scenario, simulation
from tickscope.sim.events import Kind


@pytest.fixture(scope="module")
def short_results():
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["machine.irq_jitter=\"300us\""])
    return simulation.simulate(sc, engine="reference", until_ns=100_000_000)


def test_counts_equal_the_analysis(short_results):
    data = raster.build(short_results)
    out = analysis.tick_outcomes(short_results)
    ticks = int(np.count_nonzero(short_results.kind == Kind.TICK))
    drawn = sum(data.counts[c] for c in (raster.MARK_ON_TIME, raster.MARK_LATE, raster.MARK_DUPLICATE))
    assert drawn == ticks == out["index"].size
    summary = analysis.summarize(short_results)
    assert data.counts[raster.MARK_LOST] == sum(c["ticks_lost"] for c in summary["cpus"])


def test_every_tick_in_the_window_gets_its_own_column_when_wide_enough(short_results):
    data = raster.build(short_results)
    t, lanes = data.marks[raster.MARK_ON_TIME]
    t0, t1 = 0, int(t.max()) + 1
    p = raster.planes(data, t0, t1, width=2_000_000)
    assert np.count_nonzero(p["marks"] == raster.MARK_ON_TIME) == t.size


def test_a_single_lost_tick_survives_any_zoom_out():
    res_data = raster.RasterData(["CPU 0"], 1, {raster.MARK_LOST: (np.array([123_456_789]), np.array([0]))},
                                 (np.zeros(0, np.int64), np.zeros(0, np.int64)), 10**12)
    for width in (50, 400, 1600):
        img = raster.render(res_data, 0, 10**12, width, 20)
        lost = np.all(img == np.array(raster.LIGHT_COLORS[raster.MARK_LOST], np.uint8), axis=-1)
        assert lost.any(axis=0).sum() == 1


def test_the_most_severe_mark_wins_a_shared_pixel():
    pair = lambda t: (np.array([t], np.int64), np.array([0], np.int64))  # noqa: E731
    data = raster.RasterData(["CPU 0"], 1, {raster.MARK_ON_TIME: pair(10), raster.MARK_LOST: pair(11)},
                             (np.zeros(0, np.int64), np.zeros(0, np.int64)), 1000)
    assert raster.planes(data, 0, 1000, 10)["marks"][0, 0] == raster.MARK_LOST


def test_huge_windows_stay_in_int64():
    t = np.array([0, 50_000 * 10**9, 99_999 * 10**9], dtype=np.int64)
    cols, i0, i1 = raster.pixel_columns(t, 0, 100_000 * 10**9, 8192)
    assert (i0, i1) == (0, 3) and cols.tolist()[0] == 0 and cols.tolist()[-1] == 8191


@pytest.fixture(scope="module")
def c3_results():
    return simulation.simulate(scenario.preset("bare-metal-hpet-c3"), until_ns=400_000_000)


@pytest.fixture(scope="module")
def steal_results():
    sets = ['hypervisor.backend="kvm"', "hypervisor.overcommit=3"]
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), sets)
    return simulation.simulate(sc, until_ns=300_000_000)


def _outcome_counts(res):
    out = analysis.tick_outcomes(res)
    return {o: int(np.count_nonzero(out["outcome"] == o)) for o in analysis.OUTCOME_NAMES}, out


def test_broadcast_ticks_get_their_own_colour_and_counts_stay_equal_to_the_analysis(c3_results):
    data = raster.build(c3_results)
    counts, out = _outcome_counts(c3_results)
    c = data.counts
    on = ~out["off_grid"]
    via_bc = (c3_results.source[out["index"]] == 1) & (out["outcome"] == analysis.OUTCOME_ON_TIME) & on
    assert c[raster.MARK_BROADCAST] == int(np.count_nonzero(via_bc)) > 0
    for code, outcome in ((raster.MARK_LATE, analysis.OUTCOME_LATE), (raster.MARK_DUPLICATE, analysis.OUTCOME_DUPLICATE)):
        assert c[code] == int(np.count_nonzero((out["outcome"] == outcome) & on))
    assert c[raster.MARK_ON_TIME] + c[raster.MARK_BROADCAST] == int(np.count_nonzero((out["outcome"] == analysis.OUTCOME_ON_TIME) & on))
    # a stopped tick woken off its grid (the timekeeper's max_idle_ns cap) is marked apart, as run --json leaves
    # it out; user hrtimers no longer wake the tick handler in high-res mode (none here)
    assert c[raster.MARK_OFF_GRID] == int(np.count_nonzero(out["off_grid"])) == 0
    assert sum(counts.values()) == sum(c[k] for k in (raster.MARK_ON_TIME, raster.MARK_BROADCAST, raster.MARK_LATE,
                                                      raster.MARK_DUPLICATE, raster.MARK_OFF_GRID, raster.MARK_STEAL))
    summary = analysis.summarize(c3_results)
    assert c[raster.MARK_LOST] == sum(x["ticks_lost"] for x in summary["cpus"])
    assert c[raster.MARK_LATE] == sum(x["ticks_late"] for x in summary["cpus"])
    assert c[raster.MARK_ON_TIME] + c[raster.MARK_BROADCAST] + c[raster.MARK_LATE] == sum(
        x["ticks_delivered"] for x in summary["cpus"])
    # at 1 us per pixel every mark of these colours has a pixel of its own colour (the view ends at until;
    # the ticks the run's end delivered in flight lie just after it)
    last = max(int(data.marks[code][0].max()) for code in (raster.MARK_ON_TIME, raster.MARK_BROADCAST, raster.MARK_LATE))
    assert data.end_ns == c3_results.meta["until_ns"] < last < data.end_ns + 1_000_000
    width = last // 1000 + 1
    p = raster.planes(data, 0, width * 1000, width=width)
    for code in (raster.MARK_ON_TIME, raster.MARK_BROADCAST, raster.MARK_LATE):
        t, lanes = data.marks[code]
        assert np.count_nonzero(p["marks"] == code) == np.unique(lanes * width + t // 1000).size


def test_idle_periods_shade_the_lane_by_c_state(c3_results):
    data = raster.build(c3_results)
    assert data.cstate_names == ["C1", "C1E", "C3"]
    wake = c3_results.kind == Kind.WAKE
    deep = wake & (c3_results.source == 2) & (c3_results.cpu == 0)
    t, v = c3_results.time_ns[deep], c3_results.value[deep]
    i = int(np.argmax(v))           # the longest C3 stay of CPU0
    start, end = int(t[i] - v[i]), int(t[i])
    bg = raster.planes(data, start, end, width=100)["background"]
    assert (bg[0] == raster.BG_IDLE + 2).all()
    img = raster.render(data, start, end, 100, 20)
    colour = raster.background_color(raster.LIGHT_COLORS, raster.BG_IDLE + 2, 3)
    assert np.all(img[15, 50] == np.array(colour, np.uint8))    # an empty pixel of CPU0's mark band


def test_a_short_idle_period_still_covers_a_pixel_at_any_zoom():
    spans = {raster.BG_IDLE: (np.array([500], np.int64), np.array([510], np.int64), np.array([0], np.int64))}
    data = raster.RasterData(["CPU 0"], 1, {}, (np.zeros(0, np.int64), np.zeros(0, np.int64)), 10**9,
                             spans=spans, cstate_names=["C1"])
    for width in (10, 1000, 100_000):
        assert np.count_nonzero(raster.planes(data, 0, 10**9, width)["background"]) == 1


def test_steal_periods_and_ticks_whose_slot_was_stolen(steal_results):
    data = raster.build(steal_results)
    m = steal_results.kind == Kind.STEAL
    s, e, lane = data.spans[raster.BG_STEAL]
    assert s.size == int(np.count_nonzero(m)) > 0
    assert np.array_equal(e - s, steal_results.value[m])
    counts, out = _outcome_counts(steal_results)
    c = data.counts
    assert c[raster.MARK_STEAL] > 0
    assert (c[raster.MARK_ON_TIME] + c[raster.MARK_BROADCAST] + c[raster.MARK_STEAL] + c[raster.MARK_LATE]
            == counts[analysis.OUTCOME_ON_TIME] + counts[analysis.OUTCOME_LATE])
    k = int(np.argmax(e - s))
    bg = raster.planes(data, int(s[k]), int(e[k]), width=50)["background"]
    assert (bg[int(lane[k])] == raster.BG_STEAL).all()


def test_hardware_lanes_hold_each_device_with_its_interrupts(c3_results):
    data = raster.build(c3_results, hardware=True)
    meta = c3_results.meta
    assert data.lane_names[data.ncpu_lanes:] == raster.device_lane_names(meta)
    assert data.lane_names[data.ncpu_lanes] == "hpet (bc)"
    fire = np.isin(c3_results.kind, [Kind.TICK, Kind.IRQ])
    bc_irq = c3_results.kind == Kind.BC_IRQ
    t, lanes = data.marks[raster.MARK_HW_FIRE]
    # each own-device interrupt and each broadcast-device interrupt (not the CPUs' broadcast receipts)
    assert t.size == int(np.count_nonzero(fire & (c3_results.source == 0))) + int(np.count_nonzero(bc_irq))
    bc_lane = data.ncpu_lanes + int(meta["broadcast_device"])
    assert int(np.count_nonzero(lanes == bc_lane)) == int(np.count_nonzero(bc_irq)) > 0
    own = data.ncpu_lanes + meta["tick_device"][1]
    assert int(np.count_nonzero(lanes == own)) == int(np.count_nonzero(fire & (c3_results.source == 0)
                                                                       & (c3_results.cpu == 1)))


def test_cpu_lanes_are_named_cpu_space_n_as_every_other_view_names_a_cpu(c3_results):
    # the raster said "CPU0" beside the histogram's, the measure dock's and the trace export's "CPU 0"
    data = raster.build(c3_results, hardware=True)
    ncpus = int(c3_results.meta["ncpus"])
    assert data.ncpu_lanes == ncpus > 1
    assert data.lane_names[:ncpus] == [f"CPU {c}" for c in range(ncpus)] == [raster.cpu_lane_name(c) for c in range(ncpus)]
    assert data.lane_names[ncpus:] == raster.device_lane_names(c3_results.meta)   # device lanes keep their names


def test_the_broadcast_device_lane_shows_its_own_interrupts_not_the_cpus_receipts():
    # The HPET interrupt (IRQ 0) wakes the CPUs due, locally or by IPI; each of them logs a TICK/IRQ with
    # source 1.  The HPET's lane shows the HPET's interrupts (BC_IRQ): as many as /proc/interrupts' IRQ 0.
    from tickscope.sim import scenario as scen
    from tickscope.sim.simulation import Simulation

    sim = Simulation(scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="2s"']), engine="reference")
    res = sim.run()
    data = raster.build(res, hardware=True)
    t, lane = data.marks[raster.MARK_HW_FIRE]
    names = data.lane_names
    bc_lane = next(i for i, n in enumerate(names) if n.endswith("(bc)"))
    irq0 = sim.engine.global_state()["bc_irqs"]
    assert int((lane == bc_lane).sum()) == irq0 == int((res.kind == Kind.BC_IRQ).sum()) > 0
    assert set(t[lane == bc_lane].tolist()) == set(res.time_ns[res.kind == Kind.BC_IRQ].tolist())
    # each CPU's LAPIC lane: that CPU's own tick-device interrupts (run --json's `interrupts`)
    for c in analysis.per_cpu(res):
        lapic = names.index(f"lapic/{c['cpu']}")
        assert int((lane == lapic).sum()) == c["interrupts"]


def test_deep_c_states_of_a_long_list_are_told_apart():
    # laptop-deep-idle lists C1 C1E C3 C6 C8 C10: the deep states carry the story (timer stopped, broadcast),
    # so C6 -> C8 -> C10 must differ visibly on the light theme's white (a straight ramp gave ~27 and ~31)
    def on_white(rgba):
        a = rgba[3] / 255.0
        return np.array(rgba[:3], float) * a + 255.0 * (1.0 - a)
    shades = [on_white(raster.background_color(raster.LIGHT_COLORS, raster.BG_IDLE + i, 6)) for i in range(6)]
    steps = [float(np.linalg.norm(shades[i + 1] - shades[i])) for i in range(5)]
    assert min(steps[-2:]) >= 40
    assert all(s > 10 for s in steps)          # every state differs from its neighbour


def test_a_stopped_tick_woken_off_its_grid_is_marked_apart_and_not_judged():
    # acpi_pm only: the timekeeper's tickless sleep is capped at max_idle_ns (2.086 s), which is no multiple of
    # the tick: that wake-up runs the tick handler for no slot of the grid
    sets = ["machine.cpus=1", "machine.hpet=false", "machine.tsc_hz=0", "machine.tsc_deadline=false",
            'kernel.clockevent="lapic"', "machine.pit=false", 'kernel.nohz="idle"', 'workload.kind="idle"',
            'run.until="5s"', "kernel.watchdog=false"]
    res = simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-lapic"), sets), engine="reference")
    out = analysis.tick_outcomes(res)
    c = raster.build(res).counts
    assert c[raster.MARK_OFF_GRID] == int(np.count_nonzero(out["off_grid"])) >= 2
    judged = sum(x["ticks_delivered"] for x in analysis.summarize(res)["cpus"])
    assert judged == c[raster.MARK_ON_TIME] + c[raster.MARK_BROADCAST] + c[raster.MARK_LATE]

import numpy as np
import pytest
import pyqtgraph as pg

from tickscope.gui.analysis_panels import DriftPanel, RatePanel, ResidencyPanel
from tickscope.gui.histogram_panel import HistogramPanel
from tickscope.sim import analysis, raster, scenario, simulation
from tickscope.sim.clock_drift import KERNEL_CLOCK, drift_series
from tickscope.sim.events import Kind
from tickscope.sim.results import Results


@pytest.fixture(scope="module")
def run():
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["machine.irq_jitter=300us", "run.until=1s"])
    res = simulation.simulate(sc, engine="reference")
    return res, analysis.summarize(res)


def _bar_total(h):
    return int(h["counts"].sum()) + h["underflow"] + h["overflow"]


def test_interval_histogram_counts_every_interval_including_under_and_overflow(qtbot, run):
    res, summ = run
    panel = HistogramPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    h = panel.histogram()
    assert _bar_total(h) == analysis.tick_intervals(res).size > 0
    # the bars drawn are the histogram
    assert np.array_equal(panel.bars.opts["height"], h["counts"])
    assert list(panel.side_bars.opts["height"]) == [h["underflow"], h["overflow"]]
    assert np.array_equal(np.sort(panel.samples()["values"]), np.sort(analysis.tick_intervals(res)))


def test_narrow_range_moves_samples_into_explicit_overflow_and_underflow(qtbot, run):
    res, summ = run
    panel = HistogramPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    panel.set_range(3_990_000, 4_010_000)
    h = panel.histogram()
    iv = analysis.tick_intervals(res)
    assert h["underflow"] == np.count_nonzero(iv < h["edges_ns"][0]) > 0
    assert h["overflow"] == np.count_nonzero(iv >= h["edges_ns"][-1]) > 0
    assert _bar_total(h) == iv.size


def test_per_cpu_latency_histogram_matches_that_cpus_ticks(qtbot, run):
    res, summ = run
    panel = HistogramPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    panel.set_quantity("latency")
    panel.set_cpu(2)
    n_ticks = np.count_nonzero((res.kind == Kind.TICK) & (res.cpu == 2))
    assert _bar_total(panel.histogram()) == n_ticks
    assert panel.cpu_box.currentData() == 2


def test_clicking_overflow_bar_jumps_to_a_sample_beyond_the_range(qtbot, run):
    res, summ = run
    panel = HistogramPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    panel.set_range(10_000, 4_000_000)
    nbins = len(panel.histogram()["counts"])
    with qtbot.waitSignal(panel.jump_requested) as blocker:
        assert panel.jump_to_bin(nbins)
    t, cpu = blocker.args
    s = panel.samples()
    i = np.flatnonzero((s["time_ns"] == t) & (s["cpu"] == cpu))[0]
    assert s["values"][i] >= 4_000_000


def test_drift_panel_draws_kernel_clock_and_each_clocksource(qtbot, run):
    res, summ = run
    panel = DriftPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    series = panel.series()
    assert set(series) == {KERNEL_CLOCK} | {c["name"] for c in res.meta["clocksources"]}
    assert series[res.meta["clocksource"]]["in_use"]
    ref = drift_series(res)
    assert np.array_equal(series[KERNEL_CLOCK]["drift_ns"], ref["drift_ns"])
    _, y = panel._curves[KERNEL_CLOCK].getOriginalDataset()
    assert np.allclose(y * 1e9, ref["drift_ns"])
    # no clocksource switch in this run: the clock in use reads what the kernel read
    assert np.array_equal(series[res.meta["clocksource"]]["drift_ns"], ref["drift_ns"])
    panel.set_clock_visible("jiffies", True)
    assert panel._curves["jiffies"].isVisible()


def test_rate_panel_plots_one_curve_per_cpu_with_analysis_rates(qtbot, run):
    res, summ = run
    panel = RatePanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    panel.set_bin_ns(100_000_000)
    rate = analysis.interrupt_rate(res, 100_000_000)
    assert len(panel._curves) == res.meta["ncpus"]
    for cpu, curve in enumerate(panel._curves):
        _, y = curve.getOriginalDataset()
        assert np.array_equal(y, rate["rate_hz"][cpu])
    # every tick is counted once: rate * bin width summed equals the interrupts
    total = panel.rate()["rate_hz"].sum() * 0.1
    assert round(total) == np.count_nonzero((res.kind == Kind.TICK) | (res.kind == Kind.IRQ))


def test_rate_panel_keeps_the_hz_line_in_view_under_tickless_rates(qtbot):
    # a tickless run's rates sit far under HZ; the y range used to end at their maximum, so nothing said what
    # a periodic tick would have cost
    sc = scenario.apply_sets(scenario.preset("bare-metal-hpet-c3"), ['workload.kind="idle"', "run.until=300ms"])
    res = simulation.simulate(sc, engine="reference")
    panel = RatePanel()
    qtbot.addWidget(panel)
    panel.set_results(res, analysis.summarize(res))
    hz = res.meta["hz"]
    assert panel.rate()["rate_hz"].max() < hz / 2     # idle CPUs: a few interrupts per second
    line = panel.hz_line()
    assert line is not None and line.value() == hz and line in panel.plot.getPlotItem().items
    lo, hi = panel.plot.getViewBox().viewRange()[1]
    assert lo == 0 and hi >= hz
    assert f"HZ={hz}" in line.label.toPlainText()
    panel.set_bin_ns(10_000_000)     # redrawn at another bin width: still one line
    assert sum(isinstance(i, pg.InfiniteLine) for i in panel.plot.getPlotItem().items) == 1


def test_residency_panel_says_no_data_until_the_keys_exist(qtbot, run):
    res, summ = run
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    bare = dict(summ, cpus=[{k: v for k, v in c.items() if k not in ("cstate_residency_ns", "steal_ns")}
                            for c in summ["cpus"]])
    panel.set_results(res, bare)
    assert not panel.has_data()
    assert panel.message.text() == "no idle/steal data in this run"
    # a busy run has the keys but no idle time: still nothing to draw, and it says why
    panel.set_results(res, summ)
    assert not panel.has_data() and panel.message.text().startswith("no idle/steal")


def test_residency_panel_shows_real_idle_residency(qtbot):
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), [
        'machine.cstates=["C1", "C1E", "C3", "C6"]', 'kernel.nohz="idle"', 'workload.kind="mixed"', "run.until=300ms"])
    res = simulation.simulate(sc, engine="reference")
    summ = analysis.summarize(res)
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    assert panel.has_data()
    shares = panel.shares()
    for i, c in enumerate(summ["cpus"]):
        for state, ns in c["cstate_residency_ns"].items():
            assert shares[state][i] == ns


def test_residency_panel_stacks_cstates_and_steal(qtbot, run):
    res, summ = run
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    cpus = [dict(c, cstate_residency_ns={"C1": 100_000_000, "C6": 200_000_000 * (i + 1)}, steal_ns=50_000_000 * i)
            for i, c in enumerate(summ["cpus"])]
    panel.set_results(res, dict(summ, cpus=cpus))
    assert panel.has_data() and panel.message.isHidden()
    shares = panel.shares()
    assert list(shares) == ["C1", "C6", "steal"]
    assert list(shares["C6"]) == [200_000_000 * (i + 1) for i in range(len(cpus))]
    assert list(shares["steal"]) == [50_000_000 * i for i in range(len(cpus))]


@pytest.mark.parametrize("panel_cls", [HistogramPanel, DriftPanel, RatePanel, ResidencyPanel])
def test_panels_accept_an_empty_run_and_no_run(qtbot, panel_cls):
    meta = {"ncpus": 2, "until_ns": 0, "tick_nsec": 4_000_000, "devices": [], "tick_device": [-1, -1],
            "clocksources": [], "clocksource": ""}
    panel = panel_cls()
    qtbot.addWidget(panel)
    panel.set_results(Results.empty(meta), None)
    panel.set_results(None, None)


def test_the_drift_panel_marks_where_the_watchdog_switched_clocksource(qtbot):
    import pyqtgraph as pg

    res = simulation.simulate(scenario.apply_sets(scenario.preset("unstable-tsc"), ['run.until="2s"']))
    panel = DriftPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, analysis.summarize(res))
    lines = [i for i in panel.plot.getPlotItem().items if isinstance(i, pg.InfiniteLine)]
    switch_t = [int(t) for t, k in zip(res.time_ns, res.kind) if k == Kind.CS_SWITCH]
    assert [round(line.value() * 1e9) for line in lines] == switch_t and len(switch_t) == 1
    assert lines[0].label.toPlainText() == "→ hpet"
    names = [item.name() for item in panel.plot.getPlotItem().listDataItems()]
    assert "hpet (in use at the end)" in names


def _themed_residency(qtbot, dark):
    """A residency panel on the light or dark theme's plot background."""
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    panel.set_theme(dark, "#1e1e20" if dark else "#ffffff")
    return panel


@pytest.mark.parametrize("dark", [False, True])
def test_residency_bars_of_deep_states_are_told_apart_in_the_rasters_shades(qtbot, run, dark):
    # six states as laptop-deep-idle lists them: each bar's brush differs from its neighbour's, the deep ones
    # clearly (the straight ramp gave C8 and C10 ~30 apart in RGB); and each bar is the shade its state's lanes
    # show in the raster on the same background (C3 was navy in the bars, periwinkle in the lanes)
    res, summ = run
    panel = _themed_residency(qtbot, dark)
    names = ["C1", "C1E", "C3", "C6", "C8", "C10"]
    cpus = [dict(c, cstate_residency_ns={n: 10_000_000 for n in names}, steal_ns=0) for c in summ["cpus"]]
    panel.set_results(res, dict(summ, cpus=cpus))
    bars = [it for it in panel.plot.getPlotItem().items if isinstance(it, pg.BarGraphItem)]
    colours = [np.array(b.opts["brush"].getRgb()[:3], float) for b in bars][:len(names)]
    steps = [float(np.linalg.norm(colours[i + 1] - colours[i])) for i in range(len(names) - 1)]
    assert min(steps) >= 20 and min(steps[2:]) >= 30, steps
    colors = raster.DARK_COLORS if dark else raster.LIGHT_COLORS
    bg = (30, 30, 32) if dark else (255, 255, 255)
    for i, colour in enumerate(colours):       # source-over of the lane's RGBA shade, computed here by hand
        r, g, b, a = raster.background_color(colors, raster.BG_IDLE + i, len(names))
        want = [round(c * a / 255 + k * (1 - a / 255)) for c, k in zip((r, g, b), bg)]
        assert colour.tolist() == want


def test_residency_lists_steal_only_when_there_is_some(qtbot, run):
    res, summ = run
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    cpus = [dict(c, cstate_residency_ns={"C1": 100_000_000}, steal_ns=0) for c in summ["cpus"]]
    panel.set_results(res, dict(summ, cpus=cpus))
    assert list(panel.shares()) == ["C1"]          # bare metal: no steal entry in the legend


def test_drift_says_what_the_watchdog_saw_when_it_marked_the_tsc_unstable(qtbot):
    # unstable-tsc: the TSC stops in C6 on the watchdog's CPU; timekeeping's curves stay exact, so the panel
    # names the skew the watchdog read (the kernel log's -390 ms) instead of leaving the two views at odds
    sc = scenario.apply_sets(scenario.preset("unstable-tsc"), ['run.until="2s"'])
    res = simulation.simulate(sc)
    summ = analysis.summarize(res)
    bad = [w for w in summ["watchdog_events"] if w["unstable"]]
    assert bad
    panel = DriftPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    text = panel.summary_label.text()
    assert f"on CPU {bad[0]['cpu']}" in text and "watchdog: tsc skew" in text
    assert "timekeeping" in panel.summary_label.toolTip()


def test_rate_panel_ends_at_the_run_and_reads_the_real_rate_in_a_short_run(qtbot):
    # a 500 ms pit-only run: the auto bin (>= 25 ticks at HZ=100) is 1 s, longer than the run; the panel drew one
    # 1 s step at 49 Hz over 0..1 s for a tick at ~100 Hz that stopped at 0.5 s
    res = simulation.simulate(scenario.apply_sets(scenario.preset("pit-only"), ["run.until=500ms"]))
    panel = RatePanel()
    qtbot.addWidget(panel)
    panel.set_results(res)
    x, y = panel._curves[0].getOriginalDataset()
    assert x[0] == 0 and x[-1] == pytest.approx(0.5)
    assert np.all((np.asarray(y) >= 95) & (np.asarray(y) <= 105))


def test_an_empty_drift_plot_says_why(qtbot, run):
    from tickscope.sim.clock_drift import NO_SAMPLES

    sc = scenario.apply_sets(scenario.preset("vmi-2007"), ['core.changes=["lapic-irq-path"]', "run.until=200ms"])
    res = simulation.simulate(sc)
    panel = DriftPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, analysis.summarize(res))
    assert not any(len(s["time_ns"]) for s in panel.series().values())
    assert panel.summary_label.text() == NO_SAMPLES
    panel.set_results(*run)   # a run with ticks: the usual summary again
    assert panel.summary_label.text().startswith("wall drift at end")


@pytest.mark.parametrize("dark", [False, True])
def test_residency_steal_bar_is_the_rasters_steal_shade_not_the_lost_red(qtbot, run, dark):
    # xen-pv: the raster paints steal as a pale salmon lane background and lost ticks red; the steal bar was
    # red (230, 70, 60), so the same time read as "steal" in one view and looked like "lost" in the other
    res, summ = run
    panel = _themed_residency(qtbot, dark)
    cpus = [dict(c, cstate_residency_ns={"HLT": 300_000_000}, steal_ns=200_000_000) for c in summ["cpus"]]
    panel.set_results(res, dict(summ, cpus=cpus))
    bars = {b.name(): b for b in panel.plot.getPlotItem().items if isinstance(b, pg.BarGraphItem)}
    steal = tuple(bars["steal"].opts["brush"].getRgb()[:3])
    colors = raster.DARK_COLORS if dark else raster.LIGHT_COLORS
    bg = (30, 30, 32) if dark else (255, 255, 255)
    r, g, b, a = raster.background_color(colors, raster.BG_STEAL, 1)
    assert steal == tuple(round(c * a / 255 + k * (1 - a / 255)) for c, k in zip((r, g, b), bg))
    lost = np.array(colors[raster.MARK_LOST][:3], float)
    assert float(np.linalg.norm(np.array(steal, float) - lost)) > 80


def test_drift_check_boxes_of_a_previous_run_leave_the_row_at_once(qtbot, run):
    res, summ = run
    other = simulation.simulate(scenario.apply_sets(scenario.preset("pit-only"), ["run.until=200ms"]))
    panel = DriftPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    panel.set_results(other, analysis.summarize(other))   # other clocks: new boxes, no event loop in between
    laid_out = [panel._check_row.itemAt(i).widget() for i in range(panel._check_row.count())]
    boxes = [w for w in laid_out if w is not panel.summary_label]
    assert sorted(b.text() for b in boxes) == sorted(panel.series())


def test_residency_legend_says_which_states_no_cpu_entered(qtbot):
    # a 1 ms tick: C10's 5 ms target residency never pays off (C1 before the first tick, C6 after it)
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["run.until=200ms", 'machine.cstates=["C1", "C6", "C10"]',
                                                                   "kernel.hz=1000", 'workload.kind="idle"'])
    res = simulation.simulate(sc)
    summ = analysis.summarize(res)
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    panel.set_results(res, summ)
    unused = [s for s in summ["cpus"][0]["cstate_residency_ns"] if not any(c["cstate_residency_ns"][s] for c in summ["cpus"])]
    assert unused == ["C10"]   # the scenario has a state no CPU entered
    labels = [label.text for _, label in panel._legend.items]
    for s in summ["cpus"][0]["cstate_residency_ns"]:
        assert (f"{s} (not entered)" if s in unused else s) in labels


def test_residency_panel_gives_the_numbers_and_the_tick_layer_counts(qtbot):
    """The bars alone could not tell C6 0.2 % from C8 0.8 %, and tick stops, broadcast wake-ups and IPIs per CPU
    (``tickscope run``'s idle table) were nowhere in the app."""
    res = simulation.simulate(scenario.preset("bare-metal-hpet-c3"), engine="reference", until_ns=300_000_000)
    summ = analysis.summarize(res)
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    panel.resize(1400, 260)
    panel.show()
    panel.set_results(res, summ)
    cpus, until = summ["cpus"], summ["until_ns"]
    info = panel.info.text()
    assert panel.info.isVisible() and info.startswith(f"mean of {len(cpus)} CPUs: idle ")
    for key, label in (("tick_stops", "tick stops"), ("broadcast_received", "broadcast wake-ups"), ("ipis", "IPIs")):
        assert f"{label} {sum(c[key] for c in cpus):,}" in info
    assert sum(c["broadcast_received"] for c in cpus) > 0   # the preset broadcasts: a count that matters
    for i, c in enumerate(cpus):
        text = panel.cpu_text(i)
        c3 = 100.0 * c["cstate_residency_ns"]["C3"] / until
        assert text.startswith(f"CPU {i}: idle ") and f"C3 {c3:.1f} %" in text
        assert f"tick stops {c['tick_stops']:,}" in text and f"broadcast wake-ups {c['broadcast_received']:,}" in text
    beside = [i for i in panel.plot.getPlotItem().items if isinstance(i, pg.TextItem)]
    assert len(beside) == len(cpus) and all(i.isVisible() for i in beside)   # 4 lanes: room for a line each
    assert beside[0].toPlainText() in panel.cpu_text(0).replace("\n", "  ·  ")


def test_histogram_counts_axis_has_whole_numbers(qtbot):
    """17 tick intervals (laptop-deep-idle, 2 s) were counted on an axis labelled 0.5, 1.5, 2.5; 1.9 M
    (many-cores, 60 s) on one labelled 1e+06."""
    panel = HistogramPanel()
    qtbot.addWidget(panel)
    axis = panel.plot.getAxis("left")
    for top in (2.3, 3.0, 17.0, 2.2e6):
        values = [v for _, level in axis.tickValues(0.0, top, 150) for v in level]
        assert values and all(float(v).is_integer() for v in values), (top, values)
    assert axis.tickStrings([0.0, 500_000.0, 1_000_000.0], 1.0, 500_000.0) == ["0", "500,000", "1,000,000"]


def test_residency_numbers_sit_right_of_the_bars_and_never_cover_one(qtbot):
    """Right-aligned at 100 % with an opaque box, a CPU's numbers hid the end of a 70 % bar, which looked 46 % long.
    They now sit beyond 100 % in room the x range adds; the counts go first, then the numbers, as the panel narrows."""
    until = 10**9
    cpus = [{"cpu": c, "cstate_residency_ns": {"C1": 10**7, "C6": 9 * 10**8 + c * 10**7}, "steal_ns": 0,
             "tick_stops": 1234 + c, "broadcast_received": 56, "ipis": 7} for c in range(4)]   # bars at 91-94 %
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    panel.resize(1400, 300)
    panel.show()
    panel.set_results(None, {"cpus": cpus, "until_ns": until})
    qtbot.wait(10)
    vb = panel.plot.getPlotItem().getViewBox()
    texts = [i for i in panel.plot.getPlotItem().items if isinstance(i, pg.TextItem)]
    assert len(texts) == 4 and all(t.isVisible() for t in texts)
    x_min, x_max = vb.viewRange()[0]
    for t in texts:
        left = vb.mapSceneToView(t.mapToScene(t.boundingRect().topLeft())).x()
        right = vb.mapSceneToView(t.mapToScene(t.boundingRect().topRight())).x()
        assert 100.0 < left and right <= x_max + 1e-6, (left, right, x_max)   # beyond every bar, inside the plot
        assert "tick stops" in t.toPlainText()
    assert [label for _, label in panel.plot.getAxis("bottom")._tickLevels[0]][-1] == "100"   # the scale ends at 100
    panel.resize(620, 300)                           # narrower: the shares only
    qtbot.wait(10)
    assert all(t.isVisible() and "tick stops" not in t.toPlainText() and t.toPlainText().startswith("idle ")
               for t in texts)
    panel.resize(260, 300)                           # too narrow for numbers: the tooltips keep them
    qtbot.wait(10)
    assert not any(t.isVisible() for t in texts) and vb.viewRange()[0][1] < 103
    assert "tick stops 1,234" in panel.cpu_text(0)

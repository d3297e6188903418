import numpy as np
import pytest

from tickscope.gui.compare import CompareView, run_segments
from tickscope.sim import analysis, scenario, simulation
from tickscope.sim.events import Kind


@pytest.fixture(scope="module")
def pair():
    base = scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["run.until=200ms"])
    ra = simulation.simulate(base, engine="reference")
    rb = simulation.simulate(scenario.apply_sets(base, ["kernel.hz=1000", "machine.irq_jitter=200us"]),
                             engine="reference")
    return ra, analysis.summarize(ra), rb, analysis.summarize(rb)


def _table(view):
    t = view.table
    return {t.item(r, 0).text(): [t.item(r, c).text() for c in range(t.columnCount())] for r in range(t.rowCount())}


def test_diff_table_shows_the_metric_that_differs_highlighted(qtbot, pair):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(*pair, "250 Hz", "1000 Hz")
    rows = _table(view)
    assert rows["hz"] == ["hz", "250", "1,000", "+750", "+300.00%"]
    r = next(i for i in range(view.table.rowCount()) if view.table.item(i, 0).text() == "hz")
    assert view.table.item(r, 0).font().bold()
    same = next(i for i in range(view.table.rowCount()) if view.table.item(i, 0).text() == "seed")
    assert not view.table.item(same, 0).font().bold()
    assert view.table.horizontalHeaderItem(1).text() == "250 Hz"
    assert len(rows) == len(view.diff_rows())


def test_only_differences_hides_equal_metrics(qtbot, pair):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(*pair)
    view.only_diff_box.setChecked(True)
    rows = _table(view)
    assert "hz" in rows and "seed" not in rows
    assert len(rows) == sum(r["differs"] for r in view.diff_rows())


def test_every_tick_of_both_runs_is_drawn_in_both_layouts(qtbot, pair):
    ra, sa, rb, sb = pair
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(ra, sa, rb, sb, "A", "B")
    lost = lambda r: sum(analysis.lost_slots(r, c).size for c in range(r.meta["ncpus"]))  # noqa: E731
    want = {"A": int(np.count_nonzero(ra.kind == Kind.TICK)) + lost(ra),
            "B": int(np.count_nonzero(rb.kind == Kind.TICK)) + lost(rb)}
    assert view.drawn_counts() == want
    for overlay in (False, True):
        view.set_overlay(overlay)
        segs = sum(item.getData()[0].size // 2 for item in view.plot.listDataItems())
        assert segs == want["A"] + want["B"]
        assert view.overlay_box.isChecked() == overlay


def test_lanes_interleave_or_share_a_lane(qtbot, pair):
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(*pair)
    assert [view.lane_y(r, c) for c in (0, 1) for r in (0, 1)] == [0, 1, 2, 3]
    view.set_overlay(True)
    assert round(view.lane_y(0, 1)) == round(view.lane_y(1, 1)) == 1
    assert view.lane_y(0, 1) < 1 < view.lane_y(1, 1)


def test_empty_runs_draw_nothing_and_still_diff(qtbot):
    from tickscope.sim.results import Results
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(Results.empty({"ncpus": 1}), {"hz": 100}, None, {"hz": 250})
    assert view.drawn_counts() == {"A": 0, "B": 0}
    assert _table(view)["hz"][1:] == ["100", "250", "+150", "+150.00%"]


def _shown(qtbot, pair, size=(900, 420)):
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    view.set_results_pair(*pair)
    qtbot.wait(20)
    return view


def test_the_legend_sits_beside_the_lanes_and_names_runs_a_and_b(qtbot, pair):
    from tickscope.gui.plot_legend import SideLegend

    ra, sa, rb, sb = pair
    view = _shown(qtbot, (ra, sa, rb, sb, "same-preset", "same-preset"))
    legend = view.plot.getPlotItem().legend
    assert isinstance(legend, SideLegend)
    assert [label.text for _, label in legend.items][:2] == ["A: on time", "B: on time"]
    box, lanes = legend.sceneBoundingRect(), view.plot.getViewBox().sceneBoundingRect()
    assert not box.intersects(lanes), f"legend {box} covers the lanes {lanes}"
    assert view.plot.sceneRect().contains(box)


@pytest.fixture(scope="module")
def many():
    r = simulation.simulate(scenario.apply_sets(scenario.preset("many-cores"), ['run.until="20ms"']))
    s = analysis.summarize(r)
    return r, s, r, s


@pytest.mark.parametrize("overlay", [False, True])
def test_256_cpus_get_lane_labels_that_fit_inside_the_widget(qtbot, label_rects, many, overlay):
    from tickscope.gui import lane_ticks

    view = _shown(qtbot, many)
    view.set_overlay(overlay)
    qtbot.wait(10)
    rects = label_rects(view.plot.getAxis("left"))
    height = view.plot.getViewBox().sceneBoundingRect().height()
    assert 2 <= len(rects) <= height / lane_ticks.PX_PER_LABEL + 1
    assert ("CPU 0" if overlay else "CPU 0 A/B") in rects
    for text, rect in rects.items():
        assert view.plot.sceneRect().contains(rect), f"{text!r} at {rect} leaves the widget {view.plot.sceneRect()}"
    ys = sorted(r.center().y() for r in rects.values())
    assert min(b - a for a, b in zip(ys, ys[1:])) >= lane_ticks.PX_PER_LABEL - 1   # no label over another


def test_few_cpus_label_every_lane_and_a_taller_view_labels_more(qtbot, label_rects, pair, many):
    view = _shown(qtbot, pair)
    assert set(label_rects(view.plot.getAxis("left"))) == {f"{r} · CPU {c}" for c in range(4) for r in "AB"}
    view = _shown(qtbot, many, (900, 300))
    few = len(label_rects(view.plot.getAxis("left")))
    view.resize(900, 1400)
    qtbot.wait(20)
    assert len(label_rects(view.plot.getAxis("left"))) > few


def test_outcome_colours_are_the_rasters_for_the_theme(qtbot, pair):
    from tickscope.sim import raster

    view = _shown(qtbot, pair)
    for dark, colors in ((False, raster.LIGHT_COLORS), (True, raster.DARK_COLORS)):
        view.set_theme(dark)
        pens = {item.opts["pen"].color().getRgb()[:3] for item in view.plot.listDataItems()}
        assert tuple(colors[raster.MARK_LATE][:3]) in pens   # yellow late ticks were unreadable on white


def test_run_segments_are_each_cpus_judged_ticks_by_outcome_and_its_lost_slots():
    code = {"on time": analysis.OUTCOME_ON_TIME, "late": analysis.OUTCOME_LATE,
            "duplicated": analysis.OUTCOME_DUPLICATE}
    # lost ticks (vmi-2007 under the core change), late ones and ticks off the grid (laptop-deep-idle)
    for name, sets in (("vmi-2007", ['core.changes=["lapic-irq-path"]']), ("laptop-deep-idle", [])):
        res = simulation.simulate(scenario.apply_sets(scenario.preset(name), sets + ["run.until=300ms"]))
        seg = run_segments(res)
        o = analysis.tick_outcomes(res)
        assert sum(t.size for per_cpu in seg.values() for t in per_cpu.values()) > 0
        for cpu in range(res.meta["ncpus"]):
            for outcome, c in code.items():
                want = o["time_ns"][(o["cpu"] == cpu) & (o["outcome"] == c) & ~o["off_grid"]]
                assert np.array_equal(seg[outcome][cpu], want)
            assert np.array_equal(seg["lost"][cpu], analysis.lost_slots(res, cpu))
        assert sum(t.size for t in seg["lost"].values()) + sum(t.size for t in seg["late"].values()) > 0


def test_the_same_pair_again_is_not_drawn_again_and_an_unchanged_run_keeps_its_segments(qtbot, pair, monkeypatch):
    from tickscope.gui import compare

    ra, sa, rb, sb = pair
    calls = []
    real = compare.run_segments
    monkeypatch.setattr(compare, "run_segments", lambda res: calls.append(res) or real(res))
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(ra, sa, rb, sb, "A", "B")
    items = view.plot.listDataItems()
    view.set_results_pair(ra, sa, rb, sb, "A", "B")
    assert view.plot.listDataItems() == items and calls == [ra, rb]
    view.set_results_pair(ra, sa, ra, sa, "A", "B")   # B changed: only B's segments are new
    assert calls == [ra, rb, ra] and view.drawn_counts()["A"] == view.drawn_counts()["B"]
    view.set_results_pair(ra, sa, ra, sa, "A", "A again")   # a new label is drawn
    assert view.table.horizontalHeaderItem(2).text() == "A again"


def test_a_cpu_only_one_run_has_is_labelled_so(qtbot, pair):
    # a 4-CPU run A against a 2-CPU run B: B's lanes for CPUs 2 and 3 are empty, and their labels say why
    ra, sa, _rb, _sb = pair
    small = simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-lapic"),
                                                    ["run.until=200ms", "machine.cpus=2"]), engine="reference")
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(ra, sa, small, analysis.summarize(small))
    assert ra.meta["ncpus"] == 4
    labels = [text for _y, text in view.lane_labels(2000.0)]
    assert labels[:4] == ["A · CPU 0", "B · CPU 0", "A · CPU 1", "B · CPU 1"]
    assert labels[4:] == ["A · CPU 2", "B · no CPU 2", "A · CPU 3", "B · no CPU 3"]
    assert [text for _y, text in view.lane_labels(40.0)][-1].endswith("A only")
    view.set_overlay(True)
    assert [text for _y, text in view.lane_labels(2000.0)] == ["CPU 0", "CPU 1", "CPU 2 A only", "CPU 3 A only"]


def test_without_a_run_b_the_view_says_how_to_compare(qtbot):
    # Ctrl+Shift+C outside compare mode showed an empty plot under table columns "1" to "5"
    view = CompareView()
    qtbot.addWidget(view)
    assert "--compare" in view.title.text()
    assert [view.table.horizontalHeaderItem(i).text() for i in range(5)] == ["metric", "A", "B", "Δ (B − A)", "%"]


def test_run_commands_drive_run_b_too(qtbot):
    # F5, Step, Reset, Run until and the seed drove run A alone: outside --screenshot run B never ran, and the
    # compare view set A's run against B's empty one (B's lanes blank, "events 0")
    from tickscope.gui.main_window import MainWindow
    from tickscope.sim import scenario as scen

    a = scen.apply_sets(scen.preset("vmi-2007"), ['run.until="40ms"'])
    b = scen.apply_sets(a, ['core.changes=["lapic-irq-path"]'])
    win = MainWindow(a, engine="reference", compare=b, persistent=False)
    qtbot.addWidget(win)
    ctls = (win.controller, win.compare_controller)
    win.actions_by_name["run"].trigger()
    qtbot.waitUntil(lambda: all(c.state() == "done" for c in ctls), timeout=60000)
    assert win.compare_controller.last_snapshot["now_ns"] >= 40_000_000
    win.actions_by_name["reset"].trigger()
    assert [c.state() for c in ctls] == ["idle", "idle"]
    win.actions_by_name["step"].trigger()
    qtbot.waitUntil(lambda: all(c.state() == "paused" for c in ctls), timeout=60000)
    win.run_until(20_000_000)
    qtbot.waitUntil(lambda: all(c.state() == "done" for c in ctls), timeout=60000)
    assert [c.until_ns() for c in ctls] == [20_000_000, 20_000_000]
    win.seed_box.setText("7")
    win.seed_box.editingFinished.emit()
    assert [c.seed() for c in ctls] == [7, 7]
    win.close()


def test_compare_marks_where_each_run_switched_clocksource(qtbot):
    """unstable-tsc with and without the watchdog: only A drops the TSC, and the lanes said nowhere where."""
    import pyqtgraph as pg

    from tickscope.gui.compare import CompareView
    from tickscope.sim import analysis, scenario, simulation

    a = scenario.preset("unstable-tsc")
    b = scenario.apply_sets(a, ["kernel.watchdog=false"])
    res_a, res_b = (simulation.simulate(sc, engine="reference", until_ns=1_100_000_000) for sc in (a, b))
    view = CompareView()
    qtbot.addWidget(view)
    view.set_results_pair(res_a, analysis.summarize(res_a), res_b, analysis.summarize(res_b))
    marks = [i for i in view.plot.getPlotItem().items if isinstance(i, pg.InfiniteLine) and i.angle == 90]
    assert [m.label.toPlainText() for m in marks] == ["A: watchdog: tsc unstable → hpet"]
    assert 1.0 < marks[0].value() < 1.1
    view.set_overlay(True)   # redrawn: still one marker
    assert len([i for i in view.plot.getPlotItem().items if isinstance(i, pg.InfiniteLine) and i.angle == 90]) == 1


def test_256_cpus_are_not_squeezed_below_a_readable_lane(qtbot, label_rects, many):
    """256 CPUs interleaved in ~250 px gave 0.5 px lanes: each run's tick lines covered its neighbours' and B's,
    drawn last, hid every one of A's.  The view keeps lanes at least MIN_LANE_PX high and scrolls through the CPUs."""
    from tickscope.gui.compare import MIN_LANE_PX

    view = _shown(qtbot, many)
    vb = view.plot.getViewBox()
    y0, y1 = vb.viewRange()[1]
    assert vb.sceneBoundingRect().height() / (y1 - y0) >= MIN_LANE_PX
    first, last = view.cpus_in_view()
    assert first == 0 and 0 < last < 255
    assert view.scroll_note.isVisible() and view.scroll_note.text().startswith(f"CPU 0–{last} of 256 in view")
    assert vb.state["mouseEnabled"] == [True, True]
    vb.setYRange(2 * 256 - 0.4 - (y1 - y0), 2 * 256 - 0.4, padding=0)   # scrolled to the end
    qtbot.wait(10)
    assert view.cpus_in_view()[1] == 255 and "of 256 in view" in view.scroll_note.text()
    assert any(text.startswith("CPU 25") for text in label_rects(view.plot.getAxis("left")))   # labelled there too


def test_few_cpus_all_in_view_without_scrolling(qtbot, pair):
    view = _shown(qtbot, pair)
    assert view.cpus_in_view() == (0, 3) and not view.scroll_note.isVisible()
    assert view.plot.getViewBox().state["mouseEnabled"] == [True, False]


@pytest.fixture(scope="module")
def broadcast_pair():
    """bare-metal-hpet-c3 (C1, C1E, C3; no ARAT) with its HPET broadcast (A) and without any (B: C3 refused)."""
    a = scenario.apply_sets(scenario.preset("bare-metal-hpet-c3"), ["run.until=200ms"])
    b = scenario.apply_sets(a, ['machine.broadcast="none"'])
    ra, rb = (simulation.simulate(sc, engine="reference") for sc in (a, b))
    return ra, analysis.summarize(ra), rb, analysis.summarize(rb), "hpet", "none"


def _longest_sleep(res, cpu, state):
    """(start, end) ns of *cpu*'s longest stay in C-state index *state*, from its WAKE records."""
    m = (res.kind == Kind.WAKE) & (res.cpu == cpu) & (res.source == state)
    ends, lengths = res.time_ns[m], res.value[m]
    i = int(np.argmax(lengths))
    return int(ends[i] - lengths[i]), int(ends[i])


def test_lanes_are_shaded_by_c_state_alike_in_both_runs(qtbot, broadcast_pair):
    """The compare lanes had no idle shading: a run refused its deep state (no broadcast device for a C3STOP
    LAPIC) looked like one that slept deep.  Each run's lane shows its states on one scale over both runs."""
    from tickscope.sim import raster

    ra, _sa, rb, _sb, *_ = broadcast_pair
    names = [c["name"] for c in ra.meta["cstates"]]
    c3, c1e = names.index("C3"), names.index("C1E")
    assert np.any((rb.kind == Kind.WAKE) & (rb.source == c1e)) and not np.any((rb.kind == Kind.WAKE) & (rb.source == c3))
    view = _shown(qtbot, broadcast_pair)
    colors = raster.DARK_COLORS   # the view's default theme
    # C1 < C1E < C3 by exit latency in both runs: C3 takes the deepest shade, C1E the middle one (drawn at
    # SHADE_ALPHA of the raster's opacity, so that the ticks over them read)
    from tickscope.gui.compare import SHADE_ALPHA

    deep, mid = ((*colors[k][:3], round(colors[k][3] * SHADE_ALPHA)) for k in ("idle_deep", "idle_mid"))
    start, end = _longest_sleep(ra, 1, c3)
    t0, t1 = start - 1000, end + 1000
    img = view.shade_image(t0, t1, 100)
    assert img.shape == (2 * 4, 100, 4)
    assert tuple(img[2 * 1, 50]) == deep                 # A's CPU 1 mid-way through its longest C3 sleep
    assert not np.any(np.all(img[1::2] == deep, axis=-1))   # B never got to C3
    start, end = _longest_sleep(rb, 2, c1e)
    img = view.shade_image(start, end, 10)
    assert all(tuple(px) == mid for px in img[2 * 2 + 1])   # B's CPU 2 all through a C1E sleep
    legend = dict(view.shade_legend())
    assert legend["idle C3"] == deep and legend["idle C1E"] == mid


def test_lane_shading_follows_zoom_and_layout(qtbot, broadcast_pair):
    view = _shown(qtbot, broadcast_pair)
    shade = view._shade
    assert shade.isVisible() and shade.image.shape[0] == 8
    assert shade.mapRectToParent(shade.boundingRect()).height() == pytest.approx(8.0)   # a row per lane
    view.plot.setXRange(0.050, 0.060, padding=0)
    qtbot.waitUntil(lambda: shade.mapRectToParent(shade.boundingRect()).width() == pytest.approx(0.010, rel=1e-6))
    assert shade.mapRectToParent(shade.boundingRect()).left() == pytest.approx(0.050, rel=1e-6)
    view.set_overlay(True)   # A's row the upper half of the CPU's lane, B's the lower half
    qtbot.wait(20)
    rect = shade.mapRectToParent(shade.boundingRect())
    assert (rect.top(), rect.height()) == (pytest.approx(-0.5), pytest.approx(4.0))
    labels = [label.text for _sample, label in view.plot.getPlotItem().legend.items]
    assert "idle C3" in labels and "idle C1E" in labels


def test_runs_without_idle_periods_show_no_shading(qtbot, pair):
    ra = pair[0]
    assert not np.any(ra.kind == Kind.IDLE)   # bare-metal-lapic's CPUs run busy throughout
    view = _shown(qtbot, pair)
    assert not view._shade.isVisible() and view.shade_legend() == []
    assert not any(label.text.startswith("idle") for _s, label in view.plot.getPlotItem().legend.items)


def test_compare_mode_names_the_views_that_show_run_a(qtbot):
    """Beside the compare view's "A = ..." and "B = ...", the Ticks tab and the panels (Idle residency's shares, the
    Scenario form that edits one run) did not say which run they show: run A, which nothing named."""
    from tickscope.gui.main_window import MainWindow
    from tickscope.sim import scenario as scen

    a = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="20ms"'])
    b = scen.apply_sets(a, ['machine.broadcast="none"'])
    win = MainWindow(a, engine="reference", compare=b, persistent=False)
    qtbot.addWidget(win)
    tabs = win.central_tabs
    assert tabs.tabText(tabs.indexOf(win.raster)) == "Ticks (A)"
    for title in ("Scenario", "Measure", "Histograms", "Drift", "Interrupt rate", "Idle residency", "Events",
                  "Kernel log", "Proc files"):
        assert win.docks[title].windowTitle() == f"{title} (A)"
    assert win.docks["Graph"].windowTitle() == "Graph"   # the architecture model, not a run
    win.close()
    single = MainWindow(a, engine="reference", persistent=False)
    qtbot.addWidget(single)
    assert single.central_tabs.tabText(0) == "Ticks"
    assert single.docks["Idle residency"].windowTitle() == "Idle residency"
    single.close()


def test_hovering_a_compare_lane_names_the_run_cpu_time_and_state(qtbot):
    """The raster says which lane and moment is under the pointer; the compare view, whose lanes are a few px high
    and labelled every Nth CPU, said nothing, and its C-state shading had only a legend to be read by."""
    from PySide6.QtCore import QPointF

    from tickscope.gui.compare import CompareView
    from tickscope.sim import analysis, scenario, simulation
    from tickscope.sim.events import Kind

    a = scenario.apply_sets(scenario.preset("bare-metal-hpet-c3"), ['run.until="100ms"'])
    b = scenario.apply_sets(a, ['machine.broadcast="none"'])
    res_a, res_b = (simulation.simulate(sc, engine="reference") for sc in (a, b))
    view = CompareView()
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    view.set_results_pair(res_a, analysis.summarize(res_a), res_b, analysis.summarize(res_b), "hpet", "none")
    vb = view.plot.getViewBox()
    names = [c["name"] for c in res_a.meta["cstates"]]
    for run, res in enumerate((res_a, res_b)):
        i = int(np.flatnonzero((res.kind == Kind.WAKE) & (res.cpu == 2) & (res.value > 1_000_000))[0])
        t = int(res.time_ns[i]) - int(res.value[i]) // 2
        text = view.hover_text(vb.mapViewToScene(QPointF(t / 1e9, view.lane_y(run, 2))))
        assert text == f"{'AB'[run]} · CPU 2 · {t / 1e9:.6f} s · idle {names[int(res.source[i])]}\n{('hpet', 'none')[run]}"
    view.set_overlay(True)
    i = int(np.flatnonzero((res_b.kind == Kind.WAKE) & (res_b.cpu == 3) & (res_b.value > 1_000_000))[0])
    t = int(res_b.time_ns[i]) - int(res_b.value[i]) // 2
    assert view.hover_text(vb.mapViewToScene(QPointF(t / 1e9, view.lane_y(1, 3)))).startswith(f"B · CPU 3 · {t / 1e9:.6f} s")
    assert view.hover_text(QPointF(-50, -50)) == ""
    view.plot.setXRange((t - 1000) / 1e9, (t + 1000) / 1e9, padding=0)   # 2 µs: the pointer's time to the ns
    text = view.hover_text(vb.mapViewToScene(QPointF(t / 1e9, view.lane_y(1, 3))))
    assert text.startswith(f"B · CPU 3 · {t // 10**9}.{t % 10**9:09d} s")


def test_file_export_in_compare_mode_draws_run_b_under_run_a(qtbot, tmp_path):
    """File > Export in compare mode drew run A alone, titled as if it were the only run: the figure for the list
    lost the comparison the user was looking at."""
    import xml.etree.ElementTree as ET

    from tickscope.gui import export_dialog as ed
    from tickscope.gui import plot_export as pe
    from tickscope.gui.main_window import MainWindow
    from tickscope.sim import scenario as scen

    a = scen.apply_sets(scen.preset("bare-metal-hpet-c3"), ['run.until="30ms"'])
    b = scen.apply_sets(a, ['machine.broadcast="none"'])
    win = MainWindow(a, engine="reference", compare=b, persistent=False)
    qtbot.addWidget(win)
    win.run_to_end()
    opts = ed.plot_options_for(win, 800, 500, 96)
    out = pe.write_svg(ed.source_for(win), "raster", tmp_path / "ab.svg", opts)
    texts = ["".join(t.itertext()) for t in ET.parse(out).getroot().iter("{http://www.w3.org/2000/svg}text")]
    assert any(t.startswith('A: bare-metal-hpet-c3 [machine.broadcast="hpet"]') for t in texts), texts[:8]
    assert any(t.startswith('B: bare-metal-hpet-c3 [machine.broadcast="none"]') for t in texts), texts[:8]
    win.controller.shutdown()
    win.compare_controller.shutdown()
    single = MainWindow(a, engine="reference", persistent=False)
    qtbot.addWidget(single)
    single.run_to_end()
    assert ed.plot_options_for(single, 800, 500, 96).compare is None
    assert ed.source_for(single).name == "bare-metal-hpet-c3"
    single.controller.shutdown()

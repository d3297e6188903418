"""Lane and CPU labels stay legible with many CPUs; axes that count CPUs do not get an SI prefix."""
import pytest

from tickscope.gui import lane_ticks
from tickscope.gui.analysis_panels import ResidencyPanel
from tickscope.gui.tick_raster import TickRasterView
from tickscope.sim import analysis, raster, scenario, simulation


@pytest.mark.parametrize("n,height,step", [(1, 400, 1), (4, 400, 1), (25, 400, 1), (26, 400, 2), (64, 1000, 2),
                                           (256, 400, 16), (256, 4096, 1), (300, 0, 1)])
def test_label_step_is_the_smallest_power_of_two_keeping_labels_16px_apart(n, height, step):
    assert lane_ticks.label_step(n, height) == step
    if height and step > 1:
        assert n * lane_ticks.PX_PER_LABEL / height <= step < 2 * n * lane_ticks.PX_PER_LABEL / height


def _labels(axis):
    return [label for level in axis._tickLevels for _, label in level]


def test_256_cpus_in_the_residency_panel_get_labels_that_fit(qtbot):
    cpus = [{"cpu": c, "cstate_residency_ns": {"C1": 10**6 * (1 + c % 5)}, "steal_ns": 0} for c in range(256)]
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    panel.resize(600, 420)
    panel.show()
    panel.set_results(None, {"cpus": cpus, "until_ns": 10**9})
    height = panel.plot.getPlotItem().getViewBox().sceneBoundingRect().height()
    labels = _labels(panel.plot.getAxis("left"))
    assert 2 <= len(labels) <= height / lane_ticks.PX_PER_LABEL + 1
    assert labels[0] == "CPU 0" and labels[1] == f"CPU {256 // len(labels)}"
    panel.resize(600, 3000)                      # taller: more labels
    qtbot.wait(10)
    assert len(_labels(panel.plot.getAxis("left"))) > len(labels)


def test_one_cpu_axis_has_no_si_prefix(qtbot):
    panel = ResidencyPanel()
    qtbot.addWidget(panel)
    panel.set_results(None, {"cpus": [{"cpu": 0, "cstate_residency_ns": {"HLT": 5 * 10**8}, "steal_ns": 0}],
                             "until_ns": 10**9})
    axis = panel.plot.getAxis("left")
    assert not axis.autoSIPrefix and "x0.001" not in axis.labelString()


def test_the_raster_labels_every_nth_cpu_of_many(qtbot):
    res = simulation.simulate(scenario.apply_sets(scenario.preset("many-cores"), ["machine.cpus=96", 'run.until="50ms"']))
    view = TickRasterView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.set_results(res, analysis.summarize(res))
    labels = _labels(view.plot_item.getAxis("left"))
    height = view.plot_item.getViewBox().sceneBoundingRect().height()
    assert len(labels) <= height / lane_ticks.PX_PER_LABEL + 1 and labels[0] == "CPU 0"


def test_a_machine_without_c_states_idles_in_hlt_in_the_raster_too():
    res = simulation.simulate(scenario.apply_sets(scenario.preset("pit-only"), ['run.until="200ms"']), engine="reference")
    assert raster.build(res).cstate_names == ["HLT"] == list(analysis.per_cpu(res)[0]["cstate_residency_ns"])


@pytest.mark.parametrize("cpus", [256, 4])
def test_every_raster_lane_label_is_inside_the_widget(qtbot, label_rects, cpus):
    # the top lane's label is centred on a lane a few px high with many CPUs: it was clipped at the top edge
    res = simulation.simulate(scenario.apply_sets(scenario.preset("many-cores"), [f"machine.cpus={cpus}", 'run.until="20ms"']))
    view = TickRasterView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    view.set_results(res, analysis.summarize(res))
    qtbot.wait(10)
    for widget, axis in ((view.plot_widget, view.plot_item.getAxis("left")),
                         (view.overview_widget, view.overview_widget.getPlotItem().getAxis("left"))):
        rects = label_rects(axis)
        assert rects, "no lane labels drawn"
        bounds = widget.sceneRect()
        for text, rect in rects.items():
            assert bounds.contains(rect), f"{text!r} at {rect} leaves the widget {bounds}"
    assert "CPU 0" in label_rects(view.plot_item.getAxis("left"))


def test_the_raster_names_each_cpu_as_the_histogram_and_the_measure_dock_do(qtbot, short_results):
    from tickscope.gui.histogram_panel import HistogramPanel
    from tickscope.gui.measure import MeasureController

    view = TickRasterView()
    qtbot.addWidget(view)
    view.resize(900, 500)
    view.show()
    measure = MeasureController(view)
    qtbot.addWidget(measure.readout)
    hist = HistogramPanel()
    qtbot.addWidget(hist)
    summary = analysis.summarize(short_results)
    view.set_results(short_results, summary)
    measure.set_results(short_results, summary)
    hist.set_results(short_results, summary)
    lanes = _labels(view.plot_item.getAxis("left"))
    assert len(lanes) == int(short_results.meta["ncpus"]) > 1
    assert lanes == [measure.cpu_box.itemText(i) for i in range(measure.cpu_box.count())]
    assert lanes == [hist.cpu_box.itemText(i) for i in range(1, hist.cpu_box.count())]   # after "All CPUs"


@pytest.mark.parametrize("preset, sets", [("hyperv", []), ("many-cores", [])])
def test_every_hardware_lane_label_is_drawn(qtbot, label_rects, preset, sets):
    # pyqtgraph skips a label wider than the 110 px axis without a word: hyperv's four device lanes
    # ("Hyper-V clockevent/0") had no name, and many-cores' from lapic-deadline/111 on
    res = simulation.simulate(scenario.apply_sets(scenario.preset(preset), sets + ['run.until="20ms"']))
    view = TickRasterView()
    qtbot.addWidget(view)
    view.resize(1300, 520)
    view.show()
    view.set_results(res, analysis.summarize(res))
    view.set_show_hardware(True)
    qtbot.wait(10)
    axis = view.plot_item.getAxis("left")
    wanted = _labels(axis)
    assert any("/" in label for label in wanted)   # device lanes among them
    assert sorted(label_rects(axis)) == sorted(wanted)
    overview = view.overview_widget.getPlotItem().getAxis("left")
    assert overview.width() == axis.width()   # the strips' time axes stay aligned
    view.set_show_hardware(False)
    qtbot.wait(10)
    assert axis.width() == overview.width() == 110

"""Legends and labels in the analysis plots sit beside the data, inside the widget, in the theme's colours."""
import pytest
from PySide6.QtGui import QColor

from tickscope.gui.analysis_panels import DriftPanel, RatePanel, ResidencyPanel
from tickscope.gui.histogram_panel import HistogramPanel
from tickscope.gui.plot_legend import SideLegend, set_legend_color
from tickscope.sim import analysis, scenario, simulation


@pytest.fixture(scope="module")
def run():
    # six clocks to list in the drift legend, four CPUs in the rate legend, three C-states (no steal on bare metal)
    sc = scenario.apply_sets(scenario.preset("bare-metal-hpet-c3"), ["run.until=500ms"])
    res = simulation.simulate(sc, engine="reference")
    return res, analysis.summarize(res)


def _show(qtbot, panel, run, size=(900, 170)):
    qtbot.addWidget(panel)
    panel.resize(*size)
    panel.show()
    panel.set_results(*run)
    qtbot.wait(20)
    return panel


@pytest.mark.parametrize("panel_cls", [DriftPanel, RatePanel, ResidencyPanel])
@pytest.mark.parametrize("size", [(900, 170), (700, 400)])
def test_the_legend_lists_every_entry_beside_the_data_and_inside_the_widget(qtbot, run, panel_cls, size):
    panel = _show(qtbot, panel_cls(), run, size)
    legend = panel.plot.getPlotItem().legend
    assert isinstance(legend, SideLegend) and len(legend.items) >= (3 if panel_cls is ResidencyPanel else 4)
    view = panel.plot.getViewBox().sceneBoundingRect()
    box = legend.sceneBoundingRect()
    assert not box.intersects(view), f"legend {box} covers the data {view}"
    assert panel.plot.sceneRect().contains(box), f"legend {box} runs past the widget {panel.plot.sceneRect()}"
    for sample, label in legend.items:   # each entry in the widget, its sample beside its text
        s, t = sample.sceneBoundingRect(), label.sceneBoundingRect()
        assert panel.plot.sceneRect().contains(s) and panel.plot.sceneRect().contains(t)
        assert abs(s.center().y() - t.center().y()) < t.height() / 2


def test_a_short_plot_spreads_the_legend_over_more_columns(qtbot, run):
    panel = _show(qtbot, DriftPanel(), run, (900, 400))
    legend = panel.plot.getPlotItem().legend
    tall = legend.columnCount
    panel.resize(900, 150)
    qtbot.wait(20)
    assert legend.columnCount > tall
    assert panel.plot.sceneRect().contains(legend.sceneBoundingRect())


def test_legend_text_follows_the_theme(qtbot, run):
    panel = _show(qtbot, RatePanel(), run)
    for colour in ("#303030", "#dcdcdc"):
        set_legend_color(panel.plot, colour)
        for _, label in panel.plot.getPlotItem().legend.items:
            assert QColor(label.opts["color"]) == QColor(colour)
            assert colour.lstrip("#") in label.item.toHtml().lower()


def test_the_side_bar_labels_stay_inside_the_plot_when_a_side_bar_is_the_tallest(qtbot, run):
    panel = _show(qtbot, HistogramPanel(), run, (900, 200))
    panel.set_range(10_000, 1_000_000)            # every 4 ms tick interval lands in the overflow bar
    qtbot.wait(20)
    h = panel.histogram()
    assert h["overflow"] > max(h["counts"].max(), h["underflow"])
    view = panel.plot.getViewBox().sceneBoundingRect()
    for item in panel._side_labels:
        assert view.contains(item.mapRectToScene(item.boundingRect())), item.textItem.toPlainText()
    panel.set_text_color("#dcdcdc")
    assert all(item.color == QColor("#dcdcdc") for item in panel._side_labels)


@pytest.mark.parametrize("panel_cls,unit", [(DriftPanel, "s)"), (RatePanel, "Hz)")])
def test_the_left_axis_title_and_its_unit_fit_a_short_dock(qtbot, run, panel_cls, unit):
    # "clock − true time (ns)" and "timer interrupts (Hz)" ran past a dock-high plot: the unit was cut off,
    # and kvm-overcommit's 1 kHz rate read as "1.0"
    panel = _show(qtbot, panel_cls(), run, (900, 170))
    axis = panel.plot.getAxis("left")
    assert axis.label.toPlainText().endswith(unit)
    title, bounds = axis.label.mapRectToScene(axis.label.boundingRect()), panel.plot.sceneRect()
    # along the axis (the text is turned 90°); across it the text item's empty 4 px margin may stick out
    assert bounds.top() <= title.top() and title.bottom() <= bounds.bottom(), \
        f"{axis.label.toPlainText()!r} from y={title.top()} to {title.bottom()} is cut off by {bounds}"


def test_every_clock_check_box_says_what_it_shows(qtbot, run):
    panel = _show(qtbot, DriftPanel(), run)
    assert len(panel._checks) >= 4
    for name, box in panel._checks.items():
        assert name in box.toolTip()


@pytest.mark.parametrize("ncpus", [1, 2, 4, 6, 8, 16, 64])
def test_cpu_and_clock_traces_keep_3_to_1_contrast_on_both_themes(ncpus):
    # CPU 1's yellow (and the cyan/green of others) was invisible on the light theme's white
    from tickscope.gui.analysis_panels import _cpu_colour, relative_luminance

    backgrounds = [relative_luminance(QColor(bg)) for bg in ("#ffffff", "#1e1e20")]   # gui/theme.py
    for cpu in range(ncpus):
        lum = relative_luminance(_cpu_colour(cpu, ncpus))
        for bg in backgrounds:
            assert (max(lum, bg) + 0.05) / (min(lum, bg) + 0.05) >= 3.0, (cpu, _cpu_colour(cpu, ncpus).getRgb())


def test_twelve_cpus_in_a_short_rate_dock_keep_the_time_axis_in_the_widget(qtbot):
    # 12 CPU names need two legend columns in a 180 px dock. The PlotItem had kept the height the one-column
    # legend forced on it at the first layout (a PlotWidget sizes its item on its own resize only), so the plot ran
    # past the widget: the time axis and the rates under ~120 Hz were cut off
    sc = scenario.apply_sets(scenario.preset("many-cores"), ["machine.cpus=12", "run.until=300ms"])
    res = simulation.simulate(sc, engine="cython")
    panel = RatePanel()
    qtbot.addWidget(panel)
    panel.resize(640, 480)   # laid out first with room for one column, as the app's docks are before they settle
    panel.show()
    panel.set_results(res, analysis.summarize(res))
    qtbot.wait(20)
    panel.resize(1600, 220)
    qtbot.wait(50)
    item = panel.plot.getPlotItem()
    assert item.legend.columnCount >= 2
    widget = panel.plot.sceneRect()
    assert widget.contains(item.getAxis("bottom").sceneBoundingRect()), (item.geometry(), widget)
    assert widget.contains(item.legend.sceneBoundingRect())


def test_cpu_traces_differ_in_colour_or_style_where_a_legend_names_them():
    """With 16 CPUs in 16 hues CPU 0 and CPU 15 were both red and neighbours hard to tell apart: beyond 8 CPUs the
    8 hues repeat in the next line style, so every pair differs in hue or style, and same-hue CPUs 8 apart."""
    from PySide6.QtCore import Qt

    from tickscope.gui.analysis_panels import cpu_pen

    for n in (12, 16, 32):
        pens = [cpu_pen(c, n) for c in range(n)]
        looks = {(p.color().getRgb(), p.style()) for p in pens}
        assert len(looks) == n, n
        assert pens[0].style() == Qt.SolidLine and pens[8].style() == Qt.DashLine
        assert pens[0].color().getRgb() == pens[8].color().getRgb()
    hues = {cpu_pen(c, 8).color().getRgb() for c in range(8)}   # up to 8: one hue each, solid
    assert len(hues) == 8 and all(cpu_pen(c, 8).style() == Qt.SolidLine for c in range(8))
    assert all(cpu_pen(c, 256, legend=False).style() == Qt.SolidLine for c in (0, 9, 200))

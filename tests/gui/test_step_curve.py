"""The rate panel's step curves: every bin drawn while they fit the view, a peak envelope past that."""
import numpy as np
import pyqtgraph as pg

from tickscope.gui.analysis_panels import RatePanel
from tickscope.gui.step_curve import BINS_PER_PX, StepCurve, peak_envelope
from tickscope.sim import analysis, scenario, simulation


def test_the_peak_envelope_keeps_each_groups_maximum_and_minimum_and_the_last_partial_group():
    edges = np.arange(11, dtype=float)
    values = np.array([1, 5, 2, 2, 9, 0, 3, 3, 4, 7], dtype=float)
    e, v = peak_envelope(edges, values, 3)
    assert list(v) == [5, 1, 9, 0, 4, 3, 7]
    assert list(e) == [0, 1, 3, 4, 6, 7, 9, 10]
    e, v = peak_envelope(edges, values, 4)   # a last group of two: its maximum and minimum too
    assert list(v) == [5, 1, 9, 0, 7, 4] and list(e) == [0, 2, 4, 6, 8, 9, 10]
    assert e.size == v.size + 1 and e[0] == edges[0] and e[-1] == edges[-1]
    same_e, same_v = peak_envelope(edges, values, 1)
    assert same_e is edges and same_v is values


def _plot(qtbot, width=600):
    pw = pg.PlotWidget()
    qtbot.addWidget(pw)
    pw.resize(width, 300)
    pw.show()
    qtbot.wait(10)
    return pw


def test_a_step_curve_that_fits_the_view_draws_every_bin(qtbot):
    pw = _plot(qtbot)
    edges, values = np.linspace(0, 1, 101), np.random.default_rng(1).random(100)
    curve = StepCurve(edges, values, pen="r")
    pw.addItem(curve)
    qtbot.wait(10)
    x, y = curve.getData()
    assert np.array_equal(x, edges) and np.array_equal(y, values)
    ox, oy = curve.getOriginalDataset()
    assert np.array_equal(ox, edges) and np.array_equal(oy, values)


def test_fine_bins_are_thinned_to_the_views_width_without_losing_a_peak_even_zoomed_in(qtbot):
    pw = _plot(qtbot)
    n = 200_000
    rng = np.random.default_rng(2)
    edges, values = np.arange(n + 1, dtype=float), rng.random(n)
    values[123_457] = 50.0   # one spike a single bin wide
    values[150_001] = -50.0
    curve = StepCurve(edges, values, pen="r")
    pw.addItem(curve)
    qtbot.wait(10)
    width = pw.getViewBox().width()
    x, y = curve.getData()
    assert y.size <= 2 * BINS_PER_PX * width + 4   # a maximum and a minimum per group: BINS_PER_PX groups a pixel
    assert y.max() == 50.0 and y.min() == -50.0
    assert curve.dataBounds(0) == (0.0, float(n))   # auto-range sees the whole series
    pw.setXRange(120_000, 130_000, padding=0)      # zoomed: only the bins in view (and one each side)
    qtbot.wait(10)
    x, y = curve.getData()
    assert x.size == y.size + 1
    assert x[0] <= 120_000 and x[-1] >= 130_000 and x[-1] - x[0] < 11_000
    assert y.max() == 50.0 and y.min() == values[119_998:130_002].min()
    pw.setXRange(123_000, 123_100, padding=0)      # fewer bins than pixels: every bin as it is
    qtbot.wait(10)
    x, y = curve.getData()
    i0 = int(x[0])
    assert np.array_equal(y, values[i0:i0 + y.size]) and np.array_equal(x, edges[i0:i0 + y.size + 1])


def test_the_rate_panel_draws_each_cpus_rates_on_many_cpus_as_on_few(qtbot):
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["machine.cpus=24", 'workload.kind="mixed"',
                                                                   'kernel.nohz="idle"', "run.until=300ms"])
    res = simulation.simulate(sc)
    rate = analysis.interrupt_rate(res, 10_000_000)
    few = scenario.apply_sets(sc, ["machine.cpus=4"])
    for r in (res, simulation.simulate(few)):
        panel = RatePanel()
        qtbot.addWidget(panel)
        panel.resize(1000, 300)
        panel.show()
        panel.set_results(r)
        panel.set_bin_ns(10_000_000)
        qtbot.wait(10)
        want = analysis.interrupt_rate(r, 10_000_000)
        ncpus = r.meta["ncpus"]
        assert len(panel._curves) == ncpus
        assert panel._legend.isVisible() == (ncpus <= RatePanel.MAX_LEGEND_CPUS)
        edges = np.append(want["bin_start_ns"], want["bin_start_ns"][-1] + 10_000_000) / 1e9
        for cpu, curve in enumerate(panel._curves):
            x, y = curve.getData()   # what is drawn: every bin (30 bins fit the view)
            assert np.array_equal(y, want["rate_hz"][cpu]) and np.array_equal(x, edges)
    assert rate["rate_hz"].shape[0] == 24

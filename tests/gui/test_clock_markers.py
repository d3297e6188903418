"""The clocksource watchdog's verdict and the switch it causes are marked on the tick raster, where they happen."""
import numpy as np
import pyqtgraph as pg
import pytest

from tickscope.gui.tick_raster import TickRasterView
from tickscope.sim import scenario, simulation
from tickscope.sim.events import Kind


@pytest.fixture(scope="module")
def unstable_tsc():
    # the watchdog marks the TSC unstable at 1.024 s and timekeeping switches to the HPET
    return simulation.simulate(scenario.preset("unstable-tsc"), engine="reference", until_ns=1_100_000_000)


def _markers(plot_item):
    return [item for item in plot_item.items if isinstance(item, pg.InfiniteLine)]


def test_raster_marks_the_watchdog_verdict_and_the_switch(shown, unstable_tsc):
    view = shown(TickRasterView(), results=unstable_tsc)
    switch_ns = int(unstable_tsc.time_ns[np.flatnonzero(unstable_tsc.kind == Kind.CS_SWITCH)[0]])
    lines = _markers(view.plot_item)
    assert len(lines) == 1   # the verdict and the switch are one moment: one marker, one label
    assert lines[0].value() == pytest.approx(switch_ns / 1e9, abs=0.02)
    label = lines[0].label.toPlainText()
    assert "tsc unstable" in label and "→ hpet" in label
    assert "Marking clocksource 'tsc' as unstable" in lines[0].toolTip()
    assert "Switched to clocksource hpet" in lines[0].toolTip()
    assert len(_markers(view.overview_widget.getPlotItem())) == 1   # and in the whole-run strip

    view.set_results(unstable_tsc)   # the next snapshot of the same run: the same markers, not a second set
    assert len(_markers(view.plot_item)) == 1
    view.set_results(None)
    assert _markers(view.plot_item) == []


def test_no_marker_without_a_switch(qtbot, short_results):
    view = TickRasterView()
    qtbot.addWidget(view)
    view.set_results(short_results)
    assert _markers(view.plot_item) == []


def test_a_migration_is_marked_and_labels_do_not_cover_each_other(qtbot, shown):
    """kvm-migration: the VM pauses at 1.0 s and resumes on a 2 GHz host, the watchdog drops tsc at 1.504 s.  The
    migration was marked nowhere, and two labels 0.5 s apart (145 px) were drawn on one row."""
    view = shown(TickRasterView(), (1300, 500), simulation.simulate(scenario.preset("kvm-migration")))
    qtbot.wait(20)
    lines = sorted(_markers(view.plot_item), key=lambda line: line.value())
    assert [line.label.toPlainText() for line in lines] == ["migration (paused 50 ms, TSC 2000 MHz)",
                                                           "watchdog: tsc unstable → kvm-clock"]
    assert "resumed on a host whose TSC runs at 2,000,000,000 Hz" in lines[0].toolTip()
    a, b = (line.label.sceneBoundingRect() for line in lines)
    assert not a.intersects(b), (a, b)

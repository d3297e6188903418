import numpy as np
import pytest

from tickscope.gui.compare import CompareView
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

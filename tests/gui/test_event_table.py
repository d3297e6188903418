import time

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tickscope.gui.event_table import COL_CPU, COL_KIND, COL_SOURCE, COL_TIME, COL_VALUE, EventTableView
from tickscope.sim import analysis, raster, scenario, simulation
from tickscope.sim.events import Kind
from tickscope.sim.results import Results


@pytest.fixture(scope="module")
def run():
    res = simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["run.until=200ms"]),
                              engine="reference")
    return res, analysis.summarize(res)


def _cell(view, row, col, role=Qt.DisplayRole):
    return view.model.data(view.model.index(row, col), role)


def test_row_count_equals_the_log_and_the_filtered_count(qtbot, run):
    res, summ = run
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    assert view.model.rowCount() == len(res)
    view.set_filter(cpus=[1], kinds=[Kind.TICK])
    assert view.model.rowCount() == np.count_nonzero((res.cpu == 1) & (res.kind == Kind.TICK)) > 0
    view.set_filter(kinds=[Kind.JIFFIES, Kind.MODE])
    assert view.model.rowCount() == np.count_nonzero(np.isin(res.kind, [Kind.JIFFIES, Kind.MODE]))
    assert f"{view.model.rowCount():,} of {len(res):,}" in view.count_label.text()


def test_combo_boxes_filter_the_table(qtbot, run):
    res, summ = run
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    view.cpu_box.setCurrentIndex(view.cpu_box.findData(3))
    assert view.model.rowCount() == np.count_nonzero(res.cpu == 3)
    view.kind_box.setCurrentIndex(view.kind_box.findData(int(Kind.TICK)))
    assert view.model.rowCount() == np.count_nonzero((res.cpu == 3) & (res.kind == Kind.TICK))


def test_cells_are_formatted_per_kind(qtbot, run):
    res, summ = run
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    view.set_filter(cpus=[0], kinds=[Kind.TICK])
    i = view.model.row_of_log(0)
    t, exp = int(res.time_ns[i]), int(res.value[i])
    assert _cell(view, 0, COL_TIME) == f"{t // 10**9}.{t % 10**9 // 1000:06d}"
    assert str(t) in _cell(view, 0, COL_TIME, Qt.ToolTipRole).replace(",", "")
    assert _cell(view, 0, COL_CPU) == "0"
    assert _cell(view, 0, COL_KIND) == "TICK"
    # source 0 of a TICK: the CPU's own tick device (not device 0 of the machine)
    assert int(res.source[i]) == 0
    assert _cell(view, 0, COL_SOURCE) == res.meta["devices"][res.meta["tick_device"][0]]["name"]
    # the slot is an absolute time with its unit, as the latency has its own: "slot 0.004000 s  latency 952 ns"
    assert _cell(view, 0, COL_VALUE) == f"slot {exp // 10**9}.{exp % 10**9 // 1000:06d} s  latency {t - exp:,} ns"


def test_a_tick_delivered_by_the_broadcast_names_the_broadcast_device(qtbot):
    res = simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-hpet-c3"), ["run.until=300ms"]),
                              engine="reference")
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, None)
    rows = np.flatnonzero(res.kind == Kind.TICK)
    own, via = rows[res.source[rows] == 0][0], rows[res.source[rows] == 1][0]
    names = [d["name"] for d in res.meta["devices"]]
    assert names[res.meta["tick_device"][int(res.cpu[own])]] == "lapic" and names[0] != "lapic"
    view.set_filter(kinds=[Kind.TICK])
    cells = {view.model.row_of_log(r): _cell(view, r, COL_SOURCE) for r in range(view.model.rowCount())}
    assert cells[own] == "lapic"
    assert cells[via] == "broadcast (hpet)"


def test_unknown_kinds_show_their_number_and_do_not_crash(qtbot, run):
    res, _ = run
    n = 5
    odd = Results(np.arange(n, dtype=np.int64), np.zeros(n, np.int16), np.full(n, 42, np.uint8),
                  np.full(n, 7, np.uint8), np.arange(n, dtype=np.int64) * 3, meta=dict(res.meta, kinds={}))
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(odd, None)
    assert (_cell(view, 4, COL_KIND), _cell(view, 4, COL_SOURCE), _cell(view, 4, COL_VALUE)) == ("42", "7", "12")


def test_click_and_enter_request_a_jump_to_the_row(qtbot, run):
    res, summ = run
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    view.set_filter(cpus=[2], kinds=[Kind.TICK])
    view.show()
    qtbot.waitExposed(view)
    idx = view.model.index(5, 0)
    rect = view.table.visualRect(idx)
    with qtbot.waitSignal(view.jump_requested) as blocker:
        qtbot.mouseClick(view.table.viewport(), Qt.LeftButton, pos=rect.center())
    i = view.model.row_of_log(5)
    assert blocker.args == [int(res.time_ns[i]), 2]
    view.table.setCurrentIndex(view.model.index(7, 1))
    with qtbot.waitSignal(view.jump_requested) as blocker:
        qtbot.keyClick(view.table, Qt.Key_Return)
    assert blocker.args == [int(res.time_ns[view.model.row_of_log(7)]), 2]


def test_scroll_to_time_selects_first_row_at_or_after(qtbot, run):
    res, summ = run
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    view.set_filter(cpus=[1])
    row = view.scroll_to_time(100_000_000)
    t = res.time_ns[(res.cpu == 1)]
    assert row == np.searchsorted(t, 100_000_000)
    assert view.table.currentIndex().row() == row


def test_ten_million_rows_are_virtual(qtbot, run):
    res, _ = run
    n = 10_000_000
    big = Results(np.arange(n, dtype=np.int64) * 100, (np.arange(n) % 8).astype(np.int16),
                  (np.arange(n) % 3).astype(np.uint8), np.zeros(n, np.uint8), np.arange(n, dtype=np.int64),
                  meta=dict(res.meta, ncpus=8))
    view = EventTableView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    t0 = time.perf_counter()
    view.set_results(big, None)
    assert view.model.rowCount() == n
    view.set_filter(cpus=[3], kinds=[int(Kind.TICK)])
    assert view.model.rowCount() == np.count_nonzero((big.cpu == 3) & (big.kind == Kind.TICK))
    view.scroll_to_time(999_000_000)
    qtbot.wait(10)
    # one mask pass and a screenful of cells, not 1e7 Python objects
    assert time.perf_counter() - t0 < 5.0
    assert _cell(view, view.model.rowCount() - 1, COL_CPU) == "3"


def test_idle_kinds_name_their_cstate(qtbot):
    sc = scenario.apply_sets(scenario.preset("bare-metal-lapic"), [
        'machine.cstates=["C1", "C6"]', 'kernel.nohz="idle"', 'workload.kind="mixed"', "run.until=200ms"])
    res = simulation.simulate(sc, engine="reference")
    if "WAKE" not in res.meta.get("kinds", {}):
        pytest.skip("this engine build logs no idle records")
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, None)
    wake = res.meta["kinds"]["WAKE"]
    view.set_filter(kinds=[wake])
    assert view.model.rowCount() == np.count_nonzero(res.kind == wake) > 0
    i = view.model.row_of_log(0)
    assert _cell(view, 0, COL_KIND) == "WAKE"
    assert _cell(view, 0, COL_SOURCE) == res.meta["cstates"][int(res.source[i])]["name"]
    assert _cell(view, 0, COL_VALUE) == f"residency {int(res.value[i]):,} ns"


def test_a_machine_without_c_states_idles_in_hlt_in_the_table_as_in_the_raster_and_run_json(qtbot):
    # pit-only lists no C-states: its idle records used to read "state 0" here, "HLT" everywhere else
    res = simulation.simulate(scenario.apply_sets(scenario.preset("pit-only"), ["run.until=200ms"]), engine="reference")
    assert not res.meta.get("cstates")
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, analysis.summarize(res))
    idle_kinds = [int(Kind.IDLE), int(Kind.WAKE)]
    view.set_filter(kinds=idle_kinds)
    assert view.model.rowCount() == np.count_nonzero(np.isin(res.kind, idle_kinds)) > 0
    names = {_cell(view, row, COL_SOURCE) for row in range(view.model.rowCount())}
    assert names == {"HLT"} == set(raster.build(res).cstate_names) == set(analysis.per_cpu(res)[0]["cstate_residency_ns"])


def test_a_state_past_the_scenarios_list_is_named_as_the_raster_names_it(qtbot, run):
    res, summ = run
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res, summ)
    assert view.model.format_source(int(Kind.IDLE), 3) == "state 3"
    assert view.model.format_value(0, int(Kind.BC_ENTER), 0, 0) == "deep state HLT"


def test_the_filter_and_the_selected_record_survive_new_results_of_the_run(qtbot):
    """A run that goes on (or is shown again) keeps the user's CPU/kind filter and selected record; the kind
    box is wide enough for its longest entry."""
    sc = scenario.preset("unstable-tsc")
    sim = simulation.Simulation(sc, engine="reference", until_ns=1_100_000_000)
    sim.step(600_000_000)
    first = sim.results()
    view = EventTableView()
    qtbot.addWidget(view)
    view.resize(1200, 300)
    view.show()              # as in the window: shown and laid out before the first results arrive
    qtbot.waitExposed(view)
    qtbot.wait(20)
    view.set_results(first)
    view.cpu_box.setCurrentIndex(view.cpu_box.findData(1))
    view.kind_box.setCurrentIndex(view.kind_box.findData(int(Kind.TICK_STOP)))
    n_first = view.model.rowCount()
    assert n_first > 0
    view.table.setCurrentIndex(view.model.index(n_first - 1, 0))
    picked = view.model.record(n_first - 1)
    while not sim.done:
        sim.step(100_000_000)
    view.set_results(sim.results())          # the run went on: the panel is fed its next snapshot
    assert view.kind_box.currentData() == int(Kind.TICK_STOP) and view.cpu_box.currentData() == 1
    res = sim.results()
    assert view.model.rowCount() == np.count_nonzero((res.cpu == 1) & (res.kind == Kind.TICK_STOP)) > n_first
    assert view.model.record(view.table.currentIndex().row()) == picked
    # a kind the new results do not hold yet (a reset run) stays selected, with its count
    view.kind_box.setCurrentIndex(view.kind_box.findData(int(Kind.WATCHDOG)))
    view.set_results(first)
    assert view.kind_box.currentData() == int(Kind.WATCHDOG) and view.model.rowCount() == 0
    assert view.kind_box.currentText() == "WATCHDOG (0)"
    # every entry of the kind box shows whole
    longest = max(view.kind_box.fontMetrics().horizontalAdvance(view.kind_box.itemText(i))
                  for i in range(view.kind_box.count()))
    qtbot.waitUntil(lambda: view.kind_box.width() >= longest + 16)


def test_kinds_read_together_are_one_entry_of_the_kind_box(qtbot):
    # one kind at a time split every pair: a CPU's tick stops without the restarts, a broadcast enter without the
    # IRQ and the wake-up it brought, the watchdog's verdict without the clocksource switch
    res = simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-hpet-c3"), ["run.until=100ms"]),
                              engine="reference")
    view = EventTableView()
    qtbot.addWidget(view)
    view.set_results(res)
    entries = [view.kind_box.itemText(i) for i in range(view.kind_box.count())]
    pair = np.isin(res.kind, [Kind.TICK_STOP, Kind.TICK_RESTART])
    assert f"tick stop + restart ({np.count_nonzero(pair):,})" in entries
    assert any(e.startswith("broadcast: enter, IRQ, wake-up (") for e in entries)
    assert not any(e.startswith("watchdog") for e in entries)   # no watchdog round in 100 ms
    view.cpu_box.setCurrentIndex(view.cpu_box.findData(2))
    view.kind_box.setCurrentIndex(view.kind_box.findData("tick stop + restart"))
    assert view.model.rowCount() == np.count_nonzero(pair & (res.cpu == 2)) > 0
    kinds = {_cell(view, row, COL_KIND) for row in range(view.model.rowCount())}
    assert kinds == {"TICK_STOP", "TICK_RESTART"}
    # the filter follows the box, and the box the filter, across the run's next results
    view.set_results(res)
    assert view.kind_box.currentData() == "tick stop + restart" and view.model.rowCount() == np.count_nonzero(pair & (res.cpu == 2))
    view.set_filter(kinds=[Kind.IDLE, Kind.WAKE])
    assert view.kind_box.currentData() == "idle + wake"

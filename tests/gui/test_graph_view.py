"""The graph panel: model per backend era, edge styles, evidence, filters, DSM, export, and raster linking."""
from pathlib import Path

import numpy as np
import pytest
from PySide6 import QtCore

from tickscope.gui.graph_view import GraphView
from tickscope.sim import scenario as scen
from tickscope.sim.errors import InputError
from tickscope.sim.graph import link, metrics
from tickscope.sim.graph.export import CLASS_STYLE

FIXTURES = Path(__file__).resolve().parents[1] / "sim" / "graph" / "fixtures"


@pytest.fixture
def view(qtbot):
    v = GraphView()
    qtbot.addWidget(v)
    v.resize(1400, 800)
    v.show()
    qtbot.waitExposed(v)
    v.set_backend("vmi-2007")
    return v


def _click_scene_point(qtbot, view, x, y):
    scene_pt = view.item.mapToScene(QtCore.QPointF(x, y))
    pos = view.canvas.mapFromScene(scene_pt)
    qtbot.mouseClick(view.canvas.viewport(), QtCore.Qt.LeftButton, pos=pos)


def test_the_model_follows_the_backend_era(view):
    assert view.model_name() == "linux-2.6.21"
    view.set_backend("vmi-clockevents")
    assert view.model_name() == "linux-2.6.22"
    view.set_model("linux-2.6.25")  # the user's pick stays while the backend does not change
    view.set_backend("vmi-clockevents")
    assert view.model_name() == "linux-2.6.25"
    view.set_backend("kvm")
    assert view.model_name() == "linux-6.x"
    assert view.model_box.currentData() == "linux-6.x"


def test_edges_are_drawn_in_their_class_style(view):
    seen = set()
    for key in view._keys:
        pen = view.edge_pen(key)
        color, dashed = CLASS_STYLE[key[2]]
        assert pen.color().name() == color
        assert (pen.style() == QtCore.Qt.DashLine) == dashed
        seen.add(key[2])
    assert {"reachout", "interface", "callback"} <= seen
    assert CLASS_STYLE["reachout"][0] == "#d62728" and CLASS_STYLE["shared-lib"][0] == "#1f77b4"


def test_the_dark_theme_recolours_canvas_edges_buttons_and_evidence(view):
    from tickscope.gui.graph_items import EDGE_COLOR_DARK, NODE_COLOR, NODE_COLOR_DARK

    view.set_theme(True)
    assert view.canvas.backgroundBrush().color().lightness() < 60
    key = next(k for k in view._keys if k[2] == "interface")
    assert view.edge_pen(key).color().name() == EDGE_COLOR_DARK["interface"]
    assert view.edge_pen(key).color().lightness() > 128      # the light theme's #555555 vanished on the canvas
    assert EDGE_COLOR_DARK["interface"] in view.class_buttons["interface"].styleSheet()
    view.select_component("vmi-timer")
    html = view.evidence.toHtml().lower()
    assert NODE_COLOR_DARK["backend"] in html and NODE_COLOR["backend"] not in html
    view.set_theme(False)   # the pane shown is redrawn in the light colours
    assert view.canvas.backgroundBrush().color().name() == "#ffffff"
    assert view.edge_pen(key).color().name() == CLASS_STYLE["interface"][0]
    assert CLASS_STYLE["interface"][0] in view.class_buttons["interface"].styleSheet()
    html = view.evidence.toHtml().lower()
    assert NODE_COLOR["backend"] in html and NODE_COLOR_DARK["backend"] not in html


def test_clicking_an_edge_shows_its_file_line_and_text(qtbot, view):
    key = ("vmi_time_init", "set_intr_gate", "reachout")
    d = view.item.graph_data()
    i = view._edge_index[key]
    a, b = d.xy[d.src[i]], d.xy[d.dst[i]]
    x, y = a + 0.37 * (b - a)
    _click_scene_point(qtbot, view, x, y)
    assert view.selected_edges() == [key]
    text = view.evidence_text()
    assert "arch/i386/kernel/vmitime.c:188" in text
    assert "overwrites the IDT gate" in text
    assert "reachout" in text and "fix:" in text


def test_hover_tip_names_the_edge_and_its_evidence(view):
    i = view._edge_index[("vmi_time_init", "set_intr_gate", "reachout")]
    tip = view._tooltip("edge", i)
    assert "reachout: vmi_time_init → set_intr_gate" in tip and "vmitime.c:188" in tip


def test_class_filters_count_and_hide_edges(view):
    counts = view.class_counts()
    expected = {c: 0 for c in counts}
    for _s, _t, d in view.graph.edges():
        expected[d["cls"]] += 1
    assert counts == expected
    total = view.item.visible_edge_count()
    view.class_buttons["reachout"].click()
    assert view.item.visible_edge_count() == total - counts["reachout"]
    assert f"reachout {counts['reachout']}" in view.class_buttons["reachout"].text()
    view.set_class_visible("reachout", True)
    assert view.item.visible_edge_count() == total


def test_focus_shows_a_component_and_its_neighbours_to_a_depth(view):
    view.set_focus_component("vmi-timer", 0)
    assert view.item.visible_node_count() == 12
    assert view.item.visible_edge_count() == 0  # its edges all leave the component
    view.set_focus_component("vmi-timer", 1)
    assert view.focused_components() >= {"vmi-timer", "tick-core", "i386-apic-vector", "clock-api"}
    assert view.class_counts()["reachout"] == view.item.visible_edge_count() - view.class_counts()["interface"] - view.class_counts()["callback"]
    view.set_focus_component(None)
    assert view.item.visible_node_count() == len(view._ids)


def test_search_rings_matches_and_enter_selects_the_next(view):
    assert view.set_search("DO_TIMER") == ["do_timer"]
    view.next_match()
    assert "do_timer" in view.evidence_text() and "tick-core" in view.evidence_text()
    assert view.search_label.text() == "1 found"


def test_dsm_cells_equal_the_metrics(qtbot, view):
    view.dsm_button.click()
    assert view.dsm_visible()
    want = metrics.dsm(view.graph)
    table = view.dsm_table
    assert table.rowCount() == len(want["components"])
    for i, row in enumerate(want["matrix"]):
        for j, v in enumerate(row):
            assert table.item(i, j).text() == (str(v) if v else "")
    r, c = want["components"].index("vmi-timer"), want["components"].index("tick-core")
    table.cellClicked.emit(r, c)
    assert view.selected_edges() and all(view.graph.component_of(s) == "vmi-timer" for s, _t, _c in view.selected_edges())
    view.dsm_button.click()
    assert not view.dsm_visible()


def test_export_writes_svg_and_png_atomically(tmp_path, view):
    view.export_image(tmp_path / "g.svg")
    view.export_image(tmp_path / "g.png")
    assert "<svg" in (tmp_path / "g.svg").read_text(encoding="utf-8")
    assert (tmp_path / "g.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    view.set_dsm_visible(True)
    view.export_image(tmp_path / "dsm.png")
    with pytest.raises(InputError, match="svg or .png"):
        view.export_image(tmp_path / "g.pdf")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dsm.png", "g.png", "g.svg"]


def test_open_c_tree_imports_in_the_background(qtbot, view):
    with qtbot.waitSignal(view.import_finished, timeout=20_000) as sig:
        view.open_c_tree(FIXTURES / "linuxlike", FIXTURES / "linuxlike-layers.toml")
    assert sig.args == ["tree: linuxlike"]
    assert view.model_name() == "tree: linuxlike"
    assert view.class_counts()["reachout"] > 0
    assert view.model_box.findData("tree: linuxlike") >= 0


def test_open_c_tree_on_a_missing_directory_shows_an_error(qtbot, tmp_path, view):
    with qtbot.waitSignal(view.import_finished, timeout=10_000) as sig:
        view.open_c_tree(tmp_path / "nowhere")
    assert sig.args == [""]
    assert "no such directory" in view.error_box.text()
    assert view.model_name() == "linux-2.6.21"


# -- linking with a real run -----------------------------------------------------

def _window(qtbot, changes):
    from tickscope.gui.main_window import MainWindow

    sets = ['hypervisor.backend="vmi-2007"', "core.changes=[" + ", ".join(f'"{c}"' for c in changes) + "]",
            'run.until="400ms"']
    win = MainWindow(scen.apply_sets(scen.preset("bare-metal-lapic"), sets), engine="reference", persistent=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    win.run_to_end()
    view = win.docks["Graph"].widget()
    return win, view


def _click_raster(qtbot, win, time_ns, cpu):
    raster = win.raster
    raster.set_view_range(time_ns - 40_000_000, time_ns + 40_000_000)
    QtCore.QCoreApplication.processEvents()
    vb = raster.plot_item.getViewBox()
    scene_pt = vb.mapViewToScene(QtCore.QPointF(time_ns / 1e9, raster.lane_of_cpu(cpu)))
    pos = raster.plot_widget.mapFromScene(scene_pt)
    qtbot.mouseClick(raster.plot_widget.viewport(), QtCore.Qt.LeftButton, pos=pos)


def test_lost_tick_selects_its_reachout_edges_and_back(qtbot):
    win, view = _window(qtbot, ["lapic-irq-path"])
    assert view.model_name() == "linux-2.6.21"
    res = win.results
    masks = []
    view.highlight_requested.connect(masks.append)
    faults = link.tick_faults(res)
    t, cpu = int(faults.lost_time_ns[20]), int(faults.lost_cpu[20])
    _click_raster(qtbot, win, t, cpu)
    want = link.cause_edges(res, view.graph, "lost")
    assert len(want) == 4 and view.selected_edges() == want
    assert "lost tick" in view.evidence_text() and "vmitime.c:188" in view.evidence_text()
    # the reverse: one such edge highlights the run's lost-tick rows in the raster
    view.select_edges([want[0]])
    assert masks[-1] is not None and np.array_equal(masks[-1], link.edge_rows(res, view.graph, want[0]))
    assert win.raster._highlight is not None
    # a backend component highlights its CPUs' tick-path records; a component the run does not use clears it
    view.select_component("vmi-timer")
    assert np.array_equal(masks[-1], link.component_rows(res, view.graph, "vmi-timer"))
    view.select_component("lapic-clockevent")
    assert masks[-1] is None


def test_duplicated_jiffies_select_do_timer_and_clean_edges_stay_dark(qtbot):
    win, view = _window(qtbot, ["do-timer-owner"])
    res = win.results
    dup = np.flatnonzero(link.duplicated_rows(res))
    row = int(dup[len(dup) // 2])
    assert view.select_tick(int(res.time_ns[row]), int(res.cpu[row]), 1000) == "duplicated"
    assert {t for _s, t, _c in view.selected_edges()} == {"do_timer", "xtime_lock"}
    masks = []
    view.highlight_requested.connect(masks.append)
    clean = ("vmi_time_init", "clocksource_register", "interface")
    view.select_edges([clean])
    assert not masks or masks[-1] is None
    assert "no core change" not in view.evidence_text()  # an interface edge is not blamed at all


def test_band_titles_never_overlap_in_a_short_dock(qtbot, view):
    from PySide6 import QtGui

    from tickscope.gui.graph_items import BAND_TITLES

    def titles():
        qtbot.wait(20)
        tr = view.item.sceneTransform() * view.canvas.viewportTransform()
        return view.item.band_titles(tr, view.item._view_rect())

    tall = titles()
    assert [t for _, t in tall] == [BAND_TITLES[b] for b, _, _ in view.item._data.bands]   # room for every band
    view.resize(1400, 110)    # the bottom dock: bands a few px high, titles were drawn over each other
    view.fit()
    short = titles()
    line = QtGui.QFontMetricsF(view.item._band_font).height()
    assert 0 < len(short) < len(tall) and short[0][1] == tall[0][1]
    ys = [at.y() for at, _ in short]
    assert all(b - a >= line for a, b in zip(ys, ys[1:]))


def test_component_titles_clear_their_first_rows_labels_at_the_fit_zoom(qtbot, view):
    # linux-2.6.21 fitted in a 1400x800 view (scale ~0.6): the titles irq-entry, tick-core, clock-api,
    # i386-apic-vector ... were drawn over the label of their box's first node
    from PySide6 import QtGui

    view.fit()
    qtbot.wait(20)
    item = view.item
    tr = item.sceneTransform() * view.canvas.viewportTransform()
    assert 0.3 < tr.m11() < 1.0                           # zoomed out, labels still drawn
    label = QtGui.QFontMetricsF(item._font)
    title = QtGui.QFontMetricsF(item._band_font)
    d = item.graph_data()
    for at, name in item.component_titles(tr):
        x0, y0, x1, _y1 = d.components[name]
        first = [i for i in range(len(d.xy)) if x0 <= d.xy[i, 0] <= x1 and abs(d.xy[i, 1] - (y0 + 16.0)) < 1e-6]
        assert first, name
        label_top = min(tr.map(QtCore.QPointF(*d.xy[i])).y() for i in first) - 6.0 - label.ascent()
        assert at.y() + title.descent() <= label_top, name   # the title's text ends above the labels' tops


def test_a_component_below_another_in_its_band_leaves_a_row_for_its_title():
    from tickscope.sim.graph import archmodel
    from tickscope.sim.graph.layout import ROW_DY, TITLE_GAP, layered_layout

    lay = layered_layout(archmodel.load_model("linux-2.6.21"))
    boxes = lay.components
    above, below = boxes["irq-entry"], boxes["tick-core"]   # both core, tick-core on the next sub-row
    assert below[1] - above[3] >= TITLE_GAP == ROW_DY


def test_hover_tip_says_an_unverified_line_instead_of_line_0(view):
    # linux-2.6.22's xen/time.c evidence has no verified line: the tip read "arch/i386/xen/time.c:0"
    view.set_model("linux-2.6.22")
    key = next(k for k in view._edge_index if k[1] == "wall_to_monotonic")
    tip = view._tooltip("edge", view._edge_index[key])
    assert "time.c:0" not in tip and "arch/i386/xen/time.c (line not verified)" in tip


def test_the_overview_and_the_class_buttons_say_what_they_count(qtbot):
    win, view = _window(qtbot, ["lapic-irq-path"])
    from tickscope.gui import graph_evidence as evid

    html = evid.overview_html(view._graph)
    assert "Violations by rule" in html and "the edge-class buttons count edges" in html
    tip = view.controls.class_buttons["reachout"].toolTip()
    n = view.controls.class_counts()["reachout"]
    assert tip.startswith(f"{n} reachout edges in the focus")


def test_the_evidence_pane_names_a_clicked_tick_s_cpu_as_the_raster_does():
    # "lost tick — CPU2 @ …" beside the raster lane it came from, labelled "CPU 2"
    from tickscope.gui import graph_evidence as evid
    from tickscope.sim import raster

    html = evid.tick_html("lost", 4_000_000, 2, [], {}, None)
    assert f"{raster.cpu_lane_name(2)} @ " in html and "CPU2" not in html
    links = evid._tick_links(np.array([4_000_000, 8_000_000]), np.array([2, 3]))
    assert ">CPU 2 @ " in links and ">CPU 3 @ " in links and "CPU2" not in links


def test_bringing_the_graph_up_gives_it_room_once_and_the_shortcut_gives_it_back(qtbot):
    win, view = _window(qtbot, [])
    qtbot.waitUntil(lambda: win.layout_settled, timeout=3000)
    dock = win.docks["Graph"]
    assert dock.height() < 0.4 * win.height()   # the 260 px analysis tabs: no room for the labels
    win.actions_by_name["graph_show"].trigger()
    qtbot.waitUntil(lambda: dock.height() > 0.6 * win.height(), timeout=3000)
    assert win.panels_enlarged() and "Ctrl+Shift+M" in win.statusBar().currentMessage()
    win.actions_by_name["enlarge_panels"].trigger()            # the user takes the room back ...
    qtbot.waitUntil(lambda: dock.height() < 0.4 * win.height(), timeout=3000)
    win.docks["Histograms"].raise_()
    win.docks["Graph"].raise_()                                # ... and it stays theirs
    QtCore.QCoreApplication.processEvents()
    assert not win.panels_enlarged() and dock.height() < 0.4 * win.height()


def test_a_raster_click_brings_the_graph_up_without_shrinking_the_raster(qtbot):
    win, view = _window(qtbot, ["lapic-irq-path"])
    qtbot.waitUntil(lambda: win.layout_settled, timeout=3000)
    faults = link.tick_faults(win.results)
    central = win.centralWidget().height()
    _click_raster(qtbot, win, int(faults.lost_time_ns[20]), int(faults.lost_cpu[20]))
    assert win.docks["Graph"].isVisible() and view.selected_edges()
    QtCore.QCoreApplication.processEvents()
    assert not win.panels_enlarged() and win.centralWidget().height() == central

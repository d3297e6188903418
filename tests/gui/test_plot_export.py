"""Plot exports: PNG size and DPI, SVG as real vector with text, PDF pages, CSV equal to the data."""
import csv
import re
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tickscope.gui import plot_export as pe
from tickscope.sim import analysis, clock_drift, raster, scenario, simulation

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def vmi_lost():
    sc = scenario.apply_sets(scenario.preset("vmi-2007"), ['core.changes=["lapic-irq-path"]'])
    return simulation.simulate(sc, until_ns=100_000_000)


@pytest.fixture
def src(short_results, qapp):
    return pe.PlotSource(short_results)


def _png_info(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    w, h = struct.unpack(">II", data[16:24])
    m = re.search(rb"pHYs(.{4})(.{4})\x01", data, re.S)
    dpm = struct.unpack(">I", m.group(1))[0] if m else None
    return w, h, dpm


def _svg(path):
    root = ET.parse(path).getroot()
    texts = ["".join(t.itertext()) for t in root.iter(f"{SVG}text")]
    return root, texts


def _pdf_pages(path) -> int:
    data = path.read_bytes()
    assert data.startswith(b"%PDF-")
    return len(re.findall(rb"/Type\s*/Page(?!s)", data))


def test_png_has_the_requested_pixels_at_each_dpi(src, tmp_path):
    w_pt, h_pt = pe.parse_size("800x500")
    for dpi, (w, h) in ((96, (800, 500)), (192, (1600, 1000))):
        out = pe.write_png(src, "raster", tmp_path / f"r{dpi}.png", pe.PlotOptions(w_pt, h_pt, dpi=dpi))
        pw, ph, dpm = _png_info(out)
        assert (pw, ph) == (w, h)
        assert abs(dpm * 0.0254 - dpi) < 1


def test_svg_is_vector_with_text_captions_and_markers(src, tmp_path):
    opts = pe.PlotOptions(markers=[{"time_ns": 40_000_000, "name": "change here"}],
                          caption=pe.Caption("A caption title", "and its body"))
    for view in pe.VIEW_CHOICES:
        out = pe.write_svg(src, view, tmp_path / f"{view}.svg", opts)
        root, texts = _svg(out)
        assert "A caption title" in texts and "and its body" in texts
        assert root.find(f".//{SVG}image") is None, "no raster image stands in for the plot"
        if view in ("raster", "drift", "all"):
            assert "change here" in texts
    _, texts = _svg(tmp_path / "graph.svg")
    assert any("linux-6.x" in t for t in texts)


def test_exported_raster_lanes_are_labelled_as_the_app_labels_them(src, tmp_path):
    # the export read the lane names the raster had, "CPU0", while the app's other views say "CPU 0"
    _, texts = _svg(pe.write_svg(src, "raster", tmp_path / "raster.svg", pe.PlotOptions()))
    ncpus = src.raster_data.ncpu_lanes
    assert ncpus > 1 and all(f"CPU {c}" in texts for c in range(ncpus))
    assert not [t for t in texts if re.fullmatch(r"CPU\d+", t.strip())]


def test_title_font_size_is_the_same_in_every_view(src, tmp_path):
    sizes = set()
    for view in pe.VIEWS:
        root, _ = _svg(pe.write_svg(src, view, tmp_path / f"{view}.svg", pe.PlotOptions(caption=pe.Caption("T"))))
        sizes |= {t.get("font-size") for t in root.iter(f"{SVG}text") if "".join(t.itertext()) == "T"}
    assert sizes == {str(pe.TITLE_PT)}


def _stroke_hex(code):
    r, g, b, _ = raster.LIGHT_COLORS[code]
    return f"#{r:02x}{g:02x}{b:02x}"


def _subpaths(root, color):
    n = 0
    for g in root.iter(f"{SVG}g"):
        if g.get("stroke") == color:
            for p in g.iter(f"{SVG}path"):
                n += len(re.findall(r"M", p.get("d", "")))
    return n


def test_exact_raster_draws_one_mark_per_tick(src, short_results, tmp_path):
    root, texts = _svg(pe.write_svg(src, "raster", tmp_path / "r.svg", pe.PlotOptions()))
    marks = raster.build(short_results).marks
    on_time = marks[raster.MARK_ON_TIME][0].size
    assert on_time > 0
    assert _subpaths(root, _stroke_hex(raster.MARK_ON_TIME)) == on_time
    assert any("exact: one mark per tick" in t for t in texts)


def test_lost_ticks_are_marked_exact_and_binned(vmi_lost, qapp, tmp_path, monkeypatch):
    src = pe.PlotSource(vmi_lost)
    lost = src.raster_data.marks[raster.MARK_LOST][0].size
    assert lost > 0
    root, _ = _svg(pe.write_svg(src, "raster", tmp_path / "exact.svg", pe.PlotOptions()))
    assert _subpaths(root, _stroke_hex(raster.MARK_LOST)) == lost
    monkeypatch.setattr(pe, "EXACT_MARK_LIMIT", 10)
    root, texts = _svg(pe.write_svg(src, "raster", tmp_path / "binned.svg", pe.PlotOptions()))
    assert any("binned" in t for t in texts)
    red = [r for g in root.iter(f"{SVG}g") if g.get("fill") == _stroke_hex(raster.MARK_LOST) for r in g.iter(f"{SVG}rect")]
    # every lane has a lost slot in every bin column group: at least one red run per lane
    assert len(red) >= src.raster_data.ncpu_lanes


def test_pdf_has_one_page_per_view(src, tmp_path):
    assert _pdf_pages(pe.write_pdf(src, "all", tmp_path / "all.pdf", pe.PlotOptions())) == 4
    w, h = pe.page_size("a4")
    out = pe.write_pdf(src, "drift", tmp_path / "d.pdf", pe.PlotOptions(w, h))
    assert _pdf_pages(out) == 1
    box = re.search(rb"/MediaBox\s*\[0 0 ([\d.]+) ([\d.]+)\]", out.read_bytes())
    assert abs(float(box.group(1)) - w) < 1 and abs(float(box.group(2)) - h) < 1


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def test_csv_rows_equal_the_data_behind_each_plot(src, short_results, tmp_path):
    paths = {p.name: p for p in pe.write_plot_csvs(src, tmp_path, "all")}
    assert set(paths) >= {"events.csv", "cpus.csv", "raster_marks.csv", "tick_interval_hist.csv",
                          "tick_latency_hist.csv", "drift.csv", "graph_edges.csv"}
    drift = clock_drift.drift_series(short_results)
    rows = _rows(paths["drift.csv"])
    assert rows[0] == ["time_ns", "drift_ns"]
    assert [[int(a), int(b)] for a, b in rows[1:]] == np.stack([drift["time_ns"], drift["drift_ns"]], 1).tolist()
    hist = analysis.log_histogram(analysis.tick_intervals(short_results))
    rows = _rows(paths["tick_interval_hist.csv"])
    assert [int(r[2]) for r in rows[2:-1]] == hist["counts"].tolist()
    assert int(rows[1][2]) == hist["underflow"] and int(rows[-1][2]) == hist["overflow"]
    data = raster.build(short_results)
    rows = _rows(paths["raster_marks.csv"])
    assert len(rows) - 1 == sum(t.size for t, _ in data.marks.values()) + data.ghost[0].size
    assert len(_rows(paths["events.csv"])) - 1 == len(short_results)


def test_graph_view_is_bound_to_the_backend():
    assert pe.model_for_backend("vmi-2007") == "linux-2.6.21"
    assert pe.model_for_backend("vmi-clockevents") == "linux-2.6.22"
    assert pe.model_for_backend("kvm") == pe.model_for_backend(None) == "linux-6.x"


def test_highlighted_graph_nodes_are_marked(vmi_lost, qapp, tmp_path):
    src = pe.PlotSource(vmi_lost)
    opts = pe.PlotOptions(highlight={"nodes": ["do_timer"], "edges": [["vmi_account_real_cycles", "do_timer"]]})
    svg = src.graph_svg(opts.highlight)
    root = ET.fromstring(svg)
    node = next(g for g in root.iter(f"{SVG}g") if g.get("data-id") == "do_timer")
    assert node.find(f"{SVG}circle").get("fill") == pe.HIGHLIGHT_COLOR
    _, texts = _svg(pe.write_svg(src, "graph", tmp_path / "g.svg", opts))
    assert any("linux-2.6.21" in t for t in texts)


@pytest.mark.parametrize("text", ["12x", "0x0", "99999x100", "axb"])
def test_bad_sizes_are_refused(text):
    with pytest.raises(pe.InputError, match="--size"):
        pe.parse_size(text)


def test_the_exported_raster_shades_idle_depth_and_steal_as_the_app_does(qapp, tmp_path):
    # the app's lanes show each C-state's depth and steal; the export drew bare white lanes and no key for them
    for preset, code, label in (("bare-metal-hpet-c3", raster.BG_IDLE + 2, "idle C3"), ("kvm-overcommit", raster.BG_STEAL, "steal")):
        res = simulation.simulate(scenario.apply_sets(scenario.preset(preset), ['run.until="300ms"']), engine="reference")
        src = pe.PlotSource(res)
        assert code in src.raster_data.spans
        root, texts = _svg(pe.write_svg(src, "raster", tmp_path / f"{preset}.svg", pe.PlotOptions()))
        r, g, b, _a = raster.background_color(raster.LIGHT_COLORS, code, len(src.raster_data.cstate_names))
        shaded = [rect for grp in root.iter(f"{SVG}g") if grp.get("fill") == f"#{r:02x}{g:02x}{b:02x}"
                  for rect in grp.iter(f"{SVG}rect")]
        assert len(shaded) >= 10, preset                     # one rect per idle (steal) period in the window
        assert any(t.strip() == label for t in texts), texts[-12:]


def test_graph_legend_keys_every_class_drawn(vmi_lost, qapp, tmp_path):
    # linux-2.6.21 has callback edges (drawn green, dashed) that the legend did not key; it keyed shared-lib and
    # duplicate edges the graph does not have
    src = pe.PlotSource(vmi_lost)
    _, texts = _svg(pe.write_svg(src, "graph", tmp_path / "g.svg", pe.PlotOptions()))
    legend = {t for t in texts if t.endswith(" edge")}
    assert legend == {"reachout edge", "interface edge", "callback edge"}


def test_nothing_is_saved_or_exported_before_a_run(qtbot, tmp_path):
    # before a run the results hold the boot's log lines: a 0 ns recording was saved (its replay then "differed")
    # and the export wrote an empty "1ns simulated" figure
    import pytest

    from tickscope.gui.export_dialog import ExportRequest, export_with_progress
    from tickscope.gui.main_window import MainWindow
    from tickscope.gui.recording_actions import save_recording_to
    from tickscope.sim import scenario as scen
    from tickscope.sim.errors import InputError

    win = MainWindow(scen.apply_sets(scen.preset("bare-metal-lapic"), ['run.until="10ms"']), engine="reference",
                     persistent=False)
    qtbot.addWidget(win)
    messages = []
    win.statusBar().messageChanged.connect(messages.append)
    assert save_recording_to(win, tmp_path / "a.tickrec") is False
    assert "run the scenario first" in messages[-1] and not (tmp_path / "a.tickrec").exists()
    with pytest.raises(InputError, match="nothing to export yet"):
        export_with_progress(win, ExportRequest(png=str(tmp_path / "a.png")))
    assert not (tmp_path / "a.png").exists()
    win.run_to_end()
    assert save_recording_to(win, tmp_path / "a.tickrec") is True
    win.close()


def test_the_exported_raster_legend_names_the_slots_not_judged_yet(vmi_lost, qapp, tmp_path):
    # vmi-2007 with the lapic-irq-path change runs no tick: 4 CPUs x HZ=250 x 100 ms = 100 slots (0 excluded, 100 ms
    # included), all lost but the one at 100 ms on each CPU, which is within the late threshold of the end: the app's
    # legend says "not judged yet 4", the export said nothing of those 4 ghost marks
    src = pe.PlotSource(vmi_lost)
    _, texts = _svg(pe.write_svg(src, "raster", tmp_path / "r.svg", pe.PlotOptions()))
    assert "expected slot (ghost) 100" in texts and "lost 96" in texts
    assert "not judged yet (due within the late threshold of the end) 4" in texts
    # a window short of the end has every slot judged: no such entry
    _, texts = _svg(pe.write_svg(src, "raster", tmp_path / "w.svg", pe.PlotOptions(window=(0, 50_000_000))))
    assert not [t for t in texts if "not judged yet" in t]


def test_the_exported_raster_marks_the_watchdogs_switch_as_the_app_does(qapp, tmp_path):
    # unstable-tsc: the watchdog marks the TSC unstable at 1.024 s and timekeeping switches to the HPET; the app's
    # raster has a labelled line there, the exported one (for design reviews) had nothing
    res = simulation.simulate(scenario.preset("unstable-tsc"), engine="reference", until_ns=1_500_000_000)
    root, texts = _svg(pe.write_svg(pe.PlotSource(res), "raster", tmp_path / "r.svg", pe.PlotOptions()))
    assert "watchdog: tsc unstable \u2192 hpet" in texts
    # a window before the switch: no such label
    _, texts = _svg(pe.write_svg(pe.PlotSource(res), "raster", tmp_path / "w.svg",
                                 pe.PlotOptions(window=(0, 900_000_000))))
    assert not [t for t in texts if "watchdog:" in t]


def test_a_compare_figure_shades_each_c_state_alike_in_both_runs(qapp, tmp_path):
    # A: laptop-deep-idle (C1 C1E C3 C6 C8 C10), B: bare-metal-hpet-c3 (C1 C1E C3).  Each run was shaded on its own
    # scale from shallow to deep, so B's C3 (its deepest) took A's C10 colour and looked as deep as it
    a = simulation.simulate(scenario.preset("laptop-deep-idle"), engine="reference", until_ns=300_000_000)
    b = simulation.simulate(scenario.preset("bare-metal-hpet-c3"), engine="reference", until_ns=300_000_000)
    depth_a, depth_b = raster.shared_depths(a.meta, b.meta)
    names_a, names_b = raster.cstate_names(a.meta), raster.cstate_names(b.meta)
    by_name_a = {names_a[c - raster.BG_IDLE]: d for c, d in depth_a.items()}
    by_name_b = {names_b[c - raster.BG_IDLE]: d for c, d in depth_b.items()}
    assert by_name_a == {"C1": 0.0, "C1E": 0.2, "C3": 0.4, "C6": 0.6, "C8": 0.8, "C10": 1.0}   # 6 states by exit latency
    assert by_name_b == {"C1": 0.0, "C1E": 0.2, "C3": 0.4}
    # the figure: the compact panels name their shades on the title line (A slept in C8 and C10 in these 300 ms,
    # B in C3), and B's C3 swatch has the shared scale's colour, not B's own deepest one (A's C10 colour)
    root, texts = _svg(pe.write_svg(pe.PlotSource(a), "raster", tmp_path / "ab.svg",
                                    pe.PlotOptions(compare=pe.PlotSource(b))))
    assert {"idle C8", "idle C10", "idle C3"} <= set(texts)
    c3 = raster.composite(raster.idle_shade(raster.LIGHT_COLORS, 0.4), (255, 255, 255))
    fills = {g.get("fill") for g in root.iter(f"{SVG}g")}
    assert "#%02x%02x%02x" % c3 in fills


def test_the_exported_raster_counts_the_timer_interrupts_its_lanes_do_not_draw(qapp, tmp_path):
    # the app's legend says "timer interrupts without a tick N (not drawn)"; the export said nothing, and
    # laptop-deep-idle's figure read as CPUs that hardly woke (45 marks in 5 s; they woke ~600 times for user timers)
    from tickscope.sim.events import Kind

    res = simulation.simulate(scenario.apply_sets(scenario.preset("laptop-deep-idle"), ['run.until="500ms"']),
                              engine="reference")
    irqs = int(np.count_nonzero(res.kind == Kind.IRQ))
    assert irqs > 0
    src = pe.PlotSource(res)
    _, texts = _svg(pe.write_svg(src, "raster", tmp_path / "r.svg", pe.PlotOptions()))
    assert any(f"not drawn: {irqs:,} timer interrupts that ran no tick" in t for t in texts), texts[-6:]
    busy = pe.PlotSource(simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-lapic"),
                                                                 ['run.until="100ms"']), engine="reference"))
    _, texts = _svg(pe.write_svg(busy, "raster", tmp_path / "b.svg", pe.PlotOptions()))
    assert not any("not drawn" in t for t in texts)   # none to count: nothing said


def test_an_exported_raster_of_many_cpus_labels_every_nth_lane_legibly(qapp, tmp_path):
    # 256 CPUs: every lane's name drawn 1.6 pt below the last made a black smear beside the raster
    res = simulation.simulate(scenario.apply_sets(scenario.preset("many-cores"), ['run.until="20ms"']))
    root, texts = _svg(pe.write_svg(pe.PlotSource(res), "raster", tmp_path / "r.svg", pe.PlotOptions()))
    lanes = [t.strip() for t in texts if re.fullmatch(r"CPU \d+", t.strip())]
    assert lanes[0] == "CPU 0" and 4 <= len(lanes) <= 64
    step = int(lanes[1].split()[1])
    assert step & (step - 1) == 0 and lanes == [f"CPU {c}" for c in range(0, 256, step)]   # every Nth, a power of 2
    ys = sorted(float(t.get("y")) for t in root.iter(f"{SVG}text") if re.fullmatch(r"CPU \d+", "".join(t.itertext()).strip())
                and t.get("y") is not None)
    assert len(ys) == len(lanes) and min(np.diff(ys)) >= pe.TICK_PT   # a text line apart at least

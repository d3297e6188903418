import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QObject, Signal

from tickscope.gui.measure import MeasureController
from tickscope.sim import analysis, scenario, simulation
from tickscope.sim.events import Kind


class StandInRaster(QObject):
    """Exactly the TickRasterView API the measurement tools rely on, on a real PlotWidget."""

    range_changed = Signal(object, object)

    def __init__(self, ncpus=4):
        super().__init__()
        self.widget = pg.PlotWidget()
        self.plot_item = self.widget.getPlotItem()
        self._range = (0, 1_000_000_000)
        self.set_view_range(*self._range)

    def set_view_range(self, t0_ns, t1_ns):
        self._range = (int(t0_ns), int(t1_ns))
        self.plot_item.setXRange(t0_ns / 1e9, t1_ns / 1e9, padding=0)
        self.range_changed.emit(*self._range)

    def view_range(self):
        return self._range

    def lane_of_cpu(self, cpu):
        return float(cpu)


@pytest.fixture(scope="module")
def run():
    res = simulation.simulate(scenario.apply_sets(scenario.preset("bare-metal-lapic"), ["run.until=500ms"]),
                              engine="reference")
    return res, analysis.summarize(res)


@pytest.fixture
def measure(qtbot, run):
    raster = StandInRaster()
    qtbot.addWidget(raster.widget)
    m = MeasureController(raster)
    qtbot.addWidget(m.readout)
    m.set_results(*run)
    return raster, m


def test_delta_readout_equals_the_difference_set(measure):
    _, m = measure
    m.set_cursor("A", 100_000_123)
    m.set_cursor("B", 104_000_123)
    assert m.delta_ns() == 4_000_000
    assert "4.000 ms" in m.delta_label.text() and "4,000,000 ns" in m.delta_label.text()
    assert m.freq_label.text() == "250.000 Hz"
    assert m.frequency_hz() == pytest.approx(250.0)


def test_cursor_lines_sit_where_set_and_drag_reads_back_ns(measure):
    raster, m = measure
    m.set_cursor("A", 250_000_000)
    assert m._lines["A"].value() == pytest.approx(0.25)
    assert m._lines["A"] in raster.plot_item.items
    m._lines["A"].setValue(0.3)  # as a drag does
    assert m.cursor_ns("A") == 300_000_000


def test_ticks_between_cursors_counts_ticks(measure, run):
    res, _ = run
    _, m = measure
    m.set_cursor("B", 100_000_000)
    m.set_cursor("A", 200_000_000)
    ticks = res.time_ns[res.kind == Kind.TICK]
    on1 = res.time_ns[(res.kind == Kind.TICK) & (res.cpu == 1)]
    assert m.ticks_between() == np.count_nonzero((ticks >= 100_000_000) & (ticks < 200_000_000))
    assert m.ticks_between(1) == np.count_nonzero((on1 >= 100_000_000) & (on1 < 200_000_000)) == 25
    assert m.delta_ns() == -100_000_000


def test_snap_moves_a_cursor_to_the_nearest_tick(measure, run):
    res, _ = run
    _, m = measure
    ticks = np.sort(res.time_ns[res.kind == Kind.TICK])
    assert m.snap_ns(int(ticks[10]) + 3) == ticks[10]


def test_markers_add_rename_note_delete_and_round_trip(measure):
    raster, m = measure
    got = []
    m.markers_changed.connect(lambda: got.append(1))
    i = m.add_marker(300_000_000, "lost tick", "CPU 2 skipped")
    j = m.add_marker(100_000_000)
    assert m.markers() == [{"time_ns": 100_000_000, "name": "M1", "note": ""},
                           {"time_ns": 300_000_000, "name": "lost tick", "note": "CPU 2 skipped"}]
    assert (i, j) == (0, 0) or m.markers()[j]["time_ns"] == 100_000_000
    m.rename_marker(0, "start")
    m.set_marker_note(0, "first")
    assert m.markers()[0] == {"time_ns": 100_000_000, "name": "start", "note": "first"}
    assert m.marker_table.rowCount() == 2 and m.marker_table.item(0, 1).text() == "start"
    saved = m.markers()
    m.delete_marker(1)
    assert [x["name"] for x in m.markers()] == ["start"]
    m.set_markers(saved)
    assert m.markers() == saved
    assert len(m._marker_lines) == 2 and all(line in raster.plot_item.items for line in m._marker_lines)
    assert got


def test_editing_a_marker_name_in_the_table_renames_it(measure):
    _, m = measure
    m.add_marker(5_000_000, "x")
    m.marker_table.item(0, 1).setText("renamed")
    assert m.markers()[0]["name"] == "renamed"


def test_go_to_marker_centres_the_raster_keeping_zoom(measure):
    raster, m = measure
    raster.set_view_range(0, 20_000_000)
    m.add_marker(400_000_000, "here")
    m.go_to_marker(0)
    assert raster.view_range() == (390_000_000, 410_000_000)


def test_mark_every_nth_tick_on_a_cpu(measure, run):
    res, _ = run
    raster, m = measure
    times = m.mark_every_nth_tick(2, 10)
    on2 = res.time_ns[(res.kind == Kind.TICK) & (res.cpu == 2)]
    assert np.array_equal(times, on2[::10])
    x, y = m._nth_item.getData()
    assert x.size == 2 * times.size
    assert np.allclose(x[::2], times / 1e9) and np.allclose((y[::2] + y[1::2]) / 2, raster.lane_of_cpu(2))
    m.clear_nth_marks()
    assert m.nth_marks().size == 0
    with pytest.raises(ValueError):
        m.mark_every_nth_tick(2, 0)


def _contrast(rgb_a, rgb_b) -> float:
    from tickscope.gui.analysis_panels import relative_luminance
    from PySide6.QtGui import QColor

    la, lb = sorted((relative_luminance(QColor(*rgb_a)), relative_luminance(QColor(*rgb_b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


@pytest.mark.parametrize("background", [(255, 255, 255), (30, 30, 32)])
def test_nth_tick_marks_stand_out_on_either_themes_background(measure, background):
    # the marks were yellow (255, 240, 60) alone: 1.2:1 on the light theme's white, next to invisible
    from PySide6.QtGui import QImage

    raster, m = measure
    raster.widget.setBackground(background)
    raster.widget.resize(800, 300)
    raster.widget.show()
    raster.plot_item.setYRange(-0.5, 3.5, padding=0)
    times = m.mark_every_nth_tick(1, 25)
    image = raster.widget.grab().toImage().convertToFormat(QImage.Format_RGB32)
    vb = raster.plot_item.getViewBox()
    from PySide6.QtCore import QPointF

    for t in times[1:3]:
        centre = raster.widget.mapFromScene(vb.mapViewToScene(QPointF(t / 1e9, 1.0)))
        colours = {image.pixelColor(centre.x() + dx, centre.y()).getRgb()[:3] for dx in range(-3, 4)}
        assert max(_contrast(c, background) for c in colours) >= 3.0, colours


def _lab(rgb) -> np.ndarray:
    """CIE L*a*b* (D65) of an sRGB triple: Euclidean distance in it is how far apart two colours look."""
    c = np.asarray(rgb[:3], dtype=np.float64) / 255.0
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ c
    f = np.cbrt(xyz / np.array([0.95047, 1.0, 1.08883]))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("dark", [False, True])
def test_a_cursor_never_wears_the_colour_of_an_event_mark(measure, dark):
    # cursor B was (255, 170, 40), the dark theme's "late"; A (80, 220, 255) stood next to "via broadcast"
    from tickscope.sim import raster

    _, m = measure
    m.place_cursors_in_view()
    colours = raster.DARK_COLORS if dark else raster.LIGHT_COLORS
    kinds = {raster.MARK_NAMES[code]: colours[code][:3] for code in raster.MARK_NAMES}
    kinds.update({"expected (ghost)": colours["ghost"][:3], "selected tick": colours["highlight"][:3]})
    assert len(kinds) == len(raster.MARK_NAMES) + 2
    for name, line in m._lines.items():
        assert line.isVisible()
        cursor = line.pen.color().getRgb()[:3]
        for kind, rgb in kinds.items():
            assert cursor != tuple(rgb), f"cursor {name} is {kind}'s colour {rgb}"
            assert np.linalg.norm(_lab(cursor) - _lab(rgb)) >= 40, f"cursor {name} {cursor} looks like {kind} {rgb}"


@pytest.mark.parametrize("dark", [False, True])
def test_a_marker_never_wears_the_colour_of_an_event_mark_or_a_cursor(measure, dark):
    # markers were violet (200, 120, 255): 19 apart from the dark theme's "duplicated" (220, 90, 255)
    from tickscope.gui.measure import CURSOR_COLOR
    from tickscope.sim import raster

    _, m = measure
    m.add_marker(5_000_000, "M1", "")
    colours = raster.DARK_COLORS if dark else raster.LIGHT_COLORS
    kinds = {raster.MARK_NAMES[code]: colours[code][:3] for code in raster.MARK_NAMES}
    kinds.update({"expected (ghost)": colours["ghost"][:3], "selected tick": colours["highlight"][:3],
                  "cursor": CURSOR_COLOR})
    (line,) = m._marker_lines
    marker = line.pen.color().getRgb()[:3]
    assert line.label.fill.color().getRgb()[:3] == marker
    for kind, rgb in kinds.items():
        assert np.linalg.norm(_lab(marker) - _lab(rgb)) >= 40, f"marker {marker} looks like {kind} {rgb}"


def test_cursors_are_dashed_and_lettered_unlike_the_solid_tick_marks(measure):
    from PySide6.QtCore import Qt

    from tickscope.gui.measure import CURSOR_COLOR

    _, m = measure
    m.place_cursors_in_view()
    for name, line in m._lines.items():
        assert line.pen.style() != Qt.SolidLine and line.pen.dashPattern()
        assert line.pen.color().getRgb()[:3] == line.label.fill.color().getRgb()[:3] == CURSOR_COLOR
        assert line.label.toPlainText() == name
    dashes = {tuple(line.pen.dashPattern()) for line in m._lines.values()}
    marker = pg.mkPen((0, 0, 0), style=Qt.DashLine).dashPattern()
    assert len(dashes) == 1 and dashes != {tuple(marker)}     # one cursor style, not the markers' dashes


def test_the_marker_table_says_its_times_are_seconds(qtbot, run):
    # "0.100000" under "time", beside a raster in ms: the event table's column reads "time (s)"
    m = MeasureController(StandInRaster())
    qtbot.addWidget(m.readout)
    m.set_results(*run)
    m.add_marker(100_000_000, "wd")
    table = m.marker_table
    assert table.horizontalHeaderItem(0).text() == "time (s)"
    assert table.item(0, 0).text() == "0.100000"

"""Measurement on the tick raster: cursors A/B, named markers with notes, "mark every Nth tick".

Positions are kept as exact integer nanoseconds; the raster's float-seconds x axis
is only used to draw.  A cursor the user drags is read back to the nearest ns
(or snapped to the nearest tick when snapping is on).
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QFormLayout, QFrame, QGroupBox,
                               QHBoxLayout, QHeaderView, QLabel, QPushButton, QScrollArea, QSpinBox, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from tickscope.gui.plot_panels import MARKER_RGB   # the markers' colour, shared with exported plots
from tickscope.sim.events import Kind
from tickscope.sim.units import format_hz, format_ns, format_seconds_us

# Cursors A and B: one colour no raster mark uses, dashed, lettered in a box of that colour by the time axis
# (the top holds the marker names, and "Add at A" puts a marker on A). They were cyan and orange, B exactly
# the dark theme's "late" and A next to "via broadcast": a cursor read as a column of ticks. Deep pink is
# the hue the palettes leave free (CIE76 distance >= 53 from every mark colour of either theme, contrast
# >= 3.5:1 on both plot backgrounds); the letter tells A from B.
CURSOR_COLOR = (255, 20, 147)
CURSOR_DASH = [6, 3]        # in pen widths: long dashes, unlike the solid tick marks and the markers' DashLine (4, 2)
CURSOR_WIDTH = 2
LABEL_TEXT_COLOR = (255, 255, 255)   # the letters of a cursor's and the name of a marker's label box
NTH_PEN = (255, 240, 60)
NTH_CASING_PEN = (40, 40, 40)
MARKER_COLS = ("time (s)", "name", "note")   # the time as the event table shows it: s.µs


def cursor_pen(width: float = CURSOR_WIDTH):
    """The pen of cursors A and B (*width* px; the dashes scale with it)."""
    pen = pg.mkPen(CURSOR_COLOR, width=width)
    pen.setDashPattern(CURSOR_DASH)
    return pen


def _ns_to_x(t_ns: int) -> float:
    return t_ns / 1e9


def _x_to_ns(x: float) -> int:
    return int(round(x * 1e9))


class MeasureController(QObject):
    """Cursors, markers and Nth-tick marks drawn on ``raster_view.plot_item``; ``readout`` is the dockable panel."""

    cursors_changed = Signal()
    markers_changed = Signal()

    def __init__(self, raster_view, parent=None):
        super().__init__(parent)
        self.raster_view = raster_view
        self.plot_item = raster_view.plot_item
        self._results = None
        self._ticks_cache = None   # (results, every TICK time in log order = sorted): snapping and counting
        self._pos: dict[str, int | None] = {"A": None, "B": None}
        self._markers: list[dict] = []
        self._marker_lines: list[pg.InfiniteLine] = []
        self._nth_times = np.zeros(0, dtype=np.int64)
        self._setting = False

        self._lines = {}
        for name in ("A", "B"):
            line = pg.InfiniteLine(angle=90, movable=True, pen=cursor_pen(), hoverPen=cursor_pen(2 * CURSOR_WIDTH),
                                   label=name, labelOpts={"position": 0.97, "color": LABEL_TEXT_COLOR,
                                                          "fill": CURSOR_COLOR})
            line.setZValue(1000)
            line.setVisible(False)
            line.sigPositionChanged.connect(lambda _l, n=name: self._on_dragged(n))
            line.sigPositionChangeFinished.connect(lambda _l, n=name: self._on_drag_finished(n))
            self.plot_item.addItem(line, ignoreBounds=True)
            self._lines[name] = line
        # Nth-tick marks as connect='pairs' segments: exact at every zoom (no downsampling)
        self._nth_item = pg.PlotDataItem(pen=pg.mkPen(NTH_PEN, width=2), connect="pairs")
        self._nth_item.setZValue(900)
        # a dark casing under the yellow: yellow alone was 1.2:1 on the light theme's white, next to invisible
        self._nth_casing = pg.PlotDataItem(pen=pg.mkPen(NTH_CASING_PEN, width=5), connect="pairs")
        self._nth_casing.setZValue(899)
        self.plot_item.addItem(self._nth_casing, ignoreBounds=True)
        self.plot_item.addItem(self._nth_item, ignoreBounds=True)

        self.readout = self._build_readout()
        self._update_readout()

    # -- results -------------------------------------------------------------
    def set_results(self, results, summary=None) -> None:
        """Give the controller the run (for snapping, tick counts and Nth-tick marks)."""
        self._results = results
        self._ticks_cache = None
        ncpus = int(results.meta.get("ncpus", 0)) if results is not None and len(results) else 0
        self.cpu_box.blockSignals(True)
        cur = self.cpu_box.currentData()
        self.cpu_box.clear()
        for c in range(ncpus):
            self.cpu_box.addItem(f"CPU {c}", c)
        self.cpu_box.setCurrentIndex(max(0, self.cpu_box.findData(cur)))
        self.cpu_box.blockSignals(False)
        self.clear_nth_marks()
        self._update_readout()

    @property
    def _tick_times(self) -> np.ndarray:
        """Times of every TICK record, ascending (the log is time-ordered), found on first use: a run
        hands over new results a few times a second and sorting them all each time stalled the GUI ~40 ms."""
        r = self._results
        if self._ticks_cache is None or self._ticks_cache[0] is not r:
            t = r.time_ns[r.kind == Kind.TICK] if r is not None and len(r) else np.zeros(0, dtype=np.int64)
            self._ticks_cache = (r, t)
        return self._ticks_cache[1]

    # -- cursors -----------------------------------------------------------------
    def set_cursor(self, name: str, t_ns: int) -> None:
        """Put cursor ``"A"`` or ``"B"`` at *t_ns* (exact) and show it."""
        if name not in self._lines:
            raise ValueError(f"cursor must be 'A' or 'B', not {name!r}")
        t_ns = int(t_ns)
        self._pos[name] = t_ns
        self._setting = True
        try:
            self._lines[name].setValue(_ns_to_x(t_ns))
        finally:
            self._setting = False
        self._lines[name].setVisible(True)
        self._update_readout()
        self.cursors_changed.emit()

    def cursor_ns(self, name: str) -> int | None:
        return self._pos[name]

    def hide_cursors(self) -> None:
        for name, line in self._lines.items():
            line.setVisible(False)
            self._pos[name] = None
        self._update_readout()
        self.cursors_changed.emit()

    def place_cursors_in_view(self) -> None:
        """Put A and B at one third and two thirds of the raster's visible range."""
        t0, t1 = (int(v) for v in self.raster_view.view_range())
        span = max(3, t1 - t0)
        self.set_cursor("A", t0 + span // 3)
        self.set_cursor("B", t0 + 2 * span // 3)

    def delta_ns(self) -> int | None:
        """B - A in ns, or None until both are placed."""
        a, b = self._pos["A"], self._pos["B"]
        return None if a is None or b is None else b - a

    def frequency_hz(self) -> float | None:
        d = self.delta_ns()
        return None if not d else 1e9 / abs(d)

    def ticks_between(self, cpu: int | None = None) -> int | None:
        """TICK records with A <= time < B (either order), on *cpu* or all CPUs."""
        a, b = self._pos["A"], self._pos["B"]
        if a is None or b is None or self._results is None:
            return None
        lo, hi = min(a, b), max(a, b)
        if cpu is None:
            return int(np.searchsorted(self._tick_times, hi) - np.searchsorted(self._tick_times, lo))
        r = self._results
        t = r.time_ns
        m = (t >= lo) & (t < hi) & (r.kind == Kind.TICK) & (r.cpu == cpu)
        return int(np.count_nonzero(m))

    def snap_ns(self, t_ns: int) -> int:
        """Nearest tick time to *t_ns* (itself if there are no ticks)."""
        tt = self._tick_times
        if tt.size == 0:
            return int(t_ns)
        i = int(np.searchsorted(tt, t_ns))
        cands = [tt[j] for j in (i - 1, i) if 0 <= j < tt.size]
        return int(min(cands, key=lambda v: abs(int(v) - t_ns)))

    def _on_dragged(self, name: str) -> None:
        if self._setting:
            return
        self._pos[name] = _x_to_ns(self._lines[name].value())
        self._update_readout()

    def _on_drag_finished(self, name: str) -> None:
        if self._setting:
            return
        t = _x_to_ns(self._lines[name].value())
        self.set_cursor(name, self.snap_ns(t) if self.snap_box.isChecked() else t)

    # -- markers ---------------------------------------------------------------------
    def markers(self) -> list[dict]:
        """Markers for saving with the session: ``[{"time_ns", "name", "note"}]`` in time order."""
        return [dict(m) for m in self._markers]

    def set_markers(self, markers: list[dict]) -> None:
        """Replace all markers (e.g. when a session is loaded)."""
        clean = []
        for i, m in enumerate(markers):
            if "time_ns" not in m:
                raise ValueError(f"marker {i} has no time_ns: {m!r}")
            clean.append({"time_ns": int(m["time_ns"]), "name": str(m.get("name", f"M{i + 1}")),
                          "note": str(m.get("note", ""))})
        self._markers = sorted(clean, key=lambda m: m["time_ns"])
        self._redraw_markers()

    def add_marker(self, time_ns: int | None = None, name: str | None = None, note: str = "") -> int:
        """Add a marker (default: at cursor A, else the middle of the view); returns its index."""
        if time_ns is None:
            if self._pos["A"] is not None:
                time_ns = self._pos["A"]
            else:
                t0, t1 = self.raster_view.view_range()
                time_ns = (int(t0) + int(t1)) // 2
        if name is None:
            used = {m["name"] for m in self._markers}
            name = next(f"M{k}" for k in range(1, len(used) + 2) if f"M{k}" not in used)
        m = {"time_ns": int(time_ns), "name": name, "note": note}
        self.set_markers(self._markers + [m])
        return self._markers.index(m)

    def rename_marker(self, index: int, name: str) -> None:
        self._markers[index]["name"] = str(name)
        self._redraw_markers()

    def set_marker_note(self, index: int, note: str) -> None:
        self._markers[index]["note"] = str(note)
        self._redraw_markers()

    def delete_marker(self, index: int) -> None:
        del self._markers[index]
        self._redraw_markers()

    def go_to_marker(self, index: int) -> None:
        """Centre the raster on marker *index*, keeping the zoom."""
        t0, t1 = (int(v) for v in self.raster_view.view_range())
        half = max(1, (t1 - t0) // 2)
        t = self._markers[index]["time_ns"]
        self.raster_view.set_view_range(t - half, t + half)

    def _redraw_markers(self) -> None:
        for line in self._marker_lines:
            self.plot_item.removeItem(line)
        self._marker_lines = []
        for m in self._markers:
            line = pg.InfiniteLine(pos=_ns_to_x(m["time_ns"]), angle=90, movable=False,
                                   pen=pg.mkPen(MARKER_RGB, width=1.5, style=Qt.DashLine), label=m["name"],
                                   labelOpts={"position": 0.05, "color": LABEL_TEXT_COLOR, "fill": MARKER_RGB})
            line.setToolTip(m["note"] or m["name"])
            line.setZValue(950)
            self.plot_item.addItem(line, ignoreBounds=True)
            self._marker_lines.append(line)
        self._fill_marker_table()
        self.markers_changed.emit()

    # -- every Nth tick ------------------------------------------------------------
    def mark_every_nth_tick(self, cpu: int, n: int, first: int = 0) -> np.ndarray:
        """Mark ticks first, first+n, first+2n, ... handled on *cpu*; returns their times (ns)."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if self._results is None:
            raise RuntimeError("mark_every_nth_tick needs results: call set_results first")
        r = self._results
        times = r.time_ns[(r.kind == Kind.TICK) & (r.cpu == cpu)][first::n]
        self._nth_times = times
        y = float(self.raster_view.lane_of_cpu(cpu))
        xs = np.repeat(times / 1e9, 2)
        ys = np.tile(np.array([y - 0.45, y + 0.45]), times.size)
        for item in (self._nth_casing, self._nth_item):
            item.setData(xs, ys, connect="pairs")
        # the controls follow a programmatic call (session restore, command palette)
        if self.cpu_box.findData(cpu) >= 0:
            self.cpu_box.setCurrentIndex(self.cpu_box.findData(cpu))
        self.n_spin.setValue(n)
        self.nth_label.setText(f"{times.size:,} marked on CPU {cpu}")
        return times

    def nth_marks(self) -> np.ndarray:
        return self._nth_times

    def clear_nth_marks(self) -> None:
        self._nth_times = np.zeros(0, dtype=np.int64)
        for item in (self._nth_casing, self._nth_item):
            item.setData([], [])
        if hasattr(self, "nth_label"):
            self.nth_label.setText("")

    # -- readout widget -----------------------------------------------------------------
    def _build_readout(self) -> QWidget:
        w = QWidget()
        layout = QVBoxLayout(w)
        layout.setContentsMargins(4, 4, 4, 4)

        cur = QGroupBox("Cursors")
        form = QFormLayout(cur)
        self.a_label, self.b_label, self.delta_label, self.freq_label, self.count_label = (QLabel() for _ in range(5))
        for lab in (self.a_label, self.b_label, self.delta_label, self.freq_label, self.count_label):
            lab.setTextInteractionFlags(Qt.TextSelectableByMouse)
        form.addRow("A", self.a_label)
        form.addRow("B", self.b_label)
        form.addRow("Δ = B − A", self.delta_label)
        form.addRow("1 / Δ", self.freq_label)
        form.addRow("ticks in [A, B)", self.count_label)
        row = QHBoxLayout()
        place = QPushButton("Place A/B in view")
        place.clicked.connect(self.place_cursors_in_view)
        place.setToolTip("put cursors A and B at one and two thirds of the raster's visible time range")
        hide = QPushButton("Hide")
        hide.setToolTip("remove cursors A and B from the raster")
        hide.clicked.connect(self.hide_cursors)
        self.snap_box = QCheckBox("snap to ticks")
        self.snap_box.setToolTip("a dragged cursor jumps to the nearest delivered tick when released")
        row.addWidget(place)
        row.addWidget(hide)
        row.addStretch(1)
        form.addRow(row)
        form.addRow(self.snap_box)   # own row: beside the buttons the group was ~410 px, wider than the 330 px dock
        layout.addWidget(cur)

        mk = QGroupBox("Markers")
        mv = QVBoxLayout(mk)
        self.marker_table = QTableWidget(0, len(MARKER_COLS))
        self.marker_table.setHorizontalHeaderLabels(MARKER_COLS)
        self.marker_table.verticalHeader().hide()
        self.marker_table.horizontalHeader().setStretchLastSection(True)
        self.marker_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeToContents)
        self.marker_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.marker_table.itemChanged.connect(self._on_marker_edited)
        self.marker_table.cellDoubleClicked.connect(lambda r, c: self.go_to_marker(r) if c == 0 else None)
        mv.addWidget(self.marker_table)
        row = QHBoxLayout()
        add = QPushButton("Add at A")
        add.setToolTip("add a marker at cursor A (or the middle of the view)")
        add.clicked.connect(lambda: self.add_marker())
        delete = QPushButton("Delete")
        delete.setToolTip("delete the selected markers")
        delete.clicked.connect(self._delete_selected)
        row.addWidget(add)
        row.addWidget(delete)
        row.addStretch(1)
        mv.addLayout(row)
        layout.addWidget(mk, 1)

        nth = QGroupBox("Mark every Nth tick")
        nv = QVBoxLayout(nth)   # two rows: in one (CPU, N, Mark, Clear, count) "Clear" was past the dock's edge
        self.cpu_box = QComboBox()
        self.cpu_box.currentIndexChanged.connect(lambda _: self._update_readout())
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 1_000_000)
        self.n_spin.setValue(10)
        self.n_spin.setPrefix("N = ")
        self.cpu_box.setToolTip("the CPU whose ticks are counted")
        self.n_spin.setToolTip("mark ticks 0, N, 2N, ... handled on that CPU")
        mark = QPushButton("Mark")
        mark.clicked.connect(self._mark_from_controls)
        mark.setToolTip("mark every Nth tick of the CPU on the raster")
        clear = QPushButton("Clear")
        clear.setToolTip("remove the Nth-tick marks")
        clear.clicked.connect(self.clear_nth_marks)
        self.nth_label = QLabel()
        for controls in ((self.cpu_box, self.n_spin), (mark, clear, self.nth_label)):
            nl = QHBoxLayout()
            for x in controls:
                nl.addWidget(x)
            nl.addStretch(1)
            nv.addLayout(nl)
        layout.addWidget(nth)
        # scrolls rather than imposing its natural size (~410 x 390 px) on the dock area, which held the whole
        # window at 1080 x 687 px or more
        scroll = QScrollArea()
        scroll.setWidget(w)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        return scroll

    def _mark_from_controls(self) -> None:
        if self._results is not None and self.cpu_box.count():
            self.mark_every_nth_tick(self.cpu_box.currentData(), self.n_spin.value())

    def _update_readout(self) -> None:
        a, b, d = self._pos["A"], self._pos["B"], self.delta_ns()
        self.a_label.setText("—" if a is None else f"{format_seconds_us(a)} s  ({a:,} ns)")
        self.b_label.setText("—" if b is None else f"{format_seconds_us(b)} s  ({b:,} ns)")
        self.delta_label.setText("—" if d is None else f"{format_ns(d)}  ({d:,} ns)")
        f = self.frequency_hz()
        self.freq_label.setText("—" if f is None else format_hz(f))
        cpu = self.cpu_box.currentData() if self.cpu_box.count() else None
        n_all, n_cpu = self.ticks_between(None), self.ticks_between(cpu) if cpu is not None else None
        if n_all is None:
            self.count_label.setText("—")
        else:
            self.count_label.setText(f"{n_all:,} on all CPUs" + ("" if n_cpu is None else f", {n_cpu:,} on CPU {cpu}"))

    def _fill_marker_table(self) -> None:
        t = self.marker_table
        t.blockSignals(True)
        t.setRowCount(len(self._markers))
        for r, m in enumerate(self._markers):
            time_item = QTableWidgetItem(format_seconds_us(m["time_ns"]))
            time_item.setFlags(time_item.flags() & ~Qt.ItemIsEditable)
            time_item.setToolTip(f"{m['time_ns']:,} ns — double-click to go there")
            t.setItem(r, 0, time_item)
            t.setItem(r, 1, QTableWidgetItem(m["name"]))
            t.setItem(r, 2, QTableWidgetItem(m["note"]))
        t.blockSignals(False)

    def _on_marker_edited(self, item) -> None:
        r, c = item.row(), item.column()
        if c == 1:
            self.rename_marker(r, item.text())
        elif c == 2:
            self.set_marker_note(r, item.text())

    def _delete_selected(self) -> None:
        rows = sorted({i.row() for i in self.marker_table.selectedIndexes()}, reverse=True)
        for r in rows:
            del self._markers[r]
        if rows:
            self._redraw_markers()

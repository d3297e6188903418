"""Compare mode: two runs' tick lanes on one time axis and a diff of every ``run --json`` metric.

Lanes are drawn as vertical line segments with ``connect='pairs'`` (about 0.5 us
per tick measured here), one item per run and outcome, never downsampled or
clipped, so no tick is dropped at any zoom.  The metric diff itself is computed
Qt-free in :mod:`tickscope.sim.compare`.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QSplitter,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from tickscope.sim import analysis
from tickscope.sim.compare import diff_summaries, format_pct, format_value

RUN_COLOURS = ((80, 200, 255), (90, 210, 120))  # A, B: on-time ticks (no warning hue: late is yellow, lost red)
OUTCOME_COLOURS = {"late": (255, 235, 60), "duplicated": (230, 80, 255), "lost": (255, 50, 50)}
DIFF_BRUSH = QColor(255, 190, 60, 90)


def run_segments(res) -> dict[str, dict[int, np.ndarray]]:
    """Times (ns) to draw per outcome and CPU: ``{"on time"|"late"|"duplicated"|"lost": {cpu: times}}``.

    Lost ticks are drawn at the expiry of the slot that was never handled.
    """
    out = {"on time": {}, "late": {}, "duplicated": {}, "lost": {}}
    if res is None or len(res) == 0:
        return out
    o = analysis.tick_outcomes(res)
    code = {analysis.OUTCOME_ON_TIME: "on time", analysis.OUTCOME_LATE: "late",
            analysis.OUTCOME_DUPLICATE: "duplicated"}
    for cpu in range(int(res.meta.get("ncpus", 0))):
        on_cpu = o["cpu"] == cpu
        for c, name in code.items():   # the ticks run --json judges: not the NO_HZ runs off the grid
            out[name][cpu] = o["time_ns"][on_cpu & (o["outcome"] == c) & ~o["off_grid"]]
        try:
            out["lost"][cpu] = analysis.lost_slots(res, cpu)
        except (KeyError, IndexError):  # partial meta (a run still booting): nothing judged lost yet
            out["lost"][cpu] = np.zeros(0, dtype=np.int64)
    return out


class CompareView(QWidget):
    """Runs A and B side by side: interleaved or overlaid lanes, plus the metric diff table."""

    LANE_HALF = 0.42

    def __init__(self, parent=None):
        super().__init__(parent)
        self._labels = ("A", "B")
        self._segments = ({}, {})
        self._ncpus = 0
        self._rows: list[dict] = []
        self._overlay = False

        self.overlay_box = QCheckBox("overlay lanes")
        self.overlay_box.setToolTip("draw A and B in the same lane per CPU (A upper half, B lower half)")
        self.overlay_box.toggled.connect(self.set_overlay)
        self.only_diff_box = QCheckBox("only differences")
        self.only_diff_box.toggled.connect(lambda _: self._fill_table())
        self.title = QLabel()
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "simulated time", units="s")
        self.plot.invertY(True)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        # one compact row, light text on a dark box: readable on both themes, covers one lane at most
        self._legend = self.plot.addLegend(offset=(-10, 2), brush=pg.mkBrush(20, 20, 20, 200), colCount=4,
                                           labelTextColor=(235, 235, 235), labelTextSize="8pt")

        self.table = QTableWidget(0, 5)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        # sized once per fill (_fill_table): ResizeToContents re-measured every column at each setItem, O(rows^2)
        # (a 16-CPU diff of ~420 rows took 39 s, 64 CPUs froze the app)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.overlay_box)
        top.addWidget(self.only_diff_box)
        split = QSplitter(Qt.Vertical)
        split.addWidget(self.plot)
        split.addWidget(self.table)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(top)
        layout.addWidget(split, 1)

    # -- public API ---------------------------------------------------------------
    def set_results_pair(self, res_a, sum_a, res_b, sum_b, label_a: str = "A", label_b: str = "B") -> None:
        self._labels = (label_a, label_b)
        self._segments = (run_segments(res_a), run_segments(res_b))
        self._ncpus = max(int(r.meta.get("ncpus", 0)) if r is not None else 0 for r in (res_a, res_b))
        self._rows = diff_summaries(sum_a or {}, sum_b or {})
        ndiff = sum(r["differs"] for r in self._rows)
        self.title.setText(f"<b>A</b> = {label_a} &nbsp; <b>B</b> = {label_b} &nbsp; — "
                           f"{ndiff} of {len(self._rows)} metrics differ")
        self.table.setHorizontalHeaderLabels(["metric", label_a, label_b, "Δ (B − A)", "%"])
        self._redraw()
        self._fill_table()
        self._fit()

    def set_overlay(self, overlay: bool) -> None:
        """True: A and B share one lane per CPU; False: lanes interleave A0, B0, A1, B1, ..."""
        self._overlay = bool(overlay)
        if self.overlay_box.isChecked() != self._overlay:
            self.overlay_box.setChecked(self._overlay)  # re-enters once via toggled
            return
        self._redraw()
        self._fit()

    def overlay(self) -> bool:
        return self._overlay

    def diff_rows(self) -> list[dict]:
        return list(self._rows)

    def drawn_counts(self) -> dict[str, int]:
        """Ticks drawn per run label (every outcome including lost slots), for checking nothing is dropped."""
        return {label: int(sum(t.size for per_cpu in seg.values() for t in per_cpu.values()))
                for label, seg in zip(self._labels, self._segments)}

    def lane_y(self, run: int, cpu: int) -> float:
        """Centre of run *run*'s (0 = A, 1 = B) marks for *cpu*."""
        if self._overlay:
            return cpu + (-0.5 if run == 0 else 0.5) * self.LANE_HALF
        return 2.0 * cpu + run

    # -- drawing ---------------------------------------------------------------------
    def _redraw(self) -> None:
        self.plot.clear()
        self._legend.clear()
        half = self.LANE_HALF / 2 if self._overlay else self.LANE_HALF
        for run, seg in enumerate(self._segments):
            for outcome, per_cpu in seg.items():
                xs, ys = [], []
                for cpu, times in per_cpu.items():
                    if times.size == 0:
                        continue
                    y = self.lane_y(run, cpu)
                    xs.append(np.repeat(times / 1e9, 2))
                    ys.append(np.tile(np.array([y - half, y + half]), times.size))
                rgb = RUN_COLOURS[run] if outcome == "on time" else OUTCOME_COLOURS[outcome]
                name = f"{self._labels[run]}: {outcome}" if outcome == "on time" else None
                if not xs:
                    continue
                item = pg.PlotDataItem(np.concatenate(xs), np.concatenate(ys), connect="pairs",
                                       pen=pg.mkPen(rgb, width=1), name=name)
                # outcomes other than on time are drawn above so a late/lost tick is never hidden
                item.setZValue(0 if outcome == "on time" else 10)
                self.plot.addItem(item)
        for outcome, rgb in OUTCOME_COLOURS.items():
            if any(t.size for seg in self._segments for t in seg[outcome].values()):
                self._legend.addItem(pg.PlotDataItem(pen=pg.mkPen(rgb, width=3)), f"{outcome} (A or B)")
        ticks = []
        for cpu in range(self._ncpus):
            if self._overlay:
                ticks.append((float(cpu), f"CPU {cpu}"))
            else:
                ticks += [(self.lane_y(0, cpu), f"A · CPU {cpu}"), (self.lane_y(1, cpu), f"B · CPU {cpu}")]
        axis = self.plot.getAxis("left")
        axis.setTicks([ticks])
        # fixed width: the axis only widens for long labels after a first paint, which
        # would leave them blank in one-shot screenshots
        metrics = QFontMetrics(axis.style.get("tickFont") or self.plot.font())
        widest = max((metrics.horizontalAdvance(t) for _, t in ticks), default=30)
        axis.setWidth(widest + 16)
        if not self._overlay:
            for cpu in range(1, self._ncpus):  # separators between CPU pairs
                self.plot.addItem(pg.InfiniteLine(pos=2.0 * cpu - 0.5, angle=0, pen=pg.mkPen(90, 90, 90)))

    def _fit(self) -> None:
        lanes = self._ncpus if self._overlay else 2 * self._ncpus
        self.plot.setYRange(-0.6, max(lanes, 1) - 0.4, padding=0)
        self.plot.enableAutoRange(x=True)

    def _fill_table(self) -> None:
        rows = [r for r in self._rows if r["differs"] or not self.only_diff_box.isChecked()]
        t = self.table
        t.setUpdatesEnabled(False)
        t.setRowCount(len(rows))
        bold = QFont(t.font())
        bold.setBold(True)
        for i, r in enumerate(rows):
            cells = (r["metric"], format_value(r["a"]), format_value(r["b"]),
                     format_value(r["delta"], signed=True), format_pct(r["pct"]))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                if r["differs"]:
                    item.setBackground(QBrush(DIFF_BRUSH))
                    item.setFont(bold)
                t.setItem(i, j, item)
        t.resizeColumnsToContents()
        t.setUpdatesEnabled(True)

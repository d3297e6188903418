"""Compare mode: two runs' tick lanes on one time axis and a diff of every ``run --json`` metric.

Lanes are drawn as vertical line segments with ``connect='pairs'`` (about 0.5 us
per tick measured here), one item per run and outcome, never downsampled or
clipped, so no tick is dropped at any zoom.  The metric diff itself is computed
Qt-free in :mod:`tickscope.sim.compare`.

As in the tick raster, the legend sits beside the lanes (never over them), the lane labels thin out to
every 2nd, 4th... CPU when they would overlap, and the plot leaves half a text line above its top lane so
that lane's label is never clipped.  Outcome colours are the raster's, for the theme in use, and so are
the lane backgrounds: each run's idle periods shaded by C-state on one depth scale over both runs' states
(``raster.shared_depths``, as the exported compare figure), re-binned to the view's pixels when it pans or
zooms, so that a run whose CPUs were refused the deep states reads as such beside one that got them.
"""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QCursor, QFont, QFontMetrics
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QSplitter,
                               QTableWidget, QTableWidgetItem, QToolTip, QVBoxLayout, QWidget)

from tickscope.gui import lane_ticks
from tickscope.gui.clock_events import marker_lines
from tickscope.gui.plot_legend import side_legend
from tickscope.gui.tick_raster import scen_time, x_to_ns
from tickscope.sim import analysis, raster
from tickscope.sim.clock_events import clock_events
from tickscope.sim.compare import diff_summaries, format_pct, format_value

# A, B: on-time ticks, per theme (no warning hue: late, duplicated and lost take the raster's colours)
RUN_COLOURS = {False: ((0, 110, 200), (20, 150, 60)), True: ((80, 200, 255), (90, 210, 120))}
_OUTCOME_MARKS = {"late": raster.MARK_LATE, "duplicated": raster.MARK_DUPLICATE, "lost": raster.MARK_LOST}
DIFF_BRUSH = QColor(255, 190, 60, 90)
# separators between CPU pairs only while a pair is this tall: thinner, 255 of them grey out the lanes
SEPARATOR_MIN_PAIR_PX = 6
# the thinnest lane drawn: below it a lane's tick lines merge with the next lanes' (256 CPUs interleaved gave
# 0.7 px lanes, and B's ticks, drawn last, hid every one of A's); more lanes than fit are scrolled to
MIN_LANE_PX = 6
# the lane shading's image is at most this many columns wide (the view's width in pixels below it)
MAX_SHADE_COLUMNS = 4096
# the lane shades at this share of the raster's opacity: at full strength A's blue ticks over the deepest idle
# shade had a contrast of 1.16:1 on the light theme (B's green 2.1:1); at 0.45, 2.9:1 and 2.2:1, shades apart
SHADE_ALPHA = 0.45


def outcome_colours(dark: bool) -> dict[str, tuple[int, int, int]]:
    """RGB of late, duplicated and lost ticks: the tick raster's, for a dark or light plot background."""
    colors = raster.DARK_COLORS if dark else raster.LIGHT_COLORS
    return {name: tuple(colors[mark][:3]) for name, mark in _OUTCOME_MARKS.items()}


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
    ncpus = int(res.meta.get("ncpus", 0))
    # the ticks grouped by CPU once (stable: log order within a CPU), not one mask over every tick per CPU:
    # 256 CPUs x 80k ticks took ~0.2 s of masks, and lost_slots' own pass over the log per CPU ~0.5 s
    order = np.argsort(o["cpu"], kind="stable")
    bounds = np.searchsorted(o["cpu"][order], np.arange(ncpus + 1))
    for cpu in range(ncpus):
        rows = order[bounds[cpu]:bounds[cpu + 1]]
        judged = rows[~o["off_grid"][rows]]   # the ticks run --json judges: not the NO_HZ runs off the grid
        for c, name in code.items():
            out[name][cpu] = o["time_ns"][judged[o["outcome"][judged] == c]]
        try:
            out["lost"][cpu] = analysis.lost_slots(res, cpu, handled=o["expiry_ns"][rows])
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
        self._segments_of = ((None, None), (None, None))   # (results, their run_segments) per run
        self._shown = None    # the arguments of the last set_results_pair (runs by identity, labels by value)
        self._ncpus = 0
        self._run_ncpus = (0, 0)   # each run's CPUs: runs of two machines compare CPU by CPU, up to the larger
        self._rows: list[dict] = []
        self._overlay = False
        self._dark = True   # pyqtgraph's default black background, until the window's theme says otherwise
        self._background = (0, 0, 0)   # the plot background the translucent lane shades show over
        self._separators: list[pg.InfiniteLine] = []
        self._lanes_state = None
        self._spans_of = ((None, {}), (None, {}))   # (results, raster.lane_spans) per run, kept while a run is unchanged
        self._depths = ({}, {})   # per run: lane background code -> shade depth on both runs' scale
        # the lane backgrounds: one image of 2 rows per CPU (A's, B's) for the time window in view
        self._shade = pg.ImageItem(axisOrder="row-major")
        self._shade.setZValue(-20)
        self._shade_timer = QTimer(self)
        self._shade_timer.setSingleShot(True)   # a drag moves the range many times per frame: bin once
        self._shade_timer.timeout.connect(self._shade_lanes)

        self.overlay_box = QCheckBox("overlay lanes")
        self.overlay_box.setToolTip("draw A and B in the same lane per CPU (A upper half, B lower half)")
        self.overlay_box.toggled.connect(self.set_overlay)
        self.only_diff_box = QCheckBox("only differences")
        self.only_diff_box.setToolTip("list only the metrics whose values differ between A and B")
        self.only_diff_box.toggled.connect(lambda _: self._fill_table())
        self.title = QLabel()
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "simulated time", units="s")
        self.plot.invertY(True)
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self._legend = side_legend(self.plot)   # beside the lanes: floating, it covered CPU 0's ticks
        axis = self.plot.getAxis("left")
        # a lane label is centred on its lane: the top one reaches half a text line above the view
        self.plot.getPlotItem().layout.setContentsMargins(1, lane_ticks.half_label_height(axis), 1, 1)
        self.plot.getViewBox().sigResized.connect(lambda *_: self._label_lanes())   # as many labels as the height holds
        self.plot.getViewBox().sigYRangeChanged.connect(lambda *_: self._label_lanes())   # scrolled through the CPUs
        self.plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._shade_timer.start(0))
        self.plot.getViewBox().sigResized.connect(lambda *_: self._shade_timer.start(0))
        # which run, CPU and state is under the pointer: lanes are a few px high and every Nth CPU is labelled
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        self.scroll_note = QLabel()
        self.scroll_note.hide()

        self.table = QTableWidget(0, 5)
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        # sized once per fill (_fill_table): ResizeToContents re-measured every column at each setItem, O(rows^2)
        # (a 16-CPU diff of ~420 rows took 39 s, 64 CPUs froze the app)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.Interactive)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)

        # before a pair is shown (no run B): say how to get one, not an empty plot under columns "1" to "5"
        self.title.setText("No run B to compare with: start the app in compare mode, "
                           "<code>tickscope gui --preset A --compare B</code> (or <code>--compare A "
                           "--compare-set key=value</code>: the same scenario with one change)")
        self.title.setWordWrap(True)
        self.table.setHorizontalHeaderLabels(["metric", "A", "B", "Δ (B − A)", "%"])

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.scroll_note)
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
        shown = (res_a, sum_a, res_b, sum_b, label_a, label_b)
        last = self._shown
        if last is not None and all(x is y for x, y in zip(shown[:4], last)) and shown[4:] == last[4:]:
            # the same runs again (each run's state change asks; headless runs ask once more at the end):
            # a 256-CPU pair took ~1.7 s to draw and tabulate, twice of five times for nothing
            return
        self._shown = shown
        self._labels = (label_a, label_b)
        # a run that did not change keeps its segments (A done while B still runs, then B done)
        self._segments = tuple(seg if old is not None and res is old else run_segments(res)
                               for res, (old, seg) in zip((res_a, res_b), self._segments_of))
        self._segments_of = tuple(zip((res_a, res_b), self._segments))
        self._run_ncpus = tuple(int(r.meta.get("ncpus", 0)) if r is not None else 0 for r in (res_a, res_b))
        self._spans_of = tuple((res, spans if old is not None and res is old else
                                (raster.lane_spans(res, raster.view_end_ns(res)) if res is not None and len(res) else {}))
                               for res, (old, spans) in zip((res_a, res_b), self._spans_of))
        self._depths = tuple(raster.shared_depths(*(r.meta if r is not None else {} for r in (res_a, res_b))))
        self._ncpus = max(self._run_ncpus)
        self._rows = diff_summaries(sum_a or {}, sum_b or {})
        ndiff = sum(r["differs"] for r in self._rows)
        self.title.setText(f"<b>A</b> = {label_a} &nbsp; <b>B</b> = {label_b} &nbsp; — "
                           f"{ndiff} of {len(self._rows)} metrics differ")
        self.table.setHorizontalHeaderLabels(["metric", label_a, label_b, "Δ (B − A)", "%"])
        self._redraw()
        self._fill_table()
        self._fit()
        self._shade_lanes()

    def set_overlay(self, overlay: bool) -> None:
        """True: A and B share one lane per CPU; False: lanes interleave A0, B0, A1, B1, ..."""
        self._overlay = bool(overlay)
        if self.overlay_box.isChecked() != self._overlay:
            self.overlay_box.setChecked(self._overlay)  # re-enters once via toggled
            return
        self._redraw()
        self._fit()
        self._shade_lanes()

    def set_theme(self, dark: bool, background: str | None = None) -> None:
        """Tick and lane colours for a dark or light plot background (the window's theme; *background*
        "#rrggbb": the plot's, which the legend's lane swatches are composited over)."""
        bg = pg.mkColor(background).getRgb()[:3] if background is not None else self._background
        if bool(dark) != self._dark or bg != self._background:
            self._dark = bool(dark)
            self._background = bg
            self._redraw()
            self._shade_lanes()

    def overlay(self) -> bool:
        return self._overlay

    def run_labels(self) -> tuple[str, str]:
        """The names runs A and B are shown under (by the settings that differ when both are one scenario)."""
        return self._labels

    def diff_rows(self) -> list[dict]:
        return list(self._rows)

    def drawn_counts(self) -> dict[str, int]:
        """Ticks drawn per run label (every outcome including lost slots), for checking nothing is dropped."""
        return {label: int(sum(t.size for per_cpu in seg.values() for t in per_cpu.values()))
                for label, seg in zip(self._labels, self._segments)}

    def hover_text(self, scene_pos) -> str:
        """``B · CPU n · t s · idle C3`` and the run's name on a second line (the lane under *scene_pos*: its
        run, CPU, the simulated time and what the CPU was doing then), or "" off the lanes."""
        vb = self.plot.getViewBox()
        if not self._ncpus or not vb.sceneBoundingRect().contains(scene_pos):
            return ""
        p = vb.mapSceneToView(scene_pos)
        if self._overlay:   # A in a lane's upper half, B in its lower half
            cpu = int(np.floor(p.y() + 0.5))
            run = 0 if p.y() < cpu else 1
        else:
            cpu, run = divmod(int(np.floor(p.y() + 0.5)), 2)
        if not 0 <= cpu < self._ncpus or p.x() < 0:
            return ""
        t_ns = x_to_ns(p.x())
        x0, x1 = vb.viewRange()[0]
        text = f"{'AB'[run]} · CPU {cpu} · {scen_time(t_ns, int((x1 - x0) * 1e9))}"
        res, spans = self._spans_of[run]
        if cpu >= self._run_ncpus[run]:
            text += " · not in this run"
        elif res is not None and t_ns < raster.view_end_ns(res):
            text += f" · {raster.state_at(spans, raster.cstate_names(res.meta), cpu, t_ns)}"
        return f"{text}\n{self._labels[run]}"

    def _on_hover(self, scene_pos) -> None:
        text = self.hover_text(scene_pos)
        if text:
            QToolTip.showText(QCursor.pos(), text, self.plot)
        else:
            QToolTip.hideText()

    def lane_y(self, run: int, cpu: int) -> float:
        """Centre of run *run*'s (0 = A, 1 = B) marks for *cpu*."""
        if self._overlay:
            return cpu + (-0.5 if run == 0 else 0.5) * self.LANE_HALF
        return 2.0 * cpu + run

    # -- drawing ---------------------------------------------------------------------
    def _redraw(self) -> None:
        self.plot.clear()
        self._legend.clear()
        self._separators = []
        self._lanes_state = None
        self.plot.addItem(self._shade, ignoreBounds=True)   # under the ticks; the ticks alone set the time range
        self._shade_timer.start(0)
        runs, outcomes = RUN_COLOURS[self._dark], outcome_colours(self._dark)
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
                rgb = runs[run] if outcome == "on time" else outcomes[outcome]
                # "A"/"B": the title names the runs (two runs of one preset would read the same)
                name = f"{'AB'[run]}: {outcome}" if outcome == "on time" else None
                if not xs:
                    continue
                item = pg.PlotDataItem(np.concatenate(xs), np.concatenate(ys), connect="pairs",
                                       pen=pg.mkPen(rgb, width=1), name=name)
                # outcomes other than on time are drawn above so a late/lost tick is never hidden
                item.setZValue(0 if outcome == "on time" else 10)
                self.plot.addItem(item)
        # where each run's watchdog marked a clocksource unstable and timekeeping switched (unstable-tsc with and
        # without the watchdog: only A switches, and the lanes did not say where)
        for run, (res, _seg) in enumerate(self._segments_of):
            events = [(t, f"{'AB'[run]}: {label}", tip) for t, label, tip in clock_events(res)]
            for line in marker_lines(events, position=0.02 + 0.21 * run):
                self.plot.addItem(line, ignoreBounds=True)
        for outcome, rgb in outcomes.items():
            if any(t.size for seg in self._segments for t in seg.get(outcome, {}).values()):
                self._legend.addItem(pg.PlotDataItem(pen=pg.mkPen(rgb, width=3)), f"{outcome} (A or B)")
        for label, rgba in self.shade_legend():
            # a square swatch of the lane colour (a line would read as a tick)
            # (opaque: the shade as it looks over the plot background, not over the legend's)
            rgb = raster.composite(rgba, self._background)
            swatch = pg.ScatterPlotItem(symbol="s", size=11, pen=None, brush=pg.mkBrush(*rgb))
            self._legend.addItem(swatch, label)
        axis = self.plot.getAxis("left")
        # fixed width: the axis only widens for long labels after a first paint, which
        # would leave them blank in one-shot screenshots
        last = max(self._ncpus - 1, 0)
        metrics = QFontMetrics(axis.style.get("tickFont") or self.plot.font())
        axis.setWidth(max(metrics.horizontalAdvance(t) for t in (f"A · CPU {last}", f"CPU {last} A/B")) + 16)
        self._label_lanes()

    # -- lane backgrounds --------------------------------------------------------------
    def _colors(self) -> dict:
        return raster.DARK_COLORS if self._dark else raster.LIGHT_COLORS

    def _faded(self, rgba) -> tuple[int, int, int, int]:
        """A raster lane shade as this view draws it (``SHADE_ALPHA`` of its opacity, for the ticks over it)."""
        return (*rgba[:3], int(round(rgba[3] * SHADE_ALPHA)))

    def _shade_luts(self) -> list[np.ndarray]:
        """Per run: lane background code -> RGBA (code 0, no background: transparent)."""
        colors = self._colors()
        luts = []
        for run in (0, 1):
            lut = np.zeros((256, 4), dtype=np.uint8)
            for code, depth in self._depths[run].items():
                lut[code] = self._faded(raster.idle_shade(colors, depth))
            lut[raster.BG_STEAL] = self._faded(colors["steal"])
            luts.append(lut)
        return luts

    def shade_legend(self) -> list[tuple[str, tuple]]:
        """``(label, rgba)`` of each lane shade the runs have: ``idle C6``, then ``steal``.  A state name whose
        shade differs between the runs (same name, other exit latency) is named per run (``A: idle C3``)."""
        seen: dict[str, set] = {}
        for run, (_res, spans) in enumerate(self._spans_of):
            names = raster.cstate_names(self._spans_of[run][0].meta) if self._spans_of[run][0] is not None else []
            for code in spans:
                if code == raster.BG_STEAL or code - raster.BG_IDLE >= len(names):
                    continue
                seen.setdefault(names[code - raster.BG_IDLE], set()).add((run, self._depths[run].get(code, 0.0)))
        out = []
        colors = self._colors()
        for name, uses in sorted(seen.items(), key=lambda kv: min(d for _r, d in kv[1])):
            depths = {d for _r, d in uses}
            if len(depths) == 1:
                out.append((f"idle {name}", self._faded(raster.idle_shade(colors, depths.pop()))))
            else:
                out.extend((f"{'AB'[r]}: idle {name}", self._faded(raster.idle_shade(colors, d))) for r, d in sorted(uses))
        if any(raster.BG_STEAL in spans for _res, spans in self._spans_of):
            out.append(("steal (vCPU descheduled)", self._faded(colors["steal"])))
        return out

    def shade_image(self, t0: int, t1: int, width: int) -> np.ndarray:
        """RGBA (2 x CPUs rows, *width* columns) of the lane backgrounds over ``[t0, t1)`` ns: row ``2c`` is A's
        CPU *c*, row ``2c + 1`` B's; each pixel takes the deepest state of its time slice (steal over idle)."""
        n = self._ncpus
        img = np.zeros((2 * n, width, 4), dtype=np.uint8)
        if n == 0 or t1 <= t0:
            return img
        for run, (lut, (_res, spans)) in enumerate(zip(self._shade_luts(), self._spans_of)):
            ncpus = self._run_ncpus[run]
            if spans and ncpus:
                img[run:2 * ncpus:2] = lut[raster.background_plane(spans, ncpus, t0, t1, width)]
        return img

    def _shade_lanes(self) -> None:
        """Bin both runs' lane backgrounds to the view's pixels (interleaved: a lane per row; overlaid: A's row the
        upper half of the CPU's lane, B's the lower half, as their ticks)."""
        if not any(spans for _res, spans in self._spans_of):
            self._shade.hide()
            return
        vb = self.plot.getViewBox()
        x0, x1 = vb.viewRange()[0]
        t0, t1 = math.floor(x0 * 1e9), math.ceil(x1 * 1e9)
        width = int(min(max(16.0, vb.sceneBoundingRect().width()), MAX_SHADE_COLUMNS))
        if t1 <= t0:
            return
        self._shade.setImage(self.shade_image(t0, t1, width), autoLevels=False, levels=None)
        self._shade.setRect(QRectF(t0 / 1e9, -0.5, (t1 - t0) / 1e9, float(self._lanes())))
        self._shade.show()

    def lane_labels(self, height_px: float) -> list[tuple[float, str]]:
        """The left axis' labels for a view *height_px* high: every lane, or every Nth CPU where they would overlap.

        Interleaved lanes are labelled ``A · CPU n`` and ``B · CPU n`` while each lane has room for a label,
        else ``CPU n A/B`` at the middle of every Nth CPU's pair; overlaid lanes ``CPU n``.  A CPU only one run
        has says so (``B · no CPU n``, ``CPU n A only``): its other lane stays empty.
        """
        n = self._ncpus
        has = [[c < self._run_ncpus[run] for run in (0, 1)] for c in range(n)]
        if self._overlay:
            names = [f"CPU {c}" + ("" if all(has[c]) else f" {'AB'[has[c].index(True)]} only") for c in range(n)]
            return lane_ticks.lane_ticks(names, height_px)[0]
        if lane_ticks.label_step(2 * n, height_px) == 1:
            return [(self.lane_y(run, c), f"{'AB'[run]} · {'' if has[c][run] else 'no '}CPU {c}")
                    for c in range(n) for run in (0, 1)]
        step = lane_ticks.label_step(n, height_px)
        return [(2.0 * c + 0.5, f"CPU {c} " + ("A/B" if all(has[c]) else f"{'AB'[has[c].index(True)]} only"))
                for c in range(0, n, step)]

    def _lanes(self) -> int:
        return self._ncpus if self._overlay else 2 * self._ncpus

    def _label_lanes(self) -> None:
        """Lane labels and CPU-pair separators for the view's current height and the lanes in view."""
        vb = self.plot.getViewBox()
        y0, y1 = vb.viewRange()[1]
        # labels are spaced for the lanes in view: the height all lanes would take at this scale
        height = (vb.sceneBoundingRect().height() or 300.0) * max(1.0, self._lanes() / max(1.0, y1 - y0))
        self._note_scroll(y0, y1)
        pair_px = 2 * height / max(2 * self._ncpus, 1)
        separate = not self._overlay and pair_px >= SEPARATOR_MIN_PAIR_PX
        state = (self._ncpus, self._overlay, lane_ticks.label_step(2 * self._ncpus, height),
                 lane_ticks.label_step(self._ncpus, height), separate)
        if state == self._lanes_state:
            return
        self._lanes_state = state
        self.plot.getAxis("left").setTicks([self.lane_labels(height), []])
        if separate and not self._separators:
            pen = pg.mkPen(128, 128, 128, 160)   # mid grey: visible on the light and the dark background
            self._separators = [pg.InfiniteLine(pos=2.0 * cpu - 0.5, angle=0, pen=pen) for cpu in range(1, self._ncpus)]
            for line in self._separators:
                self.plot.addItem(line)
        for line in self._separators:
            line.setVisible(separate)

    def _fit(self) -> None:
        lanes = self._lanes()
        fit = max(2, int((self.plot.getViewBox().sceneBoundingRect().height() or 300.0) // MIN_LANE_PX))
        shown = lanes if lanes <= fit else fit - fit % (1 if self._overlay else 2)   # whole A/B pairs
        vb = self.plot.getViewBox()
        vb.setLimits(yMin=-0.6, yMax=max(lanes, 1) - 0.4)
        self.plot.setMouseEnabled(x=True, y=shown < lanes)   # drag (or wheel) the lanes up and down
        self.plot.setYRange(-0.6, max(shown, 1) - 0.4, padding=0)
        self.plot.enableAutoRange(x=True)
        self._label_lanes()

    def cpus_in_view(self) -> tuple[int, int]:
        """First and last CPU whose lanes are in view."""
        y0, y1 = self.plot.getViewBox().viewRange()[1]
        per = 1 if self._overlay else 2
        last = max(0, self._ncpus - 1)
        return (min(last, max(0, int(np.ceil(y0 - 0.5)) // per)), min(last, max(0, int(np.floor(y1 + 0.5)) // per)))

    def _note_scroll(self, y0: float, y1: float) -> None:
        if self._ncpus and y1 - y0 < self._lanes() - 0.5:
            first, last = self.cpus_in_view()
            self.scroll_note.setText(f"CPU {first}–{last} of {self._ncpus} in view: drag the lanes up or down")
            self.scroll_note.show()
        else:
            self.scroll_note.hide()

    def _fill_table(self) -> None:
        rows = [r for r in self._rows if r["differs"] or not self.only_diff_box.isChecked()]
        t = self.table
        t.setUpdatesEnabled(False)
        t.setRowCount(len(rows))
        bold = QFont(t.font())
        bold.setBold(True)
        # alignment and brush made once, not per cell: ~0.6 s -> ~0.4 s for a 256-CPU diff (6400 rows, 32k cells)
        right = Qt.AlignRight | Qt.AlignVCenter
        brush = QBrush(DIFF_BRUSH)
        for i, r in enumerate(rows):
            cells = (r["metric"], format_value(r["a"]), format_value(r["b"]),
                     format_value(r["delta"], signed=True), format_pct(r["pct"]))
            differs = r["differs"]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j:
                    item.setTextAlignment(right)
                if differs:
                    item.setBackground(brush)
                    item.setFont(bold)
                t.setItem(i, j, item)
        t.resizeColumnsToContents()
        t.setUpdatesEnabled(True)

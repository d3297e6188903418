"""The tick-interval / tick-latency histogram panel: log-spaced bins with explicit under/overflow bars.

Plain QWidget with ``set_results(results, summary, prepared=None)`` like the other analysis panels
(:mod:`tickscope.gui.analysis_panels`); clicking a bar emits ``jump_requested(time_ns, cpu)`` with a sample
of it.  The ranges are fixed, not fitted, so two runs' histograms line up.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from tickscope.gui.panel_layout import bar_over_plot
from tickscope.sim import aggregates, analysis
from tickscope.sim.events import Kind
from tickscope.sim.units import format_ns

QUANTITY_INTERVAL = "interval"
QUANTITY_LATENCY = "latency"
# Fixed ranges (not fitted to the data) so that two runs' histograms line up and
# out-of-range samples land in the explicit under/overflow bars.
DEFAULT_RANGES = {QUANTITY_INTERVAL: (10_000, 1_000_000_000), QUANTITY_LATENCY: (100, 100_000_000)}
BINS_PER_DECADE = 20
MIN_BINS = 10
_SIDE_BAR = 0.35  # width of the under/overflow bars, in decades


def bins_per_decade(lo_ns: int, hi_ns: int) -> int:
    """Bins per decade of a histogram range: at least MIN_BINS bins however narrow (>= 2 edges)."""
    return max(BINS_PER_DECADE, int(np.ceil(MIN_BINS / np.log10(hi_ns / lo_ns))))


class LogNsAxis(pg.AxisItem):
    """A bottom axis whose coordinate is log10(ns), labelled in time units at each decade."""

    def tickValues(self, minVal, maxVal, size):
        lo, hi = int(np.floor(minVal)), int(np.ceil(maxVal))
        return [(1.0, [float(v) for v in range(lo, hi + 1)])]

    def tickStrings(self, values, scale, spacing):
        return [format_ns(10 ** v, digits=0) for v in values]


class CountAxis(pg.AxisItem):
    """A left axis of counts: whole numbers only, with thousands separators (a few samples were labelled 0.5,
    1.5 and 2.5, a million ``1e+06``)."""

    def tickValues(self, minVal, maxVal, size):
        levels = [(spacing, [v for v in values if float(v).is_integer()])
                  for spacing, values in super().tickValues(minVal, maxVal, size) if spacing >= 1]
        if not levels:   # a range of a few counts: every whole number in it
            levels = [(1.0, [float(v) for v in range(int(np.ceil(minVal)), int(np.floor(maxVal)) + 1)])]
        return levels

    def tickStrings(self, values, scale, spacing):
        return [f"{round(v * scale):,}" for v in values]


class HistogramPanel(QWidget):
    """Tick-interval or tick-latency histogram on log-x bins with explicit under/overflow bars.

    Clicking a bar jumps to the first sample in it; clicking the same bar again steps
    to the next one (finding the one lost tick behind an overflow interval).
    """

    jump_requested = Signal(object, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._results = None
        self._quantity = QUANTITY_INTERVAL
        self._cpu = None
        self._ranges = dict(DEFAULT_RANGES)
        self._values = self._times = self._cpus = np.zeros(0, dtype=np.int64)
        self._hist = None
        self._prepared = None
        self._click_cursor: dict[int, int] = {}

        self.quantity_box = QComboBox()
        self.quantity_box.addItem("Tick interval", QUANTITY_INTERVAL)
        self.quantity_box.addItem("Tick latency", QUANTITY_LATENCY)
        self.quantity_box.currentIndexChanged.connect(lambda _: self.set_quantity(self.quantity_box.currentData()))
        self.quantity_box.setToolTip("Tick interval: time between successive ticks on a CPU;\n"
                                     "tick latency: delivery time − the slot's intended expiry")
        self.cpu_box = QComboBox()
        self.cpu_box.setToolTip("The CPU whose ticks are counted")
        self.cpu_box.addItem("All CPUs", None)
        self.cpu_box.currentIndexChanged.connect(lambda _: self.set_cpu(self.cpu_box.currentData()))
        self.stats = QLabel()
        self.stats.setTextInteractionFlags(Qt.TextSelectableByMouse)

        self.plot = pg.PlotWidget(axisItems={"bottom": LogNsAxis("bottom"), "left": CountAxis("left")})
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.setLabel("left", "count")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=pg.mkBrush(80, 160, 255, 220), pen=None)
        self.side_bars = pg.BarGraphItem(x0=[], x1=[], height=[], brush=pg.mkBrush(255, 110, 60, 230), pen=None)
        self.plot.addItem(self.bars)
        self.plot.addItem(self.side_bars)
        self._side_labels = [pg.TextItem(anchor=(0.5, 1.0)), pg.TextItem(anchor=(0.5, 1.0))]
        for item in self._side_labels:
            self.plot.addItem(item)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self._y_fit = (1, 0)   # (tallest bar, tallest side bar) the y range is fitted to
        self.plot.getViewBox().sigResized.connect(self._fit_y)

        bar_over_plot(self, [self.quantity_box, self.cpu_box, self.stats], self.plot)

    # -- public setters ---------------------------------------------------
    def set_results(self, results, summary=None, prepared=None) -> None:
        self._results = results
        self._prepared = prepared
        ncpus = int(results.meta.get("ncpus", 0)) if results is not None else 0
        self.cpu_box.blockSignals(True)
        self.cpu_box.clear()
        self.cpu_box.addItem("All CPUs", None)
        for c in range(ncpus):
            self.cpu_box.addItem(f"CPU {c}", c)
        if self._cpu is not None and self._cpu >= ncpus:
            self._cpu = None
        self.cpu_box.setCurrentIndex(0 if self._cpu is None else self._cpu + 1)
        self.cpu_box.blockSignals(False)
        self._refresh()

    def set_quantity(self, quantity: str) -> None:
        if quantity not in DEFAULT_RANGES:
            raise ValueError(f"quantity must be one of {sorted(DEFAULT_RANGES)}, not {quantity!r}")
        self._quantity = quantity
        self.quantity_box.setCurrentIndex(self.quantity_box.findData(quantity))
        self._refresh()

    def set_cpu(self, cpu: int | None) -> None:
        self._cpu = cpu
        self.cpu_box.setCurrentIndex(0 if cpu is None else self.cpu_box.findData(cpu))
        self._refresh()

    def set_range(self, lo_ns: int, hi_ns: int) -> None:
        """Histogram range for the current quantity; samples outside go to under/overflow."""
        if not 0 < lo_ns < hi_ns:
            raise ValueError(f"need 0 < lo_ns < hi_ns, got lo_ns={lo_ns}, hi_ns={hi_ns}")
        self._ranges[self._quantity] = (int(lo_ns), int(hi_ns))
        self._refresh()

    def histogram(self) -> dict | None:
        """What is drawn: :func:`analysis.log_histogram`'s dict for the current selection."""
        return self._hist

    def samples(self) -> dict[str, np.ndarray]:
        """The samples behind the bars: ``values``, ``time_ns`` and ``cpu`` (equal length)."""
        return {"values": self._values, "time_ns": self._times, "cpu": self._cpus}

    # -- computation -------------------------------------------------------
    def _compute_samples(self):
        res = self._results
        empty = np.zeros(0, dtype=np.int64)
        if res is None or len(res) == 0:
            return empty, empty, empty
        pre = self._prepared.samples.get(self._quantity) if self._prepared is not None else None
        if pre is not None:
            v, t, c = pre["values"], pre["time_ns"], pre["cpu"]
        elif self._quantity == QUANTITY_LATENCY:
            s = aggregates.latency_samples(analysis.tick_outcomes(res))
            v, t, c = s["values"], s["time_ns"], s["cpu"]
        else:
            # Same intervals as analysis.tick_intervals (per CPU, CPU order), but keeping
            # the time of the tick that ends each interval so a bar can be clicked.
            idx = np.flatnonzero(res.kind == Kind.TICK)
            order = np.argsort(res.cpu[idx], kind="stable")
            t_all, c_all = res.time_ns[idx][order], res.cpu[idx][order].astype(np.int64)
            same = c_all[1:] == c_all[:-1]
            v, t, c = np.diff(t_all)[same], t_all[1:][same], c_all[1:][same]
        if self._cpu is not None:
            m = c == self._cpu
            v, t, c = v[m], t[m], c[m]
        return v, t, c

    def _refresh(self) -> None:
        self._values, self._times, self._cpus = self._compute_samples()
        self._click_cursor.clear()
        lo, hi = self._ranges[self._quantity]
        bpd = bins_per_decade(lo, hi)
        pre = self._prepared.histograms.get((self._quantity, lo, hi, bpd)) if self._prepared is not None else None
        h = pre if pre is not None and self._cpu is None else analysis.log_histogram(self._values, lo, hi, bpd)
        self._hist = h
        le = np.log10(h["edges_ns"].astype(np.float64))
        self.bars.setOpts(x0=le[:-1], x1=le[1:], height=h["counts"])
        ux, ox = le[0] - 0.1 - _SIDE_BAR, le[-1] + 0.1
        self.side_bars.setOpts(x0=[ux, ox], x1=[ux + _SIDE_BAR, ox + _SIDE_BAR], height=[h["underflow"], h["overflow"]])
        top = max(1, int(h["counts"].max()) if h["counts"].size else 1, h["underflow"], h["overflow"])
        for item, x, label, n in ((self._side_labels[0], ux, f"< {format_ns(lo, 0)}", h["underflow"]),
                                  (self._side_labels[1], ox, f"≥ {format_ns(hi, 0)}", h["overflow"])):
            item.setText(f"{label}\n{n}")
            item.setPos(x + _SIDE_BAR / 2, max(n, 0) + 0.02 * top)
        self._y_fit = (top, max(h["underflow"], h["overflow"], 0))
        self.plot.setXRange(ux - 0.1, ox + _SIDE_BAR + 0.1, padding=0)
        self._fit_y()
        what = "tick interval" if self._quantity == QUANTITY_INTERVAL else "tick latency"
        self.plot.setLabel("bottom", what + " (log scale)")
        self.stats.setText(self._stats_text())

    def _fit_y(self, *_) -> None:
        """Y range from 0 with room over the tallest side bar for its two-line label, at this plot's height."""
        top, side = self._y_fit
        label_px = max(item.boundingRect().height() for item in self._side_labels) + 4   # in px: TextItems ignore zoom
        height_px = self.plot.getViewBox().sceneBoundingRect().height() or 150.0
        room = 1.0 - min(0.8, label_px / height_px)   # the share of the height the label leaves to the bars
        self.plot.setYRange(0, max(top * 1.15, (side + 0.02 * top) / room), padding=0)

    def set_text_color(self, color) -> None:
        """Colour of the under/overflow labels (the theme's foreground: they are on the plot background)."""
        for item in self._side_labels:
            item.setColor(color)

    def _stats_text(self) -> str:
        v = self._values
        if v.size == 0:
            return "no samples"
        st = self._prepared.stats.get(self._quantity) if self._prepared is not None and self._cpu is None else None
        st = st if st is not None and st.get("n") == v.size else aggregates.sample_stats(v)
        return (f"n={st['n']:,}  min {format_ns(st['min'])}  p50 {format_ns(st['p50'])}  "
                f"p99 {format_ns(st['p99'])}  max {format_ns(st['max'])}")

    # -- interaction -------------------------------------------------------
    def bin_of_x(self, x: float) -> int | None:
        """Bar under log10(ns) coordinate *x*: -1 underflow, len(counts) overflow, else the bin, None if none."""
        h = self._hist
        if h is None:
            return None
        le = np.log10(h["edges_ns"].astype(np.float64))
        nb = len(h["counts"])
        if le[0] - 0.1 - _SIDE_BAR <= x < le[0] - 0.1:
            return -1
        if le[-1] + 0.1 <= x < le[-1] + 0.1 + _SIDE_BAR:
            return nb
        if le[0] <= x < le[-1]:
            return int(np.searchsorted(le, x, side="right") - 1)
        return None

    def jump_to_bin(self, b: int) -> bool:
        """Emit jump_requested for the next sample in bar *b* (see :meth:`bin_of_x`); False if it is empty."""
        edges = self._hist["edges_ns"]
        v = self._values
        if b == -1:
            m = v < edges[0]
        elif b == len(edges) - 1:
            m = v >= edges[-1]
        else:
            m = (v >= edges[b]) & (v < edges[b + 1])
        hits = np.flatnonzero(m)
        if hits.size == 0:
            return False
        k = self._click_cursor.get(b, 0) % hits.size
        self._click_cursor[b] = k + 1
        i = hits[k]
        self.jump_requested.emit(int(self._times[i]), int(self._cpus[i]))
        return True

    def _on_click(self, ev):
        if ev.button() != Qt.LeftButton:
            return
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(ev.scenePos()):
            return
        b = self.bin_of_x(vb.mapSceneToView(ev.scenePos()).x())
        if b is not None:
            self.jump_to_bin(b)

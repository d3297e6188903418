"""Analysis panels: clock drift, interrupt rate, idle residency and steal (the histogram is in
:mod:`tickscope.gui.histogram_panel`).

Each panel is a plain QWidget with ``set_results(results, summary, prepared=None)``;
with *prepared* (:class:`tickscope.sim.aggregates.PanelData`, made in the engine
thread) it only draws, else it computes from whole numpy arrays.  Panels
where a point has a place in time emit ``jump_requested(time_ns, cpu)`` so the
main window can move the tick raster there.  Line traces (drift, rates) are
clipped to the view and peak-downsampled (drift: pyqtgraph's clipToView/autoDownsample;
rates: :class:`tickscope.gui.step_curve.StepCurve`): they are continuous curves,
unlike the tick raster where downsampling would drop ticks.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from tickscope.gui import lane_ticks
from tickscope.gui.panel_layout import bar_over_plot
from tickscope.gui.plot_legend import side_legend
from tickscope.gui.step_curve import StepCurve
from tickscope.sim import aggregates, analysis, raster
from tickscope.sim.clock_drift import KERNEL_CLOCK, NO_SAMPLES, clock_drift
from tickscope.sim.events import Kind
from tickscope.sim.units import format_ns

# the brightest a trace may be: on white it keeps a 3:1 contrast (yellow and cyan had 1.1-1.3:1, invisible),
# on the dark theme's #1e1e20 over 5:1
MAX_TRACE_LUMINANCE = 0.29


def _to_linear(c: float) -> float:
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def _from_linear(c: float) -> int:
    return round(255 * (c * 12.92 if c <= 0.0031308 else 1.055 * c ** (1 / 2.4) - 0.055))


def relative_luminance(colour) -> float:
    """WCAG relative luminance of a QColor (0 black .. 1 white)."""
    return 0.2126 * _to_linear(colour.redF()) + 0.7152 * _to_linear(colour.greenF()) + 0.0722 * _to_linear(colour.blueF())


def _cpu_colour(cpu: int, ncpus: int):
    # desaturated so that blue hues stay readable on a dark background, and the light hues (yellow, cyan,
    # green) darkened to MAX_TRACE_LUMINANCE so that they stay readable on the light theme's white too
    colour = pg.intColor(cpu, hues=max(ncpus, 6), values=1, sat=170)
    lum = relative_luminance(colour)
    if lum > MAX_TRACE_LUMINANCE:
        k = MAX_TRACE_LUMINANCE / lum   # in linear light luminance scales with the channels
        colour = pg.mkColor(*(_from_linear(_to_linear(c) * k) for c in (colour.redF(), colour.greenF(), colour.blueF())))
    return colour


#: Line styles that tell apart CPUs of the same hue in the interrupt-rate plot (8 hues, then the next style)
CPU_HUES = 8
CPU_STYLES = (Qt.SolidLine, Qt.DashLine, Qt.DotLine, Qt.DashDotLine)


def cpu_pen(cpu: int, ncpus: int, legend: bool = True, width: float = 1.5):
    """The pen of *cpu*'s trace: up to CPU_HUES CPUs one hue each; with more, and a legend to read them by, the
    hues repeat every CPU_HUES CPUs in the next line style (16 hues side by side were hard to tell apart: CPU 0
    and 15 both red); without a legend (many CPUs) one hue each, solid (dashed pens draw slower)."""
    if ncpus <= CPU_HUES or not legend:
        return pg.mkPen(_cpu_colour(cpu, ncpus), width=width)
    return pg.mkPen(_cpu_colour(cpu % CPU_HUES, CPU_HUES), width=width,
                    style=CPU_STYLES[(cpu // CPU_HUES) % len(CPU_STYLES)])


class DriftPanel(QWidget):
    """Wall-clock drift (clock reading - true time): the kernel's CLOCK_MONOTONIC and each clocksource."""

    jump_requested = Signal(object, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._results = None
        self._series: dict = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._shape = None       # (name, in_use, continuous) of the clocks the curves were made for
        self._checks: dict[str, QCheckBox] = {}
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "simulated time", units="s")
        # short: the bottom dock is ~80 px high and a longer title was cut off with its unit
        self.plot.setLabel("left", "drift", units="s")
        self.plot.getAxis("left").setToolTip("drift = the clock's reading − true (simulated) time")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        side_legend(self.plot)
        self.plot.setClipToView(True)
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.summary_label = QLabel()
        self._check_row = QHBoxLayout()
        self._check_row.addWidget(self.summary_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(self._check_row)
        layout.addWidget(self.plot, 1)

    def set_results(self, results, summary=None, prepared=None) -> None:
        self._results = results
        self._series = prepared.drift if prepared is not None else \
            clock_drift(results) if results is not None and len(results) else {}
        shape = [(name, bool(s["in_use"]), bool(s["continuous"])) for name, s in self._series.items()]
        if self._curves and shape == self._shape:
            # the same clocks as last time (a run's next snapshot): new data into the same curves, keeping the
            # user's check boxes; rebuilding them cost ~35 ms of the GUI thread per refresh during a run
            for name, s in self._series.items():
                self._curves[name].setData(s["time_ns"] / 1e9, s["drift_ns"] / 1e9)
            self._set_summary(summary)
            return
        self._shape = shape
        self.plot.clear()
        self._curves.clear()
        for box in self._checks.values():
            # out of the row now: deleteLater alone left it laid out (and widening the panel) until the event loop ran
            self._check_row.removeWidget(box)
            box.hide()
            box.deleteLater()
        self._checks.clear()
        switches = self._switches(results)
        for i, (name, s) in enumerate(self._series.items()):
            kernel = name == KERNEL_CLOCK
            in_use = "in use at the end" if switches else "in use"
            label = f"{name} (kernel)" if kernel else f"{name} ({in_use})" if s["in_use"] else name
            pen = pg.mkPen(_cpu_colour(i, len(self._series)), width=3 if kernel else 1.5,
                           style=Qt.SolidLine if kernel else Qt.DashLine if s["in_use"] else Qt.SolidLine)
            curve = self.plot.plot(s["time_ns"] / 1e9, s["drift_ns"] / 1e9, pen=pen, name=label)
            self._curves[name] = curve
            box = QCheckBox(name)
            box.setToolTip(f"show {label}: its reading − true time" if s["continuous"] else
                           f"show {label}: it steps by whole ticks, which would hide the ns-scale drift of the others")
            box.toggled.connect(curve.setVisible)
            # jiffies clocks step by a whole tick and would hide the ns-scale drift of
            # the continuous clocks, so they start hidden
            box.setChecked(bool(kernel or s["continuous"]))
            curve.setVisible(box.isChecked())
            self._check_row.addWidget(box)
            self._checks[name] = box
        for t_ns, name in switches:   # where timekeeping changed clocksource (the watchdog, a migration)
            line = pg.InfiniteLine(pos=t_ns / 1e9, angle=90, pen=pg.mkPen((200, 60, 60), width=1, style=Qt.DotLine),
                                   label=f"→ {name}", labelOpts={"position": 0.92, "color": (200, 60, 60)})
            self.plot.addItem(line)
        self._set_summary(summary)

    @staticmethod
    def _switches(results) -> list[tuple[int, str]]:
        """``(time_ns, clocksource)`` of each clocksource switch during the run."""
        if results is None or not len(results):
            return []
        names = [c.get("name", "?") for c in results.meta.get("clocksources", [])]
        rows = np.flatnonzero(results.kind == Kind.CS_SWITCH)
        return [(int(results.time_ns[i]), names[int(results.source[i])] if int(results.source[i]) < len(names) else "?")
                for i in rows]

    def _set_summary(self, summary):
        if self._results is not None and len(self._results) and not any(len(s["time_ns"]) for s in self._series.values()):
            # an empty plot says why (vmi-2007 with lapic-irq-path: no tick updates timekeeping)
            self.summary_label.setText(NO_SAMPLES)
            self.summary_label.setToolTip("")
            return
        if summary is not None and "clocks" in summary:
            text = f"wall drift at end: {format_ns(summary['clocks'].get('wall_drift_ns', 0))}"
            bad = [w for w in summary.get("watchdog_events", []) if w.get("unstable")]
            if bad:
                # the watchdog compares what its CPU's TSC reads (per-CPU warps, a TSC stopped in deep idle), which
                # timekeeping's clock drawn here does not follow: say so beside a "tsc" curve that looks exact
                w = bad[0]
                text += (f"  ·  watchdog: tsc skew {format_ns(w['skew_ns'])} on CPU {w['cpu']} at "
                         f"{w['time_ns'] / 1e9:.3f} s (that CPU's TSC read; see the Kernel log)")
                self.summary_label.setToolTip(
                    "The clocksource watchdog compares the TSC as its CPU reads it (with that CPU's offset, or a TSC\n"
                    "that stopped in deep idle) against the HPET/ACPI PM timer. The curves show the clocks as\n"
                    "timekeeping reads them, so a per-CPU fault shows in the watchdog's skew and not in the drift.")
            else:
                self.summary_label.setToolTip("")
            self.summary_label.setText(text)
        else:
            self.summary_label.setText("" if self._series else "no jiffies updates in this run")

    def series(self) -> dict:
        """What is drawn: ``{clocksource: {"time_ns", "drift_ns", "in_use"}}``."""
        return self._series

    def set_clock_visible(self, name: str, visible: bool) -> None:
        self._checks[name].setChecked(visible)

    def _on_click(self, ev):
        vb = self.plot.getViewBox()
        if ev.button() != Qt.LeftButton or not vb.sceneBoundingRect().contains(ev.scenePos()) or not self._series:
            return
        t_ns = int(round(vb.mapSceneToView(ev.scenePos()).x() * 1e9))
        cpu = int(self._results.meta.get("do_timer_cpu", 0) or 0)
        self.jump_requested.emit(max(0, t_ns), max(0, cpu))


RATE_BINS_NS = (1_000_000, 10_000_000, 100_000_000, 1_000_000_000)


class RatePanel(QWidget):
    """Timer interrupts per second on each CPU over time (ticks and tickless IRQs, binned)."""

    jump_requested = Signal(object, int)
    MAX_LEGEND_CPUS = 16

    def __init__(self, parent=None):
        super().__init__(parent)
        self._results = None
        self._rate = None
        self._bin_ns = None
        self._prepared = None
        self._curves: list[StepCurve] = []
        self._hz_line = None   # the HZ reference line (a periodic tick's rate), re-added after plot.clear()
        self.bin_box = QComboBox()
        self.bin_box.setToolTip("Width of the time bins the interrupts are counted in (auto: from the run's length)")
        self.bin_box.addItem("auto bin", None)
        for b in RATE_BINS_NS:
            self.bin_box.addItem(f"{format_ns(b, 0)} bins", b)
        self.bin_box.currentIndexChanged.connect(lambda _: self.set_bin_ns(self.bin_box.currentData()))
        self.info = QLabel()
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "simulated time", units="s")
        self.plot.setLabel("left", "rate", units="Hz")   # short: "timer interrupts (kHz)" lost its unit in the dock
        self.plot.getAxis("left").setToolTip("timer interrupts per second on each CPU: LOC (its tick device and broadcast IPIs) plus IRQ 0 (the "
                                            "broadcast device's own interrupt on the CPU it is routed to) plus a paravirtual timer's "
                                            "own row (Xen timerN, Hyper-V HVS), as tickscope interrupts rows")
        self.plot.showGrid(x=True, y=True, alpha=0.2)   # the rate curves thin themselves (StepCurve)
        self._legend = side_legend(self.plot)
        bar_over_plot(self, [self.bin_box, self.info], self.plot)

    def set_results(self, results, summary=None, prepared=None) -> None:
        self._results = results
        self._prepared = prepared
        self._refresh()

    def set_bin_ns(self, bin_ns: int | None) -> None:
        """Bin width in ns, or None to pick one giving about 100-1000 bins."""
        if bin_ns is not None and bin_ns <= 0:
            raise ValueError(f"bin_ns must be positive, got {bin_ns}")
        self._bin_ns = bin_ns
        i = self.bin_box.findData(bin_ns)
        if i >= 0:
            self.bin_box.blockSignals(True)
            self.bin_box.setCurrentIndex(i)
            self.bin_box.blockSignals(False)
        self._refresh()

    def effective_bin_ns(self) -> int:
        if self._bin_ns is not None:
            return self._bin_ns
        # at least ~25 ticks per bin, or the rate aliases between k and k+1 ticks per bin
        return aggregates.auto_rate_bin_ns(self._results.meta if self._results is not None else {}, RATE_BINS_NS)

    def rate(self) -> dict | None:
        """What is drawn: :func:`analysis.interrupt_rate`'s dict."""
        return self._rate

    def _refresh(self) -> None:
        res = self._results
        if res is None:
            self.plot.clear()
            self._legend.clear()
            self._curves = []
            self._hz_line = None
            self._rate = None
            return
        bin_ns = self.effective_bin_ns()
        pre = self._prepared
        self._rate = pre.rate if pre is not None and pre.rate_bin_ns == bin_ns else analysis.interrupt_rate(res, bin_ns)
        # the last edge is where the run ends (the last bin may be narrower than the others)
        x = np.append(self._rate["bin_start_ns"], self._rate["bin_end_ns"][-1]) / 1e9
        ncpus = self._rate["rate_hz"].shape[0]
        if len(self._curves) == ncpus and ncpus:
            # the same CPUs (a run's next snapshot): new data into the same curves (rebuilding them and the
            # legend cost ~45 ms of the GUI thread per refresh during a run)
            for cpu, curve in enumerate(self._curves):
                curve.set_steps(x, self._rate["rate_hz"][cpu])
            self._finish(res, ncpus, bin_ns)
            return
        self.plot.clear()
        self._legend.clear()
        self._curves = []
        self._hz_line = None
        for cpu in range(ncpus):
            name = f"CPU {cpu}" if ncpus <= self.MAX_LEGEND_CPUS else None
            # StepCurve, not PlotDataItem: 256 CPUs built in 0.12 s instead of 0.81 s (measured here), and
            # thinned to the view's width without pyqtgraph's step-mode downsampling error (gui/step_curve.py)
            curve = StepCurve(x, self._rate["rate_hz"][cpu], pen=cpu_pen(cpu, ncpus, legend=name is not None),
                              name=name)
            curve.setClickable(True, width=6)
            curve.sigClicked.connect(lambda item, ev, cpu=cpu: self._on_curve_click(cpu, ev))
            self.plot.addItem(curve)
            self._curves.append(curve)
        self._finish(res, ncpus, bin_ns)

    def _finish(self, res, ncpus, bin_ns):
        hz = res.meta.get("hz")
        self._show_hz(hz)
        # rates read against zero: a flat 250 Hz line must not look like a swing; HZ stays in view, so that a
        # tickless CPU's rate reads against the periodic tick it saves
        top = float(self._rate["rate_hz"].max()) if self._rate["rate_hz"].size else 0.0
        self.plot.setYRange(0, max(top, float(hz or 0), 1.0) * 1.1, padding=0)
        self._legend.setVisible(ncpus <= self.MAX_LEGEND_CPUS)   # no names past that: no empty box
        rate = self._rate["rate_hz"]
        spread = ""
        if ncpus > self.MAX_LEGEND_CPUS and rate.size:
            mean = rate.mean(axis=1)   # per CPU over the run: what the lines are too many to tell
            spread = (f"; per-CPU mean {mean.mean():.0f} Hz (min {mean.min():.0f} on CPU {int(mean.argmin())}, "
                      f"max {mean.max():.0f} on CPU {int(mean.argmax())}); click a line for its CPU")
        self.info.setText(f"{ncpus} CPU{'' if ncpus == 1 else 's'}, {format_ns(bin_ns, 0)} bins" + (f", HZ={hz}" if hz else "") + spread)

    def hz_line(self):
        """The dashed HZ reference line (None when the run has no HZ)."""
        return self._hz_line

    def _show_hz(self, hz) -> None:
        if not hz:
            if self._hz_line is not None:
                self.plot.removeItem(self._hz_line)
                self._hz_line = None
            return
        if self._hz_line is None:
            self._hz_line = pg.InfiniteLine(angle=0, movable=False, pen=pg.mkPen((128, 128, 128), width=1, style=Qt.DashLine),
                                            label="", labelOpts={"position": 0.02, "color": (110, 110, 110), "anchors": [(0, 0), (0, 0)]})
            self._hz_line.setZValue(-10)   # under the CPUs' curves
            self.plot.addItem(self._hz_line, ignoreBounds=True)
        self._hz_line.setPos(float(hz))
        self._hz_line.label.setFormat(f"HZ={hz} (a periodic tick)")
        self._hz_line.setToolTip(f"HZ={hz}: the rate of a periodic tick; a CPU below it is tickless part of the time")

    def _on_curve_click(self, cpu: int, ev):
        x = self.plot.getViewBox().mapSceneToView(ev.scenePos()).x()
        self.jump_requested.emit(max(0, int(round(x * 1e9))), cpu)


class ResidencyPanel(QWidget):
    """Idle residency per C-state and steal time per CPU, as stacked bars in % of the run.

    Reads the per-CPU summary keys ``cstate_residency_ns`` (a dict state -> ns or a
    list indexed by state) and ``steal_ns``; until a run provides them it says so.
    """

    jump_requested = Signal(object, int)
    NO_DATA = "no idle/steal data in this run"
    NO_TIME = "no idle/steal time in this run: every CPU was busy throughout"
    STEAL = "steal"
    MAX_TEXT_CPUS = 32   # per-CPU numbers beside the bars up to this many CPUs (the tooltip has them for all)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: dict[str, np.ndarray] = {}
        self._cpu_labels: list[str] = []
        self._colors, self._background = raster.LIGHT_COLORS, (255, 255, 255)
        self._last = None
        self._texts: list[pg.TextItem] = []   # per-CPU numbers right of the bars, when the lanes are tall enough
        self._lines: list[tuple[str, str]] = []   # each CPU's (full, shares-only) line for those texts
        self._tips: list[str] = []
        self._dark = False
        self.message = QLabel(self.NO_DATA)
        self.message.setAlignment(Qt.AlignCenter)
        # the numbers: the bars alone could not tell C6 0.2 % from C8 0.8 %, and the tick layer's counts (tick
        # stops, broadcast wake-ups, IPIs) were nowhere in the app
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.plot = pg.PlotWidget()
        self.plot.setLabel("bottom", "share of run", units="%")
        # the numbers sit right of 100 %, in room added to the x range: the axis counts to 100 only
        self.plot.getAxis("bottom").setTicks([[(v, f"{v}") for v in range(0, 101, 20)], [(v, "") for v in range(10, 100, 20)]])
        self.plot.setLabel("left", "CPU")
        self.plot.getAxis("left").enableAutoSIPrefix(False)   # CPU numbers, not a quantity ("CPU (x0.001)")
        self.plot.invertY(True)
        self.plot.setMouseEnabled(x=False, y=True)
        self._legend = side_legend(self.plot)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.message)
        layout.addWidget(self.info)
        layout.addWidget(self.plot, 1)
        self.plot.hide()
        self.info.hide()
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        # labels and numbers follow the plot's size: the panel's resizes and the side legend gaining columns
        self.plot.getPlotItem().getViewBox().sigResized.connect(self._on_view_resized)

    def _on_view_resized(self, *_args) -> None:
        if self._rows and self._cpu_labels:
            self._label_cpus()   # as many CPU labels as the new height holds, the numbers refitted

    def has_data(self) -> bool:
        return bool(self._rows)

    def shares(self) -> dict[str, np.ndarray]:
        """What is drawn: ``{state or "steal": ns per CPU}`` in stacking order."""
        return self._rows

    def set_theme(self, dark: bool, background: str) -> None:
        """Bars in the C-state shades the raster's lanes show on the *background* colour ("#rrggbb")."""
        self._colors = raster.DARK_COLORS if dark else raster.LIGHT_COLORS
        self._dark = dark
        self._background = pg.mkColor(background).getRgb()[:3]
        if self._last is not None:
            self.set_results(*self._last)

    def state_color(self, name: str) -> tuple[int, int, int]:
        """The bar colour of C-state *name* (of those drawn) or of ``"steal"``: its raster lane shade, opaque.

        Steal too: in red it looked like the raster's lost ticks, while the raster's steal lanes are salmon.
        """
        states = [k for k in self._rows if k != self.STEAL]
        code = raster.BG_STEAL if name == self.STEAL else raster.BG_IDLE + states.index(name)
        shade = raster.background_color(self._colors, code, len(states))
        return raster.composite(shade, self._background)

    def set_results(self, results, summary=None, prepared=None) -> None:
        self._last = (results, summary, prepared)
        cpus = (summary or {}).get("cpus", [])
        until = int((summary or {}).get("until_ns") or (results.meta.get("until_ns", 0) if results is not None else 0))
        self._rows = self._collect(cpus)
        self.plot.clear()
        self._legend.clear()
        self._texts, self._tips, self._lines = [], [], []
        if not self._rows or until <= 0 or not any(v.any() for v in self._rows.values()):
            self.message.setText(self.NO_TIME if self._rows and until > 0 else self.NO_DATA)
            self._rows = {}
            self.message.show()
            self.plot.hide()
            self.info.hide()
            return
        self.message.hide()
        self.plot.show()
        self.info.show()
        y = np.arange(len(cpus), dtype=float)
        left = np.zeros(len(cpus))
        for name, ns in self._rows.items():
            pct = 100.0 * ns / until
            colour = pg.mkColor(*self.state_color(name))
            # a state no CPU entered keeps its legend entry (the machine has it) but says so: a swatch with no bar
            label = name if ns.any() else f"{name} (not entered)"
            item = pg.BarGraphItem(x0=left.copy(), width=pct, y=y, height=0.7, brush=colour, pen=None, name=label)
            self.plot.addItem(item)  # named items join the legend by themselves
            left += pct
        # the end of the scale, with the numbers beyond it
        self.plot.addItem(pg.InfiniteLine(pos=100.0, angle=90, pen=pg.mkPen((150, 150, 150), style=Qt.DashLine)),
                          ignoreBounds=True)
        self._cpu_labels = [f"CPU {c.get('cpu', i)}" for i, c in enumerate(cpus)]
        self._show_numbers(cpus, until)
        self._label_cpus()

    @staticmethod
    def _pct(ns, until) -> str:
        pct = 100.0 * float(ns) / until
        return "0 %" if pct <= 0 else "<0.1 %" if pct < 0.05 else f"{pct:.1f} %"

    def _show_numbers(self, cpus: list[dict], until: int) -> None:
        """The info line (shares averaged over the CPUs, the tick layer's counts summed) and, per CPU, its shares
        and counts: beside its bar while the lanes are tall enough to hold a line of text, and as the bar's tooltip."""
        n = len(cpus)
        states = [k for k in self._rows if k != self.STEAL]
        idle = sum((self._rows[k] for k in states), np.zeros(n))
        counts = (("tick_stops", "tick stops"), ("broadcast_received", "broadcast wake-ups"), ("ipis", "IPIs"),
                  ("deep_refused", "deep state refused"))

        def shares(values) -> str:
            return ", ".join(f"{k} {self._pct(values[k], until)}" for k in self._rows if values[k] > 0) or "none"

        mean = {k: float(v.mean()) for k, v in self._rows.items()}
        text = f"{'mean of ' + str(n) + ' CPUs' if n > 1 else 'CPU ' + str(cpus[0].get('cpu', 0))}: idle " \
               f"{self._pct(idle.mean(), until)} ({shares(mean)})"
        if n > 1:
            lo, hi = int(idle.argmin()), int(idle.argmax())
            text += f"; idle min {self._pct(idle[lo], until)} on {self._cpu_labels[lo]}, max " \
                    f"{self._pct(idle[hi], until)} on {self._cpu_labels[hi]}"
        totals = [f"{label} {sum(int(c.get(key, 0) or 0) for c in cpus):,}" for key, label in counts
                  if any(key in c for c in cpus)]
        if totals:
            text += "  ·  " + ", ".join(totals) + (" (all CPUs)" if n > 1 else "")
        self.info.setText(text)
        fg = (230, 230, 230) if self._dark else (20, 20, 20)
        fill = pg.mkBrush(*self._background, 215)
        for i, c in enumerate(cpus):
            row = {k: v[i] for k, v in self._rows.items()}
            line = f"idle {self._pct(idle[i], until)} ({shares(row)})" if states else shares(row)
            per = ", ".join(f"{label} {int(c.get(key, 0) or 0):,}" for key, label in counts if key in c)
            self._tips.append(f"{self._cpu_labels[i]}: {line}" + (f"\n{per}" if per else ""))
            if n <= self.MAX_TEXT_CPUS:
                full = line + (f"  ·  {per}" if per else "")
                item = pg.TextItem(full, color=fg, fill=fill, anchor=(0, 0.5))
                item.setPos(100.0, float(i))
                self.plot.addItem(item, ignoreBounds=True)
                self._texts.append(item)
                self._lines.append((full, line))

    def cpu_text(self, i: int) -> str:
        """The numbers of the *i*-th CPU's bar (its tooltip)."""
        return self._tips[i]

    def _on_hover(self, pos) -> None:
        vb = self.plot.getPlotItem().getViewBox()
        if not self._tips or not vb.sceneBoundingRect().contains(pos):
            self.plot.setToolTip("")
            return
        i = int(round(vb.mapSceneToView(pos).y()))
        self.plot.setToolTip(self._tips[i] if 0 <= i < len(self._tips) else "")

    def _label_cpus(self):
        height = self.plot.getPlotItem().getViewBox().sceneBoundingRect().height() or 300.0
        self.plot.getAxis("left").setTicks(lane_ticks.lane_ticks(self._cpu_labels, height))
        self._fit_numbers(height)

    #: the numbers' column may take at most this share of the plot's width (the bars keep the rest)
    TEXT_SHARE = 0.6

    def _fit_numbers(self, height: float) -> None:
        """Each CPU's numbers right of its bar, in room the x range adds beyond 100 %, so that they never cover a
        bar's end (right-aligned at 100 %, a box over a 70 % bar made it look 46 % long).  The counts are dropped
        when the full lines would take more than TEXT_SHARE of the width, the numbers when the shares alone would
        or when the lanes are too low for a line each; the tooltip has them all."""
        width = self.plot.getPlotItem().getViewBox().sceneBoundingRect().width() or 600.0
        room = height / max(1, len(self._cpu_labels))
        fits = False
        if self._texts and room >= QFontMetrics(self._texts[0].textItem.font()).height() + 2:
            for pick in (0, 1):
                for item, lines in zip(self._texts, self._lines):
                    item.setText(lines[pick])
                need = max(item.boundingRect().width() for item in self._texts) + 2.0   # px: the box as drawn
                if need <= self.TEXT_SHARE * width:
                    fits = True
                    break
        if not fits:
            for item in self._texts:
                item.setVisible(False)
            self.plot.setXRange(0, 100, padding=0.02)
            return
        gap = 6.0   # px between 100 % and the numbers
        # the x range's data width per pixel: 100 % in the width the numbers leave
        per_px = 100.0 / max(1.0, width - need - gap - 4.0)
        self.plot.setXRange(0, 100 + (need + gap + 4.0) * per_px, padding=0)
        for item in self._texts:
            item.setPos(100.0 + gap * per_px, item.pos().y())
            item.setVisible(True)

    def _collect(self, cpus: list[dict]) -> dict[str, np.ndarray]:
        states: list[str] = []
        per_cpu = []
        for c in cpus:
            res = c.get("cstate_residency_ns")
            if isinstance(res, (list, tuple)):
                res = {f"C{i}": v for i, v in enumerate(res)}
            res = dict(res or {})
            for s in res:
                if s not in states:
                    states.append(s)
            per_cpu.append(res)
        have_steal = any(c.get("steal_ns") for c in cpus)   # a steal bar (and legend entry) only when there is some
        if not states and not have_steal:
            return {}
        rows = {s: np.array([float(r.get(s, 0) or 0) for r in per_cpu]) for s in states}
        if have_steal:
            rows[self.STEAL] = np.array([float(c.get("steal_ns", 0) or 0) for c in cpus])
        return rows

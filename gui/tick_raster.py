"""The tick raster: one lane per CPU over simulated time (the central view).

The pixels come from :mod:`tickscope.sim.raster` (numpy, exact at any zoom)
and are shown as ONE ``ImageItem`` covering the visible window.  Setters only
mark the raster dirty; the image is rebuilt once per event-loop turn, at the
view's pixel size, when something is dirty (the pyqtgraph ImageItem pattern).
Plot x coordinates are seconds of simulated time (floats, only for drawing;
the API takes and returns exact integer ns); lane *i* spans ``y in [i, i+1)``
with CPU 0 at the top.

``TICKSCOPE_PROFILE=1`` prints the time of every raster rebuild.
"""
from __future__ import annotations

import os
import time

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from tickscope.gui import lane_ticks
from tickscope.gui.clock_events import marker_lines
from tickscope.sim import raster
from tickscope.sim.clock_events import clock_events
from tickscope.sim.events import Kind
from tickscope.sim.raster_planes import IncrementalPlanes
from tickscope.sim.results import Results

PROFILE = bool(os.environ.get("TICKSCOPE_PROFILE"))
MIN_SPAN_NS = 100
ZOOM_STEP = 1.5
PAN_FRACTION = 0.25
# Live frames redraw the whole-run overview strip at most 4x/s: it costs as much as the main view in
# follow mode (both show every mark: ~10 ms per 1e6 here), and only its right edge changes.
OVERVIEW_LIVE_EVERY_S = 0.25
NS_SPAN_NS = 1_000_000   # a view narrower than 1 ms gives the pointer's time to the ns (µs digits read alike)
LANE_AXIS_MIN_PX = 110   # the lane label axis: "CPU 255", "lapic-deadline/3" and the "overview" strip's label
LANE_AXIS_MAX_PX = 220
LANE_AXIS_PAD_PX = 12    # the label's offset from the axis line, and a little room


def ns_to_x(t_ns) -> float:
    """Plot x coordinate (seconds) of a time in ns."""
    return t_ns / 1e9


def scen_time(t_ns: int, span_ns: int | None = None) -> str:
    """*t_ns* in seconds to the µs, as the event table and the kernel log write it (``1.234567 s``); to the ns
    (``1.500000769 s``) in a view narrower than :data:`NS_SPAN_NS`, where a tick's latency is read."""
    if span_ns is not None and span_ns < NS_SPAN_NS:
        return f"{t_ns // 10**9}.{t_ns % 10**9:09d} s" if t_ns >= 0 else f"{t_ns / 1e9:.9f} s"
    return f"{t_ns / 1e9:.6f} s"


def x_to_ns(x: float) -> int:
    """Nearest ns of plot x coordinate *x*."""
    return int(round(x * 1e9))


class RasterImageItem(pg.ImageItem):
    """The one image of the raster; knows which time window its pixels show."""

    def __init__(self):
        super().__init__(axisOrder="row-major")
        self.window = (0, 1)


class _RasterPlot:
    """A PlotItem holding one RasterImageItem that re-renders lazily for its view."""

    def __init__(self, plot_item: pg.PlotItem, lane_px_max: int):
        self.plot_item = plot_item
        self.image = RasterImageItem()
        self.image.setZValue(-10)
        plot_item.addItem(self.image)
        self.lane_px_max = lane_px_max
        self.last_ms = 0.0
        self.lane_px = 1   # rows per lane of the last image
        self.cache = IncrementalPlanes()

    def pixel_size(self) -> tuple[int, int]:
        rect = self.plot_item.getViewBox().sceneBoundingRect()
        return max(16, int(rect.width())), max(8, int(rect.height()))

    def render(self, data: raster.RasterData, t0: int, t1: int, colors: dict, highlight=None, nlanes_visible=None):
        start = time.perf_counter()
        width, height = self.pixel_size()
        n = max(1, data.nlanes)
        lane_px = max(1, min(self.lane_px_max, height // max(1, nlanes_visible or n)))
        t0, t1 = int(t0), int(max(t1, t0 + 1))
        img = raster.render(data, t0, t1, width, lane_px, colors, highlight, cache=self.cache)
        self.lane_px = lane_px
        self.image.setImage(img, autoLevels=False, levels=None)
        self.image.setRect(QtCore.QRectF(ns_to_x(t0), 0.0, (t1 - t0) / 1e9, float(n)))
        self.image.window = (t0, t1)
        self.last_ms = (time.perf_counter() - start) * 1e3
        if PROFILE:
            print(f"tickscope: raster {width}x{img.shape[0]} px, {t1 - t0} ns rendered in {self.last_ms:.1f} ms")


class TickRasterView(QtWidgets.QWidget):
    """Per-CPU tick lanes with a ghost grid, outcome colours, hardware lanes and an overview strip.

    Public API used by the measurement tools and panels: :attr:`plot_item`,
    :meth:`set_view_range`, :meth:`view_range`, :attr:`range_changed`,
    :meth:`lane_of_cpu`, :meth:`highlight`, :meth:`center_on`.
    """

    range_changed = QtCore.Signal(object, object)
    """(t0_ns, t1_ns) of the visible window, as Python ints."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setFocusPolicy(QtCore.Qt.StrongFocus)
        self._results: Results | None = None
        self._summary: dict | None = None   # run --json of _results, kept with them
        self._data: raster.RasterData | None = None
        self._show_hardware = False
        self._colors = raster.LIGHT_COLORS
        self._background = (255, 255, 255)   # the plot background the lane shades show over (set_colors)
        self._highlight = None
        self._dirty = False
        self._overview_dirty = False
        self._follow = True      # keep the whole run in view while it grows, until the user zooms
        self._end_ns = 1
        self._lanes_state = None  # (lane names, extent) the axes and limits were last set for
        self._extent_ns = 1      # the whole-run window: the run's end, or RasterData.window_end during a run
        self._planned_ns = 0     # the scenario's run length: the window shown before anything is simulated
        self._overview_at = 0.0
        self._idle_hidden = False   # the lanes' idle shading is mostly under tick marks at this zoom
        self._untick_irqs = 0       # timer interrupts that ran no tick: not drawn in the CPU lanes
        self._clock_events: list = []   # (time_ns, label, tooltip): watchdog verdicts and clocksource switches
        self._clock_lines: list = []    # their markers, in the main view and the overview strip

        self.plot_widget = pg.PlotWidget()
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("bottom", "simulated time", units="s")
        vb = self.plot_item.getViewBox()
        vb.invertY(True)
        vb.setMouseEnabled(x=True, y=False)
        vb.setDefaultPadding(0.0)
        self.plot_item.hideButtons()
        self.plot_item.setMenuEnabled(False)
        # no grid: AxisItem grid lines replayed through QPicture cost ~7 ms per frame at 1600 px (measured)
        self._lane_axis_px = LANE_AXIS_MIN_PX   # the lane labels' axis width, both strips (_fit_lane_axis)
        self.plot_item.getAxis("left").setWidth(self._lane_axis_px)
        # a lane label is centred on its lane: with thin lanes (many CPUs) the top one reaches half a
        # text line above the view, which the widget's edge clipped, so the plot leaves that room
        self.plot_item.layout.setContentsMargins(1, lane_ticks.half_label_height(self.plot_item.getAxis("left")), 1, 1)
        self._main = _RasterPlot(self.plot_item, lane_px_max=48)

        self.overview_widget = pg.PlotWidget()
        self.overview_widget.setFixedHeight(64)
        ov = self.overview_widget.getPlotItem()
        ov.hideButtons()
        ov.setMenuEnabled(False)
        ov.hideAxis("bottom")
        ov.getAxis("left").setWidth(self._lane_axis_px)
        ov.getAxis("left").setTicks([[(0.5, "overview")]])
        ov.getViewBox().invertY(True)
        ov.getViewBox().setMouseEnabled(x=False, y=False)
        ov.getViewBox().setDefaultPadding(0.0)
        self._overview = _RasterPlot(ov, lane_px_max=8)
        # before a run: an empty window over the run's length with 100 ns of axis read as broken
        self.empty_hint = pg.TextItem("not run yet: F5 runs the scenario", anchor=(0.5, 0.5), color=(120, 120, 120))
        self.empty_hint.setZValue(20)
        self.plot_item.addItem(self.empty_hint, ignoreBounds=True)
        self.region = pg.LinearRegionItem(values=(0, 1), brush=pg.mkBrush(100, 150, 255, 50))
        self.region.setZValue(10)
        ov.addItem(self.region)
        self.region.sigRegionChanged.connect(self._on_region_changed)

        self.legend = QtWidgets.QLabel()
        self.legend.setTextFormat(QtCore.Qt.RichText)
        self.legend.setContentsMargins(6, 2, 6, 2)
        # wraps between entries (each is nowrap): on one line it held the raster, and the window, 660 px wide
        self.legend.setWordWrap(True)
        self.legend.setToolTip(
            "Each delivered tick counts once, by its worst outcome: duplicated, else slot in steal, else late, else "
            "on time via broadcast (woken by the broadcast device), else on time.\nSo a late broadcast wake-up counts "
            "as late, and a stopped tick woken off its grid (off the grid) is not judged: run --json's broadcast_received counts "
            "every broadcast wake-up.")

        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.legend)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.overview_widget)

        vb.sigXRangeChanged.connect(self._on_view_changed)
        # which lane and moment is under the pointer: with 256 CPUs a lane is 2 px and every 16th labelled
        self.plot_widget.scene().sigMouseMoved.connect(self._on_hover)
        # only the user's own zoom or pan (mouse drag, wheel) ends follow mode; the keyboard and the
        # overview region go through set_view_range.  (Any range change used to count, and the
        # ViewBox's own adjustments on show/resize/limits switched following off before a run began.)
        vb.sigRangeChangedManually.connect(self._on_user_range)
        vb.sigResized.connect(self._mark_dirty)
        ov.getViewBox().sigResized.connect(self._mark_all_dirty)
        self._timer = QtCore.QTimer(self, singleShot=True, interval=0)
        self._timer.timeout.connect(self.render_now)
        self._update_legend()

    # -- data ------------------------------------------------------------
    def set_results(self, results: Results | None, summary: dict | None = None,
                    data: raster.RasterData | None = None) -> None:
        """Show *results* (a finished or streaming snapshot).

        *data* is the :func:`tickscope.sim.raster.build` of these results when
        the caller already has it (the run controller builds it off the GUI thread).
        """
        self._results = results
        self._summary = summary
        if results is None:
            data = None
        elif data is None or data.hardware != self._show_hardware:
            data = raster.build(results, hardware=self._show_hardware)
        if self._highlight is not None and results is not None and self._highlight[2] != len(results):
            self._highlight = None
        self._set_clock_events(clock_events(results))
        # timer interrupts that ran no tick (a NO_HZ CPU woken for an hrtimer): not drawn in the CPU lanes, where a
        # wake-up of a few µs inside a long sleep is also under the idle shading (laptop-deep-idle: 4 ticks drawn on
        # CPU 0, which woke 60 times)
        self._untick_irqs = int(np.count_nonzero(results.kind == Kind.IRQ)) if results is not None else 0
        self._show(data, overview=True)

    def _set_clock_events(self, events: list) -> None:
        # the watchdog's "Marking clocksource 'tsc' as unstable" and "Switched to clocksource hpet" were only in the
        # kernel log (and the drift panel): the raster, where their effect on the ticks shows, had no mark there
        if events == self._clock_events:
            return
        self._clock_events = events
        ov = self.overview_widget.getPlotItem()
        for line, plot in self._clock_lines:
            plot.removeItem(line)
        self._clock_lines = [(line, self.plot_item) for line in marker_lines(events, position=0.02)]
        self._clock_lines += [(line, ov) for line in marker_lines(events, labelled=False)]
        for line, plot in self._clock_lines:
            plot.addItem(line, ignoreBounds=True)

    def clock_events(self) -> list:
        """The marked moments: ``(time_ns, label, tooltip)`` of each clocksource watchdog verdict and switch."""
        return list(self._clock_events)

    def show_data(self, data: raster.RasterData | None) -> None:
        """Draw *data* without new results: a live frame of a running simulation.

        The run controller sends one per frame (:class:`tickscope.sim.raster_stream.RasterStream`), and the
        full :func:`tickscope.sim.raster.build` when the run stops.
        """
        self._show(data, overview=time.perf_counter() - self._overview_at >= OVERVIEW_LIVE_EVERY_S, live=True)

    def _show(self, data, overview, live=False):
        self._data = data
        self._end_ns = max(1, int(self._data.end_ns) if self._data else 1)
        # while following a live run: the window the run's worker binned planes for (RasterData.window_end)
        extent = int(data.window_end) if live and data is not None and data.window_end else self._end_ns
        empty = self._end_ns <= 1 and not live
        if empty:
            extent = max(extent, self._planned_ns)
        self.empty_hint.setVisible(empty)
        self._extent_ns = max(self._end_ns, extent, MIN_SPAN_NS)   # the view cannot show less (limits must allow it)
        self._update_lanes()
        if self._follow:
            self._set_range(0, self._extent_ns)
        self._update_legend()
        if overview:
            self._overview_dirty = True
        self._mark_dirty()

    def set_planned_span(self, until_ns: int) -> None:
        """The scenario's run length: before anything is simulated the view spans it (not 100 ns)."""
        self._planned_ns = max(0, int(until_ns))
        if self._end_ns <= 1:
            self._show(self._data, overview=True)

    def raster_data(self) -> raster.RasterData | None:
        """What is drawn (mark times and lanes per code, counts)."""
        return self._data

    def set_show_hardware(self, on: bool, data: raster.RasterData | None = None) -> None:
        """Show one lane per clock event device under the CPU lanes; *data* is the shown results' raster data
        built that way when the caller has it (else it is built here)."""
        if on != self._show_hardware:
            self._show_hardware = on
            self.set_results(self._results, self._summary, data=data)

    def results(self) -> Results | None:
        """The results drawn."""
        return self._results

    def show_hardware(self) -> bool:
        return self._show_hardware

    def set_colors(self, colors: dict, background=None, foreground=None) -> None:
        """Theme colours (see :data:`tickscope.sim.raster.LIGHT_COLORS`)."""
        self._colors = colors
        if background is not None:
            self._background = pg.mkColor(background).getRgb()[:3]
        for w in (self.plot_widget, self.overview_widget):
            if background is not None:
                w.setBackground(background)
        if foreground is not None:
            for axis in ("left", "bottom"):
                for item in (self.plot_item, self.overview_widget.getPlotItem()):
                    ax = item.getAxis(axis)
                    ax.setPen(foreground)
                    ax.setTextPen(foreground)
        self._update_legend()
        self._mark_all_dirty()

    def highlight(self, mask) -> None:
        """Highlight the result rows where boolean *mask* is true (``None`` clears)."""
        if mask is None or self._results is None:
            self._highlight = None
        else:
            mask = np.asarray(mask, dtype=bool)
            if mask.shape != (len(self._results),):
                raise ValueError(f"highlight mask has shape {mask.shape}, the results have {len(self._results)} rows")
            t = self._results.time_ns[mask]
            lanes = self._results.cpu[mask].astype(np.int64)
            order = np.argsort(t, kind="stable")
            self._highlight = (t[order], lanes[order], len(self._results))
        self._mark_dirty()

    # -- view ------------------------------------------------------------
    def lane_of_cpu(self, cpu: int) -> float:
        """The y coordinate of the middle of *cpu*'s lane."""
        return float(cpu) + 0.5

    def view_range(self) -> tuple[int, int]:
        """The visible window ``(t0_ns, t1_ns)``."""
        (x0, x1), _ = self.plot_item.getViewBox().viewRange()
        return x_to_ns(x0), x_to_ns(x1)

    def following(self) -> bool:
        """True while the view follows the run by itself (fitted, or growing with a live run): its range
        changes are not the user's."""
        return self._follow

    def set_view_range(self, t0_ns: int, t1_ns: int) -> None:
        """Show simulated time ``[t0_ns, t1_ns]`` (at least 100 ns wide)."""
        self._follow = False
        self._set_range(t0_ns, t1_ns)

    def fit(self) -> None:
        """Show the whole run (and keep following it while it grows)."""
        self._follow = True
        self._set_range(0, self._extent_ns)

    def zoom(self, factor: float, center_ns: float | None = None) -> None:
        """Zoom in (*factor* > 1) or out around *center_ns* (default: the middle)."""
        t0, t1 = self.view_range()
        c = (t0 + t1) / 2 if center_ns is None else center_ns
        half = max(MIN_SPAN_NS / 2, (t1 - t0) / 2 / factor)
        self.set_view_range(int(c - half), int(c + half))

    def pan(self, fraction: float) -> None:
        """Move the window by *fraction* of its width (negative = earlier)."""
        t0, t1 = self.view_range()
        d = int((t1 - t0) * fraction)
        self.set_view_range(t0 + d, t1 + d)

    def center_on(self, time_ns: int, cpu: int | None = None) -> None:
        """Centre the window on *time_ns*, zooming in to ~20 ticks if zoomed far out."""
        t0, t1 = self.view_range()
        span = t1 - t0
        tick = int(self._results.meta.get("tick_nsec", 4_000_000)) if self._results is not None else 4_000_000
        if span > 200 * tick:
            span = 20 * tick
        self.set_view_range(int(time_ns) - span // 2, int(time_ns) + span - span // 2)
        if cpu is not None and self._results is not None and cpu >= 0:
            self._highlight = (np.array([int(time_ns)], dtype=np.int64), np.array([int(cpu)], dtype=np.int64),
                               len(self._results))
            self._mark_dirty()

    def _set_range(self, t0, t1):
        t1 = max(int(t1), int(t0) + MIN_SPAN_NS)
        self.plot_item.getViewBox().setXRange(ns_to_x(t0), ns_to_x(t1), padding=0.0)
        self._on_view_changed()

    def _on_user_range(self, *args):
        self._follow = False
        # the range was announced before the ViewBox said it was the user's (while still following): again,
        # now that it is
        self.range_changed.emit(*self.view_range())

    def _on_view_changed(self, *args):
        t0, t1 = self.view_range()
        if self.empty_hint.isVisible():
            y0, y1 = self.plot_item.getViewBox().viewRange()[1]
            self.empty_hint.setPos(ns_to_x((t0 + t1) // 2), (y0 + y1) / 2)
        self.region.blockSignals(True)
        self.region.setRegion((ns_to_x(t0), ns_to_x(t1)))
        self.region.blockSignals(False)
        self._mark_dirty()
        self.range_changed.emit(t0, t1)

    def _on_region_changed(self):
        lo, hi = self.region.getRegion()
        self.set_view_range(x_to_ns(lo), x_to_ns(hi))

    def resizeEvent(self, event):  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self._data is not None:
            self._update_lanes()   # as many lane labels as the new height holds

    def _update_lanes(self):
        names = self._data.lane_names if self._data else [raster.cpu_lane_name(0)]
        height = self.plot_item.getViewBox().sceneBoundingRect().height() or 400.0
        state = (tuple(names), self._extent_ns, lane_ticks.label_step(len(names), height))
        if state == self._lanes_state:
            return  # a live frame of the same lanes and window: touching the axes would make them regenerate
        self._lanes_state = state
        n = len(names)
        ticks = lane_ticks.lane_ticks(names, height, offset=0.5)
        self.plot_item.getAxis("left").setTicks(ticks)
        self._fit_lane_axis([text for _, text in ticks[0]])
        self.plot_item.getViewBox().setYRange(0, n, padding=0.0)
        self.plot_item.getViewBox().setLimits(xMin=ns_to_x(-self._extent_ns * 0.05 - 1), xMax=ns_to_x(self._extent_ns * 1.05 + 1),
                                              minXRange=ns_to_x(MIN_SPAN_NS))
        ovp = self.overview_widget.getPlotItem()
        ovp.getAxis("left").setTicks([[(n / 2, "overview")]])   # mid-strip: at lane 0 it met the clipped top edge
        ovb = ovp.getViewBox()
        ovb.setYRange(0, n, padding=0.0)
        ovb.setXRange(0, ns_to_x(self._extent_ns), padding=0.0)

    def _fit_lane_axis(self, labels: list[str]) -> None:
        # pyqtgraph skips a tick label wider than its axis without a word: with 110 px, hyperv's hardware lanes
        # ("Hyper-V clockevent/0") and many-cores' past lapic-deadline/99 had none.  Both strips keep one width,
        # so that their time axes line up.
        axis = self.plot_item.getAxis("left")
        metrics = QtGui.QFontMetrics(axis.style.get("tickFont") or axis.font())
        need = max([metrics.horizontalAdvance(t) for t in labels] + [0]) + LANE_AXIS_PAD_PX
        width = min(LANE_AXIS_MAX_PX, max(LANE_AXIS_MIN_PX, need))
        if width != self._lane_axis_px:
            self._lane_axis_px = width
            axis.setWidth(width)
            self.overview_widget.getPlotItem().getAxis("left").setWidth(width)

    def hover_text(self, scene_pos) -> str:
        """``CPU n · t s · idle C3`` (the lane's name, the simulated time and, on a CPU lane, what the CPU was
        doing) at *scene_pos*, or "" off the lanes."""
        vb = self.plot_item.getViewBox()
        data = self._data
        if data is None or not vb.sceneBoundingRect().contains(scene_pos):
            return ""
        p = vb.mapSceneToView(scene_pos)
        lane = int(np.floor(p.y()))
        if not 0 <= lane < data.nlanes or p.x() < 0:
            return ""
        t_ns = x_to_ns(p.x())
        t0, t1 = self.view_range()
        text = f"{data.lane_names[lane]} · {scen_time(t_ns, t1 - t0)}"
        if lane < data.ncpu_lanes and t_ns < data.end_ns:
            # zoomed out, the lane's idle shading is under its tick marks (the legend says so): the state is read here
            text += f" · {raster.state_at(data.spans, data.cstate_names, lane, t_ns)}"
        return text

    def _on_hover(self, scene_pos) -> None:
        text = self.hover_text(scene_pos)
        if text:
            QtWidgets.QToolTip.showText(QtGui.QCursor.pos(), text, self.plot_widget)
        else:
            QtWidgets.QToolTip.hideText()

    # -- rendering -------------------------------------------------------
    def _mark_all_dirty(self, *args):
        self._overview_dirty = True
        self._mark_dirty()

    def _mark_dirty(self, *args):
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def live_widths(self) -> tuple[int, int]:
        """Pixel widths of the main view and the overview strip: what a run's worker bins planes for
        (it bins the whole-run window, which is what the views show while following a live run)."""
        return self._main.pixel_size()[0], self._overview.pixel_size()[0]

    def render_now(self) -> None:
        """Rebuild both images now if anything changed (normally done on the next event-loop turn)."""
        if not self._dirty:
            return
        self._dirty = False
        if self._data is None or self._data.nlanes == 0:
            self._main.image.clear()
            self._overview.image.clear()
            return
        t0, t1 = self.view_range()
        hl = self._highlight[:2] if self._highlight is not None else None
        self._main.render(self._data, t0, t1, self._colors, hl)
        hidden = self._idle_under_marks()
        if hidden != self._idle_hidden:
            self._idle_hidden = hidden
            self._update_legend()
        if self._overview_dirty:  # the whole-run strip only changes with the data, size or colours
            self._overview_dirty = False
            self._overview.render(self._data, 0, self._extent_ns, self._colors)
            self._overview_at = time.perf_counter()

    def idle_hidden(self) -> bool:
        """True when marks cover most of the CPU lanes at this zoom, so that their idle shading hardly shows."""
        return self._idle_hidden

    def _idle_under_marks(self) -> bool:
        # a pixel column holding a tick shows the tick, whatever the CPU's idle state: zoomed out over a mixed load
        # (many-cores, 60 s; bare-metal-hpet-c3, 20 s) every column has one and the lanes read as always ticking
        # while the CPUs were half or more of the time in C6/C3.  The legend says so (see Idle residency).
        data = self._data
        if data is None or not any(code != raster.BG_STEAL for code in data.spans) or not data.ncpu_lanes:
            return False
        img = self._main.image.image
        lane_px = self._main.lane_px
        if img is None or img.shape[0] < data.nlanes * lane_px:
            return False
        _, start = raster.lane_bands(lane_px)
        t0, t1 = self._main.image.window
        simulated = int(np.ceil(img.shape[1] * min(1.0, max(0.0, (int(data.end_ns) - t0) / max(1, t1 - t0)))))
        if simulated == 0:   # a live run's window reaches past its end: only the part already simulated counts
            return False
        rows = np.ascontiguousarray(img[start::lane_px][:data.ncpu_lanes, :simulated]).view(np.uint32)   # a mark-band row per CPU
        c = self._colors
        covering = [c[code] for code in raster.MARK_NAMES] + [c["ghost"], c["highlight"]]
        covering = np.asarray(covering, dtype=np.uint8).reshape(-1, 4).view(np.uint32).ravel()
        return bool(np.isin(rows, covering).mean() > 0.5)

    def last_render_ms(self) -> float:
        return self._main.last_ms

    def _update_legend(self):
        c = self._colors

        def swatch(code_or_key, text):
            r, g, b, _ = c[code_or_key]
            return f'<span style="white-space:nowrap"><span style="color:rgb({r},{g},{b})">&#9608;</span>&nbsp;{text}</span>'

        def background(code, text):
            # lane backgrounds are translucent: show them as they look over the plot background
            r, g, b = raster.composite(raster.background_color(c, code, len(data.cstate_names)), self._background)
            return (f'<span style="white-space:nowrap"><span style="background-color:rgb({r},{g},{b})">'
                    f'&nbsp;&nbsp;&nbsp;</span>&nbsp;{text}</span>')

        data = self._data
        counts = data.counts if data else {}
        items = [swatch("ghost", f"expected {counts.get('expected', 0)}")]
        for code in (raster.MARK_ON_TIME, raster.MARK_BROADCAST, raster.MARK_LATE, raster.MARK_STEAL,
                     raster.MARK_DUPLICATE, raster.MARK_LOST):
            items.append(swatch(code, f"{raster.MARK_NAMES[code]} {counts.get(code, 0)}"))
        unjudged = raster.unjudged_count(counts)
        if unjudged:
            items.append(swatch("ghost", f"not judged yet {unjudged} (due within the late threshold of the end)"))
        if counts.get(raster.MARK_OFF_GRID):
            items.append(swatch(raster.MARK_OFF_GRID, f"off the grid (a stopped tick woken off its grid, not judged) "
                                                      f"{counts[raster.MARK_OFF_GRID]}"))
        if self._untick_irqs and not self._show_hardware:
            items.append(f'<span style="white-space:nowrap">timer interrupts without a tick {self._untick_irqs} '
                         f'(not drawn: Ctrl+H shows them in the device lanes)</span>')
        if self._show_hardware:
            items.append(swatch(raster.MARK_HW_FIRE, f"device interrupt {counts.get(raster.MARK_HW_FIRE, 0)}"))
            if counts.get(raster.MARK_HW_ETIME):
                items.append(swatch(raster.MARK_HW_ETIME, f"-ETIME {counts[raster.MARK_HW_ETIME]}"))
        rows = ["&nbsp;&nbsp; ".join(items)]
        if data is not None and data.spans:
            bg = [background(code, f"idle {data.cstate_names[code - raster.BG_IDLE]}")
                  for code in sorted(data.spans) if code != raster.BG_STEAL]
            if raster.BG_STEAL in data.spans:
                bg.append(background(raster.BG_STEAL, "steal (vCPU descheduled)"))
            note = ("&nbsp;&nbsp; <i>— at this zoom mostly under the tick marks: zoom in, or see Idle residency</i>"
                    if self._idle_hidden else "")
            rows.append("lane background:&nbsp;&nbsp;" + "&nbsp;&nbsp; ".join(bg) + note)
        self.legend.setText("<br>".join(rows))

    # -- keyboard --------------------------------------------------------
    def keyPressEvent(self, event: QtGui.QKeyEvent):  # noqa: N802 - Qt override
        key = event.key()
        if key in (QtCore.Qt.Key_Plus, QtCore.Qt.Key_Equal):
            self.zoom(ZOOM_STEP)
        elif key in (QtCore.Qt.Key_Minus, QtCore.Qt.Key_Underscore):
            self.zoom(1 / ZOOM_STEP)
        elif key == QtCore.Qt.Key_Left:
            self.pan(-PAN_FRACTION)
        elif key == QtCore.Qt.Key_Right:
            self.pan(PAN_FRACTION)
        elif key == QtCore.Qt.Key_Home:
            self.fit()
        else:
            super().keyPressEvent(event)

"""Publication exports of the views: PNG, SVG and PDF drawn with one QPainter routine.

Every format is painted by :func:`paint_figure` in the same coordinate system
-- 1 unit = 1 typographic point (1/72 in) -- with fonts sized in points, so a
figure has the same layout, fonts and sizes in every format.  PNG rasterises
at the chosen DPI (:data:`REFERENCE_DPI` = 96 makes a ``--size 1200x750`` PNG
exactly 1200 x 750 pixels); SVG (QSvgGenerator) and PDF (QPdfWriter) stay
vector with text as ``<text>`` / PDF text.  pyqtgraph's own exporters are not
used: its SVG exporter rasterises image items and mis-places text.

Views
-----
raster
    One lane per CPU: a grey *ghost* comb of expected tick slots above the mark
    band, one vertical mark per handled tick coloured by outcome, lost slots in
    red.  Exact (one path element per mark) up to :data:`EXACT_MARK_LIMIT`
    marks in the window; above it the window is binned per output pixel column
    (``raster.planes``): a column with any tick gets a mark, the most severe
    outcome in the column wins, so no tick -- and above all no lost tick -- is
    ever dropped; the legend says "binned" and gives the column width.
histograms
    Tick interval and tick latency on log-spaced bins (10 per decade) with the
    underflow and overflow counts drawn as separate bars at either end.
drift
    Kernel wall clock minus true time, sampled at jiffies updates.
graph
    The architecture model bound to the run's backend (linux-2.6.21 for
    vmi-2007, linux-2.6.22 for vmi-clockevents, else linux-6.x), drawn by
    :func:`tickscope.sim.graph.export.to_svg`, reachout edges in red.
all
    The four in a 2 x 2 grid (PNG, SVG), or one page per view (PDF).

Markers (vertical dashed lines with names) appear on time-axis views, a
caption (title and body) heads every figure.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg

from tickscope.sim import __version__, analysis, raster
from tickscope.sim.atomic import atomic_path
from tickscope.sim.demo import model_for_backend
from tickscope.sim.errors import InputError
from tickscope.sim.events import Kind
from tickscope.sim.export import ExportCancelled, report_progress
from tickscope.sim.export.summary import format_ns

VIEWS = ("raster", "histograms", "drift", "graph")
VIEW_CHOICES = VIEWS + ("all",)
CAPTION_ONLY = "caption"
"""A title card: only the caption (demo steps before the first run)."""
REFERENCE_DPI = 96
"""``--size`` is in pixels at this DPI; a PNG at ``--dpi 96`` has exactly that many pixels."""
DEFAULT_SIZE_PX = (1200, 750)
PAGES = {"a4": (841.89, 595.28), "slide-16x9": (960.0, 540.0)}
"""Page sizes in points: A4 landscape, and a 13.33 x 7.5 in widescreen slide."""
MIN_DPI, MAX_DPI = 36, 1200
MAX_PNG_PIXELS = 120_000_000
EXACT_MARK_LIMIT = 200_000
"""Above this many marks in the window the raster is binned per pixel column; at this size
an exact SVG is ~5 MB and takes ~1 s to build."""

FONT_FAMILY = "DejaVu Sans"
TITLE_PT, SUBTITLE_PT, BODY_PT, LABEL_PT, TICK_PT, FOOT_PT = 13, 8, 10, 9, 8, 7
MARGIN_PT = 18.0
INK = QtGui.QColor(30, 30, 30)
GRID = QtGui.QColor(225, 225, 225)
MARKER_COLOR = QtGui.QColor(0, 120, 200)
HIGHLIGHT_COLOR = "#9400d3"
_LEGEND_ORDER = (raster.MARK_ON_TIME, raster.MARK_LATE, raster.MARK_DUPLICATE, raster.MARK_LOST,
                 raster.MARK_BROADCAST, raster.MARK_STEAL)


@dataclass
class Caption:
    """A figure caption: a bold title and an optional body paragraph."""

    title: str
    body: str = ""


@dataclass
class PlotOptions:
    """How to draw a figure.

    Attributes
    ----------
    width_pt, height_pt : float
        Figure size in points (1/72 in).
    dpi : int
        Resolution of PNG output (and of the raster's bins in binned mode).
    markers : list of dict
        ``{"time_ns", "name"}`` drawn on the time-axis views.
    caption : Caption, optional
        Title and body; defaults to the scenario's name and description.
    window : (int, int), optional
        Raster time window ``[t0, t1)`` in ns; default the whole run.
    highlight : dict
        ``{"nodes": [...], "edges": [[src, dst], ...]}`` emphasised in the graph.
    reveal_ns : int, optional
        Only records up to this time are drawn (video playhead); None = all.
    """

    width_pt: float = DEFAULT_SIZE_PX[0] * 72 / REFERENCE_DPI
    height_pt: float = DEFAULT_SIZE_PX[1] * 72 / REFERENCE_DPI
    dpi: int = REFERENCE_DPI
    markers: list = field(default_factory=list)
    caption: Caption | None = None
    window: tuple | None = None
    highlight: dict = field(default_factory=dict)
    reveal_ns: int | None = None
    compare: "PlotSource | None" = None
    """Run B: the raster view shows A above B."""


def parse_size(text: str) -> tuple[float, float]:
    """``WxH`` in pixels at 96 DPI -> (width_pt, height_pt); InputError naming the problem."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
    if not m:
        raise InputError(f"--size: {text!r} is not WIDTHxHEIGHT in pixels (e.g. 1200x750)")
    w, h = int(m.group(1)), int(m.group(2))
    if not (160 <= w <= 16384 and 120 <= h <= 16384):
        raise InputError(f"--size: {w}x{h} is out of range (allowed 160..16384 x 120..16384)")
    return w * 72 / REFERENCE_DPI, h * 72 / REFERENCE_DPI


def page_size(name: str) -> tuple[float, float]:
    """A named page (``a4`` landscape, ``slide-16x9``) in points."""
    if name not in PAGES:
        raise InputError(f"--page: {name!r} is not a known page (use {', '.join(PAGES)})")
    return PAGES[name]


def check_dpi(dpi) -> int:
    if isinstance(dpi, bool) or not isinstance(dpi, int) or not MIN_DPI <= dpi <= MAX_DPI:
        raise InputError(f"--dpi: {dpi!r} is out of range (allowed {MIN_DPI}..{MAX_DPI})")
    return dpi


class PlotSource:
    """One run's results and everything derived from them for plotting (computed once, lazily).

    Parameters
    ----------
    results : Results
        The run (stored in a recording or fresh from the engine).
    name : str, optional
        Shown in subtitles; defaults to the scenario name in ``meta``.
    """

    def __init__(self, results, name: str | None = None, scenario_toml: str | None = None):
        self.results = results
        self.meta = results.meta
        self.name = name or self.meta.get("scenario_name") or "run"
        self.scenario_toml = scenario_toml if scenario_toml is not None else self.meta.get("scenario", "")

    @cached_property
    def summary(self) -> dict:
        return analysis.summarize(self.results)

    @cached_property
    def raster_data(self) -> raster.RasterData:
        return raster.build(self.results)

    @property
    def end_ns(self) -> int:
        return int(self.meta.get("now_ns") or self.meta.get("until_ns") or 1)

    @cached_property
    def interval_hist(self) -> dict:
        return analysis.log_histogram(analysis.tick_intervals(self.results))

    @cached_property
    def latency_hist(self) -> dict:
        return analysis.log_histogram(analysis.tick_outcomes(self.results)["latency_ns"])

    @cached_property
    def drift(self) -> dict:
        if not self.meta.get("clocksources") or not np.any(self.results.kind == Kind.JIFFIES):
            return {"time_ns": np.zeros(0, np.int64), "drift_ns": np.zeros(0, np.int64)}
        return analysis.drift_series(self.results)

    @property
    def backend(self) -> str:
        return str(self.meta.get("backend") or "none")

    model_override: str | None = None
    """Set to show another architecture model than the backend's (demo highlight steps)."""

    @property
    def model_name(self) -> str:
        return self.model_override or model_for_backend(self.meta.get("backend"))

    def _graph_for(self, name):
        from tickscope.sim.graph.archmodel import load_model

        cache = self.__dict__.setdefault("_graphs", {})
        if name not in cache:
            cache[name] = load_model(name)
        return cache[name]

    @property
    def graph(self):
        return self._graph_for(self.model_name)

    def graph_svg(self, highlight: dict | None = None) -> str:
        from tickscope.sim.graph.export import to_svg

        return highlight_svg(to_svg(self.graph), highlight or {})

    def subtitle(self) -> str:
        m = self.meta
        parts = [self.name, f"backend {self.backend}"]
        if "seed" in m:
            parts.append(f"seed {m['seed']}")
        if m.get("until_ns"):
            parts.append(f"{format_ns(m['until_ns'], 9)} simulated")
        for key, label in (("hz", "HZ="), ("clocksource", "clocksource ")):
            if m.get(key):
                parts.append(f"{label}{m[key]}")
        changes = _scenario_changes(self.scenario_toml)
        if changes:
            parts.append("core changes: " + ", ".join(changes))
        return "  \u00b7  ".join(str(p) for p in parts)


def _scenario_changes(toml_text: str) -> list[str]:
    import tomllib

    try:
        return list(tomllib.loads(toml_text or "").get("core", {}).get("changes", []))
    except (tomllib.TOMLDecodeError, AttributeError):
        return []


def highlight_svg(svg: str, highlight: dict) -> str:
    """Emphasise nodes and edges (``{"nodes": [...], "edges": [[src, dst]]}``) in a graph SVG."""
    nodes = set(highlight.get("nodes") or ())
    edges = {tuple(e) for e in (highlight.get("edges") or ())}
    if not nodes and not edges:
        return svg
    ET.register_namespace("", "http://www.w3.org/2000/svg")
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    for g in root.iter(f"{ns}g"):
        if g.get("class") == "node" and g.get("data-id") in nodes:
            for c in g.iter(f"{ns}circle"):
                c.set("r", "6")
                c.set("fill", HIGHLIGHT_COLOR)
                c.set("stroke", "#4b006e")
            for t in g.iter(f"{ns}text"):
                t.set("font-weight", "bold")
    for p in root.iter(f"{ns}path"):
        title = p.find(f"{ns}title")
        if title is None or not title.text:
            continue
        m = re.match(r"[\w-]+: (\S+) -> (\S+)", title.text)
        if m and (m.group(1), m.group(2)) in edges:
            p.set("stroke", HIGHLIGHT_COLOR)
            p.set("stroke-width", "3")
    return ET.tostring(root, encoding="unicode")


# -- drawing helpers ---------------------------------------------------------------

def _font(size_pt: int, bold: bool = False) -> QtGui.QFont:
    # Pixel sizes in a 1-unit-per-point painter: identical text size on every device.
    f = QtGui.QFont(FONT_FAMILY)
    f.setPixelSize(int(size_pt))
    f.setBold(bold)
    return f


def _pen(color, width: float = 0.8, style=QtCore.Qt.SolidLine) -> QtGui.QPen:
    pen = QtGui.QPen(QtGui.QColor(color), width, style)
    pen.setCapStyle(QtCore.Qt.FlatCap)
    return pen


def _text(p: QtGui.QPainter, x: float, y: float, text: str, size: int = LABEL_PT, align="left", bold=False,
          color=INK) -> float:
    """Draw one line with its baseline at *y*; returns its width."""
    p.setFont(_font(size, bold))
    p.setPen(_pen(color))
    w = QtGui.QFontMetricsF(p.font()).horizontalAdvance(text)
    dx = {"left": 0.0, "center": -w / 2, "right": -w}[align]
    p.drawText(QtCore.QPointF(x + dx, y), text)
    return w


def _wrap(text: str, size: int, width: float) -> list[str]:
    fm = QtGui.QFontMetricsF(_font(size))
    lines = []
    for para in str(text).splitlines() or [""]:
        line = ""
        for word in para.split():
            trial = f"{line} {word}".strip()
            if line and fm.horizontalAdvance(trial) > width:
                lines.append(line)
                line = word
            else:
                line = trial
        lines.append(line)
    return lines


def nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    """Round tick values covering ``[lo, hi]``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _time_unit(span_ns: float) -> tuple[float, str]:
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "\u00b5s")):
        if span_ns >= 2 * scale:
            return scale, unit
    return 1.0, "ns"


def _fmt_tick(v: float) -> str:
    return f"{v:.6g}"


def _axes(p, rect: QtCore.QRectF, xlo, xhi, xlabel, ylo=None, yhi=None, ylabel="", xfmt=None, yfmt=None, xticks=None):
    """Frame, grid, ticks and labels of a plot area."""
    p.setPen(_pen(INK, 0.8))
    p.setBrush(QtCore.Qt.NoBrush)
    p.drawRect(rect)
    ticks = xticks if xticks is not None else nice_ticks(xlo, xhi)
    for v in ticks:
        if xhi == xlo or not xlo <= v <= xhi:
            continue
        x = rect.left() + (v - xlo) / (xhi - xlo) * rect.width()
        p.setPen(_pen(INK, 0.6))
        p.drawLine(QtCore.QPointF(x, rect.bottom()), QtCore.QPointF(x, rect.bottom() + 3))
        _text(p, x, rect.bottom() + 4 + TICK_PT, (xfmt or _fmt_tick)(v), TICK_PT, "center")
    _text(p, rect.center().x(), rect.bottom() + 8 + 2 * TICK_PT + 2, xlabel, LABEL_PT, "center")
    if ylo is not None and yhi is not None and yhi > ylo:
        for v in nice_ticks(ylo, yhi, 5):
            y = rect.bottom() - (v - ylo) / (yhi - ylo) * rect.height()
            p.setPen(_pen(GRID, 0.5))
            p.drawLine(QtCore.QPointF(rect.left(), y), QtCore.QPointF(rect.right(), y))
            p.setPen(_pen(INK, 0.6))
            p.drawLine(QtCore.QPointF(rect.left() - 3, y), QtCore.QPointF(rect.left(), y))
            _text(p, rect.left() - 5, y + TICK_PT / 2 - 1, (yfmt or _fmt_tick)(v), TICK_PT, "right")
        if ylabel:
            p.save()
            p.translate(rect.left() - 44, rect.center().y())
            p.rotate(-90)
            _text(p, 0, 0, ylabel, LABEL_PT, "center")
            p.restore()


def _markers(p, rect: QtCore.QRectF, markers, t0: float, t1: float):
    for m in markers:
        t = float(m.get("time_ns", -1))
        if not t0 <= t <= t1 or t1 <= t0:
            continue
        x = rect.left() + (t - t0) / (t1 - t0) * rect.width()
        p.setPen(_pen(MARKER_COLOR, 1.0, QtCore.Qt.DashLine))
        p.drawLine(QtCore.QPointF(x, rect.top()), QtCore.QPointF(x, rect.bottom()))
        _text(p, x + 2, rect.top() + TICK_PT + 1, str(m.get("name", "")), TICK_PT, bold=True, color=MARKER_COLOR)


def _no_data(p, rect, text):
    _text(p, rect.center().x(), rect.center().y(), text, LABEL_PT, "center", color=QtGui.QColor(120, 120, 120))


# -- the views ---------------------------------------------------------------------

def _window(src: PlotSource, opts: PlotOptions) -> tuple[int, int]:
    if opts.window:
        t0, t1 = int(opts.window[0]), int(opts.window[1])
    else:
        t0, t1 = 0, max(1, src.end_ns) + 1  # [0, end]: a record at the very end is drawn too
    return t0, max(t1, t0 + 1)


def raster_window_marks(src: PlotSource, t0: int, t1: int) -> dict:
    """Marks inside ``[t0, t1)``: mark code -> (time_ns, lane); ``"expected"`` -> the ghost slots."""
    data = src.raster_data
    out = {}
    for key, (times, lanes) in list(data.marks.items()) + [("expected", data.ghost)]:
        i0, i1 = np.searchsorted(times, t0, "left"), np.searchsorted(times, t1, "left")
        out[key] = (times[i0:i1], lanes[i0:i1])
    return out


def paint_raster(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions, title="Tick raster", compact=False):
    """The tick raster; *compact* (compare mode) folds the legend into the title and drops the axis label."""
    data = src.raster_data
    t0, t1 = _window(src, opts)
    reveal = t1 if opts.reveal_ns is None else max(t0, min(t1, int(opts.reveal_ns)))
    if compact:
        c = data.counts
        title += (f"  \u2014  on time {c.get(raster.MARK_ON_TIME, 0)}, late {c.get(raster.MARK_LATE, 0)}, "
                  f"lost {c.get(raster.MARK_LOST, 0)}")
    _text(p, rect.left(), rect.top() + LABEL_PT + 1, title, LABEL_PT + 1, bold=True)
    label_w = 40.0
    below = TICK_PT + 8 if compact else 2 * TICK_PT + LABEL_PT + 26
    area = QtCore.QRectF(rect.left() + label_w, rect.top() + LABEL_PT + 8, rect.width() - label_w - 4,
                         max(8.0, rect.height() - LABEL_PT - 8 - below))
    n = max(1, data.ncpu_lanes)
    lane_h = area.height() / n
    scale, unit = _time_unit(t1 - t0)
    for lane in range(n):
        top = area.top() + lane * lane_h
        if lane % 2:
            p.fillRect(QtCore.QRectF(area.left(), top, area.width(), lane_h), QtGui.QColor(0, 0, 0, 10))
        name = data.lane_names[lane] if lane < len(data.lane_names) else f"CPU{lane}"
        _text(p, area.left() - 4, top + lane_h / 2 + TICK_PT / 2 - 1, name, TICK_PT, "right")
    window = raster_window_marks(src, t0, reveal)
    total = sum(int(v[0].size) for v in window.values())
    binned = total > EXACT_MARK_LIMIT
    colors = raster.LIGHT_COLORS
    ghost_top, ghost_bot, mark_top = 0.12, 0.36, 0.42

    def x_of(times):
        return area.left() + (times - t0).astype(np.float64) * (area.width() / (t1 - t0))

    if binned:
        cols = max(1, int(area.width() * opts.dpi / 72))
        planes = raster.planes(data, t0, t1, cols)
        colw = area.width() / cols
        reveal_col = cols if reveal >= t1 else int((reveal - t0) * cols // (t1 - t0))
        for lane in range(min(n, planes["marks"].shape[0])):
            top = area.top() + lane * lane_h
            for code_row, y0, y1, key in ((planes["ghost"][lane].astype(np.uint8), ghost_top, ghost_bot, "ghost"),
                                          (planes["marks"][lane], mark_top, 0.96, None)):
                row = code_row[:reveal_col]
                change = np.flatnonzero(np.diff(np.r_[0, row, 0]))
                for a, b in zip(change[:-1], change[1:]):
                    code = int(row[a])
                    if code == 0:
                        continue
                    rgba = colors["ghost"] if key == "ghost" else colors[code]
                    h0 = y0 if key == "ghost" or code != raster.MARK_LOST else ghost_top
                    p.fillRect(QtCore.QRectF(area.left() + a * colw, top + h0 * lane_h, (b - a) * colw,
                                             (y1 - h0) * lane_h), QtGui.QColor(*rgba))
    else:
        order = ["expected"] + sorted(k for k in window if k != "expected")
        for key in order:
            times, lanes = window[key]
            if times.size == 0 or key not in ("expected",) + tuple(raster.MARK_NAMES):
                continue
            rgba = colors["ghost"] if key == "expected" else colors[key]
            if key == "expected":
                y0, y1 = ghost_top, ghost_bot
            elif key == raster.MARK_LOST:
                y0, y1 = ghost_top, 0.96
            else:
                y0, y1 = mark_top, 0.96
            xs = x_of(times)
            tops = area.top() + lanes * lane_h
            path = QtGui.QPainterPath()
            for x, top in zip(xs.tolist(), tops.tolist()):
                path.moveTo(x, top + y0 * lane_h)
                path.lineTo(x, top + y1 * lane_h)
            p.setBrush(QtCore.Qt.NoBrush)
            p.setPen(_pen(QtGui.QColor(*rgba), 1.2 if key == raster.MARK_LOST else 0.7))
            p.drawPath(path)
    if reveal < t1:
        x = area.left() + (reveal - t0) / (t1 - t0) * area.width()
        p.setPen(_pen(QtGui.QColor(90, 90, 90), 1.0))
        p.drawLine(QtCore.QPointF(x, area.top()), QtCore.QPointF(x, area.bottom()))
    _axes(p, area, t0 / scale, t1 / scale, "" if compact else f"time ({unit})")
    _markers(p, area, opts.markers, t0, t1)
    mode = (f"binned: 1 column = {format_ns((t1 - t0) / max(1, int(area.width() * opts.dpi / 72)), 9)}, "
            "any tick in a column is drawn, most severe wins") if binned else "exact: one mark per tick"
    # on the title line: the legend may fill the bottom line of a narrow panel
    _text(p, area.right(), rect.top() + LABEL_PT + 1, mode, TICK_PT, "right", color=QtGui.QColor(100, 100, 100))
    if compact:
        return
    # legend: what each colour means and how many marks of it are in the window
    y = rect.bottom() - 4
    x = area.left()
    items = [("expected slot (ghost)", colors["ghost"], int(window["expected"][0].size))]
    items += [(raster.MARK_NAMES[c], colors[c], int(window[c][0].size)) for c in _LEGEND_ORDER
              if c in window and (window[c][0].size or c in (raster.MARK_ON_TIME, raster.MARK_LOST))]
    for label, rgba, count in items:
        p.fillRect(QtCore.QRectF(x, y - TICK_PT + 1, 8, TICK_PT - 1), QtGui.QColor(*rgba))
        x += 11 + _text(p, x + 11, y, f"{label} {count}", TICK_PT) + 12


def _log_hist_panel(p, rect: QtCore.QRectF, hist: dict, title: str, xlabel: str):
    edges, counts = np.asarray(hist["edges_ns"]), np.asarray(hist["counts"])
    under, over = int(hist["underflow"]), int(hist["overflow"])
    _text(p, rect.left(), rect.top() + LABEL_PT + 1, f"{title} (n = {int(counts.sum()) + under + over})",
          LABEL_PT + 1, bold=True)
    area = QtCore.QRectF(rect.left() + 52, rect.top() + LABEL_PT + 10, rect.width() - 60,
                         rect.height() - LABEL_PT - 10 - 2 * TICK_PT - LABEL_PT - 14)
    total = int(counts.sum()) + under + over
    if total == 0:
        _axes(p, area, 0, 1, xlabel, xticks=[])
        _no_data(p, area, "no samples")
        return
    nz = np.flatnonzero(counts)
    if nz.size:
        lo_b = max(0, int(nz[0]) - 3)
        hi_b = min(len(counts), int(nz[-1]) + 4)
    else:
        lo_b, hi_b = 0, len(counts)
    lx0, lx1 = math.log10(edges[lo_b]), math.log10(edges[hi_b])
    ymax = max(int(counts.max(initial=0)), under, over, 1)
    side = 16.0  # underflow / overflow bars sit outside the log axis, labelled
    inner = QtCore.QRectF(area.left() + side, area.top(), area.width() - 2 * side, area.height())
    p.setPen(QtCore.Qt.NoPen)
    bar = QtGui.QColor(31, 119, 180)
    for b in range(lo_b, hi_b):
        if counts[b] == 0:
            continue
        x0 = inner.left() + (math.log10(edges[b]) - lx0) / (lx1 - lx0) * inner.width()
        x1 = inner.left() + (math.log10(edges[b + 1]) - lx0) / (lx1 - lx0) * inner.width()
        h = counts[b] / ymax * area.height()
        p.fillRect(QtCore.QRectF(x0, area.bottom() - h, max(0.6, x1 - x0 - 0.3), h), bar)
    flow = QtGui.QColor(150, 150, 150)
    for count, x, label, align in ((under, area.left() + 2, f"<{_decade_label(int(edges[0]))}", "left"),
                                   (over, area.right() - side + 2, f"\u2265{_decade_label(int(edges[-1]))}", "right")):
        h = count / ymax * area.height()
        p.fillRect(QtCore.QRectF(x, area.bottom() - h, side - 4, h), flow)
        tx = area.left() + 2 if align == "left" else area.right() - 2
        _text(p, tx, area.top() + TICK_PT + 2, f"{label}: {count}", TICK_PT - 1, align, color=flow.darker(150))
    _axes(p, area, 0, 1, xlabel, 0, ymax, "ticks", xticks=[])
    decades = list(range(math.ceil(lx0 - 1e-9), math.floor(lx1 + 1e-9) + 1))
    label_w = QtGui.QFontMetricsF(_font(TICK_PT)).horizontalAdvance("100ms") + 6
    every = 1
    while len(decades) > 1 and inner.width() / max(1, (lx1 - lx0)) * every < label_w:
        every += 1
    for i, d in enumerate(decades):
        x = inner.left() + (d - lx0) / (lx1 - lx0) * inner.width()
        p.setPen(_pen(INK, 0.6))
        p.drawLine(QtCore.QPointF(x, area.bottom()), QtCore.QPointF(x, area.bottom() + 3))
        if i % every == 0:
            _text(p, x, area.bottom() + 4 + TICK_PT, _decade_label(10 ** d), TICK_PT, "center")


def _decade_label(ns: int) -> str:
    for scale, unit in ((10**9, "s"), (10**6, "ms"), (10**3, "\u00b5s")):
        if ns >= scale:
            return f"{ns / scale:g}{unit}"
    return f"{ns:g}ns"


def paint_histograms(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions, title=None):
    half = rect.width() / 2
    _log_hist_panel(p, QtCore.QRectF(rect.left(), rect.top(), half - 8, rect.height()), src.interval_hist,
                    "Tick interval", "interval between handled ticks (log scale)")
    _log_hist_panel(p, QtCore.QRectF(rect.left() + half + 8, rect.top(), half - 8, rect.height()), src.latency_hist,
                    "Tick latency", "handled - expiry (log scale)")


def paint_drift(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions, title="Wall-clock drift"):
    _text(p, rect.left(), rect.top() + LABEL_PT + 1, f"{title} (kernel time \u2212 true time)", LABEL_PT + 1, bold=True)
    area = QtCore.QRectF(rect.left() + 60, rect.top() + LABEL_PT + 10, rect.width() - 68,
                         rect.height() - LABEL_PT - 10 - 2 * TICK_PT - LABEL_PT - 14)
    t0, t1 = 0, max(1, src.end_ns)
    scale, unit = _time_unit(t1 - t0)
    d = src.drift
    t, v = np.asarray(d["time_ns"]), np.asarray(d["drift_ns"])
    if opts.reveal_ns is not None:
        keep = t <= opts.reveal_ns
        t, v = t[keep], v[keep]
    full = np.asarray(src.drift["drift_ns"])
    if full.size == 0:
        _axes(p, area, t0 / scale, t1 / scale, f"time ({unit})")
        _no_data(p, area, "no clocksource samples in this run")
        return
    lo, hi = float(min(full.min(), 0)), float(max(full.max(), 0))
    if hi - lo < 1:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    yscale, yunit = _time_unit(max(abs(lo), abs(hi)) / 1.0)
    _axes(p, area, t0 / scale, t1 / scale, f"time ({unit})", lo / yscale, hi / yscale, f"drift ({yunit})")
    if lo < 0 < hi:
        y0 = area.bottom() - (0 - lo) / (hi - lo) * area.height()
        p.setPen(_pen(QtGui.QColor(160, 160, 160), 0.6, QtCore.Qt.DotLine))
        p.drawLine(QtCore.QPointF(area.left(), y0), QtCore.QPointF(area.right(), y0))
    if t.size:
        xs = area.left() + (t - t0) / (t1 - t0) * area.width()
        ys = area.bottom() - (v - lo) / (hi - lo) * area.height()
        poly = QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y in zip(xs.tolist(), ys.tolist())])
        p.setPen(_pen(QtGui.QColor(214, 39, 40), 1.2))
        p.drawPolyline(poly)
    _markers(p, area, opts.markers, t0, t1)


def paint_graph(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions, title=None):
    if title is None:
        title = f"Architecture: {src.model_name}"
        if not src.model_override:
            title += f" (backend {src.backend})"
        if opts.highlight.get("nodes") or opts.highlight.get("edges"):
            title += "  \u2014  highlighted in violet"
    _text(p, rect.left(), rect.top() + LABEL_PT + 1, title, LABEL_PT + 1, bold=True)
    renderer = QtSvg.QSvgRenderer(QtCore.QByteArray(src.graph_svg(opts.highlight).encode("utf-8")))
    box = QtCore.QRectF(rect.left(), rect.top() + LABEL_PT + 8, rect.width(), rect.height() - LABEL_PT - 22)
    size = renderer.defaultSize()
    if size.width() > 0 and size.height() > 0:
        k = min(box.width() / size.width(), box.height() / size.height())
        w, h = size.width() * k, size.height() * k
        renderer.render(p, QtCore.QRectF(box.left() + (box.width() - w) / 2, box.top(), w, h))
    x, y = rect.left(), rect.bottom() - 4
    from tickscope.sim.graph.export import CLASS_STYLE

    for cls in ("reachout", "interface", "shared-lib", "duplicate"):
        color = CLASS_STYLE[cls][0]
        p.setPen(_pen(color, 2.0))
        p.drawLine(QtCore.QPointF(x, y - 3), QtCore.QPointF(x + 12, y - 3))
        x += 16 + _text(p, x + 16, y, f"{cls} edge", TICK_PT) + 12


PAINTERS = {"raster": paint_raster, "histograms": paint_histograms, "drift": paint_drift, "graph": paint_graph}


def _header(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions) -> float:
    """Title, subtitle and caption body; returns the y where the plot area starts."""
    cap = opts.caption
    title = cap.title if cap and cap.title else f"tickscope: {src.name if src else ''}"
    y = rect.top() + TITLE_PT
    _text(p, rect.left(), y, title, TITLE_PT, bold=True)
    y += SUBTITLE_PT + 5
    if src is not None:
        sub = QtGui.QFontMetricsF(_font(SUBTITLE_PT)).elidedText(src.subtitle(), QtCore.Qt.ElideRight, rect.width())
        _text(p, rect.left(), y, sub, SUBTITLE_PT, color=QtGui.QColor(90, 90, 90))
    body = cap.body if cap else ""
    if body:
        for line in _wrap(body, BODY_PT, rect.width())[:6]:
            y += BODY_PT + 4
            _text(p, rect.left(), y, line, BODY_PT)
    return y + 10


def paint_figure(p: QtGui.QPainter, width_pt: float, height_pt: float, src: PlotSource, view: str,
                 opts: PlotOptions) -> None:
    """Paint one figure (white page, caption, the view(s), footer) in a 1-unit-per-point painter."""
    if view not in VIEW_CHOICES + (CAPTION_ONLY,):
        raise InputError(f"--view: {view!r} is not a view (use {', '.join(VIEW_CHOICES)})")
    p.setRenderHint(QtGui.QPainter.Antialiasing, True)
    p.setRenderHint(QtGui.QPainter.TextAntialiasing, True)
    p.fillRect(QtCore.QRectF(0, 0, width_pt, height_pt), QtGui.QColor("white"))
    rect = QtCore.QRectF(MARGIN_PT, MARGIN_PT, width_pt - 2 * MARGIN_PT, height_pt - 2 * MARGIN_PT)
    top = _header(p, rect, src, opts)
    body = QtCore.QRectF(rect.left(), top, rect.width(), rect.bottom() - top - FOOT_PT - 6)
    if view == CAPTION_ONLY or src is None:
        pass
    elif view == "raster" and opts.compare is not None:
        h = body.height() / 2
        paint_raster(p, QtCore.QRectF(body.left(), body.top(), body.width(), h - 4), src, opts,
                     title=f"A: {src.name}", compact=True)
        paint_raster(p, QtCore.QRectF(body.left(), body.top() + h, body.width(), h - 4), opts.compare, opts,
                     title=f"B: {opts.compare.name}", compact=True)
    elif view == "all":
        w, h = body.width() / 2, body.height() / 2
        for i, name in enumerate(VIEWS):
            cell = QtCore.QRectF(body.left() + (i % 2) * w, body.top() + (i // 2) * h, w - 10, h - 8)
            PAINTERS[name](p, cell, src, opts)
    else:
        PAINTERS[view](p, body, src, opts)
    _text(p, rect.right(), rect.bottom(), f"tickscope {__version__}", FOOT_PT, "right", color=QtGui.QColor(140, 140, 140))


# -- output formats ----------------------------------------------------------------

def render_image(src: PlotSource, view: str, opts: PlotOptions) -> QtGui.QImage:
    """The figure as an RGB32 image at ``opts.dpi``."""
    k = opts.dpi / 72.0
    w, h = max(1, round(opts.width_pt * k)), max(1, round(opts.height_pt * k))
    if w * h > MAX_PNG_PIXELS:
        raise InputError(f"--dpi {opts.dpi}: the PNG would be {w}x{h} pixels (at most {MAX_PNG_PIXELS} allowed)")
    img = QtGui.QImage(w, h, QtGui.QImage.Format_RGB32)
    img.fill(QtGui.QColor("white"))
    dpm = round(opts.dpi / 0.0254)
    img.setDotsPerMeterX(dpm)
    img.setDotsPerMeterY(dpm)
    p = QtGui.QPainter(img)
    try:
        p.scale(w / opts.width_pt, h / opts.height_pt)
        paint_figure(p, opts.width_pt, opts.height_pt, src, view, opts)
    finally:
        p.end()
    return img


def write_png(src: PlotSource, view: str, path, opts: PlotOptions) -> Path:
    """Write the figure as PNG at ``opts.dpi`` (atomically)."""
    img = render_image(src, view, opts)
    with atomic_path(path) as tmp:
        if not img.save(str(tmp), "PNG"):
            raise InputError(f"{path}: could not write the PNG")
    return Path(path)


def svg_bytes(src: PlotSource, view: str, opts: PlotOptions) -> bytes:
    """The figure as SVG: vector paths, text as ``<text>``, size in mm from the point size."""
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.WriteOnly)
    gen = QtSvg.QSvgGenerator()
    gen.setOutputDevice(buf)
    gen.setResolution(72)
    gen.setSize(QtCore.QSize(round(opts.width_pt), round(opts.height_pt)))
    gen.setViewBox(QtCore.QRectF(0, 0, opts.width_pt, opts.height_pt))
    gen.setTitle(f"tickscope {src.name if src else ''}: {view}")
    gen.setDescription(src.subtitle() if src else "")
    p = QtGui.QPainter(gen)
    try:
        paint_figure(p, opts.width_pt, opts.height_pt, src, view, opts)
    finally:
        p.end()
    return bytes(buf.data())


def write_svg(src: PlotSource, view: str, path, opts: PlotOptions) -> Path:
    data = svg_bytes(src, view, opts)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_pdf(src: PlotSource, views, path, opts: PlotOptions, progress=None) -> Path:
    """Write one PDF page per view in *views* (a view name, or a list; ``"all"`` = every view)."""
    if isinstance(views, str):
        views = list(VIEWS) if views == "all" else [views]
    with atomic_path(path) as tmp:
        writer = QtGui.QPdfWriter(str(tmp))
        writer.setResolution(72)
        writer.setCreator(f"tickscope {__version__}")
        writer.setTitle(f"tickscope {src.name}")
        layout = QtGui.QPageLayout(QtGui.QPageSize(QtCore.QSizeF(opts.width_pt, opts.height_pt), QtGui.QPageSize.Point),
                                   QtGui.QPageLayout.Portrait, QtCore.QMarginsF(0, 0, 0, 0))
        writer.setPageLayout(layout)
        p = QtGui.QPainter(writer)
        try:
            for i, view in enumerate(views):
                if i:
                    writer.newPage()
                paint_figure(p, opts.width_pt, opts.height_pt, src, view, opts)
                report_progress(progress, i + 1, len(views))
        finally:
            p.end()
        del writer  # flushes the file before the rename
    return Path(path)


# -- the data behind each plot -------------------------------------------------------

def _write_csv(path, header, rows) -> Path:
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return Path(path)


def write_plot_csvs(src: PlotSource, directory, views=VIEWS, opts: PlotOptions | None = None) -> list[Path]:
    """CSV of the data behind each view in *views*, plus the event log and per-CPU table.

    Files: ``events.csv``, ``cpus.csv``; raster: ``raster_marks.csv``
    (``time_ns,cpu,mark,mark_name``, expected slots as ``expected``, the
    drawn window only); histograms: ``tick_interval_hist.csv``,
    ``tick_latency_hist.csv`` (``bin_lo_ns,bin_hi_ns,count`` with
    underflow/overflow rows); drift: ``drift.csv`` (``time_ns,drift_ns``);
    graph: ``graph_edges.csv`` (``source,target,class``).
    """
    from tickscope.sim.export import csv as csv_export

    opts = opts or PlotOptions()
    d = Path(directory)
    views = list(VIEWS) if views == "all" else ([views] if isinstance(views, str) else list(views))
    out = [d / "events.csv", d / "cpus.csv"]
    csv_export.write_event_log(src.results, out[0])
    csv_export.write_cpu_summary(src.summary["cpus"], out[1])
    if "raster" in views:
        t0, t1 = _window(src, opts)
        window = raster_window_marks(src, t0, t1)
        parts = []
        for key, (times, lanes) in window.items():
            name = "expected" if key == "expected" else raster.MARK_NAMES.get(key, str(key))
            code = -1 if key == "expected" else key
            parts.append(np.stack([times, lanes, np.full(times.size, code, np.int64)], axis=1) if times.size
                         else np.zeros((0, 3), np.int64))
        allm = np.concatenate(parts) if parts else np.zeros((0, 3), np.int64)
        allm = allm[np.lexsort((allm[:, 2], allm[:, 1], allm[:, 0]))]
        names = {c: n for c, n in raster.MARK_NAMES.items()}
        names[-1] = "expected"
        out.append(_write_csv(d / "raster_marks.csv", ("time_ns", "cpu", "mark", "mark_name"),
                              ((t, c, m, names[m]) for t, c, m in allm.tolist())))
    if "histograms" in views:
        for name, hist in (("tick_interval_hist.csv", src.interval_hist), ("tick_latency_hist.csv", src.latency_hist)):
            out.append(csv_export.write_histogram(hist["edges_ns"], hist["counts"], d / name,
                                                  hist["underflow"], hist["overflow"]))
    if "drift" in views:
        dr = src.drift
        out.append(_write_csv(d / "drift.csv", ("time_ns", "drift_ns"),
                              zip(np.asarray(dr["time_ns"]).tolist(), np.asarray(dr["drift_ns"]).tolist())))
    if "graph" in views:
        rows = sorted((s, t, e["cls"]) for s, t, e in src.graph.edges())
        out.append(_write_csv(d / "graph_edges.csv", ("source", "target", "class"), rows))
    return out


def check_cancel(progress, done, total):
    """Raise :class:`ExportCancelled` if *progress* says so (re-exported for callers)."""
    report_progress(progress, done, total)


__all__ = ["Caption", "PlotOptions", "PlotSource", "ExportCancelled", "VIEWS", "VIEW_CHOICES", "parse_size",
           "page_size", "check_dpi", "render_image", "write_png", "write_svg", "write_pdf", "svg_bytes",
           "write_plot_csvs", "paint_figure", "model_for_backend"]

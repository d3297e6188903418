"""Painting primitives of the exported figures and the histogram, drift and graph panels.

All drawing is in a 1-unit-per-point painter with fonts sized in points (see
:mod:`tickscope.gui.plot_export`), so the primitives here -- text, pens, axes,
markers -- give the same layout on PNG, SVG and PDF.
"""
from __future__ import annotations

import math

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg

from tickscope.gui.plot_source import PlotOptions, PlotSource
from tickscope.sim.clock_drift import NO_SAMPLES

FONT_FAMILY = "DejaVu Sans"
TITLE_PT, SUBTITLE_PT, BODY_PT, LABEL_PT, TICK_PT, FOOT_PT = 13, 8, 10, 9, 8, 7
MARGIN_PT = 18.0
INK = QtGui.QColor(30, 30, 30)
GRID = QtGui.QColor(225, 225, 225)
# Markers, on screen (gui/measure.py) and in exported plots: dark olive. On screen they were violet
# (200, 120, 255), 19 apart (CIE76) from the dark theme's "duplicated" mark, and blue (0, 120, 200) in exports,
# next to "via broadcast"; olive is >= 44 from every mark colour of either theme and from the measure cursors,
# with contrast >= 3:1 on both plot backgrounds.
MARKER_RGB = (120, 105, 0)
MARKER_COLOR = QtGui.QColor(*MARKER_RGB)


# -- drawing primitives ------------------------------------------------------------

def make_font(size_pt: int, bold: bool = False) -> QtGui.QFont:
    # Pixel sizes in a 1-unit-per-point painter: identical text size on every device.
    f = QtGui.QFont(FONT_FAMILY)
    f.setPixelSize(int(size_pt))
    f.setBold(bold)
    return f


def make_pen(color, width: float = 0.8, style=QtCore.Qt.SolidLine) -> QtGui.QPen:
    pen = QtGui.QPen(QtGui.QColor(color), width, style)
    pen.setCapStyle(QtCore.Qt.FlatCap)
    return pen


def draw_text(p: QtGui.QPainter, x: float, y: float, text: str, size: int = LABEL_PT, align="left", bold=False,
              color=INK) -> float:
    """Draw one line with its baseline at *y*; returns its width."""
    p.setFont(make_font(size, bold))
    p.setPen(make_pen(color))
    w = QtGui.QFontMetricsF(p.font()).horizontalAdvance(text)
    dx = {"left": 0.0, "center": -w / 2, "right": -w}[align]
    p.drawText(QtCore.QPointF(x + dx, y), text)
    return w


def wrap_text(text: str, size: int, width: float) -> list[str]:
    fm = QtGui.QFontMetricsF(make_font(size))
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


def time_unit(span_ns: float) -> tuple[float, str]:
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "\u00b5s")):
        if span_ns >= 2 * scale:
            return scale, unit
    return 1.0, "ns"


def _fmt_tick(v: float) -> str:
    return f"{v:.6g}"


def draw_axes(p, rect: QtCore.QRectF, xlo, xhi, xlabel, ylo=None, yhi=None, ylabel="", xfmt=None, yfmt=None,
              xticks=None):
    """Frame, grid, ticks and labels of a plot area."""
    p.setPen(make_pen(INK, 0.8))
    p.setBrush(QtCore.Qt.NoBrush)
    p.drawRect(rect)
    ticks = xticks if xticks is not None else nice_ticks(xlo, xhi)
    for v in ticks:
        if xhi == xlo or not xlo <= v <= xhi:
            continue
        x = rect.left() + (v - xlo) / (xhi - xlo) * rect.width()
        p.setPen(make_pen(INK, 0.6))
        p.drawLine(QtCore.QPointF(x, rect.bottom()), QtCore.QPointF(x, rect.bottom() + 3))
        draw_text(p, x, rect.bottom() + 4 + TICK_PT, (xfmt or _fmt_tick)(v), TICK_PT, "center")
    draw_text(p, rect.center().x(), rect.bottom() + 8 + 2 * TICK_PT + 2, xlabel, LABEL_PT, "center")
    if ylo is not None and yhi is not None and yhi > ylo:
        for v in nice_ticks(ylo, yhi, 5):
            y = rect.bottom() - (v - ylo) / (yhi - ylo) * rect.height()
            p.setPen(make_pen(GRID, 0.5))
            p.drawLine(QtCore.QPointF(rect.left(), y), QtCore.QPointF(rect.right(), y))
            p.setPen(make_pen(INK, 0.6))
            p.drawLine(QtCore.QPointF(rect.left() - 3, y), QtCore.QPointF(rect.left(), y))
            draw_text(p, rect.left() - 5, y + TICK_PT / 2 - 1, (yfmt or _fmt_tick)(v), TICK_PT, "right")
        if ylabel:
            p.save()
            p.translate(rect.left() - 44, rect.center().y())
            p.rotate(-90)
            draw_text(p, 0, 0, ylabel, LABEL_PT, "center")
            p.restore()


def draw_markers(p, rect: QtCore.QRectF, markers, t0: float, t1: float):
    for m in markers:
        t = float(m.get("time_ns", -1))
        if not t0 <= t <= t1 or t1 <= t0:
            continue
        x = rect.left() + (t - t0) / (t1 - t0) * rect.width()
        p.setPen(make_pen(MARKER_COLOR, 1.0, QtCore.Qt.DashLine))
        p.drawLine(QtCore.QPointF(x, rect.top()), QtCore.QPointF(x, rect.bottom()))
        draw_text(p, x + 2, rect.top() + TICK_PT + 1, str(m.get("name", "")), TICK_PT, bold=True, color=MARKER_COLOR)


def _no_data(p, rect, text):
    draw_text(p, rect.center().x(), rect.center().y(), text, LABEL_PT, "center", color=QtGui.QColor(120, 120, 120))


# -- the panels --------------------------------------------------------------------

def _log_hist_panel(p, rect: QtCore.QRectF, hist: dict, title: str, xlabel: str):
    edges, counts = np.asarray(hist["edges_ns"]), np.asarray(hist["counts"])
    under, over = int(hist["underflow"]), int(hist["overflow"])
    draw_text(p, rect.left(), rect.top() + LABEL_PT + 1, f"{title} (n = {int(counts.sum()) + under + over})",
              LABEL_PT + 1, bold=True)
    area = QtCore.QRectF(rect.left() + 52, rect.top() + LABEL_PT + 10, rect.width() - 60,
                         rect.height() - LABEL_PT - 10 - 2 * TICK_PT - LABEL_PT - 14)
    total = int(counts.sum()) + under + over
    if total == 0:
        draw_axes(p, area, 0, 1, xlabel, xticks=[])
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
        draw_text(p, tx, area.top() + TICK_PT + 2, f"{label}: {count}", TICK_PT - 1, align, color=flow.darker(150))
    draw_axes(p, area, 0, 1, xlabel, 0, ymax, "ticks", xticks=[])
    decades = list(range(math.ceil(lx0 - 1e-9), math.floor(lx1 + 1e-9) + 1))
    label_w = QtGui.QFontMetricsF(make_font(TICK_PT)).horizontalAdvance("100ms") + 6
    every = 1
    while len(decades) > 1 and inner.width() / max(1, (lx1 - lx0)) * every < label_w:
        every += 1
    for i, d in enumerate(decades):
        x = inner.left() + (d - lx0) / (lx1 - lx0) * inner.width()
        p.setPen(make_pen(INK, 0.6))
        p.drawLine(QtCore.QPointF(x, area.bottom()), QtCore.QPointF(x, area.bottom() + 3))
        if i % every == 0:
            draw_text(p, x, area.bottom() + 4 + TICK_PT, _decade_label(10 ** d), TICK_PT, "center")


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
    draw_text(p, rect.left(), rect.top() + LABEL_PT + 1, f"{title} (kernel time \u2212 true time)", LABEL_PT + 1,
              bold=True)
    area = QtCore.QRectF(rect.left() + 60, rect.top() + LABEL_PT + 10, rect.width() - 68,
                         rect.height() - LABEL_PT - 10 - 2 * TICK_PT - LABEL_PT - 14)
    t0, t1 = 0, max(1, src.end_ns)
    scale, unit = time_unit(t1 - t0)
    d = src.drift
    t, v = np.asarray(d["time_ns"]), np.asarray(d["drift_ns"])
    if opts.reveal_ns is not None:
        keep = t <= opts.reveal_ns
        t, v = t[keep], v[keep]
    full = np.asarray(src.drift["drift_ns"])
    if full.size == 0:
        draw_axes(p, area, t0 / scale, t1 / scale, f"time ({unit})")
        _no_data(p, area, NO_SAMPLES)
        return
    lo, hi = float(min(full.min(), 0)), float(max(full.max(), 0))
    if hi - lo < 1:
        lo, hi = lo - 1, hi + 1
    pad = (hi - lo) * 0.08
    lo, hi = lo - pad, hi + pad
    yscale, yunit = time_unit(max(abs(lo), abs(hi)) / 1.0)
    draw_axes(p, area, t0 / scale, t1 / scale, f"time ({unit})", lo / yscale, hi / yscale, f"drift ({yunit})")
    if lo < 0 < hi:
        y0 = area.bottom() - (0 - lo) / (hi - lo) * area.height()
        p.setPen(make_pen(QtGui.QColor(160, 160, 160), 0.6, QtCore.Qt.DotLine))
        p.drawLine(QtCore.QPointF(area.left(), y0), QtCore.QPointF(area.right(), y0))
    if t.size:
        xs = area.left() + (t - t0) / (t1 - t0) * area.width()
        ys = area.bottom() - (v - lo) / (hi - lo) * area.height()
        poly = QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y in zip(xs.tolist(), ys.tolist())])
        p.setPen(make_pen(QtGui.QColor(214, 39, 40), 1.2))
        p.drawPolyline(poly)
    draw_markers(p, area, opts.markers, t0, t1)


def paint_graph(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions, title=None):
    if title is None:
        title = f"Architecture: {src.model_name}"
        if not src.model_override:
            title += f" (backend {src.backend})"
        if opts.highlight.get("nodes") or opts.highlight.get("edges"):
            title += "  \u2014  highlighted in violet"
    draw_text(p, rect.left(), rect.top() + LABEL_PT + 1, title, LABEL_PT + 1, bold=True)
    renderer = QtSvg.QSvgRenderer(QtCore.QByteArray(src.graph_svg(opts.highlight).encode("utf-8")))
    box = QtCore.QRectF(rect.left(), rect.top() + LABEL_PT + 8, rect.width(), rect.height() - LABEL_PT - 22)
    size = renderer.defaultSize()
    if size.width() > 0 and size.height() > 0:
        k = min(box.width() / size.width(), box.height() / size.height())
        w, h = size.width() * k, size.height() * k
        renderer.render(p, QtCore.QRectF(box.left() + (box.width() - w) / 2, box.top(), w, h))
    x, y = rect.left(), rect.bottom() - 4
    from tickscope.sim.graph.export import CLASS_STYLE

    # every class the graph draws (callback edges were drawn but not keyed), dashed as drawn
    present = {d["cls"] for _s, _t, d in src.graph.edges()}
    for cls in [c for c in CLASS_STYLE if c in present or c == "reachout"]:
        color, dashed = CLASS_STYLE[cls]
        p.setPen(make_pen(color, 2.0, QtCore.Qt.DashLine if dashed else QtCore.Qt.SolidLine))
        p.drawLine(QtCore.QPointF(x, y - 3), QtCore.QPointF(x + 16, y - 3))
        x += 20 + draw_text(p, x + 20, y, f"{cls} edge", TICK_PT) + 12


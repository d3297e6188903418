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

Modules
-------
This module holds the raster view (its drawn window is also what
``raster_marks.csv`` holds), the figure layout and the PNG, SVG, PDF and CSV
writers, and is the import point for all of it.
:mod:`tickscope.gui.plot_source` holds the run and the options (Qt-free),
:mod:`tickscope.gui.plot_panels` the painting primitives and the histogram,
drift and graph panels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtSvg

from tickscope.gui import lane_ticks
from tickscope.gui.plot_panels import (BODY_PT, FONT_FAMILY, FOOT_PT, GRID, INK, LABEL_PT, MARGIN_PT, MARKER_COLOR,
                                       SUBTITLE_PT, TICK_PT, TITLE_PT, draw_axes, draw_markers, draw_text, make_font,
                                       make_pen, nice_ticks, paint_drift, paint_graph, paint_histograms, time_unit,
                                       wrap_text)
from tickscope.gui.plot_source import (DEFAULT_SIZE_PX, HIGHLIGHT_COLOR, MAX_DPI, MIN_DPI, PAGES, REFERENCE_DPI,
                                       Caption, PlotOptions, PlotSource, check_dpi, highlight_svg, page_size,
                                       parse_size)
from tickscope.sim import __version__, raster
from tickscope.sim.atomic import atomic_path
from tickscope.sim.clock_events import MARKER_RGB
from tickscope.sim.demo import model_for_backend
from tickscope.sim.errors import InputError
from tickscope.sim.export import ExportCancelled, report_progress
from tickscope.sim.export.summary import format_ns

VIEWS = ("raster", "histograms", "drift", "graph")
VIEW_CHOICES = VIEWS + ("all",)
CAPTION_ONLY = "caption"
"""A title card: only the caption (demo steps before the first run)."""
MAX_PNG_PIXELS = 120_000_000
EXACT_MARK_LIMIT = 200_000
"""Above this many marks in the window the raster is binned per pixel column; at this size
an exact SVG is ~5 MB and takes ~1 s to build."""
_LEGEND_ORDER = (raster.MARK_ON_TIME, raster.MARK_LATE, raster.MARK_DUPLICATE, raster.MARK_LOST,
                 raster.MARK_BROADCAST, raster.MARK_STEAL, raster.MARK_OFF_GRID)


# -- the raster view ---------------------------------------------------------------

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


def _shade_items(data) -> list[tuple[str, int]]:
    """(label, lane background code) of each idle state and steal the run's lanes show."""
    shades = [(f"idle {data.cstate_names[code - raster.BG_IDLE]}", code) for code in sorted(data.spans)
              if code != raster.BG_STEAL and code - raster.BG_IDLE < len(data.cstate_names)]
    return shades + ([("steal", raster.BG_STEAL)] if raster.BG_STEAL in data.spans else [])


#: the app's colour for the watchdog / clocksource switch / migration markers
CLOCK_EVENT_COLOR = QtGui.QColor(*MARKER_RGB)


def _draw_clock_events(p, area: QtCore.QRectF, events, t0: int, t1: int, labelled: bool = True) -> None:
    """Dotted lines where the watchdog marked a clocksource unstable, timekeeping switched or the VM migrated, as
    the app's raster marks them; labels at the bottom of the lanes (named markers are at the top), on three rows."""
    for i, (t, label, _tip) in enumerate(e for e in events if t0 <= e[0] <= t1):
        x = area.left() + (t - t0) / (t1 - t0) * area.width()
        p.setPen(make_pen(CLOCK_EVENT_COLOR, 1.2, QtCore.Qt.DotLine))
        p.drawLine(QtCore.QPointF(x, area.top()), QtCore.QPointF(x, area.bottom()))
        if labelled:
            y = area.bottom() - 4 - (i % 3) * (TICK_PT + 4)
            right = x > area.center().x()      # the label on the side with room
            w = QtGui.QFontMetricsF(make_font(TICK_PT, True)).horizontalAdvance(label)
            left = x - 3 - w if right else x + 3
            p.fillRect(QtCore.QRectF(left - 1, y - TICK_PT, w + 2, TICK_PT + 3), QtGui.QColor(255, 255, 255, 210))
            draw_text(p, left, y, label, TICK_PT, bold=True, color=CLOCK_EVENT_COLOR)


def paint_raster(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions, title="Tick raster", compact=False,
                 depths: dict[int, float] | None = None):
    """The tick raster; *compact* (compare mode) folds the legend into the title and drops the axis label.
    *depths*: lane background code -> shade depth on a scale shared with another run (:func:`raster.shared_depths`),
    else the run's own C-states from shallow to deep."""
    data = src.raster_data
    colors = raster.LIGHT_COLORS

    def shade(code: int) -> tuple:
        if depths is not None and code in depths:
            return raster.idle_shade(colors, depths[code])
        return raster.background_color(colors, code, len(data.cstate_names))

    t0, t1 = _window(src, opts)
    reveal = t1 if opts.reveal_ns is None else max(t0, min(t1, int(opts.reveal_ns)))
    if compact:
        c = data.counts
        title += (f"  \u2014  on time {c.get(raster.MARK_ON_TIME, 0)}, late {c.get(raster.MARK_LATE, 0)}, "
                  f"lost {c.get(raster.MARK_LOST, 0)}")
    x = rect.left() + draw_text(p, rect.left(), rect.top() + LABEL_PT + 1, title, LABEL_PT + 1, bold=True)
    if compact:   # no legend line here: the run's idle shades follow the title
        for label, code in _shade_items(data):
            x += 12
            p.fillRect(QtCore.QRectF(x, rect.top() + 2, 8, TICK_PT - 1), QtGui.QColor(*raster.composite(shade(code), (255, 255, 255))))
            x += 11 + draw_text(p, x + 11, rect.top() + LABEL_PT + 1, label, TICK_PT)
    label_w = 40.0
    below = TICK_PT + 8 if compact else 2 * TICK_PT + LABEL_PT + 26
    area = QtCore.QRectF(rect.left() + label_w, rect.top() + LABEL_PT + 8, rect.width() - label_w - 4,
                         max(8.0, rect.height() - LABEL_PT - 8 - below))
    n = max(1, data.ncpu_lanes)
    lane_h = area.height() / n
    scale, unit = time_unit(t1 - t0)
    # every Nth lane's name where they would overlap, as the app labels its lanes: 256 CPUs' names drawn one on
    # another 1.6 pt apart were a black smear beside the raster
    step = lane_ticks.label_step(n, area.height(), px_per_label=TICK_PT + 3)
    for lane in range(n):
        top = area.top() + lane * lane_h
        if lane % 2:
            p.fillRect(QtCore.QRectF(area.left(), top, area.width(), lane_h), QtGui.QColor(0, 0, 0, 10))
        if lane % step:
            continue
        name = data.lane_names[lane] if lane < len(data.lane_names) else raster.cpu_lane_name(lane)
        draw_text(p, area.left() - 4, top + lane_h / 2 + TICK_PT / 2 - 1, name, TICK_PT, "right")
    window = raster_window_marks(src, t0, reveal)
    total = sum(int(v[0].size) for v in window.values())
    binned = total > EXACT_MARK_LIMIT
    ghost_top, ghost_bot, mark_top = 0.12, 0.36, 0.42

    def x_of(times):
        return area.left() + (times - t0).astype(np.float64) * (area.width() / (t1 - t0))

    cols = max(1, int(area.width() * opts.dpi / 72))
    planes = raster.planes(data, t0, t1, cols)
    colw = area.width() / cols
    reveal_col = cols if reveal >= t1 else int((reveal - t0) * cols // (t1 - t0))
    # lane backgrounds (idle depth, steal) as the app shades them, at the export's resolution
    for lane in range(min(n, planes["background"].shape[0])):
        row = planes["background"][lane][:reveal_col]
        change = np.flatnonzero(np.diff(np.r_[0, row, 0]))
        for a, b in zip(change[:-1], change[1:]):
            if row[a]:
                rgba = shade(int(row[a]))
                p.fillRect(QtCore.QRectF(area.left() + a * colw, area.top() + lane * lane_h, (b - a) * colw, lane_h),
                           QtGui.QColor(*rgba))
    if binned:
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
            p.setPen(make_pen(QtGui.QColor(*rgba), 1.2 if key == raster.MARK_LOST else 0.7))
            p.drawPath(path)
    if reveal < t1:
        x = area.left() + (reveal - t0) / (t1 - t0) * area.width()
        p.setPen(make_pen(QtGui.QColor(90, 90, 90), 1.0))
        p.drawLine(QtCore.QPointF(x, area.top()), QtCore.QPointF(x, area.bottom()))
    draw_axes(p, area, t0 / scale, t1 / scale, "" if compact else f"time ({unit})")
    draw_markers(p, area, opts.markers, t0, t1)
    _draw_clock_events(p, area, src.clock_events, t0, t1, labelled=not compact)
    mode = (f"binned: 1 column = {format_ns((t1 - t0) / max(1, int(area.width() * opts.dpi / 72)), 9)}, "
            "any tick in a column is drawn, most severe wins") if binned else "exact: one mark per tick"
    irqs = src.untick_irq_times
    untick = int(np.searchsorted(irqs, reveal) - np.searchsorted(irqs, t0)) if not compact else 0
    if untick:
        # as the app's legend says: laptop-deep-idle's CPUs woke ~600 times in 5 s for user timers, and the lanes
        # showed 45 marks (a review's figure read as CPUs that hardly woke)
        mode += f"; not drawn: {untick:,} timer interrupts that ran no tick"
    # on the title line: the legend may fill the bottom line of a narrow panel
    draw_text(p, area.right(), rect.top() + LABEL_PT + 1, mode, TICK_PT, "right", color=QtGui.QColor(100, 100, 100))
    if compact:
        return
    # legend: what each colour means and how many marks of it are in the window
    y = rect.bottom() - 4
    x = area.left()
    items = [("expected slot (ghost)", colors["ghost"], int(window["expected"][0].size))]
    items += [(raster.MARK_NAMES[c], colors[c], int(window[c][0].size)) for c in _LEGEND_ORDER
              if c in window and (window[c][0].size or c in (raster.MARK_ON_TIME, raster.MARK_LOST))]
    # slots due within the late threshold of the end have no verdict yet (their marks would sit past it)
    unjudged = raster.unjudged_count(data.counts) if reveal >= data.end_ns else 0
    if unjudged:
        items.append(("not judged yet (due within the late threshold of the end)", colors["ghost"], unjudged))
    for label, rgba, count in items:
        p.fillRect(QtCore.QRectF(x, y - TICK_PT + 1, 8, TICK_PT - 1), QtGui.QColor(*rgba))
        x += 11 + draw_text(p, x + 11, y, f"{label} {count}", TICK_PT) + 12
    for label, code in _shade_items(data):   # the lane backgrounds, as they look on the white page
        rgb = raster.composite(shade(code), (255, 255, 255))
        p.fillRect(QtCore.QRectF(x, y - TICK_PT + 1, 8, TICK_PT - 1), QtGui.QColor(*rgb))
        x += 11 + draw_text(p, x + 11, y, label, TICK_PT) + 12



# -- the figure --------------------------------------------------------------------

PAINTERS = {"raster": paint_raster, "histograms": paint_histograms, "drift": paint_drift, "graph": paint_graph}


def _header(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions) -> float:
    """Title, subtitle and caption body; returns the y where the plot area starts."""
    cap = opts.caption
    title = cap.title if cap and cap.title else f"tickscope: {src.name if src else ''}"
    y = rect.top() + TITLE_PT
    draw_text(p, rect.left(), y, title, TITLE_PT, bold=True)
    y += SUBTITLE_PT + 5
    if src is not None:
        sub = QtGui.QFontMetricsF(make_font(SUBTITLE_PT)).elidedText(src.subtitle(), QtCore.Qt.ElideRight, rect.width())
        draw_text(p, rect.left(), y, sub, SUBTITLE_PT, color=QtGui.QColor(90, 90, 90))
    body = cap.body if cap else ""
    if body:
        for line in wrap_text(body, BODY_PT, rect.width())[:6]:
            y += BODY_PT + 4
            draw_text(p, rect.left(), y, line, BODY_PT)
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
        _paint_compare_raster(p, body, src, opts)
    elif view == "all":
        w, h = body.width() / 2, body.height() / 2
        for i, name in enumerate(VIEWS):
            cell = QtCore.QRectF(body.left() + (i % 2) * w, body.top() + (i // 2) * h, w - 10, h - 8)
            PAINTERS[name](p, cell, src, opts)   # run A's, named in the subtitle (a cell has no room for A over B)
    else:
        PAINTERS[view](p, body, src, opts)
    draw_text(p, rect.right(), rect.bottom(), f"tickscope {__version__}", FOOT_PT, "right",
              color=QtGui.QColor(140, 140, 140))


def _paint_compare_raster(p, rect: QtCore.QRectF, src: PlotSource, opts: PlotOptions) -> None:
    """Run A's raster over run B's (*opts.compare*), each C-state shaded alike in both."""
    h = rect.height() / 2
    depth_a, depth_b = raster.shared_depths(src.meta, opts.compare.meta)   # one shade per C-state in both
    paint_raster(p, QtCore.QRectF(rect.left(), rect.top(), rect.width(), h - 4), src, opts,
                 title=f"A: {src.name}", compact=True, depths=depth_a)
    paint_raster(p, QtCore.QRectF(rect.left(), rect.top() + h, rect.width(), h - 4), opts.compare, opts,
                 title=f"B: {opts.compare.name}", compact=True, depths=depth_b)


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
           "write_plot_csvs", "paint_figure", "model_for_backend", "CAPTION_ONLY", "REFERENCE_DPI",
           "DEFAULT_SIZE_PX", "PAGES", "MIN_DPI", "MAX_DPI", "MAX_PNG_PIXELS", "EXACT_MARK_LIMIT", "HIGHLIGHT_COLOR",
           "highlight_svg", "FONT_FAMILY", "TITLE_PT", "SUBTITLE_PT", "BODY_PT", "LABEL_PT", "TICK_PT", "FOOT_PT",
           "MARGIN_PT", "INK", "GRID", "MARKER_COLOR", "nice_ticks", "raster_window_marks", "paint_raster",
           "paint_histograms", "paint_drift", "paint_graph", "PAINTERS", "check_cancel"]

"""The one pyqtgraph item that draws the architecture graph, and the data it draws.

Following pyqtgraph's ImageItem pattern: setters store whole numpy arrays and
mark the item dirty; the Qt primitives (one ``QLineF`` list per edge class, one
``QPolygonF`` of node centres per band) are rebuilt at most once, on the next
``paint()``, and a frame only replays them.  Hit testing for hover and clicks
is vectorised over all edges and nodes, so no per-node ``QGraphicsItem`` exists
(8 000 items made panning a 2 000-node graph stutter; this draws it in one
item).  Labels are drawn at a constant pixel size, only for visible nodes and
only when the zoom leaves room for them.

``TICKSCOPE_PROFILE=1`` prints the time of every graph paint.
"""
from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui

from tickscope.gui.theme import PLOT_BACKGROUND
from tickscope.sim.graph.export import CLASS_STYLE
from tickscope.sim.graph.layout import NODE_DX, ROW_DY, layered_layout
from tickscope.sim.graph.model import EDGE_CLASSES

PROFILE = bool(os.environ.get("TICKSCOPE_PROFILE"))

#: Bands from top to bottom and their titles; ``arch`` holds hardware-kind
#: components that drive no clock device (IDT gates, vectors, arch glue).
VIEW_BANDS = ("backend", "shared-lib", "interface", "core", "arch", "hardware")
BAND_TITLES = {"backend": "backends", "shared-lib": "shared library", "interface": "interface", "core": "core",
               "arch": "arch", "hardware": "hardware"}
BAND_FILL = {"backend": "#fdf3e6", "shared-lib": "#e9f1fb", "interface": "#f2f2f2", "core": "#eaf6ea",
             "arch": "#f6eef3", "hardware": "#efeaf7"}
NODE_COLOR = {"backend": "#b35900", "shared-lib": "#1f5fa8", "interface": "#555555", "core": "#2e7d32",
              "arch": "#8e3b6b", "hardware": "#5e3c99"}
#: Edge classes drawn first to last, so the rule breakers end up on top.
DRAW_ORDER = ("internal", "interface", "callback", "shared-lib", "duplicate", "reachout")
EDGE_WIDTH = {"reachout": 2.2, "duplicate": 2.0, "shared-lib": 1.3, "callback": 1.2, "interface": 1.0, "internal": 0.8}
NODE_PX = 7.0
LABEL_MIN_SPACING_PX = 64.0   # node spacing on screen below which labels would overlap
# Antialiased edges cost 85 ms per zoomed-in frame at 6 000 edges (16 ms without), so big graphs draw them aliased.
AA_MAX_EDGES = 1500
BOX_MARGIN_TOP = 16.0   # a component box reaches this far above its first row of nodes (scene units)
SELECT_COLOR = "#ffb000"
SEARCH_COLOR = "#00a0d0"
#: The dark theme's canvas: bands tinted from the plot background, lighter nodes and edges (the light
#: theme's greys and dark blues vanish on it), light text.  Same hues, so the legend reads the same.
BAND_FILL_DARK = {"backend": "#3a3024", "shared-lib": "#232f3d", "interface": "#2e2e31", "core": "#243328",
                  "arch": "#342a32", "hardware": "#2c2839"}
NODE_COLOR_DARK = {"backend": "#f0a050", "shared-lib": "#6aaaf0", "interface": "#b4b4b4", "core": "#6cc070",
                   "arch": "#d888bb", "hardware": "#ab94e6"}
EDGE_COLOR_DARK = {"reachout": "#ff5c5c", "interface": "#a8a8a8", "callback": "#5cc85c", "shared-lib": "#5aaae6",
                   "duplicate": "#ff9a3c", "internal": "#6e6e6e"}
#: Text and component-box colours of the canvas, light and dark.
INK = {False: {"title": "#444444", "label": "#222222", "component": "#777777", "box": "#9a9a9a",
              "background": PLOT_BACKGROUND[False]},
       True: {"title": "#c8c8c8", "label": "#e6e6e6", "component": "#9a9a9a", "box": "#707070",
              "background": PLOT_BACKGROUND[True]}}


def edge_color(cls: str, dark: bool = False) -> str:
    """An edge class's colour on a light (the export's and the legend's) or dark canvas."""
    return EDGE_COLOR_DARK[cls] if dark else CLASS_STYLE[cls][0]


#: Light colour -> dark colour, for text written with the light theme's colours (the evidence pane's HTML).
_DARK_OF = {**{CLASS_STYLE[c][0]: EDGE_COLOR_DARK[c] for c in EDGE_COLOR_DARK},
            **{NODE_COLOR[b]: NODE_COLOR_DARK[b] for b in NODE_COLOR}}


def for_canvas(html: str, dark: bool) -> str:
    """*html* coloured with the light theme's edge and band colours, with the dark theme's if *dark*."""
    if dark:
        for light, dark_color in _DARK_OF.items():
            html = html.replace(light, dark_color)
    return html


def edge_pen(cls: str, extra_width: float = 0.0, dark: bool = False) -> QtGui.QPen:
    """The cosmetic pen of an edge class (reachout red, interface/callback dashed, shared-lib blue ...)."""
    dashed = CLASS_STYLE[cls][1]
    pen = QtGui.QPen(QtGui.QColor(edge_color(cls, dark)), EDGE_WIDTH[cls] + extra_width)
    pen.setCosmetic(True)
    if dashed:
        pen.setStyle(QtCore.Qt.DashLine)
    return pen


@dataclass
class GraphData:
    """Everything the item draws, in scene coordinates (x right, y down).

    Nodes are indexed 0..n-1 and edges 0..m-1; the view owns the mapping back
    to graph ids and keys.
    """

    xy: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))       # node centres
    band: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))   # index into VIEW_BANDS
    labels: list = field(default_factory=list)
    below: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))     # label under the node
    src: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dst: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cls: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int8))    # index into EDGE_CLASSES
    bands: list = field(default_factory=list)        # (band, y_top, y_bottom) of the band's rectangle
    components: dict = field(default_factory=dict)   # name -> (x0, y0, x1, y1) of its box
    width: float = 0.0
    height: float = 0.0


def band_of_components(graph) -> dict:
    """Component -> view band: the kind, except that a hardware-kind component driving no
    clock device (no ``sim_backend``, nothing the core calls through an ops table) is ``arch``."""
    called = {graph.component_of(t) for _s, t, _d in graph.edges("callback")}
    out = {}
    for name, attrs in graph.components.items():
        kind = attrs.get("kind", "core")
        if kind == "hardware" and not attrs.get("sim_backend") and name not in called:
            kind = "arch"
        out[name] = kind
    return out


def build_view_data(graph):
    """Lay *graph* out in the view's bands; returns ``(GraphData, node ids, edge keys, band_of)``."""
    band_of = band_of_components(graph)
    lay = layered_layout(graph, bands=VIEW_BANDS, band_of=band_of)
    ids = sorted(lay.positions)
    index = {n: i for i, n in enumerate(ids)}
    xy = np.array([lay.positions[n] for n in ids], dtype=float).reshape(-1, 2)
    band_idx = {b: i for i, b in enumerate(VIEW_BANDS)}
    comps = [graph.component_of(n) for n in ids]
    bands = np.array([band_idx.get(band_of.get(c, "core"), band_idx["core"]) for c in comps], dtype=np.int8)
    keys = [(s, t, d["cls"]) for s, t, d in graph.edges() if s in index and t in index]
    keys.sort()
    cls_idx = {c: i for i, c in enumerate(EDGE_CLASSES)}
    src = np.array([index[k[0]] for k in keys], dtype=np.int64)
    dst = np.array([index[k[1]] for k in keys], dtype=np.int64)
    cls = np.array([cls_idx[k[2]] for k in keys], dtype=np.int8)
    boxes = {}
    by_comp = defaultdict(list)
    for i, c in enumerate(comps):
        by_comp[c].append(i)
    below = np.zeros(len(ids), dtype=bool)
    for c, members in by_comp.items():
        pts = xy[members]
        below[members] = np.rint((pts[:, 0] - pts[:, 0].min()) / NODE_DX).astype(np.int64) % 2 == 1
        boxes[c] = (pts[:, 0].min() - 16.0, pts[:, 1].min() - BOX_MARGIN_TOP, pts[:, 0].max() + 70.0, pts[:, 1].max() + 14.0)
    band_rects = [(b, top - 40.0, bottom - ROW_DY + 24.0) for b, top, bottom in lay.bands]
    data = GraphData(xy=xy, band=bands, labels=[graph.symbol_name(n) for n in ids], below=below, src=src, dst=dst, cls=cls,
                     bands=band_rects, components=boxes, width=lay.width, height=lay.height)
    return data, ids, keys, band_of


class GraphItem(pg.GraphicsObject):
    """Bands, component boxes, edges and nodes of one graph; hover tips and clicks.

    Signals
    -------
    clicked(str, object)
        ``("node", index)``, ``("edge", index)``, ``("component", name)`` or
        ``("none", None)`` for a left click on empty space.
    """

    clicked = QtCore.Signal(str, object)

    def __init__(self):
        super().__init__()
        self.setAcceptHoverEvents(True)
        self._data = GraphData()
        self._node_visible = np.zeros(0, dtype=bool)
        self._edge_visible = np.zeros(0, dtype=bool)
        self._selected_edges = np.zeros(0, dtype=np.int64)
        self._selected_nodes = np.zeros(0, dtype=np.int64)
        self._marked_nodes = np.zeros(0, dtype=np.int64)
        self._tooltip_fn = None
        self._dirty = True
        self._lines: dict = {}       # class index -> [QLineF]
        self._edge_count = 0
        self._points: dict = {}      # band index -> QPolygonF
        self._set_colors(False)
        self._font = QtGui.QFont()
        self._font.setPixelSize(10)
        self._band_font = QtGui.QFont()
        self._band_font.setPixelSize(12)
        self._band_font.setBold(True)
        self.last_paint_ms = 0.0

    def _set_colors(self, dark: bool) -> None:
        self._dark = dark
        self._ink = INK[dark]
        fills, nodes = (BAND_FILL_DARK, NODE_COLOR_DARK) if dark else (BAND_FILL, NODE_COLOR)
        self._pens = {i: edge_pen(c, dark=dark) for i, c in enumerate(EDGE_CLASSES)}
        self._band_brushes = {b: QtGui.QBrush(QtGui.QColor(fills[b])) for b in VIEW_BANDS}
        self._node_pens = {}
        for i, b in enumerate(VIEW_BANDS):
            pen = QtGui.QPen(QtGui.QColor(nodes[b]), NODE_PX)
            pen.setCapStyle(QtCore.Qt.RoundCap)
            pen.setCosmetic(True)
            self._node_pens[i] = pen
        self._box_pen = QtGui.QPen(QtGui.QColor(self._ink["box"]), 1.0, QtCore.Qt.DotLine)
        self._box_pen.setCosmetic(True)

    def set_dark(self, dark: bool) -> None:
        """Draw for a dark (the window's dark theme) or light canvas."""
        if bool(dark) != self._dark:
            self._set_colors(bool(dark))
            self.update()

    def is_dark(self) -> bool:
        return self._dark

    # -- setters (mark dirty; paint() rebuilds) ------------------------------
    def set_data(self, data: GraphData) -> None:
        self.prepareGeometryChange()
        self._data = data
        self._node_visible = np.ones(len(data.xy), dtype=bool)
        self._edge_visible = np.ones(len(data.src), dtype=bool)
        self._selected_edges = np.zeros(0, dtype=np.int64)
        self._selected_nodes = np.zeros(0, dtype=np.int64)
        self._marked_nodes = np.zeros(0, dtype=np.int64)
        self._mark_dirty()

    def graph_data(self) -> GraphData:
        return self._data

    def set_visible(self, nodes: np.ndarray, edges: np.ndarray) -> None:
        """Boolean masks of the nodes and edges to draw (and hit)."""
        self._node_visible = np.asarray(nodes, dtype=bool)
        self._edge_visible = np.asarray(edges, dtype=bool)
        self._mark_dirty()

    def set_selection(self, nodes=(), edges=()) -> None:
        self._selected_nodes = np.asarray(list(nodes), dtype=np.int64)
        self._selected_edges = np.asarray(list(edges), dtype=np.int64)
        self.update()

    def set_marked(self, nodes=()) -> None:
        """Search matches: ringed in their own colour."""
        self._marked_nodes = np.asarray(list(nodes), dtype=np.int64)
        self.update()

    def set_tooltip_fn(self, fn) -> None:
        """*fn(kind, key) -> str* gives the hover text of a node or edge."""
        self._tooltip_fn = fn

    def visible_edge_count(self) -> int:
        return int(np.count_nonzero(self._edge_visible))

    def visible_node_count(self) -> int:
        return int(np.count_nonzero(self._node_visible))

    def _mark_dirty(self):
        self._dirty = True
        self.update()

    def _rebuild(self):
        d = self._data
        self._lines = {}
        vis = self._edge_visible
        self._edge_count = int(np.count_nonzero(vis))
        for ci in range(len(EDGE_CLASSES)):
            idx = np.flatnonzero(vis & (d.cls == ci))
            if idx.size:
                a, b = d.xy[d.src[idx]], d.xy[d.dst[idx]]
                self._lines[ci] = [QtCore.QLineF(x1, y1, x2, y2) for (x1, y1), (x2, y2) in zip(a.tolist(), b.tolist())]
        self._points = {}
        for bi in range(len(VIEW_BANDS)):
            idx = np.flatnonzero(self._node_visible & (d.band == bi))
            if idx.size:
                self._points[bi] = QtGui.QPolygonF([QtCore.QPointF(x, y) for x, y in d.xy[idx].tolist()])
        self._dirty = False

    # -- QGraphicsItem ------------------------------------------------------
    def boundingRect(self) -> QtCore.QRectF:  # noqa: N802 - Qt override
        d = self._data
        return QtCore.QRectF(-150.0, -40.0, d.width + 300.0, d.height + 80.0)

    def _view_rect(self) -> QtCore.QRectF:
        vb = self.getViewBox()
        return vb.viewRect() if vb is not None else self.boundingRect()

    def paint(self, p: QtGui.QPainter, *args):
        start = time.perf_counter()
        if self._dirty:
            self._rebuild()
        d = self._data
        view = self._view_rect()
        scale = abs(p.transform().m11()) or 1.0
        p.setRenderHint(QtGui.QPainter.Antialiasing, self._edge_count <= AA_MAX_EDGES)
        # bands, full width of what is visible
        x0, x1 = min(view.left(), -150.0), max(view.right(), d.width + 150.0)
        for band, top, bottom in d.bands:
            p.fillRect(QtCore.QRectF(x0, top, x1 - x0, bottom - top), self._band_brushes[band])
        p.setPen(self._box_pen)
        p.setBrush(QtCore.Qt.NoBrush)
        for name, (cx0, cy0, cx1, cy1) in d.components.items():
            p.drawRect(QtCore.QRectF(cx0, cy0, cx1 - cx0, cy1 - cy0))
        for ci_name in DRAW_ORDER:
            ci = EDGE_CLASSES.index(ci_name)
            lines = self._lines.get(ci)
            if lines:
                p.setPen(self._pens[ci])
                p.drawLines(lines)
        if self._selected_edges.size:
            for e in self._selected_edges.tolist():
                p.setPen(edge_pen(EDGE_CLASSES[d.cls[e]], 3.0, self._dark))
                (ax, ay), (bx, by) = d.xy[d.src[e]], d.xy[d.dst[e]]
                p.drawLine(QtCore.QLineF(ax, ay, bx, by))
        p.setRenderHint(QtGui.QPainter.Antialiasing, True)
        for bi, pts in self._points.items():
            p.setPen(self._node_pens[bi])
            p.drawPoints(pts)
        self._paint_overlays(p, view, scale)
        self.last_paint_ms = (time.perf_counter() - start) * 1e3
        if PROFILE:
            print(f"tickscope: graph paint {self.last_paint_ms:.1f} ms at scale {scale:.2f}")

    def _paint_overlays(self, p, view, scale):
        """Selection rings, arrowheads, labels: in device pixels, so they keep their size at any zoom."""
        d = self._data
        tr = p.transform()
        p.save()
        p.resetTransform()
        for nodes, color in ((self._marked_nodes, SEARCH_COLOR), (self._selected_nodes, SELECT_COLOR)):
            if nodes.size:
                pen = QtGui.QPen(QtGui.QColor(color), 2.5)
                p.setPen(pen)
                p.setBrush(QtCore.Qt.NoBrush)
                for n in nodes.tolist():
                    c = tr.map(QtCore.QPointF(*d.xy[n]))
                    p.drawEllipse(c, 8.0, 8.0)
        for e in self._selected_edges.tolist():
            a = tr.map(QtCore.QPointF(*d.xy[d.src[e]]))
            b = tr.map(QtCore.QPointF(*d.xy[d.dst[e]]))
            _arrowhead(p, a, b, QtGui.QColor(edge_color(EDGE_CLASSES[d.cls[e]], self._dark)))
        p.setFont(self._band_font)
        p.setPen(QtGui.QColor(self._ink["title"]))
        for at, title in self.band_titles(tr, view):
            p.drawText(at, title)
        if scale * 120.0 >= LABEL_MIN_SPACING_PX and len(d.xy):
            self._paint_labels(p, tr, view)
        p.restore()

    def band_titles(self, tr, view) -> list[tuple[QtCore.QPointF, str]]:
        """Where each band's title is drawn (baseline, device px) for transform *tr* and visible *view*.

        Top down, a title that would overlap the one above it is left out: zoomed out in a short dock the
        bands are thinner than a line of text, and every title was drawn over its neighbours.
        """
        line = QtGui.QFontMetricsF(self._band_font).height()
        left = tr.map(QtCore.QPointF(view.left(), 0.0)).x()
        out, free_from = [], -math.inf
        for band, top, _bottom in self._data.bands:
            y = tr.map(QtCore.QPointF(0.0, top)).y()
            if y >= free_from:
                out.append((QtCore.QPointF(left + 6.0, y + 14.0), BAND_TITLES[band]))
                free_from = y + line
        return out

    def _paint_labels(self, p, tr, view):
        d = self._data
        inside = (self._node_visible & (d.xy[:, 0] >= view.left() - 60) & (d.xy[:, 0] <= view.right())
                  & (d.xy[:, 1] >= view.top() - 20) & (d.xy[:, 1] <= view.bottom() + 20))
        idx = np.flatnonzero(inside)
        if idx.size > 1500:  # beyond this the labels cost more than the rest of the frame
            return
        p.setFont(self._font)
        p.setPen(QtGui.QColor(self._ink["label"]))
        metrics = QtGui.QFontMetrics(self._font)
        # neighbours in a row alternate above/below, so each label may use two columns of width
        room = max(20, int(2 * 120.0 * abs(tr.m11()) - 14))
        below = d.below[idx] if len(d.below) == len(d.xy) else np.zeros(idx.size, dtype=bool)
        for n, odd in zip(idx.tolist(), below.tolist()):
            c = tr.map(QtCore.QPointF(*d.xy[n]))
            text = metrics.elidedText(d.labels[n], QtCore.Qt.ElideRight, room)
            p.drawText(QtCore.QPointF(c.x() - 4.0, c.y() + (15.0 if odd else -6.0)), text)
        p.setFont(self._band_font)
        p.setPen(QtGui.QColor(self._ink["component"]))
        for at, name in self.component_titles(tr):
            p.drawText(at, name)

    def component_titles(self, tr) -> list[tuple[QtCore.QPointF, str]]:
        """Where each component box's title is drawn (baseline, device px) for transform *tr*: above its box,
        and above the labels of its first row (drawn 6 px above the nodes); zoomed out, the box's margin is
        thinner than a label, and the title was drawn over the first node's name."""
        ascent = QtGui.QFontMetricsF(self._font).ascent()
        out = []
        for name, (cx0, cy0, _cx1, _cy1) in self._data.components.items():
            c = tr.map(QtCore.QPointF(cx0, cy0))
            first_row = tr.map(QtCore.QPointF(cx0, cy0 + BOX_MARGIN_TOP)).y()
            out.append((QtCore.QPointF(c.x() + 2.0, min(c.y() - 3.0, first_row - 6.0 - ascent - 3.0)), name))
        return out

    # -- hit testing ---------------------------------------------------------
    def node_at(self, pos: QtCore.QPointF, radius: float) -> int | None:
        """Index of the visible node nearest *pos* within *radius* (scene units)."""
        d = self._data
        if not len(d.xy):
            return None
        dist = np.hypot(d.xy[:, 0] - pos.x(), d.xy[:, 1] - pos.y())
        dist[~self._node_visible] = np.inf
        i = int(np.argmin(dist))
        return i if dist[i] <= radius else None

    def edge_at(self, pos: QtCore.QPointF, tolerance: float) -> int | None:
        """Index of the visible edge nearest *pos* within *tolerance*; rule breakers win ties."""
        d = self._data
        if not len(d.src):
            return None
        a, b = d.xy[d.src], d.xy[d.dst]
        ab = b - a
        ap = np.array([pos.x(), pos.y()]) - a
        denom = np.maximum((ab * ab).sum(axis=1), 1e-12)
        t = np.clip((ap * ab).sum(axis=1) / denom, 0.0, 1.0)
        near = a + ab * t[:, None]
        dist = np.hypot(near[:, 0] - pos.x(), near[:, 1] - pos.y())
        dist[~self._edge_visible] = np.inf
        rank = np.array([DRAW_ORDER.index(c) for c in EDGE_CLASSES])[d.cls]
        dist = dist - rank * 1e-6 * tolerance  # same distance: the class drawn on top wins
        i = int(np.argmin(dist))
        return i if dist[i] <= tolerance else None

    def component_at(self, pos: QtCore.QPointF) -> str | None:
        for name, (cx0, cy0, cx1, cy1) in self._data.components.items():
            if cx0 <= pos.x() <= cx1 and cy0 <= pos.y() <= cy1:
                return name
        return None

    def pick(self, pos: QtCore.QPointF) -> tuple[str, object]:
        """What is under *pos*: node, then edge, then component box."""
        px = self._pixel_size()
        n = self.node_at(pos, 6.0 * px)
        if n is not None:
            return "node", n
        e = self.edge_at(pos, 4.0 * px)
        if e is not None:
            return "edge", e
        c = self.component_at(pos)
        if c is not None:
            return "component", c
        return "none", None

    def _pixel_size(self) -> float:
        vb = self.getViewBox()
        if vb is None:
            return 1.0
        sx, _sy = vb.viewPixelSize()
        return float(sx) or 1.0

    def hoverEvent(self, ev):  # noqa: N802 - pyqtgraph override
        if ev.isExit():
            self.setToolTip("")
            return
        kind, key = self.pick(ev.pos())
        text = self._tooltip_fn(kind, key) if (self._tooltip_fn and kind != "none") else ""
        if text != self.toolTip():
            self.setToolTip(text)

    def mouseClickEvent(self, ev):  # noqa: N802 - pyqtgraph override
        if ev.button() != QtCore.Qt.LeftButton:
            return
        ev.accept()
        kind, key = self.pick(ev.pos())
        self.clicked.emit(kind, key)


def _arrowhead(p: QtGui.QPainter, a: QtCore.QPointF, b: QtCore.QPointF, color: QtGui.QColor) -> None:
    """A filled arrowhead at *b* pointing away from *a* (device pixels)."""
    dx, dy = b.x() - a.x(), b.y() - a.y()
    length = (dx * dx + dy * dy) ** 0.5
    if length < 1.0:
        return
    ux, uy = dx / length, dy / length
    tip = QtCore.QPointF(b.x() - ux * 6.0, b.y() - uy * 6.0)
    left = QtCore.QPointF(tip.x() - ux * 10.0 + uy * 5.0, tip.y() - uy * 10.0 - ux * 5.0)
    right = QtCore.QPointF(tip.x() - ux * 10.0 - uy * 5.0, tip.y() - uy * 10.0 + ux * 5.0)
    p.setPen(QtCore.Qt.NoPen)
    p.setBrush(color)
    p.drawPolygon(QtGui.QPolygonF([tip, left, right]))

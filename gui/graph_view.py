"""The architecture graph panel: layered bands, filters, evidence, DSM, and its link with the tick raster.

The model shown follows the scenario's backend era (``vmi-2007`` ->
``linux-2.6.21`` ...) until the user picks another one or imports a C tree.
Selecting a backend component highlights the run's events of that backend in
the raster; clicking a lost or duplicated tick in the raster selects the
reachout edges that caused it (from ``meta["effect_evidence"]``), and selecting
such an edge highlights the ticks it cost.  The joins themselves are Qt-free
(:mod:`tickscope.sim.graph.link`).
"""
from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from tickscope.gui import graph_evidence as evid
from tickscope.gui.graph_controls import GraphControls
from tickscope.gui.graph_dsm import DsmTable
from tickscope.gui.graph_io import TreeImport, export_widget_image
from tickscope.gui.graph_items import INK, GraphItem, build_view_data, edge_pen, for_canvas
from tickscope.sim.errors import InputError
from tickscope.sim.graph import archmodel, link, metrics, rules
from tickscope.sim.graph.model import EDGE_CLASSES

TREE_PREFIX = "tree: "
EXPORT_FILTER = "SVG (*.svg);;PNG (*.png)"


class GraphView(QtWidgets.QWidget):
    """Architecture graph with filters, search, focus, DSM and an evidence panel.

    Signals
    -------
    highlight_requested(object)
        A boolean mask over the result rows to highlight in the raster, or ``None``.
    tick_requested(object, int)
        ``(time_ns, cpu)``: the user asked to see this tick.
    selection_changed()
    import_finished(str)
        The name of an imported C tree, or ``""`` when the import failed.
    """

    highlight_requested = QtCore.Signal(object)
    tick_requested = QtCore.Signal(object, int)
    selection_changed = QtCore.Signal()
    import_finished = QtCore.Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._graphs: dict = {}
        self._graph = None
        self._name = ""
        self._backend = None
        self._results = None
        self._faults = None
        self.room_pending = False   # install(): enlarge the bottom panels when the user first brings this one up
        self._sel_edges: list = []
        self._sel_nodes: list = []
        self._sel_component = None
        self._highlighting = False
        self._import = None
        self.error_box = None
        self._build_ui()
        self.set_model(link.model_for_backend("none"))

    # -- construction -----------------------------------------------------
    def _build_ui(self):
        self.item = GraphItem()
        self.item.clicked.connect(self._on_item_clicked)
        self.item.set_tooltip_fn(self._tooltip)
        self.controls = GraphControls(self.item)
        c = self.controls
        c.model_box.activated.connect(lambda i: self.set_model(c.model_box.itemData(i)))
        c.open_button.clicked.connect(self.open_c_tree_dialog)
        c.search_edit.returnPressed.connect(self.next_match)
        c.focus_changed.connect(self.fit)
        c.dsm_button.toggled.connect(self.set_dsm_visible)
        c.fit_button.clicked.connect(self.fit)
        c.export_button.clicked.connect(self.export_dialog)
        # these controls stay attributes of the view too: install() and its callers use them
        self.model_box, self.search_label, self.dsm_button, self.class_buttons = (
            c.model_box, c.search_label, c.dsm_button, c.class_buttons)
        self.canvas = pg.GraphicsView(background="w")
        self.viewbox = pg.ViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.canvas.setCentralItem(self.viewbox)
        self.viewbox.addItem(self.item)
        self.dsm_table = DsmTable()
        self.dsm_table.cell_selected.connect(self._on_dsm_cell)
        self.stack = QtWidgets.QStackedWidget()
        self.stack.addWidget(self.canvas)
        self.stack.addWidget(self.dsm_table)
        self._evidence_html = ""
        self.evidence = QtWidgets.QTextBrowser()
        self.evidence.setOpenLinks(False)
        self.evidence.anchorClicked.connect(self._on_anchor)
        self.evidence.setMinimumWidth(260)
        split = QtWidgets.QSplitter(QtCore.Qt.Horizontal)
        split.addWidget(self.stack)
        split.addWidget(self.evidence)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.controls)
        layout.addWidget(split, 1)

    # -- model ------------------------------------------------------------
    @property
    def graph(self):
        return self._graph

    def model_name(self) -> str:
        return self._name

    def set_model(self, name: str) -> None:
        """Show a shipped model (or an imported tree by its combo name).

        Raises
        ------
        InputError
            For an unknown model.
        """
        if name not in self._graphs:
            graph = archmodel.load_model(name)
            rules.check(graph)
            self._graphs[name] = graph
        self._show_graph(name)

    def set_graph(self, graph, name: str) -> None:
        """Show *graph* (rules already checked) under *name*, added to the model list."""
        self._graphs[name] = graph
        if self.model_box.findData(name) < 0:
            self.model_box.addItem(name, name)
        self._show_graph(name)

    def set_backend(self, backend: str) -> None:
        """The scenario's backend changed: show its era's model (a user's pick stays until then)."""
        if backend != self._backend:
            self._backend = backend
            self.set_model(link.model_for_backend(backend))

    def _show_graph(self, name):
        self._graph, self._name = self._graphs[name], name
        self.model_box.setCurrentIndex(self.model_box.findData(name))
        data, self._ids, self._keys, self._band_of = build_view_data(self._graph)
        self._node_index = {n: i for i, n in enumerate(self._ids)}
        self._edge_index = {k: i for i, k in enumerate(self._keys)}
        self._comp_index = {c: i for i, c in enumerate(sorted(self._graph.components))}
        self._edges_of_node = defaultdict(list)
        for k in self._keys:
            self._edges_of_node[k[0]].append(k)
            self._edges_of_node[k[1]].append(k)
        self._edge_violations = defaultdict(list)
        self._comp_violations = defaultdict(list)
        for v in self._graph.violations:
            self._comp_violations[v.component].append(v)
            if len(v.chain) == 4:
                for cls in EDGE_CLASSES:
                    if (v.chain[1], v.chain[2], cls) in self._edge_index:
                        self._edge_violations[(v.chain[1], v.chain[2], cls)].append(v)
        self._metrics = metrics.compute(self._graph)
        self.item.set_data(data)
        self.dsm_table.set_graph(self._graph, self._metrics["dsm"])
        self._sel_edges, self._sel_nodes, self._sel_component = [], [], None
        self.controls.set_graph(self._graph, self._ids, self._keys, self._band_of, self._comp_index)
        self._set_evidence(evid.overview_html(self._graph))
        self.fit()
        self._update_highlight()
        self.selection_changed.emit()

    # -- C trees ------------------------------------------------------------
    def open_c_tree_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open C source tree")
        if path:
            self.open_c_tree(path)

    def open_c_tree(self, path, layers_path=None) -> None:
        """Import a C tree in the background (progress dialog; an error dialog on bad input)."""
        if self._import is not None:
            return
        self.progress = QtWidgets.QProgressDialog(f"Importing {path} …", None, 0, 0, self)
        self.progress.setWindowTitle("Open C tree")
        self.progress.setMinimumDuration(300)
        self._import = TreeImport(str(path), layers_path, self)
        self._import.done.connect(lambda g, p=path: self._import_done(g, p))
        self._import.failed.connect(self._import_failed)
        self._import.start()

    def _import_done(self, graph, path):
        self._finish_import()
        name = TREE_PREFIX + Path(path).name
        self.set_graph(graph, name)
        self.import_finished.emit(name)

    def _import_failed(self, message):
        self._finish_import()
        self.error_box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Critical, "Open C tree", message,
                                               QtWidgets.QMessageBox.Ok, self)
        self.error_box.open()
        self.import_finished.emit("")

    def _finish_import(self):
        self._import.wait()
        self._import = None
        self.progress.reset()
        self.progress.close()

    # -- filters, search, focus (kept by the controls) ---------------------
    def set_class_visible(self, cls: str, on: bool) -> None:
        """Show or hide every edge of class *cls*."""
        self.controls.set_class_visible(cls, on)

    def set_focus_component(self, name: str | None, depth: int = 1) -> None:
        """Show only *name* and the components within *depth* dependency hops (``None``: all)."""
        if name is not None and name not in self._graph.components:
            raise ValueError(f"no component {name!r} in {self._name}")
        self.controls.set_focus(name, depth)

    def focused_components(self) -> set:
        return self.controls.focused_components()

    def class_counts(self) -> dict:
        """Edges per class inside the focus (what each filter button shows)."""
        return self.controls.class_counts()

    def set_search(self, text: str) -> list:
        """Ring the symbols whose name contains *text* (case-insensitive); returns their ids."""
        return self.controls.set_search(text)

    def next_match(self) -> None:
        """Select the next search match and centre the view on it."""
        node = self.controls.next_match()
        if node is not None:
            self.select_node(node)
            self.center_on_node(node)

    # -- view -----------------------------------------------------------------
    def fit(self) -> None:
        """Zoom to the visible part of the graph."""
        d = self.item.graph_data()
        vis = self.item._node_visible
        pts = d.xy[vis] if len(d.xy) else d.xy
        if not len(pts):
            self.viewbox.setRange(QtCore.QRectF(0, 0, 100, 100), padding=0.05)
            return
        x0, y0 = pts.min(axis=0) - (160.0, 60.0)
        x1, y1 = pts.max(axis=0) + (120.0, 40.0)
        self.viewbox.setRange(QtCore.QRectF(x0, y0, x1 - x0, y1 - y0), padding=0.02)

    def center_on_node(self, node_id: str) -> None:
        x, y = self.item.graph_data().xy[self._node_index[node_id]]
        r = self.viewbox.viewRect()
        self.viewbox.setRange(QtCore.QRectF(x - r.width() / 2, y - r.height() / 2, r.width(), r.height()), padding=0)

    def set_dsm_visible(self, on: bool) -> None:
        """Show the component dependency matrix instead of the graph."""
        self.stack.setCurrentWidget(self.dsm_table if on else self.canvas)
        if self.dsm_button.isChecked() != bool(on):
            self.dsm_button.setChecked(bool(on))

    def dsm_visible(self) -> bool:
        return self.stack.currentWidget() is self.dsm_table

    def edge_pen(self, key) -> QtGui.QPen:
        """The pen an edge is drawn with (its class style, for the canvas's theme)."""
        return edge_pen(key[2], dark=self.item.is_dark())

    def set_theme(self, dark: bool) -> None:
        """Canvas, bands, nodes, edges, text, filter buttons and evidence for the window's dark or light theme."""
        self.canvas.setBackground(INK[bool(dark)]["background"])
        self.item.set_dark(dark)
        self.controls.set_dark(dark)
        self._set_evidence(self._evidence_html)

    def _set_evidence(self, html: str) -> None:
        self._evidence_html = html
        self.evidence.setHtml(for_canvas(html, self.item.is_dark()))

    # -- selection ----------------------------------------------------------
    def selected_edges(self) -> list:
        return list(self._sel_edges)

    def selected_component(self) -> str | None:
        return self._sel_component

    def evidence_text(self) -> str:
        return self.evidence.toPlainText()

    def clear_selection(self) -> None:
        self._select([], [], None, evid.overview_html(self._graph))

    def select_edges(self, keys, header_html: str = "") -> None:
        """Select edges ``(source, target, class)``; the panel shows their evidence."""
        keys = [tuple(k) for k in keys if tuple(k) in self._edge_index]
        body = "".join(evid.edge_html(self._graph, k, self._comp_index, self._edge_violations.get(k, []), self._run())
                       for k in keys[:6])
        self._select(keys, [], None, header_html + body)

    def select_node(self, node_id: str) -> None:
        html = evid.node_html(self._graph, node_id, self._edges_of_node[node_id], self._edge_index, self._comp_index)
        self._select([], [node_id], None, html)

    def select_component(self, name: str) -> None:
        """Select a component: its box and, for the run's backend, its events in the raster."""
        if name not in self._graph.components:
            raise ValueError(f"no component {name!r} in {self._name}")
        rows = None
        if self._results is not None:
            rows = int(np.count_nonzero(link.component_rows(self._results, self._graph, name)))
        metrics_of = self._metrics["backends"].get(name)
        html = evid.component_html(self._graph, name, self._band_of.get(name, ""), metrics_of,
                                   self._comp_violations.get(name, []), rows)
        nodes = [n for n in self._ids if self._graph.component_of(n) == name]
        self._select([], nodes, name, html)

    def _select(self, edges, nodes, component, html):
        self._sel_edges, self._sel_nodes, self._sel_component = list(edges), list(nodes), component
        self.item.set_selection((self._node_index[n] for n in nodes), (self._edge_index[k] for k in edges))
        self._set_evidence(html)
        self._update_highlight()
        self.selection_changed.emit()

    def _on_item_clicked(self, kind, key):
        if kind == "node":
            self.select_node(self._ids[key])
        elif kind == "edge":
            self.select_edges([self._keys[key]])
        elif kind == "component":
            self.select_component(key)
        else:
            self.clear_selection()

    def _on_dsm_cell(self, src, dst):
        keys = [k for k in self._keys if self._graph.component_of(k[0]) == src and self._graph.component_of(k[1]) == dst
                and k[2] not in ("callback", "duplicate")]
        header = f"<h3>{evid.escape(src)} → {evid.escape(dst)}: {len(keys)} edges</h3>"
        self.select_edges(keys, header)

    def _on_anchor(self, url: QtCore.QUrl):
        kind, _, rest = url.toString().partition(":")
        if kind == "edge":
            self.select_edges([self._keys[int(rest)]])
        elif kind == "node":
            self.select_node(self._ids[int(rest)])
        elif kind == "comp":
            self.select_component(rest)
        elif kind == "tick":
            t, cpu = rest.split(":")
            self.tick_requested.emit(int(t), int(cpu))

    def _tooltip(self, kind, key) -> str:
        if kind == "node":
            return evid.node_tip(self._graph, self._ids[key], self._band_of)
        if kind == "edge":
            k = self._keys[key]
            return evid.edge_tip(self._graph, k, self._edge_violations.get(k, []))
        return f"{key} [{self._band_of.get(key)}] — click to select" if kind == "component" else ""

    # -- the run ------------------------------------------------------------
    def set_results(self, results) -> None:
        """The run shown in the raster (``None``: no run); linking uses it lazily."""
        if results is self._results:
            return
        self._results, self._faults = results, None
        if self._highlighting:  # the raster drops a highlight when its rows change; redo it once the run settles
            QtCore.QTimer.singleShot(250, self._update_highlight)

    def _run(self):
        if self._results is None or not len(self._results):
            return None
        if self._faults is None:
            self._faults = link.tick_faults(self._results)
        return self._results, self._faults

    def select_tick(self, time_ns: int, cpu: int, tolerance_ns: int) -> str | None:
        """A tick was clicked: if it is lost or duplicated, select the reachout edges that caused it.

        Returns
        -------
        str or None
            The outcome found there (``lost`` / ``duplicated``), ``None`` when the
            tick is neither (the selection is then left alone).
        """
        run = self._run()
        if run is None:
            return None
        outcome = link.fault_at(run[0], run[1], int(time_ns), int(cpu), int(tolerance_ns))
        if outcome is None:
            return None
        edges = link.cause_edges(run[0], self._graph, outcome)
        header = evid.tick_html(outcome, time_ns, cpu, edges, self._edge_index, self._graph)
        self.select_edges(edges, header)
        return outcome

    def _update_highlight(self):
        run = self._run()
        mask = None
        if run is not None:
            results, faults = run
            if self._sel_component is not None:
                mask = link.component_rows(results, self._graph, self._sel_component)
            elif self._sel_edges:
                mask = np.zeros(len(results), dtype=bool)
                for k in self._sel_edges:
                    mask |= link.edge_rows(results, self._graph, k, faults)
            if mask is not None and not mask.any():
                mask = None
        if mask is not None or self._highlighting:
            self._highlighting = mask is not None
            self.highlight_requested.emit(mask)

    # -- export --------------------------------------------------------------
    def export_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export graph view", f"graph-{self._name}.svg",
                                                        EXPORT_FILTER)
        if path:
            try:
                self.export_image(path)
            except (InputError, OSError) as exc:
                QtWidgets.QMessageBox.critical(self, "Export graph view", str(exc))

    def export_image(self, path, size: QtCore.QSize | None = None) -> Path:
        """Write what the view shows (graph or DSM) as .svg (QSvgGenerator) or .png, atomically.

        Raises
        ------
        InputError
            For another suffix.
        """
        widget = self.stack.currentWidget()
        return export_widget_image(path, size or widget.size(), self._render, f"tickscope graph: {self._name}")

    def _render(self, painter, size):
        target = QtCore.QRectF(0, 0, size.width(), size.height())
        if self.dsm_visible():
            self.dsm_table.render(painter, QtCore.QPoint(0, 0))
            return
        painter.fillRect(target, QtGui.QColor(INK[self.item.is_dark()]["background"]))
        source = self.viewbox.sceneBoundingRect()
        self.canvas.scene().render(painter, target, source, QtCore.Qt.KeepAspectRatio)


# -- installation into the main window ---------------------------------------------

#: Below this share of the window's height the Graph panel shows its symbols without room for their labels.
GRAPH_MIN_SHARE = 0.45


def _give_graph_room(window, view, dock, shown: bool) -> None:
    """The first time the user brings the Graph panel up, give the bottom panels most of the window (once: the
    enlarge action, shown in the status bar, gives the tick view its room back)."""
    if not (shown and view.room_pending and window.layout_settled) or dock.isFloating():
        return
    view.room_pending = False
    if window.panels_enlarged() or dock.height() >= GRAPH_MIN_SHARE * window.height():
        return
    window.set_panels_enlarged(True)
    act = window.actions_by_name.get("enlarge_panels")
    key = act.shortcut().toString(QtGui.QKeySequence.NativeText) if act is not None else ""
    window.statusBar().showMessage("Graph panel enlarged to fit its labels" + (f"; {key} gives the tick view its room back"
                                                                             if key else ""), 10000)


def _raster_click(window, view, dock, event) -> None:
    """A left click in the raster: if it hits a lost or duplicated tick, select its causes."""
    if event.button() != QtCore.Qt.LeftButton or event.double():
        return
    raster = window.raster
    vb = raster.plot_item.getViewBox()
    pos = event.scenePos()
    if not vb.sceneBoundingRect().contains(pos):
        return
    p = vb.mapSceneToView(pos)
    cpu = int(math.floor(p.y()))
    results = window.results
    if results is None or cpu < 0 or cpu >= int(results.meta.get("ncpus", 0)):
        return
    px_ns = vb.viewPixelSize()[0] * 1e9
    if view.select_tick(int(round(p.x() * 1e9)), cpu, int(max(4 * px_ns, 1))):
        view.room_pending = False   # the user is working in the raster: the Graph comes up beside it, not over it
        dock.show()
        dock.raise_()


def install(window) -> GraphView:
    """Add the Graph panel and its actions to *window* and link it with the tick raster."""
    view = GraphView()
    dock = window.add_panel("Graph", view, area="bottom", shortcut="Ctrl+9")
    view.room_pending = True
    dock.visibilityChanged.connect(lambda shown: _give_graph_room(window, view, dock, shown))

    def show():
        dock.show()
        dock.raise_()
        view.setFocus()

    def highlight(mask):
        results = window.results
        if mask is None or (results is not None and len(mask) == len(results)):
            window.raster.highlight(mask)

    window.add_action("graph_show", "Show architecture graph", "Ctrl+Shift+G", show)
    window.add_action("graph_open_tree", "Open C tree in graph…", "Ctrl+Alt+G", view.open_c_tree_dialog)
    window.add_action("graph_export", "Export graph view…", "Ctrl+Alt+X", view.export_dialog)
    dsm = window.add_action("graph_dsm", "Graph: dependency matrix (DSM)", "Ctrl+Alt+M", view.set_dsm_visible, checkable=True)
    view.dsm_button.toggled.connect(dsm.setChecked)
    view.highlight_requested.connect(highlight)
    view.tick_requested.connect(lambda t, cpu: window.raster.center_on(t, cpu))
    window.results_changed.connect(lambda results, _summary: view.set_results(results))
    window.model.scenario_changed.connect(lambda sc: view.set_backend(sc.hypervisor.backend))
    view.set_backend(window.model.scenario().hypervisor.backend)
    view.set_results(window.results)
    window.theme.changed.connect(view.set_theme)
    view.set_theme(window.theme.is_dark())
    scene = window.raster.plot_item.scene()
    if scene is not None:
        scene.sigMouseClicked.connect(lambda ev: _raster_click(window, view, dock, ev))
    return view

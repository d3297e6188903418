"""The rows above the graph view: its controls, and the class, focus and search filters they set.

:class:`GraphControls` owns what the filters decide (which edge classes are
shown, which component neighbourhood is in focus, which symbols match the
search) and hands it to the :class:`~tickscope.gui.graph_items.GraphItem` as
whole visibility masks.  The buttons that act on the view itself (model, open,
DSM, fit, export) are wired by the view.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np
from PySide6 import QtCore, QtWidgets

from tickscope.gui.graph_items import VIEW_BANDS, edge_color
from tickscope.sim.graph import archmodel
from tickscope.sim.graph.export import CLASS_STYLE
from tickscope.sim.graph.model import EDGE_CLASSES


def _text_button(text: str, checkable: bool = False) -> QtWidgets.QToolButton:
    """A push button as wide as its text."""
    b = QtWidgets.QToolButton(checkable=checkable)
    b.setText(text)
    b.setToolButtonStyle(QtCore.Qt.ToolButtonTextOnly)
    return b


class GraphControls(QtWidgets.QWidget):
    """Model, search, focus, DSM, fit and export controls above a row of edge-class filters.

    Parameters
    ----------
    item : GraphItem
        The item whose nodes and edges the filters show or hide.

    Signals
    -------
    focus_changed()
        The focus component or its depth changed.
    """

    focus_changed = QtCore.Signal()

    def __init__(self, item, parent=None):
        super().__init__(parent)
        self._item = item
        self._graph = None
        self._ids: list = []
        self._keys: list = []
        self._comp_index: dict = {}
        self._node_comp = np.zeros(0, dtype=np.int64)
        self._class_on = {c: True for c in EDGE_CLASSES}
        self._focus = (None, 1)
        self._matches: list = []
        self._match_pos = -1
        self._build_ui()

    def _build_ui(self):
        self.model_box = QtWidgets.QComboBox()
        for name, desc in archmodel.list_models().items():
            self.model_box.addItem(name, name)
            self.model_box.setItemData(self.model_box.count() - 1, desc, QtCore.Qt.ToolTipRole)
        self.model_box.setToolTip("Architecture model to draw (hover an entry for what it shows)")
        self.open_button = _text_button("Open C tree…")
        self.open_button.setToolTip("Build the graph from a C source tree (e.g. a kernel checkout) instead of a model")
        self.search_edit = QtWidgets.QLineEdit(placeholderText="search symbols (Enter: next)")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self.set_search)
        self.search_label = QtWidgets.QLabel("")
        self.focus_box = QtWidgets.QComboBox()
        self.focus_box.setToolTip("Show only this component and its neighbours up to the depth")
        self.focus_box.activated.connect(lambda _i: self._focus_from_widgets())
        self.depth_spin = QtWidgets.QSpinBox(minimum=0, maximum=6, value=1, prefix="depth ")
        self.depth_spin.setToolTip("How many references away from the focused component to show")
        self.depth_spin.valueChanged.connect(lambda _v: self._focus_from_widgets())
        self.dsm_button = _text_button("DSM", checkable=True)
        self.dsm_button.setToolTip("Component dependency matrix instead of the graph")
        self.fit_button = _text_button("Fit")
        self.fit_button.setToolTip("Zoom to show the whole graph")
        self.export_button = _text_button("Export…")
        self.export_button.setToolTip("Save the graph view as SVG or PNG")

        top = QtWidgets.QHBoxLayout()
        for w in (QtWidgets.QLabel("Model"), self.model_box, self.open_button, self.search_edit, self.search_label,
                  QtWidgets.QLabel("Focus"), self.focus_box, self.depth_spin, self.dsm_button, self.fit_button,
                  self.export_button):
            top.addWidget(w)
        top.setStretchFactor(self.search_edit, 1)
        # the rows may shrink below their natural width (~880 px, which held the whole window that wide): the
        # combo boxes elide, the search field narrows, the status wraps (the buttons are tool buttons, which
        # have no 80 px minimum width)
        for box in (self.model_box, self.focus_box):
            box.setMinimumWidth(90)
        self.search_edit.setMinimumWidth(80)
        self.class_buttons = {}
        classes = QtWidgets.QHBoxLayout()
        for cls in EDGE_CLASSES:
            b = QtWidgets.QToolButton(checkable=True, checked=True)
            b.toggled.connect(lambda on, c=cls: self.set_class_visible(c, on))
            self.class_buttons[cls] = b
            classes.addWidget(b)
        self.set_dark(False)
        self.status_label = QtWidgets.QLabel("")
        self.status_label.setWordWrap(True)
        self.status_label.setAlignment(QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter)
        classes.addWidget(self.status_label, 1)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addLayout(classes)

    def set_dark(self, dark: bool) -> None:
        """Class filter buttons in their edge colours for a dark or light window."""
        off = "#6a6a6a" if dark else "#aaaaaa"
        for cls, b in self.class_buttons.items():
            b.setStyleSheet(f"QToolButton {{ color: {edge_color(cls, dark)}; font-weight: bold; }}"
                            f"QToolButton:!checked {{ color: {off}; font-weight: normal; }}")

    def set_graph(self, graph, ids, keys, band_of, comp_index) -> None:
        """Filter a newly shown graph: every component in focus, the class filters kept, the search redone.

        Parameters
        ----------
        graph : Graph
            The graph the item now draws.
        ids, keys : list
            Node ids and edge keys ``(source, target, class)`` in the item's order.
        band_of : dict
            The view band of each component (orders the focus list).
        comp_index : dict
            The view's index of each component.
        """
        self._graph, self._ids, self._keys, self._comp_index = graph, ids, keys, comp_index
        self._node_comp = np.array([comp_index.get(graph.component_of(n), -1) for n in ids], dtype=np.int64)
        self.focus_box.blockSignals(True)
        self.focus_box.clear()
        self.focus_box.addItem("(all components)", None)
        for c in sorted(graph.components, key=lambda c: (VIEW_BANDS.index(band_of.get(c, "core")), c)):
            self.focus_box.addItem(f"{c}  [{band_of.get(c)}]", c)
        self.focus_box.blockSignals(False)
        self._focus = (None, self.depth_spin.value())
        self._apply_visibility()
        self.set_search(self.search_edit.text())
        self.status_label.setText(f"{len(ids)} symbols, {len(keys)} edges, {len(graph.violations)} violations"
                                  + (f", {len(graph.warnings)} warnings" if graph.warnings else ""))

    # -- edge classes and focus ------------------------------------------------
    def set_class_visible(self, cls: str, on: bool) -> None:
        """Show or hide every edge of class *cls*."""
        if cls not in self._class_on:
            raise ValueError(f"edge class {cls!r} is not one of {', '.join(EDGE_CLASSES)}")
        self._class_on[cls] = bool(on)
        b = self.class_buttons[cls]
        if b.isChecked() != bool(on):
            b.blockSignals(True)
            b.setChecked(bool(on))
            b.blockSignals(False)
        self._apply_visibility()

    def set_focus(self, name: str | None, depth: int) -> None:
        """Show only component *name* and those within *depth* hops (``None``: all); emits ``focus_changed``."""
        self._focus = (name, int(depth))
        self.focus_box.setCurrentIndex(max(self.focus_box.findData(name), 0))
        self.depth_spin.blockSignals(True)
        self.depth_spin.setValue(int(depth))
        self.depth_spin.blockSignals(False)
        self._apply_visibility()
        self.focus_changed.emit()

    def _focus_from_widgets(self):
        self.set_focus(self.focus_box.currentData(), self.depth_spin.value())

    def focused_components(self) -> set:
        """The focus component and its neighbours up to the depth; every component when none is focused."""
        name, depth = self._focus
        if name is None:
            return set(self._graph.components)
        adj = defaultdict(set)
        for s, t, _cls in self._keys:
            a, b = self._graph.component_of(s), self._graph.component_of(t)
            if a != b:
                adj[a].add(b)
                adj[b].add(a)
        seen, frontier = {name}, {name}
        for _ in range(depth):
            frontier = {n for f in frontier for n in adj[f]} - seen
            seen |= frontier
        return seen

    def class_counts(self) -> dict:
        """Edges per class inside the focus (what each filter button shows)."""
        nodes = self._focus_nodes()
        d = self._item.graph_data()
        both = nodes[d.src] & nodes[d.dst] if len(d.src) else np.zeros(0, dtype=bool)
        return {c: int(np.count_nonzero(both & (d.cls == i))) for i, c in enumerate(EDGE_CLASSES)}

    def _focus_nodes(self) -> np.ndarray:
        keep = np.array([self._comp_index[c] for c in self.focused_components() if c in self._comp_index], dtype=np.int64)
        return np.isin(self._node_comp, keep)

    def _apply_visibility(self):
        nodes = self._focus_nodes()
        d = self._item.graph_data()
        on = np.array([self._class_on[c] for c in EDGE_CLASSES], dtype=bool)
        edges = (nodes[d.src] & nodes[d.dst] & on[d.cls]) if len(d.src) else np.zeros(0, dtype=bool)
        self._item.set_visible(nodes, edges)
        for cls, n in self.class_counts().items():
            self.class_buttons[cls].setText(f"{'┅' if CLASS_STYLE[cls][1] else '━'} {cls} {n}")
            self.class_buttons[cls].setToolTip(f"{n} {cls} edge{'s' if n != 1 else ''} in the focus (violations count per finding); "
                                               "click to hide or show them")

    # -- search ------------------------------------------------------------------
    def set_search(self, text: str) -> list:
        """Ring the symbols whose name contains *text* (case-insensitive); returns their ids."""
        text = (text or "").strip().lower()
        marked = [i for i, n in enumerate(self._ids)
                  if text and (text in n.lower() or text in self._graph.symbol_name(n).lower())]
        self._matches = [self._ids[i] for i in marked]
        self._match_pos = -1
        self._item.set_marked(marked)
        self.search_label.setText(f"{len(self._matches)} found" if text else "")
        if self.search_edit.text().strip().lower() != text:
            self.search_edit.blockSignals(True)
            self.search_edit.setText(text)
            self.search_edit.blockSignals(False)
        return list(self._matches)

    def next_match(self) -> str | None:
        """Step to the next search match; returns its id, ``None`` when nothing matches."""
        if not self._matches:
            return None
        self._match_pos = (self._match_pos + 1) % len(self._matches)
        return self._matches[self._match_pos]

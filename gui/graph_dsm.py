"""The dependency structure matrix (DSM) of a graph's components, as a table.

Row *i*, column *j*: reference sites from component *i* into component *j*
(:func:`tickscope.sim.graph.metrics.dsm`).  Components are ordered hardware,
core, interface, shared library, backends, so a healthy tree keeps its counts
on one side of the diagonal; a cell that carries reachout is red.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

REACHOUT_COLOR = QtGui.QColor(214, 39, 40)
DEPENDENCY_COLOR = QtGui.QColor(31, 119, 180)


class DsmTable(QtWidgets.QTableWidget):
    """Counts per component pair; clicking a non-empty cell emits ``cell_selected(source, target)``."""

    cell_selected = QtCore.Signal(str, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        self.setSelectionMode(QtWidgets.QAbstractItemView.SingleSelection)
        self.horizontalHeader().setDefaultSectionSize(44)
        self.verticalHeader().setDefaultSectionSize(24)
        self.cellClicked.connect(self._on_clicked)
        self.components: list = []
        self.matrix: list = []

    def set_graph(self, graph, dsm: dict) -> None:
        """Fill from ``metrics.dsm(graph)``; reachout-carrying cells are tinted red."""
        self.components, self.matrix = list(dsm["components"]), [list(r) for r in dsm["matrix"]]
        reach = {(graph.component_of(s), graph.component_of(t)) for s, t, _d in graph.edges("reachout")}
        n = len(self.components)
        self.clear()
        self.setRowCount(n)
        self.setColumnCount(n)
        kinds = [graph.kind_of(c) for c in self.components]
        self.setVerticalHeaderLabels([f"{c} [{k}]" for c, k in zip(self.components, kinds)])
        self.setHorizontalHeaderLabels([str(i + 1) for i in range(n)])
        for j, c in enumerate(self.components):
            self.horizontalHeaderItem(j).setToolTip(c)
        self.verticalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeToContents)
        peak = max((v for row in self.matrix for v in row), default=0) or 1
        for i, row in enumerate(self.matrix):
            for j, v in enumerate(row):
                item = QtWidgets.QTableWidgetItem(str(v) if v else "")
                item.setTextAlignment(QtCore.Qt.AlignCenter)
                base = REACHOUT_COLOR if (self.components[i], self.components[j]) in reach else DEPENDENCY_COLOR
                if i == j:
                    item.setBackground(QtGui.QColor(230, 230, 230))
                elif v:
                    c = QtGui.QColor(base)
                    c.setAlpha(int(60 + 150 * v / peak))
                    item.setBackground(c)
                item.setToolTip(f"{self.components[i]} → {self.components[j]}: {v} reference sites")
                self.setItem(i, j, item)

    def cell_value(self, source: str, target: str) -> int:
        return self.matrix[self.components.index(source)][self.components.index(target)]

    def _on_clicked(self, row, col):
        if 0 <= row < len(self.components) and self.matrix[row][col]:
            self.cell_selected.emit(self.components[row], self.components[col])

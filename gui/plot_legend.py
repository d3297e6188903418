"""A plot legend beside the data, never over it.

pyqtgraph's ``addLegend`` floats the legend inside the ViewBox, where it hides whatever it lands on (the
first bins of the interrupt rates, the start of the drift traces, the top CPUs' residency bars) and, in
the short bottom docks, runs past the plot's lower edge.  :class:`SideLegend` takes a column of the
PlotItem's own grid, right of the ViewBox, and spreads its entries over as many columns as the view's
height needs.  It sits on the plot background, so its text takes the theme's foreground colour
(:func:`set_legend_color`).
"""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

# the PlotItem grid: row 2 holds the left axis, the ViewBox and the right axis (columns 0-2), row 3 the
# bottom axis; the legend spans both rows, beside the axis' empty corner too (short docks need the height)
_VIEW_ROW, _LEGEND_ROWS, _LEGEND_COLUMN = 2, 2, 3


class SideLegend(pg.LegendItem):
    """A legend in the PlotItem's layout, right of the ViewBox, with as many columns as its height needs."""

    def __init__(self, plot_item: pg.PlotItem, color=None):
        super().__init__(offset=None, labelTextColor=color)
        # its own size, at the top of its cell: stretched, its rows spread apart from their samples
        self.setSizePolicy(QtWidgets.QSizePolicy.Fixed, QtWidgets.QSizePolicy.Fixed)
        self.layout.setContentsMargins(4, 0, 2, 0)   # the layout's default 9 px would cost a row in a short dock
        self._plot_item = plot_item
        plot_item.layout.addItem(self, _VIEW_ROW, _LEGEND_COLUMN, _LEGEND_ROWS, 1, QtCore.Qt.AlignTop | QtCore.Qt.AlignLeft)
        plot_item.layout.setColumnSpacing(2, 6)
        plot_item.legend = self   # PlotItem.addItem(name=...) adds named items to its .legend
        plot_item.getViewBox().sigResized.connect(self._fit_columns)

    def addItem(self, item, name):  # noqa: N802 - pyqtgraph override
        super().addItem(item, name)
        self._fit_columns()

    def clear(self):
        super().clear()
        self.setColumnCount(1)

    def updateSize(self):  # noqa: N802 - pyqtgraph override
        # the base class sets its own geometry (it floats); here the PlotItem's layout places it
        self.updateGeometry()

    def mouseDragEvent(self, ev):  # noqa: N802 - Qt override
        ev.ignore()   # it has a place in the layout: no dragging it over the data

    def rows_that_fit(self) -> int:
        """Entries one column holds from the ViewBox's top to the widget's bottom edge (beside the bottom axis)."""
        view = self._plot_item.getViewWidget()
        if view is None:
            return max(1, len(self.items))
        # the widget's height, not the ViewBox's: a legend taller than the widget stretches the plot past
        # its edge, and the ViewBox's height would then say that the legend fits
        height = view.height() - self._plot_item.getViewBox().sceneBoundingRect().top() - 2
        _, top, _, bottom = self.layout.getContentsMargins()
        height -= top + bottom
        row = max((max(s.boundingRect().height(), lab.boundingRect().height()) for s, lab in self.items), default=20.0)
        return max(1, int(height // max(1.0, row + self.layout.verticalSpacing())))

    def _fit_columns(self, *_):
        if not self.items:
            return
        n = len(self.items)
        before = self.columnCount
        columns = math.ceil(n / self.rows_that_fit())
        self.setColumnCount(columns)
        # the estimate reads one entry's height; the laid-out rows can be taller (spacing, label margins): add
        # columns until the laid-out legend fits
        room = self._room()
        while room is not None and columns < n and self._laid_out_height() > room:
            columns += 1
            self.setColumnCount(columns)
        view = self._plot_item.getViewWidget()
        if columns != before and view is not None and getattr(view, "centralWidget", None) is self._plot_item:
            # a PlotWidget sizes its PlotItem on its own resize only: the item kept the height the taller
            # one-column legend forced on it, past the dock's edge, and the time axis was cut off (12-16 CPUs in
            # the interrupt-rate dock)
            self._plot_item.setGeometry(QtCore.QRectF(0, 0, view.width(), view.height()))

    def _room(self) -> float | None:
        view = self._plot_item.getViewWidget()
        if view is None:
            return None
        return view.height() - self._plot_item.getViewBox().sceneBoundingRect().top() - 2

    def _laid_out_height(self) -> float:
        return self.layout.effectiveSizeHint(QtCore.Qt.PreferredSize).height()


def side_legend(plot: pg.PlotWidget | pg.PlotItem, color=None) -> SideLegend:
    """Give *plot* a :class:`SideLegend` (its named items join it) and return it."""
    return SideLegend(plot.getPlotItem() if isinstance(plot, pg.PlotWidget) else plot, color)


def set_legend_color(plot: pg.PlotWidget, color) -> None:
    """A :class:`SideLegend`'s text in *color* (the theme's foreground: it is on the plot background).

    Floating legends keep their colours: they bring their own background box.
    """
    legend = plot.getPlotItem().legend
    if isinstance(legend, SideLegend):
        legend.setLabelTextColor(QtGui.QColor(color))
        for _, label in legend.items:
            label.setText(label.text)   # LabelItem.setAttr only takes effect at the next setText

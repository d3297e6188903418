"""Reading and writing for the graph view: a C tree imported off the GUI thread, the view as SVG/PNG."""
from __future__ import annotations

from pathlib import Path

from PySide6 import QtCore, QtGui, QtSvg

from tickscope.gui.background import BackgroundJob
from tickscope.sim import atomic
from tickscope.sim.errors import InputError
from tickscope.sim.graph import rules


class TreeImport(BackgroundJob):
    """Imports a C tree off the GUI thread (tree-sitter parsing takes seconds on a real tree).

    Signals ``done(graph)`` with the rules checked, or ``failed(message)``.
    """

    def __init__(self, path, layers_path=None, parent=None):
        super().__init__(parent)
        self.path, self.layers_path = path, layers_path
        self.failure_prefix = f"{path}: import failed: "

    def work(self):
        from tickscope.sim.graph import cimport, layers

        lay = layers.load_layers(self.layers_path) if self.layers_path else None
        graph = cimport.import_tree(self.path, lay)
        if not graph.symbol_nodes():
            raise InputError(f"{self.path}: no C definitions found (.c/.h files)")
        rules.check(graph)
        return graph


def export_widget_image(path, size: QtCore.QSize, render, title: str = "") -> Path:
    """Write ``render(painter, size)`` to *path* as .svg (QSvgGenerator) or .png, atomically.

    Raises
    ------
    InputError
        For a suffix other than .svg or .png.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".svg", ".png"):
        raise InputError(f"{path}: export the graph view as .svg or .png, not {suffix or '(no suffix)'!r}")
    buf = QtCore.QBuffer()
    buf.open(QtCore.QIODevice.WriteOnly)
    if suffix == ".svg":
        gen = QtSvg.QSvgGenerator()
        gen.setOutputDevice(buf)
        gen.setSize(size)
        gen.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
        gen.setTitle(title)
        painter = QtGui.QPainter(gen)
        render(painter, size)
        painter.end()
    else:
        img = QtGui.QImage(size, QtGui.QImage.Format_ARGB32)
        img.fill(QtGui.QColor("white"))
        painter = QtGui.QPainter(img)
        render(painter, size)
        painter.end()
        img.save(buf, "PNG")
    atomic.write_bytes(path, bytes(buf.data()))
    return path

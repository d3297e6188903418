"""Command palette: the shortcuts read as one column, whatever the length of the command's name."""
import numpy as np
from PySide6 import QtGui, QtWidgets

from tickscope.gui.palette import CommandPalette


def _ink_right_edges(palette: CommandPalette) -> dict[str, int]:
    """Per row (not the highlighted one): the x of the row's rightmost pixel that is not background."""
    view = palette.list
    image = view.viewport().grab().toImage().convertToFormat(QtGui.QImage.Format_RGB32)
    width, height = image.width(), image.height()
    pixels = np.frombuffer(image.constBits(), dtype=np.uint32, count=width * height).reshape(height, width)
    background = pixels[-1, -1]
    out = {}
    for row in range(view.count()):
        if row == view.currentRow():
            continue
        rect = view.visualItemRect(view.item(row))
        band = pixels[max(0, rect.top()):min(height, rect.bottom() + 1), :]
        cols = np.flatnonzero((band != background).any(axis=0))
        if cols.size:
            out[view.item(row).text()] = int(cols[-1])
    return out


def test_palette_shortcuts_line_up_in_one_right_aligned_column(qtbot):
    owner = QtWidgets.QWidget()
    qtbot.addWidget(owner)
    actions = []
    for text, key in (("Quit", "Ctrl+Q"), ("Show Interrupt rate panel", "Ctrl+5"), ("Zoom in", "Ctrl+="),
                      ("Load preset vmi-clockevents", "Ctrl+K, 4"), ("Step one slice", "F10")):
        act = QtGui.QAction(text, owner)
        act.setShortcut(QtGui.QKeySequence(key))
        actions.append(act)
    palette = CommandPalette(lambda: actions, owner)
    qtbot.addWidget(palette)
    palette.open_palette()
    palette.list.setCurrentRow(-1)
    QtWidgets.QApplication.processEvents()
    edges = _ink_right_edges(palette)
    assert len(edges) == len(actions)
    # each shortcut ends at the same x, near the list's right edge (tab stops left them ragged, mid-row)
    assert max(edges.values()) - min(edges.values()) <= 2, edges
    assert min(edges.values()) > palette.list.viewport().width() - 40, edges
    # what the list holds is unchanged: the command, then its shortcut
    assert palette.visible_labels()[0] == "Quit\tCtrl+Q"
    palette.query.setText("quit")
    assert palette.visible_labels() == ["Quit\tCtrl+Q"]


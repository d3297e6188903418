"""The command palette (Ctrl+Shift+P): every action by name, with its shortcut, keyboard only.

Type to filter (all words must match, in any order), Up/Down to choose,
Enter to run, Escape to close.
"""
from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets


def action_label(action: QtGui.QAction) -> str:
    """The action's text without mnemonic ampersands."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")


def shortcut_text(action: QtGui.QAction) -> str:
    return ", ".join(s.toString(QtGui.QKeySequence.NativeText) for s in action.shortcuts())


class _ShortcutColumnDelegate(QtWidgets.QStyledItemDelegate):
    """Draws an item ``"command\tshortcut"`` as the command on the left and the shortcut right-aligned.

    A tab in a list item's text jumps to the next 8-character tab stop: the shortcuts stood at four ragged
    positions, "Quit  Ctrl+Q" beside "Load preset vmi-clockevents        Ctrl+K, 4".
    """

    MARGIN = 6

    def paint(self, painter, option, index):
        label, _, keys = (index.data() or "").partition("\t")
        opt = QtWidgets.QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        rect = opt.rect.adjusted(self.MARGIN, 0, -self.MARGIN, 0)
        keys_width = opt.fontMetrics.horizontalAdvance(keys) if keys else 0
        opt.text = ""
        style = opt.widget.style() if opt.widget is not None else QtWidgets.QApplication.style()
        style.drawControl(QtWidgets.QStyle.CE_ItemViewItem, opt, painter, opt.widget)   # background, selection
        selected = bool(opt.state & QtWidgets.QStyle.State_Selected)
        role = QtGui.QPalette.HighlightedText if selected else QtGui.QPalette.Text
        painter.save()
        painter.setFont(opt.font)
        painter.setPen(opt.palette.color(role))
        label_rect = rect.adjusted(0, 0, -(keys_width + 2 * self.MARGIN) if keys else 0, 0)
        painter.drawText(label_rect, QtCore.Qt.AlignLeft | QtCore.Qt.AlignVCenter,
                         opt.fontMetrics.elidedText(label, QtCore.Qt.ElideRight, label_rect.width()))
        if keys:
            if not selected:
                painter.setPen(opt.palette.color(QtGui.QPalette.PlaceholderText))
            painter.drawText(rect, QtCore.Qt.AlignRight | QtCore.Qt.AlignVCenter, keys)
        painter.restore()


class CommandPalette(QtWidgets.QDialog):
    """Lists *actions* (a callable returning the current list) and triggers the chosen one."""

    def __init__(self, actions, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Command palette")
        self.setModal(True)
        self.resize(560, 420)
        self._actions = actions
        self.query = QtWidgets.QLineEdit()
        self.query.setPlaceholderText("Type a command…")
        self.list = QtWidgets.QListWidget()
        self.list.setFocusPolicy(QtCore.Qt.NoFocus)
        self.list.setItemDelegate(_ShortcutColumnDelegate(self.list))
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.query)
        layout.addWidget(self.list, 1)
        self.query.textChanged.connect(self.refilter)
        self.query.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self.accept_current())

    def open_palette(self) -> None:
        self.query.clear()
        self.refilter("")
        self.show()
        self.raise_()
        self.activateWindow()
        self.query.setFocus()

    def refilter(self, text: str = "") -> None:
        words = text.lower().split()
        self.list.clear()
        for action in self._actions():
            label = action_label(action)
            if not action.isEnabled() or not label:
                continue
            if all(w in label.lower() for w in words):
                item = QtWidgets.QListWidgetItem(f"{label}\t{shortcut_text(action)}")
                item.setData(QtCore.Qt.UserRole, action)
                self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def visible_labels(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def accept_current(self) -> bool:
        item = self.list.currentItem()
        if item is None:
            return False
        action = item.data(QtCore.Qt.UserRole)
        self.hide()
        action.trigger()
        return True

    def eventFilter(self, obj, event):  # noqa: N802 - Qt override
        if obj is self.query and event.type() == QtCore.QEvent.KeyPress:
            key = event.key()
            if key in (QtCore.Qt.Key_Down, QtCore.Qt.Key_Up):
                row = self.list.currentRow() + (1 if key == QtCore.Qt.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(self.list.count() - 1, row)))
                return True
            if key in (QtCore.Qt.Key_Return, QtCore.Qt.Key_Enter):
                self.accept_current()
                return True
            if key == QtCore.Qt.Key_Escape:
                self.hide()
                return True
        return super().eventFilter(obj, event)

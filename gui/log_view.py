"""The kernel-style log (boot messages and what happened during the run), read-only and searchable."""
from __future__ import annotations

import re

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QKeySequence, QShortcut, QTextCharFormat, QTextCursor, QTextDocument
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPlainTextEdit, QTextEdit, QToolButton, QVBoxLayout, QWidget

from tickscope.sim import analysis

_STAMP = re.compile(r"^\[\s*(\d+)\.(\d{6})\]")
_CPU = re.compile(r"\bCPU #?(\d+)")


def line_time_cpu(line: str) -> tuple[int, int] | None:
    """``(time_ns, cpu)`` of a printk line (``[    1.234567] ... CPU 2``); cpu 0 when the line names none."""
    m = _STAMP.match(line)
    if not m:
        return None
    c = _CPU.search(line)
    return int(m.group(1)) * 1_000_000_000 + int(m.group(2)) * 1000, int(c.group(1)) if c else 0


def kernel_text_view() -> QPlainTextEdit:
    """A read-only, unwrapped, monospace text view for what the kernel prints (selectable, copyable)."""
    text = QPlainTextEdit()
    text.setReadOnly(True)
    text.setLineWrapMode(QPlainTextEdit.NoWrap)
    font = QFontDatabase.systemFont(QFontDatabase.FixedFont)
    font.setStyleHint(QFont.Monospace)
    text.setFont(font)
    text.setTextInteractionFlags(Qt.TextSelectableByMouse | Qt.TextSelectableByKeyboard)
    return text


class KernelLogView(QWidget):
    """:func:`tickscope.sim.analysis.kernel_log` in a monospace view with incremental search.

    Enter in the search box finds the next match, Shift+Enter the previous one; every
    match is highlighted.  Double-clicking a timestamped line asks the raster to jump there.
    """

    jump_requested = Signal(object, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._lines: list[str] = []
        self.text = kernel_text_view()
        self.text.viewport().installEventFilter(self)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search the log (Enter: next, Shift+Enter: previous)")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_text_changed)
        self.search.returnPressed.connect(self.find_next)
        QShortcut(QKeySequence("Shift+Return"), self.search, self.find_previous, context=Qt.WidgetShortcut)
        prev_btn, next_btn = QToolButton(), QToolButton()
        prev_btn.setArrowType(Qt.UpArrow)
        next_btn.setArrowType(Qt.DownArrow)
        prev_btn.setToolTip("previous match (Shift+Enter)")
        next_btn.setToolTip("next match (Enter)")
        prev_btn.clicked.connect(self.find_previous)
        next_btn.clicked.connect(self.find_next)
        self.match_label = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(self.search, 1)
        bar.addWidget(prev_btn)
        bar.addWidget(next_btn)
        bar.addWidget(self.match_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(bar)
        layout.addWidget(self.text, 1)

    def set_results(self, results, summary=None) -> None:
        if summary is not None and "log" in summary:
            self._lines = list(summary["log"])
        elif results is not None:
            self._lines = analysis.kernel_log(results)
        else:
            self._lines = []
        self.text.setPlainText("\n".join(self._lines))
        self._on_text_changed(self.search.text())

    def lines(self) -> list[str]:
        return list(self._lines)

    def set_search(self, text: str) -> None:
        self.search.setText(text)

    def match_count(self) -> int:
        return len(self._matches(self.search.text()))

    def current_line(self) -> int:
        """Block (line) number holding the text cursor."""
        return self.text.textCursor().blockNumber()

    def find_next(self) -> bool:
        return self._find(QTextDocument.FindFlag(0))

    def find_previous(self) -> bool:
        return self._find(QTextDocument.FindBackward)

    # -- internals ---------------------------------------------------------
    def _find(self, flags) -> bool:
        needle = self.search.text()
        if not needle:
            return False
        if self.text.find(needle, flags):
            return True
        # wrap around, like a browser's find bar
        cursor = self.text.textCursor()
        cursor.movePosition(QTextCursor.End if flags & QTextDocument.FindBackward else QTextCursor.Start)
        self.text.setTextCursor(cursor)
        return self.text.find(needle, flags)

    def _matches(self, needle: str) -> list[QTextCursor]:
        out = []
        if not needle:
            return out
        doc = self.text.document()
        cursor = doc.find(needle, 0)
        while not cursor.isNull():
            out.append(cursor)
            cursor = doc.find(needle, cursor)
        return out

    def _on_text_changed(self, needle: str) -> None:
        fmt = QTextCharFormat()
        fmt.setBackground(QColor(255, 220, 80))
        fmt.setForeground(QColor(0, 0, 0))
        selections = []
        matches = self._matches(needle)
        for cursor in matches:
            sel = QTextEdit.ExtraSelection()
            sel.cursor, sel.format = cursor, fmt
            selections.append(sel)
        self.text.setExtraSelections(selections)
        self.match_label.setText(f"{len(matches)} match{'es' if len(matches) != 1 else ''}" if needle else "")
        if matches:
            self.text.setTextCursor(matches[0])

    def eventFilter(self, obj, event):
        if obj is self.text.viewport() and event.type() == event.Type.MouseButtonDblClick:
            line = self.text.cursorForPosition(event.position().toPoint()).block().text()
            hit = line_time_cpu(line)
            if hit is not None:
                self.jump_requested.emit(*hit)
        return super().eventFilter(obj, event)
